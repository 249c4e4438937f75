
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The uninstall notification: what Intercom POSTs to an app's uninstall
 * URL when a workspace removes the app, {"app_id": "<workspace id>"},
 * signed with X-Body-Signature (docs/intercom.md).  Topic webhooks
 * (conversation.*, ping, ...) are another thing, signed with
 * X-Hub-Signature and carrying an "app_id" too: they are refused, so that
 * a subscription pointed at this URL by mistake never wipes a workspace.
 *
 * The notification's body is the same for every uninstall of a workspace,
 * for ever, and Intercom signs other things (Canvas Kit requests) with the
 * same scheme and secret: a signed body proves who made it, not when, nor
 * that the app is gone.  So only exactly {"app_id": "<string>"} is taken,
 * and before anything is deleted Intercom is asked: /me with one token of
 * the workspace that the zone holds.  401: the app is uninstalled, its
 * tokens go (the zone's, then the store's, waited for).  200: the token
 * still works, so this is a stale or replayed notification: nothing is
 * deleted.  No answer: 503, nothing deleted, and Intercom, which retries
 * a notification that was not answered 2xx, asks again later; deleting
 * unconfirmed would make a replay work whenever Intercom is slow.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_intercom_oauth_call.h"
#include "ngx_http_intercom_oauth_error.h"
#include "ngx_http_intercom_oauth_identity.h"
#include "ngx_http_intercom_oauth_json.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_storage.h"
#include "ngx_http_intercom_oauth_webhook.h"
#include "ngx_http_intercom_oauth_zone.h"


#define NGX_HTTP_INTERCOM_OAUTH_SIG_LEN  32    /* HMAC-SHA256 */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_APP_ID  255


/* the codes of a 503: Intercom sends the notification again */
static ngx_str_t  ngx_http_intercom_oauth_webhook_unconfirmed =
    ngx_string("unconfirmed");
static ngx_str_t  ngx_http_intercom_oauth_webhook_store_unavailable =
    ngx_string("store_unavailable");


/* what the strict reading of the body has seen so far */
typedef struct {
    ngx_pool_t                 *pool;
    ngx_str_t                   app_id;
    ngx_uint_t                  depth;
    ngx_uint_t                  members;
    const char                 *why;          /* why it is refused */
} ngx_http_intercom_oauth_webhook_parse_t;


static void ngx_http_intercom_oauth_webhook_body(ngx_http_request_t *r);
static const char *ngx_http_intercom_oauth_webhook_parse(
    ngx_http_request_t *r, ngx_str_t *body, ngx_str_t *app_id);
static int ngx_http_intercom_oauth_webhook_scalar(void *data);
static int ngx_http_intercom_oauth_webhook_boolean(void *data, int value);
static int ngx_http_intercom_oauth_webhook_number(void *data, const char *s,
    size_t len);
static int ngx_http_intercom_oauth_webhook_string(void *data,
    const unsigned char *s, size_t len);
static int ngx_http_intercom_oauth_webhook_start_map(void *data);
static int ngx_http_intercom_oauth_webhook_map_key(void *data,
    const unsigned char *key, size_t len);
static int ngx_http_intercom_oauth_webhook_end_map(void *data);
static int ngx_http_intercom_oauth_webhook_array(void *data);
static ngx_int_t ngx_http_intercom_oauth_webhook_confirm(
    ngx_http_request_t *r, ngx_str_t *app_id);
