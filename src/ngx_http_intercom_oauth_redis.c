/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The worker's Redis connection: an nginx peer connection
 * (ngx_event_connect_peer), as nginx's upstream modules make theirs, with
 * nginx's timers.  hiredis only writes and reads RESP here
 * (redisFormatCommandArgv, redisReader): it never sees the socket, so it
 * can neither resolve a name nor block.
 *
 * Replies come back in the order the commands were sent: the commands wait
 * in one queue, and the next reply is the oldest command's.  A reply that
 * no command waits for is a protocol error: the connection is made again.
 *
 * A command that times out ends the connection (a Redis that is this slow
 * is treated as gone), which hands every other pending command NULL at once
 * instead of letting each wait its own timeout.  A lost connection is made
 * again with exponential back-off.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_redis.h"


#define NGX_HTTP_INTERCOM_OAUTH_REDIS_SCHEMES                                 \
    "redis://HOST[:PORT][/DB], rediss://HOST[:PORT][/DB], "                   \
    "sentinel://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB], "                     \
    "sentinels://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB] or unix:PATH"


typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN = 0,
    NGX_HTTP_INTERCOM_OAUTH_REDIS_CONNECTING,
    NGX_HTTP_INTERCOM_OAUTH_REDIS_ASKING,      /* a sentinel, for the primary */
    NGX_HTTP_INTERCOM_OAUTH_REDIS_READY
} ngx_http_intercom_oauth_redis_state_e;


struct ngx_http_intercom_oauth_redis_cmd_s {
    ngx_queue_t                                queue;
    ngx_event_t                                timer;
    ngx_http_intercom_oauth_redis_handler_pt   handler;  /* NULL: nobody */
    void                                      *data;
};


typedef struct {
    ngx_http_intercom_oauth_store_conf_t  *conf;
    ngx_peer_connection_t                  peer;
    ngx_connection_t                      *conn;
    redisReader                           *reader;
    ngx_queue_t                            cmds;      /* sent, in order */
    u_char                                *out;       /* formatted, unsent */
    size_t                                 out_sent;
    size_t                                 out_len;
    size_t                                 out_size;
    ngx_uint_t                             state;
    ngx_uint_t                             generation;  /* connections */
    ngx_uint_t                             attempts;
    ngx_uint_t                             setup;     /* AUTH, SELECT owed */
    ngx_resolver_ctx_t                    *resolving;
    ngx_sockaddr_t                         resolved;  /* this attempt's */
    socklen_t                              resolved_len;
    ngx_uint_t                             sentinel;  /* the one asked */
    ngx_str_t                              verify;    /* the certificate's
                                                         name, NUL-ended */
    char                                  *tls;       /* for the log */
    ngx_msec_t                             backoff;
    ngx_uint_t                             failures;  /* since last up */
    ngx_event_t                            reconnect;
    ngx_event_t                            connect_timer;
    ngx_log_t                             *log;
    ngx_log_t                              quiet;     /* for connect() */
#if (NGX_SSL)
    ngx_ssl_session_t                    **sessions;  /* to resume: the
                                                         store's, then each
                                                         sentinel's */
    ngx_uint_t                             nsessions;
#endif
    unsigned                               exiting:1;
    unsigned                               refused:1;  /* AUTH, logged */
    unsigned                               asking:1;   /* a sentinel */
    u_char                                 where[NGX_SOCKADDR_STRLEN + 16];
    u_char                                 primary[NGX_SOCKADDR_STRLEN + 1];
} ngx_http_intercom_oauth_redis_t;


static void ngx_http_intercom_oauth_redis_connect(void);
static void ngx_http_intercom_oauth_redis_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_intercom_oauth_redis_connect_peer(
    struct sockaddr *sockaddr, socklen_t socklen);
static ngx_int_t ngx_http_intercom_oauth_redis_resolve_conf(ngx_conf_t *cf,
    ngx_http_intercom_oauth_store_conf_t *sc);
static char *ngx_http_intercom_oauth_redis_sentinel_url(ngx_conf_t *cf,
    ngx_http_intercom_oauth_store_conf_t *sc, ngx_str_t *url, size_t skip);
static ngx_int_t ngx_http_intercom_oauth_redis_tls_name(ngx_pool_t *pool,
    ngx_str_t *host, ngx_str_t *name);
static ngx_int_t ngx_http_intercom_oauth_redis_is_addr(ngx_str_t *name);
static void ngx_http_intercom_oauth_redis_auth(ngx_str_t *user,
    ngx_str_t *password);
static void ngx_http_intercom_oauth_redis_teardown(const char *why,
    ngx_uint_t schedule);
static void ngx_http_intercom_oauth_redis_sentinel_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_redis_role_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_redis_schedule(void);
static void ngx_http_intercom_oauth_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_intercom_oauth_redis_close(const char *why);
static void ngx_http_intercom_oauth_redis_unreachable(ngx_err_t err);
static ngx_int_t ngx_http_intercom_oauth_redis_test_connect(
    ngx_connection_t *c);
static void ngx_http_intercom_oauth_redis_connected(ngx_connection_t *c);
static void ngx_http_intercom_oauth_redis_up(ngx_connection_t *c);
static void ngx_http_intercom_oauth_redis_healthy(void);
#if (NGX_SSL)
static void ngx_http_intercom_oauth_redis_ssl_handshake(ngx_connection_t *c);
static void ngx_http_intercom_oauth_redis_ssl_handshaked(ngx_connection_t *c);
static void ngx_http_intercom_oauth_redis_ssl_save_session(
    ngx_connection_t *c);
static ngx_int_t ngx_http_intercom_oauth_redis_ssl_check_name(
    ngx_connection_t *c, ngx_str_t *name);
#endif
static void ngx_http_intercom_oauth_redis_read_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_redis_write_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_redis_flush(void);
static ngx_int_t ngx_http_intercom_oauth_redis_replies(void);
static ngx_uint_t ngx_http_intercom_oauth_redis_readonly(redisReply *reply);
static void ngx_http_intercom_oauth_redis_setup_reply(void *data,
    redisReply *reply, const char *why);
static void ngx_http_intercom_oauth_redis_refused(const char *command,
    redisReply *reply);
static void ngx_http_intercom_oauth_redis_command_timeout(ngx_event_t *ev);
static ngx_http_intercom_oauth_redis_cmd_t *ngx_http_intercom_oauth_redis_send(
    ngx_http_intercom_oauth_redis_handler_pt handler, void *data,
    ngx_uint_t argc, ngx_str_t *argv);
static int ngx_http_intercom_oauth_redis_format(char **buf, ngx_uint_t argc,
    ngx_str_t *argv);
static ngx_int_t ngx_http_intercom_oauth_redis_append(const char *buf,
    size_t len);


