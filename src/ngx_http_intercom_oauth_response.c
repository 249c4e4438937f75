
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_response.h"


ngx_int_t
ngx_http_intercom_oauth_uri_args(ngx_pool_t *pool, ngx_str_t *uri,
    ngx_http_intercom_oauth_arg_t *args, ngx_uint_t n, ngx_str_t *out)
{
    u_char      *p;
    size_t       len;
    ngx_str_t   *v;
    ngx_uint_t   i, query;

    query = (ngx_strlchr(uri->data, uri->data + uri->len, '?') != NULL);

    len = uri->len;

    for (i = 0; i < n; i++) {
        v = args[i].value;
        len += 1 + args[i].name.len + v->len;

        if (args[i].escape) {
            len += 2 * ngx_escape_uri(NULL, v->data, v->len,
                                      NGX_ESCAPE_URI_COMPONENT);
        }
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    p = ngx_cpymem(p, uri->data, uri->len);

    for (i = 0; i < n; i++) {
        v = args[i].value;

        *p++ = query ? '&' : '?';
        query = 1;

        p = ngx_cpymem(p, args[i].name.data, args[i].name.len);

        if (args[i].escape) {
            p = (u_char *) ngx_escape_uri(p, v->data, v->len,
                                          NGX_ESCAPE_URI_COMPONENT);

        } else {
            p = ngx_cpymem(p, v->data, v->len);
        }
    }

    out->len = p - out->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_appstore_target(ngx_pool_t *pool,
    ngx_str_t *authorize_url, ngx_str_t *error, ngx_str_t *out)
{
    u_char                         *p, *last;
    ngx_str_t                       base, result, message;
    ngx_http_intercom_oauth_arg_t   args[2];

    /* the authorize URL was checked to be http(s) at configuration */
    p = authorize_url->data;
    last = p + authorize_url->len;

    p = ngx_strlchr(p, last, ':');
    p = (p && last - p > 3) ? p + 3 : authorize_url->data;

    while (p < last && *p != '/' && *p != '?' && *p != '#') {
        p++;
    }

    base.len = (p - authorize_url->data) + sizeof("/appstore/redirect") - 1;
    base.data = ngx_pnalloc(pool, base.len);
    if (base.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(base.data, authorize_url->data,
                          p - authorize_url->data),
               "/appstore/redirect", sizeof("/appstore/redirect") - 1);

    ngx_str_set(&args[0].name, "install_success=");
    args[0].value = &result;
    args[0].escape = 0;

    if (error == NULL) {
        ngx_str_set(&result, "true");

        return ngx_http_intercom_oauth_uri_args(pool, &base, args, 1, out);
    }

    ngx_str_set(&result, "false");

    message.data = ngx_pnalloc(pool, sizeof("Installation failed: ") - 1
                                     + error->len);
    if (message.data == NULL) {
        return NGX_ERROR;
    }

    last = ngx_sprintf(message.data, "Installation failed: %V", error);
    message.len = last - message.data;

    ngx_str_set(&args[1].name, "error_message=");
    args[1].value = &message;
    args[1].escape = 1;

    return ngx_http_intercom_oauth_uri_args(pool, &base, args, 2, out);
}


ngx_int_t
ngx_http_intercom_oauth_nocache(ngx_http_request_t *r)
{
    ngx_table_elt_t                *h;
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ctx->nocache) {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    ctx->nocache = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_redirect(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *uri)
{
    ngx_table_elt_t  *location;

    ngx_http_clear_location(r);

    location = ngx_list_push(&r->headers_out.headers);
    if (location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location->hash = 1;
#if (nginx_version >= 1023000)
    location->next = NULL;
#endif
    ngx_str_set(&location->key, "Location");
    location->value = *uri;

    r->headers_out.location = location;

    return status;
}


ngx_int_t
ngx_http_intercom_oauth_send(ngx_http_request_t *r, ngx_uint_t status,
    char *content_type, u_char *body, size_t len)
{
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.len = ngx_strlen(content_type);
    r->headers_out.content_type.data = (u_char *) content_type;

    /* the type without its parameters, so "charset" adds none twice */
    p = (u_char *) ngx_strchr(content_type, ';');
    r->headers_out.content_type_len = p ? (size_t) (p - (u_char *) content_type)
                                        : r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