static ngx_int_t ngx_http_intercom_oauth_webhook_found(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_intercom_oauth_webhook_confirmed(
    ngx_http_request_t *r, ngx_http_intercom_oauth_call_t *call);
static ngx_int_t ngx_http_intercom_oauth_webhook_deleted(
    ngx_http_request_t *r, ngx_int_t rc);
static char *ngx_http_intercom_oauth_webhook_verify(ngx_http_request_t *r,
    ngx_str_t *body);
static char *ngx_http_intercom_oauth_webhook_topic(yajl_val tree);
static ngx_int_t ngx_http_intercom_oauth_webhook_answer(
    ngx_http_request_t *r, ngx_uint_t status, ngx_uint_t deleted,
    ngx_str_t *error);


char *
ngx_http_intercom_oauth_webhook_args(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    if (olcf->webhook_unsigned) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"intercom_oauth_uninstall_webhook unsigned\": "
                           "anyone who can reach this location can delete a "
                           "workspace's tokens");
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_intercom_oauth_webhook_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_intercom_oauth_error_t  *e;

    /* Intercom checks a webhook URL with HEAD before it uses it */
    if (r->method == NGX_HTTP_HEAD) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_intercom_oauth_send(r, NGX_HTTP_OK,
                                            "application/json", NULL, 0);
    }

    if (r->method != NGX_HTTP_POST) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: uninstall webhook refused: method "
                      "\"%V\" is not POST", &r->method_name);
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r->headers_in.content_length_n > NGX_HTTP_INTERCOM_OAUTH_MAX_BODY) {
        e = ngx_http_intercom_oauth_error(r,
                      NGX_HTTP_INTERCOM_OAUTH_ERR_WEBHOOK_TOO_LARGE,
                      "intercom oauth: uninstall webhook refused: body of "
                      "%O bytes is larger than %d",
                      r->headers_in.content_length_n,
                      NGX_HTTP_INTERCOM_OAUTH_MAX_BODY);

        /* answered as every other refusal here: JSON, not nginx's page */
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_intercom_oauth_webhook_answer(r, e->status, 0,
                                                      &e->code);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                       ngx_http_intercom_oauth_webhook_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_intercom_oauth_webhook_body(ngx_http_request_t *r)
{
    char                                 *why, *topic;
    yajl_val                              tree;
    ngx_int_t                             rc;
    ngx_str_t                             body, app_id;
    ngx_http_intercom_oauth_error_t      *e;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    rc = ngx_http_intercom_oauth_body(r, NGX_HTTP_INTERCOM_OAUTH_MAX_BODY,
                                      &body);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        e = ngx_http_intercom_oauth_error(r,
                      NGX_HTTP_INTERCOM_OAUTH_ERR_WEBHOOK_TOO_LARGE,
                      "intercom oauth: uninstall webhook refused: body is "
                      "larger than %d bytes", NGX_HTTP_INTERCOM_OAUTH_MAX_BODY);
        ngx_http_finalize_request(r,
            ngx_http_intercom_oauth_webhook_answer(r, e->status, 0,
                                                   &e->code));
        return;
    }

    why = olcf->webhook_unsigned
          ? NULL : ngx_http_intercom_oauth_webhook_verify(r, &body);

    if (why) {
        e = ngx_http_intercom_oauth_error(r,
                      NGX_HTTP_INTERCOM_OAUTH_ERR_BAD_SIGNATURE,
                      "intercom oauth: uninstall webhook refused: %s", why);
        ngx_http_finalize_request(r,
            ngx_http_intercom_oauth_webhook_answer(r, e->status, 0,
                                                   &e->code));
        return;
    }

    tree = ngx_http_intercom_oauth_json_tree(r->pool, body.data, body.len);

    topic = (tree && YAJL_IS_OBJECT(tree))
            ? ngx_http_intercom_oauth_webhook_topic(tree) : NULL;

    if (tree) {
        yajl_tree_free(tree);
    }

    if (topic) {
        e = ngx_http_intercom_oauth_error(r,
                      NGX_HTTP_INTERCOM_OAUTH_ERR_WEBHOOK_TOPIC,
                      "intercom oauth: uninstall webhook refused: the body "
                      "is a topic notification (%s), not the uninstall "
                      "notification: nothing deleted; point webhook "
                      "subscriptions at another URL", topic);
        ngx_http_finalize_request(r,
            ngx_http_intercom_oauth_webhook_answer(r, e->status, 0,
                                                   &e->code));
        return;
    }

    why = (char *) ngx_http_intercom_oauth_webhook_parse(r, &body, &app_id);

    if (why) {
        e = ngx_http_intercom_oauth_error(r,
                      NGX_HTTP_INTERCOM_OAUTH_ERR_WEBHOOK_INVALID,
                      "intercom oauth: uninstall webhook refused: the body "
                      "is not a JSON object with a string \"app_id\" and "
                      "nothing else: %s", why);
        ngx_http_finalize_request(r,
            ngx_http_intercom_oauth_webhook_answer(r, e->status, 0,
                                                   &e->code));
        return;
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                       NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS);

    ngx_http_finalize_request(r,
                        ngx_http_intercom_oauth_webhook_confirm(r, &app_id));
}


/*
 * Reads the body strictly: one JSON object whose only member is "app_id",
 * a string of 1 to 255 bytes without NUL.  A repeated key, another
 * member, any other value are refused: the uninstall notification has
 * nothing else, and a Canvas Kit request (signed the same way) has an
 * "app_id" beside other members.  Returns why the body is refused, or
 * NULL with "app_id" set (in r->pool).
 */

