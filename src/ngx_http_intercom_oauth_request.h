
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * What every handler needs of its request: the module's context, the key
 * a token belongs to, the state secret, $intercom_oauth_error, waiting
 * for (and resuming after) a call or the store, reading its headers and
 * body, and whether a form POST comes from this site.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_REQUEST_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_REQUEST_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * The request's context, made on first use; NULL only when the request
 * pool is exhausted.
 */
ngx_http_intercom_oauth_ctx_t *ngx_http_intercom_oauth_ctx(
    ngx_http_request_t *r);

/*
 * Who a token of this request belongs to: the intercom_oauth_key value,
 * or the session id when the directive is not set.  Sets *key to an empty
 * string when there is nobody.  Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_key(ngx_http_request_t *r, ngx_str_t *key);

/*
 * Sets $intercom_oauth_error for the rest of the request, internal
 * redirects (error_page) included.  "code" must outlive the request.
 */
void ngx_http_intercom_oauth_set_error(ngx_http_request_t *r,
    ngx_str_t *code);

/*
 * The secret the location's states are signed with:
 * intercom_oauth_state_secret, or the zone's generated one.
 */
void ngx_http_intercom_oauth_state_secret(ngx_http_request_t *r,
    ngx_str_t *secret);

/*
 * Makes r wait for an event the module waits for (a call, the store): it
 * stays open, a browser that goes away ends it.  Returns NGX_DONE, what a
 * handler or continuation returns then.
 */
ngx_int_t ngx_http_intercom_oauth_wait(ngx_http_request_t *r);

/*
 * After the wait: finalizes r with "rc" (NGX_DONE: it waits again) and
 * runs the posted requests.
 */
void ngx_http_intercom_oauth_resume(ngx_http_request_t *r, ngx_int_t rc);


/*
 * The first request header called "name" (case-insensitive), NULL if none;
 * with "repeated" set, also tells whether there is more than one.
 */
ngx_table_elt_t *ngx_http_intercom_oauth_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_uint_t *repeated);

/*
 * Tells whether a state-changing request (a form POST) comes from a page
 * of this site, against cross-site request forgery: its Origin, or else
 * its Referer, must have the host (and port) of its Host header.  A page
 * served with "Referrer-Policy: no-referrer" makes the browser send
 * "Origin: null" and no Referer; such a request is accepted only with
 * exactly one "Sec-Fetch-Site: same-origin", the browser's own word that
 * the page is of this origin.  Returns NGX_OK or NGX_DECLINED (with *why
 * set for the log).
 */
ngx_int_t ngx_http_intercom_oauth_same_origin(ngx_http_request_t *r,
    const char **why);

/*
 * A handler that only reads (the connect page, the status): GET and HEAD,
 * the body discarded.  Returns NGX_OK, or what the handler returns now
 * (405, or the discarding's result).
 */
ngx_int_t ngx_http_intercom_oauth_read_only(ngx_http_request_t *r);

/*
 * Copies the request body read by ngx_http_read_client_request_body() into
 * one buffer from r->pool, reading back what was buffered to a file.
 * Returns NGX_OK, NGX_DECLINED when it is larger than "max" bytes,
 * NGX_ERROR on allocation or read failure (logged).
 */
ngx_int_t ngx_http_intercom_oauth_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_REQUEST_H_INCLUDED_ */
