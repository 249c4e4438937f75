
/*
 * libcurl's multi interface on nginx's event loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); nginx tells curl when a socket
 * is ready (curl_multi_socket_action).  Each socket curl watches gets an
 * nginx connection from the worker's free list so that the event module can
 * carry it.  Events are level-triggered: curl does not promise to read a
 * socket dry, and an edge-triggered event would then never fire again.
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
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <curl/curl.h>

#include "ngx_http_intercom_oauth_exchange.h"
#include "ngx_http_intercom_oauth_subrequest.h"


#define NGX_HTTP_INTERCOM_OAUTH_USER_AGENT                                    \
    "ngx_http_intercom_oauth_module/" NGX_HTTP_INTERCOM_OAUTH_VERSION


static int ngx_http_intercom_oauth_exchange_socket(CURL *easy,
    curl_socket_t s, int what, void *userp, void *socketp);
static int ngx_http_intercom_oauth_exchange_timer(CURLM *multi,
    long timeout_ms, void *userp);
static void ngx_http_intercom_oauth_exchange_timer_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_exchange_event_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_exchange_release(ngx_connection_t *c,
    ngx_uint_t closed);
static ngx_uint_t ngx_http_intercom_oauth_exchange_gone(curl_socket_t s);
static void ngx_http_intercom_oauth_exchange_check(void);
static void ngx_http_intercom_oauth_exchange_finish(
    ngx_http_intercom_oauth_exchange_t *ex, CURLcode result);
static void ngx_http_intercom_oauth_exchange_cleanup(void *data);
static void ngx_http_intercom_oauth_exchange_free(
    ngx_http_intercom_oauth_exchange_t *ex);
static size_t ngx_http_intercom_oauth_exchange_write(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static char *ngx_http_intercom_oauth_exchange_cstr(ngx_pool_t *pool,
    ngx_str_t *s);
static ngx_int_t ngx_http_intercom_oauth_exchange_headers(ngx_uint_t post,
    struct curl_slist **list);
static curl_socket_t ngx_http_intercom_oauth_exchange_open(void *clientp,
    curlsocktype purpose, struct curl_sockaddr *address);
static int ngx_http_intercom_oauth_exchange_close(void *clientp,
    curl_socket_t s);
static ngx_connection_t *ngx_http_intercom_oauth_exchange_connection(
    curl_socket_t s);
static ngx_int_t ngx_http_intercom_oauth_exchange_remember(curl_socket_t s,
    ngx_connection_t *c);
static void ngx_http_intercom_oauth_exchange_doom(CURL *easy,
    const char *why);
static void ngx_http_intercom_oauth_exchange_doom_handler(ngx_event_t *ev);


/* one multi handle per worker process */
static CURLM             *ngx_http_intercom_oauth_multi;

/*
 * Finished easy handles are reset and kept for the next transfer: creating
 * one (curl_easy_init) and freeing it were a tenth of the callback's
 * instructions (bench/RESULTS.md).  Connections live in the multi handle's
 * cache either way.
 */
#define NGX_HTTP_INTERCOM_OAUTH_SPARE_EASY  64

static CURL              *ngx_http_intercom_oauth_spare[
                                          NGX_HTTP_INTERCOM_OAUTH_SPARE_EASY];
static ngx_uint_t         ngx_http_intercom_oauth_nspare;

/* the request headers of calls without a bearer token, built once */
static struct curl_slist *ngx_http_intercom_oauth_get_headers;
static struct curl_slist *ngx_http_intercom_oauth_post_headers;
static ngx_event_t        ngx_http_intercom_oauth_timer_event;
static ngx_event_t        ngx_http_intercom_oauth_doom_event;
static ngx_uint_t         ngx_http_intercom_oauth_global_init;

/* transfers under way, each with its request */
static ngx_queue_t        ngx_http_intercom_oauth_transfers;
static ngx_uint_t         ngx_http_intercom_oauth_ntransfers;

/* the nginx connection of each of curl's sockets, by descriptor */
typedef struct {
    ngx_connection_t     *connection;
    ino_t                 inode;
} ngx_http_intercom_oauth_fd_t;

