
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The shared-memory zone, after ngx_http_limit_req_module: a slab pool, all
 * work under the pool's mutex, tokens and used states in one hash table,
 * used states also in a queue in the order they were used and expired on
 * insert, tokens evicted, least recently used first, when the pool is
 * full.
 *
 * Tokens are not in a tree: with a million of them a lookup walked some
 * twenty nodes spread over the zone, a cache and TLB miss each, and moving
 * the token to the head of an LRU queue wrote to two more cold nodes; the
 * lookup cost much more CPU than with a thousand tokens (bench/RESULTS.md,
 * "Scale").  A chain of a hash table and the CLOCK approximation of LRU (a
 * lookup sets a bit in the token it read; eviction gives such tokens a
 * second chance) touch one or two nodes.  Used states were in a tree
 * too, ordered by the time they were issued: every callback walked it
 * twice (the check for a second use, the insert), and with the states of
 * a busy ten minutes that walk was the callback's largest cost in the
 * module on a real CPU (5.8 % of the worker's cycles under perf, nearly
 * all of it waiting for the nodes' cache lines).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "ngx_http_intercom_oauth_record.h"
#include "ngx_http_intercom_oauth_siphash.h"
#include "ngx_http_intercom_oauth_state.h"
#include "ngx_http_intercom_oauth_zone.h"


/*
 * longest "client id \0 realm \0 key" the zone stores, in bytes: the
 * longest of each (256, 256 and 512) and the two separators
 */
#define NGX_HTTP_INTERCOM_OAUTH_ZONE_MAX_KEY  1026

/* expired states removed per insert when the zone is not under pressure */
#define NGX_HTTP_INTERCOM_OAUTH_ZONE_EXPIRE   8

/* tokens one eviction may send back to the head of the queue (CLOCK) */
#define NGX_HTTP_INTERCOM_OAUTH_ZONE_SPARE    64

/* the hash table: one bucket per this many bytes of the zone */
#define NGX_HTTP_INTERCOM_OAUTH_ZONE_BUCKET   512

/*
 * marks a zone made by this layout, so that a reload never misreads one;
 * builds against OpenSSL 1.1 hashed token keys with CRC32 before they
 * hashed them with SipHash-2-4 as OpenSSL 3 builds did; both now hash
 * with SipHash-1-3, which finds no token a 2-4 zone holds
 */
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
#define NGX_HTTP_INTERCOM_OAUTH_ZONE_LAYOUT   0x494f417a6f6e6537
#else
#define NGX_HTTP_INTERCOM_OAUTH_ZONE_LAYOUT   0x494f417a6f6e6538
#endif


/*
 * A used state.  It sits in the tokens' hash table: "next", "hash" and
 * "len" are where a token has them, and "len" is 0, which no token's key
 * ("client_id \0 realm \0 key", two bytes at least) has, so that a token
 * lookup passes over states and a state lookup over tokens.  "newer" and
 * "older" link the queue of used states, oldest first, as offsets like
 * "next": 48 bytes on a 64-bit system, a chunk of the slab allocator's
 * 64-byte class as the tree's node was.  Anyone can spend states: they
 * must stay small.
 */

typedef struct {
    uint32_t                         next;
    uint32_t                         hash;
    u_short                          len;         /* 0: a state */
    uint32_t                         newer;
    uint32_t                         older;
    time_t                           issued;
    u_char                           nonce[NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN];
} ngx_http_intercom_oauth_node_t;


#define NGX_HTTP_INTERCOM_OAUTH_ZONE_STATE_SIZE                               \
    sizeof(ngx_http_intercom_oauth_node_t)


/*
 * A token.  "data" holds "client_id \0 realm \0 key" then the record
 * (ngx_http_intercom_oauth_record.h).  "next"
 * chains a bucket of the hash table: an offset from the start of the pool
 * in 8-byte units (slab chunks are 8-byte aligned), 0 at the end; four
 * bytes a token and a bucket instead of eight.  A token without a value
 * ("value_len" 0) is a miss: the store had none for the key at "time".
 */

typedef struct {
    uint32_t                         next;
    uint32_t                         hash;
    u_short                          len;         /* key length */
    u_short                          value_len;
    u_char                           referenced;  /* read since queued */
    ngx_queue_t                      queue;
    time_t                           time;        /* when stored */
    u_char                           data[1];
} ngx_http_intercom_oauth_token_t;


typedef struct {
    uint64_t                         layout;
    uint32_t                        *buckets;
    ngx_uint_t                       nbuckets;    /* a power of two */
    ngx_queue_t                      token_queue; /* head: newest */
    uint32_t                         oldest;      /* used states' queue */
    uint32_t                         newest;
    ngx_uint_t                       ntokens;
    ngx_uint_t                       nmisses;     /* tokens without value */
    ngx_uint_t                       nstates;
    ngx_uint_t                       max_states;  /* half the zone */
    size_t                           half;        /* of its free bytes */
    time_t                           max_ttl;     /* longest state ttl */
    size_t                           token_bytes; /* slab chunks of tokens */
    time_t                           full_logged;
    u_char                           secret[NGX_HTTP_INTERCOM_OAUTH_SECRET_LEN];
    u_char                           hash_key[16];  /* SipHash, per zone */
    ngx_atomic_t                     counters[NGX_HTTP_INTERCOM_OAUTH_CNT_MAX];
} ngx_http_intercom_oauth_shctx_t;


typedef struct {
    ngx_http_intercom_oauth_shctx_t *sh;
    ngx_slab_pool_t                 *shpool;
} ngx_http_intercom_oauth_zone_ctx_t;


/*
 * A token's key, "client_id \0 realm \0 key", and its hash.  Neither a
 * client id nor a realm can hold a NUL (both come from the configuration),
 * so two different triples never make the same key.
 */

typedef struct {
    size_t                           len;
    uint32_t                         hash;
    u_char                           data[NGX_HTTP_INTERCOM_OAUTH_ZONE_MAX_KEY];
} ngx_http_intercom_oauth_zone_key_t;


#define ngx_http_intercom_oauth_token_at(ctx, off)                            \
    ((ngx_http_intercom_oauth_token_t *)                                      \
         ((u_char *) (ctx)->shpool + ((size_t) (off) << 3)))

#define ngx_http_intercom_oauth_token_off(ctx, t)                             \
    ((uint32_t) (((u_char *) (t) - (u_char *) (ctx)->shpool) >> 3))

#define ngx_http_intercom_oauth_node_at(ctx, off)                             \
    ((ngx_http_intercom_oauth_node_t *)                                       \
         ((u_char *) (ctx)->shpool + ((size_t) (off) << 3)))


static ngx_int_t ngx_http_intercom_oauth_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static uint32_t ngx_http_intercom_oauth_zone_state_hash(
    ngx_http_intercom_oauth_zone_ctx_t *ctx, u_char *nonce, time_t issued);
static uint32_t *ngx_http_intercom_oauth_zone_state_find(
    ngx_http_intercom_oauth_zone_ctx_t *ctx, uint32_t hash, u_char *nonce,
    time_t issued);
static void ngx_http_intercom_oauth_zone_state_free(
    ngx_http_intercom_oauth_zone_ctx_t *ctx, uint32_t *link);
static uint32_t ngx_http_intercom_oauth_zone_hash(
    ngx_http_intercom_oauth_zone_ctx_t *ctx, u_char *key, size_t len);
static ngx_http_intercom_oauth_zone_ctx_t *
    ngx_http_intercom_oauth_zone_token_lock(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key,
    ngx_http_intercom_oauth_zone_key_t *k,
    ngx_http_intercom_oauth_token_t **t);
static ngx_http_intercom_oauth_token_t *ngx_http_intercom_oauth_zone_token_find(
    ngx_http_intercom_oauth_zone_ctx_t *ctx,
    ngx_http_intercom_oauth_zone_key_t *k);
static void *ngx_http_intercom_oauth_zone_alloc(ngx_shm_zone_t *shm_zone,
    size_t size, ngx_uint_t evict);
static void ngx_http_intercom_oauth_zone_expire(
    ngx_http_intercom_oauth_zone_ctx_t *ctx, ngx_uint_t all);
static size_t ngx_http_intercom_oauth_zone_chunk(size_t size);
static void ngx_http_intercom_oauth_zone_evict(
    ngx_http_intercom_oauth_zone_ctx_t *ctx,
    ngx_http_intercom_oauth_token_t *t);


char *
ngx_http_intercom_oauth_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf = conf;

    u_char                              *p;
    ssize_t                              size;
    ngx_str_t                           *value, name, s;
    ngx_shm_zone_t                      *shm_zone;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    if (omcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_zone\" takes NAME:SIZE, "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    /* a token's offset in the zone must fit 32 bits of 8-byte units */
    if ((uint64_t) size > ((uint64_t) 1 << 35)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "intercom_oauth_zone \"%V\" is larger than 32g",
                           &name);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_intercom_oauth_zone_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_http_intercom_oauth_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "intercom_oauth_zone \"%V\" is already defined",
                           &name);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_intercom_oauth_zone_init;
    shm_zone->data = ctx;

    omcf->shm_zone = shm_zone;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_intercom_oauth_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_intercom_oauth_zone_ctx_t  *octx = data;

    u_char                              *p;
    size_t                               len;
    ngx_uint_t                           n;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        /*
         * Reload: keep tokens, used states, counters and the secret, unless
         * another version of the module made the zone (a package upgrade
         * followed by a reload), whose layout this one would misread.
         */
        if (octx->sh->layout != NGX_HTTP_INTERCOM_OAUTH_ZONE_LAYOUT) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "intercom_oauth_zone \"%V\" was made by another "
                          "version of the module: restart nginx instead of "
                          "reloading it, or give the zone another name",
                          &shm_zone->shm.name);
            return NGX_ERROR;
        }

        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    /* about one bucket per token a full zone holds, a power of two */
    for (n = 64;
         n < shm_zone->shm.size / NGX_HTTP_INTERCOM_OAUTH_ZONE_BUCKET;
         n <<= 1)
    {
        /* void */
    }

    len = sizeof(" in intercom_oauth_zone \"\"") + shm_zone->shm.name.len;

    /*
     * One allocation for the header, the buckets and the log context: each
     * size class the slab allocator serves takes a page of its own, which
     * a small zone would lose to its used states and tokens.
     */
    p = ngx_slab_calloc(ctx->shpool, sizeof(ngx_http_intercom_oauth_shctx_t)
                                     + n * sizeof(uint32_t) + len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->sh = (ngx_http_intercom_oauth_shctx_t *) p;
    ctx->shpool->data = ctx->sh;

    ctx->sh->layout = NGX_HTTP_INTERCOM_OAUTH_ZONE_LAYOUT;

    ctx->sh->buckets = (uint32_t *)
                           (p + sizeof(ngx_http_intercom_oauth_shctx_t));
    ctx->sh->nbuckets = n;
    ngx_queue_init(&ctx->sh->token_queue);

    if (RAND_bytes(ctx->sh->secret, NGX_HTTP_INTERCOM_OAUTH_SECRET_LEN) != 1
        || RAND_bytes(ctx->sh->hash_key, sizeof(ctx->sh->hash_key)) != 1)
    {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "intercom oauth: RAND_bytes() failed");
        return NGX_ERROR;
    }

    ctx->shpool->log_ctx = (u_char *) (ctx->sh->buckets + n);

    ngx_sprintf(ctx->shpool->log_ctx, " in intercom_oauth_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full pool is normal here: the module evicts and logs by itself */
    ctx->shpool->log_nomem = 0;

    /*
     * The zone is shared half and half: used states (a slab chunk of 64
     * bytes each on a 64-bit system), which anyone can make, and tokens.
     * Each side may use the other's unused room, and takes it back by
     * eviction: states evict tokens only while tokens hold more than their
     * half, so a flood of states can never erase the tokens of the other
     * half.
     */
    ctx->sh->half = ctx->shpool->pfree * ngx_pagesize / 2;
    ctx->sh->max_states = ctx->sh->half
                    / ngx_http_intercom_oauth_zone_chunk(
                                      NGX_HTTP_INTERCOM_OAUTH_ZONE_STATE_SIZE);

    return NGX_OK;
}


