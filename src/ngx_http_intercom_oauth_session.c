
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The session cookie.  Parsed here rather than with nginx's helper, which
 * returns the first cookie of a name: a browser sends every cookie whose
 * domain and path match, so a cookie set by a sibling subdomain, or for a
 * longer path, comes with the site's own under the same name, often
 * first.  Ignoring the name altogether then would lock the browser out
 * (every visit would mint a session the other cookie hides again); the
 * session is the first well-formed id that holds a token, else the first
 * well-formed one, the same rule on every request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>

#include "ngx_http_intercom_oauth_random.h"
#include "ngx_http_intercom_oauth_session.h"
#include "ngx_http_intercom_oauth_state.h"
#include "ngx_http_intercom_oauth_zone.h"


/* what the attributes say, for the name's prefix and the warnings */
#define NGX_HTTP_INTERCOM_OAUTH_ATTR_SECURE  0x01
#define NGX_HTTP_INTERCOM_OAUTH_ATTR_ROOT    0x02    /* the last Path is / */
#define NGX_HTTP_INTERCOM_OAUTH_ATTR_DOMAIN  0x04
#define NGX_HTTP_INTERCOM_OAUTH_ATTR_STRICT  0x08    /* SameSite=Strict */

/*
 * The values of one cookie name kept from a request: well-formed session
 * ids (malformed ones take no room, so that a flood of them cannot hide
 * the site's own), or "_prev" values, each of which costs an HMAC.
 */
#define NGX_HTTP_INTERCOM_OAUTH_SESSION_VALUES  16
#define NGX_HTTP_INTERCOM_OAUTH_PREV_VALUES     8

/* an id and the "." after it, in "<name>_prev" */
#define NGX_HTTP_INTERCOM_OAUTH_PREV_STEP                                     \
    (NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN + 1)

/* what the MAC of "<name>_prev" is computed over, before the ids */
#define NGX_HTTP_INTERCOM_OAUTH_PREV_LABEL   "intercom_oauth_prev"

/* the MAC's first 16 bytes, in base64url */
#define NGX_HTTP_INTERCOM_OAUTH_PREV_MAC     16
#define NGX_HTTP_INTERCOM_OAUTH_PREV_B64     22


/* the values of one cookie name in a request's Cookie headers */
typedef struct {
    ngx_str_t                  *name;
    ngx_str_t                   values[NGX_HTTP_INTERCOM_OAUTH_SESSION_VALUES];
    ngx_uint_t                  max;      /* to keep, at most */
    ngx_uint_t                  n;        /* kept, in the browser's order */
    ngx_uint_t                  seen;     /* every value of the name */
    ngx_str_t                   first;    /* the first value seen */
    unsigned                    ids:1;    /* keep well-formed ids only */
    unsigned                    differ:1; /* two values seen differ */
} ngx_http_intercom_oauth_cookies_t;


static ngx_uint_t ngx_http_intercom_oauth_session_attrs(ngx_str_t *attrs);
static ngx_uint_t ngx_http_intercom_oauth_session_prefixed(ngx_str_t *name,
    char *prefix);
static void ngx_http_intercom_oauth_session_values(ngx_http_request_t *r,
    ngx_str_t *name, ngx_uint_t max, ngx_uint_t ids,
    ngx_http_intercom_oauth_cookies_t *scan);
static void ngx_http_intercom_oauth_session_scan(ngx_str_t *header,
    ngx_http_intercom_oauth_cookies_t *scan);
static ngx_uint_t ngx_http_intercom_oauth_session_valid(u_char *p,
    size_t len);
static ngx_int_t ngx_http_intercom_oauth_session_mint(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx);
static ngx_int_t ngx_http_intercom_oauth_session_prev_mac(ngx_str_t *secret,
    ngx_str_t *session_id, u_char *ids, size_t len, u_char *out);
static ngx_int_t ngx_http_intercom_oauth_session_set_cookie(
    ngx_http_request_t *r, ngx_str_t *name, ngx_str_t *value,
    ngx_str_t *attrs, time_t max_age);


