
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Withholding the callback's code and state from what nginx logs and from
 * the Referer of the next page, before any module can log or answer the
 * request: limit_req, allow/deny, auth_request and the guard run after
 * the post-read phase.  A code that was refused before its exchange is
 * still valid at Intercom, and anyone who reads it in a log could redeem
 * it in their own session.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_WITHHOLD_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_WITHHOLD_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * Remembers, in the server's configuration, the location being parsed as
 * one with intercom_oauth_callback: exact, prefix and regular expression
 * locations (a named location has no URI of its own).
 */
ngx_int_t ngx_http_intercom_oauth_withhold_add(ngx_conf_t *cf);

/*
 * The post-read phase handler.  A request for one of the server's
 * callback locations gets the query of its request line (what $request,
 * the combined access log and the error log's "request:" show) replaced
 * by "[oauth arguments withheld]"; any other request whose arguments
 * carry "state" with "code" or "error" gets the values of its "code" and
 * "state" arguments withheld.  Both get "Referrer-Policy: no-referrer".
 * $args, $request_uri and $arg_* are left as they are: the callback reads
 * them.  Returns NGX_DECLINED, or 500 when out of memory.
 */
ngx_int_t ngx_http_intercom_oauth_withhold_handler(ngx_http_request_t *r);

/*
 * The same, in the log phase, for requests that never reached the
 * post-read phase: nginx refused them while reading their headers (a
 * header or cookie too large, a client that timed out), and logs their
 * request line in the access log.  Registered first, so that it runs
 * before the log module.  Always NGX_OK.
 */
ngx_int_t ngx_http_intercom_oauth_withhold_log_handler(ngx_http_request_t *r);

/*
 * Replaces the whole query of r's request line, as the post-read handler
 * does for a callback location; the callback handler does it again for a
 * request that reached it in another way (a rewrite, an error_page).
 */
ngx_int_t ngx_http_intercom_oauth_withhold_line(ngx_http_request_t *r);

/* whether "args" carry "state" with "code" or "error" (names in any case) */
ngx_uint_t ngx_http_intercom_oauth_withhold_args(ngx_str_t *args);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_WITHHOLD_H_INCLUDED_ */