static ngx_http_intercom_oauth_fd_t  *ngx_http_intercom_oauth_fds;
static ngx_uint_t                     ngx_http_intercom_oauth_nfds;

/* an easy handle's private pointer marks sockets the module opened */
#define NGX_HTTP_INTERCOM_OAUTH_OWNED  ((void *) &ngx_http_intercom_oauth_fds)


ngx_int_t
ngx_http_intercom_oauth_exchange_init_process(ngx_cycle_t *cycle)
{
    CURLM  *multi;

    if (!ngx_http_intercom_oauth_global_init) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "intercom oauth: curl_global_init() failed");
            return NGX_ERROR;
        }

        ngx_http_intercom_oauth_global_init = 1;
    }

    if (ngx_http_intercom_oauth_exchange_headers(0,
                                         &ngx_http_intercom_oauth_get_headers)
        != NGX_OK
        || ngx_http_intercom_oauth_exchange_headers(1,
                                        &ngx_http_intercom_oauth_post_headers)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "intercom oauth: curl_slist_append() failed");
        return NGX_ERROR;
    }

    multi = curl_multi_init();
    if (multi == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "intercom oauth: curl_multi_init() failed");
        return NGX_ERROR;
    }

    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_http_intercom_oauth_exchange_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
                      ngx_http_intercom_oauth_exchange_timer);

    /* idle keep-alive connections to the token endpoint, per worker */
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 64L);

    ngx_memzero(&ngx_http_intercom_oauth_timer_event, sizeof(ngx_event_t));
    ngx_http_intercom_oauth_timer_event.handler =
                               ngx_http_intercom_oauth_exchange_timer_handler;
    ngx_http_intercom_oauth_timer_event.log = cycle->log;
    ngx_http_intercom_oauth_timer_event.data = cycle;

    /*
     * The timer is cancelable only while no transfer runs: a graceful
     * shutdown or reload must wait for the exchanges in flight, whose codes
     * are already spent, and nothing else holds the worker for them.
     */
    ngx_http_intercom_oauth_timer_event.cancelable = 1;

    ngx_memzero(&ngx_http_intercom_oauth_doom_event, sizeof(ngx_event_t));
    ngx_http_intercom_oauth_doom_event.handler =
                                ngx_http_intercom_oauth_exchange_doom_handler;
    ngx_http_intercom_oauth_doom_event.log = cycle->log;
    ngx_http_intercom_oauth_doom_event.data = cycle;

    ngx_queue_init(&ngx_http_intercom_oauth_transfers);
    ngx_http_intercom_oauth_ntransfers = 0;

    ngx_http_intercom_oauth_multi = multi;

    return NGX_OK;
}


void
ngx_http_intercom_oauth_exchange_exit_process(ngx_cycle_t *cycle)
{
    ngx_event_t  *ev;

    if (ngx_http_intercom_oauth_multi == NULL) {
        return;
    }

    ev = &ngx_http_intercom_oauth_timer_event;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    if (ev->posted) {
        ngx_delete_posted_event(ev);
    }

    if (ngx_http_intercom_oauth_doom_event.posted) {
        ngx_delete_posted_event(&ngx_http_intercom_oauth_doom_event);
    }

    while (ngx_http_intercom_oauth_nspare) {
        ngx_http_intercom_oauth_nspare--;
        curl_easy_cleanup(
                   ngx_http_intercom_oauth_spare[ngx_http_intercom_oauth_nspare]);
    }

    /* the requests are gone; their cleanups removed their transfers */
    curl_multi_cleanup(ngx_http_intercom_oauth_multi);
    ngx_http_intercom_oauth_multi = NULL;

    curl_slist_free_all(ngx_http_intercom_oauth_get_headers);
    curl_slist_free_all(ngx_http_intercom_oauth_post_headers);
    ngx_http_intercom_oauth_get_headers = NULL;
    ngx_http_intercom_oauth_post_headers = NULL;

    if (ngx_http_intercom_oauth_fds) {
        ngx_free(ngx_http_intercom_oauth_fds);
        ngx_http_intercom_oauth_fds = NULL;
        ngx_http_intercom_oauth_nfds = 0;
    }

    if (ngx_http_intercom_oauth_global_init) {
        curl_global_cleanup();
        ngx_http_intercom_oauth_global_init = 0;
    }
}