/* one per worker: a worker is one thread */
static ngx_http_intercom_oauth_redis_t  ngx_http_intercom_oauth_redis;


/*
 * intercom_oauth_store redis[s]://HOST[:PORT][/DB] | unix:PATH.  A host name
 * is resolved here, once, as nginx resolves an upstream server's name.
 */

char *
ngx_http_intercom_oauth_redis_url(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf = conf;

    u_char                                *p, *last, *slash;
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

    ngx_memzero(&u, sizeof(ngx_url_t));

    if (value[1].len > 5
        && ngx_strncmp(value[1].data, "unix:", 5) == 0)
    {
        u.url = value[1];
        goto parse;
    }

    if (value[1].len > 11
        && ngx_strncasecmp(value[1].data, (u_char *) "sentinel://", 11) == 0)
    {
        return ngx_http_intercom_oauth_redis_sentinel_url(cf, sc, &value[1],
                                                          11);
    }

    /* TLS to the sentinels and to the primary, as rediss:// to Redis */
    if (value[1].len > 12
        && ngx_strncasecmp(value[1].data, (u_char *) "sentinels://", 12) == 0)
    {
        sc->tls = 1;
        return ngx_http_intercom_oauth_redis_sentinel_url(cf, sc, &value[1],
                                                          12);
    }

    if (value[1].len > 9
        && ngx_strncasecmp(value[1].data, (u_char *) "rediss://", 9) == 0)
    {
        sc->tls = 1;
        p = value[1].data + 9;

    } else if (value[1].len > 8
               && ngx_strncasecmp(value[1].data, (u_char *) "redis://", 8)
                  == 0)
    {
        p = value[1].data + 8;

    } else {
        goto invalid;
    }

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

    u.url.data = p;
    u.url.len = last - p;
    u.default_port = 6379;

    /* resolved once the "resolver" directive is known: init_conf */
    u.no_resolve = 1;

    if (u.url.len == 0) {
        goto invalid;
    }

parse:

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_store\" \"%V\": %s",
                               &value[1], u.err);
            return NGX_CONF_ERROR;
        }

        goto invalid;
    }

    if (u.naddrs == 0 && u.host.len == 0) {
        goto invalid;
    }

    sc->addrs = u.addrs;
    sc->naddrs = u.naddrs;
    sc->port = u.port ? u.port : 6379;

    if (ngx_http_intercom_oauth_redis_tls_name(cf->pool, &u.host, &sc->host)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"intercom_oauth_store\" takes "
                       NGX_HTTP_INTERCOM_OAUTH_REDIS_SCHEMES ", not \"%V\"",
                       &value[1]);

    return NGX_CONF_ERROR;
}


/*
 * sentinel[s]://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB]: the sentinels'
 * addresses are resolved here, once, as an upstream server's name (the
 * "resolver" does not apply to them); the primary is asked for at every
 * connect.  Each address keeps its name: over TLS, a sentinel's
 * certificate must carry the name it was configured by.
 */

static char *
ngx_http_intercom_oauth_redis_sentinel_url(ngx_conf_t *cf,
    ngx_http_intercom_oauth_store_conf_t *sc, ngx_str_t *url, size_t skip)
{
    u_char      *p, *last, *slash, *comma, *name;
    ngx_int_t    db;
    ngx_str_t   *host, tls;
    ngx_uint_t   i;
    ngx_url_t    u;
    ngx_addr_t  *addr;

    p = url->data + skip;
    last = url->data + url->len;

    if (ngx_strlchr(p, last, '@')) {
        goto invalid;
    }

    slash = ngx_strlchr(p, last, '/');
    if (slash == NULL || slash == p || slash + 1 == last) {
        goto invalid;
    }

    name = slash + 1;
    slash = ngx_strlchr(name, last, '/');

    if (slash) {
        if (slash + 1 < last) {
            db = ngx_atoi(slash + 1, last - slash - 1);
            if (db == NGX_ERROR || db > 0x7fffffff) {
                goto invalid;
            }

            sc->db = db;
        }

        last = slash;
    }

    if (last == name) {
        goto invalid;
    }

    sc->sentinel_name.data = name;
    sc->sentinel_name.len = last - name;

    sc->sentinels = ngx_array_create(cf->pool, 3, sizeof(ngx_addr_t));
    sc->sentinel_hosts = ngx_array_create(cf->pool, 3, sizeof(ngx_str_t));
    if (sc->sentinels == NULL || sc->sentinel_hosts == NULL) {
        return NGX_CONF_ERROR;
    }

    last = name - 1;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url.data = p;
        u.url.len = comma - p;
        u.default_port = 26379;

        if (u.url.len == 0 || ngx_parse_url(cf->pool, &u) != NGX_OK
            || u.naddrs == 0)
        {
            if (u.err) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"intercom_oauth_store\" \"%V\": %s",
                                   url, u.err);
                return NGX_CONF_ERROR;
            }

            goto invalid;
        }

        if (ngx_http_intercom_oauth_redis_tls_name(cf->pool, &u.host, &tls)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < u.naddrs; i++) {
            addr = ngx_array_push(sc->sentinels);
            host = ngx_array_push(sc->sentinel_hosts);
            if (addr == NULL || host == NULL) {
                return NGX_CONF_ERROR;
            }

            *addr = u.addrs[i];
            *host = tls;
        }

        p = comma + 1;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"intercom_oauth_store\" takes "
                       NGX_HTTP_INTERCOM_OAUTH_REDIS_SCHEMES ", not \"%V\"",
                       url);

    return NGX_CONF_ERROR;
}


/*
 * With nginx's "resolver" at the http level, a host name is resolved with
 * it at every connect, so that the store follows a name moved on failover;
 * without one, here, once, as nginx resolves an upstream server's name.
 */

