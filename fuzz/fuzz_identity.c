
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer harness: the /me answer,
 * ngx_http_intercom_oauth_identity_parse()
 * (src/ngx_http_intercom_oauth_identity.c).  The input is the body.
 *
 * Properties: NGX_OK only with a non-empty admin id and workspace id,
 * email_verified only with identity, no control character in any field
 * (they are logged and become variables, maybe headers); a failure always
 * has a reason.
 */


#include <string.h>

#include "ngx_shim.h"
#include "ngx_http_intercom_oauth_identity.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                            *body;
    ngx_int_t                          rc;
    ngx_pool_t                        *pool;
    const char                        *reason;
    ngx_http_intercom_oauth_record_t   rec;

    if (size > NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE) {
        return 0;
    }

    body = malloc(size ? size : 1);
    memcpy(body, data, size);

    pool = fuzz_pool_create(0);
    memset(&rec, 0, sizeof(rec));
    reason = NULL;

    rc = ngx_http_intercom_oauth_identity_parse(pool, body, size, &rec,
                                                &reason);

    if (rc == NGX_OK) {
        fuzz_assert(rec.identity == 1);
        fuzz_assert(rec.admin_id.len > 0);
        fuzz_assert(rec.workspace_id.len > 0);
        fuzz_assert(rec.email_verified == 0 || rec.email_verified == 1);

        ngx_str_t  *f[] = { &rec.admin_id, &rec.admin_email,
                            &rec.workspace_id, &rec.workspace_name,
                            &rec.workspace_region };

        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
            for (size_t j = 0; j < f[i]->len; j++) {
                fuzz_assert(f[i]->data[j] >= 0x20 && f[i]->data[j] != 0x7f);
            }
        }

    } else {
        fuzz_assert(rc == NGX_ERROR);
        fuzz_assert(reason != NULL);
        fuzz_assert(rec.identity == 0);
    }

    fuzz_pool_destroy(pool);
    free(body);

    return 0;
}
