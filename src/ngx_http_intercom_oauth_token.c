
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The token endpoint: the token request's form and the parser of its
 * answer.  yajl's event parser rather than its tree: the module needs
 * three top-level members, and the events let it cap every string it
 * keeps without building a tree of whatever the peer sent.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <yajl/yajl_parse.h>

#include "ngx_http_intercom_oauth.h"
#include "ngx_http_intercom_oauth_json.h"
#include "ngx_http_intercom_oauth_token.h"


/* longest error code or message kept for the log, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_ERROR_FIELD  128

/*
 * yajl's own memory for one parse: its handle, lexer, stack and string
 * buffer take about 2.5 KB for a token response; more goes to malloc()
 */
#define NGX_HTTP_INTERCOM_OAUTH_YAJL_ARENA       8192

/* a block's header in the arena: its size; blocks are 16-byte multiples */
#define NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER      16


typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_KEY_OTHER = 0,
    NGX_HTTP_INTERCOM_OAUTH_KEY_ACCESS_TOKEN,
    NGX_HTTP_INTERCOM_OAUTH_KEY_TOKEN,
    NGX_HTTP_INTERCOM_OAUTH_KEY_TYPE,
    NGX_HTTP_INTERCOM_OAUTH_KEY_ERRORS,
    NGX_HTTP_INTERCOM_OAUTH_KEY_CODE,
    NGX_HTTP_INTERCOM_OAUTH_KEY_MESSAGE
} ngx_http_intercom_oauth_key_e;


typedef struct {
    ngx_pool_t                                *pool;
    ngx_http_intercom_oauth_token_response_t  *tr;
    ngx_str_t                                  token;       /* "token" */
    ngx_uint_t                                 depth;
    ngx_uint_t                                 key;         /* depth 1 */
    ngx_uint_t                                 error_key;   /* depth 3 */
    unsigned                                   object:1;
    unsigned                                   in_errors:1;
    unsigned                                   error_list:1;
    unsigned                                   too_long:1;
    unsigned                                   nomem:1;
} ngx_http_intercom_oauth_token_parser_t;


/*
 * yajl's allocator for a token response: yajl makes four or five blocks
 * per parse (handle, lexer, stack, string buffer) and frees them all at
 * yajl_free(), a malloc()/free() pair each.  A parse runs to its end in
 * one call, one at a time in a process, so one arena per process serves
 * them all, emptied when a parse starts.  yajl does not check what its
 * allocator returns: a block the arena cannot hold comes from malloc(),
 * as it did before, never NULL for want of arena.
 */

typedef struct {
    size_t                                     used;
    size_t                                     last;   /* last block */
    /* 8-byte aligned after two size_t: yajl keeps no wider type */
    u_char                                     data[
                                          NGX_HTTP_INTERCOM_OAUTH_YAJL_ARENA];
} ngx_http_intercom_oauth_yajl_arena_t;


static int ngx_http_intercom_oauth_token_value(void *ctx);
static int ngx_http_intercom_oauth_token_string(void *ctx,
    const unsigned char *s, size_t len);
static int ngx_http_intercom_oauth_token_start_map(void *ctx);
static int ngx_http_intercom_oauth_token_map_key(void *ctx,
    const unsigned char *s, size_t len);
static int ngx_http_intercom_oauth_token_end(void *ctx);
static int ngx_http_intercom_oauth_token_start_array(void *ctx);
static int ngx_http_intercom_oauth_token_null(void *ctx);
static int ngx_http_intercom_oauth_token_boolean(void *ctx, int b);
static int ngx_http_intercom_oauth_token_number(void *ctx, const char *s,
    size_t len);
static ngx_int_t ngx_http_intercom_oauth_token_copy(
    ngx_http_intercom_oauth_token_parser_t *p, ngx_str_t *dst,
    const unsigned char *s, size_t len, size_t max);
static ngx_uint_t ngx_http_intercom_oauth_token_valid(ngx_str_t *token);
static ngx_int_t ngx_http_intercom_oauth_token_fields(ngx_pool_t *pool,
    ngx_str_t *name, ngx_str_t **value, ngx_uint_t n, ngx_str_t *tail,
    ngx_str_t *out);
static void *ngx_http_intercom_oauth_yajl_malloc(void *ctx, size_t size);
static void *ngx_http_intercom_oauth_yajl_realloc(void *ctx, void *ptr,
    size_t size);
static void ngx_http_intercom_oauth_yajl_free(void *ctx, void *ptr);


static ngx_http_intercom_oauth_yajl_arena_t  ngx_http_intercom_oauth_yajl_arena;

static yajl_alloc_funcs  ngx_http_intercom_oauth_yajl_funcs = {
    ngx_http_intercom_oauth_yajl_malloc,
    ngx_http_intercom_oauth_yajl_realloc,
    ngx_http_intercom_oauth_yajl_free,
    &ngx_http_intercom_oauth_yajl_arena
};


