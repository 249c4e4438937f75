
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The refusals, as one table: for each, the code the site sees
 * ($intercom_oauth_error, "?error=", the JSON answer), the HTTP status,
 * the counter it adds to and the level of its log line.  A refusal is an
 * index into the table (docs/directives.md, "Errors").
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_ERROR_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_ERROR_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"
#include "ngx_http_intercom_oauth_zone.h"


typedef enum {
    /* the callback */
    NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST = 0,
    NGX_HTTP_INTERCOM_OAUTH_ERR_BODY_TOO_LARGE,
    NGX_HTTP_INTERCOM_OAUTH_ERR_ACCESS_DENIED,
    NGX_HTTP_INTERCOM_OAUTH_ERR_STATE_INVALID,
    NGX_HTTP_INTERCOM_OAUTH_ERR_STATE_EXPIRED,
    NGX_HTTP_INTERCOM_OAUTH_ERR_STATE_REPLAYED,
    NGX_HTTP_INTERCOM_OAUTH_ERR_NO_KEY,
    NGX_HTTP_INTERCOM_OAUTH_ERR_ZONE_FULL,
    NGX_HTTP_INTERCOM_OAUTH_ERR_SERVER_ERROR,
    NGX_HTTP_INTERCOM_OAUTH_ERR_EXCHANGE_FAILED,
    NGX_HTTP_INTERCOM_OAUTH_ERR_EXCHANGE_TIMEOUT,
    NGX_HTTP_INTERCOM_OAUTH_ERR_STORE_UNAVAILABLE,

    /* the uninstall webhook */
    NGX_HTTP_INTERCOM_OAUTH_ERR_BAD_SIGNATURE,
    NGX_HTTP_INTERCOM_OAUTH_ERR_WEBHOOK_INVALID,
    NGX_HTTP_INTERCOM_OAUTH_ERR_WEBHOOK_TOO_LARGE,
    NGX_HTTP_INTERCOM_OAUTH_ERR_WEBHOOK_TOPIC,

    NGX_HTTP_INTERCOM_OAUTH_ERR_MAX
} ngx_http_intercom_oauth_err_e;


typedef struct {
    ngx_str_t                          code;
    ngx_uint_t                         status;
    ngx_http_intercom_oauth_counter_e  counter;
    ngx_uint_t                         level;
} ngx_http_intercom_oauth_error_t;


extern ngx_http_intercom_oauth_error_t  ngx_http_intercom_oauth_errors[];


/*
 * Counts refusal "err" and writes its one log line (a printf-like format
 * of ngx_sprintf(); NULL: no line) at the table's level.  Returns the
 * table's row.
 */
ngx_http_intercom_oauth_error_t *ngx_http_intercom_oauth_error(
    ngx_http_request_t *r, ngx_uint_t err, const char *fmt, ...);

/* The same with the format's arguments in a va_list. */
ngx_http_intercom_oauth_error_t *ngx_http_intercom_oauth_verror(
    ngx_http_request_t *r, ngx_uint_t err, const char *fmt, va_list args);

/*
 * The code of the first refusal that adds to "counter", or NULL: the
 * status page names its counters with it.
 */
ngx_str_t *ngx_http_intercom_oauth_error_code(
    ngx_http_intercom_oauth_counter_e counter);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_ERROR_H_INCLUDED_ */
