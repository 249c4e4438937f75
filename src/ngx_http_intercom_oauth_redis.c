
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The hiredis <-> nginx event adapter and the worker's Redis connection.
 *
 * hiredis asks for read and write readiness through five hooks (addRead,
 * delRead, addWrite, delWrite, cleanup); here they watch hiredis's
 * descriptor through an nginx connection (ngx_http_intercom_oauth_socket.h):
 * level-triggered, because hiredis reads at most one buffer per call.
 * hiredis owns the descriptor and closes it; the connection is given back
 * to nginx in the cleanup hook.
 *
 * hiredis 0.14 has no timers: the connect timeout, the per-command timeout
 * and the reconnect back-off are nginx timers.  A command that times out
 * ends the connection (a Redis that is this slow is treated as gone), which
 * hands every other pending command NULL at once instead of letting each
 * wait its own timeout.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_intercom_oauth_redis.h"
#include "ngx_http_intercom_oauth_socket.h"


typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN = 0,
    NGX_HTTP_INTERCOM_OAUTH_REDIS_CONNECTING,
    NGX_HTTP_INTERCOM_OAUTH_REDIS_READY
} ngx_http_intercom_oauth_redis_state_e;


struct ngx_http_intercom_oauth_redis_cmd_s {
    ngx_event_t                                timer;
    ngx_http_intercom_oauth_redis_handler_pt   handler;  /* NULL: nobody */
    void                                      *data;
};


typedef struct {
    ngx_http_intercom_oauth_store_conf_t  *conf;
    redisAsyncContext                     *ac;
    ngx_connection_t                      *conn;
    ngx_uint_t                             state;
    ngx_msec_t                             backoff;
    ngx_uint_t                             failures;  /* since last up */
    ngx_event_t                            reconnect;
    ngx_event_t                            connect_timer;
    ngx_log_t                             *log;
    ngx_uint_t                             expected;  /* replies owed */
    redisReplyObjectFunctions             *reply_fn;  /* hiredis's own */
    unsigned                               exiting:1;
    unsigned                               unasked:1;
} ngx_http_intercom_oauth_redis_t;


static void ngx_http_intercom_oauth_redis_connect(void);
static void ngx_http_intercom_oauth_redis_schedule(void);
static void ngx_http_intercom_oauth_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_intercom_oauth_redis_drop(const char *why);
static void ngx_http_intercom_oauth_redis_on_connect(
    const redisAsyncContext *ac, int status);
static void ngx_http_intercom_oauth_redis_on_disconnect(
    const redisAsyncContext *ac, int status);