char *
ngx_http_intercom_oauth_session_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    size_t       i;
    ngx_str_t   *value;
    ngx_uint_t   attrs;

    if (olcf->cookie_name.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* a cookie name is an RFC 6265 token */
    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= 0x20 || value[1].data[i] >= 0x7f
            || ngx_strchr("()<>@,;:\\\"/[]?={}", value[1].data[i]))
        {
            break;
        }
    }

    if (value[1].len == 0 || i != value[1].len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cookie name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    olcf->cookie_name = value[1];

    if (cf->args->nelts == 3) {
        olcf->cookie_attrs = value[2];

    } else {
        ngx_str_set(&olcf->cookie_attrs, NGX_HTTP_INTERCOM_OAUTH_COOKIE_ATTRS);
    }

    attrs = ngx_http_intercom_oauth_session_attrs(&olcf->cookie_attrs);

    /*
     * Browsers refuse a prefixed cookie whose attributes break the
     * prefix's rules (RFC 6265bis, "Cookie Name Prefixes"): every
     * connect page would set a session the browser drops, and every
     * callback would fail.
     */
    if (ngx_http_intercom_oauth_session_prefixed(&value[1], "__Secure-")
        && !(attrs & NGX_HTTP_INTERCOM_OAUTH_ATTR_SECURE))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" \"%V\": a cookie named \"__Secure-...\" "
                           "must be \"Secure\", or browsers refuse it",
                           &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_intercom_oauth_session_prefixed(&value[1], "__Host-")
        && (attrs & (NGX_HTTP_INTERCOM_OAUTH_ATTR_SECURE
                     |NGX_HTTP_INTERCOM_OAUTH_ATTR_ROOT
                     |NGX_HTTP_INTERCOM_OAUTH_ATTR_DOMAIN))
           != (NGX_HTTP_INTERCOM_OAUTH_ATTR_SECURE
               |NGX_HTTP_INTERCOM_OAUTH_ATTR_ROOT))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" \"%V\": a cookie named \"__Host-...\" "
                           "must have \"Secure\" and \"Path=/\" and no "
                           "\"Domain\", or browsers refuse it",
                           &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    if (!(attrs & NGX_HTTP_INTERCOM_OAUTH_ATTR_SECURE)) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"intercom_oauth_session_cookie\" without "
                           "\"Secure\": the session travels over plain "
                           "HTTP too");
    }

    if (attrs & NGX_HTTP_INTERCOM_OAUTH_ATTR_STRICT) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"intercom_oauth_session_cookie\" with "
                           "\"SameSite=Strict\": browsers do not send it "
                           "on the way back from Intercom, every "
                           "callback will fail with state_invalid");
    }

    return NGX_CONF_OK;
}


