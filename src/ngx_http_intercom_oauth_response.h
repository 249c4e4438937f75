
/*
 * Small pieces of HTTP plumbing the handlers share: finding a request
 * header, setting Location, reading a bounded body, sending a body held in
 * memory.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_RESPONSE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_RESPONSE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * The first request header called "name" (case-insensitive), NULL if none;
 * with "repeated" set, also tells whether there is more than one.
 */
ngx_table_elt_t *ngx_http_intercom_oauth_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_uint_t *repeated);

/*
 * Sets the Location header to "uri" (not copied: it must outlive the
 * request).  Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_location(ngx_http_request_t *r,
    ngx_str_t *uri);

/*
 * Copies the request body read by ngx_http_read_client_request_body() into
 * one buffer from r->pool.  Returns NGX_OK, NGX_DECLINED when it is larger
 * than "max" bytes (or was buffered to a file), NGX_ERROR on allocation
 * failure.
 */
ngx_int_t ngx_http_intercom_oauth_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);

/*
 * Sends "status" with "body" (already in memory, sent as it is) and the
 * given Content-Type.  Returns what a content handler returns.
 */
ngx_int_t ngx_http_intercom_oauth_send(ngx_http_request_t *r,
    ngx_uint_t status, char *content_type, u_char *body, size_t len);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_RESPONSE_H_INCLUDED_ */