static ngx_int_t
ngx_http_intercom_oauth_redis_resolve_conf(ngx_conf_t *cf,
    ngx_http_intercom_oauth_store_conf_t *sc)
{
    ngx_url_t                  u;
    ngx_http_core_loc_conf_t  *clcf;

    if (sc->naddrs || sc->sentinels) {
        /* unix:PATH, or sentinels resolved already */
        return NGX_OK;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->resolver && clcf->resolver->connections.nelts
        && !ngx_http_intercom_oauth_redis_is_addr(&sc->host))
    {
        sc->resolver = clcf->resolver;
        sc->resolver_timeout = clcf->resolver_timeout == NGX_CONF_UNSET_MSEC
                               ? 30000 : clcf->resolver_timeout;
        return NGX_OK;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = sc->host;
    u.host = sc->host;
    u.port = sc->port;

    if (ngx_inet_resolve_host(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store\" \"%V\": %s",
                           &sc->url, u.err ? u.err : "host not found");
        return NGX_ERROR;
    }

    sc->addrs = u.addrs;
    sc->naddrs = u.naddrs;

    return NGX_OK;
}


char *
ngx_http_intercom_oauth_redis_init_conf(ngx_conf_t *cf,
    ngx_http_intercom_oauth_store_conf_t *sc)
{
#if (NGX_SSL)
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;
#endif

    if (ngx_http_intercom_oauth_redis_resolve_conf(cf, sc) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (sc->user.len && sc->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store_user\" needs "
                           "\"intercom_oauth_store_password\"");
        return NGX_CONF_ERROR;
    }

    if (sc->sentinel_user.len && sc->sentinel_password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store_sentinel_user\" needs "
                           "\"intercom_oauth_store_sentinel_password\"");
        return NGX_CONF_ERROR;
    }

    if (sc->sentinels == NULL && sc->sentinel_password.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store_sentinel_password\" "
                           "needs \"intercom_oauth_store sentinel://\" "
                           "or \"sentinels://\", not \"%V\"", &sc->url);
        return NGX_CONF_ERROR;
    }

    if (!sc->tls) {
        if (sc->ca_file.len || sc->certificate.len
            || sc->certificate_key.len || sc->server_name.len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_store_ca_file\", "
                               "\"intercom_oauth_store_certificate\" and "
                               "\"intercom_oauth_store_server_name\" need "
                               "\"intercom_oauth_store rediss://\" or "
                               "\"sentinels://\"");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if ((sc->certificate.len == 0) != (sc->certificate_key.len == 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store_certificate\" and "
                           "\"intercom_oauth_store_certificate_key\" go "
                           "together");
        return NGX_CONF_ERROR;
    }

#if (NGX_SSL)

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NGX_CONF_ERROR;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (sc->certificate.len
        && ngx_ssl_certificate(cf, ssl, &sc->certificate,
                               &sc->certificate_key, NULL)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /*
     * The peer's certificate is always verified, after the handshake, as
     * nginx's upstream does: against the CA file, or the system's store.
     */

    if (sc->ca_file.len) {
        if (ngx_ssl_trusted_certificate(cf, ssl, &sc->ca_file, 10)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else if (SSL_CTX_set_default_verify_paths(ssl->ctx) != 1) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"intercom_oauth_store\": the system's CA store "
                      "cannot be read");
        return NGX_CONF_ERROR;
    }

    /* a reconnect resumes the last session: one round trip, no new keys */
    if (ngx_ssl_client_session_cache(cf, ssl, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    sc->ssl = ssl;

    return NGX_CONF_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"intercom_oauth_store rediss://\" needs nginx "
                       "built with OpenSSL");
    return NGX_CONF_ERROR;

#endif
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

    ngx_queue_init(&rd->cmds);

    /*
     * ngx_event_connect_peer() logs every refused connect(); a Redis that
     * stays away would fill the log at each retry.  The module logs the
     * first failure itself, once.
     */
    rd->quiet = *cycle->log;
    rd->quiet.log_level = NGX_LOG_EMERG;

    rd->reconnect.handler = ngx_http_intercom_oauth_redis_reconnect_handler;
    rd->reconnect.log = cycle->log;
    rd->reconnect.data = rd;
    rd->reconnect.cancelable = 1;

    rd->connect_timer.handler = ngx_http_intercom_oauth_redis_connect_timeout;
    rd->connect_timer.log = cycle->log;
    rd->connect_timer.data = rd;
    rd->connect_timer.cancelable = 1;

#if (NGX_SSL)

    if (conf->ssl) {
        /* a session per server: the store's (or primary's), each sentinel's */
        rd->nsessions = 1 + (conf->sentinels ? conf->sentinels->nelts : 0);
        rd->sessions = ngx_calloc(rd->nsessions * sizeof(ngx_ssl_session_t *),
                                  cycle->log);
        if (rd->sessions == NULL) {
            return NGX_ERROR;
        }
    }

#endif

    ngx_http_intercom_oauth_redis_connect();

    return NGX_OK;
}


void
ngx_http_intercom_oauth_redis_exit_process(ngx_cycle_t *cycle)
{
#if (NGX_SSL)
    ngx_uint_t                        i;
#endif
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->conf == NULL) {
        return;
    }

    rd->exiting = 1;

    if (rd->reconnect.timer_set) {
        ngx_del_timer(&rd->reconnect);
    }

    if (rd->resolving) {
        ngx_resolve_name_done(rd->resolving);
        rd->resolving = NULL;
    }

    ngx_http_intercom_oauth_redis_close(NULL);

    if (rd->out) {
        ngx_free(rd->out);
        rd->out = NULL;
    }

#if (NGX_SSL)

    if (rd->sessions) {
        for (i = 0; i < rd->nsessions; i++) {
            if (rd->sessions[i]) {
                ngx_ssl_free_session(rd->sessions[i]);
            }
        }

        ngx_free(rd->sessions);
        rd->sessions = NULL;
    }

#endif
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
    return ngx_http_intercom_oauth_redis_command_extra(handler, data, argc,
                                                       argv, 0);
}


ngx_http_intercom_oauth_redis_cmd_t *
ngx_http_intercom_oauth_redis_command_extra(
    ngx_http_intercom_oauth_redis_handler_pt handler, void *data,
    ngx_uint_t argc, ngx_str_t *argv, ngx_msec_t extra)
{
    ngx_connection_t                     *c;
    ngx_http_intercom_oauth_redis_cmd_t  *cmd;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->state != NGX_HTTP_INTERCOM_OAUTH_REDIS_READY) {
        return NULL;
    }

    c = rd->conn;

    /*
     * Sent from the write handler, posted: a write that fails here would
     * call this command's handler before its caller has the command.
     */
    if (c->write->ready && !c->write->posted) {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    cmd = ngx_http_intercom_oauth_redis_send(handler, data, argc, argv);

    if (cmd && extra) {
        ngx_add_timer(&cmd->timer, rd->conf->timeout + extra);
    }

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
    ngx_str_t                        *host;
    ngx_addr_t                       *addr;
    ngx_resolver_ctx_t               *ctx;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->conf->sentinels) {
        /* the next sentinel at each attempt: one may be down */
        rd->sentinel = rd->attempts++ % rd->conf->sentinels->nelts;

        addr = rd->conf->sentinels->elts;
        addr = &addr[rd->sentinel];
        host = rd->conf->sentinel_hosts->elts;

        /* over TLS, its certificate must carry the configured name */
        rd->verify = host[rd->sentinel];

        /* the log names which sentinel said what */
        *ngx_snprintf(rd->where, sizeof(rd->where) - 1, " (sentinel %V)",
                      &addr->name) = '\0';

        rd->asking = 1;
        ngx_http_intercom_oauth_redis_connect_peer(addr->sockaddr,
                                                   addr->socklen);
        return;
    }

    if (rd->conf->resolver == NULL) {
        ngx_http_intercom_oauth_redis_connect_peer(NULL, 0);
        return;
    }

    if (rd->resolving) {
        return;
    }

    ctx = ngx_resolve_start(rd->conf->resolver, NULL);

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": cannot start "
                      "resolving \"%V\"; retrying",
                      &rd->conf->url, &rd->conf->host);
        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    ctx->name = rd->conf->host;
    ctx->handler = ngx_http_intercom_oauth_redis_resolved;
    ctx->data = rd;
    ctx->timeout = rd->conf->resolver_timeout;
    ctx->cancelable = 1;

    rd->resolving = ctx;

    if (ngx_resolve_name(ctx) != NGX_OK) {
        /* the context is freed by the resolver */
        rd->resolving = NULL;
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": cannot resolve "
                      "\"%V\"; retrying", &rd->conf->url, &rd->conf->host);
        ngx_http_intercom_oauth_redis_schedule();
    }
}


