
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The libcurl engine: libcurl's multi interface on nginx's event loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); nginx tells curl when a socket
 * is ready (curl_multi_socket_action).  Each socket curl watches gets an
 * nginx connection (ngx_http_intercom_oauth_socket.h).
 *
 * The module opens and closes curl's sockets itself
 * (CURLOPT_OPENSOCKETFUNCTION, CURLOPT_CLOSESOCKETFUNCTION): the nginx
 * connection is taken when the socket is made, so that a worker out of
 * connections fails that one transfer only, and it is given back before the
 * descriptor is closed, so that no event is ever removed from a closed
 * descriptor.  Sockets curl makes without asking (the threaded resolver's
 * wake-up pair) get a connection when curl first wants them watched.
 *
 * curl does not always keep that order: tearing down a connection that is
 * still connecting, it may close a socket without the close callback and
 * only then ask for it to be unwatched.  The descriptor's inode, taken when
 * the socket was opened, tells whether the descriptor is still that socket;
 * if not, the kernel has already dropped it from epoll and the connection is
 * given back without touching epoll.
 *
 * The engine's own directives are checked here too: intercom_oauth_ca_file
 * and intercom_oauth_proxy configure curl and nothing else.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>
#include <openssl/err.h>

#include "ngx_http_intercom_oauth_call.h"
#include "ngx_http_intercom_oauth_curl.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_socket.h"


/* a call carried by libcurl: one easy handle in the worker's multi */
typedef struct {
    ngx_http_intercom_oauth_call_t       call;      /* what the caller sees */
    CURL                                *easy;
    struct curl_slist                   *headers;   /* its own, with a token */
    ngx_http_intercom_oauth_endpoint_t  *endpoint;
    ngx_str_t                            form;      /* a POST's body */
    size_t                               size;      /* of call.body */
    ngx_queue_t                          queue;     /* pending or under way */
    unsigned                             pending:1; /* waiting to be added */
    unsigned                             added:1;   /* to the multi */
    unsigned                             doomed:1;  /* to be ended */
    unsigned                             tls:1;     /* an https:// URL */
    unsigned                             post:1;
} ngx_http_intercom_oauth_curl_t;


static ngx_int_t ngx_http_intercom_oauth_curl_setup(
    ngx_http_intercom_oauth_curl_t *t);
static CURLU *ngx_http_intercom_oauth_curl_url(
    ngx_http_intercom_oauth_endpoint_t *endpoint);
static CURLUcode ngx_http_intercom_oauth_curl_parse(ngx_pool_t *pool,
    ngx_str_t *url, CURLU **u);
static void ngx_http_intercom_oauth_curl_url_cleanup(void *data);
static ngx_uint_t ngx_http_intercom_oauth_curl_fresh(ngx_uint_t tls);
static void ngx_http_intercom_oauth_curl_start_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_curl_hold_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_intercom_oauth_curl_add(
    ngx_http_intercom_oauth_curl_t *t);
static void ngx_http_intercom_oauth_curl_busy(void);
static void ngx_http_intercom_oauth_curl_event_init(ngx_event_t *ev,
    ngx_event_handler_pt handler, ngx_cycle_t *cycle);
static ngx_int_t ngx_http_intercom_oauth_curl_bearer(
    ngx_http_intercom_oauth_curl_t *t,
    ngx_http_intercom_oauth_call_params_t *params);
static int ngx_http_intercom_oauth_curl_socket(CURL *easy,
    curl_socket_t s, int what, void *userp, void *socketp);
static int ngx_http_intercom_oauth_curl_timer(CURLM *multi,
    long timeout_ms, void *userp);
static void ngx_http_intercom_oauth_curl_timer_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_curl_event_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_curl_release(ngx_connection_t *c,
    ngx_uint_t closed);
static ngx_uint_t ngx_http_intercom_oauth_curl_gone(curl_socket_t s);
static void ngx_http_intercom_oauth_curl_check(void);
static void ngx_http_intercom_oauth_curl_finish(
    ngx_http_intercom_oauth_curl_t *t, CURLcode result);
static void ngx_http_intercom_oauth_curl_cleanup(void *data);
static void ngx_http_intercom_oauth_curl_free(
    ngx_http_intercom_oauth_curl_t *t);
