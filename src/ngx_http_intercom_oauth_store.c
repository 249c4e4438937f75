
/*
 * Store operations on top of the worker's Redis connection: the layout of
 * keys, the sealed record, and the requests that wait for Redis.
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
#include <openssl/rand.h>

#include "ngx_http_intercom_oauth_store.h"


#define NGX_HTTP_INTERCOM_OAUTH_SEAL_VERSION  0x01
#define NGX_HTTP_INTERCOM_OAUTH_SEAL_IV       12
#define NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG      16

/* record: version, flags, then six strings with a 16-bit length each */
#define NGX_HTTP_INTERCOM_OAUTH_RECORD_VERSION  0x01
#define NGX_HTTP_INTERCOM_OAUTH_RECORD_IDENTITY 0x01
#define NGX_HTTP_INTERCOM_OAUTH_RECORD_VERIFIED 0x02


static ngx_int_t ngx_http_intercom_oauth_store_wait(ngx_http_request_t *r,
    char *op, int argc, const char **argv, const size_t *argvlen,
    ngx_http_intercom_oauth_store_done_pt done,
    ngx_http_intercom_oauth_redis_handler_pt handler);
static void ngx_http_intercom_oauth_store_cancel(void *data);
static ngx_http_intercom_oauth_ctx_t *ngx_http_intercom_oauth_store_reply_ctx(
    void *data);
