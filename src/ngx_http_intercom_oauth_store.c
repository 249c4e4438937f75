
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Store operations on top of the worker's Redis connection: the layout of
 * keys and the commands requests wait for.
 *
 * A request waits for at most one command at a time.  The command is
 * remembered in the request's context; a pool cleanup cancels it when the
 * request is freed first (client gone), so a late reply finds nobody.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_intercom_oauth_record.h"
#include "ngx_http_intercom_oauth_redis.h"
#include "ngx_http_intercom_oauth_seal.h"
#include "ngx_http_intercom_oauth_state.h"
#include "ngx_http_intercom_oauth_store.h"
#include "ngx_http_intercom_oauth_zone.h"


#define ngx_http_intercom_oauth_store_state_len(store)                       \
    ((store)->prefix.len + sizeof("state:") - 1                               \
     + 2 * NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN)

/* what the key names are derived with (HMAC label) */
#define NGX_HTTP_INTERCOM_OAUTH_NAMES_LABEL  "intercom_oauth_store key names"


static ngx_int_t ngx_http_intercom_oauth_store_wait(ngx_http_request_t *r,
    char *op, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_intercom_oauth_store_reply_pt reply,
    ngx_http_intercom_oauth_redis_handler_pt handler);
static void ngx_http_intercom_oauth_store_put_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_replicas_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_unwrite(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx);
static void ngx_http_intercom_oauth_store_cancel(void *data);
static ngx_http_intercom_oauth_ctx_t *ngx_http_intercom_oauth_store_answered(
    ngx_http_request_t *r);
static void ngx_http_intercom_oauth_store_set_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_get_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_forget_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_deleted_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_any_reply(void *data,
    redisReply *reply, const char *why);
static ngx_int_t ngx_http_intercom_oauth_store_token_name(
    ngx_http_request_t *r, ngx_str_t *client_id, ngx_str_t *realm,
    ngx_str_t *key, ngx_str_t *out);
static ngx_int_t ngx_http_intercom_oauth_store_name(ngx_http_request_t *r,
    char *kind, ngx_str_t *client_id, ngx_str_t *tail, ngx_str_t *out);
static void ngx_http_intercom_oauth_store_state_name(
    ngx_http_intercom_oauth_store_conf_t *store, u_char *nonce,
    ngx_str_t *name);
static ngx_int_t ngx_http_intercom_oauth_store_forget(ngx_http_request_t *r,
    ngx_uint_t argc, ngx_str_t *argv);
