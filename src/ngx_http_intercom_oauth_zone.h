
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The shared-memory zone (intercom_oauth_zone): records under (client id,
 * realm, key) in LRU order, the nonces of used states until they expire, the
 * generated state secret and the counters.  Every worker sees the same
 * zone; it survives reloads.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_ZONE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_ZONE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


#define NGX_HTTP_INTERCOM_OAUTH_SECRET_LEN  32

/* token request latency histogram bounds in ms (+Inf after them) */
#define NGX_HTTP_INTERCOM_OAUTH_LATENCY_BUCKETS                               \
    50, 100, 250, 500, 1000, 2500, 5000, 10000
#define NGX_HTTP_INTERCOM_OAUTH_NBUCKETS  9


typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_CNT_CONNECT_PAGES = 0,
    NGX_HTTP_INTERCOM_OAUTH_CNT_CALLBACKS,
    NGX_HTTP_INTERCOM_OAUTH_CNT_CALLBACKS_OK,
    /* the callback's refusals (ngx_http_intercom_oauth_error.h) */
    NGX_HTTP_INTERCOM_OAUTH_CNT_INVALID_REQUEST,
    NGX_HTTP_INTERCOM_OAUTH_CNT_ACCESS_DENIED,
    NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_INVALID,
    NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_EXPIRED,
    NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_REPLAYED,
    NGX_HTTP_INTERCOM_OAUTH_CNT_NO_KEY,
    NGX_HTTP_INTERCOM_OAUTH_CNT_ZONE_FULL,
    NGX_HTTP_INTERCOM_OAUTH_CNT_SERVER_ERROR,
    /* token requests */
    NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_OK,
    NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_FAILED,
    NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_TIMEOUT,
    NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGE_MS,        /* sum of latencies */
    NGX_HTTP_INTERCOM_OAUTH_CNT_LATENCY,            /* first bucket */
    NGX_HTTP_INTERCOM_OAUTH_CNT_LATENCY_LAST =
        NGX_HTTP_INTERCOM_OAUTH_CNT_LATENCY + NGX_HTTP_INTERCOM_OAUTH_NBUCKETS
        - 1,
    /* the lifecycle */
    NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_STORED,
    NGX_HTTP_INTERCOM_OAUTH_CNT_EVICTIONS,
    NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_OK,
    NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_FAILED,
    NGX_HTTP_INTERCOM_OAUTH_CNT_DISCONNECTS,
    NGX_HTTP_INTERCOM_OAUTH_CNT_REVOKE_OK,
    NGX_HTTP_INTERCOM_OAUTH_CNT_REVOKE_FAILED,
    NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS,
    NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS_REFUSED,
    NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_DELETED,
    /* the store (intercom_oauth_store) */
    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_WRITES,
    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_READS,
    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_HITS,
    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_MISSES,
    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_ERRORS,
    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_UNAVAILABLE,
    NGX_HTTP_INTERCOM_OAUTH_CNT_MAX
} ngx_http_intercom_oauth_counter_e;


/*
 * The directive "intercom_oauth_zone NAME:SIZE" (http): registers the zone
 * in the main configuration.
 */
char *ngx_http_intercom_oauth_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Records a state's nonce as used, atomically under the zone's mutex, for
 * as long as a state "issued" then (seconds since the epoch) could be
 * accepted: "ttl" (seconds) or the longest ttl the zone has seen.  Used
 * states may fill at most half of the zone; within that half they evict
 * the least recently used tokens when memory is short, but only while
 * tokens hold more than the other half.  Returns NGX_OK when this is the
 * first use, NGX_DECLINED when the nonce was used already, NGX_BUSY when
 * there is no room for it even after expiring old ones.
 */
ngx_int_t ngx_http_intercom_oauth_zone_state_claim(ngx_shm_zone_t *shm_zone,
    u_char *nonce, time_t issued, time_t ttl);

/*
 * Forgets that the state of "nonce", issued at "issued", was used: it may
 * be claimed again.  Returns NGX_OK, or NGX_DECLINED when it was not
 * recorded (expired, or released already).
 */
ngx_int_t ngx_http_intercom_oauth_zone_state_release(ngx_shm_zone_t *shm_zone,
    u_char *nonce, time_t issued);