static const char *
ngx_http_intercom_oauth_webhook_parse(ngx_http_request_t *r, ngx_str_t *body,
    ngx_str_t *app_id)
{
    yajl_handle                               h;
    yajl_status                               st;
    ngx_http_intercom_oauth_webhook_parse_t   p;

    static yajl_callbacks  callbacks = {
        ngx_http_intercom_oauth_webhook_scalar,       /* null */
        ngx_http_intercom_oauth_webhook_boolean,
        NULL,                                         /* integer */
        NULL,                                         /* double */
        ngx_http_intercom_oauth_webhook_number,
        ngx_http_intercom_oauth_webhook_string,
        ngx_http_intercom_oauth_webhook_start_map,
        ngx_http_intercom_oauth_webhook_map_key,
        ngx_http_intercom_oauth_webhook_end_map,
        ngx_http_intercom_oauth_webhook_array,        /* start array */
        ngx_http_intercom_oauth_webhook_scalar        /* end array */
    };

    ngx_memzero(&p, sizeof(ngx_http_intercom_oauth_webhook_parse_t));
    p.pool = r->pool;

    h = yajl_alloc(&callbacks, NULL, &p);
    if (h == NULL) {
        return "out of memory";
    }

    st = yajl_parse(h, body->data, body->len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    if (p.why) {
        return p.why;
    }

    if (st != yajl_status_ok) {
        return "not JSON";
    }

    if (p.app_id.len == 0) {
        return "no \"app_id\", or an empty one";
    }

    *app_id = p.app_id;

    return NULL;
}


/* null, the end of an array: never in the uninstall notification */

static int
ngx_http_intercom_oauth_webhook_scalar(void *data)
{
    ngx_http_intercom_oauth_webhook_parse_t  *p = data;

    p->why = "a value that is not a string";
    return 0;
}


static int
ngx_http_intercom_oauth_webhook_boolean(void *data, int value)
{
    return ngx_http_intercom_oauth_webhook_scalar(data);
}


static int
ngx_http_intercom_oauth_webhook_number(void *data, const char *s, size_t len)
{
    return ngx_http_intercom_oauth_webhook_scalar(data);
}


static int
ngx_http_intercom_oauth_webhook_array(void *data)
{
    return ngx_http_intercom_oauth_webhook_scalar(data);
}


static int
ngx_http_intercom_oauth_webhook_string(void *data, const unsigned char *s,
    size_t len)
{
    ngx_http_intercom_oauth_webhook_parse_t  *p = data;

    if (p->depth != 1) {
        p->why = "not an object";
        return 0;
    }

    /* \u0000 decoded: a C string of it would name another workspace */
    if (ngx_strlchr((u_char *) s, (u_char *) s + len, '\0') != NULL) {
        p->why = "\"app_id\" has a NUL (\\u0000)";
        return 0;
    }

    if (len > NGX_HTTP_INTERCOM_OAUTH_MAX_APP_ID) {
        p->why = "\"app_id\" is longer than 255 bytes";
        return 0;
    }

    p->app_id.data = ngx_pnalloc(p->pool, len ? len : 1);
    if (p->app_id.data == NULL) {
        p->why = "out of memory";
        return 0;
    }

    ngx_memcpy(p->app_id.data, s, len);
    p->app_id.len = len;

    return 1;
}


static int
ngx_http_intercom_oauth_webhook_start_map(void *data)
{
    ngx_http_intercom_oauth_webhook_parse_t  *p = data;

    if (p->depth != 0) {
        p->why = "a value that is not a string";
        return 0;
    }

    p->depth = 1;

    return 1;
}


static int
ngx_http_intercom_oauth_webhook_map_key(void *data, const unsigned char *key,
    size_t len)
{
    ngx_http_intercom_oauth_webhook_parse_t  *p = data;

    if (len != sizeof("app_id") - 1
        || ngx_memcmp(key, "app_id", sizeof("app_id") - 1) != 0)
    {
        p->why = "a member other than \"app_id\"";
        return 0;
    }

    if (p->members++) {
        p->why = "\"app_id\" is repeated";
        return 0;
    }

    return 1;
}


static int
ngx_http_intercom_oauth_webhook_end_map(void *data)
{
    ngx_http_intercom_oauth_webhook_parse_t  *p = data;

    p->depth = 0;

    return 1;
}


/*
 * Asks Intercom whether the app is really uninstalled: /me with one token
 * of the workspace, found first.  Returns what the request is finalized
 * with, or NGX_DONE while it waits.
 */

static ngx_int_t
ngx_http_intercom_oauth_webhook_confirm(ngx_http_request_t *r,
    ngx_str_t *app_id)
{
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->workspace_id = *app_id;

    return ngx_http_intercom_oauth_storage_workspace_token(r, app_id,
                                      ngx_http_intercom_oauth_webhook_found);
}


static ngx_int_t
ngx_http_intercom_oauth_webhook_found(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_str_t                              *token;
    ngx_http_intercom_oauth_ctx_t          *ctx;
    ngx_http_intercom_oauth_loc_conf_t     *olcf;
    ngx_http_intercom_oauth_call_params_t   params;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: uninstall webhook: workspace \"%V\": "
                      "no token of it is stored, 0 token(s) deleted, "
                      "Intercom not asked", &ctx->workspace_id);
        return ngx_http_intercom_oauth_webhook_answer(r, NGX_HTTP_OK, 0,
                                                      NULL);
    }

    if (rc != NGX_OK) {
        /*
         * Nothing can be deleted in the store either: Intercom retries.
         * Counted as a store error where it failed, not as a callback.
         */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: uninstall webhook: workspace \"%V\": "
                      "the store did not say which tokens it holds: nothing "
                      "deleted, answered 503 for Intercom to retry",
                      &ctx->workspace_id);
        return ngx_http_intercom_oauth_webhook_answer(r,
                          NGX_HTTP_SERVICE_UNAVAILABLE, 0,
                          &ngx_http_intercom_oauth_webhook_store_unavailable);
    }

    token = &ctx->record.token;

    ngx_http_intercom_oauth_identity_request(token, &params);

    rc = ngx_http_intercom_oauth_call_start(r, &olcf->me, &params,
                                   ngx_http_intercom_oauth_webhook_confirmed);

    /* the engines keep their own copy of the header */
    ngx_explicit_memzero(token->data, token->len);
    ngx_str_null(token);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: uninstall webhook: workspace \"%V\": "
                      "/me could not be asked to confirm the uninstall: "
                      "nothing deleted, answered 503 for Intercom to retry",
                      &ctx->workspace_id);
        return ngx_http_intercom_oauth_webhook_answer(r,
                          NGX_HTTP_SERVICE_UNAVAILABLE, 0,
                          &ngx_http_intercom_oauth_webhook_unconfirmed);
    }

    return ngx_http_intercom_oauth_wait(r);
}


