
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The status handler: the zone's counters as JSON or in Prometheus' text
 * format.  Collection is in the zone; this file only presents.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_STATUS_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_STATUS_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


/*
 * Content handler of "intercom_oauth_status".  GET and HEAD (405
 * otherwise).  JSON by default; Prometheus text (version 0.0.4) with
 * ?format=prometheus or an Accept header naming text/plain or
 * application/openmetrics-text (?format=json wins over Accept).  Counters
 * count since the zone was created and survive reloads.
 */
ngx_int_t ngx_http_intercom_oauth_status_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_STATUS_H_INCLUDED_ */
