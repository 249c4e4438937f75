
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * A record's bytes, the same in the zone and (sealed) in the store:
 *
 *   version (1 byte, 1), flags (1 byte: 1 identity, 2 email verified),
 *   then the token, admin id, admin email, workspace id, workspace name
 *   and workspace region, each as a 2-byte big-endian length and the bytes.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_RECORD_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_RECORD_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * The number of bytes "rec" takes, or 0 when a field is longer than a
 * 2-byte length says.
 */
size_t ngx_http_intercom_oauth_record_size(
    ngx_http_intercom_oauth_record_t *rec);

/* Writes "rec" at "p", which has room for its size; returns the end. */
u_char *ngx_http_intercom_oauth_record_write(u_char *p,
    ngx_http_intercom_oauth_record_t *rec);

/*
 * Reads the record in "in"; its strings point into "in".  Returns NGX_OK,
 * or NGX_ERROR when the bytes are not a record of this version with a
 * token of 1 to NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN bytes.
 */
ngx_int_t ngx_http_intercom_oauth_record_read(ngx_str_t *in,
    ngx_http_intercom_oauth_record_t *rec);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_RECORD_H_INCLUDED_ */
