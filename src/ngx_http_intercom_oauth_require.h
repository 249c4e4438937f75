
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Guarding a location: "intercom_oauth_require [URI]" lets a request
 * through only when its key has a token.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_REQUIRE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_REQUIRE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * Access-phase handler.  NGX_DECLINED where the directive is off or the
 * request has a token (other access modules still decide).  Without a
 * token: with a URI, 302 to URI?return_to=<this request's URI> (the connect
 * button signs it into the state, so the user comes back here); without,
 * 401 with {"error":"not_connected"}.  Subrequests are not checked.
 */
ngx_int_t ngx_http_intercom_oauth_require_handler(ngx_http_request_t *r);

/* The directive "intercom_oauth_require [URI]". */
char *ngx_http_intercom_oauth_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_REQUIRE_H_INCLUDED_ */