/*
 * A used state's bucket.  The nonce is random and the state's MAC covers
 * it, so no client chooses it; it is hashed with the zone's key anyway,
 * as a token's key is, to leave nothing to how states are minted.
 */

static uint32_t
ngx_http_intercom_oauth_zone_state_hash(ngx_http_intercom_oauth_zone_ctx_t *ctx,
    u_char *nonce, time_t issued)
{
    u_char  in[NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN + sizeof(time_t)];

    ngx_memcpy(in, nonce, NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN);
    ngx_memcpy(in + NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN, &issued,
               sizeof(time_t));

    return ngx_http_intercom_oauth_zone_hash(ctx, in, sizeof(in));
}


/* the link that points at the used state, or NULL; with the mutex held */

static uint32_t *
ngx_http_intercom_oauth_zone_state_find(ngx_http_intercom_oauth_zone_ctx_t *ctx,
    uint32_t hash, u_char *nonce, time_t issued)
{
    uint32_t                        *link;
    ngx_http_intercom_oauth_node_t  *n;

    for (link = &ctx->sh->buckets[hash & (ctx->sh->nbuckets - 1)];
         *link;
         link = &n->next)
    {
        n = ngx_http_intercom_oauth_node_at(ctx, *link);

        if (n->hash == hash && n->len == 0 && n->issued == issued
            && ngx_memcmp(n->nonce, nonce, NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN)
               == 0)
        {
            return link;
        }
    }

    return NULL;
}