ngx_int_t
ngx_http_intercom_oauth_exchange_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_exchange_params_t *params,
    ngx_http_intercom_oauth_exchange_done_pt done,
    ngx_http_intercom_oauth_exchange_t **exp)
{
    u_char                              *p;
    char                                *url, *s;
    CURL                                *easy;
    CURLMcode                            mrc;
    ngx_str_t                            auth;
    ngx_pool_cleanup_t                  *cln;
    struct curl_slist                   *headers, *h;
    ngx_http_intercom_oauth_exchange_t  *ex;

    if (params->url.len && params->url.data[0] == '/') {
        /* a location of this server: nginx's own upstreams carry it */
        return ngx_http_intercom_oauth_subrequest_start(r, params, done, exp);
    }

    if (ngx_http_intercom_oauth_multi == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: no curl multi handle in this process");
        return NGX_ERROR;
    }

    ex = ngx_pcalloc(r->pool, sizeof(ngx_http_intercom_oauth_exchange_t));
    if (ex == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    url = ngx_http_intercom_oauth_exchange_cstr(r->pool, &params->url);
    if (url == NULL) {
        return NGX_ERROR;
    }

    ex->request = r;
    ex->done = done;
    ex->max_response = params->max_response;

    easy = ngx_http_intercom_oauth_nspare
           ? ngx_http_intercom_oauth_spare[--ngx_http_intercom_oauth_nspare]
           : curl_easy_init();

    if (easy == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: curl_easy_init() failed");
        return NGX_ERROR;
    }

    ex->easy = easy;

    /* from here on the cleanup frees the handle whatever happens */
    cln->handler = ngx_http_intercom_oauth_exchange_cleanup;
    cln->data = ex;

    if (params->bearer.len == 0) {
        headers = params->post ? ngx_http_intercom_oauth_post_headers
                               : ngx_http_intercom_oauth_get_headers;

    } else {
        /* this transfer's own list: freed with it, token wiped from pool */
        if (ngx_http_intercom_oauth_exchange_headers(params->post,
                                                     (struct curl_slist **)
                                                         &ex->headers)
            != NGX_OK)
        {
            goto failed;
        }

        headers = ex->headers;

        auth.len = sizeof("Authorization: Bearer ") - 1 + params->bearer.len;
        auth.data = ngx_pnalloc(r->pool, auth.len + 1);
        if (auth.data == NULL) {
            goto failed;
        }

        p = ngx_cpymem(auth.data, "Authorization: Bearer ",
                       sizeof("Authorization: Bearer ") - 1);
        p = ngx_cpymem(p, params->bearer.data, params->bearer.len);
        *p = '\0';

        h = curl_slist_append(headers, (char *) auth.data);

        /* the copy in the pool is no longer needed */
        ngx_explicit_memzero(auth.data, auth.len);

        if (h == NULL) {
            goto failed;
        }
    }

    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, ex);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION,
                     ngx_http_intercom_oauth_exchange_open);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, ex);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION,
                     ngx_http_intercom_oauth_exchange_close);

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
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
                     ngx_http_intercom_oauth_exchange_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, ex);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) params->timeout);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) params->timeout);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) params->max_response);

    /* a redirect from the token endpoint is an error, never followed */
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);