static size_t ngx_http_intercom_oauth_curl_write(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static char *ngx_http_intercom_oauth_curl_cstr(ngx_pool_t *pool,
    ngx_str_t *s);
static ngx_int_t ngx_http_intercom_oauth_curl_headers(
    struct curl_slist **list);
static curl_socket_t ngx_http_intercom_oauth_curl_open(void *clientp,
    curlsocktype purpose, struct curl_sockaddr *address);
static int ngx_http_intercom_oauth_curl_close(void *clientp,
    curl_socket_t s);
static ngx_connection_t *ngx_http_intercom_oauth_curl_connection(
    curl_socket_t s);
static ngx_int_t ngx_http_intercom_oauth_curl_remember(curl_socket_t s,
    ngx_connection_t *c);
static void ngx_http_intercom_oauth_curl_doom(CURL *easy,
    const char *why);
static void ngx_http_intercom_oauth_curl_doom_handler(ngx_event_t *ev);


/* one multi handle per worker process */
static CURLM             *ngx_http_intercom_oauth_curl_multi;

/*
 * The worker's TLS session cache, shared by all its easy handles: each
 * handle would otherwise allocate a cache of its own (five sessions, 920
 * bytes) for its first transfer, plain http:// included, and keep it while
 * its transfer waits; shared, a session one transfer negotiated resumes the
 * next transfer's handshake whichever handle carries it.  Locks are not
 * needed: the worker's transfers all run in its one thread.
 */
static CURLSH            *ngx_http_intercom_oauth_curl_share;

/*
 * Finished easy handles are reset and kept for the next transfer: creating
 * one (curl_easy_init) and freeing it is a large share of a call's cost
 * (bench/RESULTS.md, "Profile").  Connections live in the multi handle's
 * cache either way.
 */
#define NGX_HTTP_INTERCOM_OAUTH_CURL_SPARE  64

static CURL              *ngx_http_intercom_oauth_curl_spare[
                                          NGX_HTTP_INTERCOM_OAUTH_CURL_SPARE];
static ngx_uint_t         ngx_http_intercom_oauth_curl_nspare;

/*
 * libcurl's receive buffer, allocated for each transfer while it runs:
 * 16k by default, the size of a page, not of a token response (a few hundred
 * bytes of headers and JSON); a longer response takes more reads.  1024 is
 * libcurl's minimum.
 */
#define NGX_HTTP_INTERCOM_OAUTH_CURL_BUFFER  1024

/*
 * The sockets of curl's connections that are open (in use or idle in its
 * cache); whether an https:// endpoint has answered over HTTP/1.x, and
 * whether one has answered over HTTP/2, where transfers share a connection.
 */
static ngx_uint_t         ngx_http_intercom_oauth_curl_nsockets;
static ngx_uint_t         ngx_http_intercom_oauth_curl_http1;
static ngx_uint_t         ngx_http_intercom_oauth_curl_multiplexed;

/* the request headers of calls without a bearer token, built once */
static struct curl_slist *ngx_http_intercom_oauth_curl_headers_list;
static ngx_event_t        ngx_http_intercom_oauth_curl_timer_event;
static ngx_event_t        ngx_http_intercom_oauth_curl_doom_event;
static ngx_uint_t         ngx_http_intercom_oauth_curl_global_init;

/* transfers under way, each with its request */
static ngx_queue_t        ngx_http_intercom_oauth_curl_transfers;
static ngx_uint_t         ngx_http_intercom_oauth_curl_ntransfers;

/*
 * Transfers set up but not yet handed to libcurl, oldest first.  Handing
 * one over costs libcurl's start of it (a socket, connect(), its
 * connection's structures: about 60,000 instructions), run by the next
 * curl_multi_socket_action(); in a burst, hundreds of callbacks read in one
 * event-loop iteration would all be started in that one call, and every
 * other request on the worker would wait for it.  So at most BATCH are
 * handed over per iteration; the rest wait for the next iteration
 * (ngx_posted_next_events), after the events that became ready meanwhile.
 */
#define NGX_HTTP_INTERCOM_OAUTH_CURL_BATCH  16

static ngx_queue_t        ngx_http_intercom_oauth_curl_pending;
static ngx_event_t        ngx_http_intercom_oauth_curl_start_event;
static ngx_uint_t         ngx_http_intercom_oauth_curl_starting;

/*
 * A queued call has no libcurl timer yet, and a worker shutting down exits
 * once no timer that is not cancelable is left: this one holds the worker
 * while calls wait (ngx_http_intercom_oauth_curl_busy()), or a batch whose
 * transfers all failed at once would let it exit with the rest queued.
 */
#define NGX_HTTP_INTERCOM_OAUTH_CURL_HOLD  60000

static ngx_event_t        ngx_http_intercom_oauth_curl_hold_event;

/* the nginx connection of each of curl's sockets, by descriptor */
typedef struct {
    ngx_connection_t     *connection;
    ino_t                 inode;
} ngx_http_intercom_oauth_curl_fd_t;

static ngx_http_intercom_oauth_curl_fd_t  *ngx_http_intercom_oauth_curl_fds;
static ngx_uint_t                          ngx_http_intercom_oauth_curl_nfds;

/* an easy handle's private pointer marks sockets the module opened */
#define NGX_HTTP_INTERCOM_OAUTH_CURL_OWNED                                    \
    ((void *) &ngx_http_intercom_oauth_curl_fds)


ngx_int_t
ngx_http_intercom_oauth_curl_init_process(ngx_cycle_t *cycle)
{
    CURLM  *multi;

    if (!ngx_http_intercom_oauth_curl_global_init) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "intercom oauth: curl_global_init() failed");
            return NGX_ERROR;
        }

        ngx_http_intercom_oauth_curl_global_init = 1;
    }

    if (ngx_http_intercom_oauth_curl_headers(
                                 &ngx_http_intercom_oauth_curl_headers_list)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "intercom oauth: curl_slist_append() failed");
        return NGX_ERROR;
    }

    if (ngx_http_intercom_oauth_curl_share == NULL) {
        ngx_http_intercom_oauth_curl_share = curl_share_init();

        if (ngx_http_intercom_oauth_curl_share == NULL
            || curl_share_setopt(ngx_http_intercom_oauth_curl_share,
                                 CURLSHOPT_SHARE,
                                 CURL_LOCK_DATA_SSL_SESSION)
               != CURLSHE_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "intercom oauth: curl_share_init() failed");
            return NGX_ERROR;
        }
    }

    multi = curl_multi_init();
    if (multi == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "intercom oauth: curl_multi_init() failed");
        return NGX_ERROR;
    }

    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_http_intercom_oauth_curl_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
                      ngx_http_intercom_oauth_curl_timer);

    /* idle keep-alive connections to the token endpoint, per worker */
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 64L);

    ngx_http_intercom_oauth_curl_event_init(
                                 &ngx_http_intercom_oauth_curl_timer_event,
                                 ngx_http_intercom_oauth_curl_timer_handler,
                                 cycle);

    /* no transfer runs yet: see ngx_http_intercom_oauth_curl_busy() */
    ngx_http_intercom_oauth_curl_timer_event.cancelable = 1;

    ngx_http_intercom_oauth_curl_event_init(
                                 &ngx_http_intercom_oauth_curl_doom_event,
                                 ngx_http_intercom_oauth_curl_doom_handler,
                                 cycle);
    ngx_http_intercom_oauth_curl_event_init(
                                 &ngx_http_intercom_oauth_curl_start_event,
                                 ngx_http_intercom_oauth_curl_start_handler,
                                 cycle);
    ngx_http_intercom_oauth_curl_event_init(
                                 &ngx_http_intercom_oauth_curl_hold_event,
                                 ngx_http_intercom_oauth_curl_hold_handler,
                                 cycle);

    ngx_queue_init(&ngx_http_intercom_oauth_curl_transfers);
    ngx_http_intercom_oauth_curl_ntransfers = 0;
    ngx_queue_init(&ngx_http_intercom_oauth_curl_pending);
    ngx_http_intercom_oauth_curl_starting = 0;
    ngx_http_intercom_oauth_curl_nsockets = 0;
    ngx_http_intercom_oauth_curl_http1 = 0;
    ngx_http_intercom_oauth_curl_multiplexed = 0;

    ngx_http_intercom_oauth_curl_multi = multi;

    return NGX_OK;
}