/* unlinks the state "*link" points at from its bucket and the queue */

static void
ngx_http_intercom_oauth_zone_state_free(ngx_http_intercom_oauth_zone_ctx_t *ctx,
    uint32_t *link)
{
    ngx_http_intercom_oauth_node_t  *n;

    n = ngx_http_intercom_oauth_node_at(ctx, *link);

    *link = n->next;

    if (n->newer) {
        ngx_http_intercom_oauth_node_at(ctx, n->newer)->older = n->older;

    } else {
        ctx->sh->newest = n->older;
    }

    if (n->older) {
        ngx_http_intercom_oauth_node_at(ctx, n->older)->newer = n->newer;

    } else {
        ctx->sh->oldest = n->newer;
    }

    ngx_slab_free_locked(ctx->shpool, n);
    ctx->sh->nstates--;
}


/*
 * The token's bucket.  The key is the client's cookie, so an unkeyed hash
 * (CRC32 is linear: colliding keys are easy to make) would let a client
 * pile tokens into one chain that every lookup in it walks under the
 * zone's mutex.  SipHash-1-3 with the zone's random key, computed before
 * the mutex is taken.
 */

static uint32_t
ngx_http_intercom_oauth_zone_hash(ngx_http_intercom_oauth_zone_ctx_t *ctx,
    u_char *key, size_t len)
{
    return (uint32_t) ngx_http_intercom_oauth_siphash(ctx->sh->hash_key, key,
                                                      len);
}


