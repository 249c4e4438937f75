
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The zone and the store as one.  The zone knows this host's used states
 * and keeps every token this host has seen; the store knows every host's
 * states and is where a token must be before the browser is told it is
 * connected.  The zone is then the store's cache: a copy younger than
 * intercom_oauth_store_cache_ttl answers alone, an older one is checked
 * against the store, where a disconnect or an uninstall on another host
 * may have deleted it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_storage.h"
#include "ngx_http_intercom_oauth_store.h"
#include "ngx_http_intercom_oauth_zone.h"


static void ngx_http_intercom_oauth_storage_claim_reply(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_intercom_oauth_storage_put_reply(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_intercom_oauth_storage_load_reply(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_intercom_oauth_storage_forget_reply(
    ngx_http_request_t *r, ngx_int_t rc);
static void ngx_http_intercom_oauth_storage_token_reply(
    ngx_http_request_t *r, ngx_int_t rc);
static ngx_uint_t ngx_http_intercom_oauth_storage_loads(
    ngx_http_request_t *r);
static ngx_uint_t ngx_http_intercom_oauth_storage_forget_replaced(
    ngx_http_request_t *r, ngx_str_t *replaced);
static void ngx_http_intercom_oauth_storage_count_replaced(
    ngx_http_request_t *r, ngx_uint_t n);


ngx_int_t
ngx_http_intercom_oauth_storage_state_claim(ngx_http_request_t *r,
    ngx_http_intercom_oauth_state_t *st,
    ngx_http_intercom_oauth_storage_next_pt next)
{
    ngx_int_t                             rc;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    /* as long as any callback location could still accept it */
    rc = ngx_http_intercom_oauth_zone_state_claim(omcf->shm_zone, st->nonce,
                                                  st->issued,
                                                  omcf->max_state_ttl + 1);
    if (rc == NGX_DECLINED) {
        return next(r, NGX_HTTP_INTERCOM_OAUTH_CLAIM_USED);
    }

    if (rc == NGX_BUSY) {
        return next(r, NGX_HTTP_INTERCOM_OAUTH_CLAIM_NO_ROOM);
    }

    if (omcf->store == NULL) {
        return next(r, NGX_HTTP_INTERCOM_OAUTH_CLAIMED);
    }

    /* the zone knows this host's states; the store knows every host's */
    rc = ngx_http_intercom_oauth_store_state_claim(r, st->nonce,
                                  (omcf->max_state_ttl + 1) * 1000,
                                  ngx_http_intercom_oauth_storage_claim_reply);
    if (rc != NGX_AGAIN) {
        return next(r, NGX_HTTP_INTERCOM_OAUTH_CLAIM_UNREACHABLE);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    ctx->storage_next = next;

    return ngx_http_intercom_oauth_wait(r);
}


static void
ngx_http_intercom_oauth_storage_claim_reply(ngx_http_request_t *r,
    ngx_int_t rc)
{
    ngx_int_t                       outcome;
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    switch (rc) {

    case NGX_OK:
        outcome = NGX_HTTP_INTERCOM_OAUTH_CLAIMED;
        break;

    case NGX_DECLINED:
        outcome = NGX_HTTP_INTERCOM_OAUTH_CLAIM_USED_ELSEWHERE;
        break;

    default:
        outcome = NGX_HTTP_INTERCOM_OAUTH_CLAIM_UNCHECKED;
        break;
    }

    ngx_http_intercom_oauth_resume(r, ctx->storage_next(r, outcome));
}


void
ngx_http_intercom_oauth_storage_state_release(ngx_http_request_t *r,
    ngx_http_intercom_oauth_state_t *st)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "intercom oauth: used state released");

    (void) ngx_http_intercom_oauth_zone_state_release(omcf->shm_zone,
                                                      st->nonce, st->issued);

    if (omcf->store) {
        (void) ngx_http_intercom_oauth_store_state_release(r, st->nonce);
    }
}


ngx_int_t
ngx_http_intercom_oauth_storage_token_put(ngx_http_request_t *r,
    ngx_str_t *key, ngx_http_intercom_oauth_record_t *rec,
    ngx_str_t *replaced, ngx_http_intercom_oauth_storage_next_pt next)
{
    ngx_int_t                             rc;
    ngx_uint_t                            n;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (ngx_http_intercom_oauth_zone_token_put(omcf->shm_zone,
                                               &olcf->client_id, &olcf->realm,
                                               key, rec)
        != NGX_OK)
    {
        return next(r, NGX_BUSY);
    }

    /*
     * One browser, one token: the session the callback replaced holds
     * nothing once the new one holds the token.  With a store, Redis
     * deletes its tokens in the same script that writes the new one, and
     * this host's copies go when Redis has said so.
     */
    if (omcf->store == NULL) {
        n = ngx_http_intercom_oauth_storage_forget_replaced(r, replaced);
        ngx_http_intercom_oauth_storage_count_replaced(r, n);

        return next(r, NGX_OK);
    }

    /*
     * The callback answers only once the store has the token, so that a
     * success the browser sees is a token every host can read and a
     * restart keeps.
     */
    rc = ngx_http_intercom_oauth_store_token_put(r, &olcf->client_id,
                                    &olcf->realm, key, rec, replaced,
                                    ngx_http_intercom_oauth_storage_put_reply);
    if (rc != NGX_AGAIN) {
        (void) ngx_http_intercom_oauth_zone_token_delete(omcf->shm_zone,
                                                         &olcf->client_id,
                                                         &olcf->realm, key);
        return next(r, NGX_ERROR);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    ctx->storage_next = next;
    ctx->key = *key;

    if (replaced) {
        ctx->storage_replaced = *replaced;
    }

    return ngx_http_intercom_oauth_wait(r);
}


/* the store did not take the token: the zone does not keep it either */

static void
ngx_http_intercom_oauth_storage_put_reply(ngx_http_request_t *r,
    ngx_int_t rc)
{
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (rc != NGX_OK) {
        olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
        omcf = ngx_http_get_module_main_conf(r,
                                             ngx_http_intercom_oauth_module);

        (void) ngx_http_intercom_oauth_zone_token_delete(omcf->shm_zone,
                                                         &olcf->client_id,
                                                         &olcf->realm,
                                                         &ctx->key);
        rc = NGX_ERROR;

    } else {
        (void) ngx_http_intercom_oauth_storage_forget_replaced(r,
                                                    &ctx->storage_replaced);
        ngx_http_intercom_oauth_storage_count_replaced(r, ctx->store_deleted);
    }

    ngx_http_intercom_oauth_resume(r, ctx->storage_next(r, rc));
}


/*
 * Deletes the zone's tokens of a replaced session id, of every client id
 * of the configuration, in the location's realm.  Returns how many the
 * zone held.
 */

static ngx_uint_t
ngx_http_intercom_oauth_storage_forget_replaced(ngx_http_request_t *r,
    ngx_str_t *replaced)
{
    ngx_str_t                            *ids;
    ngx_uint_t                            i, n;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (replaced == NULL || replaced->len == 0 || omcf->client_ids == NULL) {
        return 0;
    }

    ids = omcf->client_ids->elts;
    n = 0;

    for (i = 0; i < omcf->client_ids->nelts; i++) {
        if (ngx_http_intercom_oauth_zone_token_delete(omcf->shm_zone, &ids[i],
                                                      &olcf->realm, replaced)
            == NGX_OK)
        {
            n++;
        }
    }

    return n;
}


static void
ngx_http_intercom_oauth_storage_count_replaced(ngx_http_request_t *r,
    ngx_uint_t n)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    if (n == 0) {
        return;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_zone_count_n(omcf->shm_zone,
                                   NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_DELETED,
                                   n);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "intercom oauth: %ui token(s) of the replaced session "
                  "deleted", n);
}


ngx_int_t
ngx_http_intercom_oauth_storage_token_get(ngx_http_request_t *r,
    ngx_str_t *key, ngx_pool_t *pool, ngx_http_intercom_oauth_record_t *rec)
{
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (omcf->shm_zone == NULL || olcf->client_id.len == 0 || key->len == 0)
    {
        return NGX_DECLINED;
    }

    return ngx_http_intercom_oauth_zone_token_get(omcf->shm_zone,
                                                  &olcf->client_id,
                                                  &olcf->realm, key, pool,
                                                  rec, NULL);
}


ngx_int_t
ngx_http_intercom_oauth_storage_token_delete(ngx_http_request_t *r,
    ngx_str_t *key)
{
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    /* every host reads the store on a miss: the token goes there first */
    if (omcf->store) {
        (void) ngx_http_intercom_oauth_store_token_delete(r,
                                                          &olcf->client_id,
                                                          &olcf->realm, key);
    }

    return ngx_http_intercom_oauth_zone_token_delete(omcf->shm_zone,
                                                     &olcf->client_id,
                                                     &olcf->realm, key);
}


ngx_uint_t
ngx_http_intercom_oauth_storage_workspace_delete(ngx_http_request_t *r,
    ngx_str_t *workspace_id)
{
    ngx_uint_t                            n;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    n = ngx_http_intercom_oauth_zone_workspace_delete(omcf->shm_zone,
                                                      &olcf->client_id,
                                                      workspace_id);

    if (omcf->store) {
        (void) ngx_http_intercom_oauth_store_workspace_delete(r,
                                                          &olcf->client_id,
                                                          workspace_id, NULL);
    }

    return n;
}


ngx_int_t
ngx_http_intercom_oauth_storage_workspace_token(ngx_http_request_t *r,
    ngx_str_t *workspace_id, ngx_http_intercom_oauth_storage_next_pt next)
{
    ngx_int_t                             rc;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_intercom_oauth_zone_workspace_token(omcf->shm_zone,
                                                      &olcf->client_id,
                                                      workspace_id, r->pool,
                                                      &ctx->record.token);
    if (rc != NGX_DECLINED || omcf->store == NULL) {
        return next(r, rc);
    }

    /* this host never held one: another host's may be in the store */
    if (ngx_http_intercom_oauth_store_workspace_token(r, &olcf->client_id,
                                 workspace_id,
                                 ngx_http_intercom_oauth_storage_token_reply)
        != NGX_AGAIN)
    {
        return next(r, NGX_ERROR);
    }

    ctx->storage_next = next;

    return ngx_http_intercom_oauth_wait(r);
}


static void
ngx_http_intercom_oauth_storage_token_reply(ngx_http_request_t *r,
    ngx_int_t rc)
{
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (rc == NGX_OK && ctx->record.token.len == 0) {
        rc = NGX_DECLINED;
    }

    ngx_http_intercom_oauth_resume(r, ctx->storage_next(r, rc));
}


ngx_int_t
ngx_http_intercom_oauth_storage_workspace_forget(ngx_http_request_t *r,
    ngx_str_t *workspace_id, ngx_http_intercom_oauth_storage_next_pt next)
{
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->deleted = ngx_http_intercom_oauth_zone_workspace_delete(
                                    omcf->shm_zone, &olcf->client_id,
                                    workspace_id);

    if (omcf->store == NULL) {
        return next(r, NGX_OK);
    }

    /*
     * Every host reads Redis on a miss: a delete that did not happen
     * there brings the tokens back everywhere, so the answer waits for it.
     */
    if (ngx_http_intercom_oauth_store_workspace_delete(r, &olcf->client_id,
                                 workspace_id,
                                 ngx_http_intercom_oauth_storage_forget_reply)
        != NGX_AGAIN)
    {
        return next(r, NGX_ERROR);
    }

    ctx->storage_next = next;

    return ngx_http_intercom_oauth_wait(r);
}


static void
ngx_http_intercom_oauth_storage_forget_reply(ngx_http_request_t *r,
    ngx_int_t rc)
{
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    /* the zone holds this host's copies, the store every host's tokens */
    if (rc == NGX_OK && ctx->store_deleted > ctx->deleted) {
        ctx->deleted = ctx->store_deleted;
    }

    ngx_http_intercom_oauth_resume(r, ctx->storage_next(r, rc));
}


ngx_int_t
ngx_http_intercom_oauth_storage_token_load(ngx_http_request_t *r)
{
    time_t                                stored;
    ngx_str_t                             key;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    if (!ngx_http_intercom_oauth_storage_loads(r)
        || ngx_http_intercom_oauth_key(r, &key) != NGX_OK
        || key.len == 0 || key.len > NGX_HTTP_INTERCOM_OAUTH_MAX_KEY)
    {
        /* no key, nothing to load: no context either, on any page */
        return NGX_DECLINED;
    }

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    /*
     * Once per key: the rewrite phase loads the key it sees, and the
     * access and precontent phases load again only when the key has
     * changed since (auth_request_set may set what intercom_oauth_key
     * reads after the rewrite phase).  The key's bytes stay as they are
     * for the request's life: the cookie's, or a complex value's own
     * copy.
     */
    if (ctx->token_loaded
        && key.len == ctx->loaded_key.len
        && ngx_memcmp(key.data, ctx->loaded_key.data, key.len) == 0)
    {
        return NGX_DECLINED;
    }

    ctx->token_loaded = 1;
    ctx->loaded_key = key;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (ngx_http_intercom_oauth_zone_token_get(omcf->shm_zone,
                                               &olcf->client_id, &olcf->realm,
                                               &key, NULL, NULL, &stored)
        == NGX_OK)
    {
        if (ngx_time() - stored < omcf->store->cache_ttl) {
            return NGX_DECLINED;
        }

        ctx->token_cached = 1;

    } else if (omcf->store->miss_ttl
               && ngx_http_intercom_oauth_zone_miss_get(omcf->shm_zone,
                                                        &olcf->client_id,
                                                        &olcf->realm, &key,
                                                        &stored)
                  == NGX_OK
               && ngx_time() - stored < omcf->store->miss_ttl)
    {
        /* Redis had none a moment ago: one GET per key per miss_ttl */
        return NGX_DECLINED;
    }

    ctx->key = key;

    if (ngx_http_intercom_oauth_store_token_get(r, &olcf->client_id,
                                  &olcf->realm, &key,
                                  ngx_http_intercom_oauth_storage_load_reply)
        != NGX_AGAIN)
    {
        /* the store is down: the zone answers alone */
        return NGX_DECLINED;
    }

    return NGX_DONE;
}


/* whether the request's location reads tokens the store may have */

static ngx_uint_t
ngx_http_intercom_oauth_storage_loads(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    return omcf && omcf->store && omcf->shm_zone
           && olcf->client_id.len && r == r->main
           && (olcf->handler == NULL
               || (olcf->handler->needs & NGX_HTTP_INTERCOM_OAUTH_NEEDS_TOKEN));
}


/* the token is in the zone now, or not: run the phases again */

static void
ngx_http_intercom_oauth_storage_load_reply(ngx_http_request_t *r,
    ngx_int_t rc)
{
    ngx_connection_t                     *c;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    c = r->connection;
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (rc == NGX_DECLINED) {
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_MISSES);

        if (ctx->token_cached
            && ngx_http_intercom_oauth_zone_token_delete(omcf->shm_zone,
                                                         &olcf->client_id,
                                                         &olcf->realm,
                                                         &ctx->key)
               == NGX_OK)
        {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "intercom oauth: store: the token cached here was "
                          "deleted in Redis (disconnect or uninstall on "
                          "another host); forgotten here too");
        }

        if (omcf->store->miss_ttl) {
            (void) ngx_http_intercom_oauth_zone_miss_put(omcf->shm_zone,
                                                         &olcf->client_id,
                                                         &olcf->realm,
                                                         &ctx->key);
        }

    } else if (rc == NGX_OK) {
        if (ngx_http_intercom_oauth_zone_token_put(omcf->shm_zone,
                                                   &olcf->client_id,
                                                   &olcf->realm, &ctx->key,
                                                   &ctx->record)
            == NGX_OK)
        {
            ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                      NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_HITS);

        } else {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "intercom oauth: store: a token read from Redis "
                          "does not fit in intercom_oauth_zone \"%V\"",
                          &omcf->shm_zone->shm.name);
        }

        ngx_explicit_memzero(ctx->record.token.data, ctx->record.token.len);
        ngx_memzero(&ctx->record, sizeof(ngx_http_intercom_oauth_record_t));
    }

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}
