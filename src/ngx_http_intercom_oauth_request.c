
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_session.h"
#include "ngx_http_intercom_oauth_zone.h"


static ngx_int_t ngx_http_intercom_oauth_authority(ngx_str_t *url,
    ngx_str_t *authority);


ngx_http_intercom_oauth_ctx_t *
ngx_http_intercom_oauth_ctx(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_intercom_oauth_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_intercom_oauth_module);
    }

    return ctx;
}


ngx_int_t
ngx_http_intercom_oauth_key(ngx_http_request_t *r, ngx_str_t *key)
{
    ngx_int_t                            rc;
    ngx_http_intercom_oauth_ctx_t       *ctx;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    if (olcf->key) {
        return ngx_http_complex_value(r, olcf->key, key);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    /*
     * A guarded page or a token's variable allocates no context (its
     * 400 bytes took a new block of the request's pool) unless the
     * cookie needs session_get()'s rules, whose log lines come once.
     * A context there is keeps the answer, which is session_get()'s.
     */
    if (ctx == NULL || !ctx->session_checked) {
        rc = ngx_http_intercom_oauth_session_plain(r, olcf, key);

        if (rc == NGX_OK && ctx) {
            ctx->session_checked = 1;
            ctx->session_id = *key;
        }

        if (rc != NGX_DECLINED) {
            return rc;
        }

        ctx = ngx_http_intercom_oauth_ctx(r);
        if (ctx == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_intercom_oauth_session_get(r, olcf, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    *key = ctx->session_id;

    return NGX_OK;
}


void
ngx_http_intercom_oauth_set_error(ngx_http_request_t *r, ngx_str_t *code)
{
    ngx_http_variable_value_t            *v;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    /*
     * The request's variables, unlike its module contexts, survive the
     * internal redirect of an error_page.
     */

    v = &r->variables[omcf->error_index];

    v->len = code->len;
    v->data = code->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}


ngx_int_t
ngx_http_intercom_oauth_wait(ngx_http_request_t *r)
{
    /* a closed client ends the request, and with it what it waits for */
    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


void
ngx_http_intercom_oauth_resume(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


void
ngx_http_intercom_oauth_state_secret(ngx_http_request_t *r,
    ngx_str_t *secret)
{
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    if (olcf->state_secret.len) {
        *secret = olcf->state_secret;
        return;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_zone_secret(omcf->shm_zone, secret);
}


ngx_table_elt_t *
ngx_http_intercom_oauth_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_uint_t *repeated)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    found = NULL;

    if (repeated) {
        *repeated = 0;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != name->len
            || ngx_strncasecmp(h[i].key.data, name->data, name->len) != 0)
        {
            continue;
        }

        if (found == NULL) {
            found = &h[i];

            if (repeated == NULL) {
                break;
            }

            continue;
        }

        *repeated = 1;
        break;
    }

    return found;
}


ngx_int_t
ngx_http_intercom_oauth_same_origin(ngx_http_request_t *r, const char **why)
{
    ngx_str_t         host, from, authority;
    ngx_uint_t        repeated;
    ngx_table_elt_t  *origin, *site;

    static ngx_str_t  origin_name = ngx_string("Origin");
    static ngx_str_t  site_name = ngx_string("Sec-Fetch-Site");

    if (r->headers_in.host == NULL || r->headers_in.host->value.len == 0) {
        *why = "the request has no Host header";
        return NGX_DECLINED;
    }

    host = r->headers_in.host->value;
    origin = ngx_http_intercom_oauth_header(r, &origin_name, NULL);

    if (origin
        && origin->value.len == sizeof("null") - 1
        && ngx_strncmp(origin->value.data, "null", sizeof("null") - 1) == 0)
    {
        /*
         * A browser sends "Origin: null" instead of the page's origin when
         * the page's referrer policy is "no-referrer" (and from sandboxed
         * or file: documents).  Its fetch metadata still says where the
         * request comes from, and only a browser sets Sec-Fetch-Site
         * (script cannot): "same-origin" is this site's own page;
         * "same-site" is a sibling subdomain, "cross-site" another site,
         * "none" no page at all.
         */
        site = ngx_http_intercom_oauth_header(r, &site_name, &repeated);

        if (site == NULL || repeated
            || site->value.len != sizeof("same-origin") - 1
            || ngx_strncmp(site->value.data, "same-origin",
                           sizeof("same-origin") - 1)
               != 0)
        {
            *why = "Origin is \"null\" and Sec-Fetch-Site does not say "
                   "same-origin";
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    if (origin) {
        from = origin->value;

    } else if (r->headers_in.referer) {
        from = r->headers_in.referer->value;

    } else {
        *why = "neither Origin nor Referer says the request comes from "
               "this site";
        return NGX_DECLINED;
    }

    /* the scheme is not compared: TLS may end at a load balancer */
    if (ngx_http_intercom_oauth_authority(&from, &authority) != NGX_OK
        || authority.len != host.len
        || ngx_strncasecmp(authority.data, host.data, host.len) != 0)
    {
        *why = origin ? "Origin names another site"
                      : "Referer names another site";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* "https://host:port/path" -> "host:port"; NGX_ERROR when not http(s) */

static ngx_int_t
ngx_http_intercom_oauth_authority(ngx_str_t *url, ngx_str_t *authority)
{
    u_char  *p, *last;

    p = url->data;
    last = url->data + url->len;

    if (url->len > 8 && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
        p += 8;

    } else if (url->len > 7
               && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0)
    {
        p += 7;

    } else {
        return NGX_ERROR;
    }

    authority->data = p;

    while (p < last && *p != '/' && *p != '?' && *p != '#') {
        if (*p == '@') {
            /* user information in an origin is not a browser's doing */
            return NGX_ERROR;
        }

        p++;
    }

    authority->len = p - authority->data;

    return authority->len ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_intercom_oauth_read_only(ngx_http_request_t *r)
{
    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    return ngx_http_discard_request_body(r);
}


ngx_int_t
ngx_http_intercom_oauth_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body)
{
    u_char       *p;
    off_t         len, size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    len = 0;

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        len += ngx_buf_size(cl->buf);
    }

    /* a chunked body has no length to check up front */
    if (len > (off_t) max) {
        return NGX_DECLINED;
    }

    body->len = (size_t) len;
    body->data = ngx_pnalloc(r->pool, len ? (size_t) len : 1);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        /*
         * Buffered to a file (client_body_in_file_only, or a body larger
         * than client_body_buffer_size): at most "max" bytes, read once;
         * a regular file does not block for long.
         */
        size = b->file_last - b->file_pos;

        if (size == 0) {
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) size, b->file_pos);

        if (n != (ssize_t) size) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "intercom oauth: the request body could not be "
                          "read back from \"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}