static ngx_http_intercom_oauth_token_t *
ngx_http_intercom_oauth_zone_token_find(ngx_http_intercom_oauth_zone_ctx_t *ctx,
    ngx_http_intercom_oauth_zone_key_t *k)
{
    uint32_t                          off;
    ngx_http_intercom_oauth_token_t  *t;

    for (off = ctx->sh->buckets[k->hash & (ctx->sh->nbuckets - 1)];
         off;
         off = t->next)
    {
        t = ngx_http_intercom_oauth_token_at(ctx, off);

        if (t->hash == k->hash && t->len == k->len
            && ngx_memcmp(t->data, k->data, k->len) == 0)
        {
            return t;
        }
    }

    return NULL;
}


/*
 * Allocates from the slab pool with its mutex held; when the pool is full,
 * drops every expired state, then, if "evict" is set, evicts tokens from
 * the tail of the queue until the allocation succeeds.  Logs at most once
 * a second that the zone is full.
 */

static void *
ngx_http_intercom_oauth_zone_alloc(ngx_shm_zone_t *shm_zone, size_t size,
    ngx_uint_t evict)
{
    void                                *p;
    ngx_uint_t                           evicted, spared, level;
    ngx_queue_t                         *q;
    ngx_http_intercom_oauth_token_t     *t;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    p = ngx_slab_alloc_locked(ctx->shpool, size);
    if (p) {
        return p;
    }

    ngx_http_intercom_oauth_zone_expire(ctx, 1);

    p = ngx_slab_alloc_locked(ctx->shpool, size);
    if (p) {
        return p;
    }

    evicted = 0;
    spared = 0;

    while (evict && !ngx_queue_empty(&ctx->sh->token_queue)) {
        q = ngx_queue_last(&ctx->sh->token_queue);
        t = ngx_queue_data(q, ngx_http_intercom_oauth_token_t, queue);

        /*
         * A token read since it was queued goes back to the head once;
         * bounded, so that one allocation never walks a large zone.
         */
        if (t->referenced && spared++ < NGX_HTTP_INTERCOM_OAUTH_ZONE_SPARE) {
            t->referenced = 0;
            ngx_queue_remove(q);
            ngx_queue_insert_head(&ctx->sh->token_queue, q);
            continue;
        }

        ngx_http_intercom_oauth_zone_evict(ctx, t);
        evicted++;

        p = ngx_slab_alloc_locked(ctx->shpool, size);
        if (p) {
            break;
        }
    }

    if (evicted) {
        (void) ngx_atomic_fetch_add(
                   &ctx->sh->counters[NGX_HTTP_INTERCOM_OAUTH_CNT_EVICTIONS],
                   evicted);
    }

    if (ctx->sh->full_logged != ngx_time()) {
        ctx->sh->full_logged = ngx_time();

        level = p ? NGX_LOG_WARN : NGX_LOG_ERR;

        ngx_log_error(level, ngx_cycle->log, 0,
                      "intercom_oauth_zone \"%V\" is full: evicted %ui least "
                      "recently used token(s)%s", &shm_zone->shm.name,
                      evicted, p ? "" : ", still no room");
    }

    return p;
}


