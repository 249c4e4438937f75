
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Disconnect.  Intercom's POST /auth/uninstall removes the app from the
 * whole workspace (every token of it stops working) and then sends the
 * uninstall notification: so by default every token of the workspace
 * leaves the storage at once, before Intercom is asked, and the
 * notification that follows finds nothing left.  A user who disconnects
 * is disconnected here whatever Intercom answers; the answer only decides
 * what is logged.  With "forget" only this key's token is dropped and
 * nothing is sent to Intercom.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_call.h"
#include "ngx_http_intercom_oauth_disconnect.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_storage.h"
#include "ngx_http_intercom_oauth_zone.h"


static ngx_int_t ngx_http_intercom_oauth_disconnect_revoked(
    ngx_http_request_t *r, ngx_http_intercom_oauth_call_t *call);
static ngx_int_t ngx_http_intercom_oauth_disconnect_redirect(
    ngx_http_request_t *r);


char *
ngx_http_intercom_oauth_disconnect_args(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   n;

    value = cf->args->elts;
    n = cf->args->nelts;

    if (n > 1 && ngx_strcmp(value[n - 1].data, "forget") == 0) {
        olcf->disconnect_forget = 1;
        n--;
    }

    if (n > 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\", \"%V\" takes a URI "
                           "and \"forget\"", &value[2], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (n == 2) {
        if (value[1].len == 0) {
            /* a 303 with an empty Location goes nowhere */
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" takes a URI to send the browser to "
                               "after it, not \"\"", &cmd->name);
            return NGX_CONF_ERROR;
        }

        olcf->disconnect_uri = value[1];

    } else {
        ngx_str_set(&olcf->disconnect_uri, "/");
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_intercom_oauth_disconnect_handler(ngx_http_request_t *r)
{
    ngx_int_t                               rc;
    ngx_str_t                               key;
    ngx_uint_t                              deleted;
    const char                             *why;
    ngx_http_intercom_oauth_record_t        rec;
    ngx_http_intercom_oauth_loc_conf_t     *olcf;
    ngx_http_intercom_oauth_main_conf_t    *omcf;
    ngx_http_intercom_oauth_call_params_t   params;

    if (r->method != NGX_HTTP_POST) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: disconnect refused: method \"%V\" "
                      "is not POST", &r->method_name);
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (ngx_http_intercom_oauth_same_origin(r, &why) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: disconnect refused: %s", why);
        return NGX_HTTP_FORBIDDEN;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (ngx_http_intercom_oauth_key(r, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                     NGX_HTTP_INTERCOM_OAUTH_CNT_DISCONNECTS);

    rc = ngx_http_intercom_oauth_storage_token_get(r, &key, r->pool, &rec);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: disconnect: this key has no token: "
                      "nothing deleted, nothing sent to Intercom");
        return ngx_http_intercom_oauth_disconnect_redirect(r);
    }

    if (!olcf->disconnect_forget && rec.identity && rec.workspace_id.len) {
        /* the whole workspace, this key's token with it */
        deleted = ngx_http_intercom_oauth_storage_workspace_delete(r,
                                                          &rec.workspace_id);

    } else {
        deleted = (ngx_http_intercom_oauth_storage_token_delete(r, &key)
                   == NGX_OK);
    }

    ngx_http_intercom_oauth_zone_count_n(omcf->shm_zone,
                                  NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_DELETED,
                                  deleted);

    if (olcf->disconnect_forget) {
        ngx_explicit_memzero(rec.token.data, rec.token.len);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: disconnect: this key's token "
                      "forgotten, the app stays installed at Intercom");
        return ngx_http_intercom_oauth_disconnect_redirect(r);
    }

    if (rec.workspace_id.len) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: disconnect: %ui token(s) of "
                      "workspace \"%V\" deleted, uninstalling the app at "
                      "Intercom", deleted, &rec.workspace_id);

    } else {
        /* no identity: the notification will delete the others */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: disconnect: this key's token "
                      "deleted (its workspace is unknown), uninstalling "
                      "the app at Intercom");
    }

    /* POST the revoke URL with the token as Bearer */
    ngx_memzero(&params, sizeof(ngx_http_intercom_oauth_call_params_t));
    params.post = 1;
    params.bearer = rec.token;

    rc = ngx_http_intercom_oauth_call_start(r, &olcf->revoke, &params,
                                   ngx_http_intercom_oauth_disconnect_revoked);

    /* the engines keep their own copy of the header */
    ngx_explicit_memzero(rec.token.data, rec.token.len);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: disconnect: the token was deleted "
                      "here but could not be revoked at Intercom");
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                   NGX_HTTP_INTERCOM_OAUTH_CNT_REVOKE_FAILED);
        return ngx_http_intercom_oauth_disconnect_redirect(r);
    }

    return ngx_http_intercom_oauth_wait(r);
}


static ngx_int_t
ngx_http_intercom_oauth_disconnect_revoked(ngx_http_request_t *r,
    ngx_http_intercom_oauth_call_t *call)
{
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_OK
        && call->status >= 200 && call->status <= 299)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: disconnect: the app is "
                      "uninstalled from the workspace at Intercom");
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                       NGX_HTTP_INTERCOM_OAUTH_CNT_REVOKE_OK);

    } else {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: disconnect: token deleted here; "
                      "uninstalling at \"%V\" failed: %s (status %l)",
                      &olcf->revoke.url,
                      call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_OK
                      ? "not a 2xx answer"
                      : call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT
                      ? "timed out" : call->error,
                      call->status);
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                   NGX_HTTP_INTERCOM_OAUTH_CNT_REVOKE_FAILED);
    }

    return ngx_http_intercom_oauth_disconnect_redirect(r);
}


static ngx_int_t
ngx_http_intercom_oauth_disconnect_redirect(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    if (ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_intercom_oauth_redirect(r, NGX_HTTP_SEE_OTHER,
                                            &olcf->disconnect_uri);
}
