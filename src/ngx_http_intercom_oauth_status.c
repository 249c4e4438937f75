
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Presenting the counters.  One table says what each counter is called in
 * both formats, so that the two cannot drift apart; the callback's
 * refusals take their names from the error table.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_error.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_status.h"
#include "ngx_http_intercom_oauth_zone.h"


#define NGX_HTTP_INTERCOM_OAUTH_STATUS_MAX  8192


typedef struct {
    ngx_http_intercom_oauth_counter_e   counter;
    char                               *json;      /* "group.name", or
                                                      "group." and the
                                                      refusal's code */
    char                               *metric;    /* Prometheus name */
    char                               *label;     /* label="value", "",
                                                      or NULL: outcome=
                                                      the refusal's code */
} ngx_http_intercom_oauth_stat_t;


static ngx_http_intercom_oauth_stat_t  ngx_http_intercom_oauth_stats[] = {

    { NGX_HTTP_INTERCOM_OAUTH_CNT_CONNECT_PAGES, "connect_pages",
      "intercom_oauth_connect_pages_total", "" },

    { NGX_HTTP_INTERCOM_OAUTH_CNT_CALLBACKS, "callbacks.total",
      "intercom_oauth_callbacks_total", "" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_CALLBACKS_OK, "callbacks.ok",
      "intercom_oauth_callback_outcomes_total", "outcome=\"ok\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_INVALID_REQUEST, "callbacks.",
      "intercom_oauth_callback_outcomes_total", NULL },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_ACCESS_DENIED, "callbacks.",
      "intercom_oauth_callback_outcomes_total", NULL },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_INVALID, "callbacks.",
      "intercom_oauth_callback_outcomes_total", NULL },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_EXPIRED, "callbacks.",
      "intercom_oauth_callback_outcomes_total", NULL },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_REPLAYED, "callbacks.",
      "intercom_oauth_callback_outcomes_total", NULL },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_NO_KEY, "callbacks.",
      "intercom_oauth_callback_outcomes_total", NULL },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_ZONE_FULL, "callbacks.",
      "intercom_oauth_callback_outcomes_total", NULL },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_SERVER_ERROR, "callbacks.",
      "intercom_oauth_callback_outcomes_total", NULL },

    { NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_OK, "exchanges.ok",
      "intercom_oauth_exchanges_total", "outcome=\"ok\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_FAILED, "exchanges.failed",
      "intercom_oauth_exchanges_total", "outcome=\"failed\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_TIMEOUT, "exchanges.timeout",
      "intercom_oauth_exchanges_total", "outcome=\"timeout\"" },

    { NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_STORED, "tokens.stored",
      "intercom_oauth_tokens_stored_total", "" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_EVICTIONS, "tokens.evicted",
      "intercom_oauth_tokens_evicted_total", "" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_DELETED, "tokens.deleted",
      "intercom_oauth_tokens_deleted_total", "" },

    { NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_OK, "identity.ok",
      "intercom_oauth_identity_total", "outcome=\"ok\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_FAILED, "identity.failed",
      "intercom_oauth_identity_total", "outcome=\"failed\"" },

    { NGX_HTTP_INTERCOM_OAUTH_CNT_DISCONNECTS, "disconnects.total",
      "intercom_oauth_disconnects_total", "" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_REVOKE_OK, "disconnects.revoked",
      "intercom_oauth_revocations_total", "outcome=\"ok\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_REVOKE_FAILED, "disconnects.revoke_failed",
      "intercom_oauth_revocations_total", "outcome=\"failed\"" },

    { NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS, "webhooks.accepted",
      "intercom_oauth_uninstall_webhooks_total", "outcome=\"accepted\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS_REFUSED, "webhooks.refused",
      "intercom_oauth_uninstall_webhooks_total", "outcome=\"refused\"" },

    { 0, NULL, NULL, NULL }
};


/* shown only when intercom_oauth_store is configured */
static ngx_http_intercom_oauth_stat_t
    ngx_http_intercom_oauth_store_stats[] =
{

    { NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_WRITES, "writes",
      "intercom_oauth_store_operations_total", "op=\"write\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_READS, "reads",
      "intercom_oauth_store_operations_total", "op=\"read\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_HITS, "hits",
      "intercom_oauth_store_reads_total", "outcome=\"hit\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_MISSES, "misses",
      "intercom_oauth_store_reads_total", "outcome=\"miss\"" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_ERRORS, "errors",
      "intercom_oauth_store_errors_total", "" },
    { NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_UNAVAILABLE, "callbacks_refused",
      "intercom_oauth_store_callbacks_refused_total", "" },

    { 0, NULL, NULL, NULL }
};


static ngx_msec_t  ngx_http_intercom_oauth_bounds[] = {
    NGX_HTTP_INTERCOM_OAUTH_LATENCY_BUCKETS
};


