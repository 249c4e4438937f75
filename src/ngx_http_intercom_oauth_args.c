
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Parsing the callback's arguments.  nginx's ngx_http_arg() returns the
 * first of repeated arguments; here a repeated code, state or error is
 * refused, since with two values there is no telling which one Intercom
 * sent.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_intercom_oauth_args.h"


#define ngx_http_intercom_oauth_args_hex(c)                                   \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'f')                 \
     || ((c) >= 'A' && (c) <= 'F'))


ngx_int_t
ngx_http_intercom_oauth_args_parse(ngx_pool_t *pool, ngx_str_t *args,
    ngx_http_intercom_oauth_args_t *a, ngx_str_t *why)
{
    u_char      *p, *end, *name, *eq, *value, *dst, *src;
    size_t       nlen;
    ngx_str_t   *target;
    ngx_uint_t   seen, escaped;

    ngx_memzero(a, sizeof(ngx_http_intercom_oauth_args_t));

    p = args->data;
    end = args->data + args->len;

    while (p < end) {
        name = p;

        while (p < end && *p != '&') {
            p++;
        }

        eq = ngx_strlchr(name, p, '=');

        if (eq == NULL) {
            nlen = p - name;
            value = p;

        } else {
            nlen = eq - name;
            value = eq + 1;
        }

        target = NULL;
        seen = 0;

        if (nlen == 4 && ngx_strncmp(name, "code", 4) == 0) {
            target = &a->code;
            seen = a->has_code;
            a->has_code = 1;

        } else if (nlen == 5 && ngx_strncmp(name, "state", 5) == 0) {
            target = &a->state;
            seen = a->has_state;
            a->has_state = 1;

        } else if (nlen == 5 && ngx_strncmp(name, "error", 5) == 0) {
            target = &a->error;
            seen = a->has_error;
            a->has_error = 1;
        }

        if (seen) {
            ngx_str_set(why, "an argument is repeated");

            if (target == &a->code) {
                ngx_str_set(why, "\"code\" is repeated");

            } else if (target == &a->state) {
                ngx_str_set(why, "\"state\" is repeated");

            } else {
                ngx_str_set(why, "\"error\" is repeated");
            }

            return NGX_DECLINED;
        }

        if (target) {
            escaped = 0;

            /* ngx_unescape_uri() silently drops a "%" without two digits */
            for (src = value; src < p; src++) {
                if (*src != '%') {
                    continue;
                }

                if (p - src < 3 || !ngx_http_intercom_oauth_args_hex(src[1])
                    || !ngx_http_intercom_oauth_args_hex(src[2]))
                {
                    ngx_str_set(why, "an argument is not percent-encoded "
                                     "correctly");
                    return NGX_DECLINED;
                }

                escaped = 1;
            }

            dst = ngx_pnalloc(pool, (p - value) ? (size_t) (p - value) : 1);
            if (dst == NULL) {
                return NGX_ERROR;
            }

            target->data = dst;

            /*
             * Without a "%" the value is its own unescaped form: a copy
             * (ngx_unescape_uri() goes a byte at a time through its
             * states; a state is base64url, a code seldom has a "%").
             */
            if (escaped) {
                src = value;
                ngx_unescape_uri(&dst, &src, p - value, 0);

            } else {
                dst = ngx_cpymem(dst, value, p - value);
            }

            target->len = dst - target->data;
        }

        if (p < end) {
            p++;   /* "&" */
        }
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_intercom_oauth_args_printable(ngx_str_t *s, size_t max)
{
    size_t  i;

    if (s->len > max) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        if (s->data[i] <= 0x20 || s->data[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}
