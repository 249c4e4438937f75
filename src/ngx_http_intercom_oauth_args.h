
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The callback's arguments: "code", "state" and "error" from a query
 * string or a form body.  Pure parsing, no request: the fuzzer calls it.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_ARGS_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_ARGS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_str_t                   code;
    ngx_str_t                   state;
    ngx_str_t                   error;
    unsigned                    has_code:1;
    unsigned                    has_state:1;
    unsigned                    has_error:1;
} ngx_http_intercom_oauth_args_t;


/*
 * Splits "a=1&b=2" and percent-decodes the values of code, state and error
 * (once; "+" is kept as it is, so that a code stays byte-exact,
 * docs/intercom.md).  Other names are skipped.  Returns
 * NGX_OK; NGX_DECLINED with *why set (safe to log: it names the argument,
 * never its value) when one of the three is repeated or badly
 * percent-encoded; NGX_ERROR when "pool" is exhausted.
 */
ngx_int_t ngx_http_intercom_oauth_args_parse(ngx_pool_t *pool,
    ngx_str_t *args, ngx_http_intercom_oauth_args_t *a, ngx_str_t *why);

/*
 * Tells whether "s" is at most "max" bytes of printable ASCII without
 * spaces.  Returns 1 or 0.
 */
ngx_uint_t ngx_http_intercom_oauth_args_printable(ngx_str_t *s, size_t max);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_ARGS_H_INCLUDED_ */