static void
ngx_http_intercom_oauth_redis_resolved(ngx_resolver_ctx_t *ctx)
{
    ngx_uint_t                        i;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    rd->resolving = NULL;

    if (ctx->state || ctx->naddrs == 0) {
        if (rd->failures++ == 0) {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "intercom oauth: store \"%V\": \"%V\" could not "
                          "be resolved (%i: %s); retrying", &rd->conf->url,
                          &ctx->name, ctx->state,
                          ngx_resolver_strerror(ctx->state));
        }

        ngx_resolve_name_done(ctx);
        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    /* a name with several addresses: the next one at each attempt */
    i = rd->attempts++ % ctx->naddrs;

    ngx_memcpy(&rd->resolved, ctx->addrs[i].sockaddr, ctx->addrs[i].socklen);
    rd->resolved_len = ctx->addrs[i].socklen;

    ngx_resolve_name_done(ctx);

    ngx_inet_set_port(&rd->resolved.sockaddr, rd->conf->port);

    if (rd->exiting) {
        return;
    }

    ngx_http_intercom_oauth_redis_connect_peer(&rd->resolved.sockaddr,
                                               rd->resolved_len);
}


static void
ngx_http_intercom_oauth_redis_connect_peer(struct sockaddr *sockaddr,
    socklen_t socklen)
{
    ngx_int_t                         rc;
    ngx_err_t                         err;
    ngx_str_t                         argv[3];
    ngx_addr_t                       *addr;
    ngx_pool_t                       *pool;
    ngx_connection_t                 *c;
    ngx_peer_connection_t            *pc;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;
    u_char                            db[NGX_INT_T_LEN];

    pc = &rd->peer;
    ngx_memzero(pc, sizeof(ngx_peer_connection_t));

    if (sockaddr) {
        pc->sockaddr = sockaddr;
        pc->socklen = socklen;

    } else {
        /* a name with several addresses: the next one at each attempt */
        addr = &rd->conf->addrs[rd->attempts++ % rd->conf->naddrs];

        pc->sockaddr = addr->sockaddr;
        pc->socklen = addr->socklen;
    }
    pc->name = &rd->conf->url;
    pc->get = ngx_event_get_peer;
    pc->log = &rd->quiet;
    pc->log_error = NGX_ERROR_ERR;
    pc->tries = 1;

    rc = ngx_event_connect_peer(pc);
    err = ngx_socket_errno;

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_intercom_oauth_redis_unreachable(rc == NGX_DECLINED ? err
                                                                     : 0);

        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    c = pc->connection;

    pool = ngx_create_pool(512, rd->log);
    if (pool == NULL) {
        ngx_close_connection(c);
        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    c->pool = pool;
    c->log = rd->log;
    c->read->log = rd->log;
    c->write->log = rd->log;
    c->log_error = NGX_ERROR_INFO;
    c->data = rd;
    c->read->handler = ngx_http_intercom_oauth_redis_read_handler;
    c->write->handler = ngx_http_intercom_oauth_redis_write_handler;

    rd->reader = redisReaderCreate();
    if (rd->reader == NULL) {
        ngx_close_connection(c);
        ngx_destroy_pool(pool);
        ngx_http_intercom_oauth_redis_schedule();
        return;
    }

    rd->conn = c;
    rd->generation++;
    rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_CONNECTING;
    rd->out_sent = 0;
    rd->out_len = 0;
    rd->setup = 0;

    ngx_add_timer(&rd->connect_timer, rd->conf->connect_timeout);

    if (rd->asking) {
        /* a sentinel's own password (requirepass, or a sentinel ACL user) */
        ngx_http_intercom_oauth_redis_auth(&rd->conf->sentinel_user,
                                           &rd->conf->sentinel_password);

        ngx_str_set(&argv[0], "SENTINEL");
        ngx_str_set(&argv[1], "get-master-addr-by-name");
        argv[2] = rd->conf->sentinel_name;

        (void) ngx_http_intercom_oauth_redis_send(
                                  ngx_http_intercom_oauth_redis_sentinel_reply,
                                  NULL, 3, argv);
        goto connect;
    }

    if (rd->conf->sentinels) {
        /*
         * The primary: sentinels announce addresses, so its certificate
         * carries that address, or intercom_oauth_store_server_name (the
         * name every node's certificate carries, as proxy_ssl_name).
         */
        rd->verify.len = ngx_sock_ntop(pc->sockaddr, pc->socklen,
                                       rd->primary, NGX_SOCKADDR_STRLEN, 0);
        rd->verify.data = rd->primary;
        rd->primary[rd->verify.len] = '\0';

    } else {
        rd->verify = rd->conf->host;
    }

    if (rd->conf->server_name.len) {
        rd->verify = rd->conf->server_name;
    }

    /*
     * AUTH and SELECT go first, queued before the connection completes;
     * the requests' commands can only follow them.
     */

    ngx_http_intercom_oauth_redis_auth(&rd->conf->user, &rd->conf->password);

    if (rd->conf->db) {
        ngx_str_set(&argv[0], "SELECT");
        argv[1].data = db;
        argv[1].len = ngx_sprintf(db, "%ui", rd->conf->db) - db;

        (void) ngx_http_intercom_oauth_redis_send(
                                     ngx_http_intercom_oauth_redis_setup_reply,
                                     (void *) "SELECT", 2, argv);
        rd->setup++;
    }

    if (rd->conf->sentinels) {
        /* the sentinels' answer may be stale: never write to a replica */
        ngx_str_set(&argv[0], "ROLE");

        (void) ngx_http_intercom_oauth_redis_send(
                                     ngx_http_intercom_oauth_redis_role_reply,
                                     NULL, 1, argv);
        rd->setup++;
    }

connect:

    if (rc == NGX_OK) {
        /* a unix socket connects at once */
        ngx_http_intercom_oauth_redis_connected(c);
    }

    /* NGX_AGAIN: the write handler sees the connect complete */
}


/* AUTH [user] password, queued first, when a password is configured */

static void
ngx_http_intercom_oauth_redis_auth(ngx_str_t *user, ngx_str_t *password)
{
    ngx_str_t                         argv[3];
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (password->len == 0) {
        return;
    }

    ngx_str_set(&argv[0], "AUTH");

    if (user->len) {
        /* Redis 6 ACLs: AUTH user password */
        argv[1] = *user;
        argv[2] = *password;

    } else {
        argv[1] = *password;
    }

    (void) ngx_http_intercom_oauth_redis_send(
                                     ngx_http_intercom_oauth_redis_setup_reply,
                                     (void *) "AUTH", user->len ? 3 : 2, argv);
    rd->setup++;
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

    if (rd->conn == NULL && rd->resolving == NULL && !rd->exiting) {
        ngx_http_intercom_oauth_redis_connect();
    }
}


static void
ngx_http_intercom_oauth_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->state != NGX_HTTP_INTERCOM_OAUTH_REDIS_CONNECTING
        && rd->state != NGX_HTTP_INTERCOM_OAUTH_REDIS_ASKING)
    {
        return;
    }

    if (rd->failures++ == 0) {
#if (NGX_SSL)
        if (rd->conn && rd->conn->ssl) {
            /* a plain port reads a ClientHello as a command, and waits */
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "intercom oauth: store \"%V\"%s: the TLS "
                          "handshake did not complete in %M ms (is it a TLS "
                          "port?); retrying", &rd->conf->url, rd->where,
                          rd->conf->connect_timeout);
        } else