/* /me answered, failed or timed out */

static ngx_int_t
ngx_http_intercom_oauth_webhook_confirmed(ngx_http_request_t *r,
    ngx_http_intercom_oauth_call_t *call)
{
    ngx_http_intercom_oauth_ctx_t       *ctx;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_OK && call->status == 401) {
        /* the token no longer works: the app is gone from the workspace */
        return ngx_http_intercom_oauth_storage_workspace_forget(r,
                                      &ctx->workspace_id,
                                      ngx_http_intercom_oauth_webhook_deleted);
    }

    if (call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_OK && call->status == 200) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: uninstall webhook: stale or replayed "
                      "uninstall notification: Intercom still accepts a "
                      "token of workspace \"%V\" (/me answered 200), "
                      "nothing deleted", &ctx->workspace_id);
        return ngx_http_intercom_oauth_webhook_answer(r, NGX_HTTP_OK, 0,
                                                      NULL);
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "intercom oauth: uninstall webhook: workspace \"%V\": "
                  "/me at \"%V\" could not confirm the uninstall: %s "
                  "(status %l): nothing deleted, answered 503 for Intercom "
                  "to retry", &ctx->workspace_id, &olcf->api_url,
                  call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_OK
                  ? "neither 401 nor 200"
                  : call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT
                  ? "timed out"
                  : call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE
                  ? "response too large" : call->error,
                  call->status);

    return ngx_http_intercom_oauth_webhook_answer(r,
                          NGX_HTTP_SERVICE_UNAVAILABLE, 0,
                          &ngx_http_intercom_oauth_webhook_unconfirmed);
}


/* the tokens left the zone, and the store answered (or there is none) */