/* one of the worker's own events: posted, or a timer */

static void
ngx_http_intercom_oauth_curl_event_init(ngx_event_t *ev,
    ngx_event_handler_pt handler, ngx_cycle_t *cycle)
{
    ngx_memzero(ev, sizeof(ngx_event_t));
    ev->handler = handler;
    ev->log = cycle->log;
    ev->data = cycle;
}


void
ngx_http_intercom_oauth_curl_exit_process(ngx_cycle_t *cycle)
{
    ngx_event_t  *ev;

    if (ngx_http_intercom_oauth_curl_multi == NULL) {
        return;
    }

    ev = &ngx_http_intercom_oauth_curl_timer_event;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    if (ev->posted) {
        ngx_delete_posted_event(ev);
    }

    if (ngx_http_intercom_oauth_curl_doom_event.posted) {
        ngx_delete_posted_event(&ngx_http_intercom_oauth_curl_doom_event);
    }

    /* posted to ngx_posted_events or ngx_posted_next_events: one queue */
    if (ngx_http_intercom_oauth_curl_start_event.posted) {
        ngx_delete_posted_event(&ngx_http_intercom_oauth_curl_start_event);
    }

    if (ngx_http_intercom_oauth_curl_hold_event.timer_set) {
        ngx_del_timer(&ngx_http_intercom_oauth_curl_hold_event);
    }

    while (ngx_http_intercom_oauth_curl_nspare) {
        ngx_http_intercom_oauth_curl_nspare--;
        curl_easy_cleanup(ngx_http_intercom_oauth_curl_spare[
                              ngx_http_intercom_oauth_curl_nspare]);
    }

    /* the requests are gone; their cleanups removed their transfers */
    curl_multi_cleanup(ngx_http_intercom_oauth_curl_multi);
    ngx_http_intercom_oauth_curl_multi = NULL;

    /* every handle is gone, so no handle uses the share any more */
    if (ngx_http_intercom_oauth_curl_share
        && curl_share_cleanup(ngx_http_intercom_oauth_curl_share)
           == CURLSHE_OK)
    {
        ngx_http_intercom_oauth_curl_share = NULL;
    }

    curl_slist_free_all(ngx_http_intercom_oauth_curl_headers_list);
    ngx_http_intercom_oauth_curl_headers_list = NULL;

    if (ngx_http_intercom_oauth_curl_fds) {
        ngx_free(ngx_http_intercom_oauth_curl_fds);
        ngx_http_intercom_oauth_curl_fds = NULL;
        ngx_http_intercom_oauth_curl_nfds = 0;
    }

    if (ngx_http_intercom_oauth_curl_global_init) {
        curl_global_cleanup();
        ngx_http_intercom_oauth_curl_global_init = 0;
    }
}


ngx_int_t
ngx_http_intercom_oauth_curl_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_endpoint_t *endpoint,
    ngx_http_intercom_oauth_call_params_t *params,
    ngx_http_intercom_oauth_call_done_pt done,
    ngx_http_intercom_oauth_call_t **callp)
{
    ngx_pool_cleanup_t              *cln;
    ngx_http_intercom_oauth_curl_t  *t;

    if (ngx_http_intercom_oauth_curl_multi == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: no curl multi handle in this process");
        return NGX_ERROR;
    }

    t = ngx_pcalloc(r->pool, sizeof(ngx_http_intercom_oauth_curl_t));
    if (t == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    t->call.request = r;
    t->call.done = done;
    t->call.max_response = NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE;

    /*
     * The easy handle and its options wait for the transfer's turn too
     * (ngx_http_intercom_oauth_curl_add()); what the caller lends only
     * for this call, the token, is copied into the header list now.  The
     * form lives in the request's pool.
     */
    t->endpoint = endpoint;
    t->tls = endpoint->tls;
    t->post = params->post;
    t->form = params->body;

    /* from here on the cleanup frees what the call holds, whatever happens */
    cln->handler = ngx_http_intercom_oauth_curl_cleanup;
    cln->data = t;

    if (params->bearer.len
        && ngx_http_intercom_oauth_curl_bearer(t, params) != NGX_OK)
    {
        goto failed;
    }

    /* the call's time limit counts from here, the wait to be added too */
    t->call.started = ngx_current_msec;

    t->pending = 1;
    ngx_queue_insert_tail(&ngx_http_intercom_oauth_curl_pending, &t->queue);
    ngx_http_intercom_oauth_curl_busy();

    /*
     * Handed to libcurl at the end of this iteration, after the events
     * already ready; when others wait already, the start event is posted
     * (or running) and takes this one in its turn.
     */
    if (!ngx_http_intercom_oauth_curl_start_event.posted
        && !ngx_http_intercom_oauth_curl_starting)
    {
        ngx_post_event(&ngx_http_intercom_oauth_curl_start_event,
                       &ngx_posted_events);
    }

    *callp = &t->call;

    return NGX_OK;

failed:

    ngx_http_intercom_oauth_curl_free(t);

    return NGX_ERROR;
}


/* every option of the transfer; the location's configuration gives trust,
 * proxy and timeout */

static ngx_int_t
ngx_http_intercom_oauth_curl_setup(ngx_http_intercom_oauth_curl_t *t)
{
    char                                *s;
    CURL                                *easy;
    CURLU                               *u;
    ngx_pool_t                          *pool;
    ngx_http_request_t                  *r;
    ngx_http_intercom_oauth_endpoint_t  *endpoint;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    r = t->call.request;
    pool = r->pool;
    easy = t->easy;
    endpoint = t->endpoint;
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    u = ngx_http_intercom_oauth_curl_url(endpoint);

    if (u) {
        curl_easy_setopt(easy, CURLOPT_CURLU, u);

    } else {
        s = ngx_http_intercom_oauth_curl_cstr(pool, &endpoint->url);
        if (s == NULL) {
            return NGX_ERROR;
        }

        curl_easy_setopt(easy, CURLOPT_URL, s);
    }

    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);

    /*
     * Set again on a kept handle too: curl_easy_reset() keeps the share but
     * forgets the size of its session cache.
     */
    curl_easy_setopt(easy, CURLOPT_SHARE, ngx_http_intercom_oauth_curl_share);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE,
                     (long) NGX_HTTP_INTERCOM_OAUTH_CURL_BUFFER);

    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION,
                     ngx_http_intercom_oauth_curl_open);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION,
                     ngx_http_intercom_oauth_curl_close);