static void ngx_http_intercom_oauth_redis_setup_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_intercom_oauth_redis_reply(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_intercom_oauth_redis_command_timeout(ngx_event_t *ev);
static void ngx_http_intercom_oauth_redis_event_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_redis_watch(ngx_connection_t *c,
    ngx_uint_t write, ngx_uint_t on);
static void ngx_http_intercom_oauth_redis_add_read(void *privdata);
static void ngx_http_intercom_oauth_redis_del_read(void *privdata);
static void ngx_http_intercom_oauth_redis_add_write(void *privdata);
static void ngx_http_intercom_oauth_redis_del_write(void *privdata);
static void ngx_http_intercom_oauth_redis_cleanup(void *privdata);
static int ngx_http_intercom_oauth_redis_send(redisAsyncContext *ac,
    redisCallbackFn *fn, void *privdata, ngx_uint_t argc, ngx_str_t *argv);
static ngx_int_t ngx_http_intercom_oauth_redis_owed(
    const redisReadTask *task);
static void *ngx_http_intercom_oauth_redis_string(const redisReadTask *task,
    char *str, size_t len);
static void *ngx_http_intercom_oauth_redis_array(const redisReadTask *task,
    int elements);
static void *ngx_http_intercom_oauth_redis_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_intercom_oauth_redis_nil(const redisReadTask *task);
static void ngx_http_intercom_oauth_redis_free(void *reply);


/* one per worker: a worker is one thread */
static ngx_http_intercom_oauth_redis_t  ngx_http_intercom_oauth_redis;

/*
 * hiredis 0.14 asserts, killing the worker, when a reply arrives that no
 * command waits for (redisProcessCallbacks()).  The reader builds replies
 * through these functions, which count the top-level replies against the
 * commands sent and refuse one too many: the reader fails, hiredis drops
 * the connection as for any protocol error, and the module reconnects.
 */
static redisReplyObjectFunctions  ngx_http_intercom_oauth_redis_fn = {
    ngx_http_intercom_oauth_redis_string,
    ngx_http_intercom_oauth_redis_array,
    ngx_http_intercom_oauth_redis_integer,
    ngx_http_intercom_oauth_redis_nil,
    ngx_http_intercom_oauth_redis_free
};


/*
 * intercom_oauth_store redis://HOST[:PORT][/DB] | unix:PATH.  A host name
 * is resolved here, once: hiredis would resolve it with a blocking call.
 */

char *
ngx_http_intercom_oauth_redis_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf = conf;

    u_char                                *p, *last, *slash;
    size_t                                 len;
    ngx_int_t                              db;
    ngx_str_t                             *value;
    ngx_url_t                              u;
    ngx_http_intercom_oauth_store_conf_t  *sc;

    sc = &omcf->store_conf;

    if (sc->url.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    sc->url = value[1];

    if (value[1].len > 5
        && ngx_strncmp(value[1].data, "unix:", 5) == 0)
    {
        sc->unix_path.len = value[1].len - 5;
        sc->unix_path.data = ngx_pnalloc(cf->pool, sc->unix_path.len + 1);
        if (sc->unix_path.data == NULL) {
            return NGX_CONF_ERROR;
        }

        (void) ngx_cpystrn(sc->unix_path.data, value[1].data + 5,
                           sc->unix_path.len + 1);
        return NGX_CONF_OK;
    }

    if (value[1].len <= 8
        || ngx_strncasecmp(value[1].data, (u_char *) "redis://", 8) != 0)
    {
        goto invalid;
    }

    p = value[1].data + 8;
    last = value[1].data + value[1].len;

    /* user:password@ would put a secret in the configuration and the log */
    if (ngx_strlchr(p, last, '@')) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store\" takes no credentials "
                           "in the URL: use \"intercom_oauth_store_password "
                           "file:PATH\"");
        return NGX_CONF_ERROR;
    }

    slash = ngx_strlchr(p, last, '/');

    if (slash) {
        if (slash + 1 == last) {
            db = 0;

        } else {
            /* Redis numbers its databases with an int */
            db = ngx_atoi(slash + 1, last - slash - 1);
            if (db == NGX_ERROR || db > 0x7fffffff) {
                goto invalid;
            }
        }

        sc->db = db;
        last = slash;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = p;
    u.url.len = last - p;
    u.default_port = 6379;

    if (u.url.len == 0 || ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_store\" \"%V\": %s",
                               &value[1], u.err);
            return NGX_CONF_ERROR;
        }

        goto invalid;
    }

    if (u.naddrs == 0) {
        goto invalid;
    }

    sc->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (sc->host.data == NULL) {
        return NGX_CONF_ERROR;
    }

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                        sc->host.data, NGX_SOCKADDR_STRLEN, 0);
    sc->host.data[len] = '\0';
    sc->host.len = len;
    sc->port = u.port ? u.port : 6379;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"intercom_oauth_store\" takes "
                       "redis://HOST[:PORT][/DB] or unix:PATH, not \"%V\"",
                       &value[1]);

    return NGX_CONF_ERROR;
}


