
/*
 * The connect button: a page (or a 302) that sends the browser to
 * Intercom's authorize URL with a freshly minted state.
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
ngx_int_t ngx_http_intercom_oauth_authorize_url(ngx_http_request_t *r,
    ngx_http_intercom_oauth_ctx_t *ctx);

/*
 * Splits a connect page template at configuration time at each
 * NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER (any case) into *parts, an array of
 * ngx_str_t pointing into tpl: the text before the first placeholder,
 * between each two and after the last.  tpl NULL: the built-in page.  The
 * handler then never searches the page per request.  Returns NGX_OK,
 * NGX_DECLINED when tpl has no placeholder, or NGX_ERROR (no memory).
 */
ngx_int_t ngx_http_intercom_oauth_button_parse(ngx_conf_t *cf,
    ngx_str_t *tpl, ngx_array_t **parts);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_BUTTON_H_INCLUDED_ */