#if (LIBCURL_VERSION_NUM >= 0x075700)
    /*
     * Removing a transfer still resolving its host name (client gone,
     * timeout) would otherwise join the resolver thread: the worker would
     * wait for DNS.
     */
    curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
#endif
    curl_easy_setopt(easy, CURLOPT_USERAGENT,
                     NGX_HTTP_INTERCOM_OAUTH_USER_AGENT);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER,
                     t->headers ? t->headers
                                : ngx_http_intercom_oauth_curl_headers_list);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
                     ngx_http_intercom_oauth_curl_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) t->call.max_response);

    /* a redirect from Intercom is an error, never followed */
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);

#if (LIBCURL_VERSION_NUM >= 0x075500)
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS,
                     (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif

    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);

    if (olcf->ca_file.len) {
        s = ngx_http_intercom_oauth_curl_cstr(pool, &olcf->ca_file);
        if (s == NULL) {
            return NGX_ERROR;
        }

        curl_easy_setopt(easy, CURLOPT_CAINFO, s);
    }

    /* "" turns off the http_proxy environment variables too */
    s = ngx_http_intercom_oauth_curl_cstr(pool, &olcf->proxy);
    if (s == NULL) {
        return NGX_ERROR;
    }

    curl_easy_setopt(easy, CURLOPT_PROXY, s);

    if (t->post) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) t->form.len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                         t->form.len ? (char *) t->form.data : "");
    }

    return NGX_OK;
}


/*
 * The endpoint's URL parsed once per worker, at its first call: given a
 * CURLU, libcurl copies it for each transfer instead of parsing the string
 * and printing it back (about 4,000 instructions per call).  Parsed with
 * the flags libcurl parses CURLOPT_URL with.  A URL libcurl refuses is
 * refused at configuration (ngx_http_intercom_oauth_curl_check_url()); should
 * one get here all the same, it goes as a string, to fail as before, and
 * is not parsed again: every attempt would leave its copy in the cycle's
 * pool.
 */

static CURLU *
ngx_http_intercom_oauth_curl_url(ngx_http_intercom_oauth_endpoint_t *endpoint)
{
    CURLU               *u;
    CURLUcode            rc;
    ngx_pool_t          *pool;
    ngx_pool_cleanup_t  *cln;

    if (endpoint->parsed || endpoint->refused) {
        return endpoint->parsed;
    }

    pool = ngx_cycle->pool;

    rc = ngx_http_intercom_oauth_curl_parse(pool, &endpoint->url, &u);

    if (rc != CURLUE_OK) {
        endpoint->refused = (rc != CURLUE_OUT_OF_MEMORY);
        return NULL;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        curl_url_cleanup(u);
        return NULL;
    }

    cln->handler = ngx_http_intercom_oauth_curl_url_cleanup;
    cln->data = u;

    /* the configuration is this worker's own copy from here on */
    endpoint->parsed = u;

    return u;
}


/*
 * An http(s) URL of an endpoint, checked when the configuration is read:
 * one that libcurl's URL parser refuses (a port over 65535, a broken
 * IPv6 address, a space in the host) would fail every call, so it fails
 * "nginx -t" instead, as nginx's own proxy_pass does.
 */

ngx_int_t
ngx_http_intercom_oauth_curl_check_url(ngx_conf_t *cf, char *directive,
    ngx_str_t *url)
{
    CURLU      *u;
    CURLUcode   rc;

    rc = ngx_http_intercom_oauth_curl_parse(cf->temp_pool, url, &u);

    if (rc != CURLUE_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" is a URL libcurl refuses (%s): \"%V\"",
                           directive, curl_url_strerror(rc), url);
        return NGX_ERROR;
    }

    curl_url_cleanup(u);

    return NGX_OK;
}


/*
 * Parses "url" as libcurl parses CURLOPT_URL: the CURLU in "*u" when
 * CURLUE_OK, nothing to free otherwise.
 */

static CURLUcode
ngx_http_intercom_oauth_curl_parse(ngx_pool_t *pool, ngx_str_t *url,
    CURLU **u)
{
    char       *s;
    CURLUcode   rc;

    s = ngx_http_intercom_oauth_curl_cstr(pool, url);
    if (s == NULL) {
        return CURLUE_OUT_OF_MEMORY;
    }

    *u = curl_url();
    if (*u == NULL) {
        return CURLUE_OUT_OF_MEMORY;
    }

    rc = curl_url_set(*u, CURLUPART_URL, s,
                      CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME);

    if (rc != CURLUE_OK) {
        curl_url_cleanup(*u);
        *u = NULL;
    }

    return rc;
}


static void
ngx_http_intercom_oauth_curl_url_cleanup(void *data)
{
    curl_url_cleanup(data);
}


/*
 * Whether a new transfer should skip curl's search of its connection cache.
 * When curl holds no more open sockets than there are transfers under way,
 * every connection may be in use, and the search would only walk them all:
 * once per transfer, N * N / 2 steps in a burst of N.  Over TLS curl may
 * negotiate HTTP/2, where transfers share a connection: only once an https
 * endpoint has answered over HTTP/1.x and none over HTTP/2.
 */

