
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_call.h"
#include "ngx_http_intercom_oauth_curl.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_subrequest.h"


ngx_uint_t
ngx_http_intercom_oauth_call_absolute(ngx_str_t *url)
{
    return (url->len > 8
            && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
           || (url->len > 7
               && ngx_strncasecmp(url->data, (u_char *) "http://", 7) == 0);
}


ngx_int_t
ngx_http_intercom_oauth_call_bind(ngx_conf_t *cf, char *directive,
    ngx_http_intercom_oauth_endpoint_t *endpoint)
{
    ngx_str_t  *url;

    url = &endpoint->url;

    if (url->len > 1 && url->data[0] == '/') {
        /* a location of this server: nginx's own upstreams carry it */
        endpoint->start = ngx_http_intercom_oauth_subrequest_start;
        return NGX_OK;
    }

    if (ngx_http_intercom_oauth_call_absolute(url)) {
        endpoint->start = ngx_http_intercom_oauth_curl_start;
        /* "https://" or "http://": the fifth byte tells */
        endpoint->tls = (url->data[4] == 's' || url->data[4] == 'S');
        return ngx_http_intercom_oauth_curl_check_url(cf, directive, url);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%s\" must be an http:// or https:// URL, "
                       "not \"%V\"", directive, url);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_intercom_oauth_call_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_endpoint_t *endpoint,
    ngx_http_intercom_oauth_call_params_t *params,
    ngx_http_intercom_oauth_call_done_pt done)
{
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    return endpoint->start(r, endpoint, params, done, &ctx->call);
}