static yajl_callbacks  ngx_http_intercom_oauth_token_callbacks = {
    ngx_http_intercom_oauth_token_null,
    ngx_http_intercom_oauth_token_boolean,
    NULL,
    NULL,
    ngx_http_intercom_oauth_token_number,
    ngx_http_intercom_oauth_token_string,
    ngx_http_intercom_oauth_token_start_map,
    ngx_http_intercom_oauth_token_map_key,
    ngx_http_intercom_oauth_token_end,
    ngx_http_intercom_oauth_token_start_array,
    ngx_http_intercom_oauth_token_end
};


ngx_int_t
ngx_http_intercom_oauth_token_form_conf(ngx_pool_t *pool,
    ngx_str_t *client_id, ngx_str_t *client_secret, ngx_str_t *tail)
{
    ngx_str_t  *value[2];

    static ngx_str_t  name[2] = {
        ngx_string("&client_id="),
        ngx_string("&client_secret=")
    };

    value[0] = client_id;
    value[1] = client_secret;

    return ngx_http_intercom_oauth_token_fields(pool, name, value, 2, NULL,
                                                tail);
}


ngx_int_t
ngx_http_intercom_oauth_token_form(ngx_pool_t *pool, ngx_str_t *code,
    ngx_str_t *tail, ngx_str_t *form)
{
    static ngx_str_t  name = ngx_string("code=");

    return ngx_http_intercom_oauth_token_fields(pool, &name, &code, 1, tail,
                                                form);
}


/* "name[i]" and "value[i]" percent-encoded, n times, then "tail" as is */