static ngx_uint_t
ngx_http_intercom_oauth_curl_fresh(ngx_uint_t tls)
{
    if (ngx_http_intercom_oauth_curl_nsockets
        > ngx_http_intercom_oauth_curl_ntransfers)
    {
        return 0;
    }

    if (!tls) {
        return 1;
    }

    return ngx_http_intercom_oauth_curl_http1
           && !ngx_http_intercom_oauth_curl_multiplexed;
}


/*
 * Hands at most BATCH pending transfers to libcurl, oldest first; libcurl
 * starts them in the curl_multi_socket_action() of the timer event it asks
 * for, posted behind this one.  The rest wait for the next iteration: a
 * transfer waits at most its place in the queue / BATCH iterations, each
 * as short as this one makes it, and none is passed over.
 */

static void
ngx_http_intercom_oauth_curl_start_handler(ngx_event_t *ev)
{
    ngx_uint_t                       n;
    ngx_queue_t                     *q;
    ngx_http_intercom_oauth_curl_t  *t;

    /* a call started by a done handler below waits in the queue */
    ngx_http_intercom_oauth_curl_starting = 1;

    for (n = 0; n < NGX_HTTP_INTERCOM_OAUTH_CURL_BATCH; n++) {

        if (ngx_queue_empty(&ngx_http_intercom_oauth_curl_pending)) {
            break;
        }

        q = ngx_queue_head(&ngx_http_intercom_oauth_curl_pending);
        t = ngx_queue_data(q, ngx_http_intercom_oauth_curl_t, queue);

        ngx_queue_remove(q);
        t->pending = 0;

        switch (ngx_http_intercom_oauth_curl_add(t)) {

        case NGX_OK:
            break;

        case NGX_DECLINED:
            /* its time ran out in the queue: nothing was sent */
            ngx_http_intercom_oauth_curl_finish(t, CURLE_OPERATION_TIMEDOUT);
            break;

        default:
            ngx_http_intercom_oauth_curl_finish(t, CURLE_FAILED_INIT);
        }
    }

    ngx_http_intercom_oauth_curl_starting = 0;

    ngx_http_intercom_oauth_curl_busy();

    if (!ngx_queue_empty(&ngx_http_intercom_oauth_curl_pending)) {
        ngx_post_event(ev, &ngx_posted_next_events);
    }
}


/*
 * The time limit counts from the call's start, so what it waited in the
 * queue is taken from libcurl's share.  A call whose time ran out there is
 * declined before anything is sent: its code is not spent at Intercom
 * for a browser that is answered 504 anyway.
 */

static ngx_int_t
ngx_http_intercom_oauth_curl_add(ngx_http_intercom_oauth_curl_t *t)
{
    long                                 left;
    CURLMcode                            mrc;
    ngx_msec_t                           waited;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(t->call.request,
                                        ngx_http_intercom_oauth_module);

    waited = ngx_current_msec - t->call.started;

    if (waited >= olcf->timeout) {
        return NGX_DECLINED;
    }

    left = (long) (olcf->timeout - waited);

    t->easy = ngx_http_intercom_oauth_curl_nspare
              ? ngx_http_intercom_oauth_curl_spare[
                                     --ngx_http_intercom_oauth_curl_nspare]
              : curl_easy_init();

    if (t->easy == NULL) {
        ngx_log_error(NGX_LOG_ALERT, t->call.request->connection->log, 0,
                      "intercom oauth: curl_easy_init() failed");
        return NGX_ERROR;
    }

    if (ngx_http_intercom_oauth_curl_setup(t) != NGX_OK) {
        return NGX_ERROR;
    }

    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, left);

    if (ngx_http_intercom_oauth_curl_fresh(t->tls)) {
        curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L);
    }

    mrc = curl_multi_add_handle(ngx_http_intercom_oauth_curl_multi, t->easy);

    if (mrc != CURLM_OK) {
        ngx_log_error(NGX_LOG_ALERT, t->call.request->connection->log, 0,
                      "intercom oauth: curl_multi_add_handle() failed: %s",
                      curl_multi_strerror(mrc));
        return NGX_ERROR;
    }

    t->added = 1;
    ngx_queue_insert_tail(&ngx_http_intercom_oauth_curl_transfers, &t->queue);
    ngx_http_intercom_oauth_curl_ntransfers++;

    return NGX_OK;
}


/*
 * The timer is cancelable only while no transfer runs or waits: a graceful
 * shutdown or reload must wait for the exchanges in flight, whose codes
 * are already spent, and nothing else holds the worker for them.
 */

static void
ngx_http_intercom_oauth_curl_busy(void)
{
    ngx_http_intercom_oauth_curl_timer_event.cancelable =
        (ngx_http_intercom_oauth_curl_ntransfers == 0
         && ngx_queue_empty(&ngx_http_intercom_oauth_curl_pending));

    if (!ngx_queue_empty(&ngx_http_intercom_oauth_curl_pending)) {
        if (!ngx_http_intercom_oauth_curl_hold_event.timer_set) {
            ngx_add_timer(&ngx_http_intercom_oauth_curl_hold_event,
                          NGX_HTTP_INTERCOM_OAUTH_CURL_HOLD);
        }

    } else if (ngx_http_intercom_oauth_curl_hold_event.timer_set) {
        ngx_del_timer(&ngx_http_intercom_oauth_curl_hold_event);
    }
}


/* calls still wait after a minute (a worker this busy): hold on */

static void
ngx_http_intercom_oauth_curl_hold_handler(ngx_event_t *ev)
{
    ngx_http_intercom_oauth_curl_busy();
}


/*
 * A call with a bearer token gets a header list of its own, freed (and
 * wiped) with the transfer; the pool's copy of the line is wiped at once.
 */