static void ngx_http_intercom_oauth_store_set_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_get_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_forget_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_store_load_done(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_intercom_oauth_store_token_key(
    ngx_http_request_t *r, ngx_str_t *client_id, ngx_str_t *key,
    ngx_str_t *out);
static ngx_int_t ngx_http_intercom_oauth_store_name(ngx_http_request_t *r,
    char *kind, ngx_str_t *client_id, ngx_str_t *tail, ngx_str_t *out);
static ngx_int_t ngx_http_intercom_oauth_store_forget(ngx_http_request_t *r,
    int argc, const char **argv, const size_t *argvlen);
static ngx_int_t ngx_http_intercom_oauth_store_encode(ngx_pool_t *pool,
    ngx_http_intercom_oauth_record_t *rec, ngx_str_t *out);
static ngx_int_t ngx_http_intercom_oauth_store_decode(ngx_str_t *in,
    ngx_http_intercom_oauth_record_t *rec);
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
static char  ngx_http_intercom_oauth_store_put_script[] =
    "local ws = KEYS[1] .. ':ws' "
    "local old = redis.call('GET', ws) "
    "if old and old ~= ARGV[2] then redis.call('SREM', old, KEYS[1]) end "
    "redis.call('SET', KEYS[1], ARGV[1]) "
    "if ARGV[2] == '' then redis.call('DEL', ws) else "
    "redis.call('SADD', ARGV[2], KEYS[1]) "
    "redis.call('SET', ws, ARGV[2]) end "
    "return redis.status_reply('OK')";

/*
 * The uninstall webhook: every token key of the set that still belongs to
 * this workspace, then the set.  KEYS[1]: the set.
 */
static char  ngx_http_intercom_oauth_store_forget_script[] =
    "local n = 0 "
    "for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    "if redis.call('GET', k .. ':ws') == KEYS[1] then "
    "redis.call('DEL', k, k .. ':ws') n = n + 1 end end "
    "redis.call('DEL', KEYS[1]) "
    "return n";


ngx_int_t
ngx_http_intercom_oauth_store_state_claim(ngx_http_request_t *r,
    u_char *nonce, ngx_msec_t ttl_ms,
    ngx_http_intercom_oauth_store_done_pt done)
{
    u_char                               *p;
    size_t                                argvlen[6];
    const char                           *argv[6];
    u_char                                ttl[NGX_INT_T_LEN];
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    argvlen[1] = omcf->store->prefix.len + sizeof("state:") - 1
                 + 2 * NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN;

    p = ngx_pnalloc(r->pool, argvlen[1]);
    if (p == NULL) {
        return NGX_ERROR;
    }

    argv[1] = (char *) p;
    p = ngx_cpymem(p, omcf->store->prefix.data, omcf->store->prefix.len);
    p = ngx_cpymem(p, "state:", sizeof("state:") - 1);
    (void) ngx_hex_dump(p, nonce, NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN);

    argv[0] = "SET";
    argvlen[0] = 3;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = "NX";
    argvlen[3] = 2;
    argv[4] = "PX";
    argvlen[4] = 2;
    argv[5] = (char *) ttl;
    argvlen[5] = ngx_sprintf(ttl, "%M", ttl_ms) - ttl;

    return ngx_http_intercom_oauth_store_wait(r, "state claim", 6, argv,
                                    argvlen, done,
                                    ngx_http_intercom_oauth_store_set_reply);
}


ngx_int_t
ngx_http_intercom_oauth_store_token_put(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *key,
    ngx_http_intercom_oauth_record_t *rec,
    ngx_http_intercom_oauth_store_done_pt done)
{
    size_t                                argvlen[6];
    ngx_int_t                             rc;
    ngx_str_t                             rkey, plain, sealed, set;
    const char                           *argv[6];
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (!ngx_http_intercom_oauth_redis_ready()) {
        ngx_http_intercom_oauth_store_error(r, "write", NULL,
                                            "not connected");
        return NGX_ERROR;
    }

    if (ngx_http_intercom_oauth_store_token_key(r, client_id, key, &rkey)
        != NGX_OK
        || ngx_http_intercom_oauth_store_encode(r->pool, rec, &plain)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_http_intercom_oauth_store_seal(r->pool, omcf->store->key, &rkey,
                                            &plain, &sealed);

    ngx_explicit_memzero(plain.data, plain.len);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: store: sealing the token failed");
        return NGX_ERROR;
    }

    ngx_str_null(&set);

    /* the uninstall webhook finds the workspace's keys in this set */
    if (rec->identity && rec->workspace_id.len
        && ngx_http_intercom_oauth_store_name(r, "workspace", client_id,
                                              &rec->workspace_id, &set)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_http_intercom_oauth_store_put_script;
    argvlen[1] = sizeof(ngx_http_intercom_oauth_store_put_script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) rkey.data;
    argvlen[3] = rkey.len;
    argv[4] = (char *) sealed.data;
    argvlen[4] = sealed.len;
    argv[5] = set.len ? (char *) set.data : "";
    argvlen[5] = set.len;

    ngx_http_intercom_oauth_store_count(r,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_WRITES);

    return ngx_http_intercom_oauth_store_wait(r, "write", 6, argv, argvlen,
                                    done,
                                    ngx_http_intercom_oauth_store_set_reply);
}


ngx_int_t
ngx_http_intercom_oauth_store_token_delete(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *key)
{
    u_char      *p;
    size_t       argvlen[3];
    ngx_str_t    rkey;
    const char  *argv[3];

    if (ngx_http_intercom_oauth_store_token_key(r, client_id, key, &rkey)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the token and the name of its workspace set (see the put script) */
    p = ngx_pnalloc(r->pool, rkey.len + sizeof(":ws") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "DEL";
    argvlen[0] = 3;
    argv[1] = (char *) rkey.data;
    argvlen[1] = rkey.len;
    argv[2] = (char *) p;
    argvlen[2] = ngx_cpymem(ngx_cpymem(p, rkey.data, rkey.len), ":ws", 3) - p;

    return ngx_http_intercom_oauth_store_forget(r, 3, argv, argvlen);
}


ngx_int_t
ngx_http_intercom_oauth_store_workspace_delete(ngx_http_request_t *r,
    ngx_str_t *client_id, ngx_str_t *workspace_id)
{
    size_t       argvlen[4];
    ngx_str_t    set;
    const char  *argv[4];

    if (ngx_http_intercom_oauth_store_name(r, "workspace", client_id,
                                           workspace_id, &set)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_http_intercom_oauth_store_forget_script;
    argvlen[1] = sizeof(ngx_http_intercom_oauth_store_forget_script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) set.data;
    argvlen[3] = set.len;

    return ngx_http_intercom_oauth_store_forget(r, 4, argv, argvlen);
}


ngx_int_t
ngx_http_intercom_oauth_store_load(ngx_http_request_t *r)
{
    size_t                                argvlen[2];
    time_t                                stored;
    ngx_int_t                             rc;
    ngx_str_t                             key;
    const char                           *argv[2];
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    if (omcf == NULL || omcf->store == NULL || omcf->shm_zone == NULL
        || olcf->client_id.len == 0 || r != r->main
        || (olcf->handler != NGX_HTTP_INTERCOM_OAUTH_HANDLER_NONE
            && olcf->handler != NGX_HTTP_INTERCOM_OAUTH_HANDLER_DISCONNECT))
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_intercom_oauth_get_ctx(r);
    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    if (ctx->store_loaded) {
        return NGX_DECLINED;
    }

    ctx->store_loaded = 1;

    if (ngx_http_intercom_oauth_eval_key(r, olcf, &key) != NGX_OK
        || key.len == 0 || key.len > NGX_HTTP_INTERCOM_OAUTH_MAX_KEY)
    {
        return NGX_DECLINED;
    }

    /*
     * The zone is a cache: a copy younger than intercom_oauth_store_cache_ttl
     * answers alone; an older one is checked against Redis, where a
     * disconnect or an uninstall on another host deleted it.
     */
    if (ngx_http_intercom_oauth_zone_token_stored(omcf->shm_zone,
                                                  &olcf->client_id, &key,
                                                  &stored)
        == NGX_OK)
    {
        if (ngx_time() - stored < omcf->store->cache_ttl) {
            return NGX_DECLINED;
        }

        ctx->store_cached = 1;
    }

    ctx->key = key;

    if (ngx_http_intercom_oauth_store_token_key(r, &olcf->client_id, &key,
                                                &ctx->store_key)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_http_intercom_oauth_store_count(r,
                                     NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_READS);

    argv[0] = "GET";
    argvlen[0] = 3;
    argv[1] = (char *) ctx->store_key.data;
    argvlen[1] = ctx->store_key.len;

    rc = ngx_http_intercom_oauth_store_wait(r, "read", 2, argv, argvlen,
                                    ngx_http_intercom_oauth_store_load_done,
                                    ngx_http_intercom_oauth_store_get_reply);

    if (rc != NGX_AGAIN) {
        /* Redis is down: the zone answers alone */
        ngx_http_intercom_oauth_store_error(r, "read", NULL,
                                            "not connected");
        return NGX_DECLINED;
    }

    return NGX_DONE;
}


/* the token is in the zone now, or not: run the phases again */

static void
ngx_http_intercom_oauth_store_load_done(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/*
 * Sends a command the request waits for.  Returns NGX_AGAIN, or NGX_ERROR
 * when it could not be sent.
 */

static ngx_int_t
ngx_http_intercom_oauth_store_wait(ngx_http_request_t *r, char *op, int argc,
    const char **argv, const size_t *argvlen,
    ngx_http_intercom_oauth_store_done_pt done,
    ngx_http_intercom_oauth_redis_handler_pt handler)
{
    ngx_pool_cleanup_t             *cln;
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_intercom_oauth_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

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
                                                           argv, argvlen);
    if (ctx->store_cmd == NULL) {
        return NGX_ERROR;
    }

    ctx->store_done = done;
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
ngx_http_intercom_oauth_store_reply_ctx(void *data)
{
    ngx_http_request_t             *r = data;
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

    ctx = ngx_http_intercom_oauth_store_reply_ctx(data);

    if (reply && reply->type == REDIS_REPLY_STATUS) {
        rc = NGX_OK;

    } else if (reply && reply->type == REDIS_REPLY_NIL) {
        rc = NGX_DECLINED;

    } else {
        ngx_http_intercom_oauth_store_error(r, ctx->store_op, reply, why);
        rc = NGX_ERROR;
    }

    ctx->store_done(r, rc);
}


static void
ngx_http_intercom_oauth_store_get_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_int_t                             rc;
    ngx_str_t                             in, plain;
    ngx_http_request_t                   *r = data;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_record_t      rec;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    ctx = ngx_http_intercom_oauth_store_reply_ctx(data);
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (reply && reply->type == REDIS_REPLY_NIL) {
        ngx_http_intercom_oauth_store_count(r,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_MISSES);

        if (ctx->store_cached
            && ngx_http_intercom_oauth_zone_token_delete(omcf->shm_zone,
                                                         &olcf->client_id,
                                                         &ctx->key)
               == NGX_OK)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "intercom oauth: store: the token cached here was "
                          "deleted in Redis (disconnect or uninstall on "
                          "another host); forgotten here too");
        }

        ctx->store_done(r, NGX_DECLINED);
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        ngx_http_intercom_oauth_store_error(r, "read", reply, why);
        ctx->store_done(r, NGX_ERROR);
        return;
    }

    in.data = (u_char *) reply->str;
    in.len = reply->len;

    rc = ngx_http_intercom_oauth_store_open(r->pool, omcf->store->key,
                                            &ctx->store_key, &in, &plain);

    ngx_memzero(&rec, sizeof(ngx_http_intercom_oauth_record_t));

    if (rc == NGX_OK
        && ngx_http_intercom_oauth_store_decode(&plain, &rec) != NGX_OK)
    {
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
        ctx->store_done(r, NGX_ERROR);
        return;
    }

    rc = ngx_http_intercom_oauth_zone_token_put(omcf->shm_zone,
                                                &olcf->client_id, &ctx->key,
                                                &rec);

    ngx_explicit_memzero(plain.data, plain.len);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: store: a token read from Redis does "
                      "not fit in intercom_oauth_zone \"%V\"",
                      &omcf->shm_zone->shm.name);
        ctx->store_done(r, NGX_ERROR);
        return;
    }

    ngx_http_intercom_oauth_store_count(r,
                                      NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_HITS);

    ctx->store_done(r, NGX_OK);
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
ngx_http_intercom_oauth_store_token_key(ngx_http_request_t *r,
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
ngx_http_intercom_oauth_store_forget(ngx_http_request_t *r, int argc,
    const char **argv, const size_t *argvlen)
{
    if (ngx_http_intercom_oauth_redis_command(
                                   ngx_http_intercom_oauth_store_forget_reply,
                                   NULL, argc, argv, argvlen)
        == NULL)
    {
        ngx_http_intercom_oauth_store_error(r, "delete", NULL,
                                            "not connected");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_intercom_oauth_store_encode(ngx_pool_t *pool,
    ngx_http_intercom_oauth_record_t *rec, ngx_str_t *out)
{
    u_char      *p;
    size_t       len;
    ngx_uint_t   i;
    ngx_str_t   *f[6];

    f[0] = &rec->token;
    f[1] = &rec->admin_id;
    f[2] = &rec->admin_email;
    f[3] = &rec->workspace_id;
    f[4] = &rec->workspace_name;
    f[5] = &rec->region;

    len = 2;

    for (i = 0; i < 6; i++) {
        if (f[i]->len > 0xffff) {
            return NGX_ERROR;
        }

        len += 2 + f[i]->len;
    }

    out->data = ngx_pnalloc(pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;
    *p++ = NGX_HTTP_INTERCOM_OAUTH_RECORD_VERSION;
    *p++ = (rec->identity ? NGX_HTTP_INTERCOM_OAUTH_RECORD_IDENTITY : 0)
           | (rec->email_verified ? NGX_HTTP_INTERCOM_OAUTH_RECORD_VERIFIED
                                  : 0);

    for (i = 0; i < 6; i++) {
        *p++ = (u_char) (f[i]->len >> 8);
        *p++ = (u_char) f[i]->len;
        p = ngx_cpymem(p, f[i]->data, f[i]->len);
    }

    out->len = p - out->data;

    return NGX_OK;
}


/* the strings point into "in" */

static ngx_int_t
ngx_http_intercom_oauth_store_decode(ngx_str_t *in,
    ngx_http_intercom_oauth_record_t *rec)
{
    u_char      *p, *last;
    size_t       len;
    ngx_uint_t   i;
    ngx_str_t   *f[6];

    f[0] = &rec->token;
    f[1] = &rec->admin_id;
    f[2] = &rec->admin_email;
    f[3] = &rec->workspace_id;
    f[4] = &rec->workspace_name;
    f[5] = &rec->region;

    p = in->data;
    last = in->data + in->len;

    if (in->len < 2 || p[0] != NGX_HTTP_INTERCOM_OAUTH_RECORD_VERSION) {
        return NGX_ERROR;
    }

    rec->identity = (p[1] & NGX_HTTP_INTERCOM_OAUTH_RECORD_IDENTITY) ? 1 : 0;
    rec->email_verified = (p[1] & NGX_HTTP_INTERCOM_OAUTH_RECORD_VERIFIED)
                          ? 1 : 0;
    p += 2;

    for (i = 0; i < 6; i++) {
        if (last - p < 2) {
            return NGX_ERROR;
        }

        len = ((size_t) p[0] << 8) | p[1];
        p += 2;

        if ((size_t) (last - p) < len) {
            return NGX_ERROR;
        }

        f[i]->data = p;
        f[i]->len = len;
        p += len;
    }

    if (p != last || rec->token.len == 0
        || rec->token.len > NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_store_seal(ngx_pool_t *pool, u_char *key,
    ngx_str_t *aad, ngx_str_t *plain, ngx_str_t *out)
{
    int               n;
    u_char           *p, *iv;
    ngx_int_t         rc;
    EVP_CIPHER_CTX   *e;

    out->len = 1 + NGX_HTTP_INTERCOM_OAUTH_SEAL_IV + plain->len
               + NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG;

    out->data = ngx_pnalloc(pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;
    *p++ = NGX_HTTP_INTERCOM_OAUTH_SEAL_VERSION;
    iv = p;

    if (RAND_bytes(iv, NGX_HTTP_INTERCOM_OAUTH_SEAL_IV) != 1) {
        return NGX_ERROR;
    }

    p += NGX_HTTP_INTERCOM_OAUTH_SEAL_IV;

    e = EVP_CIPHER_CTX_new();
    if (e == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (EVP_EncryptInit_ex(e, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_IVLEN,
                               NGX_HTTP_INTERCOM_OAUTH_SEAL_IV, NULL) != 1
        || EVP_EncryptInit_ex(e, NULL, NULL, key, iv) != 1
        || EVP_EncryptUpdate(e, NULL, &n, aad->data, (int) aad->len) != 1
        || EVP_EncryptUpdate(e, p, &n, plain->data, (int) plain->len) != 1)
    {
        goto done;
    }

    p += n;

    if (EVP_EncryptFinal_ex(e, p, &n) != 1) {
        goto done;
    }

    p += n;

    if (EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG,
                            NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG, p) != 1)
    {
        goto done;
    }

    out->len = p + NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG - out->data;
    rc = NGX_OK;

done:

    EVP_CIPHER_CTX_free(e);

    return rc;
}


ngx_int_t
ngx_http_intercom_oauth_store_open(ngx_pool_t *pool, u_char *key,
    ngx_str_t *aad, ngx_str_t *in, ngx_str_t *plain)
{
    int              n;
    u_char          *iv, *ct, *tag, *p;
    size_t           len;
    ngx_int_t        rc;
    EVP_CIPHER_CTX  *e;

    if (in->len < 1 + NGX_HTTP_INTERCOM_OAUTH_SEAL_IV
                  + NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG
        || in->data[0] != NGX_HTTP_INTERCOM_OAUTH_SEAL_VERSION)
    {
        return NGX_DECLINED;
    }

    iv = in->data + 1;
    ct = iv + NGX_HTTP_INTERCOM_OAUTH_SEAL_IV;
    len = in->len - 1 - NGX_HTTP_INTERCOM_OAUTH_SEAL_IV
          - NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG;
    tag = ct + len;

    plain->data = ngx_pnalloc(pool, len + 1);
    if (plain->data == NULL) {
        return NGX_ERROR;
    }

    e = EVP_CIPHER_CTX_new();
    if (e == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_DECLINED;
    p = plain->data;

    if (EVP_DecryptInit_ex(e, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_IVLEN,
                               NGX_HTTP_INTERCOM_OAUTH_SEAL_IV, NULL) != 1
        || EVP_DecryptInit_ex(e, NULL, NULL, key, iv) != 1
        || EVP_DecryptUpdate(e, NULL, &n, aad->data, (int) aad->len) != 1
        || EVP_DecryptUpdate(e, p, &n, ct, (int) len) != 1)
    {
        goto done;
    }

    p += n;

    if (EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_TAG,
                            NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG, tag) != 1
        || EVP_DecryptFinal_ex(e, p, &n) != 1)
    {
        ngx_explicit_memzero(plain->data, len);
        goto done;
    }

    plain->len = p + n - plain->data;
    rc = NGX_OK;

done:

    EVP_CIPHER_CTX_free(e);

    return rc;
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
