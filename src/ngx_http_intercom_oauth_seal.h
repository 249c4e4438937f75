
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Sealing a value for the store: AES-256-GCM with a random 96-bit IV and
 * additional authenticated data (the value's own Redis key), laid out as
 * 0x01 | IV (12) | ciphertext | tag (16).
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SEAL_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SEAL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Seals "plain" into "out" (from pool) with "key" (32 bytes) and "aad".
 * Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_seal(ngx_pool_t *pool, u_char *key,
    ngx_str_t *aad, ngx_str_t *plain, ngx_str_t *out);

/*
 * Opens a sealed value into "plain" (from pool).  Returns NGX_OK,
 * NGX_DECLINED when it is malformed, was sealed under another key or for
 * another "aad", or was altered, NGX_ERROR when the pool is exhausted.
 */
ngx_int_t ngx_http_intercom_oauth_seal_open(ngx_pool_t *pool, u_char *key,
    ngx_str_t *aad, ngx_str_t *in, ngx_str_t *plain);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SEAL_H_INCLUDED_ */