static void ngx_http_intercom_oauth_store_error(ngx_http_request_t *r,
    char *what, redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_count(ngx_http_request_t *r,
    ngx_http_intercom_oauth_counter_e counter);


/*
 * Writing a token, atomically: the sealed value, and beside it ("KEY:ws")
 * the workspace set that lists the key.  A key whose token now belongs to
 * another workspace, or to none, leaves the old set, so that uninstalling
 * the old workspace cannot delete the new token.  The same script deletes
 * the tokens of the session the callback replaced, so that the browser
 * is told it is connected only once its old session holds nothing, and a
 * write that fails leaves them as they were.  KEYS[1]: the token's key;
 * KEYS[2...]: the replaced session's token keys; ARGV[1]: the sealed
 * value; ARGV[2]: the set's name, or "".  Returns how many tokens of the
 * replaced session it deleted.
 */
static ngx_str_t  ngx_http_intercom_oauth_store_put_script = ngx_string(
    "local ws = KEYS[1] .. ':ws' "
    "local old = redis.call('GET', ws) "
    "if old and old ~= ARGV[2] then redis.call('SREM', old, KEYS[1]) end "
    "redis.call('SET', KEYS[1], ARGV[1]) "
    "if ARGV[2] == '' then redis.call('DEL', ws) else "
    "redis.call('SADD', ARGV[2], KEYS[1]) "
    "redis.call('SET', ws, ARGV[2]) end "
    "local n = 0 "
    "for i = 2, #KEYS do "
    "local w = redis.call('GET', KEYS[i] .. ':ws') "
    "if w then redis.call('SREM', w, KEYS[i]) end "
    "n = n + redis.call('DEL', KEYS[i]) "
    "redis.call('DEL', KEYS[i] .. ':ws') end "
    "return n");

/*
 * The uninstall webhook: every token key of the set that still belongs to
 * this workspace, then the set.  KEYS[1]: the set.
 */
static ngx_str_t  ngx_http_intercom_oauth_store_forget_script = ngx_string(
    "local n = 0 "
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    "if redis.call('GET', k .. ':ws') == KEYS[1] then "
    "redis.call('DEL', k, k .. ':ws') n = n + 1 end end "
    "redis.call('DEL', KEYS[1]) "
    "return n");


/*
 * The uninstall webhook asks Intercom about one token of the workspace:
 * the first key of the set whose token still belongs to the workspace,
 * and its sealed value; members that moved to another workspace leave
 * the set on the way (an emptied set is gone).  KEYS[1]: the set.
 */
static ngx_str_t  ngx_http_intercom_oauth_store_any_script = ngx_string(
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    "local v = redis.call('GET', k) "
    "if v and redis.call('GET', k .. ':ws') == KEYS[1] then "
    "return {k, v} end "
    "redis.call('SREM', KEYS[1], k) end "
    "return false");


char *
ngx_http_intercom_oauth_store_key(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *secret = data;

    ngx_http_intercom_oauth_store_conf_t  *sc;

    sc = (ngx_http_intercom_oauth_store_conf_t *)
             ((u_char *) secret
              - offsetof(ngx_http_intercom_oauth_store_conf_t, secret));

    /*
     * Two keys from one secret: SHA-256 of it seals the values, and
     * HMAC-SHA256(that, label) names the keys.
     */
    if (EVP_Digest(secret->data, secret->len, sc->seal_key, NULL,
                   EVP_sha256(), NULL)
        != 1
        || HMAC(EVP_sha256(), sc->seal_key, 32,
                (u_char *) NGX_HTTP_INTERCOM_OAUTH_NAMES_LABEL,
                sizeof(NGX_HTTP_INTERCOM_OAUTH_NAMES_LABEL) - 1,
                sc->names_key, NULL)
           == NULL)
    {
        return NGX_CONF_ERROR;
    }

    /* only the derived keys are kept; "data" stays set: "is duplicate" */
    ngx_explicit_memzero(secret->data, secret->len);
    secret->len = 0;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_intercom_oauth_store_state_claim(ngx_http_request_t *r,
    u_char *nonce, ngx_msec_t ttl_ms,
    ngx_http_intercom_oauth_store_reply_pt reply)
{
    ngx_str_t                             argv[6];
    u_char                                ttl[NGX_INT_T_LEN];
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    argv[1].data = ngx_pnalloc(r->pool,
                       ngx_http_intercom_oauth_store_state_len(omcf->store));
    if (argv[1].data == NULL) {
        return NGX_ERROR;
    }

    ngx_http_intercom_oauth_store_state_name(omcf->store, nonce, &argv[1]);

    ngx_str_set(&argv[0], "SET");
    ngx_str_set(&argv[2], "1");
    ngx_str_set(&argv[3], "NX");
    ngx_str_set(&argv[4], "PX");
    argv[5].data = ttl;
    argv[5].len = ngx_sprintf(ttl, "%M", ttl_ms) - ttl;

    return ngx_http_intercom_oauth_store_wait(r, "state claim", 6, argv,
                                    reply,
                                    ngx_http_intercom_oauth_store_set_reply);
}


/*
 * Runs in a cleanup of r's pool too, when r->pool is NULL already: the
 * key's name is made in memory of its own.
 */

ngx_int_t
ngx_http_intercom_oauth_store_state_release(ngx_http_request_t *r,
    u_char *nonce)
{
    ngx_int_t                             rc;
    ngx_str_t                             argv[2];
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    argv[1].data = ngx_alloc(
                       ngx_http_intercom_oauth_store_state_len(omcf->store),
                       r->connection->log);
    if (argv[1].data == NULL) {
        return NGX_ERROR;
    }

    ngx_http_intercom_oauth_store_state_name(omcf->store, nonce, &argv[1]);

    ngx_str_set(&argv[0], "DEL");

    /* hiredis has its own copy of the command once it is queued */
    rc = ngx_http_intercom_oauth_store_forget(r, 2, argv);

    ngx_free(argv[1].data);

    return rc;
}


ngx_int_t
ngx_http_intercom_oauth_store_token_put(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key,
    ngx_http_intercom_oauth_record_t *rec, ngx_str_t *replaced,
    ngx_http_intercom_oauth_store_reply_pt reply)
{
    ngx_int_t                             rc;
    ngx_str_t                             name, plain, sealed, set;
    ngx_str_t                            *argv, *ids;
    ngx_uint_t                            i, n, argc;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (!ngx_http_intercom_oauth_redis_ready()) {
        ngx_http_intercom_oauth_store_error(r, "write", NULL,
                                            "not connected");
        return NGX_ERROR;
    }

    plain.len = ngx_http_intercom_oauth_record_size(rec);

    if (plain.len == 0
        || ngx_http_intercom_oauth_store_token_name(r, client_id, realm, key,
                                                    &name)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the replaced session's tokens, of every client id, in this realm */
    n = (replaced && replaced->len && omcf->client_ids)
        ? omcf->client_ids->nelts : 0;
    ids = n ? omcf->client_ids->elts : NULL;
    argc = 6 + n;

    argv = ngx_palloc(r->pool, argc * sizeof(ngx_str_t));
    if (argv == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_intercom_oauth_store_token_name(r, &ids[i], realm,
                                                     replaced, &argv[4 + i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    plain.data = ngx_pnalloc(r->pool, plain.len);
    if (plain.data == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_http_intercom_oauth_record_write(plain.data, rec);

    rc = ngx_http_intercom_oauth_seal(r->pool, omcf->store->seal_key, &name,
                                      &plain, &sealed);

    ngx_explicit_memzero(plain.data, plain.len);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: store: sealing the token failed");
        return NGX_ERROR;
    }

    ngx_str_set(&set, "");

    /* the uninstall webhook finds the workspace's keys in this set */
    if (rec->identity && rec->workspace_id.len
        && ngx_http_intercom_oauth_store_name(r, "workspace", client_id,
                                              &rec->workspace_id, &set)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = ngx_http_intercom_oauth_store_put_script;
    argv[2].data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (argv[2].data == NULL) {
        return NGX_ERROR;
    }

    argv[2].len = ngx_sprintf(argv[2].data, "%ui", 1 + n) - argv[2].data;
    argv[3] = name;
    argv[4 + n] = sealed;
    argv[5 + n] = set;

    ngx_http_intercom_oauth_store_count(r,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_WRITES);

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    ctx->store_name = name;

    return ngx_http_intercom_oauth_store_wait(r, "write", argc, argv, reply,
                                    ngx_http_intercom_oauth_store_put_reply);
}


/* intercom_oauth_store_wait REPLICAS [TIMEOUT] */

char *
ngx_http_intercom_oauth_store_wait_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf = conf;

    ngx_int_t                              n;
    ngx_str_t                             *value;
    ngx_msec_t                             ms;
    ngx_http_intercom_oauth_store_conf_t  *sc;

    sc = &omcf->store_conf;

    if (sc->wait_timeout) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);
    if (n == NGX_ERROR || n < 1 || n > 64) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store_wait\" takes a number "
                           "of replicas from 1 to 64, not \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    ms = 1000;

    if (cf->args->nelts == 3) {
        ms = ngx_parse_time(&value[2], 0);
        if (ms == (ngx_msec_t) NGX_ERROR || ms == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_store_wait\": invalid "
                               "timeout \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    sc->wait_replicas = n;
    sc->wait_timeout = ms;

    return NGX_CONF_OK;
}


/*
 * The token is on the primary.  With intercom_oauth_store_wait, the
 * callback is answered only once WAIT says enough replicas have it too: a
 * primary that dies now loses no token the browser was told about.
 */

static void
ngx_http_intercom_oauth_store_put_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_str_t                             argv[3];
    ngx_http_request_t                   *r = data;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;
    u_char                                n[NGX_INT_T_LEN];
    u_char                                ms[NGX_INT_T_LEN];

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_intercom_oauth_store_answered(r);

    /* the write script answers how many of the replaced session's tokens
     * it deleted */
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ngx_http_intercom_oauth_store_error(r, ctx->store_op, reply, why);
        ctx->store_reply(r, NGX_ERROR);
        return;
    }

    ctx->store_deleted = reply->integer > 0 ? (ngx_uint_t) reply->integer : 0;

    if (omcf->store->wait_replicas == 0) {
        ctx->store_reply(r, NGX_OK);
        return;
    }

    ngx_str_set(&argv[0], "WAIT");
    argv[1].data = n;
    argv[1].len = ngx_sprintf(n, "%ui", omcf->store->wait_replicas) - n;
    argv[2].data = ms;
    argv[2].len = ngx_sprintf(ms, "%M", omcf->store->wait_timeout) - ms;

    ctx->store_cmd = ngx_http_intercom_oauth_redis_command_extra(
                                  ngx_http_intercom_oauth_store_replicas_reply,
                                  r, 3, argv, omcf->store->wait_timeout);

    if (ctx->store_cmd == NULL) {
        ngx_http_intercom_oauth_store_error(r, "write", NULL,
                                            "WAIT could not be sent");
        ngx_http_intercom_oauth_store_unwrite(r, ctx);
    }
}


static void
ngx_http_intercom_oauth_store_replicas_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_http_request_t                   *r = data;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    ctx = ngx_http_intercom_oauth_store_answered(r);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (reply && reply->type == REDIS_REPLY_INTEGER
        && reply->integer >= (long long) omcf->store->wait_replicas)
    {
        ctx->store_reply(r, NGX_OK);
        return;
    }

    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: store: the token reached %L of %ui "
                      "replicas in %M ms (intercom_oauth_store_wait); not "
                      "kept", (int64_t) reply->integer,
                      omcf->store->wait_replicas, omcf->store->wait_timeout);
        ngx_http_intercom_oauth_store_count(r,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_ERRORS);

    } else {
        ngx_http_intercom_oauth_store_error(r, "write (WAIT)", reply, why);
    }

    ngx_http_intercom_oauth_store_unwrite(r, ctx);
}


/*
 * The token did not reach enough replicas: the callback fails, and the
 * primary's copy is deleted (best effort) so that no host reads a token
 * the browser was told is not there.
 */

static void
ngx_http_intercom_oauth_store_unwrite(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   argv[3];

    p = ngx_pnalloc(r->pool, ctx->store_name.len + sizeof(":ws") - 1);

    if (p) {
        ngx_str_set(&argv[0], "DEL");
        argv[1] = ctx->store_name;
        argv[2].data = p;
        argv[2].len = ngx_cpymem(ngx_cpymem(p, ctx->store_name.data,
                                            ctx->store_name.len),
                                 ":ws", sizeof(":ws") - 1)
                      - p;
        (void) ngx_http_intercom_oauth_store_forget(r, 3, argv);
    }

    ctx->store_reply(r, NGX_ERROR);
}


ngx_int_t
ngx_http_intercom_oauth_store_token_get(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key,
    ngx_http_intercom_oauth_store_reply_pt reply)
{
    ngx_str_t                       argv[2];
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (ngx_http_intercom_oauth_store_token_name(r, client_id, realm, key,
                                                 &ctx->store_name)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_intercom_oauth_store_count(r,
                                     NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_READS);

    ngx_str_set(&argv[0], "GET");
    argv[1] = ctx->store_name;

    if (ngx_http_intercom_oauth_store_wait(r, "read", 2, argv, reply,
                                    ngx_http_intercom_oauth_store_get_reply)
        != NGX_AGAIN)
    {
        ngx_http_intercom_oauth_store_error(r, "read", NULL,
                                            "not connected");
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


ngx_int_t
ngx_http_intercom_oauth_store_token_delete(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key)
{
    u_char     *p;
    ngx_str_t   argv[3];

    if (ngx_http_intercom_oauth_store_token_name(r, client_id, realm, key,
                                                 &argv[1])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the token and the name of its workspace set (see the put script) */
    p = ngx_pnalloc(r->pool, argv[1].len + sizeof(":ws") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&argv[0], "DEL");
    argv[2].data = p;
    argv[2].len = ngx_cpymem(ngx_cpymem(p, argv[1].data, argv[1].len),
                             ":ws", sizeof(":ws") - 1)
                  - p;

    return ngx_http_intercom_oauth_store_forget(r, 3, argv);
}


ngx_int_t
ngx_http_intercom_oauth_store_workspace_token(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *workspace_id,
    ngx_http_intercom_oauth_store_reply_pt reply)
{
    ngx_str_t  argv[4];

    if (ngx_http_intercom_oauth_store_name(r, "workspace", client_id,
                                           workspace_id, &argv[3])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = ngx_http_intercom_oauth_store_any_script;
    ngx_str_set(&argv[2], "1");

    ngx_http_intercom_oauth_store_count(r,
                                     NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_READS);

    if (ngx_http_intercom_oauth_store_wait(r, "read", 4, argv, reply,
                                    ngx_http_intercom_oauth_store_any_reply)
        != NGX_AGAIN)
    {
        ngx_http_intercom_oauth_store_error(r, "read", NULL,
                                            "not connected");
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


ngx_int_t
ngx_http_intercom_oauth_store_workspace_delete(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *workspace_id,
    ngx_http_intercom_oauth_store_reply_pt reply)
{
    ngx_str_t  argv[4];

    if (ngx_http_intercom_oauth_store_name(r, "workspace", client_id,
                                           workspace_id, &argv[3])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&argv[0], "EVAL");
    argv[1] = ngx_http_intercom_oauth_store_forget_script;
    ngx_str_set(&argv[2], "1");

    if (reply == NULL) {
        return ngx_http_intercom_oauth_store_forget(r, 4, argv);
    }

    if (ngx_http_intercom_oauth_store_wait(r, "delete", 4, argv, reply,
                                ngx_http_intercom_oauth_store_deleted_reply)
        != NGX_AGAIN)
    {
        ngx_http_intercom_oauth_store_error(r, "delete", NULL,
                                            "not connected");
        return NGX_ERROR;
    }

    return NGX_AGAIN;
}


/*
 * Sends a command the request waits for.  Returns NGX_AGAIN, or NGX_ERROR
 * when it could not be sent.
 */

static ngx_int_t
ngx_http_intercom_oauth_store_wait(ngx_http_request_t *r, char *op,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_intercom_oauth_store_reply_pt reply,
    ngx_http_intercom_oauth_redis_handler_pt handler)
{
    ngx_pool_cleanup_t             *cln;
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (!ctx->store_cleanup) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_intercom_oauth_store_cancel;
        cln->data = ctx;
        ctx->store_cleanup = 1;
    }

    ctx->store_cmd = ngx_http_intercom_oauth_redis_command(handler, r, argc,
                                                           argv);
    if (ctx->store_cmd == NULL) {
        return NGX_ERROR;
    }

    ctx->store_reply = reply;
    ctx->store_op = op;

    return NGX_AGAIN;
}


static void
ngx_http_intercom_oauth_store_cancel(void *data)
{
    ngx_http_intercom_oauth_ctx_t  *ctx = data;

    if (ctx->store_cmd) {
        ngx_http_intercom_oauth_redis_cancel(ctx->store_cmd);
        ctx->store_cmd = NULL;
    }
}


/* the request's context, with its command marked answered */

static ngx_http_intercom_oauth_ctx_t *
ngx_http_intercom_oauth_store_answered(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    ctx->store_cmd = NULL;

    return ctx;
}


/*
 * SET answers OK, or nil when NX found the key: the state claim's "used
 * already".  Anything else is a failure.
 */

static void
ngx_http_intercom_oauth_store_set_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_int_t                       rc;
    ngx_http_request_t             *r = data;
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_intercom_oauth_store_answered(r);

    if (reply && reply->type == REDIS_REPLY_STATUS) {
        rc = NGX_OK;

    } else if (reply && reply->type == REDIS_REPLY_NIL) {
        rc = NGX_DECLINED;

    } else {
        ngx_http_intercom_oauth_store_error(r, ctx->store_op, reply, why);
        rc = NGX_ERROR;
    }

    ctx->store_reply(r, rc);
}


/* GET: nil, or a sealed record opened into ctx->record */

static void
ngx_http_intercom_oauth_store_get_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_int_t                             rc;
    ngx_str_t                             in, plain;
    ngx_http_request_t                   *r = data;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    ctx = ngx_http_intercom_oauth_store_answered(r);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (reply && reply->type == REDIS_REPLY_NIL) {
        ctx->store_reply(r, NGX_DECLINED);
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        ngx_http_intercom_oauth_store_error(r, "read", reply, why);
        ctx->store_reply(r, NGX_ERROR);
        return;
    }

    in.data = (u_char *) reply->str;
    in.len = reply->len;

    rc = ngx_http_intercom_oauth_seal_open(r->pool, omcf->store->seal_key,
                                           &ctx->store_name, &in, &plain);

    if (rc == NGX_OK
        && ngx_http_intercom_oauth_record_read(&plain, &ctx->record)
           != NGX_OK)
    {
        ngx_explicit_memzero(plain.data, plain.len);
        rc = NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: store: a token in Redis does not open "
                      "with intercom_oauth_store_key under its key "
                      "(another key, a value copied from elsewhere, or "
                      "altered); ignored");
        ngx_http_intercom_oauth_store_count(r,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_ERRORS);
        ctx->store_reply(r, NGX_ERROR);
        return;
    }

    ctx->store_reply(r, NGX_OK);
}


/* nil, or [Redis key name, sealed record] opened into ctx->record */

static void
ngx_http_intercom_oauth_store_any_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_str_t                             in, plain;
    ngx_http_request_t                   *r = data;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    ctx = ngx_http_intercom_oauth_store_answered(r);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (reply && reply->type == REDIS_REPLY_NIL) {
        ctx->store_reply(r, NGX_DECLINED);
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        ngx_http_intercom_oauth_store_error(r, "read", reply, why);
        ctx->store_reply(r, NGX_ERROR);
        return;
    }

    ctx->store_name.len = reply->element[0]->len;
    ctx->store_name.data = ngx_pnalloc(r->pool, ctx->store_name.len + 1);
    if (ctx->store_name.data == NULL) {
        ctx->store_reply(r, NGX_ERROR);
        return;
    }

    ngx_memcpy(ctx->store_name.data, reply->element[0]->str,
               ctx->store_name.len);

    in.data = (u_char *) reply->element[1]->str;
    in.len = reply->element[1]->len;

    if (ngx_http_intercom_oauth_seal_open(r->pool, omcf->store->seal_key,
                                          &ctx->store_name, &in, &plain)
        != NGX_OK
        || ngx_http_intercom_oauth_record_read(&plain, &ctx->record)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: store: a token in Redis does not open "
                      "with intercom_oauth_store_key under its key "
                      "(another key, a value copied from elsewhere, or "
                      "altered); ignored");
        ngx_http_intercom_oauth_store_count(r,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_ERRORS);
        ctx->store_reply(r, NGX_ERROR);
        return;
    }

    ctx->store_reply(r, NGX_OK);
}


/* the workspace delete the webhook waits for: how many tokens went */

static void
ngx_http_intercom_oauth_store_deleted_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_http_request_t             *r = data;
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_intercom_oauth_store_answered(r);

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer < 0)
    {
        ngx_http_intercom_oauth_store_error(r, ctx->store_op, reply, why);
        ctx->store_reply(r, NGX_ERROR);
        return;
    }

    ctx->store_deleted = (ngx_uint_t) reply->integer;

    ctx->store_reply(r, NGX_OK);
}


/*
 * Commands nobody waits for (the disconnect's deletes): only a failure is
 * worth a line, and it says what it leaves: the token is still in Redis,
 * where every host's next miss finds it again.
 */

static void
ngx_http_intercom_oauth_store_forget_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    if (reply && reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_intercom_oauth_module);

    if (omcf && omcf->shm_zone) {
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_ERRORS);
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "intercom oauth: store: a delete or index update failed: "
                  "%s%*s; Redis still holds the token(s), every host can "
                  "read them again", reply ? "" : why,
                  reply ? (size_t) ngx_min(reply->len, 200) : 0,
                  reply ? reply->str : "");
}


