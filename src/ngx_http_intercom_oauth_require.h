
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Guarding a location: "intercom_oauth_require [URI]" lets a request
 * through only when its key has a token, and "intercom_oauth_check"
 * answers the same question for auth_request.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_REQUIRE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_REQUIRE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * The guard, a precontent-phase handler: it runs after the access modules
 * have decided.  NGX_DECLINED where the directive is off, in a location
 * with a handler of the module, in a subrequest, for an error page, and
 * when the request has a token.  A method other than GET, HEAD and
 * OPTIONS sent from another site (Sec-Fetch-Site "cross-site" or
 * "same-site"; without it, an Origin that is not this Host) gets 403.
 * Without a token: with a URI, 302 to URI?return_to=<this request's URI>
 * (the connect button signs it into the state, so the user comes back
 * here); without, 401 with {"error":"not_connected"}.  Under "satisfy
 * any" the token is the access phase's business (below), and only the
 * method check is done here.
 */
ngx_int_t ngx_http_intercom_oauth_require_handler(ngx_http_request_t *r);

/*
 * The guard's part in the access phase, under "satisfy any" only, where
 * it must run last (registered first): reached when no other access
 * module let the request in, it lets the request in with a token and
 * otherwise answers as the guard does, except that an auth_basic or
 * auth_request challenge (401 with WWW-Authenticate) is kept: 401 with
 * the challenge rather than a redirect.
 */
ngx_int_t ngx_http_intercom_oauth_require_access_handler(
    ngx_http_request_t *r);

/*
 * Content handler of "intercom_oauth_check": 204 when the request's key
 * has a token, 401 with {"error":"not_connected"} when not.  Meant as the
 * target of auth_request, whose subrequest no guard sees.
 */
ngx_int_t ngx_http_intercom_oauth_require_check_handler(ngx_http_request_t *r);

/* The directive "intercom_oauth_require [URI | off]". */
char *ngx_http_intercom_oauth_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_REQUIRE_H_INCLUDED_ */
