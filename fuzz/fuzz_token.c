
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer harness: the token endpoint's answer,
 * ngx_http_intercom_oauth_token_parse() (src/ngx_http_intercom_oauth_token.c).
 * The input is the response body, at most the exchange's 64 KiB cap.
 *
 * Properties besides "no crash, no out-of-bounds access, no leak":
 *  - NGX_OK only with a token of 1..2048 bytes of printable ASCII without
 *    spaces, and only when yajl's own tree parser reads the input as an
 *    object;
 *  - any failure comes with a reason, a success without one;
 *  - the logged error code and message are at most 128 bytes, without
 *    control characters (a newline would forge a log line).
 * A second parse with a pool that runs dry part-way checks that running
 * out of memory is a clean NGX_ERROR.
 */


#include <string.h>

#include <yajl/yajl_tree.h>

#include "ngx_shim.h"
#include "ngx_http_intercom_oauth.h"
#include "ngx_http_intercom_oauth_token.h"


/* no control character: nothing that could start a log or header line */
static int
fuzz_tame(ngx_str_t *s)
{
    for (size_t i = 0; i < s->len; i++) {
        if (s->data[i] < 0x20 || s->data[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                                    *body;
    ngx_int_t                                  rc;
    ngx_pool_t                                *pool;
    ngx_http_intercom_oauth_token_response_t   tr;

    if (size > NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE) {
        return 0;
    }

    body = malloc(size ? size : 1);
    memcpy(body, data, size);

    pool = fuzz_pool_create(0);

    rc = ngx_http_intercom_oauth_token_parse(pool, body, size, &tr);

    fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED || rc == NGX_ERROR);
    fuzz_assert(tr.error_code.len <= 128);
    fuzz_assert(tr.error_message.len <= 128);
    fuzz_assert(fuzz_tame(&tr.error_code));
    fuzz_assert(fuzz_tame(&tr.error_message));

    if (rc == NGX_OK) {
        fuzz_assert(tr.reason == NULL);
        fuzz_assert(tr.nerrors == 0);
        fuzz_assert(tr.access_token.len >= 1);
        fuzz_assert(tr.access_token.len <= NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN);

        for (size_t i = 0; i < tr.access_token.len; i++) {
            fuzz_assert(tr.access_token.data[i] > 0x20
                        && tr.access_token.data[i] < 0x7f);
        }

        /* yajl's tree parser must agree that this is one JSON object */
        if (memchr(body, '\0', size) == NULL) {
            char      *text, err[128];
            yajl_val   v;

            text = malloc(size + 1);
            memcpy(text, body, size);
            text[size] = '\0';

            v = yajl_tree_parse(text, err, sizeof(err));
            fuzz_assert(v != NULL && YAJL_IS_OBJECT(v));
            yajl_tree_free(v);
            free(text);
        }

    } else {
        fuzz_assert(tr.reason != NULL);
    }

    fuzz_pool_destroy(pool);

    /* the same with a pool that runs dry after a few bytes */
    pool = fuzz_pool_create(1 + size % 97);
    rc = ngx_http_intercom_oauth_token_parse(pool, body, size, &tr);
    fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED || rc == NGX_ERROR);
    fuzz_pool_destroy(pool);

    free(body);

    return 0;
}