/*
 * Stores or replaces the record for (client_id, realm, key).  When the
 * zone is full the least recently used tokens are evicted to make room
 * (counted and logged).  Returns NGX_OK, or NGX_ERROR when it cannot fit
 * at all.
 */
ngx_int_t ngx_http_intercom_oauth_zone_token_put(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key,
    ngx_http_intercom_oauth_record_t *rec);

/*
 * Copies the record for (client_id, realm, key) into "pool" and marks it
 * recently used; with "stored", also tells when it was put in the zone
 * (seconds since the epoch).  Pass pool NULL to only test for presence.
 * Returns NGX_OK, NGX_DECLINED when there is none, NGX_ERROR on
 * allocation failure.
 */
ngx_int_t ngx_http_intercom_oauth_zone_token_get(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key, ngx_pool_t *pool,
    ngx_http_intercom_oauth_record_t *rec, time_t *stored);

/*
 * Removes the record for (client_id, realm, key).  Returns NGX_OK, or
 * NGX_DECLINED when there was none.
 */
ngx_int_t ngx_http_intercom_oauth_zone_token_delete(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key);

/*
 * Remembers that the store has no token for (client_id, realm, key), now
 * (intercom_oauth_store_miss_ttl): an entry of the tokens' table without a
 * value, which no token lookup sees; in free room only, never evicting a
 * token.  Returns NGX_OK, NGX_DECLINED when a token is there, NGX_ERROR
 * when there is no room.
 */
ngx_int_t ngx_http_intercom_oauth_zone_miss_put(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key);

/*
 * NGX_OK and when ("when") the store was last found without a token for
 * (client_id, realm, key), or NGX_DECLINED.
 */
ngx_int_t ngx_http_intercom_oauth_zone_miss_get(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key, time_t *when);

/*
 * Removes every record of client_id, in every realm, whose workspace is
 * workspace_id (the uninstall webhook: the workspace removed the app, so
 * none of its tokens is any good); walks all tokens under the mutex.
 * Returns how many.
 */
ngx_uint_t ngx_http_intercom_oauth_zone_workspace_delete(
    ngx_shm_zone_t *shm_zone, ngx_str_t *client_id, ngx_str_t *workspace_id);

/*
 * Copies into "pool" the token of one record of client_id whose workspace
 * is workspace_id (the uninstall notification asks Intercom about it).
 * Returns NGX_OK, NGX_DECLINED when the zone holds none, NGX_ERROR on
 * allocation failure.  The caller wipes the copy.
 */
ngx_int_t ngx_http_intercom_oauth_zone_workspace_token(
    ngx_shm_zone_t *shm_zone, ngx_str_t *client_id, ngx_str_t *workspace_id,
    ngx_pool_t *pool, ngx_str_t *token);

/* Adds a token request's latency (ms) to the histogram and its sum. */
void ngx_http_intercom_oauth_zone_latency(ngx_shm_zone_t *shm_zone,
    ngx_msec_t ms);

/* Bytes of the zone's pool in use and free (whole pages). */
void ngx_http_intercom_oauth_zone_bytes(ngx_shm_zone_t *shm_zone,
    size_t *used, size_t *free);

/*
 * Points "secret" at the zone's generated state secret
 * (NGX_HTTP_INTERCOM_OAUTH_SECRET_LEN bytes, constant for the zone's life).
 */
void ngx_http_intercom_oauth_zone_secret(ngx_shm_zone_t *shm_zone,
    ngx_str_t *secret);

/* Adds n to a counter; lock-free. */
void ngx_http_intercom_oauth_zone_count_n(ngx_shm_zone_t *shm_zone,
    ngx_http_intercom_oauth_counter_e counter, ngx_uint_t n);

#define ngx_http_intercom_oauth_zone_count(shm_zone, counter)                \
    ngx_http_intercom_oauth_zone_count_n(shm_zone, counter, 1)

/* Reads a counter. */
ngx_atomic_uint_t ngx_http_intercom_oauth_zone_counter(
    ngx_shm_zone_t *shm_zone, ngx_http_intercom_oauth_counter_e counter);

/* Number of tokens held now. */
ngx_uint_t ngx_http_intercom_oauth_zone_tokens(ngx_shm_zone_t *shm_zone);

/* Number of used states held now (not yet expired or released). */
ngx_uint_t ngx_http_intercom_oauth_zone_states(ngx_shm_zone_t *shm_zone);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_ZONE_H_INCLUDED_ */
