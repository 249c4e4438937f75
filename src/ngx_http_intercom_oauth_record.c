
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_intercom_oauth_record.h"


#define NGX_HTTP_INTERCOM_OAUTH_RECORD_VERSION   0x01
#define NGX_HTTP_INTERCOM_OAUTH_RECORD_IDENTITY  0x01
#define NGX_HTTP_INTERCOM_OAUTH_RECORD_VERIFIED  0x02
#define NGX_HTTP_INTERCOM_OAUTH_RECORD_FIELDS    6


static void ngx_http_intercom_oauth_record_fields(
    ngx_http_intercom_oauth_record_t *rec, ngx_str_t **f);


static void
ngx_http_intercom_oauth_record_fields(ngx_http_intercom_oauth_record_t *rec,
    ngx_str_t **f)
{
    f[0] = &rec->token;
    f[1] = &rec->admin_id;
    f[2] = &rec->admin_email;
    f[3] = &rec->workspace_id;
    f[4] = &rec->workspace_name;
    f[5] = &rec->workspace_region;
}


size_t
ngx_http_intercom_oauth_record_size(ngx_http_intercom_oauth_record_t *rec)
{
    size_t       len;
    ngx_uint_t   i;
    ngx_str_t   *f[NGX_HTTP_INTERCOM_OAUTH_RECORD_FIELDS];

    ngx_http_intercom_oauth_record_fields(rec, f);

    len = 2;

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_RECORD_FIELDS; i++) {
        if (f[i]->len > 0xffff) {
            return 0;
        }

        len += 2 + f[i]->len;
    }

    return len;
}


u_char *
ngx_http_intercom_oauth_record_write(u_char *p,
    ngx_http_intercom_oauth_record_t *rec)
{
    ngx_uint_t   i;
    ngx_str_t   *f[NGX_HTTP_INTERCOM_OAUTH_RECORD_FIELDS];

    ngx_http_intercom_oauth_record_fields(rec, f);

    *p++ = NGX_HTTP_INTERCOM_OAUTH_RECORD_VERSION;
    *p++ = (rec->identity ? NGX_HTTP_INTERCOM_OAUTH_RECORD_IDENTITY : 0)
           | (rec->identity && rec->email_verified
              ? NGX_HTTP_INTERCOM_OAUTH_RECORD_VERIFIED : 0);

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_RECORD_FIELDS; i++) {
        *p++ = (u_char) (f[i]->len >> 8);
        *p++ = (u_char) f[i]->len;
        p = ngx_cpymem(p, f[i]->data, f[i]->len);
    }

    return p;
}


ngx_int_t
ngx_http_intercom_oauth_record_read(ngx_str_t *in,
    ngx_http_intercom_oauth_record_t *rec)
{
    u_char      *p, *last;
    size_t       len;
    ngx_uint_t   i;
    ngx_str_t   *f[NGX_HTTP_INTERCOM_OAUTH_RECORD_FIELDS];

    ngx_http_intercom_oauth_record_fields(rec, f);

    p = in->data;
    last = in->data + in->len;

    if (in->len < 2 || p[0] != NGX_HTTP_INTERCOM_OAUTH_RECORD_VERSION) {
        return NGX_ERROR;
    }

    rec->identity = (p[1] & NGX_HTTP_INTERCOM_OAUTH_RECORD_IDENTITY) ? 1 : 0;
    rec->email_verified = (p[1] & NGX_HTTP_INTERCOM_OAUTH_RECORD_VERIFIED)
                          ? 1 : 0;
    p += 2;

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_RECORD_FIELDS; i++) {
        if (last - p < 2) {
            return NGX_ERROR;
        }

        len = ((size_t) p[0] << 8) | p[1];
        p += 2;

        if ((size_t) (last - p) < len) {
            return NGX_ERROR;
        }

        f[i]->data = p;
        f[i]->len = len;
        p += len;
    }

    if (p != last || rec->token.len == 0
        || rec->token.len > NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}