static ngx_uint_t ngx_http_intercom_oauth_status_prometheus(
    ngx_http_request_t *r);
static u_char *ngx_http_intercom_oauth_status_json(u_char *p,
    ngx_shm_zone_t *zone, ngx_uint_t store);
static u_char *ngx_http_intercom_oauth_status_text(u_char *p,
    ngx_shm_zone_t *zone, ngx_uint_t store);
static u_char *ngx_http_intercom_oauth_status_counters(u_char *p,
    ngx_shm_zone_t *zone, ngx_http_intercom_oauth_stat_t *stats);


ngx_int_t
ngx_http_intercom_oauth_status_handler(ngx_http_request_t *r)
{
    char                                 *type;
    ngx_int_t                             rc;
    ngx_buf_t                            *b;
    ngx_uint_t                            text;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    rc = ngx_http_intercom_oauth_read_only(r);

    if (rc != NGX_OK) {
        return rc;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    b = ngx_create_temp_buf(r->pool, NGX_HTTP_INTERCOM_OAUTH_STATUS_MAX);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text = ngx_http_intercom_oauth_status_prometheus(r);

    if (text) {
        b->last = ngx_http_intercom_oauth_status_text(b->last,
                                                      omcf->shm_zone,
                                                      omcf->store != NULL);
        type = "text/plain; version=0.0.4; charset=utf-8";

    } else {
        b->last = ngx_http_intercom_oauth_status_json(b->last,
                                                      omcf->shm_zone,
                                                      omcf->store != NULL);
        type = "application/json";
    }

    if (ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_intercom_oauth_send(r, NGX_HTTP_OK, type, b->pos,
                                        b->last - b->pos);
}


static ngx_uint_t
ngx_http_intercom_oauth_status_prometheus(ngx_http_request_t *r)
{
    ngx_str_t         format;
    ngx_table_elt_t  *h;

    static ngx_str_t  accept = ngx_string("Accept");

    if (ngx_http_arg(r, (u_char *) "format", sizeof("format") - 1, &format)
        == NGX_OK)
    {
        return format.len == sizeof("prometheus") - 1
               && ngx_strncmp(format.data, "prometheus", format.len) == 0;
    }

    h = ngx_http_intercom_oauth_header(r, &accept, NULL);

    return h
           && (ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                                (u_char *) "text/plain",
                                sizeof("text/plain") - 2)
               || ngx_strlcasestrn(h->value.data,
                                   h->value.data + h->value.len,
                                   (u_char *) "openmetrics",
                                   sizeof("openmetrics") - 2));
}


static u_char *
ngx_http_intercom_oauth_status_json(u_char *p, ngx_shm_zone_t *zone,
    ngx_uint_t store)
{
    u_char                          *dot;
    size_t                           used, free;
    ngx_uint_t                       i, open;
    ngx_atomic_uint_t                n, sum;
    ngx_http_intercom_oauth_stat_t  *st;
    char                            *group;

    p = ngx_sprintf(p, "{");
    group = NULL;
    open = 0;

    for (st = ngx_http_intercom_oauth_stats; st->json; st++) {
        n = ngx_http_intercom_oauth_zone_counter(zone, st->counter);
        dot = (u_char *) ngx_strchr(st->json, '.');

        if (dot == NULL) {
            if (open) {
                p = ngx_sprintf(p, "}");
                open = 0;
            }

            p = ngx_sprintf(p, "%s\"%s\":%uA",
                            st != ngx_http_intercom_oauth_stats ? "," : "",
                            st->json, n);
            group = NULL;
            continue;
        }

        if (group == NULL || ngx_strncmp(group, st->json,
                                         dot - (u_char *) st->json + 1) != 0)
        {
            p = ngx_sprintf(p, "%s%s\"%*s\":{", open ? "}" : "",
                            st != ngx_http_intercom_oauth_stats ? "," : "",
                            dot - (u_char *) st->json, st->json);
            group = st->json;
            open = 1;

        } else {
            p = ngx_sprintf(p, ",");
        }

        if (dot[1] == '\0') {
            p = ngx_sprintf(p, "\"%V\":%uA",
                            ngx_http_intercom_oauth_error_code(st->counter),
                            n);

        } else {
            p = ngx_sprintf(p, "\"%s\":%uA", dot + 1, n);
        }
    }

    if (open) {
        p = ngx_sprintf(p, "}");
    }

    sum = ngx_http_intercom_oauth_zone_counter(zone,
                                      NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGE_MS);
    p = ngx_sprintf(p, ",\"exchange_latency_ms\":{\"sum\":%uA,\"buckets\":{",
                    sum);

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_NBUCKETS; i++) {
        n = ngx_http_intercom_oauth_zone_counter(zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_LATENCY + i);

        if (i < NGX_HTTP_INTERCOM_OAUTH_NBUCKETS - 1) {
            p = ngx_sprintf(p, "%s\"%M\":%uA", i ? "," : "",
                            ngx_http_intercom_oauth_bounds[i], n);

        } else {
            p = ngx_sprintf(p, ",\"+Inf\":%uA", n);
        }
    }

    ngx_http_intercom_oauth_zone_bytes(zone, &used, &free);

    p = ngx_sprintf(p, "}},\"zone\":{\"name\":\"%V\",\"tokens\":%ui,"
                    "\"states\":%ui,\"bytes_used\":%uz,\"bytes_free\":%uz}",
                    &zone->shm.name,
                    ngx_http_intercom_oauth_zone_tokens(zone),
                    ngx_http_intercom_oauth_zone_states(zone), used, free);

    if (store) {
        p = ngx_sprintf(p, ",\"store\":{");

        for (st = ngx_http_intercom_oauth_store_stats; st->json; st++) {
            n = ngx_http_intercom_oauth_zone_counter(zone, st->counter);
            p = ngx_sprintf(p, "%s\"%s\":%uA",
                            st != ngx_http_intercom_oauth_store_stats
                            ? "," : "", st->json, n);
        }

        p = ngx_sprintf(p, "}");
    }

    return ngx_sprintf(p, "}\n");
}


