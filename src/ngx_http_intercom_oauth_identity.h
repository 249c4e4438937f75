
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Who a token belongs to: Intercom's GET /me with the token as Bearer
 * (docs/intercom.md), read with yajl:
 *   {"type":"admin","id":"..","email":"..","email_verified":true,
 *    "app":{"id_code":"<workspace id>","name":"..","region":".."}}
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_IDENTITY_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_IDENTITY_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/* the longest identity field kept, in bytes; longer ones are cut */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_IDENTITY  255


/*
 * The URL of /me under "api_url", into "url" from "pool".  Returns NGX_OK
 * or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_identity_url(ngx_pool_t *pool,
    ngx_str_t *api_url, ngx_str_t *url);

/*
 * The /me request for "token": a GET with the token as Bearer.
 */
void ngx_http_intercom_oauth_identity_request(ngx_str_t *token,
    ngx_http_intercom_oauth_call_params_t *params);

/*
 * Fills the identity fields of "rec" from a /me body ("len" bytes, any
 * content).  email_verified is 1 only when the body says exactly true.
 * Returns NGX_OK, or NGX_ERROR with *reason set (words safe to log) when
 * the body is not JSON, not an admin, or has no id or workspace id.
 * Strings are copied into "pool", at most
 * NGX_HTTP_INTERCOM_OAUTH_MAX_IDENTITY bytes each.
 */
ngx_int_t ngx_http_intercom_oauth_identity_parse(ngx_pool_t *pool,
    u_char *body, size_t len, ngx_http_intercom_oauth_record_t *rec,
    const char **reason);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_IDENTITY_H_INCLUDED_ */
