
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
static ngx_int_t ngx_http_intercom_oauth_store_token_name(
    ngx_http_request_t *r, ngx_str_t *client_id, ngx_str_t *key,
    ngx_str_t *out);
static ngx_int_t ngx_http_intercom_oauth_store_name(ngx_http_request_t *r,
    char *kind, ngx_str_t *client_id, ngx_str_t *tail, ngx_str_t *out);
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
 * the old workspace cannot delete the new token.  KEYS[1]: the token's
 * key; ARGV[1]: the sealed value; ARGV[2]: the set's name, or "".
 */
static ngx_str_t  ngx_http_intercom_oauth_store_put_script = ngx_string(
    "local ws = KEYS[1] .. ':ws' "
    "local old = redis.call('GET', ws) "
    "if old and old ~= ARGV[2] then redis.call('SREM', old, KEYS[1]) end "
    "redis.call('SET', KEYS[1], ARGV[1]) "
    "if ARGV[2] == '' then redis.call('DEL', ws) else "
    "redis.call('SADD', ARGV[2], KEYS[1]) "
    "redis.call('SET', ws, ARGV[2]) end "
    "return redis.status_reply('OK')");

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
    u_char                               *p;
    ngx_str_t                             argv[6];
    u_char                                ttl[NGX_INT_T_LEN];
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    argv[1].len = omcf->store->prefix.len + sizeof("state:") - 1
                  + 2 * NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN;

    argv[1].data = ngx_pnalloc(r->pool, argv[1].len);
    if (argv[1].data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(argv[1].data, omcf->store->prefix.data,
                   omcf->store->prefix.len);
    p = ngx_cpymem(p, "state:", sizeof("state:") - 1);
    (void) ngx_hex_dump(p, nonce, NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN);

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


ngx_int_t
ngx_http_intercom_oauth_store_token_put(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *key,
    ngx_http_intercom_oauth_record_t *rec,
    ngx_http_intercom_oauth_store_reply_pt reply)
{
    ngx_int_t                             rc;
    ngx_str_t                             name, plain, sealed, set;
    ngx_str_t                             argv[6];
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
        || ngx_http_intercom_oauth_store_token_name(r, client_id, key, &name)
           != NGX_OK)
    {
        return NGX_ERROR;
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
    ngx_str_set(&argv[2], "1");
    argv[3] = name;
    argv[4] = sealed;
    argv[5] = set;

    ngx_http_intercom_oauth_store_count(r,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_WRITES);

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    ctx->store_name = name;

    return ngx_http_intercom_oauth_store_wait(r, "write", 6, argv, reply,
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

    if (omcf->store->wait_replicas == 0
        || reply == NULL || reply->type != REDIS_REPLY_STATUS)
    {
        ngx_http_intercom_oauth_store_set_reply(data, reply, why);
        return;
    }

    ctx = ngx_http_intercom_oauth_store_answered(r);

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
        goto failed;
    }

    return;

failed:

    ngx_http_intercom_oauth_store_unwrite(r, ctx);
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
    ngx_str_t *client_id, ngx_str_t *key,
    ngx_http_intercom_oauth_store_reply_pt reply)
{
    ngx_str_t                       argv[2];
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (ngx_http_intercom_oauth_store_token_name(r, client_id, key,
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
    ngx_str_t *client_id, ngx_str_t *key)
{
    u_char     *p;
    ngx_str_t   argv[3];

    if (ngx_http_intercom_oauth_store_token_name(r, client_id, key, &argv[1])
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
ngx_http_intercom_oauth_store_workspace_delete(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *workspace_id)
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

    return ngx_http_intercom_oauth_store_forget(r, 4, argv);
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


/* commands nobody waits for: only a failure is worth a line */

static void
ngx_http_intercom_oauth_store_forget_reply(void *data, redisReply *reply,
    const char *why)
{
    if (reply && reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "intercom oauth: store: a delete or index update failed: "
                  "%s%*s", reply ? "" : why,
                  reply ? (size_t) ngx_min(reply->len, 200) : 0,
                  reply ? reply->str : "");
}


/*
 * <prefix>token:<client id>:<hex HMAC-SHA256(names key, client id:key)>.
 * The key is a session id or the site's own user key: a credential of the
 * site, which nobody who can list Redis's keys should learn.
 */

static ngx_int_t
ngx_http_intercom_oauth_store_token_name(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *key, ngx_str_t *out)
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
        || HMAC_Update(h, (u_char *) ":", 1) != 1
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
                                            "not connected");
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
