
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * intercom_oauth_require and intercom_oauth_check.
 *
 * The guard waits until the access modules have decided: allow and deny,
 * auth_basic, and auth_request, whose auth_request_set may set the
 * variable intercom_oauth_key reads.  So it runs in the precontent phase,
 * before try_files and mirror.  Under "satisfy any" the token is one more
 * way in, which only the access phase can offer: there the guard runs
 * last, and the precontent phase leaves such locations alone.
 *
 * nginx runs neither the access phase nor this guard's checks in a
 * subrequest (an SSI include, the target of auth_request):
 * intercom_oauth_check is the answer for auth_request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_require.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_storage.h"
#include "ngx_http_intercom_oauth_withhold.h"


static ngx_uint_t ngx_http_intercom_oauth_require_guards(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_require_connected(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_require_same_site(
    ngx_http_request_t *r);
static ngx_uint_t ngx_http_intercom_oauth_require_this_host(
    ngx_http_request_t *r, ngx_str_t *origin);
static ngx_int_t ngx_http_intercom_oauth_require_refuse(ngx_http_request_t *r,
    ngx_uint_t challenge);


static ngx_str_t  ngx_http_intercom_oauth_not_connected =
    ngx_string("{\"error\":\"not_connected\","
               "\"message\":\"Connect with Intercom first\"}\n");


char *
ngx_http_intercom_oauth_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t  *value;

    if (olcf->require != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        olcf->require = 0;
        return NGX_CONF_OK;
    }

    olcf->require = 1;

    if (cf->args->nelts == 2) {
        if (value[1].len == 0 || value[1].data[0] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_require\" takes the URI of "
                               "the connect location, starting with \"/\", "
                               "or \"off\"");
            return NGX_CONF_ERROR;
        }

        olcf->require_uri = value[1];
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_intercom_oauth_require_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_core_loc_conf_t  *clcf;

    if (!ngx_http_intercom_oauth_require_guards(r)) {
        return NGX_DECLINED;
    }

    rc = ngx_http_intercom_oauth_require_same_site(r);

    if (rc != NGX_OK) {
        return rc;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY) {
        /* the access phase decided */
        return NGX_DECLINED;
    }

    rc = ngx_http_intercom_oauth_require_connected(r);

    if (rc == NGX_OK) {
        return NGX_DECLINED;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_intercom_oauth_require_refuse(r, 0);
}


ngx_int_t
ngx_http_intercom_oauth_require_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_uint_t                 challenge;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy != NGX_HTTP_SATISFY_ANY
        || !ngx_http_intercom_oauth_require_guards(r))
    {
        return NGX_DECLINED;
    }

    /* auth_request_set, earlier in this phase, may have changed the key */
    if (ngx_http_intercom_oauth_storage_token_load(r) == NGX_DONE) {
        return NGX_DONE;
    }

    rc = ngx_http_intercom_oauth_require_connected(r);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* no one let it in: an access module's challenge stays, the rest is ours */
    challenge = r->access_code == NGX_HTTP_UNAUTHORIZED
                && r->headers_out.www_authenticate
                && r->headers_out.www_authenticate->hash;

    return ngx_http_intercom_oauth_require_refuse(r, challenge);
}


ngx_int_t
ngx_http_intercom_oauth_require_check_handler(ngx_http_request_t *r)
{
    ngx_int_t   rc;
    ngx_str_t  *body;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_intercom_oauth_require_connected(r);

    if (rc == NGX_ERROR || ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        return ngx_http_intercom_oauth_send(r, NGX_HTTP_NO_CONTENT,
                                            "text/plain", (u_char *) "", 0);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "intercom oauth: check: no connection to Intercom for "
                  "this request");

    body = &ngx_http_intercom_oauth_not_connected;

    return ngx_http_intercom_oauth_send(r, NGX_HTTP_UNAUTHORIZED,
                                        "application/json", body->data,
                                        body->len);
}


/*
 * Whether the guard applies to r: intercom_oauth_require is on, inherited
 * or not, the location has none of the module's handlers (the connect
 * page must not redirect to itself, nor the callback to the connect
 * page), r is no subrequest and no error page.
 */

static ngx_uint_t
ngx_http_intercom_oauth_require_guards(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    return olcf->require == 1 && olcf->handler == NULL
           && r == r->main && !r->error_page;
}


/* NGX_OK when the request's key has a token, NGX_DECLINED, NGX_ERROR */