/*
 * <prefix>token:<client id>:<hex HMAC-SHA256(names key, what)>, where
 * "what" is "client id \0 realm \0 key", or "client id:key" in the empty
 * realm (the names of 0.1.0, whose tokens that realm still finds).  The
 * key is a session id or the site's own user key: a credential of the
 * site, which nobody who can list Redis's keys should learn.  Neither a
 * client id nor a realm holds a NUL, so no two triples share a name, and
 * the byte after the client id tells the two forms apart.
 */

static ngx_int_t
ngx_http_intercom_oauth_store_token_name(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *realm, ngx_str_t *key, ngx_str_t *out)
{
    u_char                               *hex;
    unsigned int                          len;
    ngx_str_t                             name;
    HMAC_CTX                             *h;
    u_char                                mac[EVP_MAX_MD_SIZE];
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    h = HMAC_CTX_new();
    if (h == NULL) {
        return NGX_ERROR;
    }

    if (HMAC_Init_ex(h, omcf->store->names_key, 32, EVP_sha256(), NULL) != 1
        || HMAC_Update(h, client_id->data, client_id->len) != 1
        || (realm->len == 0
            && HMAC_Update(h, (u_char *) ":", 1) != 1)
        || (realm->len
            && (HMAC_Update(h, (u_char *) "\0", 1) != 1
                || HMAC_Update(h, realm->data, realm->len) != 1
                || HMAC_Update(h, (u_char *) "\0", 1) != 1))
        || HMAC_Update(h, key->data, key->len) != 1
        || HMAC_Final(h, mac, &len) != 1)
    {
        HMAC_CTX_free(h);
        return NGX_ERROR;
    }

    HMAC_CTX_free(h);

    hex = ngx_pnalloc(r->pool, 2 * len);
    if (hex == NULL) {
        return NGX_ERROR;
    }

    name.data = hex;
    name.len = ngx_hex_dump(hex, mac, len) - hex;

    return ngx_http_intercom_oauth_store_name(r, "token", client_id, &name,
                                              out);
}


