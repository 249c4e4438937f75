
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The connect button: a page (or with "redirect" a 302) that sends the
 * browser to Intercom's authorize URL with a freshly minted state, and the
 * directives that shape it.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_BUTTON_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_BUTTON_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/* what a template must contain; replaced by the HTML-escaped URL */
#define NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER  "{{authorize_url}}"


/*
 * Content handler of "intercom_connect_button": GET and HEAD only (405
 * otherwise).  Ensures the session cookie, mints a state (carrying the
 * request's "return_to" argument when it is a safe relative URI), and
 * answers 200 with the page, or 302 to Intercom with "redirect".  Every
 * answer carries "Cache-Control: no-store".
 */
ngx_int_t ngx_http_intercom_oauth_button_handler(ngx_http_request_t *r);

/*
 * Builds the authorize URL for this request into ctx->authorize_url (once
 * per request): authorize_url?client_id=..&state=..[&redirect_uri=..],
 * every value percent-encoded.  Used by the handler and by
 * $intercom_oauth_authorize_url.  Returns NGX_OK, NGX_DECLINED when the
 * location has no client id or zone (logged), or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_button_authorize_url(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx);

/*
 * intercom_connect_button's parameters: "redirect", and "appstore", which
 * marks the state of an install that started at Intercom's App Store.
 */
char *ngx_http_intercom_oauth_button_args(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* A button location's merge: the built-in page unless a template is set. */
char *ngx_http_intercom_oauth_button_merge(ngx_conf_t *cf, void *conf);

/*
 * The directive "intercom_connect_button_template PATH": the file is read
 * and split at its placeholders here, once; one without a placeholder is
 * refused.
 */
char *ngx_http_intercom_oauth_button_template(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * The directive "intercom_oauth_redirect_uri URI": an https:// URL or a
 * value starting with a variable (http:// draws a warning).
 */
char *ngx_http_intercom_oauth_button_redirect_uri(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_BUTTON_H_INCLUDED_ */