static ngx_int_t
ngx_http_intercom_oauth_require_connected(ngx_http_request_t *r)
{
    ngx_str_t  key;

    if (ngx_http_intercom_oauth_key(r, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_intercom_oauth_storage_token_get(r, &key, NULL, NULL);
}


/*
 * The session cookie is SameSite=Lax, which a form on a sibling subdomain
 * ("same-site") still gets sent with: an unsafe method is refused when the
 * browser says it comes from another site.  Sec-Fetch-Site is the
 * browser's word; without it, an Origin that names another host (or
 * "null").  A request with neither is not a browser's cross-site one.
 */

static ngx_int_t
ngx_http_intercom_oauth_require_same_site(ngx_http_request_t *r)
{
    char             *why;
    ngx_table_elt_t  *h;

    static ngx_str_t  fetch_site = ngx_string("Sec-Fetch-Site");
    static ngx_str_t  origin = ngx_string("Origin");

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_OPTIONS)) {
        return NGX_OK;
    }

    h = ngx_http_intercom_oauth_header(r, &fetch_site, NULL);

    if (h) {
        if (h->value.len == sizeof("cross-site") - 1
            && ngx_strncasecmp(h->value.data, (u_char *) "cross-site",
                               sizeof("cross-site") - 1)
               == 0)
        {
            why = "Sec-Fetch-Site: cross-site";

        } else if (h->value.len == sizeof("same-site") - 1
                   && ngx_strncasecmp(h->value.data, (u_char *) "same-site",
                                      sizeof("same-site") - 1)
                      == 0)
        {
            why = "Sec-Fetch-Site: same-site";

        } else {
            return NGX_OK;
        }

    } else {
        h = ngx_http_intercom_oauth_header(r, &origin, NULL);

        if (h == NULL
            || ngx_http_intercom_oauth_require_this_host(r, &h->value))
        {
            return NGX_OK;
        }

        why = "its Origin is not this host";
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "intercom oauth: %V \"%V\" refused: sent from another site "
                  "(%s)", &r->method_name, &r->uri, why);

    return NGX_HTTP_FORBIDDEN;
}


/* "https://host:port" names the request's Host; the scheme is not compared */

static ngx_uint_t
ngx_http_intercom_oauth_require_this_host(ngx_http_request_t *r,
    ngx_str_t *origin)
{
    u_char     *p;
    size_t      len;
    ngx_str_t  *host;

    if (r->headers_in.host == NULL) {
        return 0;
    }

    host = &r->headers_in.host->value;
    p = origin->data;
    len = origin->len;

    if (len > 8 && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
        p += 8;
        len -= 8;

    } else if (len > 7 && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        p += 7;
        len -= 7;

    } else {
        return 0;
    }

    return len == host->len && ngx_strncasecmp(p, host->data, len) == 0;
}


/*
 * The guard's answer: with the connect location's URI a redirect there
 * with return_to, else (or to keep an access module's challenge) 401.
 * Returns the status to finalize with, or NGX_DONE once answered.
 */

static ngx_int_t
ngx_http_intercom_oauth_require_refuse(ngx_http_request_t *r,
    ngx_uint_t challenge)
{
    u_char                              *p;
    ngx_int_t                            rc;
    ngx_str_t                            uri, target, *body;
    ngx_http_intercom_oauth_arg_t        arg;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "intercom oauth: \"%V\" requires a connection to Intercom",
                  &r->uri);

    if (ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (olcf->require_uri.len && !challenge) {
        uri = r->unparsed_uri;

        /* a callback sent here: its code must not travel on in return_to */
        if (r->args.len && ngx_http_intercom_oauth_withhold_args(&r->args)) {
            p = ngx_strlchr(uri.data, uri.data + uri.len, '?');

            if (p) {
                uri.len = p - uri.data;
            }
        }

        ngx_str_set(&arg.name, "return_to=");
        arg.value = &uri;
        arg.escape = 1;

        if (ngx_http_intercom_oauth_uri_args(r->pool, &olcf->require_uri,
                                             &arg, 1, &target)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_intercom_oauth_redirect(r, NGX_HTTP_MOVED_TEMPORARILY,
                                                &target);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    body = &ngx_http_intercom_oauth_not_connected;

    ngx_http_finalize_request(r,
        ngx_http_intercom_oauth_send(r, NGX_HTTP_UNAUTHORIZED,
                                     "application/json", body->data,
                                     body->len));

    return NGX_DONE;
}