char *
ngx_http_intercom_oauth_session_merge(ngx_conf_t *cf,
    ngx_http_intercom_oauth_loc_conf_t *prev,
    ngx_http_intercom_oauth_loc_conf_t *conf)
{
    u_char      *p;
    ngx_uint_t   attrs;

    if (conf->cookie_name.data == NULL) {
        if (prev->cookie_name.data) {
            conf->cookie_name = prev->cookie_name;
            conf->cookie_attrs = prev->cookie_attrs;
            conf->cookie_prev = prev->cookie_prev;

        } else {
            /*
             * The directive names the cookie whenever it sets attributes,
             * so these are the default ones, which allow the "__Host-"
             * prefix; other attributes keep the name without it.
             */
            ngx_str_set(&conf->cookie_attrs,
                        NGX_HTTP_INTERCOM_OAUTH_COOKIE_ATTRS);

            attrs = ngx_http_intercom_oauth_session_attrs(&conf->cookie_attrs);

            if ((attrs & (NGX_HTTP_INTERCOM_OAUTH_ATTR_SECURE
                          |NGX_HTTP_INTERCOM_OAUTH_ATTR_ROOT
                          |NGX_HTTP_INTERCOM_OAUTH_ATTR_DOMAIN))
                == (NGX_HTTP_INTERCOM_OAUTH_ATTR_SECURE
                    |NGX_HTTP_INTERCOM_OAUTH_ATTR_ROOT))
            {
                ngx_str_set(&conf->cookie_name,
                            NGX_HTTP_INTERCOM_OAUTH_COOKIE_HOST);

            } else {
                ngx_str_set(&conf->cookie_name,
                            NGX_HTTP_INTERCOM_OAUTH_COOKIE);
            }
        }
    }

    /* the http level's own configuration is never merged: made here */
    if (conf->cookie_prev.data == NULL) {
        conf->cookie_prev.len = conf->cookie_name.len
                                + sizeof(NGX_HTTP_INTERCOM_OAUTH_COOKIE_PREV)
                                - 1;

        p = ngx_pnalloc(cf->pool, conf->cookie_prev.len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->cookie_prev.data = p;

        p = ngx_cpymem(p, conf->cookie_name.data, conf->cookie_name.len);
        ngx_memcpy(p, NGX_HTTP_INTERCOM_OAUTH_COOKIE_PREV,
                   sizeof(NGX_HTTP_INTERCOM_OAUTH_COOKIE_PREV) - 1);
    }

    return NGX_CONF_OK;
}


/*
 * The attributes that matter here, as a browser reads them: names are
 * case-insensitive, the last Path and the last SameSite count.
 */

static ngx_uint_t
ngx_http_intercom_oauth_session_attrs(ngx_str_t *attrs)
{
    u_char      *p, *end, *n, *ne, *v, *ve;
    ngx_uint_t   flags;

    flags = 0;
    p = attrs->data;
    end = p + attrs->len;

    while (p < end) {
        n = p;

        while (p < end && *p != ';') {
            p++;
        }

        ve = p;

        if (p < end) {
            p++;
        }

        while (n < ve && (*n == ' ' || *n == '\t')) {
            n++;
        }

        ne = n;

        while (ne < ve && *ne != '=') {
            ne++;
        }

        v = (ne < ve) ? ne + 1 : ve;

        while (ne > n && (ne[-1] == ' ' || ne[-1] == '\t')) {
            ne--;
        }

        while (v < ve && (*v == ' ' || *v == '\t')) {
            v++;
        }

        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }

        if (ne - n == 6 && ngx_strncasecmp(n, (u_char *) "secure", 6) == 0) {
            flags |= NGX_HTTP_INTERCOM_OAUTH_ATTR_SECURE;

        } else if (ne - n == 4
                   && ngx_strncasecmp(n, (u_char *) "path", 4) == 0)
        {
            if (ve - v == 1 && *v == '/') {
                flags |= NGX_HTTP_INTERCOM_OAUTH_ATTR_ROOT;

            } else {
                flags &= ~NGX_HTTP_INTERCOM_OAUTH_ATTR_ROOT;
            }

        } else if (ne - n == 6
                   && ngx_strncasecmp(n, (u_char *) "domain", 6) == 0)
        {
            flags |= NGX_HTTP_INTERCOM_OAUTH_ATTR_DOMAIN;

        } else if (ne - n == 8
                   && ngx_strncasecmp(n, (u_char *) "samesite", 8) == 0)
        {
            if (ve - v == 6
                && ngx_strncasecmp(v, (u_char *) "strict", 6) == 0)
            {
                flags |= NGX_HTTP_INTERCOM_OAUTH_ATTR_STRICT;

            } else {
                flags &= ~NGX_HTTP_INTERCOM_OAUTH_ATTR_STRICT;
            }
        }
    }

    return flags;
}


/* browsers match the prefixes case-insensitively (RFC 6265bis) */

static ngx_uint_t
ngx_http_intercom_oauth_session_prefixed(ngx_str_t *name, char *prefix)
{
    size_t  len;

    len = ngx_strlen(prefix);

    return name->len >= len
           && ngx_strncasecmp(name->data, (u_char *) prefix, len) == 0;
}