ngx_int_t
ngx_http_intercom_oauth_redis_init_process(ngx_cycle_t *cycle,
    ngx_http_intercom_oauth_store_conf_t *conf)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    ngx_memzero(rd, sizeof(ngx_http_intercom_oauth_redis_t));

    rd->conf = conf;
    rd->log = cycle->log;
    rd->backoff = NGX_HTTP_INTERCOM_OAUTH_REDIS_BACKOFF_MIN;

    rd->reconnect.handler = ngx_http_intercom_oauth_redis_reconnect_handler;
    rd->reconnect.log = cycle->log;
    rd->reconnect.data = rd;
    rd->reconnect.cancelable = 1;

    rd->connect_timer.handler = ngx_http_intercom_oauth_redis_connect_timeout;
    rd->connect_timer.log = cycle->log;
    rd->connect_timer.data = rd;
    rd->connect_timer.cancelable = 1;

    ngx_http_intercom_oauth_redis_connect();

    return NGX_OK;
}


void
ngx_http_intercom_oauth_redis_exit_process(ngx_cycle_t *cycle)
{
    redisAsyncContext                *ac;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->conf == NULL) {
        return;
    }

    rd->exiting = 1;

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    ac = rd->ac;
    rd->ac = NULL;
    rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN;

    if (ac) {
        redisAsyncFree(ac);
    }
}


ngx_uint_t
ngx_http_intercom_oauth_redis_ready(void)
{
    return ngx_http_intercom_oauth_redis.state
           == NGX_HTTP_INTERCOM_OAUTH_REDIS_READY;
}


ngx_http_intercom_oauth_redis_cmd_t *
ngx_http_intercom_oauth_redis_command(
    ngx_http_intercom_oauth_redis_handler_pt handler, void *data,
    ngx_uint_t argc, ngx_str_t *argv)
{
    ngx_http_intercom_oauth_redis_t      *rd = &ngx_http_intercom_oauth_redis;
    ngx_http_intercom_oauth_redis_cmd_t  *cmd;

    if (rd->state != NGX_HTTP_INTERCOM_OAUTH_REDIS_READY || rd->ac == NULL) {
        return NULL;
    }

    cmd = ngx_calloc(sizeof(ngx_http_intercom_oauth_redis_cmd_t), rd->log);
    if (cmd == NULL) {
        return NULL;
    }

    cmd->handler = handler;
    cmd->data = data;

    if (ngx_http_intercom_oauth_redis_send(rd->ac,
                                           ngx_http_intercom_oauth_redis_reply,
                                           cmd, argc, argv)
        != REDIS_OK)
    {
        /* the context is being freed or disconnected */
        ngx_free(cmd);
        return NULL;
    }

    cmd->timer.handler = ngx_http_intercom_oauth_redis_command_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = rd->log;

    ngx_add_timer(&cmd->timer, rd->conf->timeout);

    return cmd;
}


void
ngx_http_intercom_oauth_redis_cancel(ngx_http_intercom_oauth_redis_cmd_t *cmd)
{
    cmd->handler = NULL;
    cmd->data = NULL;

    /* nobody waits: graceful shutdown need not wait for it either */
    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }
}