static ngx_int_t
ngx_http_intercom_oauth_curl_bearer(ngx_http_intercom_oauth_curl_t *t,
    ngx_http_intercom_oauth_call_params_t *params)
{
    u_char             *p;
    ngx_str_t           auth;
    struct curl_slist  *h;

    if (ngx_http_intercom_oauth_curl_headers(&t->headers)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    auth.len = sizeof("Authorization: Bearer ") - 1 + params->bearer.len;
    auth.data = ngx_pnalloc(t->call.request->pool, auth.len + 1);
    if (auth.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(auth.data, "Authorization: Bearer ",
                   sizeof("Authorization: Bearer ") - 1);
    p = ngx_cpymem(p, params->bearer.data, params->bearer.len);
    *p = '\0';

    h = curl_slist_append(t->headers, (char *) auth.data);

    ngx_explicit_memzero(auth.data, auth.len);

    return h ? NGX_OK : NGX_ERROR;
}


static char *
ngx_http_intercom_oauth_curl_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, s->data, s->len) = '\0';

    return (char *) p;
}


static size_t
ngx_http_intercom_oauth_curl_write(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_intercom_oauth_curl_t  *t = userdata;

    u_char                          *p;
    size_t                           n, want;
    ngx_http_intercom_oauth_call_t  *call;

    call = &t->call;
    n = size * nmemb;

    if (n > call->max_response - call->len) {
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE;
        return 0;
    }

    if (call->len + n > t->size) {
        want = ngx_max(t->size * 2, 1024);

        while (want < call->len + n) {
            want *= 2;
        }

        want = ngx_min(want, call->max_response);

        p = ngx_pnalloc(call->request->pool, want);
        if (p == NULL) {
            return 0;
        }

        if (call->len) {
            ngx_memcpy(p, call->body, call->len);
            ngx_explicit_memzero(call->body, call->len);
        }

        call->body = p;
        t->size = want;
    }

    ngx_memcpy(call->body + call->len, ptr, n);
    call->len += n;

    return n;
}


static curl_socket_t
ngx_http_intercom_oauth_curl_open(void *clientp, curlsocktype purpose,
    struct curl_sockaddr *address)
{
    ngx_socket_t       s;
    ngx_connection_t  *c;

    s = ngx_socket(address->family, address->socktype, address->protocol);

    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_socket_errno,
                      "intercom oauth: " ngx_socket_n " failed");
        return CURL_SOCKET_BAD;
    }

    /* logs "worker_connections are not enough" itself */
    c = ngx_http_intercom_oauth_socket_wrap(s,
                                   ngx_http_intercom_oauth_curl_event_handler,
                                   NGX_HTTP_INTERCOM_OAUTH_CURL_OWNED,
                                   ngx_cycle->log);
    if (c == NULL) {
        (void) ngx_close_socket(s);
        return CURL_SOCKET_BAD;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "intercom oauth: curl opens socket %d", (int) s);

    if (ngx_http_intercom_oauth_curl_remember(s, c) != NGX_OK) {
        ngx_http_intercom_oauth_socket_release(c, 1);
        (void) ngx_close_socket(s);
        return CURL_SOCKET_BAD;
    }

    ngx_http_intercom_oauth_curl_nsockets++;

    return s;
}


static int
ngx_http_intercom_oauth_curl_close(void *clientp, curl_socket_t s)
{
    ngx_connection_t  *c;

    c = ngx_http_intercom_oauth_curl_connection(s);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "intercom oauth: curl closes socket %d (connection %p)",
                   (int) s, c);

    if (c) {
        /* events go while the descriptor is still open */
        ngx_http_intercom_oauth_curl_release(c, 0);
    }

    if (ngx_close_socket(s) == -1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_socket_errno,
                      "intercom oauth: " ngx_close_socket_n " failed");
        return 1;
    }

    return 0;
}


static ngx_connection_t *
ngx_http_intercom_oauth_curl_connection(curl_socket_t s)
{
    if (s < 0 || (ngx_uint_t) s >= ngx_http_intercom_oauth_curl_nfds) {
        return NULL;
    }

    return ngx_http_intercom_oauth_curl_fds[s].connection;
}


static ngx_int_t
ngx_http_intercom_oauth_curl_remember(curl_socket_t s,
    ngx_connection_t *c)
{
    ngx_uint_t                     n;
    ngx_file_info_t                fi;
    ngx_http_intercom_oauth_curl_fd_t  *fds;

    if (ngx_fd_info(s, &fi) == NGX_FILE_ERROR) {
        return NGX_ERROR;
    }

    if ((ngx_uint_t) s >= ngx_http_intercom_oauth_curl_nfds) {
        n = ngx_max(64, ngx_http_intercom_oauth_curl_nfds * 2);

        while (n <= (ngx_uint_t) s) {
            n *= 2;
        }

        fds = ngx_calloc(n * sizeof(ngx_http_intercom_oauth_curl_fd_t),
                         ngx_cycle->log);
        if (fds == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_intercom_oauth_curl_fds) {
            ngx_memcpy(fds, ngx_http_intercom_oauth_curl_fds,
                       ngx_http_intercom_oauth_curl_nfds
                       * sizeof(ngx_http_intercom_oauth_curl_fd_t));
            ngx_free(ngx_http_intercom_oauth_curl_fds);
        }

        ngx_http_intercom_oauth_curl_fds = fds;
        ngx_http_intercom_oauth_curl_nfds = n;
    }

    if (ngx_http_intercom_oauth_curl_fds[s].connection) {
        /* closed by curl without the callback: epoll forgot it already */
        ngx_http_intercom_oauth_curl_release(
                           ngx_http_intercom_oauth_curl_fds[s].connection, 1);
    }

    ngx_http_intercom_oauth_curl_fds[s].connection = c;
    ngx_http_intercom_oauth_curl_fds[s].inode = fi.st_ino;

    return NGX_OK;
}


/* whether descriptor s is no longer the socket it was when remembered */

static ngx_uint_t
ngx_http_intercom_oauth_curl_gone(curl_socket_t s)
{
    ngx_file_info_t  fi;

    if (ngx_fd_info(s, &fi) == NGX_FILE_ERROR) {
        return 1;
    }

    return fi.st_ino != ngx_http_intercom_oauth_curl_fds[s].inode;
}


