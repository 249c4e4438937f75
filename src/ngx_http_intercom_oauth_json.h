
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Reading small JSON documents from peers with yajl's tree API (/me, the
 * uninstall notification), and making their strings safe to log.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_JSON_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Reads a JSON document of "len" bytes into a yajl tree.  Returns the
 * tree (free it with yajl_tree_free()) or NULL when the body is empty,
 * holds a NUL byte or is not valid JSON.
 */
void *ngx_http_intercom_oauth_json_tree(ngx_pool_t *pool, u_char *body,
    size_t len);

/*
 * Copies the string (or number) at "path" of "tree" into "out" (from
 * "pool", cleaned with ngx_http_intercom_oauth_json_clean()), at most
 * "max" bytes of it.  Returns NGX_OK, NGX_DECLINED when there is no
 * string or number there, NGX_ERROR when the pool is exhausted.
 */
ngx_int_t ngx_http_intercom_oauth_json_string(ngx_pool_t *pool, void *tree,
    const char **path, size_t max, ngx_str_t *out);

/*
 * Replaces, in place, every control character (below 0x20, and 0x7f) of a
 * string that came from a peer with "?": such strings reach log lines and
 * variables that may go into headers, where a newline would forge a line.
 */
void ngx_http_intercom_oauth_json_clean(ngx_str_t *s);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_JSON_H_INCLUDED_ */
