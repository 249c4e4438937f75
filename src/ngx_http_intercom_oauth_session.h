
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The browser session: a cookie holding 128 random bits, base64url, that
 * states and (by default) tokens are bound to.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SESSION_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SESSION_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/* 16 random bytes in base64url without padding */
#define NGX_HTTP_INTERCOM_OAUTH_SESSION_BYTES  16
#define NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN    22

#define NGX_HTTP_INTERCOM_OAUTH_COOKIE         "intercom_oauth_sid"
#define NGX_HTTP_INTERCOM_OAUTH_COOKIE_ATTRS                                  \
    "Path=/; Secure; HttpOnly; SameSite=Lax"


/*
 * The directive "intercom_oauth_session_cookie NAME [ATTRIBUTES]": the
 * name must be an RFC 6265 token; attributes without Secure, or with
 * SameSite=Strict (which breaks every callback), draw a warning.
 */
char *ngx_http_intercom_oauth_session_cookie(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


/*
 * Reads the session cookie into ctx->session_id (empty when absent,
 * repeated with different values, or not 22 base64url characters; the
 * reason is logged at "info").  Idempotent within a request.  Returns
 * NGX_OK, or NGX_ERROR on allocation failure.
 */
ngx_int_t ngx_http_intercom_oauth_session_get(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx);

/*
 * Makes sure the request has a session: reads the cookie, or mints a new id
 * with RAND_bytes and adds a Set-Cookie header with the configured name and
 * attributes.  Returns NGX_OK or NGX_ERROR (allocation or RAND_bytes
 * failure, logged).
 */
ngx_int_t ngx_http_intercom_oauth_session_ensure(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx);


/*
 * Replaces the request's session with a new one (RAND_bytes) and adds its
 * Set-Cookie.  The callback does it before storing a token, so that a
 * session id planted in the browser beforehand (session fixation) holds
 * nothing.  Returns NGX_OK or NGX_ERROR (logged).
 */
ngx_int_t ngx_http_intercom_oauth_session_rotate(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SESSION_H_INCLUDED_ */
