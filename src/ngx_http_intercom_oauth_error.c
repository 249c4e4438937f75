
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_error.h"


/* in the order of ngx_http_intercom_oauth_err_e */
ngx_http_intercom_oauth_error_t  ngx_http_intercom_oauth_errors[] = {

    { ngx_string("invalid_request"), NGX_HTTP_BAD_REQUEST,
      NGX_HTTP_INTERCOM_OAUTH_CNT_INVALID_REQUEST, NGX_LOG_INFO },

    { ngx_string("invalid_request"), NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
      NGX_HTTP_INTERCOM_OAUTH_CNT_INVALID_REQUEST, NGX_LOG_INFO },

    { ngx_string("access_denied"), NGX_HTTP_FORBIDDEN,
      NGX_HTTP_INTERCOM_OAUTH_CNT_ACCESS_DENIED, NGX_LOG_INFO },

    { ngx_string("state_invalid"), NGX_HTTP_FORBIDDEN,
      NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_INVALID, NGX_LOG_WARN },

    { ngx_string("state_expired"), NGX_HTTP_FORBIDDEN,
      NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_EXPIRED, NGX_LOG_WARN },

    { ngx_string("state_replayed"), NGX_HTTP_FORBIDDEN,
      NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_REPLAYED, NGX_LOG_WARN },

    { ngx_string("no_key"), NGX_HTTP_FORBIDDEN,
      NGX_HTTP_INTERCOM_OAUTH_CNT_NO_KEY, NGX_LOG_WARN },

    { ngx_string("zone_full"), NGX_HTTP_SERVICE_UNAVAILABLE,
      NGX_HTTP_INTERCOM_OAUTH_CNT_ZONE_FULL, NGX_LOG_ERR },

    { ngx_string("server_error"), NGX_HTTP_INTERNAL_SERVER_ERROR,
      NGX_HTTP_INTERCOM_OAUTH_CNT_SERVER_ERROR, NGX_LOG_ERR },

    { ngx_string("exchange_failed"), NGX_HTTP_BAD_GATEWAY,
      NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_FAILED, NGX_LOG_ERR },

    { ngx_string("exchange_timeout"), NGX_HTTP_GATEWAY_TIME_OUT,
      NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_TIMEOUT, NGX_LOG_ERR },

    { ngx_string("store_unavailable"), NGX_HTTP_SERVICE_UNAVAILABLE,
      NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_UNAVAILABLE, NGX_LOG_ERR },

    { ngx_string("bad_signature"), NGX_HTTP_UNAUTHORIZED,
      NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS_REFUSED, NGX_LOG_WARN },

    { ngx_string("invalid_request"), NGX_HTTP_BAD_REQUEST,
      NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS_REFUSED, NGX_LOG_INFO },

    { ngx_string("invalid_request"), NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
      NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS_REFUSED, NGX_LOG_INFO },

    /* a topic webhook sent to the uninstall URL: a configuration mistake */
    { ngx_string("not_uninstall"), NGX_HTTP_BAD_REQUEST,
      NGX_HTTP_INTERCOM_OAUTH_CNT_WEBHOOKS_REFUSED, NGX_LOG_WARN }
};


ngx_http_intercom_oauth_error_t *
ngx_http_intercom_oauth_error(ngx_http_request_t *r, ngx_uint_t err,
    const char *fmt, ...)
{
    va_list                           args;
    ngx_http_intercom_oauth_error_t  *e;

    va_start(args, fmt);
    e = ngx_http_intercom_oauth_verror(r, err, fmt, args);
    va_end(args);

    return e;
}


ngx_http_intercom_oauth_error_t *
ngx_http_intercom_oauth_verror(ngx_http_request_t *r, ngx_uint_t err,
    const char *fmt, va_list args)
{
    u_char                               *p;
    ngx_http_intercom_oauth_error_t      *e;
    ngx_http_intercom_oauth_main_conf_t  *omcf;
    u_char                                buf[NGX_MAX_ERROR_STR];

    e = &ngx_http_intercom_oauth_errors[err];
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone, e->counter);

    if (fmt && r->connection->log->log_level >= e->level) {
        p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);

        ngx_log_error(e->level, r->connection->log, 0, "%*s",
                      (size_t) (p - buf), buf);
    }

    return e;
}


ngx_str_t *
ngx_http_intercom_oauth_error_code(ngx_http_intercom_oauth_counter_e counter)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_ERR_MAX; i++) {
        if (ngx_http_intercom_oauth_errors[i].counter == counter) {
            return &ngx_http_intercom_oauth_errors[i].code;
        }
    }

    return NULL;
}
