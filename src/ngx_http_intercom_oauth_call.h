
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Calls to Intercom (the token request, /me, the revocation) without
 * blocking the worker.  Two engines carry them: libcurl's multi interface
 * on nginx's event loop (ngx_http_intercom_oauth_curl.h) for an http(s)
 * URL, and a subrequest to a location of this server
 * (ngx_http_intercom_oauth_subrequest.h) for a URI that starts with "/".
 * The engine is bound to the endpoint once, when the configuration is
 * merged, as the upstream keepalive module binds its peer functions;
 * callers see one ngx_http_intercom_oauth_call_t either way.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_CALL_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_CALL_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


#define NGX_HTTP_INTERCOM_OAUTH_USER_AGENT                                    \
    "ngx_http_intercom_oauth_module/" NGX_HTTP_INTERCOM_OAUTH_VERSION


typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_CALL_OK = 0,      /* a response arrived */
    NGX_HTTP_INTERCOM_OAUTH_CALL_FAILED,      /* connect, TLS, I/O ... */
    NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT,     /* intercom_oauth_timeout */
    NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE    /* over max_response */
} ngx_http_intercom_oauth_call_rc_e;


/* what the caller reads when the call is done; engines extend it */
struct ngx_http_intercom_oauth_call_s {
    ngx_http_request_t                    *request;
    ngx_http_intercom_oauth_call_done_pt   done;

    ngx_uint_t                             rc;       /* ..._call_rc_e */
    long                                   status;   /* HTTP status */
    u_char                                *body;     /* r->pool */
    size_t                                 len;
    size_t                                 max_response;
    ngx_msec_t                             started;
    ngx_msec_t                             elapsed;  /* ms */

    char                                   error[256]; /* for the log */
};


/*
 * Binds "endpoint" to the engine its URL's form asks for; "directive"
 * names it in the message when the URL is neither an http(s) URL nor a
 * URI starting with "/".  Returns NGX_OK or NGX_ERROR (logged).
 */
ngx_int_t ngx_http_intercom_oauth_call_bind(ngx_conf_t *cf, char *directive,
    ngx_http_intercom_oauth_endpoint_t *endpoint);

/* Whether "url" is an absolute http:// or https:// URL: 1 or 0. */
ngx_uint_t ngx_http_intercom_oauth_call_absolute(ngx_str_t *url);

/*
 * Starts a call of request r to "endpoint" and returns at once: NGX_OK
 * when it runs ("done" will be called from the event loop, and the
 * engine resumes r with what it returns: ngx_http_intercom_oauth_resume()),
 * NGX_ERROR when it could not start.  If
 * r is freed first, the call is ended and "done" is never called.  The
 * caller makes r wait (ngx_http_intercom_oauth_wait()).
 */
ngx_int_t ngx_http_intercom_oauth_call_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_endpoint_t *endpoint,
    ngx_http_intercom_oauth_call_params_t *params,
    ngx_http_intercom_oauth_call_done_pt done);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_CALL_H_INCLUDED_ */