ngx_int_t
ngx_http_intercom_oauth_session_plain(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *id)
{
    ngx_http_intercom_oauth_cookies_t  scan;

    ngx_http_intercom_oauth_session_values(r, &olcf->cookie_name,
                                     NGX_HTTP_INTERCOM_OAUTH_SESSION_VALUES,
                                     1, &scan);

    if (scan.seen == 0) {
        ngx_str_null(id);
        return NGX_OK;
    }

    /* one well-formed id, sent once or each time the same */
    if (scan.n == scan.seen && !scan.differ) {
        *id = scan.values[0];
        return NGX_OK;
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_intercom_oauth_session_get(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    ngx_str_t                            *chosen, *values;
    ngx_uint_t                            i, several;
    ngx_http_intercom_oauth_cookies_t     scan;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    if (ctx->session_checked) {
        return NGX_OK;
    }

    ctx->session_checked = 1;
    ngx_str_null(&ctx->session_id);

    ngx_http_intercom_oauth_session_values(r, &olcf->cookie_name,
                                     NGX_HTTP_INTERCOM_OAUTH_SESSION_VALUES,
                                     1, &scan);

    values = scan.values;

    if (scan.seen == 0) {
        return NGX_OK;
    }

    if (scan.n == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: session cookie \"%V\" is malformed, "
                      "ignored", &olcf->cookie_name);
        return NGX_OK;
    }

    if (scan.differ) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: session cookie \"%V\" is repeated "
                      "with different values, the first well-formed one "
                      "that holds a token is the session, else the first "
                      "well-formed one", &olcf->cookie_name);
    }

    chosen = &values[0];
    several = 0;

    for (i = 1; i < scan.n; i++) {
        if (ngx_strncmp(values[i].data, values[0].data, values[0].len) != 0) {
            several = 1;
            break;
        }
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (several && omcf->shm_zone && olcf->client_id.len) {
        for (i = 0; i < scan.n; i++) {
            if (ngx_http_intercom_oauth_zone_token_get(omcf->shm_zone,
                                                   &olcf->client_id,
                                                   &olcf->realm, &values[i],
                                                   NULL, NULL, NULL)
                == NGX_OK)
            {
                chosen = &values[i];
                break;
            }
        }
    }

    ctx->session_id = *chosen;

    return NGX_OK;
}


/*
 * The values of the cookie "name" into "scan", in the order the browser
 * sent them (its own order: longer paths first, then older cookies), at
 * most "max", well-formed session ids only when "ids" is set.  The
 * values array is not zeroed: only its first scan->n are read.
 */

static void
ngx_http_intercom_oauth_session_values(ngx_http_request_t *r,
    ngx_str_t *name, ngx_uint_t max, ngx_uint_t ids,
    ngx_http_intercom_oauth_cookies_t *scan)
{
    ngx_table_elt_t   *h;
#if (nginx_version < 1023000)
    ngx_uint_t         i;
    ngx_table_elt_t  **hp;
#endif

    scan->name = name;
    scan->max = max;
    scan->n = 0;
    scan->seen = 0;
    ngx_str_null(&scan->first);
    scan->ids = ids;
    scan->differ = 0;

#if (nginx_version >= 1023000)
    for (h = r->headers_in.cookie; h; h = h->next) {
        ngx_http_intercom_oauth_session_scan(&h->value, scan);
    }
#else
    hp = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        h = hp[i];
        ngx_http_intercom_oauth_session_scan(&h->value, scan);
    }
#endif
}


/*
 * The "name=value" pairs of one Cookie header.  A pair's name is a token
 * (no "=" in it, as no configured name has one), so the pair holds the
 * name asked for when the name and "=" start it; the rest of the header
 * is skipped a pair at a time with memchr().
 */

static void
ngx_http_intercom_oauth_session_scan(ngx_str_t *header,
    ngx_http_intercom_oauth_cookies_t *scan)
{
    u_char     *p, *end, *k, *v, *ve;
    ngx_str_t  *name;

    name = scan->name;
    p = header->data;
    end = p + header->len;

    while (p < end) {

        while (p < end && (*p == ' ' || *p == '\t' || *p == ';')) {
            p++;
        }

        k = p;

        p = memchr(k, ';', end - k);
        if (p == NULL) {
            p = end;
        }

        if ((size_t) (p - k) <= name->len
            || k[name->len] != '='
            || ngx_memcmp(k, name->data, name->len) != 0)
        {
            continue;
        }

        v = k + name->len + 1;
        ve = p;

        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }

        if (scan->seen++ == 0) {
            scan->first.data = v;
            scan->first.len = ve - v;

        } else if ((size_t) (ve - v) != scan->first.len
                   || ngx_memcmp(v, scan->first.data, scan->first.len) != 0)
        {
            scan->differ = 1;
        }

        if (scan->n == scan->max
            || (scan->ids
                && !ngx_http_intercom_oauth_session_valid(v, ve - v)))
        {
            continue;
        }

        scan->values[scan->n].data = v;
        scan->values[scan->n].len = ve - v;
        scan->n++;
    }
}


