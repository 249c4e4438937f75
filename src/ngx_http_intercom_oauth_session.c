
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The session cookie.  Parsed here rather than with nginx's helper so that
 * a repeated cookie is noticed: two different session ids in one request
 * is either a confused browser or someone planting a cookie, and either
 * way neither value can be trusted.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_random.h"
#include "ngx_http_intercom_oauth_session.h"


static ngx_int_t ngx_http_intercom_oauth_session_scan(ngx_http_request_t *r,
    ngx_str_t *header, ngx_str_t *name, ngx_str_t *found,
    ngx_uint_t *count);
static ngx_uint_t ngx_http_intercom_oauth_session_valid(ngx_str_t *id);


char *
ngx_http_intercom_oauth_session_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    size_t      i;
    ngx_str_t  *value;

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

        if (ngx_strlcasestrn(value[2].data, value[2].data + value[2].len,
                             (u_char *) "secure", sizeof("secure") - 2)
            == NULL)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"intercom_oauth_session_cookie\" without "
                               "\"Secure\": the session travels over plain "
                               "HTTP too");
        }

        if (ngx_strlcasestrn(value[2].data, value[2].data + value[2].len,
                             (u_char *) "samesite=strict",
                             sizeof("samesite=strict") - 2)
            != NULL)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"intercom_oauth_session_cookie\" with "
                               "\"SameSite=Strict\": browsers do not send it "
                               "on the way back from Intercom, every "
                               "callback will fail with state_invalid");
        }

    } else {
        ngx_str_set(&olcf->cookie_attrs, NGX_HTTP_INTERCOM_OAUTH_COOKIE_ATTRS);
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_intercom_oauth_session_get(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    ngx_str_t          found;
    ngx_uint_t         count;
    ngx_table_elt_t   *h;
#if (nginx_version < 1023000)
    ngx_uint_t         i;
    ngx_table_elt_t  **hp;
#endif

    if (ctx->session_checked) {
        return NGX_OK;
    }

    ctx->session_checked = 1;
    ngx_str_null(&ctx->session_id);
    ngx_str_null(&found);
    count = 0;

#if (nginx_version >= 1023000)
    for (h = r->headers_in.cookie; h; h = h->next) {
        if (ngx_http_intercom_oauth_session_scan(r, &h->value,
                                                 &olcf->cookie_name,
                                                 &found, &count)
            != NGX_OK)
        {
            return NGX_OK;
        }
    }
#else
    hp = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        h = hp[i];

        if (ngx_http_intercom_oauth_session_scan(r, &h->value,
                                                 &olcf->cookie_name,
                                                 &found, &count)
            != NGX_OK)
        {
            return NGX_OK;
        }
    }
#endif

    if (count == 0) {
        return NGX_OK;
    }

    if (!ngx_http_intercom_oauth_session_valid(&found)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: session cookie \"%V\" is malformed, "
                      "ignored", &olcf->cookie_name);
        return NGX_OK;
    }

    ctx->session_id = found;

    return NGX_OK;
}


/*
 * Finds "name=value" pairs in one Cookie header.  Returns NGX_DECLINED when
 * the cookie is repeated with different values (logged), NGX_OK otherwise.
 */

static ngx_int_t
ngx_http_intercom_oauth_session_scan(ngx_http_request_t *r, ngx_str_t *header,
    ngx_str_t *name, ngx_str_t *found, ngx_uint_t *count)
{
    u_char     *p, *end, *n, *v, *ve;

    p = header->data;
    end = p + header->len;

    while (p < end) {

        while (p < end && (*p == ' ' || *p == '\t' || *p == ';')) {
            p++;
        }

        n = p;

        while (p < end && *p != '=' && *p != ';') {
            p++;
        }

        if (p == end || *p == ';') {
            continue;
        }

        /* p points to '=' */

        v = p + 1;
        ve = v;

        while (ve < end && *ve != ';') {
            ve++;
        }

        p = ve;

        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }

        if ((size_t) (v - 1 - n) != name->len
            || ngx_strncmp(n, name->data, name->len) != 0)
        {
            continue;
        }

        if (*count > 0
            && ((size_t) (ve - v) != found->len
                || ngx_strncmp(v, found->data, found->len) != 0))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "intercom oauth: session cookie \"%V\" is "
                          "repeated with different values, ignored", name);
            ngx_str_null(found);
            *count = 0;
            return NGX_DECLINED;
        }

        found->data = v;
        found->len = ve - v;
        (*count)++;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_intercom_oauth_session_valid(ngx_str_t *id)
{
    u_char      c;
    ngx_uint_t  i;

    if (id->len != NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN) {
        return 0;
    }

    for (i = 0; i < id->len; i++) {
        c = id->data[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            return 0;
        }
    }

    return 1;
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

    return ngx_http_intercom_oauth_session_rotate(r, olcf, ctx);
}


ngx_int_t
ngx_http_intercom_oauth_session_rotate(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    u_char            *p;
    ngx_str_t          raw;
    ngx_table_elt_t   *set_cookie;
    u_char             bytes[NGX_HTTP_INTERCOM_OAUTH_SESSION_BYTES];

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

    set_cookie = ngx_list_push(&r->headers_out.headers);
    if (set_cookie == NULL) {
        return NGX_ERROR;
    }

    set_cookie->value.len = olcf->cookie_name.len + 1
                            + ctx->session_id.len
                            + (olcf->cookie_attrs.len ? 2 : 0)
                            + olcf->cookie_attrs.len;

    set_cookie->value.data = ngx_pnalloc(r->pool, set_cookie->value.len);
    if (set_cookie->value.data == NULL) {
        set_cookie->hash = 0;
        return NGX_ERROR;
    }

    p = ngx_cpymem(set_cookie->value.data, olcf->cookie_name.data,
                   olcf->cookie_name.len);
    *p++ = '=';
    p = ngx_cpymem(p, ctx->session_id.data, ctx->session_id.len);

    if (olcf->cookie_attrs.len) {
        *p++ = ';';
        *p++ = ' ';
        ngx_memcpy(p, olcf->cookie_attrs.data, olcf->cookie_attrs.len);
    }

    set_cookie->hash = 1;
#if (nginx_version >= 1023000)
    set_cookie->next = NULL;
#endif
    ngx_str_set(&set_cookie->key, "Set-Cookie");

    return NGX_OK;
}
