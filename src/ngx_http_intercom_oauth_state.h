
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The OAuth "state": a self-contained, signed value that ties an
 * authorization request to one browser session and one client id.
 *
 *   state = base64url(version | issued-at | nonce | return_to | mac)
 *
 *   version     1 byte, 1; 0x81 for a state minted for an install that
 *               started at Intercom's App Store (the high bit is a flag
 *               under the MAC, like return_to)
 *   issued-at   8 bytes, seconds since the epoch, big-endian
 *   nonce       16 bytes from RAND_bytes; the single-use key in the zone
 *   return_to   2-byte big-endian length, then that many bytes (may be 0)
 *   mac         HMAC-SHA256(secret, everything above | session id |
 *               client id), first 16 bytes
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_STATE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_STATE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


#define NGX_HTTP_INTERCOM_OAUTH_STATE_VERSION     1
#define NGX_HTTP_INTERCOM_OAUTH_STATE_APPSTORE    0x80
#define NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN         16
#define NGX_HTTP_INTERCOM_OAUTH_MAC_LEN           16
#define NGX_HTTP_INTERCOM_OAUTH_HMAC_LEN          32      /* SHA-256 */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_RETURN_TO     512

/* the longest state the callback looks at, in base64url characters */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_STATE         1024


typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_STATE_OK = 0,
    NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED,
    NGX_HTTP_INTERCOM_OAUTH_STATE_BAD_MAC,
    NGX_HTTP_INTERCOM_OAUTH_STATE_EXPIRED
} ngx_http_intercom_oauth_state_rc_e;


struct ngx_http_intercom_oauth_state_s {
    u_char                      nonce[NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN];
    time_t                      issued;      /* seconds */
    ngx_str_t                   return_to;   /* points into r->pool */
    ngx_uint_t                  appstore;    /* an App Store install */
};


/*
 * Mints a state for the session and client id, signed with "secret".
 * "return_to" may be empty; a non-empty one must have passed
 * ngx_http_intercom_oauth_return_to_valid().  "appstore" marks an install
 * that started at Intercom's App Store.  The result is allocated from
 * r->pool.  Returns NGX_OK or NGX_ERROR (allocation or RAND_bytes failure).
 */
ngx_int_t ngx_http_intercom_oauth_state_mint(ngx_http_request_t *r,
    ngx_str_t *secret, ngx_str_t *session_id, ngx_str_t *client_id,
    ngx_str_t *return_to, ngx_uint_t appstore, ngx_str_t *state);

/*
 * Checks a state received at the callback: its form, its MAC against the
 * session id and client id (constant-time compare), and that it was issued
 * no more than "ttl" seconds ago (and not in the future).  Fills "out" on
 * success.  Does not record the state as used: the caller does that in the
 * zone.  Returns a ngx_http_intercom_oauth_state_rc_e value.
 */
ngx_int_t ngx_http_intercom_oauth_state_verify(ngx_pool_t *pool,
    ngx_str_t *secret, ngx_str_t *session_id, ngx_str_t *client_id,
    time_t ttl, time_t now, ngx_str_t *state,
    ngx_http_intercom_oauth_state_t *out);

/*
 * Tells whether "uri" may be used as a return_to: a relative path that
 * starts with a single "/", printable ASCII without "\", at most
 * NGX_HTTP_INTERCOM_OAUTH_MAX_RETURN_TO bytes.  Anything else could send the
 * browser to another site.  Returns 1 or 0.
 */
/*
 * HMAC-SHA256 of "data" with "secret" (the state secret) into "md"
 * (NGX_HTTP_INTERCOM_OAUTH_HMAC_LEN bytes), with a keyed context each
 * process keeps per secret: the state's MAC, and the MAC of the session
 * cookie's "<name>_prev".
 */
ngx_int_t ngx_http_intercom_oauth_state_hmac(ngx_str_t *secret, u_char *data,
    size_t len, u_char *md);

ngx_uint_t ngx_http_intercom_oauth_return_to_valid(ngx_str_t *uri);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_STATE_H_INCLUDED_ */