/*
 * Removes used states whose time is over from the head of the queue: a
 * few on every insert, or all of them when "all" is set (the pool is
 * full).  The queue is in the order states were used, not issued: it
 * stops at the first state still in time, and one behind it that is over
 * waits for it.  A state is accepted only within the ttl of its issue,
 * so it waits at most one ttl after its use, and never goes early.
 */

static void
ngx_http_intercom_oauth_zone_expire(ngx_http_intercom_oauth_zone_ctx_t *ctx,
    ngx_uint_t all)
{
    time_t                           now;
    uint32_t                        *link;
    ngx_uint_t                       i;
    ngx_http_intercom_oauth_node_t  *n;

    now = ngx_time();

    for (i = 0; all || i < NGX_HTTP_INTERCOM_OAUTH_ZONE_EXPIRE; i++) {

        if (ctx->sh->oldest == 0) {
            return;
        }

        n = ngx_http_intercom_oauth_node_at(ctx, ctx->sh->oldest);

        /* no ttl ever seen accepts it */
        if (n->issued + ctx->sh->max_ttl >= now) {
            return;
        }

        link = ngx_http_intercom_oauth_zone_state_find(ctx, n->hash, n->nonce,
                                                       n->issued);

        /* always found: it is in its bucket */
        ngx_http_intercom_oauth_zone_state_free(ctx, link);
    }
}


/* what the slab allocator takes for "size" bytes: a power of two, or pages */

static size_t
ngx_http_intercom_oauth_zone_chunk(size_t size)
{
    size_t  chunk;

    if (size > ngx_pagesize / 2) {
        return ngx_align(size, ngx_pagesize);
    }

    for (chunk = 8; chunk < size; chunk <<= 1) { /* void */ }

    return chunk;
}


static size_t
ngx_http_intercom_oauth_zone_token_size(ngx_http_intercom_oauth_token_t *t)
{
    return ngx_http_intercom_oauth_zone_chunk(
               offsetof(ngx_http_intercom_oauth_token_t, data)
               + t->len + t->value_len);
}


static void
ngx_http_intercom_oauth_zone_evict(ngx_http_intercom_oauth_zone_ctx_t *ctx,
    ngx_http_intercom_oauth_token_t *t)
{
    uint32_t   off, *link;

    off = ngx_http_intercom_oauth_token_off(ctx, t);
    link = &ctx->sh->buckets[t->hash & (ctx->sh->nbuckets - 1)];

    /* t is in its bucket's chain: the walk ends at it */
    while (*link != off) {
        link = &ngx_http_intercom_oauth_token_at(ctx, *link)->next;
    }

    *link = t->next;

    ctx->sh->token_bytes -= ngx_http_intercom_oauth_zone_token_size(t);
    ngx_queue_remove(&t->queue);
    if (t->value_len) {
        ctx->sh->ntokens--;

    } else {
        ctx->sh->nmisses--;
    }

    ngx_slab_free_locked(ctx->shpool, t);
}


