
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_intercom_oauth_socket.h"


ngx_connection_t *
ngx_http_intercom_oauth_socket_wrap(ngx_socket_t fd,
    ngx_event_handler_pt handler, void *data, ngx_log_t *log)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(fd, log);
    if (c == NULL) {
        return NULL;
    }

    c->data = data;
    c->read->handler = handler;
    c->write->handler = handler;
    c->read->log = c->log;
    c->write->log = c->log;

    return c;
}


ngx_int_t
ngx_http_intercom_oauth_socket_watch(ngx_connection_t *c, ngx_uint_t write,
    ngx_uint_t on)
{
    ngx_int_t     event;
    ngx_event_t  *ev;

    ev = write ? c->write : c->read;
    event = write ? NGX_WRITE_EVENT : NGX_READ_EVENT;

    if (on && !ev->active) {
        return ngx_add_event(ev, event, NGX_LEVEL_EVENT);
    }

    if (!on && ev->active) {
        (void) ngx_del_event(ev, event, NGX_LEVEL_EVENT);
    }

    return NGX_OK;
}


void
ngx_http_intercom_oauth_socket_release(ngx_connection_t *c, ngx_uint_t closed)
{
    ngx_uint_t  flags;

    flags = closed ? NGX_CLOSE_EVENT : NGX_LEVEL_EVENT;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}
