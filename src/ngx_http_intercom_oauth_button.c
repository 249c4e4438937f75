
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The connect button page and the authorize URL behind it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_button.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_secret.h"
#include "ngx_http_intercom_oauth_session.h"
#include "ngx_http_intercom_oauth_state.h"
#include "ngx_http_intercom_oauth_zone.h"


/*
 * The built-in page: Intercom's look without loading anything from another
 * site, a plain link so that it works without JavaScript, a visible focus
 * ring for keyboard users.
 */
static ngx_str_t  ngx_http_intercom_oauth_button_default = ngx_string(
"<!DOCTYPE html>\n"
"<html lang=\"en\">\n"
"<head>\n"
"<meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<meta name=\"referrer\" content=\"no-referrer\">\n"
"<title>Connect with Intercom</title>\n"
"<style>\n"
"body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
"margin:0;min-height:100vh;display:flex;align-items:center;"
"justify-content:center;background:#f5f6f8;color:#1a1a1a}\n"
"main{text-align:center;padding:2rem}\n"
"h1{font-size:1.25rem;font-weight:600;margin:0 0 1.5rem}\n"
"a.intercom-connect{display:inline-flex;align-items:center;gap:.6rem;"
"background:#0057ff;color:#fff;text-decoration:none;font-weight:600;"
"padding:.8rem 1.4rem;border-radius:.5rem;font-size:1rem}\n"
"a.intercom-connect:hover{background:#0046cc}\n"
"a.intercom-connect:focus,a.intercom-connect:focus-visible{"
"outline:3px solid #1a1a1a;outline-offset:3px}\n"
"a.intercom-connect svg{width:1.25rem;height:1.25rem}\n"
"</style>\n"
"</head>\n"
"<body>\n"
"<main>\n"
"<h1>Connect this site to your Intercom workspace</h1>\n"
"<a class=\"intercom-connect\" href=\"" NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER
"\">"
"<svg viewBox=\"0 0 32 32\" aria-hidden=\"true\">"
"<rect width=\"32\" height=\"32\" rx=\"7\" fill=\"#fff\"/>"
"<path d=\"M9 10v9M13 8.5v12M16 8v13M19 8.5v12M23 10v9\" stroke=\"#0057ff\""
" stroke-width=\"2\" stroke-linecap=\"round\"/>"
"<path d=\"M9 23c4 3 10 3 14 0\" stroke=\"#0057ff\" stroke-width=\"2\""
" fill=\"none\" stroke-linecap=\"round\"/></svg>"
"Connect with Intercom</a>\n"
"</main>\n"
"</body>\n"
"</html>\n");


static ngx_int_t ngx_http_intercom_oauth_button_parse(ngx_conf_t *cf,
    ngx_str_t *tpl, ngx_array_t **parts);
static ngx_int_t ngx_http_intercom_oauth_button_page(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *url);
static ngx_int_t ngx_http_intercom_oauth_button_return_to(
    ngx_http_request_t *r, ngx_str_t *return_to);
static void ngx_http_intercom_oauth_button_check(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *redirect);


/* each warning once per worker: they are about the configuration */
static ngx_uint_t  ngx_http_intercom_oauth_button_warned_late;
static ngx_uint_t  ngx_http_intercom_oauth_button_warned_http;


/*
 * Splits a connect page template at configuration time at each
 * NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER (any case) into *parts, an array of
 * ngx_str_t pointing into tpl: the text before the first placeholder,
 * between each two and after the last.  tpl NULL: the built-in page.  The
 * handler then never searches the page per request.  Returns NGX_OK,
 * NGX_DECLINED when tpl has no placeholder, or NGX_ERROR (no memory).
 */

static ngx_int_t
ngx_http_intercom_oauth_button_parse(ngx_conf_t *cf, ngx_str_t *tpl,
    ngx_array_t **parts)
{
    u_char       *p, *pos, *last;
    ngx_str_t    *part;
    ngx_array_t  *a;

    if (tpl == NULL) {
        tpl = &ngx_http_intercom_oauth_button_default;
    }

    a = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    pos = tpl->data;
    last = tpl->data + tpl->len;

    for ( ;; ) {
        p = ngx_strlcasestrn(pos, last,
                             (u_char *) NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER,
                             sizeof(NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER) - 2);

        part = ngx_array_push(a);
        if (part == NULL) {
            return NGX_ERROR;
        }

        part->data = pos;
        part->len = (p ? p : last) - pos;

        if (p == NULL) {
            break;
        }

        pos = p + sizeof(NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER) - 1;
    }

    if (a->nelts < 2) {
        return NGX_DECLINED;
    }

    *parts = a;

    return NGX_OK;
}