/* 22 base64url characters */

static ngx_uint_t
ngx_http_intercom_oauth_session_valid(u_char *p, size_t len)
{
    u_char  ok;

    /*
     * "-", "0"-"9", "A"-"Z", "_", "a"-"z": a byte per character, one load
     * each (a bit map took a shift and a mask more, on every guarded
     * request)
     */
    static const u_char  base64url[256] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    };

    if (len != NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN) {
        return 0;
    }

    /*
     * No branch per character, and no loop: GCC -O2 left the loop of 22
     * rolled, its counting as many instructions as the checks.
     */
#if (NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN != 22)
#error "the session id check below names each of 22 characters"
#endif

#define ngx_http_intercom_oauth_b64(i)  base64url[p[i]]

    ok = ngx_http_intercom_oauth_b64(0) & ngx_http_intercom_oauth_b64(1)
         & ngx_http_intercom_oauth_b64(2) & ngx_http_intercom_oauth_b64(3)
         & ngx_http_intercom_oauth_b64(4) & ngx_http_intercom_oauth_b64(5)
         & ngx_http_intercom_oauth_b64(6) & ngx_http_intercom_oauth_b64(7)
         & ngx_http_intercom_oauth_b64(8) & ngx_http_intercom_oauth_b64(9)
         & ngx_http_intercom_oauth_b64(10) & ngx_http_intercom_oauth_b64(11)
         & ngx_http_intercom_oauth_b64(12) & ngx_http_intercom_oauth_b64(13)
         & ngx_http_intercom_oauth_b64(14) & ngx_http_intercom_oauth_b64(15)
         & ngx_http_intercom_oauth_b64(16) & ngx_http_intercom_oauth_b64(17)
         & ngx_http_intercom_oauth_b64(18) & ngx_http_intercom_oauth_b64(19)
         & ngx_http_intercom_oauth_b64(20) & ngx_http_intercom_oauth_b64(21);

#undef ngx_http_intercom_oauth_b64

    return ok;
}