/* <prefix><kind>:<client id>:<tail> */

static ngx_int_t
ngx_http_intercom_oauth_store_name(ngx_http_request_t *r, char *kind,
    ngx_str_t *client_id, ngx_str_t *tail, ngx_str_t *out)
{
    u_char                               *p;
    size_t                                klen;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    klen = ngx_strlen(kind);

    out->len = omcf->store->prefix.len + klen + 2 + client_id->len
               + tail->len;

    out->data = ngx_pnalloc(r->pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, omcf->store->prefix.data,
                   omcf->store->prefix.len);
    p = ngx_cpymem(p, kind, klen);
    *p++ = ':';
    p = ngx_cpymem(p, client_id->data, client_id->len);
    *p++ = ':';
    ngx_memcpy(p, tail->data, tail->len);

    return NGX_OK;
}


/* <prefix>state:<nonce, hex>, into name->data of state_len() bytes */

static void
ngx_http_intercom_oauth_store_state_name(
    ngx_http_intercom_oauth_store_conf_t *store, u_char *nonce,
    ngx_str_t *name)
{
    u_char  *p;

    p = ngx_cpymem(name->data, store->prefix.data, store->prefix.len);
    p = ngx_cpymem(p, "state:", sizeof("state:") - 1);
    p = ngx_hex_dump(p, nonce, NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN);

    name->len = p - name->data;
}


