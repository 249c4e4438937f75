
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
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <yajl/yajl_tree.h>

#include "ngx_http_intercom_oauth_error.h"
#include "ngx_http_intercom_oauth_json.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_storage.h"
#include "ngx_http_intercom_oauth_webhook.h"
#include "ngx_http_intercom_oauth_zone.h"


#define NGX_HTTP_INTERCOM_OAUTH_SIG_LEN  32    /* HMAC-SHA256 */


static void ngx_http_intercom_oauth_webhook_body(ngx_http_request_t *r);
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
    ngx_uint_t                            deleted;
    ngx_http_intercom_oauth_error_t      *e;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    static const char  *path[] = { "app_id", NULL };

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

    /* a workspace id is a string: a number here is not Intercom's */
    if (tree == NULL || !YAJL_IS_OBJECT(tree)
        || !YAJL_IS_STRING(yajl_tree_get(tree, path, yajl_t_any))
        || ngx_http_intercom_oauth_json_string(r->pool, tree, path, 256,
                                               &app_id)
           != NGX_OK
        || app_id.len == 0 || app_id.len > 255)
    {
        if (tree) {
            yajl_tree_free(tree);
        }

        e = ngx_http_intercom_oauth_error(r,
                      NGX_HTTP_INTERCOM_OAUTH_ERR_WEBHOOK_INVALID,
                      "intercom oauth: uninstall webhook refused: the body "
                      "is not a JSON object with a string \"app_id\"");
        ngx_http_finalize_request(r,
            ngx_http_intercom_oauth_webhook_answer(r, e->status, 0,
                                                   &e->code));
        return;
    }

    topic = ngx_http_intercom_oauth_webhook_topic(tree);

    yajl_tree_free(tree);

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

    deleted = ngx_http_intercom_oauth_storage_workspace_delete(r, &app_id);

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                       NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS);

    ngx_http_intercom_oauth_zone_count_n(omcf->shm_zone,
                                  NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_DELETED,
                                  deleted);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "intercom oauth: uninstall webhook: workspace \"%V\" "
                  "removed the app, %ui token(s) deleted", &app_id, deleted);

    ngx_http_finalize_request(r,
        ngx_http_intercom_oauth_webhook_answer(r, NGX_HTTP_OK, deleted, NULL));
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