static ngx_int_t
ngx_http_intercom_oauth_token_fields(ngx_pool_t *pool, ngx_str_t *name,
    ngx_str_t **value, ngx_uint_t n, ngx_str_t *tail, ngx_str_t *out)
{
    u_char      *p;
    ngx_uint_t   i;

    out->len = tail ? tail->len : 0;

    for (i = 0; i < n; i++) {
        out->len += name[i].len + value[i]->len
                    + 2 * ngx_escape_uri(NULL, value[i]->data, value[i]->len,
                                         NGX_ESCAPE_URI_COMPONENT);
    }

    out->data = ngx_pnalloc(pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;

    for (i = 0; i < n; i++) {
        p = ngx_cpymem(p, name[i].data, name[i].len);
        p = (u_char *) ngx_escape_uri(p, value[i]->data, value[i]->len,
                                      NGX_ESCAPE_URI_COMPONENT);
    }

    if (tail) {
        ngx_memcpy(p, tail->data, tail->len);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_token_parse(ngx_pool_t *pool, u_char *body,
    size_t len, ngx_http_intercom_oauth_token_response_t *tr)
{
    yajl_handle                             h;
    yajl_status                             st;
    ngx_http_intercom_oauth_token_parser_t  p;

    ngx_memzero(tr, sizeof(ngx_http_intercom_oauth_token_response_t));
    ngx_memzero(&p, sizeof(ngx_http_intercom_oauth_token_parser_t));

    p.pool = pool;
    p.tr = tr;

    /* the previous parse freed all it had in the arena */
    ngx_http_intercom_oauth_yajl_arena.used = 0;
    ngx_http_intercom_oauth_yajl_arena.last = 0;

    h = yajl_alloc(&ngx_http_intercom_oauth_token_callbacks,
                   &ngx_http_intercom_oauth_yajl_funcs, &p);
    if (h == NULL) {
        tr->reason = "out of memory";
        return NGX_ERROR;
    }

    st = yajl_parse(h, body, len);

    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }

    yajl_free(h);

    /*
     * yajl's buffer held the token's characters while it decoded an
     * escape in them: wiped, as a request's secrets are, not left in the
     * arena until the next parse
     */
    ngx_explicit_memzero(ngx_http_intercom_oauth_yajl_arena.data,
                         ngx_http_intercom_oauth_yajl_arena.used);

    /*
     * Intercom's words go to the log, even from a body that breaks off:
     * no line of theirs may start a line of ours.
     */
    ngx_http_intercom_oauth_json_clean(&tr->error_code);
    ngx_http_intercom_oauth_json_clean(&tr->error_message);

    if (p.nomem) {
        tr->reason = "out of memory";
        return NGX_ERROR;
    }

    if (st != yajl_status_ok || !p.object) {
        tr->reason = "the response is not a JSON object";
        return NGX_ERROR;
    }

    if (tr->nerrors || p.error_list) {
        tr->reason = "the response is an error list";
        return NGX_DECLINED;
    }

    if (p.too_long) {
        tr->reason = "the access token is too long";
        return NGX_DECLINED;
    }

    if (tr->access_token.len == 0) {
        tr->access_token = p.token;
    }

    if (tr->access_token.len == 0) {
        tr->reason = "the response has no access token";
        return NGX_DECLINED;
    }

    if (!ngx_http_intercom_oauth_token_valid(&tr->access_token)) {
        ngx_str_null(&tr->access_token);
        tr->reason = "the access token has characters outside printable "
                     "ASCII";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void *
ngx_http_intercom_oauth_yajl_malloc(void *ctx, size_t size)
{
    ngx_http_intercom_oauth_yajl_arena_t  *a = ctx;

    size_t   need;
    u_char  *p;

    need = NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER
           + ngx_align(size, NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER);

    if (size > NGX_HTTP_INTERCOM_OAUTH_YAJL_ARENA
        || need > NGX_HTTP_INTERCOM_OAUTH_YAJL_ARENA - a->used)
    {
        return malloc(size);
    }

    p = a->data + a->used;
    *(size_t *) p = size;

    a->last = a->used;
    a->used += need;

    return p + NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER;
}


static void *
ngx_http_intercom_oauth_yajl_realloc(void *ctx, void *ptr, size_t size)
{
    ngx_http_intercom_oauth_yajl_arena_t  *a = ctx;

    size_t   old, need;
    u_char  *p, *n;

    p = ptr;

    if (p == NULL) {
        return ngx_http_intercom_oauth_yajl_malloc(ctx, size);
    }

    if (p < a->data || p >= a->data + NGX_HTTP_INTERCOM_OAUTH_YAJL_ARENA) {
        return realloc(p, size);
    }

    p -= NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER;
    old = *(size_t *) p;

    /* the last block grows where it is while the arena has room */
    if ((size_t) (p - a->data) == a->last) {
        need = NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER
               + ngx_align(size, NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER);

        if (size <= NGX_HTTP_INTERCOM_OAUTH_YAJL_ARENA
            && need <= NGX_HTTP_INTERCOM_OAUTH_YAJL_ARENA - a->last)
        {
            *(size_t *) p = size;
            a->used = a->last + need;
            return p + NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER;
        }
    }

    n = ngx_http_intercom_oauth_yajl_malloc(ctx, size);
    if (n == NULL) {
        return NULL;
    }

    ngx_memcpy(n, p + NGX_HTTP_INTERCOM_OAUTH_YAJL_HEADER, ngx_min(old, size));

    return n;
}


static void
ngx_http_intercom_oauth_yajl_free(void *ctx, void *ptr)
{
    ngx_http_intercom_oauth_yajl_arena_t  *a = ctx;

    u_char  *p;

    p = ptr;

    if (p < a->data || p >= a->data + NGX_HTTP_INTERCOM_OAUTH_YAJL_ARENA) {
        free(p);
    }

    /* a block in the arena goes with the arena, when the next parse starts */
}


/*
 * A token ends up in an Authorization header: refuse anything that could
 * split or bend a header line.
 */

static ngx_uint_t
ngx_http_intercom_oauth_token_valid(ngx_str_t *token)
{
    size_t  i;

    for (i = 0; i < token->len; i++) {
        if (token->data[i] <= 0x20 || token->data[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* a scalar value: counts as an element when it sits in "errors" */

static int
ngx_http_intercom_oauth_token_value(void *ctx)
{
    ngx_http_intercom_oauth_token_parser_t  *p = ctx;

    if (p->depth == 0) {
        /* a top-level scalar: not an object */
        return 0;
    }

    if (p->in_errors && p->depth == 2) {
        p->tr->nerrors++;
    }

    return 1;
}


static int
ngx_http_intercom_oauth_token_null(void *ctx)
{
    return ngx_http_intercom_oauth_token_value(ctx);
}


static int
ngx_http_intercom_oauth_token_boolean(void *ctx, int b)
{
    return ngx_http_intercom_oauth_token_value(ctx);
}


static int
ngx_http_intercom_oauth_token_number(void *ctx, const char *s, size_t len)
{
    return ngx_http_intercom_oauth_token_value(ctx);
}


static int
ngx_http_intercom_oauth_token_string(void *ctx, const unsigned char *s,
    size_t len)
{
    ngx_http_intercom_oauth_token_parser_t  *p = ctx;

    size_t      max;
    ngx_int_t   rc;

    if (!ngx_http_intercom_oauth_token_value(ctx)) {
        return 0;
    }

    rc = NGX_OK;
    max = NGX_HTTP_INTERCOM_OAUTH_MAX_ERROR_FIELD;

    if (p->depth == 1) {
        switch (p->key) {

        case NGX_HTTP_INTERCOM_OAUTH_KEY_ACCESS_TOKEN:
            rc = ngx_http_intercom_oauth_token_copy(p, &p->tr->access_token,
                                            s, len,
                                            NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN);
            break;

        case NGX_HTTP_INTERCOM_OAUTH_KEY_TOKEN:
            rc = ngx_http_intercom_oauth_token_copy(p, &p->token, s, len,
                                            NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN);
            break;

        case NGX_HTTP_INTERCOM_OAUTH_KEY_TYPE:
            if (len == sizeof("error.list") - 1
                && ngx_strncmp(s, "error.list", len) == 0)
            {
                p->error_list = 1;
            }
            break;
        }

    } else if (p->in_errors && p->depth == 3 && p->tr->nerrors == 1) {

        switch (p->error_key) {

        case NGX_HTTP_INTERCOM_OAUTH_KEY_CODE:
            rc = ngx_http_intercom_oauth_token_copy(p, &p->tr->error_code, s,
                                                    ngx_min(len, max), max);
            break;

        case NGX_HTTP_INTERCOM_OAUTH_KEY_MESSAGE:
            rc = ngx_http_intercom_oauth_token_copy(p, &p->tr->error_message,
                                                    s, ngx_min(len, max),
                                                    max);
            break;
        }
    }

    return rc == NGX_ERROR ? 0 : 1;
}


static int
ngx_http_intercom_oauth_token_start_map(void *ctx)
{
    ngx_http_intercom_oauth_token_parser_t  *p = ctx;

    if (p->depth == 0) {
        p->object = 1;

    } else if (!ngx_http_intercom_oauth_token_value(ctx)) {
        return 0;
    }

    p->depth++;

    return 1;
}


static int
ngx_http_intercom_oauth_token_start_array(void *ctx)
{
    ngx_http_intercom_oauth_token_parser_t  *p = ctx;

    if (!ngx_http_intercom_oauth_token_value(ctx)) {
        return 0;
    }

    if (p->depth == 1 && p->key == NGX_HTTP_INTERCOM_OAUTH_KEY_ERRORS) {
        p->in_errors = 1;
    }

    p->depth++;

    return 1;
}


static int
ngx_http_intercom_oauth_token_end(void *ctx)
{
    ngx_http_intercom_oauth_token_parser_t  *p = ctx;

    p->depth--;

    if (p->depth == 1) {
        p->in_errors = 0;
        p->key = NGX_HTTP_INTERCOM_OAUTH_KEY_OTHER;
    }

    return 1;
}


static int
ngx_http_intercom_oauth_token_map_key(void *ctx, const unsigned char *s,
    size_t len)
{
    ngx_http_intercom_oauth_token_parser_t  *p = ctx;

    ngx_uint_t  key;

    key = NGX_HTTP_INTERCOM_OAUTH_KEY_OTHER;

#define ngx_http_intercom_oauth_is(name)                                      \
    (len == sizeof(name) - 1 && ngx_strncmp(s, name, len) == 0)

    if (p->depth == 1) {
        if (ngx_http_intercom_oauth_is("access_token")) {
            key = NGX_HTTP_INTERCOM_OAUTH_KEY_ACCESS_TOKEN;

        } else if (ngx_http_intercom_oauth_is("token")) {
            key = NGX_HTTP_INTERCOM_OAUTH_KEY_TOKEN;

        } else if (ngx_http_intercom_oauth_is("type")) {
            key = NGX_HTTP_INTERCOM_OAUTH_KEY_TYPE;

        } else if (ngx_http_intercom_oauth_is("errors")) {
            key = NGX_HTTP_INTERCOM_OAUTH_KEY_ERRORS;
        }

        p->key = key;

    } else if (p->depth == 3) {
        if (ngx_http_intercom_oauth_is("code")) {
            key = NGX_HTTP_INTERCOM_OAUTH_KEY_CODE;

        } else if (ngx_http_intercom_oauth_is("message")) {
            key = NGX_HTTP_INTERCOM_OAUTH_KEY_MESSAGE;
        }

        p->error_key = key;
    }

#undef ngx_http_intercom_oauth_is

    return 1;
}


static ngx_int_t
ngx_http_intercom_oauth_token_copy(ngx_http_intercom_oauth_token_parser_t *p,
    ngx_str_t *dst, const unsigned char *s, size_t len, size_t max)
{
    u_char  *data;

    if (len > max) {
        p->too_long = 1;
        return NGX_OK;
    }

    /* a repeated member: the last one wins, as in most JSON readers */
    data = ngx_pnalloc(p->pool, len ? len : 1);
    if (data == NULL) {
        ngx_str_null(dst);
        p->nomem = 1;
        return NGX_ERROR;
    }

    ngx_memcpy(data, s, len);
    dst->data = data;
    dst->len = len;

    return NGX_OK;
}