#if (LIBCURL_VERSION_NUM >= 0x075500)
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS,
                     (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif

    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);

    if (params->ca_file.len) {
        s = ngx_http_intercom_oauth_exchange_cstr(r->pool, &params->ca_file);
        if (s == NULL) {
            goto failed;
        }

        curl_easy_setopt(easy, CURLOPT_CAINFO, s);
    }

    /* "" turns off the http_proxy environment variables too */
    s = ngx_http_intercom_oauth_exchange_cstr(r->pool, &params->proxy);
    if (s == NULL) {
        goto failed;
    }

    curl_easy_setopt(easy, CURLOPT_PROXY, s);

    if (params->post) {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) params->body.len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                         params->body.len ? (char *) params->body.data : "");
    }

    ex->started = ngx_current_msec;

    mrc = curl_multi_add_handle(ngx_http_intercom_oauth_multi, easy);

    if (mrc != CURLM_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: curl_multi_add_handle() failed: %s",
                      curl_multi_strerror(mrc));
        goto failed;
    }

    ex->added = 1;
    ngx_queue_insert_tail(&ngx_http_intercom_oauth_transfers, &ex->queue);

    if (ngx_http_intercom_oauth_ntransfers++ == 0) {
        ngx_http_intercom_oauth_timer_event.cancelable = 0;
    }

    *exp = ex;

    return NGX_OK;

failed:

    ngx_http_intercom_oauth_exchange_free(ex);

    return NGX_ERROR;
}


static char *
ngx_http_intercom_oauth_exchange_cstr(ngx_pool_t *pool, ngx_str_t *s)
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
ngx_http_intercom_oauth_exchange_write(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_intercom_oauth_exchange_t  *ex = userdata;

    u_char  *p;
    size_t   n, want;

    n = size * nmemb;

    if (n > ex->max_response - ex->len) {
        ex->rc = NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TOO_LARGE;
        return 0;
    }

    if (ex->len + n > ex->size) {
        want = ngx_max(ex->size * 2, 1024);

        while (want < ex->len + n) {
            want *= 2;
        }

        want = ngx_min(want, ex->max_response);

        p = ngx_pnalloc(ex->request->pool, want);
        if (p == NULL) {
            return 0;
        }

        if (ex->len) {
            ngx_memcpy(p, ex->body, ex->len);
        }

        ex->body = p;
        ex->size = want;
    }

    ngx_memcpy(ex->body + ex->len, ptr, n);
    ex->len += n;

    return n;
}


static curl_socket_t
ngx_http_intercom_oauth_exchange_open(void *clientp, curlsocktype purpose,
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
    c = ngx_get_connection(s, ngx_cycle->log);

    if (c == NULL) {
        (void) ngx_close_socket(s);
        return CURL_SOCKET_BAD;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "intercom oauth: curl opens socket %d", (int) s);

    c->data = NGX_HTTP_INTERCOM_OAUTH_OWNED;
    c->read->handler = ngx_http_intercom_oauth_exchange_event_handler;
    c->write->handler = ngx_http_intercom_oauth_exchange_event_handler;
    c->read->log = c->log;
    c->write->log = c->log;

    if (ngx_http_intercom_oauth_exchange_remember(s, c) != NGX_OK) {
        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
        (void) ngx_close_socket(s);
        return CURL_SOCKET_BAD;
    }

    return s;
}


static int
ngx_http_intercom_oauth_exchange_close(void *clientp, curl_socket_t s)
{
    ngx_connection_t  *c;

    c = ngx_http_intercom_oauth_exchange_connection(s);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "intercom oauth: curl closes socket %d (connection %p)",
                   (int) s, c);

    if (c) {
        /* events go while the descriptor is still open */
        ngx_http_intercom_oauth_exchange_release(c, 0);
    }

    if (ngx_close_socket(s) == -1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_socket_errno,
                      "intercom oauth: " ngx_close_socket_n " failed");
        return 1;
    }

    return 0;
}


static ngx_connection_t *
ngx_http_intercom_oauth_exchange_connection(curl_socket_t s)
{
    if (s < 0 || (ngx_uint_t) s >= ngx_http_intercom_oauth_nfds) {
        return NULL;
    }

    return ngx_http_intercom_oauth_fds[s].connection;
}


