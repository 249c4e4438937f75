
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The token endpoint (docs/intercom.md): the token request is a form with
 * code, client_id and client_secret; its JSON answer is read with yajl.
 * Success:
 *   {"token_type":"Bearer","token":"<tok>","access_token":"<tok>"}
 * Failure: Intercom's error envelope
 *   {"type":"error.list","request_id":"..","errors":[{"code":"..",
 *    "message":".."}]}
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_TOKEN_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_TOKEN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_str_t                   access_token;  /* "access_token", else
                                                  "token" */
    ngx_str_t                   error_code;    /* errors[0].code, if any */
    ngx_str_t                   error_message; /* errors[0].message, if any */
    ngx_uint_t                  nerrors;       /* elements of "errors" */
    const char                 *reason;        /* why it is not a success */
} ngx_http_intercom_oauth_token_response_t;


/*
 * The end of the token request's body that is the same on every callback
 * of a location, "&client_id=...&client_secret=..." percent-encoded, into
 * "tail" (from the configuration's "pool"), made once at configuration.
 * Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_token_form_conf(ngx_pool_t *pool,
    ngx_str_t *client_id, ngx_str_t *client_secret, ngx_str_t *tail);

/*
 * Builds the token request's body into "form" (from "pool"): the code
 * percent-encoded, then the location's "tail".  It holds the client
 * secret and the code: the caller wipes it.  Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_token_form(ngx_pool_t *pool, ngx_str_t *code,
    ngx_str_t *tail, ngx_str_t *form);

/*
 * Parses "len" bytes of "body".  Returns NGX_OK when the body is one JSON
 * object with a non-empty access token (printable ASCII without spaces, at
 * most NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN bytes), no non-empty "errors" array
 * and no "type":"error.list"; NGX_DECLINED when it is valid JSON but not a
 * success, and NGX_ERROR when it is not valid JSON or not an object.  In
 * both failure cases tr->reason says why in words safe to log (never the
 * token).  Strings are copied into "pool".
 */
ngx_int_t ngx_http_intercom_oauth_token_parse(ngx_pool_t *pool, u_char *body,
    size_t len, ngx_http_intercom_oauth_token_response_t *tr);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_TOKEN_H_INCLUDED_ */