static void
ngx_http_intercom_oauth_redis_connect(void)
{
    ngx_str_t                         argv[2];
    ngx_connection_t                 *c;
    redisAsyncContext                *ac;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;
    u_char                            db[NGX_INT_T_LEN];

    if (rd->conf->unix_path.len) {
        ac = redisAsyncConnectUnix((char *) rd->conf->unix_path.data);

    } else {
        /* a numeric address: hiredis does not resolve it (no blocking) */
        ac = redisAsyncConnect((char *) rd->conf->host.data, rd->conf->port);
    }

    if (ac == NULL) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": out of memory",
                      &rd->conf->url);
        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    if (ac->err) {
        if (rd->failures++ == 0) {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "intercom oauth: store \"%V\" cannot be reached: "
                          "%s; retrying", &rd->conf->url, ac->errstr);
        }

        redisAsyncFree(ac);
        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    c = ngx_http_intercom_oauth_socket_wrap(ac->c.fd,
                                  ngx_http_intercom_oauth_redis_event_handler,
                                  ac, rd->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    ac->ev.data = c;
    ac->ev.addRead = ngx_http_intercom_oauth_redis_add_read;
    ac->ev.delRead = ngx_http_intercom_oauth_redis_del_read;
    ac->ev.addWrite = ngx_http_intercom_oauth_redis_add_write;
    ac->ev.delWrite = ngx_http_intercom_oauth_redis_del_write;
    ac->ev.cleanup = ngx_http_intercom_oauth_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_http_intercom_oauth_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac,
                                 ngx_http_intercom_oauth_redis_on_disconnect);

    rd->ac = ac;
    rd->conn = c;
    rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_CONNECTING;

    rd->expected = 0;
    rd->unasked = 0;
    rd->reply_fn = ac->c.reader->fn;
    ac->c.reader->fn = &ngx_http_intercom_oauth_redis_fn;

    /*
     * AUTH and SELECT go first, queued before the connection completes;
     * the requests' commands can only follow them.
     */

    if (rd->conf->password.len) {
        ngx_str_set(&argv[0], "AUTH");
        argv[1] = rd->conf->password;

        (void) ngx_http_intercom_oauth_redis_send(ac,
                                     ngx_http_intercom_oauth_redis_setup_reply,
                                     (void *) "AUTH", 2, argv);
    }

    if (rd->conf->db) {
        ngx_str_set(&argv[0], "SELECT");
        argv[1].data = db;
        argv[1].len = ngx_sprintf(db, "%ui", rd->conf->db) - db;

        (void) ngx_http_intercom_oauth_redis_send(ac,
                                     ngx_http_intercom_oauth_redis_setup_reply,
                                     (void *) "SELECT", 2, argv);
    }

    /* the connect completes when the socket becomes writable */
    ngx_http_intercom_oauth_redis_add_write(c);

    ngx_add_timer(&rd->connect_timer, rd->conf->connect_timeout);
}


static void
ngx_http_intercom_oauth_redis_schedule(void)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->exiting || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (rd->reconnect.timer_set) {
        return;
    }

    ngx_add_timer(&rd->reconnect, rd->backoff);

    rd->backoff *= 2;

    if (rd->backoff > NGX_HTTP_INTERCOM_OAUTH_REDIS_BACKOFF_MAX) {
        rd->backoff = NGX_HTTP_INTERCOM_OAUTH_REDIS_BACKOFF_MAX;
    }
}


static void
ngx_http_intercom_oauth_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->ac == NULL && !rd->exiting) {
        ngx_http_intercom_oauth_redis_connect();
    }
}


static void
ngx_http_intercom_oauth_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->state != NGX_HTTP_INTERCOM_OAUTH_REDIS_CONNECTING) {
        return;
    }

    if (rd->failures++ == 0) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": connect timed out "
                      "after %M ms; retrying", &rd->conf->url,
                      rd->conf->connect_timeout);
    }

    ngx_http_intercom_oauth_redis_drop(NULL);
}


/*
 * Ends the connection now: every pending command gets NULL, then a new
 * connection is scheduled.  Never called from inside a hiredis callback.
 */

static void
ngx_http_intercom_oauth_redis_drop(const char *why)
{
    redisAsyncContext                *ac;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    ac = rd->ac;

    if (ac == NULL) {
        return;
    }

    if (why) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": %s; reconnecting",
                      &rd->conf->url, why);
        rd->failures++;
    }

    rd->ac = NULL;
    rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    /* calls the pending callbacks and, if it was up, on_disconnect */
    redisAsyncFree(ac);

    ngx_http_intercom_oauth_redis_schedule();
}


