
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Another library's socket on nginx's event loop: libcurl's and hiredis's
 * descriptors get an nginx connection each, so that the event module
 * carries them.  Events are level-triggered: neither library promises to
 * read a socket dry, and an edge-triggered event would then never fire
 * again.  The library owns the descriptor and closes it; the connection is
 * given back to nginx first.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SOCKET_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SOCKET_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/*
 * Wraps descriptor "fd" in a connection from the worker's free list whose
 * read and write events call "handler" (ev->data is the connection,
 * c->data is "data").  Returns NULL when worker_connections are not
 * enough (nginx logs it).
 */
ngx_connection_t *ngx_http_intercom_oauth_socket_wrap(ngx_socket_t fd,
    ngx_event_handler_pt handler, void *data, ngx_log_t *log);

/*
 * Starts ("on") or stops watching the connection's read or write
 * readiness.  Returns NGX_OK, or NGX_ERROR when epoll refused.
 */
ngx_int_t ngx_http_intercom_oauth_socket_watch(ngx_connection_t *c,
    ngx_uint_t write, ngx_uint_t on);

/*
 * Gives the connection back without closing the descriptor: removes its
 * events, posted or not, and frees it.  "closed": the descriptor is (about
 * to be) closed by its owner, so epoll is not asked to forget it.
 */
void ngx_http_intercom_oauth_socket_release(ngx_connection_t *c,
    ngx_uint_t closed);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SOCKET_H_INCLUDED_ */
