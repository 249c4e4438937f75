
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Random bytes for state nonces and session ids, from OpenSSL's CSPRNG.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_RANDOM_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_RANDOM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Fills buf with n random bytes from RAND_bytes(), drawn a block at a
 * time per process (see the .c file).  Returns NGX_OK, or NGX_ERROR when
 * OpenSSL's generator fails; the caller logs.
 */
ngx_int_t ngx_http_intercom_oauth_random(u_char *buf, size_t n);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_RANDOM_H_INCLUDED_ */
