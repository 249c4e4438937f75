
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The browser session: a cookie holding 128 random bits, base64url, that
 * states and (by default) tokens are bound to, and its companion
 * "<name>_prev", which names the session ids a callback replaced so that a
 * second tab's flow, begun under the replaced id, still completes.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SESSION_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SESSION_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/* 16 random bytes in base64url without padding */
#define NGX_HTTP_INTERCOM_OAUTH_SESSION_BYTES  16
#define NGX_HTTP_INTERCOM_OAUTH_SESSION_LEN    22

/*
 * The default name: with the default attributes, which allow it, the
 * "__Host-" one, which no sibling subdomain and no plain-HTTP answer can
 * set in the browser.
 */
#define NGX_HTTP_INTERCOM_OAUTH_COOKIE         "intercom_oauth_sid"
#define NGX_HTTP_INTERCOM_OAUTH_COOKIE_HOST    "__Host-intercom_oauth_sid"
#define NGX_HTTP_INTERCOM_OAUTH_COOKIE_ATTRS                                  \
    "Path=/; Secure; HttpOnly; SameSite=Lax"

/* the suffix of the replaced ids' cookie, and how many ids it lists */
#define NGX_HTTP_INTERCOM_OAUTH_COOKIE_PREV    "_prev"
#define NGX_HTTP_INTERCOM_OAUTH_PREV_IDS       4


/*
 * The directive "intercom_oauth_session_cookie NAME [ATTRIBUTES]": the
 * name must be an RFC 6265 token; a "__Secure-" name needs Secure and a
 * "__Host-" name Secure, Path=/ and no Domain, or browsers refuse the
 * cookie (an error); attributes without Secure, or with SameSite=Strict
 * (which breaks every callback), draw a warning.
 */
char *ngx_http_intercom_oauth_session_cookie(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * Merges the cookie's name and attributes: inherited, or the default
 * name for the default attributes.  Returns NGX_CONF_OK or
 * NGX_CONF_ERROR.
 */
char *ngx_http_intercom_oauth_session_merge(ngx_conf_t *cf,
    ngx_http_intercom_oauth_loc_conf_t *prev,
    ngx_http_intercom_oauth_loc_conf_t *conf);


/*
 * The session id without a request context, when reading it takes none
 * of session_get()'s rules: no cookie of the name (id empty), or one
 * well-formed id, sent once or each time the same.  Returns NGX_OK, or
 * NGX_DECLINED when it takes them (ids malformed, or that differ):
 * session_get() then decides, and logs.
 */
ngx_int_t ngx_http_intercom_oauth_session_plain(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *id);

/*
 * Reads the session cookie into ctx->session_id.  A browser may send the
 * name more than once (a cookie of a sibling domain or another path): the
 * session is the first well-formed id (22 base64url characters) that holds
 * a token in this host's zone for the location's client id and realm,
 * else the first well-formed one; none when none is well-formed.  The
 * reason is logged at "info".  Idempotent within a request.  Returns
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
 * Reads "<name>_prev" into ctx->session_prev: the ids it lists ("id.id"),
 * when its MAC under "secret" binds them to ctx->session_id; empty
 * otherwise (a forged or foreign value is logged at "info").  Returns
 * NGX_OK, or NGX_ERROR (allocation or HMAC failure).
 */
ngx_int_t ngx_http_intercom_oauth_session_prev(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx, ngx_str_t *secret);

/*
 * The i-th id of ctx->session_prev in "id".  Returns NGX_OK, or
 * NGX_DECLINED when it lists fewer.
 */
ngx_int_t ngx_http_intercom_oauth_session_prev_id(
    ngx_http_intercom_oauth_ctx_t *ctx, ngx_uint_t i, ngx_str_t *id);

/*
 * Gives the request a new session id (RAND_bytes) and remembers the one
 * it replaces in ctx->session_replaced; nothing is sent yet.  The callback
 * does it before storing a token, so that a session id planted in the
 * browser beforehand (session fixation) holds nothing.  Returns NGX_OK or
 * NGX_ERROR (logged).
 */
ngx_int_t ngx_http_intercom_oauth_session_rotate(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx);

/*
 * Sends the rotated session once its token is kept: a Set-Cookie with the
 * new id, and one of "<name>_prev" with the same attributes, lasting
 * "ttl" seconds (the states' lifetime), that lists the replaced id and
 * the ids of a valid "_prev" the browser sent (at most
 * NGX_HTTP_INTERCOM_OAUTH_PREV_IDS in all), bound to the new id by an
 * HMAC under "secret".  Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_session_commit(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_http_intercom_oauth_ctx_t *ctx, ngx_str_t *secret, time_t ttl);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SESSION_H_INCLUDED_ */
