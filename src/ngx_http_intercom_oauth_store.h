
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The store: records and used states in Redis, shared by several hosts.
 * Handlers do not call it: the storage (ngx_http_intercom_oauth_storage.h)
 * puts it behind the zone.
 *
 * Keys:  <prefix>token:<client id>:<key name>     sealed record
 *        <prefix>token:<client id>:<key name>:ws  its workspace set's name
 *        <prefix>state:<nonce, hex>                "1", PX = state ttl
 *        <prefix>workspace:<client id>:<app id>    set of token keys
 *
 * The key name is the hex HMAC-SHA256 of "<client id>\0<realm>\0<key>"
 * ("<client id>:<key>" in the empty realm) under a key derived from
 * intercom_oauth_store_key: session ids never appear in Redis.  A record
 * (ngx_http_intercom_oauth_record.h) is sealed
 * (ngx_http_intercom_oauth_seal.h) with its own Redis key as additional
 * authenticated data: a value copied under another key does not open.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_STORE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_STORE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * What a command the request waits for came to: NGX_OK (written, found,
 * claimed), NGX_DECLINED (not found, claimed before), NGX_ERROR (Redis
 * down, slow, or refused; logged already).
 */
typedef void (*ngx_http_intercom_oauth_store_reply_pt)(ngx_http_request_t *r,
    ngx_int_t rc);


/*
 * The post handler of "intercom_oauth_store_key file:PATH | env:NAME":
 * derives the sealing key (SHA-256 of the secret) and the key that names
 * Redis keys, then wipes the secret.
 */
char *ngx_http_intercom_oauth_store_key(ngx_conf_t *cf, void *post,
    void *data);

/*
 * The directive "intercom_oauth_store_wait REPLICAS [TIMEOUT]" (http):
 * after a token write, WAIT for that many replicas (default timeout 1s).
 */
char *ngx_http_intercom_oauth_store_wait_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * Claims a state once for all hosts: SET <state key> 1 NX PX ttl_ms.
 * Returns NGX_AGAIN ("reply" will be called) or NGX_ERROR (Redis not
 * connected; logged).
 */
ngx_int_t ngx_http_intercom_oauth_store_state_claim(ngx_http_request_t *r,
    u_char *nonce, ngx_msec_t ttl_ms,
    ngx_http_intercom_oauth_store_reply_pt reply);

/*
 * Forgets a state's claim for all hosts: DEL <state key>, without waiting
 * for the answer; a failure is logged.  Allocates nothing from r->pool:
 * it may run in a cleanup of that pool.  Returns NGX_OK or NGX_ERROR (not
 * sent).
 */
ngx_int_t ngx_http_intercom_oauth_store_state_release(ngx_http_request_t *r,
    u_char *nonce);

/*
 * Seals "rec" and writes it under (client_id, realm, key); with an
 * identity, the key also joins its workspace's set.  With "replaced" (a
 * session id the callback replaced; NULL or empty: none), the same
 * atomic write deletes that key's tokens of every client id of the
 * configuration in this realm, and ctx->store_deleted says how many there
 * were.  Returns NGX_AGAIN ("reply" will be called) or NGX_ERROR (not
 * connected, or sealing failed; logged).
 */
ngx_int_t ngx_http_intercom_oauth_store_token_put(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key,
    ngx_http_intercom_oauth_record_t *rec, ngx_str_t *replaced,
    ngx_http_intercom_oauth_store_reply_pt reply);

/*
 * Reads the record of (client_id, realm, key) into the request context's
 * "record" (its strings in r->pool; the caller wipes the token).  Returns
 * NGX_AGAIN ("reply" will be called) or NGX_ERROR (not connected; logged).
 */
ngx_int_t ngx_http_intercom_oauth_store_token_get(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key,
    ngx_http_intercom_oauth_store_reply_pt reply);

/*
 * Deletes the token of (client_id, realm, key) in Redis without waiting
 * for the answer; a failure is logged.  Returns NGX_OK or NGX_ERROR (not
 * sent).
 */
ngx_int_t ngx_http_intercom_oauth_store_token_delete(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key);

/*
 * Reads the record of one token of the workspace (the uninstall webhook
 * asks Intercom about it) into the request context's "record" (its
 * strings in r->pool; the caller wipes the token); index entries of keys
 * that moved to another workspace are dropped on the way.  Returns
 * NGX_AGAIN ("reply" will be called with NGX_OK, NGX_DECLINED: none, or
 * NGX_ERROR) or NGX_ERROR (not connected; logged).
 */
ngx_int_t ngx_http_intercom_oauth_store_workspace_token(
    ngx_http_request_t *r, ngx_str_t *client_id, ngx_str_t *workspace_id,
    ngx_http_intercom_oauth_store_reply_pt reply);

/*
 * Deletes every token of a workspace.  With "reply" NULL (disconnect) it
 * does not wait for the answer: returns NGX_OK or NGX_ERROR (not sent; a
 * failure that comes later is logged and counted).  With "reply" (the
 * uninstall webhook) it returns NGX_AGAIN, and "reply" receives NGX_OK
 * with the request context's "store_deleted" set to how many tokens went,
 * or NGX_ERROR (logged); or it returns NGX_ERROR (not connected; logged).
 */
ngx_int_t ngx_http_intercom_oauth_store_workspace_delete(
    ngx_http_request_t *r, ngx_str_t *client_id, ngx_str_t *workspace_id,
    ngx_http_intercom_oauth_store_reply_pt reply);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_STORE_H_INCLUDED_ */
