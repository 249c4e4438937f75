
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * HTTP plumbing the handlers share: finding a request header, reading a
 * bounded body, building a redirect target, and answering.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_RESPONSE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_RESPONSE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/* one "name=value" argument of a URI being built */
typedef struct {
    ngx_str_t                   name;     /* "name=" */
    ngx_str_t                  *value;
    ngx_uint_t                  escape;   /* percent-encode the value */
} ngx_http_intercom_oauth_arg_t;


/*
 * The first request header called "name" (case-insensitive), NULL if none;
 * with "repeated" set, also tells whether there is more than one.
 */
ngx_table_elt_t *ngx_http_intercom_oauth_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_uint_t *repeated);

/*
 * A handler that only reads (the connect page, the status): GET and HEAD,
 * the body discarded.  Returns NGX_OK, or what the handler returns now
 * (405, or the discarding's result).
 */
ngx_int_t ngx_http_intercom_oauth_read_only(ngx_http_request_t *r);

/*
 * Copies the request body read by ngx_http_read_client_request_body() into
 * one buffer from r->pool.  Returns NGX_OK, NGX_DECLINED when it is larger
 * than "max" bytes (or was buffered to a file), NGX_ERROR on allocation
 * failure.
 */
ngx_int_t ngx_http_intercom_oauth_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);

/*
 * "uri" with the "n" arguments added to its query string (begun with "?",
 * or continued with "&" when it has one), into "out" from "pool".
 * Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_uri_args(ngx_pool_t *pool, ngx_str_t *uri,
    ngx_http_intercom_oauth_arg_t *args, ngx_uint_t n, ngx_str_t *out);

/*
 * Adds "Cache-Control: no-store" to a response that carries a state or
 * follows a callback, once.  Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_nocache(ngx_http_request_t *r);

/*
 * Sets the Location header to "uri" (not copied: it must outlive the
 * request) and returns "status" for nginx to answer as it answers
 * "return 302", or 500 when the header cannot be added.
 */
ngx_int_t ngx_http_intercom_oauth_redirect(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *uri);

/*
 * Sends "status" with "body" (already in memory, sent as it is) and the
 * given Content-Type.  Returns what a content handler returns.
 */
ngx_int_t ngx_http_intercom_oauth_send(ngx_http_request_t *r,
    ngx_uint_t status, char *content_type, u_char *body, size_t len);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_RESPONSE_H_INCLUDED_ */
