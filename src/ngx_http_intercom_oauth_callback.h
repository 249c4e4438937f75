
/*
 * The OAuth callback: the browser comes back from Intercom with
 * ?code=..&state=.. (or ?error=..); the module checks the state, exchanges
 * the code for an access token, stores it and redirects.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_CALLBACK_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_CALLBACK_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * Content handler of "intercom_oauth_callback".  GET and HEAD read the
 * query string, POST an application/x-www-form-urlencoded body (at most
 * NGX_HTTP_INTERCOM_OAUTH_MAX_BODY bytes); other methods get 405.
 * Outcomes (README "Errors"): 302 to the return_to or success URI;
 * 400 invalid_request, 413 invalid_request (body too large),
 * 403 access_denied / state_invalid / state_expired / state_replayed /
 * no_key, 503 zone_full, 502 exchange_failed, 504 exchange_timeout,
 * 500 server_error.  With intercom_oauth_error_uri a failure is a 302 there
 * with ?error=CODE instead.
 */
ngx_int_t ngx_http_intercom_oauth_callback_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_CALLBACK_H_INCLUDED_ */
