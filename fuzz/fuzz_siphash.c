
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer harness: the zone's hash, ngx_http_intercom_oauth_siphash()
 * (src/ngx_http_intercom_oauth_siphash.c), against OpenSSL's SIPHASH MAC.
 * The input's first 16 bytes are the key (zeros when shorter), the rest
 * the message.
 *
 * Property checked: the 8 bytes returned, little-endian, are the first 8
 * of OpenSSL's 16-byte SipHash-1-3 (c-rounds 1, d-rounds 3) of the
 * message under the key: the module's own code is the published
 * algorithm.
 */


#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "ngx_shim.h"
#include "ngx_http_intercom_oauth_siphash.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t         n, outlen, i;
    u_char         key[NGX_HTTP_INTERCOM_OAUTH_SIPHASH_KEY];
    u_char         out[16];
    uint64_t       h;
    EVP_MAC       *mac;
    EVP_MAC_CTX   *c;
    OSSL_PARAM     params[3];
    unsigned int   c_rounds, d_rounds;
    const u_char  *msg;

    static EVP_MAC_CTX  *ctx;

    ngx_memzero(key, sizeof(key));
    n = size < sizeof(key) ? size : sizeof(key);
    memcpy(key, data, n);

    msg = data + n;

    if (ctx == NULL) {
        mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
        fuzz_assert(mac != NULL);
        ctx = EVP_MAC_CTX_new(mac);
        EVP_MAC_free(mac);
        fuzz_assert(ctx != NULL);
    }

    c = ctx;
    c_rounds = 1;
    d_rounds = 3;
    params[0] = OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_C_ROUNDS, &c_rounds);
    params[1] = OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_D_ROUNDS, &d_rounds);
    params[2] = OSSL_PARAM_construct_end();

    fuzz_assert(EVP_MAC_init(c, key, sizeof(key), params) == 1);
    fuzz_assert(EVP_MAC_update(c, msg, size - n) == 1);
    fuzz_assert(EVP_MAC_final(c, out, &outlen, sizeof(out)) == 1);
    fuzz_assert(outlen == 16);

    h = ngx_http_intercom_oauth_siphash(key, msg, size - n);

    for (i = 0; i < 8; i++) {
        fuzz_assert((u_char) (h >> (8 * i)) == out[i]);
    }

    return 0;
}
