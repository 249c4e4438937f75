
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * intercom_oauth_require.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_require.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_storage.h"


static ngx_str_t  ngx_http_intercom_oauth_not_connected =
    ngx_string("{\"error\":\"not_connected\","
               "\"message\":\"Connect with Intercom first\"}\n");


char *
ngx_http_intercom_oauth_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t  *value;

    if (olcf->require != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    olcf->require = 1;

    if (cf->args->nelts == 2) {
        if (value[1].len == 0 || value[1].data[0] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_require\" takes the URI of "
                               "the connect location, starting with \"/\"");
            return NGX_CONF_ERROR;
        }

        olcf->require_uri = value[1];
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_intercom_oauth_require_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_str_t                            key, target, *body;
    ngx_http_intercom_oauth_arg_t        arg;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    if (!olcf->require || r != r->main) {
        return NGX_DECLINED;
    }

    if (ngx_http_intercom_oauth_key(r, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_intercom_oauth_storage_token_get(r, &key, NULL, NULL)
        == NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "intercom oauth: \"%V\" requires a connection to Intercom",
                  &r->uri);

    if (ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (olcf->require_uri.len) {
        ngx_str_set(&arg.name, "return_to=");
        arg.value = &r->unparsed_uri;
        arg.escape = 1;

        if (ngx_http_intercom_oauth_uri_args(r->pool, &olcf->require_uri,
                                             &arg, 1, &target)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_intercom_oauth_redirect(r, NGX_HTTP_MOVED_TEMPORARILY,
                                                &target);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    body = &ngx_http_intercom_oauth_not_connected;

    ngx_http_finalize_request(r,
        ngx_http_intercom_oauth_send(r, NGX_HTTP_UNAUTHORIZED,
                                     "application/json", body->data,
                                     body->len));

    return NGX_DONE;
}
