
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The store's transport: one Redis connection per worker, an nginx peer
 * connection on nginx's event loop, with nginx's timers for connect and
 * command timeouts; hiredis only formats commands and parses replies.  A
 * lost connection is made again with exponential back-off.  Nothing here
 * ever blocks the worker.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_REDIS_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_intercom_oauth.h"

#include <hiredis/hiredis.h>


/* the back-off between two connection attempts, in milliseconds */
#define NGX_HTTP_INTERCOM_OAUTH_REDIS_BACKOFF_MIN  100
#define NGX_HTTP_INTERCOM_OAUTH_REDIS_BACKOFF_MAX  2000

#define NGX_HTTP_INTERCOM_OAUTH_REDIS_MAX_ARGS     8


/*
 * Called once per command with its reply, or with NULL when the command
 * failed: not sent, timed out (then "why" says so), connection lost.  A
 * Redis error reply is passed as it is (type REDIS_REPLY_ERROR).  The
 * reply belongs to hiredis and is freed after the call.
 */
typedef void (*ngx_http_intercom_oauth_redis_handler_pt)(void *data,
    redisReply *reply, const char *why);


/*
 * The directive "intercom_oauth_store redis://HOST[:PORT][/DB] |
 * rediss://HOST[:PORT][/DB] | unix:PATH" (http).  A host name is resolved
 * here, once, as nginx resolves an upstream server's name.
 */
char *ngx_http_intercom_oauth_redis_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Checks the store's companion directives once the http block is read, and
 * makes the TLS context of rediss:// (certificates are read here).
 */
char *ngx_http_intercom_oauth_redis_init_conf(ngx_conf_t *cf,
    ngx_http_intercom_oauth_store_conf_t *sc);

/*
 * Starts the worker's connection (init_process).  "conf" must live as long
 * as the cycle.  Returns NGX_OK; a Redis that cannot be reached yet is not
 * an error, the connection is retried with back-off.
 */
ngx_int_t ngx_http_intercom_oauth_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_intercom_oauth_store_conf_t *conf);

/*
 * Closes the connection at worker exit; pending commands get NULL.
 */
void ngx_http_intercom_oauth_redis_exit_process(ngx_cycle_t *cycle);

/*
 * Sends one command of "argc" arguments (more than
 * NGX_HTTP_INTERCOM_OAUTH_REDIS_MAX_ARGS cost an allocation).  "handler" is
 * called exactly once, later, unless the command is cancelled.  Returns
 * the command, or NULL (handler not called) when Redis is not connected
 * now or the command could not be queued.
 */
ngx_http_intercom_oauth_redis_cmd_t *ngx_http_intercom_oauth_redis_command(
    ngx_http_intercom_oauth_redis_handler_pt handler, void *data,
    ngx_uint_t argc, ngx_str_t *argv);

/*
 * The same, with a longer timeout: intercom_oauth_store_timeout plus
 * "extra" (a WAIT that Redis itself holds up to "extra").
 */
ngx_http_intercom_oauth_redis_cmd_t *
    ngx_http_intercom_oauth_redis_command_extra(
    ngx_http_intercom_oauth_redis_handler_pt handler, void *data,
    ngx_uint_t argc, ngx_str_t *argv, ngx_msec_t extra);

/*
 * The requester is gone (request freed): its handler will not be called.
 * The command itself stays queued until its reply or the connection's
 * end.
 */
void ngx_http_intercom_oauth_redis_cancel(
    ngx_http_intercom_oauth_redis_cmd_t *cmd);

/* 1 when commands can be sent now */
ngx_uint_t ngx_http_intercom_oauth_redis_ready(void);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_REDIS_H_INCLUDED_ */