ngx_int_t
ngx_http_intercom_oauth_session_ensure(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    if (ngx_http_intercom_oauth_session_get(r, olcf, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->session_id.len) {
        return NGX_OK;
    }

    if (ngx_http_intercom_oauth_session_mint(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_intercom_oauth_session_set_cookie(r, &olcf->cookie_name,
                                                      &ctx->session_id,
                                                      &olcf->cookie_attrs,
                                                      -1);
}


ngx_int_t
ngx_http_intercom_oauth_session_prev(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx, ngx_str_t *secret)
{
    u_char                             *p;
    size_t                              len, ids;
    ngx_str_t                          *values;
    ngx_uint_t                          i, j, k;
    ngx_http_intercom_oauth_cookies_t   scan;
    u_char                              mac[NGX_HTTP_INTERCOM_OAUTH_PREV_B64];

    ngx_str_null(&ctx->session_prev);

    if (ctx->session_id.len == 0) {
        return NGX_OK;
    }

    ngx_http_intercom_oauth_session_values(r, &olcf->cookie_prev,
                                           NGX_HTTP_INTERCOM_OAUTH_PREV_VALUES,
                                           0, &scan);

    values = scan.values;

    for (i = 0; i < scan.n; i++) {
        p = values[i].data;
        len = values[i].len;

        /* "id.id.mac": k ids of 22 characters, each with its ".", a MAC */
        if (len <= NGX_HTTP_INTERCOM_OAUTH_PREV_B64
            || (len - NGX_HTTP_INTERCOM_OAUTH_PREV_B64)
               % NGX_HTTP_INTERCOM_OAUTH_PREV_STEP)
        {
            continue;
        }

        k = (len - NGX_HTTP_INTERCOM_OAUTH_PREV_B64)
            / NGX_HTTP_INTERCOM_OAUTH_PREV_STEP;

        if (k > NGX_HTTP_INTERCOM_OAUTH_PREV_IDS) {
            continue;
        }

        for (j = 0; j < k; j++) {
            if (!ngx_http_intercom_oauth_session_valid(
                                     p + j * NGX_HTTP_INTERCOM_OAUTH_PREV_STEP,
                                     NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN)
                || p[j * NGX_HTTP_INTERCOM_OAUTH_PREV_STEP
                     + NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN] != '.')
            {
                break;
            }
        }

        if (j != k) {
            continue;
        }

        ids = k * NGX_HTTP_INTERCOM_OAUTH_PREV_STEP - 1;

        if (ngx_http_intercom_oauth_session_prev_mac(secret, &ctx->session_id,
                                                     p, ids, mac)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* bound to the session this browser holds now, or planted */
        if (CRYPTO_memcmp(mac, p + ids + 1,
                          NGX_HTTP_INTERCOM_OAUTH_PREV_B64)
            == 0)
        {
            ctx->session_prev.data = p;
            ctx->session_prev.len = ids;
            return NGX_OK;
        }
    }

    if (scan.seen) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: cookie \"%V\" does not belong to this "
                      "browser's session, ignored", &olcf->cookie_prev);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_session_prev_id(ngx_http_intercom_oauth_ctx_t *ctx,
    ngx_uint_t i, ngx_str_t *id)
{
    if ((i + 1) * NGX_HTTP_INTERCOM_OAUTH_PREV_STEP
        > ctx->session_prev.len + 1)
    {
        return NGX_DECLINED;
    }

    id->data = ctx->session_prev.data + i * NGX_HTTP_INTERCOM_OAUTH_PREV_STEP;
    id->len = NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN;

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_session_rotate(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    ctx->session_replaced = ctx->session_id;

    return ngx_http_intercom_oauth_session_mint(r, ctx);
}


ngx_int_t
ngx_http_intercom_oauth_session_commit(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx, ngx_str_t *secret, time_t ttl)
{
    u_char      *p;
    size_t       ids;
    ngx_str_t    value, id;
    ngx_uint_t   i;

    if (ngx_http_intercom_oauth_session_set_cookie(r, &olcf->cookie_name,
                                                   &ctx->session_id,
                                                   &olcf->cookie_attrs, -1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->session_replaced.len == 0) {
        return NGX_OK;
    }

    /* the id just replaced first, then the ones it had replaced */
    value.data = ngx_pnalloc(r->pool,
                             NGX_HTTP_INTERCOM_OAUTH_PREV_IDS
                             * NGX_HTTP_INTERCOM_OAUTH_PREV_STEP
                             + NGX_HTTP_INTERCOM_OAUTH_PREV_B64);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(value.data, ctx->session_replaced.data,
                   ctx->session_replaced.len);

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_PREV_IDS - 1; i++) {
        if (ngx_http_intercom_oauth_session_prev_id(ctx, i, &id) != NGX_OK) {
            break;
        }

        *p++ = '.';
        p = ngx_cpymem(p, id.data, id.len);
    }

    ids = p - value.data;

    if (ngx_http_intercom_oauth_session_prev_mac(secret, &ctx->session_id,
                                                 value.data, ids, p + 1)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: HMAC() failed");
        return NGX_ERROR;
    }

    *p++ = '.';
    value.len = p - value.data + NGX_HTTP_INTERCOM_OAUTH_PREV_B64;

    return ngx_http_intercom_oauth_session_set_cookie(r, &olcf->cookie_prev,
                                                      &value,
                                                      &olcf->cookie_attrs,
                                                      ttl);
}


static ngx_int_t
ngx_http_intercom_oauth_session_mint(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    ngx_str_t  raw;
    u_char     bytes[NGX_HTTP_INTERCOM_OAUTH_SESSION_BYTES];

    if (ngx_http_intercom_oauth_random(bytes, sizeof(bytes)) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: RAND_bytes() failed");
        return NGX_ERROR;
    }

    ctx->session_id.data = ngx_pnalloc(r->pool,
                                       NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN);
    if (ctx->session_id.data == NULL) {
        return NGX_ERROR;
    }

    raw.len = sizeof(bytes);
    raw.data = bytes;

    ngx_encode_base64url(&ctx->session_id, &raw);
    ctx->session_new = 1;

    return NGX_OK;
}


/*
 * base64url of the first 16 bytes of HMAC-SHA256(secret,
 * "intercom_oauth_prev" \0 session id \0 ids) into "out" (22 bytes): the
 * ids are bound to the session that replaced them, so that a "_prev"
 * cannot be planted beside another session.
 */

static ngx_int_t
ngx_http_intercom_oauth_session_prev_mac(ngx_str_t *secret,
    ngx_str_t *session_id, u_char *ids, size_t len, u_char *out)
{
    u_char     *p;
    ngx_str_t   raw, encoded;
    u_char      buf[sizeof(NGX_HTTP_INTERCOM_OAUTH_PREV_LABEL)
                    + NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN + 1
                    + NGX_HTTP_INTERCOM_OAUTH_PREV_IDS
                      * NGX_HTTP_INTERCOM_OAUTH_PREV_STEP];
    u_char      md[NGX_HTTP_INTERCOM_OAUTH_HMAC_LEN];
    u_char      b64[ngx_base64_encoded_length(
                                        NGX_HTTP_INTERCOM_OAUTH_PREV_MAC)];

    if (session_id->len != NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN
        || len > NGX_HTTP_INTERCOM_OAUTH_PREV_IDS
                 * NGX_HTTP_INTERCOM_OAUTH_PREV_STEP)
    {
        return NGX_ERROR;
    }

    /* the label with its NUL, the session id, a NUL, the ids */
    p = ngx_cpymem(buf, NGX_HTTP_INTERCOM_OAUTH_PREV_LABEL,
                   sizeof(NGX_HTTP_INTERCOM_OAUTH_PREV_LABEL));
    p = ngx_cpymem(p, session_id->data, session_id->len);
    *p++ = '\0';
    p = ngx_cpymem(p, ids, len);

    /* the state's keyed context: a one-shot HMAC() keys one per call */
    if (ngx_http_intercom_oauth_state_hmac(secret, buf, p - buf, md)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    raw.data = md;
    raw.len = NGX_HTTP_INTERCOM_OAUTH_PREV_MAC;
    encoded.data = b64;

    ngx_encode_base64url(&encoded, &raw);
    ngx_memcpy(out, encoded.data, NGX_HTTP_INTERCOM_OAUTH_PREV_B64);

    return NGX_OK;
}


/* Set-Cookie: name=value[; attrs][; Max-Age=max_age] (max_age -1: none) */

static ngx_int_t
ngx_http_intercom_oauth_session_set_cookie(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, ngx_str_t *attrs, time_t max_age)
{
    u_char           *p;
    ngx_table_elt_t  *set_cookie;

    set_cookie = ngx_list_push(&r->headers_out.headers);
    if (set_cookie == NULL) {
        return NGX_ERROR;
    }

    set_cookie->value.len = name->len + 1 + value->len
                            + (attrs->len ? 2 : 0) + attrs->len
                            + (max_age >= 0 ? sizeof("; Max-Age=") - 1
                                              + NGX_TIME_T_LEN
                                            : 0);

    set_cookie->value.data = ngx_pnalloc(r->pool, set_cookie->value.len);
    if (set_cookie->value.data == NULL) {
        set_cookie->hash = 0;
        return NGX_ERROR;
    }

    p = ngx_cpymem(set_cookie->value.data, name->data, name->len);
    *p++ = '=';
    p = ngx_cpymem(p, value->data, value->len);

    if (attrs->len) {
        *p++ = ';';
        *p++ = ' ';
        p = ngx_cpymem(p, attrs->data, attrs->len);
    }

    /* after the attributes: of two Max-Age, browsers take the last */
    if (max_age >= 0) {
        p = ngx_sprintf(p, "; Max-Age=%T", max_age);
    }

    set_cookie->value.len = p - set_cookie->value.data;
    set_cookie->hash = 1;
#if (nginx_version >= 1023000)
    set_cookie->next = NULL;
#endif
    ngx_str_set(&set_cookie->key, "Set-Cookie");

    return NGX_OK;
}
