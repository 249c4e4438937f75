
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The OAuth callback: the browser comes back from Intercom with
 * ?code=..&state=.. (or ?error=..); the module checks the state, exchanges
 * the code for an access token, saves it and redirects.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_CALLBACK_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_CALLBACK_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * Content handler of "intercom_oauth_callback".  GET and HEAD read the
 * query string, POST an application/x-www-form-urlencoded body (at most
 * NGX_HTTP_INTERCOM_OAUTH_MAX_BODY bytes); other methods get 405.
 * Outcomes (docs/directives.md, "Errors"): 302 to the return_to or
 * success URI, or a refusal of the error table
 * (ngx_http_intercom_oauth_error.h).  With intercom_oauth_error_uri a
 * refusal is a 302 there with ?error=CODE instead.
 */
ngx_int_t ngx_http_intercom_oauth_callback_handler(ngx_http_request_t *r);

/*
 * A callback location's merge: warns when the token URL is plain http
 * (the client secret and the code would travel in the clear).
 */
char *ngx_http_intercom_oauth_callback_merge(ngx_conf_t *cf, void *conf);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_CALLBACK_H_INCLUDED_ */