static ngx_int_t
ngx_http_intercom_oauth_exchange_remember(curl_socket_t s,
    ngx_connection_t *c)
{
    ngx_uint_t                     n;
    ngx_file_info_t                fi;
    ngx_http_intercom_oauth_fd_t  *fds;

    if (ngx_fd_info(s, &fi) == NGX_FILE_ERROR) {
        return NGX_ERROR;
    }

    if ((ngx_uint_t) s >= ngx_http_intercom_oauth_nfds) {
        n = ngx_max(64, ngx_http_intercom_oauth_nfds * 2);

        while (n <= (ngx_uint_t) s) {
            n *= 2;
        }

        fds = ngx_calloc(n * sizeof(ngx_http_intercom_oauth_fd_t),
                         ngx_cycle->log);
        if (fds == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_intercom_oauth_fds) {
            ngx_memcpy(fds, ngx_http_intercom_oauth_fds,
                       ngx_http_intercom_oauth_nfds
                       * sizeof(ngx_http_intercom_oauth_fd_t));
            ngx_free(ngx_http_intercom_oauth_fds);
        }

        ngx_http_intercom_oauth_fds = fds;
        ngx_http_intercom_oauth_nfds = n;
    }

    if (ngx_http_intercom_oauth_fds[s].connection) {
        /* closed by curl without the callback: epoll forgot it already */
        ngx_http_intercom_oauth_exchange_release(
                               ngx_http_intercom_oauth_fds[s].connection, 1);
    }

    ngx_http_intercom_oauth_fds[s].connection = c;
    ngx_http_intercom_oauth_fds[s].inode = fi.st_ino;

    return NGX_OK;
}


/* whether descriptor s is no longer the socket it was when remembered */

static ngx_uint_t
ngx_http_intercom_oauth_exchange_gone(curl_socket_t s)
{
    ngx_file_info_t  fi;

    if (ngx_fd_info(s, &fi) == NGX_FILE_ERROR) {
        return 1;
    }

    return fi.st_ino != ngx_http_intercom_oauth_fds[s].inode;
}


static int
ngx_http_intercom_oauth_exchange_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_connection_t  *c;

    c = ngx_http_intercom_oauth_exchange_connection(s);

    if (what == CURL_POLL_REMOVE) {
        if (c == NULL) {
            return 0;
        }

        if (ngx_http_intercom_oauth_exchange_gone(s)) {
            ngx_http_intercom_oauth_exchange_release(c, 1);

        } else if (c->data == NGX_HTTP_INTERCOM_OAUTH_OWNED) {
            /* the connection stays until the socket is closed */
            if (c->read->active) {
                (void) ngx_del_event(c->read, NGX_READ_EVENT,
                                     NGX_LEVEL_EVENT);
            }

            if (c->write->active) {
                (void) ngx_del_event(c->write, NGX_WRITE_EVENT,
                                     NGX_LEVEL_EVENT);
            }

        } else {
            ngx_http_intercom_oauth_exchange_release(c, 0);
        }

        return 0;
    }

    if (c == NULL) {
        /* a socket curl made itself, e.g. the resolver's wake-up pair */
        c = ngx_get_connection(s, ngx_cycle->log);
        if (c == NULL) {
            ngx_http_intercom_oauth_exchange_doom(easy,
                                         "worker_connections are not enough");
            return 0;
        }

        c->data = NULL;
        c->read->handler = ngx_http_intercom_oauth_exchange_event_handler;
        c->write->handler = ngx_http_intercom_oauth_exchange_event_handler;
        c->read->log = c->log;
        c->write->log = c->log;

        if (ngx_http_intercom_oauth_exchange_remember(s, c) != NGX_OK) {
            ngx_free_connection(c);
            c->fd = (ngx_socket_t) -1;
            ngx_http_intercom_oauth_exchange_doom(easy, "out of memory");
            return 0;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "intercom oauth: curl socket %d wants %d", (int) s, what);

    /*
     * A failure here must end this transfer only: returning -1 would make
     * curl fail every transfer of the worker.
     */

    if (what & CURL_POLL_IN) {
        if (!c->read->active
            && ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
               != NGX_OK)
        {
            ngx_http_intercom_oauth_exchange_doom(easy, "epoll_ctl() failed");
            return 0;
        }

    } else if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }

    if (what & CURL_POLL_OUT) {
        if (!c->write->active
            && ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
               != NGX_OK)
        {
            ngx_http_intercom_oauth_exchange_doom(easy, "epoll_ctl() failed");
            return 0;
        }

    } else if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }

    return 0;
}