/* a command nobody waits for; its failure is logged when it comes */

static ngx_int_t
ngx_http_intercom_oauth_store_forget(ngx_http_request_t *r, ngx_uint_t argc,
    ngx_str_t *argv)
{
    if (ngx_http_intercom_oauth_redis_command(
                                   ngx_http_intercom_oauth_store_forget_reply,
                                   NULL, argc, argv)
        == NULL)
    {
        ngx_http_intercom_oauth_store_error(r, "delete", NULL,
                                            "not connected; Redis still "
                                            "holds the token(s), every host "
                                            "can read them again");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* one line per failed operation; Redis's own error text is not secret */

static void
ngx_http_intercom_oauth_store_error(ngx_http_request_t *r, char *what,
    redisReply *reply, const char *why)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_store_count(r,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_ERRORS);

    if (reply && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: store \"%V\": %s failed: %*s",
                      &omcf->store->url, what,
                      (size_t) ngx_min(reply->len, 200), reply->str);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "intercom oauth: store \"%V\": %s failed: %s",
                  &omcf->store->url, what,
                  reply ? "unexpected reply" : (why ? why : "no reply"));
}


static void
ngx_http_intercom_oauth_store_count(ngx_http_request_t *r,
    ngx_http_intercom_oauth_counter_e counter)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone, counter);
}