static ngx_int_t
ngx_http_intercom_oauth_webhook_deleted(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_zone_count_n(omcf->shm_zone,
                                  NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_DELETED,
                                  ctx->deleted);

    if (rc != NGX_OK) {
        /* every host would read them back from Redis: Intercom retries */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: uninstall webhook: workspace \"%V\" "
                      "removed the app, %ui token(s) deleted here but the "
                      "store did not delete them: answered 503 for "
                      "Intercom to retry", &ctx->workspace_id,
                      ctx->deleted);
        return ngx_http_intercom_oauth_webhook_answer(r,
                          NGX_HTTP_SERVICE_UNAVAILABLE, 0,
                          &ngx_http_intercom_oauth_webhook_store_unavailable);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "intercom oauth: uninstall webhook: workspace \"%V\" "
                  "removed the app, %ui token(s) deleted",
                  &ctx->workspace_id, ctx->deleted);

    return ngx_http_intercom_oauth_webhook_answer(r, NGX_HTTP_OK,
                                                  ctx->deleted, NULL);
}


/*
 * X-Body-Signature: the hexadecimal HMAC-SHA256 of the raw body, keyed by
 * the client secret, 64 digits without a prefix (Intercom's Canvas Kit
 * scheme), compared in constant time.  Returns why it is refused, or NULL.
 */

static char *
ngx_http_intercom_oauth_webhook_verify(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_int_t                            n;
    ngx_uint_t                           i, repeated, hub;
    unsigned int                         mdlen;
    ngx_table_elt_t                     *sig;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;
    u_char                               md[EVP_MAX_MD_SIZE];
    u_char                               got[NGX_HTTP_INTERCOM_OAUTH_SIG_LEN];

    static ngx_str_t  name = ngx_string("X-Body-Signature");
    static ngx_str_t  topic = ngx_string("X-Hub-Signature");

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    sig = ngx_http_intercom_oauth_header(r, &name, &repeated);

    if (repeated) {
        return "X-Body-Signature is repeated";
    }

    if (sig == NULL) {
        hub = ngx_http_intercom_oauth_header(r, &topic, NULL) != NULL;

        return hub ? "no X-Body-Signature, only the X-Hub-Signature of a "
                     "topic webhook: this location takes only Intercom's "
                     "uninstall notification, signed with X-Body-Signature"
                   : "no X-Body-Signature (Intercom signs the uninstall "
                     "notification with it: HMAC-SHA256 of the body, keyed "
                     "by the client secret)";
    }

    if (sig->value.len != 2 * NGX_HTTP_INTERCOM_OAUTH_SIG_LEN) {
        return "X-Body-Signature is not 64 hexadecimal digits";
    }

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_SIG_LEN; i++) {
        n = ngx_hextoi(sig->value.data + 2 * i, 2);

        if (n == NGX_ERROR) {
            return "X-Body-Signature is not 64 hexadecimal digits";
        }

        got[i] = (u_char) n;
    }

    if (HMAC(EVP_sha256(), olcf->client_secret.data,
             (int) olcf->client_secret.len, body->data, body->len, md,
             &mdlen)
        == NULL
        || CRYPTO_memcmp(md, got, NGX_HTTP_INTERCOM_OAUTH_SIG_LEN) != 0)
    {
        return "X-Body-Signature does not match the body and the client "
               "secret";
    }

    return NULL;
}


/*
 * What makes a body a topic notification rather than the uninstall
 * notification: "type": "notification_event", or a "topic".  Returns
 * which, or NULL.
 */

static char *
ngx_http_intercom_oauth_webhook_topic(yajl_val tree)
{
    char      *t;
    yajl_val   v;

    static const char  *type[] = { "type", NULL };
    static const char  *topic[] = { "topic", NULL };

    if (yajl_tree_get(tree, topic, yajl_t_any) != NULL) {
        return "it has a \"topic\"";
    }

    v = yajl_tree_get(tree, type, yajl_t_string);
    t = v ? YAJL_GET_STRING(v) : NULL;

    if (t && ngx_strcmp(t, "notification_event") == 0) {
        return "\"type\" is \"notification_event\"";
    }

    return NULL;
}


static ngx_int_t
ngx_http_intercom_oauth_webhook_answer(ngx_http_request_t *r,
    ngx_uint_t status, ngx_uint_t deleted, ngx_str_t *error)
{
    u_char  *p, *last;

    p = ngx_pnalloc(r->pool, 64);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (error) {
        last = ngx_sprintf(p, "{\"error\":\"%V\"}\n", error);

    } else {
        last = ngx_sprintf(p, "{\"deleted\":%ui}\n", deleted);
    }

    return ngx_http_intercom_oauth_send(r, status, "application/json", p,
                                        last - p);
}