/*
 * Marks a transfer that cannot go on; it is ended from a posted event,
 * since curl must not be called back from inside its own callbacks.
 */

static void
ngx_http_intercom_oauth_exchange_doom(CURL *easy, const char *why)
{
    ngx_http_intercom_oauth_exchange_t  *ex;

    ex = NULL;

    (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &ex);

    if (ex == NULL || ex->doomed) {
        return;
    }

    ex->doomed = 1;
    ngx_cpystrn((u_char *) ex->error, (u_char *) why, sizeof(ex->error));

    if (!ngx_http_intercom_oauth_doom_event.posted) {
        ngx_post_event(&ngx_http_intercom_oauth_doom_event,
                       &ngx_posted_events);
    }
}


static void
ngx_http_intercom_oauth_exchange_doom_handler(ngx_event_t *ev)
{
    ngx_queue_t                         *q, *next;
    ngx_http_intercom_oauth_exchange_t  *ex;

    for (q = ngx_queue_head(&ngx_http_intercom_oauth_transfers);
         q != ngx_queue_sentinel(&ngx_http_intercom_oauth_transfers);
         q = next)
    {
        next = ngx_queue_next(q);
        ex = ngx_queue_data(q, ngx_http_intercom_oauth_exchange_t, queue);

        if (ex->doomed) {
            ngx_http_intercom_oauth_exchange_finish(ex,
                                                    CURLE_COULDNT_CONNECT);
            /* the done handler may have ended other transfers: start over */
            next = ngx_queue_head(&ngx_http_intercom_oauth_transfers);
        }
    }
}


/*
 * Gives the connection back to nginx without closing the descriptor:
 * curl's close callback (or curl itself, for sockets it made) closes it.
 * "closed": the descriptor is closed already, so epoll is not asked.
 */

static void
ngx_http_intercom_oauth_exchange_release(ngx_connection_t *c,
    ngx_uint_t closed)
{
    if (c->fd != (ngx_socket_t) -1
        && (ngx_uint_t) c->fd < ngx_http_intercom_oauth_nfds
        && ngx_http_intercom_oauth_fds[c->fd].connection == c)
    {
        ngx_http_intercom_oauth_fds[c->fd].connection = NULL;
    }

    ngx_http_intercom_oauth_connection_release(c, closed);
}


void
ngx_http_intercom_oauth_connection_release(ngx_connection_t *c,
    ngx_uint_t closed)
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