#endif
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\"%s: connect timed out "
                      "after %M ms; retrying", &rd->conf->url, rd->where,
                      rd->conf->connect_timeout);
    }

    ngx_http_intercom_oauth_redis_close(NULL);
}


/*
 * Ends the connection now: every pending command gets NULL, then a new
 * connection is scheduled.  "why", when given, is logged.
 */

static void
ngx_http_intercom_oauth_redis_close(const char *why)
{
    ngx_http_intercom_oauth_redis_teardown(why, 1);
}


static void
ngx_http_intercom_oauth_redis_teardown(const char *why, ngx_uint_t schedule)
{
    ngx_pool_t                           *pool;
    ngx_queue_t                           cmds, *q;
    ngx_connection_t                     *c;
    ngx_http_intercom_oauth_redis_t      *rd = &ngx_http_intercom_oauth_redis;
    ngx_http_intercom_oauth_redis_cmd_t  *cmd;

    c = rd->conn;

    if (c == NULL) {
        return;
    }

    if (why) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\"%s: %s; reconnecting",
                      &rd->conf->url, rd->where, why);
        rd->failures++;
    }

    rd->conn = NULL;
    rd->state = NGX_HTTP_INTERCOM_OAUTH_REDIS_DOWN;
    rd->asking = 0;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

#if (NGX_SSL)

    if (c->ssl) {
        /* a connection given up on: no close_notify to wait for */
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }

#endif

    pool = c->pool;
    ngx_close_connection(c);
    ngx_destroy_pool(pool);

    redisReaderFree(rd->reader);
    rd->reader = NULL;

    /* what was not sent may hold the AUTH password */
    if (rd->out) {
        ngx_explicit_memzero(rd->out, rd->out_len);
    }

    rd->out_sent = 0;
    rd->out_len = 0;

    if (schedule) {
        ngx_http_intercom_oauth_redis_schedule();
    }

    /* handlers may send again: they find the connection down */

    ngx_queue_init(&cmds);

    if (!ngx_queue_empty(&rd->cmds)) {
        cmds = rd->cmds;
        cmds.next->prev = &cmds;
        cmds.prev->next = &cmds;
        ngx_queue_init(&rd->cmds);
    }

    while (!ngx_queue_empty(&cmds)) {
        q = ngx_queue_head(&cmds);
        ngx_queue_remove(q);

        cmd = ngx_queue_data(q, ngx_http_intercom_oauth_redis_cmd_t, queue);

        if (cmd->timer.timer_set) {
            ngx_del_timer(&cmd->timer);
        }

        if (cmd->handler) {
            cmd->handler(cmd->data, NULL, "connection lost");
        }

        ngx_free(cmd);
    }
}


/* a connect that failed: logged once until the store is up again */

static void
ngx_http_intercom_oauth_redis_unreachable(ngx_err_t err)
{
    u_char                           *p;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;
    u_char                            text[NGX_MAX_ERROR_STR];

    if (rd->failures++) {
        return;
    }

    p = err ? ngx_strerror(err, text, sizeof(text))
            : ngx_cpymem(text, "cannot connect", 14);

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "intercom oauth: store \"%V\"%s cannot be reached: %*s; "
                  "retrying", &rd->conf->url, rd->where, (size_t) (p - text),
                  text);
}


static ngx_int_t
ngx_http_intercom_oauth_redis_test_connect(ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    /* Solaris returns the error in errno, others in err */
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_http_intercom_oauth_redis_unreachable(err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the TCP (or unix socket) connection is made */

static void
ngx_http_intercom_oauth_redis_connected(ngx_connection_t *c)
{
#if (NGX_SSL)

    if (ngx_http_intercom_oauth_redis.conf->ssl) {
        ngx_http_intercom_oauth_redis_ssl_handshake(c);
        return;
    }

#endif

    ngx_http_intercom_oauth_redis_up(c);
}


#if (NGX_SSL)

static void
ngx_http_intercom_oauth_redis_ssl_handshake(ngx_connection_t *c)
{
    ngx_int_t                         rc;
    ngx_ssl_session_t                *session;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (ngx_ssl_create_connection(rd->conf->ssl, c, NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_http_intercom_oauth_redis_close("TLS cannot start");
        return;
    }

    /* SNI: a name, never an address (RFC 6066) */
    if (!ngx_http_intercom_oauth_redis_is_addr(&rd->verify)
        && SSL_set_tlsext_host_name(c->ssl->connection,
                                    (char *) rd->verify.data)
           != 1)
    {
        ngx_http_intercom_oauth_redis_close("TLS cannot send the name");
        return;
    }

    session = rd->sessions[rd->asking ? 1 + rd->sentinel : 0];

    if (session && ngx_ssl_set_session(c, session) != NGX_OK) {
        ngx_http_intercom_oauth_redis_close("TLS cannot resume");
        return;
    }

    c->ssl->save_session = ngx_http_intercom_oauth_redis_ssl_save_session;

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_intercom_oauth_redis_ssl_handshaked;
        return;
    }

    ngx_http_intercom_oauth_redis_ssl_handshaked(c);
}


/* the certificate and the name are checked here: one log line each */

static void
ngx_http_intercom_oauth_redis_ssl_handshaked(ngx_connection_t *c)
{
    long                              rc;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (c != rd->conn) {
        return;
    }

    if (!c->ssl->handshaked) {
        if (rd->failures++ == 0) {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "intercom oauth: store \"%V\"%s: the TLS "
                          "handshake failed (is it a TLS port?); retrying",
                          &rd->conf->url, rd->where);
        }

        ngx_http_intercom_oauth_redis_close(NULL);
        return;
    }

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        if (rd->failures++ == 0) {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "intercom oauth: store \"%V\"%s: its certificate "
                          "is not trusted (%l: %s); retrying",
                          &rd->conf->url, rd->where, rc,
                          X509_verify_cert_error_string(rc));
        }

        ngx_http_intercom_oauth_redis_close(NULL);
        return;
    }

    if (ngx_http_intercom_oauth_redis_ssl_check_name(c, &rd->verify)
        != NGX_OK)
    {
        if (rd->failures++ == 0) {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "intercom oauth: store \"%V\"%s: its certificate "
                          "is not for \"%V\"; retrying",
                          &rd->conf->url, rd->where, &rd->verify);
        }

        ngx_http_intercom_oauth_redis_close(NULL);
        return;
    }

    c->read->handler = ngx_http_intercom_oauth_redis_read_handler;
    c->write->handler = ngx_http_intercom_oauth_redis_write_handler;

    ngx_http_intercom_oauth_redis_up(c);
}


