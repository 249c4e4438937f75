
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * SipHash-1-3, the keyed hash of the zone's token keys (zone.c).
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SIPHASH_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SIPHASH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_INTERCOM_OAUTH_SIPHASH_KEY  16


/*
 * The first 8 bytes of SipHash-1-3 with a 128-bit output (OpenSSL's
 * "SIPHASH" MAC with its default size, c-rounds 1 and d-rounds 3) of
 * in[0..len) under the 16-byte key, read as a little-endian number.
 */
uint64_t ngx_http_intercom_oauth_siphash(const u_char *key, const u_char *in,
    size_t len);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SIPHASH_H_INCLUDED_ */
