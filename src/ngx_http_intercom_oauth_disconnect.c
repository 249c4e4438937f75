
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Disconnect.  The token leaves the zone before Intercom is asked to
 * revoke it: a user who disconnects is disconnected here whatever Intercom
 * answers, and the answer only decides what is logged.
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

    ngx_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
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

    if (key.len
        && ngx_http_intercom_oauth_storage_token_delete(r, &key) == NGX_OK)
    {
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                  NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_DELETED);
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: disconnect: no token to forget");
        return ngx_http_intercom_oauth_disconnect_redirect(r);
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
                      "intercom oauth: disconnect: token deleted and "
                      "revoked at Intercom");
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                       NGX_HTTP_INTERCOM_OAUTH_CNT_REVOKE_OK);

    } else {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: disconnect: token deleted here; "
                      "revoking it at \"%V\" failed: %s%s (status %l)",
                      &olcf->revoke.url,
                      call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT
                      ? "timed out" : "",
                      call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_OK
                      ? "not a 2xx answer" : call->error,
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