static int
ngx_http_intercom_oauth_exchange_timer(CURLM *multi, long timeout_ms,
    void *userp)
{
    ngx_event_t  *ev;

    ev = &ngx_http_intercom_oauth_timer_event;

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
ngx_http_intercom_oauth_exchange_timer_handler(ngx_event_t *ev)
{
    int  running;

    if (ngx_http_intercom_oauth_multi == NULL) {
        return;
    }

    (void) curl_multi_socket_action(ngx_http_intercom_oauth_multi,
                                    CURL_SOCKET_TIMEOUT, 0, &running);

    ngx_http_intercom_oauth_exchange_check();
}


static void
ngx_http_intercom_oauth_exchange_event_handler(ngx_event_t *ev)
{
    int                running;
    ngx_socket_t       fd;
    ngx_connection_t  *c;

    c = ev->data;
    fd = c->fd;

    if (fd == (ngx_socket_t) -1 || ngx_http_intercom_oauth_multi == NULL) {
        return;
    }

    /* c may be released inside curl_multi_socket_action(): not used after */
    (void) curl_multi_socket_action(ngx_http_intercom_oauth_multi, fd,
                                    ev->write ? CURL_CSELECT_OUT
                                              : CURL_CSELECT_IN,
                                    &running);

    ngx_http_intercom_oauth_exchange_check();
}


static void
ngx_http_intercom_oauth_exchange_check(void)
{
    int                                  left;
    CURL                                *easy;
    CURLMsg                             *msg;
    CURLcode                             result;
    ngx_http_intercom_oauth_exchange_t  *ex;

    while ((msg = curl_multi_info_read(ngx_http_intercom_oauth_multi, &left))) {

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        result = msg->data.result;
        ex = NULL;

        (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &ex);

        if (ex == NULL) {
            continue;
        }

        ngx_http_intercom_oauth_exchange_finish(ex, result);
    }
}


static void
ngx_http_intercom_oauth_exchange_finish(ngx_http_intercom_oauth_exchange_t *ex,
    CURLcode result)
{
    long                 status;
    ngx_http_request_t  *r;

    r = ex->request;
    status = 0;

    (void) curl_easy_getinfo(ex->easy, CURLINFO_RESPONSE_CODE, &status);

    ex->status = status;
    ex->elapsed = ngx_current_msec - ex->started;

    if (result == CURLE_OK) {
        ex->rc = NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_OK;

    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        ex->rc = NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TIMEOUT;

    } else if (ex->rc == NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TOO_LARGE
               || result == CURLE_FILESIZE_EXCEEDED)
    {
        ex->rc = NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TOO_LARGE;

    } else {
        ex->rc = NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_FAILED;
    }

    if (result != CURLE_OK && !ex->doomed) {
        /* curl's own words name the host, never the body we sent */
        ngx_cpystrn((u_char *) ex->error,
                    (u_char *) curl_easy_strerror(result),
                    sizeof(ex->error));
    }

    ngx_http_intercom_oauth_exchange_free(ex);

    ex->done(r, ex);
}


static void
ngx_http_intercom_oauth_exchange_free(ngx_http_intercom_oauth_exchange_t *ex)
{
    if (ex->added) {
        ex->added = 0;
        ngx_queue_remove(&ex->queue);

        if (--ngx_http_intercom_oauth_ntransfers == 0) {
            ngx_http_intercom_oauth_timer_event.cancelable = 1;
        }
    }

    if (ex->easy) {
        (void) curl_multi_remove_handle(ngx_http_intercom_oauth_multi,
                                        ex->easy);

        if (ngx_http_intercom_oauth_multi
            && ngx_http_intercom_oauth_nspare
               < NGX_HTTP_INTERCOM_OAUTH_SPARE_EASY)
        {
            /* forgets every option, the bearer header's pointer included */
            curl_easy_reset(ex->easy);
            ngx_http_intercom_oauth_spare[ngx_http_intercom_oauth_nspare++] =
                                                                     ex->easy;

        } else {
            curl_easy_cleanup(ex->easy);
        }

        ex->easy = NULL;
    }

    if (ex->headers) {
        curl_slist_free_all(ex->headers);
        ex->headers = NULL;
    }
}


/*
 * The headers every call sends: JSON wanted, no "Expect: 100-continue"
 * pause (the body is a few hundred bytes), and a form's type for a POST.
 */

static ngx_int_t
ngx_http_intercom_oauth_exchange_headers(ngx_uint_t post,
    struct curl_slist **list)
{
    struct curl_slist  *h;

    h = curl_slist_append(NULL, "Accept: application/json");

    if (h && curl_slist_append(h, "Expect:") == NULL) {
        curl_slist_free_all(h);
        h = NULL;
    }

    if (h && post
        && curl_slist_append(h, "Content-Type: "
                                "application/x-www-form-urlencoded")
           == NULL)
    {
        curl_slist_free_all(h);
        h = NULL;
    }

    *list = h;

    return h ? NGX_OK : NGX_ERROR;
}


/* the request went away (client closed, worker exiting) before the end */

static void
ngx_http_intercom_oauth_exchange_cleanup(void *data)
{
    ngx_http_intercom_oauth_exchange_t  *ex = data;

    if (ex->easy) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "intercom oauth: transfer abandoned by its request");
    }

    ngx_http_intercom_oauth_exchange_free(ex);
}
