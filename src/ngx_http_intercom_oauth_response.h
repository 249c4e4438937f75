
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * How the handlers answer: building a redirect target, Cache-Control,
 * redirecting, and sending a body.
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
 * "uri" with the "n" arguments added to its query string (begun with "?",
 * or continued with "&" when it has one), into "out" from "pool".
 * Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_uri_args(ngx_pool_t *pool, ngx_str_t *uri,
    ngx_http_intercom_oauth_arg_t *args, ngx_uint_t n, ngx_str_t *out);

/*
 * Where an install that started at Intercom's App Store ends: the App
 * Store's redirect page on the host of "authorize_url" (the region's),
 * "/appstore/redirect?install_success=true", or with "error" (a refusal's
 * code) "?install_success=false&error_message=...".  Into "out" from
 * "pool"; returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_appstore_target(ngx_pool_t *pool,
    ngx_str_t *authorize_url, ngx_str_t *error, ngx_str_t *out);

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