static void
ngx_http_intercom_oauth_redis_ssl_save_session(ngx_connection_t *c)
{
    ngx_ssl_session_t                *session;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    ngx_ssl_session_t               **slot;

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    slot = &rd->sessions[rd->asking ? 1 + rd->sentinel : 0];

    if (*slot) {
        ngx_ssl_free_session(*slot);
    }

    *slot = session;
}


/*
 * An address is checked against the certificate's IP addresses (what a
 * sentinel announces is one), then as nginx's upstream checks a name
 * (X509_check_host: a DNS entry or the common name spelling the address,
 * as certificates for rediss://10.0.0.5 passed before IP entries were
 * checked); a name only as nginx's upstream checks it.
 */

static ngx_int_t
ngx_http_intercom_oauth_redis_ssl_check_name(ngx_connection_t *c,
    ngx_str_t *name)
{
    int    rc;
    X509  *cert;

    if (!ngx_http_intercom_oauth_redis_is_addr(name)) {
        return ngx_ssl_check_host(c, name);
    }

    cert = SSL_get_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return NGX_ERROR;
    }

    rc = X509_check_ip_asc(cert, (char *) name->data, 0);

    X509_free(cert);

    if (rc == 1) {
        return NGX_OK;
    }

    return ngx_ssl_check_host(c, name);
}

#endif


/* 1 when "name" (NUL-terminated) is an IPv4 or IPv6 address */

/*
 * The name a store's certificate must carry, and its SNI, from the host
 * of a URL: NUL-terminated, and an IPv6 address without its brackets, as
 * certificates and X509_check_ip_asc() write it.
 */

static ngx_int_t
ngx_http_intercom_oauth_redis_tls_name(ngx_pool_t *pool, ngx_str_t *host,
    ngx_str_t *name)
{
    ngx_str_t  h;

    h = *host;

    if (h.len > 2 && h.data[0] == '[' && h.data[h.len - 1] == ']') {
        h.data++;
        h.len -= 2;
    }

    name->data = ngx_pnalloc(pool, h.len + 1);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_cpystrn(name->data, h.data, h.len + 1);
    name->len = h.len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_intercom_oauth_redis_is_addr(ngx_str_t *name)
{
#if (NGX_HAVE_INET6)
    u_char  addr6[16];    /* ngx_inet6_addr() writes the address here */
#endif

    if (ngx_inet_addr(name->data, name->len) != INADDR_NONE) {
        return 1;
    }

#if (NGX_HAVE_INET6)
    if (ngx_inet6_addr(name->data, name->len, addr6) == NGX_OK) {
        return 1;
    }
#endif

    return 0;
}


/* ready for commands: AUTH and SELECT, queued, are sent first */

static void
ngx_http_intercom_oauth_redis_up(ngx_connection_t *c)
{
    ngx_queue_t                          *q;
    ngx_http_intercom_oauth_redis_t      *rd = &ngx_http_intercom_oauth_redis;
    ngx_http_intercom_oauth_redis_cmd_t  *cmd;

    if (rd->connect_timer.timer_set) {
        ngx_del_timer(&rd->connect_timer);
    }

    rd->tls = "";

#if (NGX_SSL)

    if (c->ssl) {
        rd->tls = SSL_session_reused(c->ssl->connection)
                  ? " (TLS, session resumed)" : " (TLS)";
    }

#endif

    rd->state = rd->asking ? NGX_HTTP_INTERCOM_OAUTH_REDIS_ASKING
                           : NGX_HTTP_INTERCOM_OAUTH_REDIS_READY;

    for (q = ngx_queue_head(&rd->cmds);
         q != ngx_queue_sentinel(&rd->cmds);
         q = ngx_queue_next(q))
    {
        cmd = ngx_queue_data(q, ngx_http_intercom_oauth_redis_cmd_t, queue);
        ngx_add_timer(&cmd->timer, rd->conf->timeout);
    }

    if (rd->setup == 0 && !rd->asking) {
        ngx_http_intercom_oauth_redis_healthy();
    }

    ngx_http_intercom_oauth_redis_flush();
}


/*
 * AUTH and SELECT were accepted: only now is the store back, so that a
 * refusal repeated at each reconnect is logged once and backs off.
 */

static void
ngx_http_intercom_oauth_redis_healthy(void)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (rd->failures) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "intercom oauth: store \"%V\" connected again%s%s",
                      &rd->conf->url, rd->tls,
                      rd->conf->sentinels ? (char *) rd->where : "");

    } else {
        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "intercom oauth: store \"%V\" connected%s%s",
                      &rd->conf->url, rd->tls,
                      rd->conf->sentinels ? (char *) rd->where : "");
    }

    rd->failures = 0;
    rd->refused = 0;
    rd->backoff = NGX_HTTP_INTERCOM_OAUTH_REDIS_BACKOFF_MIN;
}


static void
ngx_http_intercom_oauth_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t                 *c = ev->data;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (c != rd->conn) {
        return;
    }

    if (rd->state == NGX_HTTP_INTERCOM_OAUTH_REDIS_CONNECTING) {
        if (ngx_http_intercom_oauth_redis_test_connect(c) != NGX_OK) {
            ngx_http_intercom_oauth_redis_close(NULL);
            return;
        }

        ngx_http_intercom_oauth_redis_connected(c);
        return;
    }

    ngx_http_intercom_oauth_redis_flush();
}