static int
ngx_http_intercom_oauth_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_connection_t  *c;

    c = ngx_http_intercom_oauth_curl_connection(s);

    if (what == CURL_POLL_REMOVE) {
        if (c == NULL) {
            return 0;
        }

        if (ngx_http_intercom_oauth_curl_gone(s)) {
            ngx_http_intercom_oauth_curl_release(c, 1);

        } else if (c->data == NGX_HTTP_INTERCOM_OAUTH_CURL_OWNED) {
            /* the connection stays until the socket is closed */
            (void) ngx_http_intercom_oauth_socket_watch(c, 0, 0);
            (void) ngx_http_intercom_oauth_socket_watch(c, 1, 0);

        } else {
            ngx_http_intercom_oauth_curl_release(c, 0);
        }

        return 0;
    }

    if (c == NULL) {
        /* a socket curl made itself, e.g. the resolver's wake-up pair */
        c = ngx_http_intercom_oauth_socket_wrap(s,
                                   ngx_http_intercom_oauth_curl_event_handler,
                                   NULL, ngx_cycle->log);
        if (c == NULL) {
            ngx_http_intercom_oauth_curl_doom(easy,
                                         "worker_connections are not enough");
            return 0;
        }

        if (ngx_http_intercom_oauth_curl_remember(s, c) != NGX_OK) {
            ngx_http_intercom_oauth_socket_release(c, 1);
            ngx_http_intercom_oauth_curl_doom(easy, "out of memory");
            return 0;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "intercom oauth: curl socket %d wants %d", (int) s, what);

    /*
     * A failure here must end this transfer only: returning -1 would make
     * curl fail every transfer of the worker.
     */

    if (ngx_http_intercom_oauth_socket_watch(c, 0, what & CURL_POLL_IN)
        != NGX_OK
        || ngx_http_intercom_oauth_socket_watch(c, 1, what & CURL_POLL_OUT)
           != NGX_OK)
    {
        ngx_http_intercom_oauth_curl_doom(easy, "epoll_ctl() failed");
    }

    return 0;
}


/*
 * Marks a transfer that cannot go on; it is ended from a posted event,
 * since curl must not be called back from inside its own callbacks.
 */

static void
ngx_http_intercom_oauth_curl_doom(CURL *easy, const char *why)
{
    ngx_http_intercom_oauth_curl_t  *t;

    t = NULL;

    (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &t);

    if (t == NULL || t->doomed) {
        return;
    }

    t->doomed = 1;
    ngx_cpystrn((u_char *) t->call.error, (u_char *) why,
                sizeof(t->call.error));

    if (!ngx_http_intercom_oauth_curl_doom_event.posted) {
        ngx_post_event(&ngx_http_intercom_oauth_curl_doom_event,
                       &ngx_posted_events);
    }
}


static void
ngx_http_intercom_oauth_curl_doom_handler(ngx_event_t *ev)
{
    ngx_queue_t                     *q, *next;
    ngx_http_intercom_oauth_curl_t  *t;

    for (q = ngx_queue_head(&ngx_http_intercom_oauth_curl_transfers);
         q != ngx_queue_sentinel(&ngx_http_intercom_oauth_curl_transfers);
         q = next)
    {
        next = ngx_queue_next(q);
        t = ngx_queue_data(q, ngx_http_intercom_oauth_curl_t, queue);

        if (t->doomed) {
            ngx_http_intercom_oauth_curl_finish(t, CURLE_COULDNT_CONNECT);
            /* the done handler may have ended other transfers: start over */
            next = ngx_queue_head(&ngx_http_intercom_oauth_curl_transfers);
        }
    }
}


/*
 * Gives the connection back to nginx without closing the descriptor:
 * curl's close callback (or curl itself, for sockets it made) closes it.
 * "closed": the descriptor is closed already, so epoll is not asked.
 */

static void
ngx_http_intercom_oauth_curl_release(ngx_connection_t *c, ngx_uint_t closed)
{
    if (c->data == NGX_HTTP_INTERCOM_OAUTH_CURL_OWNED
        && ngx_http_intercom_oauth_curl_nsockets)
    {
        ngx_http_intercom_oauth_curl_nsockets--;
    }

    if (c->fd != (ngx_socket_t) -1
        && (ngx_uint_t) c->fd < ngx_http_intercom_oauth_curl_nfds
        && ngx_http_intercom_oauth_curl_fds[c->fd].connection == c)
    {
        ngx_http_intercom_oauth_curl_fds[c->fd].connection = NULL;
    }

    ngx_http_intercom_oauth_socket_release(c, closed);
}


static int
ngx_http_intercom_oauth_curl_timer(CURLM *multi, long timeout_ms,
    void *userp)
{
    ngx_event_t  *ev;

    ev = &ngx_http_intercom_oauth_curl_timer_event;

    if (timeout_ms < 0) {
        if (ev->timer_set) {
            ngx_del_timer(ev);
        }

        return 0;
    }

    if (timeout_ms == 0) {
        /* curl must not be called back from inside this callback */
        if (!ev->posted) {
            ngx_post_event(ev, &ngx_posted_events);
        }

        return 0;
    }

    ngx_add_timer(ev, (ngx_msec_t) timeout_ms);

    return 0;
}


static void
ngx_http_intercom_oauth_curl_timer_handler(ngx_event_t *ev)
{
    int  running;

    if (ngx_http_intercom_oauth_curl_multi == NULL) {
        return;
    }

    (void) curl_multi_socket_action(ngx_http_intercom_oauth_curl_multi,
                                    CURL_SOCKET_TIMEOUT, 0, &running);

    ngx_http_intercom_oauth_curl_check();
}


static void
ngx_http_intercom_oauth_curl_event_handler(ngx_event_t *ev)
{
    int                running;
    ngx_socket_t       fd;
    ngx_connection_t  *c;

    c = ev->data;
    fd = c->fd;

    if (fd == (ngx_socket_t) -1 || ngx_http_intercom_oauth_curl_multi == NULL) {
        return;
    }

    /* c may be released inside curl_multi_socket_action(): not used after */
    (void) curl_multi_socket_action(ngx_http_intercom_oauth_curl_multi, fd,
                                    ev->write ? CURL_CSELECT_OUT
                                              : CURL_CSELECT_IN,
                                    &running);

    ngx_http_intercom_oauth_curl_check();
}