static void
ngx_http_intercom_oauth_redis_on_connect(const redisAsyncContext *ac,
    int status)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns */
        if (rd->failures++ == 0) {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "intercom oauth: store \"%V\" cannot be reached: "
                          "%s; retrying", &rd->conf->url, ac->errstr);
        }

        if (rd->ac == ac) {
            rd->ac = NULL;
            rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN;
        }

        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    if (rd->failures) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "intercom oauth: store \"%V\" connected again",
                      &rd->conf->url);

    } else {
        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "intercom oauth: store \"%V\" connected",
                      &rd->conf->url);
    }

    rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_READY;
    rd->failures = 0;
    rd->backoff = NGX_HTTP_INTERCOM_OAUTH_REDIS_BACKOFF_MIN;
}


static void
ngx_http_intercom_oauth_redis_on_disconnect(const redisAsyncContext *ac,
    int status)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->ac == ac && rd->unasked) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": a reply that no "
                      "command asked for (a protocol error); reconnecting",
                      &rd->conf->url);
        rd->ac = NULL;
        rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN;
        rd->failures++;

    } else if (rd->ac == ac) {
        /* lost by hiredis itself: Redis closed it or a read failed */
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": connection lost%s%s; "
                      "reconnecting", &rd->conf->url,
                      ac->errstr[0] ? ": " : "", ac->errstr);
        rd->ac = NULL;
        rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN;
        rd->failures++;
    }

    ngx_http_intercom_oauth_redis_schedule();
}


/* AUTH or SELECT: a refusal is a configuration error, logged every time */

static void
ngx_http_intercom_oauth_redis_setup_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                       *rr = reply;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rr == NULL || rr->type != REDIS_REPLY_ERROR) {
        return;
    }

    /* the error text names the problem, never the password */
    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "intercom oauth: store \"%V\" refused %s: %*s",
                  &rd->conf->url, (char *) privdata,
                  (size_t) ngx_min(rr->len, 200), rr->str);

    if (rd->ac == ac) {
        rd->ac = NULL;
        rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN;
        rd->failures++;
        redisAsyncDisconnect(ac);
    }
}


static void
ngx_http_intercom_oauth_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    void                                      *data;
    ngx_http_intercom_oauth_redis_cmd_t       *cmd = privdata;
    ngx_http_intercom_oauth_redis_handler_pt   handler;

    if (cmd->timer.timer_set) {
        ngx_del_timer(&cmd->timer);
    }

    handler = cmd->handler;
    data = cmd->data;

    ngx_free(cmd);

    if (handler) {
        handler(data, reply, reply ? NULL : "connection lost");
    }
}


static void
ngx_http_intercom_oauth_redis_command_timeout(ngx_event_t *ev)
{
    void                                      *data;
    ngx_http_intercom_oauth_redis_cmd_t       *cmd = ev->data;
    ngx_http_intercom_oauth_redis_handler_pt   handler;

    handler = cmd->handler;
    data = cmd->data;

    /* the reply, if it ever comes, frees the command */
    cmd->handler = NULL;
    cmd->data = NULL;

    if (handler) {
        handler(data, NULL, "timed out");
    }

    ngx_http_intercom_oauth_redis_drop("a command timed out "
                                       "(intercom_oauth_store_timeout)");
}


static void
ngx_http_intercom_oauth_redis_event_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    if (ev->write) {
        redisAsyncHandleWrite(c->data);

    } else {
        redisAsyncHandleRead(c->data);
    }
}


static void
ngx_http_intercom_oauth_redis_add_read(void *privdata)
{
    ngx_http_intercom_oauth_redis_watch(privdata, 0, 1);
}


static void
ngx_http_intercom_oauth_redis_del_read(void *privdata)
{
    ngx_http_intercom_oauth_redis_watch(privdata, 0, 0);
}


static void
ngx_http_intercom_oauth_redis_add_write(void *privdata)
{
    ngx_http_intercom_oauth_redis_watch(privdata, 1, 1);
}


static void
ngx_http_intercom_oauth_redis_del_write(void *privdata)
{
    ngx_http_intercom_oauth_redis_watch(privdata, 1, 0);
}


