
/*
 * intercom_oauth_require.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_require.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_zone.h"


static ngx_str_t  ngx_http_intercom_oauth_not_connected =
    ngx_string("{\"error\":\"not_connected\","
               "\"message\":\"Connect with Intercom first\"}\n");


ngx_int_t
ngx_http_intercom_oauth_require_handler(ngx_http_request_t *r)
{
    u_char                               *p;
    size_t                                len;
    ngx_int_t                             rc;
    ngx_str_t                             key, target;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    if (!olcf->require || r != r->main) {
        return NGX_DECLINED;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (ngx_http_intercom_oauth_eval_key(r, olcf, &key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (key.len
        && ngx_http_intercom_oauth_zone_token_get(omcf->shm_zone,
                                                  &olcf->client_id, &key,
                                                  NULL, NULL)
           == NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "intercom oauth: \"%V\" requires a connection to Intercom",
                  &r->uri);

    if (ngx_http_intercom_oauth_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (olcf->require_uri.len) {
        len = olcf->require_uri.len + sizeof("?return_to=") - 1
              + r->unparsed_uri.len
              + 2 * ngx_escape_uri(NULL, r->unparsed_uri.data,
                                   r->unparsed_uri.len,
                                   NGX_ESCAPE_URI_COMPONENT);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        target.data = p;

        p = ngx_cpymem(p, olcf->require_uri.data, olcf->require_uri.len);
        *p++ = ngx_strlchr(olcf->require_uri.data,
                           olcf->require_uri.data + olcf->require_uri.len,
                           '?')
               ? '&' : '?';
        p = ngx_cpymem(p, "return_to=", sizeof("return_to=") - 1);
        p = (u_char *) ngx_escape_uri(p, r->unparsed_uri.data,
                                      r->unparsed_uri.len,
                                      NGX_ESCAPE_URI_COMPONENT);

        target.len = p - target.data;

        if (ngx_http_intercom_oauth_location(r, &target) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_MOVED_TEMPORARILY;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_finalize_request(r,
        ngx_http_intercom_oauth_send(r, NGX_HTTP_UNAUTHORIZED,
                                     "application/json",
                                     ngx_http_intercom_oauth_not_connected.data,
                                     ngx_http_intercom_oauth_not_connected.len));

    return NGX_DONE;
}
