
/*
 * The second exchange engine: the outbound call as an nginx subrequest to
 * a location of the same server (an "internal" location with proxy_pass to
 * Intercom), for sites that want nginx's own upstream features (keepalive
 * pools, proxy_ssl_*, resolver, upstream{} blocks) instead of libcurl.
 * ngx_http_intercom_oauth_exchange_start() chooses it when the URL starts
 * with "/"; callers see the same ngx_http_intercom_oauth_exchange_t.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SUBREQUEST_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SUBREQUEST_H_INCLUDED_


#include "ngx_http_intercom_oauth_exchange.h"


/*
 * Starts a subrequest of r to params->url (a URI, optionally with
 * "?args") with only the headers and body the module sets: the browser's
 * headers, cookies and body never reach the location.  params->ca_file and
 * params->proxy do not apply (the location's proxy_ssl_* and upstreams
 * do); params->timeout (ms) bounds the wait, params->max_response (bytes)
 * the body kept.  "done" is called later from the event loop, never from
 * inside the subrequest's finalization, with the same outcomes as the
 * libcurl engine.  Returns NGX_OK with *exp set, or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_subrequest_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_exchange_params_t *params,
    ngx_http_intercom_oauth_exchange_done_pt done,
    ngx_http_intercom_oauth_exchange_t **exp);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SUBREQUEST_H_INCLUDED_ */
