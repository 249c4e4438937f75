
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Disconnect: forget this key's token here and revoke it at Intercom
 * (POST intercom_oauth_revoke_url with the token as Bearer,
 * docs/intercom.md).
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_DISCONNECT_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_DISCONNECT_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * Content handler of "intercom_oauth_disconnect".  POST only (405).  The
 * request must come from the site itself (ngx_http_intercom_oauth_same_
 * origin(); 403 otherwise: SameSite alone does not stop same-site
 * subdomains or old browsers).  Deletes the token from
 * the zone first, so that it is gone even when Intercom is unreachable,
 * then revokes it at Intercom without blocking, then answers 302 to the
 * directive's URI.  A request without a token gets the 302 at once.
 */
ngx_int_t ngx_http_intercom_oauth_disconnect_handler(ngx_http_request_t *r);

/* The parameter of "intercom_oauth_disconnect [URI]": where to go after. */
char *ngx_http_intercom_oauth_disconnect_args(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_DISCONNECT_H_INCLUDED_ */
