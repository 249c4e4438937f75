
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * SipHash-1-3 (Aumasson and Bernstein, 2012; one compression round per
 * 8 bytes, three at the end), computed here rather than through
 * OpenSSL's EVP_MAC: the zone hashes the key of every token lookup, on
 * every guarded page and every read of a token's variable, and the
 * provider's dispatch, parameter lookups and context reset cost about
 * 950 instructions where the function itself takes about 150.  The hash
 * only spreads keys a client chooses over buckets, under a per-zone
 * random key whose output no one sees: 1-3 is the variant Rust's and
 * CPython's hash tables use against the same flooding, and it takes
 * 8 rounds for a 36-byte key where 2-4 took 14.  Only the first half of
 * the 128-bit output is made: the zone reads 4 bytes of it.
 * fuzz/fuzz_siphash.c checks it against OpenSSL's with the same rounds.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_intercom_oauth_siphash.h"


#define ngx_http_intercom_oauth_rotl(x, b)                                    \
    (((x) << (b)) | ((x) >> (64 - (b))))

#define ngx_http_intercom_oauth_sipround(v0, v1, v2, v3)                      \
    v0 += v1; v1 = ngx_http_intercom_oauth_rotl(v1, 13); v1 ^= v0;            \
    v0 = ngx_http_intercom_oauth_rotl(v0, 32);                                \
    v2 += v3; v3 = ngx_http_intercom_oauth_rotl(v3, 16); v3 ^= v2;            \
    v0 += v3; v3 = ngx_http_intercom_oauth_rotl(v3, 21); v3 ^= v0;            \
    v2 += v1; v1 = ngx_http_intercom_oauth_rotl(v1, 17); v1 ^= v2;            \
    v2 = ngx_http_intercom_oauth_rotl(v2, 32)


static ngx_inline uint64_t ngx_http_intercom_oauth_siphash_load(
    const u_char *p);


uint64_t
ngx_http_intercom_oauth_siphash(const u_char *key, const u_char *in,
    size_t len)
{
    size_t         i, left;
    uint64_t       k0, k1, v0, v1, v2, v3, m;
    const u_char  *end;

    k0 = ngx_http_intercom_oauth_siphash_load(key);
    k1 = ngx_http_intercom_oauth_siphash_load(key + 8);

    v0 = k0 ^ 0x736f6d6570736575ULL;
    v1 = k1 ^ 0x646f72616e646f6dULL;
    v2 = k0 ^ 0x6c7967656e657261ULL;
    v3 = k1 ^ 0x7465646279746573ULL;

    /* the 128-bit output's domain separation */
    v1 ^= 0xee;

    end = in + (len & ~(size_t) 7);

    for ( /* void */ ; in != end; in += 8) {
        m = ngx_http_intercom_oauth_siphash_load(in);

        v3 ^= m;
        ngx_http_intercom_oauth_sipround(v0, v1, v2, v3);
        v0 ^= m;
    }

    /* the last 0-7 bytes, little-endian, under the length's low byte */
    m = (uint64_t) len << 56;
    left = len & 7;

    for (i = 0; i < left; i++) {
        m |= (uint64_t) in[i] << (8 * i);
    }

    v3 ^= m;
    ngx_http_intercom_oauth_sipround(v0, v1, v2, v3);
    v0 ^= m;

    v2 ^= 0xee;

    ngx_http_intercom_oauth_sipround(v0, v1, v2, v3);
    ngx_http_intercom_oauth_sipround(v0, v1, v2, v3);
    ngx_http_intercom_oauth_sipround(v0, v1, v2, v3);

    return v0 ^ v1 ^ v2 ^ v3;
}


static ngx_inline uint64_t
ngx_http_intercom_oauth_siphash_load(const u_char *p)
{
#if (NGX_HAVE_LITTLE_ENDIAN)

    uint64_t  m;

    /* one unaligned load where the machine has them */
    ngx_memcpy(&m, p, sizeof(uint64_t));

    return m;

#else

    return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16
           | (uint64_t) p[3] << 24 | (uint64_t) p[4] << 32
           | (uint64_t) p[5] << 40 | (uint64_t) p[6] << 48
           | (uint64_t) p[7] << 56;

#endif
}