static void
ngx_http_intercom_oauth_redis_flush(void)
{
    ssize_t                           n;
    ngx_connection_t                 *c;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    c = rd->conn;

    if (c == NULL
        || (rd->state != NGX_HTTP_INTERCOM_OAUTH_REDIS_READY
            && rd->state != NGX_HTTP_INTERCOM_OAUTH_REDIS_ASKING))
    {
        return;
    }

    while (rd->out_sent < rd->out_len) {
        n = c->send(c, rd->out + rd->out_sent, rd->out_len - rd->out_sent);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_intercom_oauth_redis_close("connection lost");
            return;
        }

        rd->out_sent += n;
    }

    if (rd->out_sent == rd->out_len) {
        /* the AUTH password does not stay in memory */
        ngx_explicit_memzero(rd->out, rd->out_len);
        rd->out_sent = 0;
        rd->out_len = 0;
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_intercom_oauth_redis_close("cannot watch the connection");
    }
}


static void
ngx_http_intercom_oauth_redis_read_handler(ngx_event_t *ev)
{
    ssize_t                           n;
    ngx_uint_t                        generation;
    ngx_connection_t                 *c = ev->data;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    static u_char                     buf[16384];

    if (c != rd->conn) {
        return;
    }

    if (rd->state == NGX_HTTP_INTERCOM_OAUTH_REDIS_CONNECTING) {
        /* a refused connect can be seen as readable first */
        if (ngx_http_intercom_oauth_redis_test_connect(c) != NGX_OK) {
            ngx_http_intercom_oauth_redis_close(NULL);
        }

        return;
    }

    generation = rd->generation;

    while (c->read->ready) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0) {
            ngx_http_intercom_oauth_redis_close("connection lost: "
                                                "Redis closed it");
            return;
        }

        if (n == NGX_ERROR) {
            ngx_http_intercom_oauth_redis_close("connection lost");
            return;
        }

        if (redisReaderFeed(rd->reader, (char *) buf, n) != REDIS_OK) {
            ngx_http_intercom_oauth_redis_close("out of memory");
            return;
        }

        if (ngx_http_intercom_oauth_redis_replies() != NGX_OK
            || rd->generation != generation)
        {
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_intercom_oauth_redis_close("cannot watch the connection");
    }
}


/* hands every complete reply to the oldest command */

static ngx_int_t
ngx_http_intercom_oauth_redis_replies(void)
{
    void                                      *reply, *data;
    ngx_uint_t                                 generation, readonly;
    ngx_queue_t                               *q;
    ngx_http_intercom_oauth_redis_t           *rd;
    ngx_http_intercom_oauth_redis_cmd_t       *cmd;
    ngx_http_intercom_oauth_redis_handler_pt   handler;

    rd = &ngx_http_intercom_oauth_redis;
    generation = rd->generation;

    while (rd->conn && rd->generation == generation) {

        reply = NULL;

        if (redisReaderGetReply(rd->reader, &reply) != REDIS_OK) {
            ngx_http_intercom_oauth_redis_close("a reply that is not RESP "
                                                "(a protocol error)");
            return NGX_ERROR;
        }

        if (reply == NULL) {
            return NGX_OK;
        }

        if (ngx_queue_empty(&rd->cmds)) {
            freeReplyObject(reply);
            ngx_http_intercom_oauth_redis_close("a reply that no command "
                                                "asked for (a protocol "
                                                "error)");
            return NGX_ERROR;
        }

        q = ngx_queue_head(&rd->cmds);
        ngx_queue_remove(q);

        cmd = ngx_queue_data(q, ngx_http_intercom_oauth_redis_cmd_t, queue);

        if (cmd->timer.timer_set) {
            ngx_del_timer(&cmd->timer);
        }

        handler = cmd->handler;
        data = cmd->data;

        ngx_free(cmd);

        readonly = ngx_http_intercom_oauth_redis_readonly(reply);

        if (handler) {
            handler(data, reply, NULL);
        }

        freeReplyObject(reply);

        if (readonly && rd->generation == generation) {
            /* a replica now: the name (or the primary) has moved on */
            ngx_http_intercom_oauth_redis_close(readonly == 1
                            ? "Redis answered READONLY (a replica)"
                            : "Redis answered LOADING (not ready yet)");
            return NGX_ERROR;
        }
    }

    return NGX_ERROR;
}


/* 1: -READONLY, 2: -LOADING; both mean "not the primary to write to" */

static ngx_uint_t
ngx_http_intercom_oauth_redis_readonly(redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ERROR) {
        return 0;
    }

    if (reply->len >= 8 && ngx_strncmp(reply->str, "READONLY", 8) == 0) {
        return 1;
    }

    return (reply->len >= 7 && ngx_strncmp(reply->str, "LOADING", 7) == 0)
           ? 2 : 0;
}


/* SENTINEL get-master-addr-by-name: [ip, port], or nil */

static void
ngx_http_intercom_oauth_redis_sentinel_reply(void *data, redisReply *reply,
    const char *why)
{
    size_t                            len;
    in_addr_t                         inaddr;
    ngx_int_t                         port;
    struct sockaddr_in               *sin;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6              *sin6;
#endif

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* -NOAUTH: intercom_oauth_store_sentinel_password is missing */
        ngx_http_intercom_oauth_redis_refused("SENTINEL", reply);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
    {
        if (rd->failures++ == 0) {
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "intercom oauth: store \"%V\"%s: the sentinel "
                          "knows no primary \"%V\"; retrying",
                          &rd->conf->url, rd->where,
                          &rd->conf->sentinel_name);
        }

        ngx_http_intercom_oauth_redis_close(NULL);
        return;
    }

    port = ngx_atoi((u_char *) reply->element[1]->str,
                    reply->element[1]->len);
    len = reply->element[0]->len;

    ngx_memzero(&rd->resolved, sizeof(ngx_sockaddr_t));

    inaddr = ngx_inet_addr((u_char *) reply->element[0]->str, len);

    if (inaddr != INADDR_NONE) {
        sin = &rd->resolved.sockaddr_in;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = inaddr;
        rd->resolved_len = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr((u_char *) reply->element[0]->str, len,
                              rd->resolved.sockaddr_in6.sin6_addr.s6_addr)
               == NGX_OK)
    {
        sin6 = &rd->resolved.sockaddr_in6;
        sin6->sin6_family = AF_INET6;
        rd->resolved_len = sizeof(struct sockaddr_in6);
#endif

    } else {
        port = NGX_ERROR;
    }

    if (port == NGX_ERROR || port < 1 || port > 65535) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": the sentinel named "
                      "no usable address; retrying", &rd->conf->url);
        ngx_http_intercom_oauth_redis_close(NULL);
        return;
    }

    ngx_inet_set_port(&rd->resolved.sockaddr, (in_port_t) port);

    len = ngx_sock_ntop(&rd->resolved.sockaddr, rd->resolved_len,
                        rd->where + 10, NGX_SOCKADDR_STRLEN, 1);
    ngx_memcpy(rd->where, " (primary ", 10);
    ngx_memcpy(rd->where + 10 + len, ")", 2);

    /* the sentinel's connection ends; the primary's begins */
    ngx_http_intercom_oauth_redis_teardown(NULL, 0);

    ngx_http_intercom_oauth_redis_connect_peer(&rd->resolved.sockaddr,
                                               rd->resolved_len);
}


