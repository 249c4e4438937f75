
/*
 * Outbound HTTP calls (the token exchange, later /me and revoke) through
 * libcurl's multi interface, driven by nginx's own event loop: one multi
 * handle per worker, curl's sockets wrapped in nginx connections with
 * level-triggered events, curl's timer as an nginx timer.  A worker never
 * blocks on a transfer.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"


typedef void (*ngx_http_intercom_oauth_exchange_done_pt)(
    ngx_http_request_t *r, ngx_http_intercom_oauth_exchange_t *ex);


/* what to send; strings need not be NUL-terminated */
typedef struct {
    ngx_str_t                   url;
    ngx_uint_t                  post;          /* POST "body", else GET */
    ngx_str_t                   body;
    ngx_str_t                   bearer;        /* Authorization: Bearer */
    ngx_str_t                   ca_file;       /* empty: system store */
    ngx_str_t                   proxy;         /* empty: no proxy at all */
    ngx_msec_t                  timeout;       /* whole transfer, ms */
    size_t                      max_response;  /* bytes of body kept */
} ngx_http_intercom_oauth_exchange_params_t;


typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_OK = 0,   /* a response arrived */
    NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_FAILED,   /* connect, TLS, I/O ... */
    NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TIMEOUT,  /* the timeout ran out */
    NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TOO_LARGE /* over max_response */
} ngx_http_intercom_oauth_exchange_rc_e;


struct ngx_http_intercom_oauth_exchange_s {
    ngx_http_request_t                        *request;
    ngx_http_intercom_oauth_exchange_done_pt   done;
    void                                      *easy;     /* CURL * */
    void                                      *headers;  /* curl_slist * */

    ngx_uint_t                                 rc;       /* ..._rc_e */
    long                                       status;   /* HTTP status */
    u_char                                    *body;     /* r->pool */
    size_t                                     len;
    size_t                                     size;
    size_t                                     max_response;
    ngx_msec_t                                 started;
    ngx_msec_t                                 elapsed;  /* ms */
    ngx_queue_t                                queue;    /* transfers */
    unsigned                                   added:1;  /* to the multi */
    unsigned                                   doomed:1; /* to be ended */

    char                                       error[256]; /* for the log */
};


/*
 * Starts a transfer for request r and returns at once.  When it ends
 * (whatever the outcome) "done" is called from the event loop with ex->rc,
 * ex->status and ex->body set; the handler must finalize r itself.  If r is
 * freed first, a pool cleanup removes the transfer and "done" is never
 * called.  Returns NGX_OK with *exp set, or NGX_ERROR (logged) when the
 * transfer could not be started.  A params->url that starts with "/" is
 * the URI of a location of this server: the call is then a subrequest
 * (ngx_http_intercom_oauth_subrequest.h), with the same outcomes.
 */
ngx_int_t ngx_http_intercom_oauth_exchange_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_exchange_params_t *params,
    ngx_http_intercom_oauth_exchange_done_pt done,
    ngx_http_intercom_oauth_exchange_t **exp);

/*
 * Gives back the nginx connection that wraps a descriptor another library
 * owns (libcurl's sockets, hiredis's), without closing the descriptor:
 * removes its events, posted or not, and frees the connection.  "closed":
 * the descriptor is (about to be) closed by its owner, so epoll is not
 * asked to forget it.
 */
void ngx_http_intercom_oauth_connection_release(ngx_connection_t *c,
    ngx_uint_t closed);

/* Per worker: curl_global_init() and the multi handle.  NGX_OK/NGX_ERROR. */
ngx_int_t ngx_http_intercom_oauth_exchange_init_process(ngx_cycle_t *cycle);

/* Per worker: ends every transfer and frees the multi handle. */
void ngx_http_intercom_oauth_exchange_exit_process(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_H_INCLUDED_ */
