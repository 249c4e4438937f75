
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The libcurl engine of calls (ngx_http_intercom_oauth_call.h): one multi
 * handle per worker, driven by nginx's event loop; curl's timer is an
 * nginx timer.  A worker never blocks on a transfer.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_CURL_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_CURL_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * An ngx_http_intercom_oauth_call_start_pt: the endpoint's URL is an
 * http(s) URL; intercom_oauth_ca_file, intercom_oauth_proxy and
 * intercom_oauth_timeout of the request's location apply.
 */
ngx_int_t ngx_http_intercom_oauth_curl_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_endpoint_t *endpoint,
    ngx_http_intercom_oauth_call_params_t *params,
    ngx_http_intercom_oauth_call_done_pt done,
    ngx_http_intercom_oauth_call_t **callp);

/*
 * At configuration: whether libcurl's URL parser takes an endpoint's
 * http(s) URL; NGX_ERROR, logged as an emerg naming the directive, if not.
 */
ngx_int_t ngx_http_intercom_oauth_curl_check_url(ngx_conf_t *cf,
    char *directive, ngx_str_t *url);

/* Per worker: curl_global_init() and the multi handle.  NGX_OK/NGX_ERROR. */
ngx_int_t ngx_http_intercom_oauth_curl_init_process(ngx_cycle_t *cycle);

/* Per worker: ends every transfer and frees the multi handle. */
void ngx_http_intercom_oauth_curl_exit_process(ngx_cycle_t *cycle);

/* The directive "intercom_oauth_ca_file PATH". */
char *ngx_http_intercom_oauth_curl_ca_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* The post handler of "intercom_oauth_proxy URL": checks its scheme. */
char *ngx_http_intercom_oauth_curl_proxy(ngx_conf_t *cf, void *post,
    void *data);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_CURL_H_INCLUDED_ */
