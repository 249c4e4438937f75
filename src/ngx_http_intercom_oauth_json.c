
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <yajl/yajl_tree.h>

#include "ngx_http_intercom_oauth_json.h"


void *
ngx_http_intercom_oauth_json_tree(ngx_pool_t *pool, u_char *body, size_t len)
{
    u_char  *text;

    if (body == NULL || len == 0 || ngx_strlchr(body, body + len, '\0')) {
        return NULL;
    }

    /* yajl_tree_parse() reads a C string */
    text = ngx_pnalloc(pool, len + 1);
    if (text == NULL) {
        return NULL;
    }

    *ngx_cpymem(text, body, len) = '\0';

    return yajl_tree_parse((const char *) text, NULL, 0);
}


ngx_int_t
ngx_http_intercom_oauth_json_string(ngx_pool_t *pool, void *tree,
    const char **path, size_t max, ngx_str_t *out)
{
    size_t     len;
    yajl_val   v;
    char      *s;

    v = yajl_tree_get((yajl_val) tree, path, yajl_t_any);

    if (v == NULL) {
        return NGX_DECLINED;
    }

    if (YAJL_IS_STRING(v)) {
        s = YAJL_GET_STRING(v);

    } else if (YAJL_IS_NUMBER(v)) {
        s = YAJL_GET_NUMBER(v);

    } else {
        return NGX_DECLINED;
    }

    len = ngx_min(ngx_strlen(s), max);

    out->data = ngx_pnalloc(pool, len ? len : 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, s, len);
    out->len = len;

    /* logged, and handed to the site as variables that may become headers */
    ngx_http_intercom_oauth_json_clean(out);

    return NGX_OK;
}


void
ngx_http_intercom_oauth_json_clean(ngx_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < 0x20 || s->data[i] == 0x7f) {
            s->data[i] = '?';
        }
    }
}
