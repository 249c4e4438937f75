
/*
 * libcurl's multi interface on nginx's event loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); nginx tells curl when a socket
 * is ready (curl_multi_socket_action).  Each socket curl watches gets an
 * nginx connection from the worker's free list so that the event module can
 * carry it.  Events are level-triggered: curl does not promise to read a
 * socket dry, and an edge-triggered event would then never fire again.
 */


#include <curl/curl.h>

#include "ngx_http_intercom_oauth_exchange.h"


#define NGX_HTTP_INTERCOM_OAUTH_USER_AGENT                                    \
    "ngx_http_intercom_oauth_module/" NGX_HTTP_INTERCOM_OAUTH_VERSION


static int ngx_http_intercom_oauth_exchange_socket(CURL *easy,
    curl_socket_t s, int what, void *userp, void *socketp);
static int ngx_http_intercom_oauth_exchange_timer(CURLM *multi,
    long timeout_ms, void *userp);
static void ngx_http_intercom_oauth_exchange_timer_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_exchange_event_handler(ngx_event_t *ev);
static void ngx_http_intercom_oauth_exchange_release(ngx_connection_t *c);
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


/* one multi handle per worker process */
static CURLM        *ngx_http_intercom_oauth_multi;
static ngx_event_t   ngx_http_intercom_oauth_timer_event;
static ngx_uint_t    ngx_http_intercom_oauth_global_init;


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

    /* pending transfers hold their requests; the timer alone holds none */
    ngx_http_intercom_oauth_timer_event.cancelable = 1;

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

    curl_multi_cleanup(ngx_http_intercom_oauth_multi);
    ngx_http_intercom_oauth_multi = NULL;

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

    easy = curl_easy_init();
    if (easy == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: curl_easy_init() failed");
        return NGX_ERROR;
    }

    ex->easy = easy;

    /* from here on the cleanup frees the handle whatever happens */
    cln->handler = ngx_http_intercom_oauth_exchange_cleanup;
    cln->data = ex;

    headers = NULL;

    h = curl_slist_append(headers, "Accept: application/json");
    if (h == NULL) {
        goto failed;
    }

    headers = h;
    ex->headers = headers;

    /* the body is a few hundred bytes: no "Expect: 100-continue" pause */
    h = curl_slist_append(headers, "Expect:");
    if (h == NULL) {
        goto failed;
    }

    if (params->post) {
        h = curl_slist_append(headers, "Content-Type: "
                              "application/x-www-form-urlencoded");
        if (h == NULL) {
            goto failed;
        }
    }

    if (params->bearer.len) {
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


static int
ngx_http_intercom_oauth_exchange_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_connection_t  *c = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (c) {
            curl_multi_assign(ngx_http_intercom_oauth_multi, s, NULL);
            ngx_http_intercom_oauth_exchange_release(c);
        }

        return 0;
    }

    if (c == NULL) {
        c = ngx_get_connection(s, ngx_cycle->log);
        if (c == NULL) {
            return -1;
        }

        c->read->handler = ngx_http_intercom_oauth_exchange_event_handler;
        c->write->handler = ngx_http_intercom_oauth_exchange_event_handler;
        c->read->log = c->log;
        c->write->log = c->log;

        curl_multi_assign(ngx_http_intercom_oauth_multi, s, c);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "intercom oauth: curl socket %d wants %d", (int) s, what);

    if (what & CURL_POLL_IN) {
        if (!c->read->active
            && ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
               != NGX_OK)
        {
            return -1;
        }

    } else if (c->read->active) {
        if (ngx_del_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return -1;
        }
    }

    if (what & CURL_POLL_OUT) {
        if (!c->write->active
            && ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
               != NGX_OK)
        {
            return -1;
        }

    } else if (c->write->active) {
        if (ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return -1;
        }
    }

    return 0;
}


/*
 * Gives the connection back to nginx without closing the descriptor:
 * the socket is curl's, and curl closes it (or keeps it for reuse).
 */

static void
ngx_http_intercom_oauth_exchange_release(ngx_connection_t *c)
{
    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
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

    if (result != CURLE_OK) {
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
    if (ex->easy) {
        (void) curl_multi_remove_handle(ngx_http_intercom_oauth_multi,
                                        ex->easy);
        curl_easy_cleanup(ex->easy);
        ex->easy = NULL;
    }

    if (ex->headers) {
        curl_slist_free_all(ex->headers);
        ex->headers = NULL;
    }
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