static u_char *
ngx_http_intercom_oauth_status_text(u_char *p, ngx_shm_zone_t *zone,
    ngx_uint_t store)
{
    size_t              used, free;
    ngx_uint_t          i;
    ngx_atomic_uint_t   cumulative, sum;

    p = ngx_http_intercom_oauth_status_counters(p, zone,
                                             ngx_http_intercom_oauth_stats);

    p = ngx_sprintf(p, "# TYPE intercom_oauth_exchange_duration_seconds "
                    "histogram\n");

    cumulative = 0;

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_NBUCKETS; i++) {
        cumulative += ngx_http_intercom_oauth_zone_counter(zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_LATENCY + i);

        if (i < NGX_HTTP_INTERCOM_OAUTH_NBUCKETS - 1) {
            p = ngx_sprintf(p, "intercom_oauth_exchange_duration_seconds_"
                            "bucket{le=\"%M.%03M\"} %uA\n",
                            ngx_http_intercom_oauth_bounds[i] / 1000,
                            ngx_http_intercom_oauth_bounds[i] % 1000,
                            cumulative);

        } else {
            p = ngx_sprintf(p, "intercom_oauth_exchange_duration_seconds_"
                            "bucket{le=\"+Inf\"} %uA\n", cumulative);
        }
    }

    sum = ngx_http_intercom_oauth_zone_counter(zone,
                                      NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGE_MS);

    p = ngx_sprintf(p, "intercom_oauth_exchange_duration_seconds_sum "
                    "%uA.%03uA\n"
                    "intercom_oauth_exchange_duration_seconds_count %uA\n",
                    sum / 1000, sum % 1000, cumulative);

    ngx_http_intercom_oauth_zone_bytes(zone, &used, &free);

    p = ngx_sprintf(p, "# TYPE intercom_oauth_tokens gauge\n"
                    "intercom_oauth_tokens %ui\n"
                    "# TYPE intercom_oauth_used_states gauge\n"
                    "intercom_oauth_used_states %ui\n"
                    "# TYPE intercom_oauth_zone_bytes gauge\n"
                    "intercom_oauth_zone_bytes{state=\"used\"} %uz\n"
                    "intercom_oauth_zone_bytes{state=\"free\"} %uz\n",
                    ngx_http_intercom_oauth_zone_tokens(zone),
                    ngx_http_intercom_oauth_zone_states(zone), used, free);

    if (store) {
        p = ngx_http_intercom_oauth_status_counters(p, zone,
                                       ngx_http_intercom_oauth_store_stats);
    }

    return p;
}


/* counters in Prometheus' text format, one TYPE line per metric */

static u_char *
ngx_http_intercom_oauth_status_counters(u_char *p, ngx_shm_zone_t *zone,
    ngx_http_intercom_oauth_stat_t *stats)
{
    char                            *last;
    ngx_atomic_uint_t                n;
    ngx_http_intercom_oauth_stat_t  *st;

    last = NULL;

    for (st = stats; st->json; st++) {
        n = ngx_http_intercom_oauth_zone_counter(zone, st->counter);

        if (last == NULL || ngx_strcmp(last, st->metric) != 0) {
            p = ngx_sprintf(p, "# TYPE %s counter\n", st->metric);
            last = st->metric;
        }

        if (st->label == NULL) {
            p = ngx_sprintf(p, "%s{outcome=\"%V\"} %uA\n", st->metric,
                            ngx_http_intercom_oauth_error_code(st->counter),
                            n);

        } else if (st->label[0]) {
            p = ngx_sprintf(p, "%s{%s} %uA\n", st->metric, st->label, n);

        } else {
            p = ngx_sprintf(p, "%s %uA\n", st->metric, n);
        }
    }

    return p;
}
