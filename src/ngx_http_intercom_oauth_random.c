
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Random bytes, a block at a time.
 *
 * RAND_bytes() goes through OpenSSL 3's provider layer on every call and
 * costs about as much for 16 bytes as for 4096 (the connect page's
 * profile in bench/RESULTS.md).  A process therefore draws
 * 4 KB at once and hands out slices.  Each slice is wiped from the block
 * as it is handed out, so no byte is ever given twice, and the block
 * belongs to the process that drew it: after a fork (another ngx_pid) the
 * child draws its own before it hands out anything, so two workers never
 * share bytes.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <openssl/rand.h>

#include "ngx_http_intercom_oauth_random.h"


#define NGX_HTTP_INTERCOM_OAUTH_RANDOM_BLOCK  4096


static u_char     ngx_http_intercom_oauth_random_block[
                                        NGX_HTTP_INTERCOM_OAUTH_RANDOM_BLOCK];
static size_t     ngx_http_intercom_oauth_random_left;
static ngx_pid_t  ngx_http_intercom_oauth_random_pid;


ngx_int_t
ngx_http_intercom_oauth_random(u_char *buf, size_t n)
{
    u_char  *p;

    if (n > NGX_HTTP_INTERCOM_OAUTH_RANDOM_BLOCK / 4) {
        return RAND_bytes(buf, (int) n) == 1 ? NGX_OK : NGX_ERROR;
    }

    if (ngx_http_intercom_oauth_random_pid != ngx_pid
        || ngx_http_intercom_oauth_random_left < n)
    {
        if (RAND_bytes(ngx_http_intercom_oauth_random_block,
                       NGX_HTTP_INTERCOM_OAUTH_RANDOM_BLOCK)
            != 1)
        {
            ngx_http_intercom_oauth_random_left = 0;
            return NGX_ERROR;
        }

        ngx_http_intercom_oauth_random_left =
                                         NGX_HTTP_INTERCOM_OAUTH_RANDOM_BLOCK;
        ngx_http_intercom_oauth_random_pid = ngx_pid;
    }

    p = ngx_http_intercom_oauth_random_block
        + NGX_HTTP_INTERCOM_OAUTH_RANDOM_BLOCK
        - ngx_http_intercom_oauth_random_left;

    ngx_memcpy(buf, p, n);
    ngx_explicit_memzero(p, n);

    ngx_http_intercom_oauth_random_left -= n;

    return NGX_OK;
}