char *
ngx_http_intercom_oauth_button_template(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ssize_t           n;
    ngx_int_t         rc;
    ngx_str_t        *value, name, tpl;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    if (olcf->button_page != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_http_intercom_oauth_secret_open(cf, &name, &file) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"intercom_connect_button_template\": cannot "
                           "open \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"intercom_connect_button_template\": \"%V\" "
                           "cannot be read or is larger than 1m", &name);
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    tpl.data = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);
    if (tpl.data == NULL) {
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_file(&file, tpl.data, ngx_file_size(&fi), 0);

    ngx_close_file(file.fd);

    if (n != ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_connect_button_template\": short "
                           "read of \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    tpl.len = n;

    rc = ngx_http_intercom_oauth_button_parse(cf, &tpl, &olcf->button_page);

    if (rc == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_connect_button_template\": \"%V\" "
                           "has no \"%s\" placeholder", &name,
                           NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_intercom_oauth_button_redirect_uri(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    if (value[1].len >= 7
        && ngx_strncasecmp(value[1].data, (u_char *) "http://", 7) == 0)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"intercom_oauth_redirect_uri\" \"%V\" is not "
                           "https: Intercom registers HTTPS redirect URLs "
                           "only", &value[1]);

    } else if (value[1].len < 8
               || (ngx_strncasecmp(value[1].data, (u_char *) "https://", 8)
                   != 0
                   && value[1].data[0] != '$'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_redirect_uri\" must be an "
                           "absolute URL (https://...), not \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


/* intercom_connect_button [redirect] [appstore] */

char *
ngx_http_intercom_oauth_button_args(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "redirect") == 0
            && !olcf->button_redirect)
        {
            olcf->button_redirect = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "appstore") == 0
            && !olcf->button_appstore)
        {
            olcf->button_appstore = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\", \"%V\" takes only "
                           "\"redirect\" and \"appstore\"", &value[i],
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a page location without intercom_connect_button_template: the built-in */

char *
ngx_http_intercom_oauth_button_merge(ngx_conf_t *cf, void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    if (olcf->button_page == NULL && !olcf->button_redirect
        && ngx_http_intercom_oauth_button_parse(cf, NULL, &olcf->button_page)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_intercom_oauth_button_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    rc = ngx_http_intercom_oauth_read_only(r);

    if (rc != NGX_OK) {
        return rc;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_intercom_oauth_button_authorize_url(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_CONNECT_PAGES);

    if (ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (olcf->button_redirect) {
        return ngx_http_intercom_oauth_redirect(r, NGX_HTTP_MOVED_TEMPORARILY,
                                                &ctx->authorize_url);
    }

    return ngx_http_intercom_oauth_button_page(r, olcf, &ctx->authorize_url);
}


/*
 * Every placeholder gets the URL, escaped for an HTML attribute; the page
 * was split at its placeholders at configuration time.
 */

static ngx_int_t
ngx_http_intercom_oauth_button_page(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *url)
{
    size_t       len, esc;
    ngx_buf_t   *b;
    ngx_str_t   *part;
    ngx_uint_t   i, n;

    esc = ngx_escape_html(NULL, url->data, url->len);

    part = olcf->button_page->elts;
    n = olcf->button_page->nelts;

    len = (n - 1) * (url->len + esc);

    for (i = 0; i < n; i++) {
        len += part[i].len;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, part[0].data, part[0].len);

    for (i = 1; i < n; i++) {
        b->last = (u_char *) ngx_escape_html(b->last, url->data, url->len);
        b->last = ngx_cpymem(b->last, part[i].data, part[i].len);
    }

    return ngx_http_intercom_oauth_send(r, NGX_HTTP_OK,
                                        "text/html; charset=utf-8", b->pos,
                                        b->last - b->pos);
}


ngx_int_t
ngx_http_intercom_oauth_button_authorize_url(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    ngx_str_t                             state, secret, redirect, return_to;
    ngx_http_intercom_oauth_arg_t         args[3];
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    if (ctx->authorize_url.len) {
        return NGX_OK;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (omcf == NULL || omcf->shm_zone == NULL || olcf->client_id.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: no authorize URL here: "
                      "\"intercom_oauth_zone\" or "
                      "\"intercom_oauth_client_id\" is not set");
        return NGX_DECLINED;
    }

    if (ngx_http_intercom_oauth_session_ensure(r, olcf, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_intercom_oauth_button_return_to(r, &return_to) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_intercom_oauth_state_secret(r, &secret);

    if (ngx_http_intercom_oauth_state_mint(r, &secret, &ctx->session_id,
                                           &olcf->client_id, &return_to,
                                           olcf->button_appstore, &state)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_null(&redirect);

    if (olcf->redirect_uri
        && ngx_http_complex_value(r, olcf->redirect_uri, &redirect) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_intercom_oauth_button_check(r, olcf, &redirect);

    ngx_str_set(&args[0].name, "client_id=");
    args[0].value = &olcf->client_id;
    args[0].escape = 1;

    ngx_str_set(&args[1].name, "state=");
    args[1].value = &state;
    args[1].escape = 0;

    ngx_str_set(&args[2].name, "redirect_uri=");
    args[2].value = &redirect;
    args[2].escape = 1;

    /* the configured URL may carry a query string of its own */
    return ngx_http_intercom_oauth_uri_args(r->pool, &olcf->authorize_url,
                                            args, redirect.len ? 3 : 2,
                                            &ctx->authorize_url);
}


/*
 * What only shows at run time.  A session cookie set in a subrequest (an
 * SSI include) or after the header was sent never reaches the browser,
 * whose callback then has no session to match the state.  A
 * redirect_uri with variables may turn out http:// where a load balancer
 * ends TLS and $scheme is "http"; Intercom refuses it.
 */

static void
ngx_http_intercom_oauth_button_check(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *redirect)
{
    if ((r != r->main || r->header_sent)
        && !ngx_http_intercom_oauth_button_warned_late)
    {
        ngx_http_intercom_oauth_button_warned_late = 1;

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: \"$intercom_oauth_authorize_url\" "
                      "evaluated in a subrequest (an SSI include) or after "
                      "the response header was sent: the session cookie "
                      "cannot be set from there, and a browser without one "
                      "fails at the callback with state_invalid; evaluate "
                      "it with \"set\" in the page's own location");
    }

    if (olcf->redirect_uri && olcf->redirect_uri->lengths
        && redirect->len >= sizeof("http://") - 1
        && ngx_strncasecmp(redirect->data, (u_char *) "http://",
                           sizeof("http://") - 1)
           == 0
        && !ngx_http_intercom_oauth_button_warned_http)
    {
        ngx_http_intercom_oauth_button_warned_http = 1;

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: \"intercom_oauth_redirect_uri\" "
                      "evaluated to an http:// URI, which Intercom does not "
                      "accept: where a load balancer ends TLS, $scheme is "
                      "\"http\"; take the scheme from X-Forwarded-Proto "
                      "(a map on $http_x_forwarded_proto) or write the "
                      "https:// URI (docs/troubleshooting.md)");
    }
}


/*
 * The connect request's "return_to" argument, when it is a safe relative
 * URI; an unsafe one is dropped with a log line, not refused, since the
 * user can still connect and land on the success URI.
 */

static ngx_int_t
ngx_http_intercom_oauth_button_return_to(ngx_http_request_t *r,
    ngx_str_t *return_to)
{
    u_char     *dst, *src;
    ngx_str_t   arg;

    ngx_str_null(return_to);

    if (ngx_http_arg(r, (u_char *) "return_to", sizeof("return_to") - 1,
                     &arg)
        != NGX_OK
        || arg.len == 0)
    {
        return NGX_OK;
    }

    dst = ngx_pnalloc(r->pool, arg.len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    return_to->data = dst;
    src = arg.data;

    ngx_unescape_uri(&dst, &src, arg.len, 0);

    return_to->len = dst - return_to->data;

    if (!ngx_http_intercom_oauth_return_to_valid(return_to)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: \"return_to\" is not a relative URI "
                      "on this site, ignored");
        ngx_str_null(return_to);
    }

    return NGX_OK;
}
