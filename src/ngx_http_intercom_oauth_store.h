
/*
 * The store: tokens and used states in Redis, shared by several hosts.
 *
 * Keys:  <prefix>token:<client id>:<key name>     sealed record
 *        <prefix>state:<nonce, hex>                "1", PX = state ttl
 *        <prefix>workspace:<client id>:<app id>    set of token keys
 *
 * The key name is the hex HMAC-SHA256 of "<client id>:<key>" under a key
 * derived from intercom_oauth_store_key: session ids never appear in Redis.
 *
 * A record is sealed with AES-256-GCM under intercom_oauth_store_key with
 * a random 96-bit IV and its own Redis key as additional authenticated
 * data: 0x01 | IV (12) | ciphertext | tag (16).  A value copied under
 * another key does not open.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_STORE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_STORE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"
#include "ngx_http_intercom_oauth_redis.h"
#include "ngx_http_intercom_oauth_zone.h"


/*
 * What a store operation came to: NGX_OK (written, found, claimed),
 * NGX_DECLINED (not found, claimed before), NGX_ERROR (Redis down, slow,
 * or refused; logged already).
 */
typedef void (*ngx_http_intercom_oauth_store_done_pt)(ngx_http_request_t *r,
    ngx_int_t rc);


/*
 * Claims a state once for all hosts: SET <state key> 1 NX PX ttl_ms.
 * Returns NGX_AGAIN ("done" will be called) or NGX_ERROR (Redis not
 * connected; logged).
 */
ngx_int_t ngx_http_intercom_oauth_store_state_claim(ngx_http_request_t *r,
    u_char *nonce, ngx_msec_t ttl_ms,
    ngx_http_intercom_oauth_store_done_pt done);

/*
 * Seals "rec" and writes it under (client_id, key); with an identity, the
 * key also joins its workspace's set.  Returns NGX_AGAIN ("done" will be
 * called) or NGX_ERROR (not connected, or sealing failed; logged).
 */
ngx_int_t ngx_http_intercom_oauth_store_token_put(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *key,
    ngx_http_intercom_oauth_record_t *rec,
    ngx_http_intercom_oauth_store_done_pt done);

/*
 * Deletes the token of (client_id, key) in Redis without waiting for the
 * answer; a failure is logged.  Returns NGX_OK or NGX_ERROR (not sent).
 */
ngx_int_t ngx_http_intercom_oauth_store_token_delete(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *key);

/*
 * Deletes every token of a workspace (the uninstall webhook) without
 * waiting for the answer.  Returns NGX_OK or NGX_ERROR (not sent).
 */
ngx_int_t ngx_http_intercom_oauth_store_workspace_delete(
    ngx_http_request_t *r, ngx_str_t *client_id, ngx_str_t *workspace_id);

/*
 * The rewrite-phase handler that loads a token: when a store is configured,
 * the location has a client id, the request has a key and the zone has no
 * token for it, reads the token from Redis into the zone before any
 * variable is evaluated.  Returns NGX_DECLINED to go on now, or NGX_DONE
 * when the request waits (the phases are resumed when Redis answers, fails
 * or the command times out).
 */
ngx_int_t ngx_http_intercom_oauth_store_load(ngx_http_request_t *r);

/*
 * Seals "plain" into "out" (from pool) with "key" (32 bytes) and "aad".
 * Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_store_seal(ngx_pool_t *pool, u_char *key,
    ngx_str_t *aad, ngx_str_t *plain, ngx_str_t *out);

/*
 * Opens a sealed value; NGX_DECLINED when it is malformed, was sealed under
 * another store key or for another Redis key, or was altered.
 */
ngx_int_t ngx_http_intercom_oauth_store_open(ngx_pool_t *pool, u_char *key,
    ngx_str_t *aad, ngx_str_t *in, ngx_str_t *plain);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_STORE_H_INCLUDED_ */