/* ROLE on what the sentinels named: "master", or it is no primary (yet) */

static void
ngx_http_intercom_oauth_redis_role_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* -NOPERM: the ACL user lacks +role; no answer, no primary */
        ngx_http_intercom_oauth_redis_refused("ROLE", reply);
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING
        && reply->element[0]->len == 6
        && ngx_strncmp(reply->element[0]->str, "master", 6) == 0)
    {
        ngx_http_intercom_oauth_redis_setup_reply((void *) "ROLE", reply,
                                                  why);
        return;
    }

    if (rd->failures++ == 0) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\": what the sentinel "
                      "named%s is not the primary; asking again",
                      &rd->conf->url, rd->where);
    }

    ngx_http_intercom_oauth_redis_close(NULL);
}


/* AUTH or SELECT: a refusal is a configuration error, logged once */

static void
ngx_http_intercom_oauth_redis_setup_reply(void *data, redisReply *reply,
    const char *why)
{
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    if (reply == NULL) {
        return;
    }

    if (reply->type != REDIS_REPLY_ERROR) {
        /* a sentinel's AUTH: its answer, the primary, is still to come */
        if (--rd->setup == 0 && !rd->asking) {
            ngx_http_intercom_oauth_redis_healthy();
        }

        return;
    }

    ngx_http_intercom_oauth_redis_refused(data, reply);
}


/*
 * A command of the connection's setup refused: a configuration error,
 * logged once until the store is up again, then the connection is made
 * again with back-off.  AUTH's error text names the problem, never the
 * password; of others, only the first word is logged (ROLE's -NOPERM
 * names the user).
 */

static void
ngx_http_intercom_oauth_redis_refused(const char *command, redisReply *reply)
{
    size_t                            len;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    len = ngx_min(reply->len, 200);

    if (ngx_strcmp(command, "AUTH") != 0) {
        for (len = 0; len < reply->len && len < 32; len++) {
            if (reply->str[len] == ' ') {
                break;
            }
        }
    }

    if (!rd->refused) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "intercom oauth: store \"%V\"%s refused %s: %*s%s",
                      &rd->conf->url, rd->where, command, len, reply->str,
                      ngx_strcmp(command, "ROLE") == 0
                      ? " (the ACL user needs the ROLE command with "
                        "sentinel://); retrying" : "; retrying");
        rd->refused = 1;
    }

    rd->failures++;

    ngx_http_intercom_oauth_redis_close(NULL);
}


static void
ngx_http_intercom_oauth_redis_command_timeout(ngx_event_t *ev)
{
    void                                      *data;
    ngx_http_intercom_oauth_redis_cmd_t       *cmd = ev->data;
    ngx_http_intercom_oauth_redis_handler_pt   handler;

    handler = cmd->handler;
    data = cmd->data;

    /* the command stays queued: a reply, if it ever comes, is its */
    cmd->handler = NULL;
    cmd->data = NULL;

    if (handler) {
        handler(data, NULL, "timed out");
    }

    ngx_http_intercom_oauth_redis_close("a command timed out "
                                        "(intercom_oauth_store_timeout)");
}


/* formats one command into the output and queues it for its reply */

static ngx_http_intercom_oauth_redis_cmd_t *
ngx_http_intercom_oauth_redis_send(
    ngx_http_intercom_oauth_redis_handler_pt handler, void *data,
    ngx_uint_t argc, ngx_str_t *argv)
{
    int                                   len;
    char                                 *buf;
    ngx_int_t                             rc;
    ngx_http_intercom_oauth_redis_t      *rd = &ngx_http_intercom_oauth_redis;
    ngx_http_intercom_oauth_redis_cmd_t  *cmd;

    cmd = ngx_calloc(sizeof(ngx_http_intercom_oauth_redis_cmd_t), rd->log);
    if (cmd == NULL) {
        return NULL;
    }

    len = ngx_http_intercom_oauth_redis_format(&buf, argc, argv);
    if (len < 0) {
        ngx_free(cmd);
        return NULL;
    }

    rc = ngx_http_intercom_oauth_redis_append(buf, len);

    ngx_explicit_memzero(buf, len);
    redisFreeCommand(buf);

    if (rc != NGX_OK) {
        ngx_free(cmd);
        return NULL;
    }

    cmd->handler = handler;
    cmd->data = data;
    cmd->timer.handler = ngx_http_intercom_oauth_redis_command_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = rd->log;

    ngx_queue_insert_tail(&rd->cmds, &cmd->queue);

    /* AUTH and SELECT wait under the connect timeout until the connect */
    if (rd->state == NGX_HTTP_INTERCOM_OAUTH_REDIS_READY) {
        ngx_add_timer(&cmd->timer, rd->conf->timeout);
    }

    return cmd;
}


/* RESP for one command, by hiredis; -1 when it cannot be formatted */

static int
ngx_http_intercom_oauth_redis_format(char **buf, ngx_uint_t argc,
    ngx_str_t *argv)
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
            return -1;
        }

        argvlen = (size_t *) (args + argc);
    }

    for (i = 0; i < argc; i++) {
        args[i] = (const char *) argv[i].data;
        argvlen[i] = argv[i].len;
    }

    /* hiredis copies the arguments into the buffer it returns */
    rc = redisFormatCommandArgv(buf, (int) argc, args, argvlen);

    if (args != ptrs) {
        ngx_free(args);
    }

    return rc;
}


static ngx_int_t
ngx_http_intercom_oauth_redis_append(const char *buf, size_t len)
{
    u_char                           *out;
    size_t                            size, unsent;
    ngx_http_intercom_oauth_redis_t  *rd = &ngx_http_intercom_oauth_redis;

    unsent = rd->out_len - rd->out_sent;

    if (rd->out_len + len > rd->out_size) {
        size = ngx_max(2 * rd->out_size, unsent + len);
        size = ngx_max(size, 4096);

        out = ngx_alloc(size, rd->log);
        if (out == NULL) {
            return NGX_ERROR;
        }

        if (rd->out) {
            ngx_memcpy(out, rd->out + rd->out_sent, unsent);
            ngx_explicit_memzero(rd->out, rd->out_size);
            ngx_free(rd->out);
        }

        rd->out = out;
        rd->out_size = size;
        rd->out_sent = 0;
        rd->out_len = unsent;
    }

    ngx_memcpy(rd->out + rd->out_len, buf, len);
    rd->out_len += len;

    return NGX_OK;
}