ngx_int_t
ngx_http_intercom_oauth_zone_state_claim(ngx_shm_zone_t *shm_zone,
    u_char *nonce, time_t issued, time_t ttl)
{
    uint32_t                             hash, off;
    ngx_http_intercom_oauth_node_t      *n;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    hash = ngx_http_intercom_oauth_zone_state_hash(ctx, nonce, issued);

    ngx_shmtx_lock(&ctx->shpool->mutex);

    /*
     * The longest ttl any configuration has had since the zone was made:
     * a reload that raises it must not free states it would accept again.
     */
    if (ttl > ctx->sh->max_ttl) {
        ctx->sh->max_ttl = ttl;
    }

    ngx_http_intercom_oauth_zone_expire(ctx, 0);

    if (ngx_http_intercom_oauth_zone_state_find(ctx, hash, nonce, issued)
        != NULL)
    {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    if (ctx->sh->nstates >= ctx->sh->max_states) {
        ngx_http_intercom_oauth_zone_expire(ctx, 1);

        if (ctx->sh->nstates >= ctx->sh->max_states) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return NGX_BUSY;
        }
    }

    /*
     * Under their half of the zone, used states may push out the least
     * recently used tokens, but only tokens that hold more than theirs.
     */
    n = ngx_http_intercom_oauth_zone_alloc(shm_zone,
                                      NGX_HTTP_INTERCOM_OAUTH_ZONE_STATE_SIZE,
                                      ctx->sh->token_bytes > ctx->sh->half);
    if (n == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_BUSY;
    }

    ctx->sh->nstates++;

    off = ngx_http_intercom_oauth_token_off(ctx, n);

    n->hash = hash;
    n->len = 0;
    n->issued = issued;
    ngx_memcpy(n->nonce, nonce, NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN);

    /*
     * The bucket is looked up again: an eviction by the allocation above
     * may have unlinked the token that ended its chain.
     */
    n->next = ctx->sh->buckets[hash & (ctx->sh->nbuckets - 1)];
    ctx->sh->buckets[hash & (ctx->sh->nbuckets - 1)] = off;

    n->newer = 0;
    n->older = ctx->sh->newest;

    if (ctx->sh->newest) {
        ngx_http_intercom_oauth_node_at(ctx, ctx->sh->newest)->newer = off;

    } else {
        ctx->sh->oldest = off;
    }

    ctx->sh->newest = off;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_zone_state_release(ngx_shm_zone_t *shm_zone,
    u_char *nonce, time_t issued)
{
    uint32_t                             hash, *link;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    hash = ngx_http_intercom_oauth_zone_state_hash(ctx, nonce, issued);

    ngx_shmtx_lock(&ctx->shpool->mutex);

    link = ngx_http_intercom_oauth_zone_state_find(ctx, hash, nonce, issued);
    if (link) {
        ngx_http_intercom_oauth_zone_state_free(ctx, link);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return link ? NGX_OK : NGX_DECLINED;
}


/*
 * Every token operation starts here: the key "client_id \0 realm \0 key",
 * its hash, the zone's mutex taken and the token found (*t NULL: none).
 * Returns the zone's context, whose mutex the caller unlocks, or NULL,
 * without the mutex, when the triple is too long to be stored.
 */

static ngx_http_intercom_oauth_zone_ctx_t *
ngx_http_intercom_oauth_zone_token_lock(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key,
    ngx_http_intercom_oauth_zone_key_t *k,
    ngx_http_intercom_oauth_token_t **t)
{
    u_char                              *p;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (client_id->len + 1 + realm->len + 1 + key->len
        > NGX_HTTP_INTERCOM_OAUTH_ZONE_MAX_KEY)
    {
        return NULL;
    }

    p = ngx_cpymem(k->data, client_id->data, client_id->len);
    *p++ = '\0';
    p = ngx_cpymem(p, realm->data, realm->len);
    *p++ = '\0';
    p = ngx_cpymem(p, key->data, key->len);

    k->len = p - k->data;
    k->hash = ngx_http_intercom_oauth_zone_hash(ctx, k->data, k->len);

    ngx_shmtx_lock(&ctx->shpool->mutex);

    *t = ngx_http_intercom_oauth_zone_token_find(ctx, k);

    return ctx;
}


/*
 * Fills a freshly allocated entry with its key and links it into its hash
 * bucket and at the head of the LRU queue: a token (its value written by
 * the caller) or a miss (no value).  The zone's mutex is held.
 */

static void
ngx_http_intercom_oauth_zone_token_link(ngx_http_intercom_oauth_zone_ctx_t *ctx,
    ngx_http_intercom_oauth_token_t *t, ngx_http_intercom_oauth_zone_key_t *k,
    size_t vlen)
{
    uint32_t  *bucket;

    t->hash = k->hash;
    t->len = (u_short) k->len;
    t->value_len = (u_short) vlen;
    t->referenced = 0;
    t->time = ngx_time();
    ngx_memcpy(t->data, k->data, k->len);

    bucket = &ctx->sh->buckets[k->hash & (ctx->sh->nbuckets - 1)];
    t->next = *bucket;
    *bucket = ngx_http_intercom_oauth_token_off(ctx, t);

    ngx_queue_insert_head(&ctx->sh->token_queue, &t->queue);
    ctx->sh->token_bytes += ngx_http_intercom_oauth_zone_token_size(t);
}


ngx_int_t
ngx_http_intercom_oauth_zone_token_put(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key,
    ngx_http_intercom_oauth_record_t *rec)
{
    size_t                               n, vlen;
    ngx_http_intercom_oauth_token_t     *t;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;
    ngx_http_intercom_oauth_zone_key_t   k;

    vlen = ngx_http_intercom_oauth_record_size(rec);

    if (vlen == 0 || vlen > 0xffff) {
        return NGX_ERROR;
    }

    ctx = ngx_http_intercom_oauth_zone_token_lock(shm_zone, client_id, realm,
                                                  key, &k, &t);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (t) {
        ngx_http_intercom_oauth_zone_evict(ctx, t);
    }

    n = offsetof(ngx_http_intercom_oauth_token_t, data) + k.len + vlen;

    t = ngx_http_intercom_oauth_zone_alloc(shm_zone, n, 1);
    if (t == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_http_intercom_oauth_zone_token_link(ctx, t, &k, vlen);
    (void) ngx_http_intercom_oauth_record_write(t->data + k.len, rec);
    ctx->sh->ntokens++;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_zone_token_get(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key, ngx_pool_t *pool,
    ngx_http_intercom_oauth_record_t *rec, time_t *stored)
{
    ngx_int_t                            rc;
    ngx_str_t                            copy;
    ngx_http_intercom_oauth_token_t     *t;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;
    ngx_http_intercom_oauth_zone_key_t   k;

    ctx = ngx_http_intercom_oauth_zone_token_lock(shm_zone, client_id, realm,
                                                  key, &k, &t);
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    if (t && t->value_len == 0) {
        /* a miss is no token */
        t = NULL;
    }

    if (t) {
        rc = NGX_OK;

        /* written only when it changes: the line is shared by the workers */
        if (!t->referenced) {
            t->referenced = 1;
        }

        if (stored) {
            *stored = t->time;
        }
    }

    if (t && pool) {
        /* one copy of the value, then the record points into it */
        copy.len = t->value_len;
        copy.data = ngx_pnalloc(pool, copy.len);

        if (copy.data == NULL) {
            rc = NGX_ERROR;

        } else {
            ngx_memcpy(copy.data, t->data + t->len, copy.len);
            rc = ngx_http_intercom_oauth_record_read(&copy, rec);
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_http_intercom_oauth_zone_token_delete(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key)
{
    ngx_int_t                            rc;
    ngx_http_intercom_oauth_token_t     *t;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;
    ngx_http_intercom_oauth_zone_key_t   k;

    ctx = ngx_http_intercom_oauth_zone_token_lock(shm_zone, client_id, realm,
                                                  key, &k, &t);
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    rc = (t && t->value_len) ? NGX_OK : NGX_DECLINED;

    if (t) {
        ngx_http_intercom_oauth_zone_evict(ctx, t);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_http_intercom_oauth_zone_miss_put(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key)
{
    size_t                               n;
    ngx_http_intercom_oauth_token_t     *t;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;
    ngx_http_intercom_oauth_zone_key_t   k;

    ctx = ngx_http_intercom_oauth_zone_token_lock(shm_zone, client_id, realm,
                                                  key, &k, &t);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (t && t->value_len) {
        /* a token arrived meanwhile (a callback on this host) */
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    if (t) {
        ngx_http_intercom_oauth_zone_evict(ctx, t);
    }

    n = offsetof(ngx_http_intercom_oauth_token_t, data) + k.len;

    /* free room only: a flood of unknown keys never pushes tokens out */
    t = ngx_http_intercom_oauth_zone_alloc(shm_zone, n, 0);
    if (t == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_ERROR;
    }

    ngx_http_intercom_oauth_zone_token_link(ctx, t, &k, 0);
    ctx->sh->nmisses++;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_zone_miss_get(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key, time_t *when)
{
    ngx_int_t                            rc;
    ngx_http_intercom_oauth_token_t     *t;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;
    ngx_http_intercom_oauth_zone_key_t   k;

    ctx = ngx_http_intercom_oauth_zone_token_lock(shm_zone, client_id, realm,
                                                  key, &k, &t);
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    if (t && t->value_len == 0) {
        *when = t->time;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return rc;
}


ngx_uint_t
ngx_http_intercom_oauth_zone_workspace_delete(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *workspace_id)
{
    ngx_str_t                            value;
    ngx_uint_t                           n;
    ngx_queue_t                         *q, *next;
    ngx_http_intercom_oauth_token_t     *t;
    ngx_http_intercom_oauth_record_t     rec;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;
    n = 0;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (q = ngx_queue_head(&ctx->sh->token_queue);
         q != ngx_queue_sentinel(&ctx->sh->token_queue);
         q = next)
    {
        next = ngx_queue_next(q);
        t = ngx_queue_data(q, ngx_http_intercom_oauth_token_t, queue);

        /* the key starts with "client_id \0", whatever its realm; a miss
         * has no workspace */
        if (t->value_len == 0
            || t->len <= client_id->len
            || t->data[client_id->len] != '\0'
            || ngx_memcmp(t->data, client_id->data, client_id->len) != 0)
        {
            continue;
        }

        value.data = t->data + t->len;
        value.len = t->value_len;

        if (ngx_http_intercom_oauth_record_read(&value, &rec) == NGX_OK
            && rec.identity
            && rec.workspace_id.len == workspace_id->len
            && ngx_memcmp(rec.workspace_id.data, workspace_id->data,
                          workspace_id->len) == 0)
        {
            ngx_http_intercom_oauth_zone_evict(ctx, t);
            n++;
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return n;
}

ngx_int_t
ngx_http_intercom_oauth_zone_workspace_token(ngx_shm_zone_t *shm_zone,
    ngx_str_t *client_id, ngx_str_t *workspace_id, ngx_pool_t *pool,
    ngx_str_t *token)
{
    ngx_int_t                            rc;
    ngx_str_t                            value;
    ngx_queue_t                         *q;
    ngx_http_intercom_oauth_token_t     *t;
    ngx_http_intercom_oauth_record_t     rec;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    /* the most recently used first: the likeliest to be still valid */
    for (q = ngx_queue_head(&ctx->sh->token_queue);
         q != ngx_queue_sentinel(&ctx->sh->token_queue);
         q = ngx_queue_next(q))
    {
        t = ngx_queue_data(q, ngx_http_intercom_oauth_token_t, queue);

        if (t->len <= client_id->len
            || t->data[client_id->len] != '\0'
            || ngx_memcmp(t->data, client_id->data, client_id->len) != 0)
        {
            continue;
        }

        value.data = t->data + t->len;
        value.len = t->value_len;

        if (ngx_http_intercom_oauth_record_read(&value, &rec) != NGX_OK
            || !rec.identity
            || rec.token.len == 0
            || rec.workspace_id.len != workspace_id->len
            || ngx_memcmp(rec.workspace_id.data, workspace_id->data,
                          workspace_id->len) != 0)
        {
            continue;
        }

        token->data = ngx_pnalloc(pool, rec.token.len);

        if (token->data == NULL) {
            rc = NGX_ERROR;
            break;
        }

        token->len = rec.token.len;
        ngx_memcpy(token->data, rec.token.data, rec.token.len);

        rc = NGX_OK;
        break;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return rc;
}


void
ngx_http_intercom_oauth_zone_latency(ngx_shm_zone_t *shm_zone, ngx_msec_t ms)
{
    ngx_uint_t                           i;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    static ngx_msec_t  bounds[] = { NGX_HTTP_INTERCOM_OAUTH_LATENCY_BUCKETS };

    ctx = shm_zone->data;

    for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        if (ms <= bounds[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(
               &ctx->sh->counters[NGX_HTTP_INTERCOM_OAUTH_CNT_LATENCY + i], 1);
    (void) ngx_atomic_fetch_add(
               &ctx->sh->counters[NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGE_MS], ms);
}


void
ngx_http_intercom_oauth_zone_bytes(ngx_shm_zone_t *shm_zone, size_t *used,
    size_t *free)
{
    size_t                               total;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    total = (ctx->shpool->end - ctx->shpool->start) / ngx_pagesize;
    *free = ctx->shpool->pfree * ngx_pagesize;
    *used = total * ngx_pagesize - *free;

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


void
ngx_http_intercom_oauth_zone_secret(ngx_shm_zone_t *shm_zone,
    ngx_str_t *secret)
{
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    secret->len = NGX_HTTP_INTERCOM_OAUTH_SECRET_LEN;
    secret->data = ctx->sh->secret;
}


void
ngx_http_intercom_oauth_zone_count_n(ngx_shm_zone_t *shm_zone,
    ngx_http_intercom_oauth_counter_e counter, ngx_uint_t n)
{
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    (void) ngx_atomic_fetch_add(&ctx->sh->counters[counter], n);
}


ngx_atomic_uint_t
ngx_http_intercom_oauth_zone_counter(ngx_shm_zone_t *shm_zone,
    ngx_http_intercom_oauth_counter_e counter)
{
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    return ctx->sh->counters[counter];
}


ngx_uint_t
ngx_http_intercom_oauth_zone_tokens(ngx_shm_zone_t *shm_zone)
{
    ngx_uint_t                           n;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);
    n = ctx->sh->ntokens;
    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return n;
}


ngx_uint_t
ngx_http_intercom_oauth_zone_states(ngx_shm_zone_t *shm_zone)
{
    ngx_uint_t                           n;
    ngx_http_intercom_oauth_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    ngx_shmtx_lock(&ctx->shpool->mutex);
    n = ctx->sh->nstates;
    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return n;
}