static void
ngx_http_intercom_oauth_curl_check(void)
{
    int                              left;
    CURL                            *easy;
    CURLMsg                         *msg;
    CURLcode                         result;
    ngx_http_intercom_oauth_curl_t  *t;

    for ( ;; ) {
        msg = curl_multi_info_read(ngx_http_intercom_oauth_curl_multi, &left);

        if (msg == NULL) {
            break;
        }


        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        result = msg->data.result;
        t = NULL;

        (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &t);

        if (t == NULL) {
            continue;
        }

        ngx_http_intercom_oauth_curl_finish(t, result);
    }
}


static void
ngx_http_intercom_oauth_curl_finish(ngx_http_intercom_oauth_curl_t *t,
    CURLcode result)
{
    long                             status, version;
    ngx_http_intercom_oauth_call_t  *call;

    call = &t->call;
    status = 0;
    version = 0;

    if (t->easy) {
        (void) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        (void) curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &version);
    }

    if (version >= CURL_HTTP_VERSION_2_0) {
        ngx_http_intercom_oauth_curl_multiplexed = 1;

    } else if (version && t->tls) {
        ngx_http_intercom_oauth_curl_http1 = 1;
    }

    call->status = status;
    call->elapsed = ngx_current_msec - call->started;

    if (result == CURLE_OK) {
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_OK;

    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT;

    } else if (call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE
               || result == CURLE_FILESIZE_EXCEEDED)
    {
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE;

    } else {
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_FAILED;
    }

    if (result != CURLE_OK && !t->doomed) {
        /* curl's own words name the host, never the body we sent */
        ngx_cpystrn((u_char *) call->error,
                    (u_char *) curl_easy_strerror(result),
                    sizeof(call->error));
    }

    ngx_http_intercom_oauth_curl_free(t);

    /* what curl was doing is not what the caller logs about */
    call->request->connection->log->action = NULL;

    ngx_http_intercom_oauth_resume(call->request,
                                   call->done(call->request, call));
}


static void
ngx_http_intercom_oauth_curl_free(ngx_http_intercom_oauth_curl_t *t)
{
    ngx_uint_t          added;
    struct curl_slist  *h;

    added = t->added;

    if (t->added) {
        t->added = 0;
        ngx_queue_remove(&t->queue);
        ngx_http_intercom_oauth_curl_ntransfers--;

    } else if (t->pending) {
        t->pending = 0;
        ngx_queue_remove(&t->queue);
    }

    ngx_http_intercom_oauth_curl_busy();

    if (t->easy) {
        if (added) {
            (void) curl_multi_remove_handle(
                                 ngx_http_intercom_oauth_curl_multi, t->easy);
        }

        if (ngx_http_intercom_oauth_curl_multi
            && ngx_http_intercom_oauth_curl_nspare
               < NGX_HTTP_INTERCOM_OAUTH_CURL_SPARE)
        {
            /* forgets every option, the bearer header's pointer included */
            curl_easy_reset(t->easy);
            ngx_http_intercom_oauth_curl_spare[
                         ngx_http_intercom_oauth_curl_nspare++] = t->easy;

        } else {
            curl_easy_cleanup(t->easy);
        }

        t->easy = NULL;

        /*
         * A transfer removed in the middle of its TLS handshake (the
         * browser went away) makes libcurl's SSL_shutdown() leave an
         * error in the thread's OpenSSL error queue, which nginx shares:
         * its next TLS operation would log it as an alert ("ignoring
         * stale global SSL error").
         */
        ERR_clear_error();
    }

    if (t->headers) {
        /* curl's copy of the bearer line */
        for (h = t->headers; h; h = h->next) {
            ngx_explicit_memzero(h->data, ngx_strlen(h->data));
        }

        curl_slist_free_all(t->headers);
        t->headers = NULL;
    }
}


/*
 * The headers every call sends: JSON wanted, no "Expect: 100-continue"
 * pause (the body is a few hundred bytes).  A POST's form type is left to
 * libcurl, which sends this very "Content-Type" for CURLOPT_POSTFIELDS by
 * copying a constant, where a header of the list goes through its printf
 * byte by byte (about 3,000 instructions per call).
 */

static ngx_int_t
ngx_http_intercom_oauth_curl_headers(struct curl_slist **list)
{
    struct curl_slist  *h;

    h = curl_slist_append(NULL, "Accept: application/json");

    if (h && curl_slist_append(h, "Expect:") == NULL) {
        curl_slist_free_all(h);
        h = NULL;
    }

    *list = h;

    return h ? NGX_OK : NGX_ERROR;
}


/* the request went away (client closed, worker exiting) before the end */

static void
ngx_http_intercom_oauth_curl_cleanup(void *data)
{
    ngx_http_intercom_oauth_curl_t  *t = data;

    if (t->easy || t->pending) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "intercom oauth: transfer abandoned by its request");
    }

    ngx_http_intercom_oauth_curl_free(t);
}


char *
ngx_http_intercom_oauth_curl_ca_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t        *value;
    ngx_file_info_t   fi;

    if (olcf->ca_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    olcf->ca_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &olcf->ca_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* curl reads it per transfer; a typo should fail "nginx -t" instead */
    if (ngx_file_info(olcf->ca_file.data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"intercom_oauth_ca_file\": cannot stat \"%V\"",
                           &olcf->ca_file);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_intercom_oauth_curl_proxy(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *proxy = data;

    static char  *schemes[] = { "http://", "https://", "socks5://",
                                "socks5h://", NULL };

    char  **s;

    if (proxy->len == 0) {
        return NGX_CONF_OK;
    }

    for (s = schemes; *s; s++) {
        if (ngx_strncasecmp(proxy->data, (u_char *) *s, ngx_strlen(*s))
            == 0)
        {
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"intercom_oauth_proxy\" must be an http://, "
                       "https://, socks5:// or socks5h:// URL, "
                       "not \"%V\"", proxy);

    return NGX_CONF_ERROR;
}
