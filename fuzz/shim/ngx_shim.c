/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * Stand-ins for the few nginx core functions that the fuzzed files call.
 *
 * nginx-dev ships nginx's headers, not its .c files, so the harnesses
 * cannot link nginx's core.  These are written for the harnesses from the
 * behaviour nginx documents and its headers declare; they are not nginx's
 * code.  Where nginx's behaviour matters to the code under test, it is
 * reproduced on purpose, and said so:
 *
 *  - ngx_decode_base64url() accepts only the base64url alphabet, stops at
 *    the first "=", refuses a length of 4n+1, and does not check that the
 *    unused low bits of the last character are zero (nginx does not either:
 *    several strings can decode to the same bytes).
 *  - ngx_escape_uri() (NGX_ESCAPE_URI_COMPONENT only, which the token
 *    request's form uses) keeps the unreserved characters of RFC 3986 and
 *    percent-encodes every other byte.
 *  - ngx_unescape_uri() (type 0) decodes "%XX"; after a "%" that is not
 *    followed by a hex digit, the character is kept and the "%" dropped; a
 *    "%X" followed by a non-hex character drops all three.
 *
 * Every pool allocation is its own malloc(), so that AddressSanitizer puts
 * a red zone around each one: an overflow of a pool buffer is caught the
 * same as an overflow of a heap buffer.
 */


#include <stdlib.h>
#include <string.h>

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_shim.h"


typedef struct fuzz_chunk_s  fuzz_chunk_t;

struct fuzz_chunk_s {
    fuzz_chunk_t  *next;
    /* the caller's bytes follow, max_align_t-aligned */
    max_align_t    data[];
};


struct fuzz_pool_s {
    fuzz_chunk_t  *chunks;
    size_t         allocated;
    size_t         limit;        /* 0: no limit */
};


static ngx_time_t   fuzz_time;
volatile ngx_time_t *ngx_cached_time = &fuzz_time;

/* the process id the random block is drawn for (one process here) */
ngx_pid_t           ngx_pid = 1;

static ngx_log_t    fuzz_log_value;
ngx_log_t          *fuzz_log = &fuzz_log_value;


void
fuzz_set_time(time_t sec)
{
    fuzz_time.sec = sec;
    fuzz_time.msec = 0;
    fuzz_time.gmtoff = 0;
}


ngx_pool_t *
fuzz_pool_create(size_t limit)
{
    struct fuzz_pool_s  *p;

    p = calloc(1, sizeof(struct fuzz_pool_s));
    if (p == NULL) {
        abort();
    }

    p->limit = limit;

    /* the module only passes pools through: the cast is never looked into */
    return (ngx_pool_t *) p;
}


void
fuzz_pool_destroy(ngx_pool_t *pool)
{
    fuzz_chunk_t        *c, *next;
    struct fuzz_pool_s  *p = (struct fuzz_pool_s *) pool;

    for (c = p->chunks; c; c = next) {
        next = c->next;
        free(c);
    }

    free(p);
}


size_t
fuzz_pool_allocated(ngx_pool_t *pool)
{
    return ((struct fuzz_pool_s *) pool)->allocated;
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    fuzz_chunk_t        *c;
    struct fuzz_pool_s  *p = (struct fuzz_pool_s *) pool;

    if (p->limit && p->allocated + size > p->limit) {
        return NULL;
    }

    c = malloc(sizeof(fuzz_chunk_t) + size);
    if (c == NULL) {
        return NULL;
    }

    c->next = p->chunks;
    p->chunks = c;
    p->allocated += size;

    return c->data;
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    return ngx_pnalloc(pool, size);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    p = ngx_pnalloc(pool, size);

    if (p) {
        memset(p, 0, size);
    }

    return p;
}


void
ngx_log_error_core(ngx_uint_t level, ngx_log_t *log, ngx_err_t err,
    const char *fmt, ...)
{
    /* nothing: the harnesses look at return values, not at log lines */
}


u_char *
ngx_cpystrn(u_char *dst, u_char *src, size_t n)
{
    if (n == 0) {
        return dst;
    }

    while (--n) {
        *dst = *src;

        if (*dst == '\0') {
            return dst;
        }

        dst++;
        src++;
    }

    *dst = '\0';

    return dst;
}


void
ngx_explicit_memzero(void *buf, size_t n)
{
    volatile u_char  *p = buf;

    while (n--) {
        *p++ = 0;
    }
}


static const char  fuzz_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


void
ngx_encode_base64url(ngx_str_t *dst, ngx_str_t *src)
{
    size_t   i, n;
    u_char  *d;
    u_char  *s;
    uint32_t v;

    d = dst->data;
    s = src->data;
    n = src->len;

    for (i = 0; i + 3 <= n; i += 3) {
        v = ((uint32_t) s[i] << 16) | ((uint32_t) s[i + 1] << 8) | s[i + 2];
        *d++ = fuzz_b64url[(v >> 18) & 63];
        *d++ = fuzz_b64url[(v >> 12) & 63];
        *d++ = fuzz_b64url[(v >> 6) & 63];
        *d++ = fuzz_b64url[v & 63];
    }

    if (n - i == 1) {
        v = (uint32_t) s[i] << 16;
        *d++ = fuzz_b64url[(v >> 18) & 63];
        *d++ = fuzz_b64url[(v >> 12) & 63];

    } else if (n - i == 2) {
        v = ((uint32_t) s[i] << 16) | ((uint32_t) s[i + 1] << 8);
        *d++ = fuzz_b64url[(v >> 18) & 63];
        *d++ = fuzz_b64url[(v >> 12) & 63];
        *d++ = fuzz_b64url[(v >> 6) & 63];
    }

    /* base64url without padding */
    dst->len = d - dst->data;
}


static int
fuzz_b64url_value(u_char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


ngx_int_t
ngx_decode_base64url(ngx_str_t *dst, ngx_str_t *src)
{
    size_t     len, i;
    u_char    *d;
    uint32_t   v;

    for (len = 0; len < src->len && src->data[len] != '='; len++) {
        if (fuzz_b64url_value(src->data[len]) < 0) {
            return NGX_ERROR;
        }
    }

    if (len % 4 == 1) {
        return NGX_ERROR;
    }

    d = dst->data;

    for (i = 0; i + 4 <= len; i += 4) {
        v = (uint32_t) fuzz_b64url_value(src->data[i]) << 18
            | (uint32_t) fuzz_b64url_value(src->data[i + 1]) << 12
            | (uint32_t) fuzz_b64url_value(src->data[i + 2]) << 6
            | (uint32_t) fuzz_b64url_value(src->data[i + 3]);
        *d++ = (u_char) (v >> 16);
        *d++ = (u_char) (v >> 8);
        *d++ = (u_char) v;
    }

    if (len - i >= 2) {
        v = (uint32_t) fuzz_b64url_value(src->data[i]) << 18
            | (uint32_t) fuzz_b64url_value(src->data[i + 1]) << 12;

        if (len - i == 3) {
            v |= (uint32_t) fuzz_b64url_value(src->data[i + 2]) << 6;
        }

        *d++ = (u_char) (v >> 16);

        if (len - i == 3) {
            *d++ = (u_char) (v >> 8);
        }
    }

    dst->len = d - dst->data;

    return NGX_OK;
}


static int
fuzz_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


void
ngx_unescape_uri(u_char **dst, u_char **src, size_t size, ngx_uint_t type)
{
    int      hi, lo;
    u_char  *d, *s, *end;

    /* type 0 only: the callback's arguments */
    if (type != 0) {
        abort();
    }

    d = *dst;
    s = *src;
    end = s + size;

    while (s < end) {
        if (*s != '%') {
            *d++ = *s++;
            continue;
        }

        s++;

        if (s == end) {
            break;
        }

        hi = fuzz_hex(*s);

        if (hi < 0) {
            *d++ = *s++;
            continue;
        }

        s++;

        if (s == end) {
            break;
        }

        lo = fuzz_hex(*s);
        s++;

        if (lo < 0) {
            continue;
        }

        *d++ = (u_char) (hi << 4 | lo);
    }

    *dst = d;
    *src = s;
}


uintptr_t
ngx_escape_uri(u_char *dst, u_char *src, size_t size, ngx_uint_t type)
{
    u_char      c;
    size_t      i;
    uintptr_t   n;

    static u_char  hex[] = "0123456789ABCDEF";

    if (type != NGX_ESCAPE_URI_COMPONENT) {
        abort();
    }

    n = 0;

    for (i = 0; i < size; i++) {
        c = src[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~')
        {
            if (dst) {
                *dst++ = c;
            }

            continue;
        }

        if (dst) {
            *dst++ = '%';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];
        }

        n++;
    }

    return dst ? (uintptr_t) dst : n;
}