static void
ngx_http_intercom_oauth_redis_watch(ngx_connection_t *c, ngx_uint_t write,
    ngx_uint_t on)
{
    if (ngx_http_intercom_oauth_socket_watch(c, write, on) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                      "intercom oauth: store: cannot watch the connection");
    }
}


/* hiredis is about to close the descriptor: give the connection back */

static void
ngx_http_intercom_oauth_redis_cleanup(void *privdata)
{
    ngx_connection_t                 *c = privdata;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    ngx_http_intercom_oauth_socket_release(c, 1);

    if (rd->conn == c) {
        rd->conn = NULL;
    }
}


/* every command goes through here, so that its reply is counted as owed */

static int
ngx_http_intercom_oauth_redis_send(redisAsyncContext *ac, redisCallbackFn *fn,
    void *privdata, ngx_uint_t argc, ngx_str_t *argv)
{
    int           rc;
    size_t       *argvlen;
    ngx_uint_t    i;
    const char  **args;
    size_t        lens[NGX_HTTP_INTERCOM_OAUTH_REDIS_MAX_ARGS];
    const char   *ptrs[NGX_HTTP_INTERCOM_OAUTH_REDIS_MAX_ARGS];

    args = ptrs;
    argvlen = lens;

    /* a token write that also deletes a replaced session's tokens */
    if (argc > NGX_HTTP_INTERCOM_OAUTH_REDIS_MAX_ARGS) {
        args = ngx_alloc(argc * (sizeof(char *) + sizeof(size_t)),
                         ngx_cycle->log);
        if (args == NULL) {
            return REDIS_ERR;
        }

        argvlen = (size_t *) (args + argc);
    }

    for (i = 0; i < argc; i++) {
        args[i] = (const char *) argv[i].data;
        argvlen[i] = argv[i].len;
    }

    /* hiredis copies the arguments into its output buffer */
    rc = redisAsyncCommandArgv(ac, fn, privdata, (int) argc, args, argvlen);

    if (args != ptrs) {
        ngx_free(args);
    }

    if (rc == REDIS_OK && ac == ngx_http_intercom_oauth_redis.ac) {
        ngx_http_intercom_oauth_redis.expected++;
    }

    return rc;
}


/* a top-level reply begins: NGX_OK if a command waits for it */

static ngx_int_t
ngx_http_intercom_oauth_redis_owed(const redisReadTask *task)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (task->parent != NULL) {
        return NGX_OK;
    }

    if (rd->expected == 0) {
        rd->unasked = 1;
        return NGX_ERROR;
    }

    rd->expected--;

    return NGX_OK;
}


static void *
ngx_http_intercom_oauth_redis_string(const redisReadTask *task, char *str,
    size_t len)
{
    if (ngx_http_intercom_oauth_redis_owed(task) != NGX_OK) {
        return NULL;
    }

    return ngx_http_intercom_oauth_redis.reply_fn->createString(task, str,
                                                                 len);
}


static void *
ngx_http_intercom_oauth_redis_array(const redisReadTask *task, int elements)
{
    if (ngx_http_intercom_oauth_redis_owed(task) != NGX_OK) {
        return NULL;
    }

    return ngx_http_intercom_oauth_redis.reply_fn->createArray(task,
                                                                elements);
}


static void *
ngx_http_intercom_oauth_redis_integer(const redisReadTask *task,
    long long value)
{
    if (ngx_http_intercom_oauth_redis_owed(task) != NGX_OK) {
        return NULL;
    }

    return ngx_http_intercom_oauth_redis.reply_fn->createInteger(task, value);
}


static void *
ngx_http_intercom_oauth_redis_nil(const redisReadTask *task)
{
    if (ngx_http_intercom_oauth_redis_owed(task) != NGX_OK) {
        return NULL;
    }

    return ngx_http_intercom_oauth_redis.reply_fn->createNil(task);
}


static void
ngx_http_intercom_oauth_redis_free(void *reply)
{
    ngx_http_intercom_oauth_redis.reply_fn->freeObject(reply);
}
