
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Asking /me and reading its answer.  yajl's tree API here: the documents
 * are small (capped at NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE) and the
 * fields sit at fixed paths.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <yajl/yajl_tree.h>

#include "ngx_http_intercom_oauth_identity.h"
#include "ngx_http_intercom_oauth_json.h"


ngx_int_t
ngx_http_intercom_oauth_identity_url(ngx_pool_t *pool, ngx_str_t *api_url,
    ngx_str_t *url)
{
    url->len = api_url->len + sizeof("/me") - 1;

    url->data = ngx_pnalloc(pool, url->len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(url->data, api_url->data, api_url->len), "/me",
               sizeof("/me") - 1);

    return NGX_OK;
}


void
ngx_http_intercom_oauth_identity_request(ngx_str_t *token,
    ngx_http_intercom_oauth_call_params_t *params)
{
    ngx_memzero(params, sizeof(ngx_http_intercom_oauth_call_params_t));

    params->bearer = *token;
}


ngx_int_t
ngx_http_intercom_oauth_identity_parse(ngx_pool_t *pool, u_char *body,
    size_t len, ngx_http_intercom_oauth_record_t *rec, const char **reason)
{
    yajl_val     tree, v;
    ngx_str_t    type;
    ngx_int_t    rc;
    ngx_uint_t   i;
    ngx_str_t   *out[] = { &rec->admin_id, &rec->admin_email,
                           &rec->workspace_id, &rec->workspace_name,
                           &rec->workspace_region };

    static const char  *type_path[] = { "type", NULL };
    static const char  *verified_path[] = { "email_verified", NULL };
    static const char  *paths[][3] = {
        { "id", NULL, NULL },
        { "email", NULL, NULL },
        { "app", "id_code", NULL },
        { "app", "name", NULL },
        { "app", "region", NULL }
    };

    tree = ngx_http_intercom_oauth_json_tree(pool, body, len);

    if (tree == NULL || !YAJL_IS_OBJECT(tree)) {
        *reason = "the response is not a JSON object";
        rc = NGX_ERROR;
        goto done;
    }

    rc = ngx_http_intercom_oauth_json_string(pool, tree, type_path,
                                        NGX_HTTP_INTERCOM_OAUTH_MAX_IDENTITY,
                                        &type);

    if (rc != NGX_OK || type.len != sizeof("admin") - 1
        || ngx_strncmp(type.data, "admin", type.len) != 0)
    {
        *reason = "the response is not an admin";
        rc = NGX_ERROR;
        goto done;
    }

    for (i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        ngx_str_null(out[i]);

        if (ngx_http_intercom_oauth_json_string(pool, tree, paths[i],
                                        NGX_HTTP_INTERCOM_OAUTH_MAX_IDENTITY,
                                        out[i])
            == NGX_ERROR)
        {
            *reason = "out of memory";
            rc = NGX_ERROR;
            goto done;
        }
    }

    if (rec->admin_id.len == 0 || rec->workspace_id.len == 0) {
        *reason = "the response has no admin id or no workspace id";
        rc = NGX_ERROR;
        goto done;
    }

    /* only a literal true counts: never present an unverified email */
    v = yajl_tree_get(tree, verified_path, yajl_t_any);
    rec->email_verified = (v && YAJL_IS_TRUE(v)) ? 1 : 0;
    rec->identity = 1;
    rc = NGX_OK;

done:

    if (tree) {
        yajl_tree_free(tree);
    }

    return rc;
}
