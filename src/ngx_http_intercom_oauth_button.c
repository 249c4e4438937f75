
/*
 * The connect button page and the authorize URL behind it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_button.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_session.h"
#include "ngx_http_intercom_oauth_state.h"
#include "ngx_http_intercom_oauth_zone.h"


/*
 * The built-in page: Intercom's look without loading anything from another
 * site, a plain link so that it works without JavaScript, a visible focus
 * ring for keyboard users.
 */
static ngx_str_t  ngx_http_intercom_oauth_button_page = ngx_string(
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
"a.intercom-connect:focus,a.intercom-connect:focus-visible{outline:3px solid #1a1a1a;"
"outline-offset:3px}\n"
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


static ngx_int_t ngx_http_intercom_oauth_button_return_to(
    ngx_http_request_t *r, ngx_str_t *return_to);


ngx_int_t
ngx_http_intercom_oauth_button_parse(ngx_conf_t *cf, ngx_str_t *tpl,
    ngx_array_t **parts)
{
    u_char       *p, *pos, *last;
    ngx_str_t    *part;
    ngx_array_t  *a;

    if (tpl == NULL) {
        tpl = &ngx_http_intercom_oauth_button_page;
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


ngx_int_t
ngx_http_intercom_oauth_button_handler(ngx_http_request_t *r)
{
    size_t                               len, esc;
    ngx_int_t                            rc;
    ngx_uint_t                           i, n;
    ngx_buf_t                           *b;
    ngx_str_t                           *part;
    ngx_http_intercom_oauth_ctx_t       *ctx;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;
    ngx_http_intercom_oauth_main_conf_t *omcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ctx = ngx_http_intercom_oauth_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_intercom_oauth_authorize_url(r, ctx);

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_CONNECT_PAGES);

    if (ngx_http_intercom_oauth_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (olcf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON_REDIRECT) {
        if (ngx_http_intercom_oauth_location(r, &ctx->authorize_url)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_HTTP_MOVED_TEMPORARILY;
    }

    /*
     * Every placeholder gets the URL, escaped for an HTML attribute; the
     * page was split at its placeholders at configuration time.
     */
    esc = ngx_escape_html(NULL, ctx->authorize_url.data,
                          ctx->authorize_url.len);

    part = olcf->button_page->elts;
    n = olcf->button_page->nelts;

    len = (n - 1) * (ctx->authorize_url.len + esc);

    for (i = 0; i < n; i++) {
        len += part[i].len;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, part[0].data, part[0].len);

    for (i = 1; i < n; i++) {
        b->last = (u_char *) ngx_escape_html(b->last, ctx->authorize_url.data,
                                             ctx->authorize_url.len);
        b->last = ngx_cpymem(b->last, part[i].data, part[i].len);
    }

    return ngx_http_intercom_oauth_send(r, NGX_HTTP_OK,
                                        "text/html; charset=utf-8", b->pos,
                                        b->last - b->pos);
}


ngx_int_t
ngx_http_intercom_oauth_authorize_url(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx)
{
    u_char                               *p;
    size_t                                len;
    ngx_str_t                             state, secret, redirect, return_to;
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

    if (olcf->state_secret.len) {
        secret = olcf->state_secret;

    } else {
        ngx_http_intercom_oauth_zone_secret(omcf->shm_zone, &secret);
    }

    if (ngx_http_intercom_oauth_state_mint(r, &secret, &ctx->session_id,
                                           &olcf->client_id, &return_to,
                                           &state)
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

    len = olcf->authorize_url.len
          + sizeof("?client_id=") - 1
          + olcf->client_id.len
          + 2 * ngx_escape_uri(NULL, olcf->client_id.data, olcf->client_id.len,
                               NGX_ESCAPE_URI_COMPONENT)
          + sizeof("&state=") - 1 + state.len;

    if (redirect.len) {
        len += sizeof("&redirect_uri=") - 1 + redirect.len
               + 2 * ngx_escape_uri(NULL, redirect.data, redirect.len,
                                    NGX_ESCAPE_URI_COMPONENT);
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->authorize_url.data = p;

    p = ngx_cpymem(p, olcf->authorize_url.data, olcf->authorize_url.len);

    /* the configured URL may carry a query string of its own */
    *p++ = ngx_strlchr(olcf->authorize_url.data,
                       olcf->authorize_url.data + olcf->authorize_url.len,
                       '?')
           ? '&' : '?';

    p = ngx_cpymem(p, "client_id=", sizeof("client_id=") - 1);
    p = (u_char *) ngx_escape_uri(p, olcf->client_id.data,
                                  olcf->client_id.len,
                                  NGX_ESCAPE_URI_COMPONENT);

    p = ngx_cpymem(p, "&state=", sizeof("&state=") - 1);
    p = ngx_cpymem(p, state.data, state.len);

    if (redirect.len) {
        p = ngx_cpymem(p, "&redirect_uri=", sizeof("&redirect_uri=") - 1);
        p = (u_char *) ngx_escape_uri(p, redirect.data, redirect.len,
                                      NGX_ESCAPE_URI_COMPONENT);
    }

    ctx->authorize_url.len = p - ctx->authorize_url.data;

    return NGX_OK;
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
