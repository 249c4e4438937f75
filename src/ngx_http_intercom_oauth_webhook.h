
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The uninstall webhook: Intercom POSTs {"app_id": "..."} to the app's
 * uninstall URL when a workspace removes the app; every token of that
 * workspace is deleted.  Signature: "X-Hub-Signature: sha1=<hex>", the
 * HMAC-SHA1 of the raw body keyed by the client secret
 * (docs/intercom.md; whether the uninstall notification always carries it
 * is unconfirmed).
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_WEBHOOK_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_WEBHOOK_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * Content handler of "intercom_oauth_uninstall_webhook [unsigned]".  POST
 * only (405); body at most NGX_HTTP_INTERCOM_OAUTH_MAX_BODY bytes (413).
 * Without "unsigned" a missing or wrong X-Hub-Signature gets 401 (the log
 * says how to accept unsigned calls); a body that is not a JSON object
 * with a non-empty string "app_id" gets 400.  Answers 200
 * {"deleted":N} with the number of tokens removed.  Only tokens whose /me
 * identity was stored can be matched to a workspace.
 */
ngx_int_t ngx_http_intercom_oauth_webhook_handler(ngx_http_request_t *r);

/* "intercom_oauth_uninstall_webhook unsigned" draws a warning. */
char *ngx_http_intercom_oauth_webhook_args(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_WEBHOOK_H_INCLUDED_ */
