
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The subrequest engine of calls (ngx_http_intercom_oauth_call.h): the
 * call as an nginx subrequest to a location of the same server (an
 * "internal" location with proxy_pass to Intercom), for sites that want
 * nginx's own upstream features (keepalive pools, proxy_ssl_*, resolver,
 * upstream{} blocks) instead of libcurl.  Bound to an endpoint whose URL
 * starts with "/".
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SUBREQUEST_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SUBREQUEST_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * An ngx_http_intercom_oauth_call_start_pt: starts a subrequest of r to
 * the endpoint's URI (optionally with "?args") with only the headers and
 * body the module sets: the browser's headers, cookies and body never
 * reach the location.  intercom_oauth_ca_file and intercom_oauth_proxy do
 * not apply (the location's proxy_ssl_* and upstreams do);
 * intercom_oauth_timeout bounds the wait.  "done" is called later from
 * the event loop, never from inside the subrequest's finalization, with
 * the same outcomes as the libcurl engine.
 */
ngx_int_t ngx_http_intercom_oauth_subrequest_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_endpoint_t *endpoint,
    ngx_http_intercom_oauth_call_params_t *params,
    ngx_http_intercom_oauth_call_done_pt done,
    ngx_http_intercom_oauth_call_t **callp);


/*
 * Puts the engine's header and body filters into nginx's filter chains
 * (postconfiguration).  They act on the module's own subrequests only:
 * a response over the cap fails the call as soon as its header or its
 * body shows it.
 */
ngx_int_t ngx_http_intercom_oauth_subrequest_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SUBREQUEST_H_INCLUDED_ */
