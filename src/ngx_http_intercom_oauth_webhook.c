
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The uninstall webhook.
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


#define NGX_HTTP_INTERCOM_OAUTH_SHA1_LEN  20


static void ngx_http_intercom_oauth_webhook_body(ngx_http_request_t *r);
static char *ngx_http_intercom_oauth_webhook_verify(ngx_http_request_t *r,
    ngx_str_t *body);
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
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_POST) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: uninstall webhook refused: method "
                      "\"%V\" is not POST", &r->method_name);
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r->headers_in.content_length_n > NGX_HTTP_INTERCOM_OAUTH_MAX_BODY) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: uninstall webhook refused: body of "
                      "%O bytes is larger than %d",
                      r->headers_in.content_length_n,
                      NGX_HTTP_INTERCOM_OAUTH_MAX_BODY);
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
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
    char                                 *why;
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
        ngx_http_finalize_request(r, e->status);
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

    if (tree == NULL || !YAJL_IS_OBJECT(tree)
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

    yajl_tree_free(tree);

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
 * X-Hub-Signature: sha1=<40 hex digits> over the raw body, keyed by the
 * client secret, compared in constant time.
 */

static char *
ngx_http_intercom_oauth_webhook_verify(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char                              *p;
    ngx_int_t                            n;
    ngx_uint_t                           i, repeated;
    unsigned int                         mdlen;
    ngx_table_elt_t                     *sig;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;
    u_char                               md[EVP_MAX_MD_SIZE];
    u_char                               got[NGX_HTTP_INTERCOM_OAUTH_SHA1_LEN];

    static ngx_str_t  name = ngx_string("X-Hub-Signature");

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    sig = ngx_http_intercom_oauth_header(r, &name, &repeated);

    if (repeated) {
        return "X-Hub-Signature is repeated";
    }

    if (sig == NULL) {
        return "no X-Hub-Signature; if Intercom sends this notification "
               "unsigned, configure \"intercom_oauth_uninstall_webhook "
               "unsigned\"";
    }

    if (sig->value.len != sizeof("sha1=") - 1
                          + 2 * NGX_HTTP_INTERCOM_OAUTH_SHA1_LEN
        || ngx_strncasecmp(sig->value.data, (u_char *) "sha1=", 5) != 0)
    {
        return "X-Hub-Signature is not \"sha1=<40 hex digits>\"";
    }

    p = sig->value.data + 5;

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_SHA1_LEN; i++) {
        n = ngx_hextoi(p + 2 * i, 2);

        if (n == NGX_ERROR) {
            return "X-Hub-Signature is not hexadecimal";
        }

        got[i] = (u_char) n;
    }

    if (HMAC(EVP_sha1(), olcf->client_secret.data,
             (int) olcf->client_secret.len, body->data, body->len, md,
             &mdlen)
        == NULL
        || CRYPTO_memcmp(md, got, NGX_HTTP_INTERCOM_OAUTH_SHA1_LEN) != 0)
    {
        return "X-Hub-Signature does not match the body";
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
