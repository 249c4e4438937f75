
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The one API handlers keep tokens and used states through: the zone
 * first (this host), and the store behind it when intercom_oauth_store is
 * configured (every host).  Nothing here blocks: where the store must
 * answer first, the request waits and goes on in a continuation.
 *
 * A continuation receives the outcome and returns what the request is
 * finalized with; when the outcome is known at once, the function that
 * was called returns the continuation's result itself, so a caller
 * always writes "return ngx_http_intercom_oauth_storage_...(r, ..., next)".
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_STORAGE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_STORAGE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"
#include "ngx_http_intercom_oauth_state.h"


/* what claiming a state came to */
typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_CLAIMED = 0,       /* its first use anywhere */
    NGX_HTTP_INTERCOM_OAUTH_CLAIM_USED,        /* used before, here */
    NGX_HTTP_INTERCOM_OAUTH_CLAIM_USED_ELSEWHERE,
    NGX_HTTP_INTERCOM_OAUTH_CLAIM_NO_ROOM,     /* the zone is full */
    NGX_HTTP_INTERCOM_OAUTH_CLAIM_UNREACHABLE, /* the store is not
                                                  connected */
    NGX_HTTP_INTERCOM_OAUTH_CLAIM_UNCHECKED    /* the store did not say */
} ngx_http_intercom_oauth_claim_e;


/*
 * Receives an outcome (NGX_HTTP_INTERCOM_OAUTH_CLAIM* or NGX_OK / NGX_BUSY
 * / NGX_ERROR, as each function says) and returns what the request is
 * finalized with, or NGX_DONE when it waits again.
 */
typedef ngx_int_t (*ngx_http_intercom_oauth_storage_next_pt)(
    ngx_http_request_t *r, ngx_int_t outcome);


/*
 * Claims the state "st" for its single use, for as long as any callback
 * location of this configuration could accept it.  "next" receives an
 * ngx_http_intercom_oauth_claim_e.
 */
ngx_int_t ngx_http_intercom_oauth_storage_state_claim(ngx_http_request_t *r,
    ngx_http_intercom_oauth_state_t *st,
    ngx_http_intercom_oauth_storage_next_pt next);

/*
 * Releases the state "st" that this request claimed: it may be claimed
 * again, here and on every host.  For a state whose code the token
 * endpoint refused, or whose exchange was given up before the endpoint
 * answered.  The zone forgets it at once, the store without waiting.
 * Allocates nothing from r->pool: it may run in a cleanup of that pool.
 */
void ngx_http_intercom_oauth_storage_state_release(ngx_http_request_t *r,
    ngx_http_intercom_oauth_state_t *st);

/*
 * Keeps "rec" under "key" of the location's client id and realm: in the
 * zone, then in the store, whose copy every host reads.  "replaced" (NULL
 * or empty: none) is the session id the callback replaced: once the new
 * token is kept, the tokens of that id, of every client id of the
 * configuration in this realm, are deleted (counted as deleted tokens);
 * with a store, in the same atomic write.  "next" receives NGX_OK,
 * NGX_BUSY (the zone has no room) or NGX_ERROR (the store did not take
 * it: nothing is kept, not even in the zone, and the replaced session
 * keeps its tokens).
 */
ngx_int_t ngx_http_intercom_oauth_storage_token_put(ngx_http_request_t *r,
    ngx_str_t *key, ngx_http_intercom_oauth_record_t *rec,
    ngx_str_t *replaced, ngx_http_intercom_oauth_storage_next_pt next);

/*
 * The record of "key" of the location's client id and realm, copied into
 * "pool" (pool NULL: only whether there is one).  The zone answers: a
 * record only in the store was loaded in the rewrite phase.  Returns
 * NGX_OK, NGX_DECLINED (none) or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_storage_token_get(ngx_http_request_t *r,
    ngx_str_t *key, ngx_pool_t *pool, ngx_http_intercom_oauth_record_t *rec);

/*
 * Forgets the token of "key" (the location's client id and realm): in the
 * store (without waiting) and in the zone.  Returns NGX_OK when the zone
 * had it, NGX_DECLINED otherwise.
 */
ngx_int_t ngx_http_intercom_oauth_storage_token_delete(ngx_http_request_t *r,
    ngx_str_t *key);

/*
 * Forgets every token of the workspace for the location's client id, in
 * every realm: in the zone and (without waiting) in the store.  Returns
 * how many the zone held.
 */
ngx_uint_t ngx_http_intercom_oauth_storage_workspace_delete(
    ngx_http_request_t *r, ngx_str_t *workspace_id);

/*
 * One token of the workspace, into the request context's record.token
 * (r->pool; the caller wipes it): the zone's, or when the zone has none
 * and a store is configured, one the store holds.  "next" receives
 * NGX_OK, NGX_DECLINED (none stored) or NGX_ERROR (the store did not
 * answer; logged).
 */
ngx_int_t ngx_http_intercom_oauth_storage_workspace_token(
    ngx_http_request_t *r, ngx_str_t *workspace_id,
    ngx_http_intercom_oauth_storage_next_pt next);

/*
 * Forgets every token of the workspace in the zone and, when a store is
 * configured, in the store, waiting for its answer.  "next" receives
 * NGX_OK or NGX_ERROR (the store did not delete them; logged); the
 * request context's "deleted" says how many tokens went: the zone's
 * count, or the store's when it is larger (the zone holds only this
 * host's copies).
 */
ngx_int_t ngx_http_intercom_oauth_storage_workspace_forget(
    ngx_http_request_t *r, ngx_str_t *workspace_id,
    ngx_http_intercom_oauth_storage_next_pt next);

/*
 * The phase handler that loads a token from the store: when one is
 * configured, the location has a client id and no handler of the module
 * other than one that needs the token, and the zone's copy of the
 * request's key is missing or older than intercom_oauth_store_cache_ttl,
 * it reads the store.  In the rewrite phase, before any variable is
 * evaluated; in the access phase (the guard under "satisfy any") and the
 * precontent phase again, only when the key has changed since.  Main
 * requests only.  Returns NGX_DECLINED to go on now, or NGX_DONE while
 * the request waits (the phase's handler runs again afterwards).
 */
ngx_int_t ngx_http_intercom_oauth_storage_token_load(ngx_http_request_t *r);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_STORAGE_H_INCLUDED_ */
