
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * A call as an nginx subrequest (see the header).
 *
 * The subrequest is an in-memory one (nginx keeps its body in one buffer
 * of subrequest_output_buffer_size) and a background one: it is not in
 * the parent's postponed list, so the parent can answer the browser (a
 * timeout, say) while the subrequest is still winding down, and its own
 * output never mixes with the parent's.
 *
 * ngx_http_subrequest() gives the subrequest the parent's headers_in and
 * request_body.  Both are replaced before it runs: a fresh header list
 * with only Accept, User-Agent, Content-Type/-Length and Authorization as
 * the module sets them, and the module's form body or none.  Nothing of
 * the browser's request (cookies, Authorization, its Host, its body)
 * reaches the location, whatever proxy_pass_request_headers says, and the
 * subrequest has variables of its own, not the parent's cached values.
 *
 * The post_subrequest handler runs inside the subrequest's finalization,
 * where finalizing the parent is unsafe: it only records the outcome and
 * posts an event, whose handler calls "done" from the event loop, as the
 * libcurl engine does.  Not the parent request itself with
 * ngx_http_post_request(), though it would resume sooner: nginx's debug
 * line "http posted request" logs a posted request's arguments, here the
 * callback's code and state (t/system/013-no-secrets.t).
 *
 * The response cap is watched as libcurl's CURLOPT_MAXFILESIZE and write
 * callback watch it: a Content-Length over it fails the call when the
 * header arrives (a header filter), and a body that grows past it
 * (chunked) as soon as it does.  nginx alone would notice only once the
 * whole body is in: an upstream's buffered response reaches a background
 * subrequest's output filters only at its end (the event pipe writes to a
 * request that is not the connection's active one only then, and buffers
 * to a temporary file until then), so an endpoint that sends a large
 * Content-Length, or chunks without end, and then nothing, would hold the
 * browser until the timeout.  The body is therefore counted where the
 * pipe decodes it: the header filter, which runs in the upstream's
 * ngx_http_upstream_send_response() before the pipe is set up, puts a
 * wrapper in front of the upstream's input_filter_init, which then puts
 * one in front of the pipe's input_filter.  Without buffering the body
 * goes through the output filters as it arrives, and a body filter counts
 * it there.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_call.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_subrequest.h"


/*
 * Where the condition is exactly the one libcurl names, the log line uses
 * libcurl's words (curl_easy_strerror()), so that both engines log the
 * same line for the same failure.
 */
#define NGX_HTTP_INTERCOM_OAUTH_SR_RECV_ERROR                                 \
    "Failure when receiving data from the peer"


typedef struct {
    ngx_http_intercom_oauth_call_t   call;     /* what the caller sees */
    ngx_http_request_t              *sr;

    /*
     * One event for both waits, to keep a waiting call small: the timer
     * of intercom_oauth_timeout, then, once the outcome is known and the
     * timer deleted, the posted event that runs "done".
     */
    ngx_event_t                      event;
    off_t                            received; /* body bytes so far */

    /* the upstream's own, while the wrappers stand in front of them */
    ngx_int_t                      (*input_init)(void *data);
    void                            *input_ctx;
    ngx_event_pipe_input_filter_pt   pipe_input;

    unsigned                         finished:1; /* outcome known */
    unsigned                         reported:1; /* done called, or
                                                    request gone */
    unsigned                         too_large:1; /* over max_response */
    unsigned                         piped:1;    /* counted by the pipe */
} ngx_http_intercom_oauth_subrequest_t;


/*
 * The request headers a call sets, each with its lowercase name and hash
 * made once (proxy_set_header overrides are found by them), not per call.
 */

typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_SR_ACCEPT = 0,
    NGX_HTTP_INTERCOM_OAUTH_SR_USER_AGENT,
    NGX_HTTP_INTERCOM_OAUTH_SR_AUTHORIZATION,
    NGX_HTTP_INTERCOM_OAUTH_SR_CONTENT_TYPE,
    NGX_HTTP_INTERCOM_OAUTH_SR_CONTENT_LENGTH,
    NGX_HTTP_INTERCOM_OAUTH_SR_HEADERS
} ngx_http_intercom_oauth_sr_header_e;


typedef struct {
    ngx_str_t                        key;
    ngx_str_t                        lowcase;
    ngx_uint_t                       hash;
} ngx_http_intercom_oauth_sr_header_t;


static ngx_int_t ngx_http_intercom_oauth_subrequest_headers(
    ngx_http_request_t *sr, ngx_http_intercom_oauth_call_params_t *params);
static ngx_int_t ngx_http_intercom_oauth_subrequest_body(
    ngx_http_request_t *sr, ngx_http_intercom_oauth_call_params_t *params);
static void ngx_http_intercom_oauth_subrequest_blank(ngx_http_request_t *sr);
static ngx_int_t ngx_http_intercom_oauth_subrequest_header(
    ngx_http_request_t *sr, ngx_uint_t name, ngx_str_t *value,
    ngx_table_elt_t **hp);
static ngx_int_t ngx_http_intercom_oauth_subrequest_post(
    ngx_http_request_t *sr, void *data, ngx_int_t rc);
static void ngx_http_intercom_oauth_subrequest_overflow(
    ngx_http_request_t *sr, ngx_http_intercom_oauth_call_t *call);
static void ngx_http_intercom_oauth_subrequest_response(
    ngx_http_request_t *sr, ngx_http_intercom_oauth_call_t *call);
static void ngx_http_intercom_oauth_subrequest_cause(ngx_http_request_t *sr,
    ngx_int_t rc, ngx_http_intercom_oauth_call_t *call);
static void ngx_http_intercom_oauth_subrequest_wake(ngx_event_t *ev);
static void ngx_http_intercom_oauth_subrequest_done(
    ngx_http_intercom_oauth_call_t *call);
static void ngx_http_intercom_oauth_subrequest_timeout(ngx_event_t *ev);
static void ngx_http_intercom_oauth_subrequest_abort(ngx_http_request_t *sr);
static void ngx_http_intercom_oauth_subrequest_release(
    ngx_http_request_t *sr);
static void ngx_http_intercom_oauth_subrequest_cleanup(void *data);
static ngx_http_intercom_oauth_subrequest_t *
    ngx_http_intercom_oauth_subrequest_of(ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_subrequest_header_filter(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_subrequest_body_filter(
    ngx_http_request_t *r, ngx_chain_t *in);
static ngx_int_t ngx_http_intercom_oauth_subrequest_input_init(void *data);
static ngx_int_t ngx_http_intercom_oauth_subrequest_pipe_input(
    ngx_event_pipe_t *p, ngx_buf_t *buf);
static ngx_int_t ngx_http_intercom_oauth_subrequest_count(
    ngx_http_intercom_oauth_subrequest_t *s, ngx_chain_t *cl);


static ngx_http_output_header_filter_pt
    ngx_http_intercom_oauth_next_header_filter;
static ngx_http_output_body_filter_pt
    ngx_http_intercom_oauth_next_body_filter;


static ngx_str_t  ngx_http_intercom_oauth_post_method = ngx_string("POST");

static ngx_http_intercom_oauth_sr_header_t
    ngx_http_intercom_oauth_sr_headers[NGX_HTTP_INTERCOM_OAUTH_SR_HEADERS] = {
    { ngx_string("Accept"), ngx_string("accept"), 0 },
    { ngx_string("User-Agent"), ngx_string("user-agent"), 0 },
    { ngx_string("Authorization"), ngx_string("authorization"), 0 },
    { ngx_string("Content-Type"), ngx_string("content-type"), 0 },
    { ngx_string("Content-Length"), ngx_string("content-length"), 0 }
};


ngx_int_t
ngx_http_intercom_oauth_subrequest_start(ngx_http_request_t *r,
    ngx_http_intercom_oauth_endpoint_t *endpoint,
    ngx_http_intercom_oauth_call_params_t *params,
    ngx_http_intercom_oauth_call_done_pt done,
    ngx_http_intercom_oauth_call_t **callp)
{
    ngx_str_t                              uri, args;
    ngx_pool_cleanup_t                    *cln;
    ngx_http_request_t                    *sr;
    ngx_http_core_main_conf_t             *cmcf;
    ngx_http_variable_value_t             *variables;
    ngx_http_post_subrequest_t            *ps;
    ngx_http_intercom_oauth_loc_conf_t    *olcf;
    ngx_http_intercom_oauth_subrequest_t  *s;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    s = ngx_pcalloc(r->pool, sizeof(ngx_http_intercom_oauth_subrequest_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    s->call.request = r;
    s->call.done = done;
    s->call.max_response = NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE;
    s->call.started = ngx_current_msec;

    /* the URI and the arguments, if any, as the location will see them */
    uri = endpoint->url;
    ngx_str_null(&args);
    ngx_http_split_args(r, &uri, &args);

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_intercom_oauth_subrequest_post;
    ps->data = s;

    /*
     * ngx_http_subrequest() shares the parent's cache of variable values:
     * a variable the browser's request already gave a value (the cookie
     * of intercom_oauth_key, say) would reach the location through it.
     * The subrequest gets a cache of its own, made before it exists.
     */
    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    variables = ngx_pcalloc(r->pool, cmcf->variables.nelts
                                     * sizeof(ngx_http_variable_value_t));
    if (variables == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_subrequest(r, &uri, &args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY
                            |NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: subrequest to \"%V\" could not be "
                      "made", &uri);
        return NGX_ERROR;
    }

    /*
     * From here on the subrequest is posted and will run: a failure below
     * leaves it with an empty header list and no body, so that nothing of
     * the browser's request is sent even then.
     */

    s->sr = sr;
    sr->variables = variables;

    if (ngx_http_intercom_oauth_subrequest_headers(sr, params) != NGX_OK
        || ngx_http_intercom_oauth_subrequest_body(sr, params) != NGX_OK)
    {
        /* the subrequest runs anyway, as a GET with no headers; nobody
         * waits for it */
        s->finished = 1;
        s->reported = 1;
        ngx_http_intercom_oauth_subrequest_blank(sr);
        return NGX_ERROR;
    }

    s->event.handler = ngx_http_intercom_oauth_subrequest_timeout;
    s->event.data = s;
    s->event.log = r->connection->log;

    cln->handler = ngx_http_intercom_oauth_subrequest_cleanup;
    cln->data = s;

    ngx_add_timer(&s->event, olcf->timeout);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "intercom oauth: %s subrequest to \"%V\"",
                   params->post ? "POST" : "GET", &uri);

    *callp = &s->call;

    return NGX_OK;
}


/*
 * ngx_http_subrequest() gives the subrequest the parent's headers_in: it
 * gets a fresh list with only Accept, User-Agent and, as the call needs
 * them, Authorization and the body's Content-Type/-Length.
 */

static ngx_int_t
ngx_http_intercom_oauth_subrequest_headers(ngx_http_request_t *sr,
    ngx_http_intercom_oauth_call_params_t *params)
{
    ngx_str_t   value;
    ngx_uint_t  n;

    ngx_memzero(&sr->headers_in, sizeof(ngx_http_headers_in_t));
    sr->headers_in.content_length_n = -1;
    sr->headers_in.keep_alive_n = -1;
    sr->request_body = NULL;

    /* room for exactly the headers set below: Accept and User-Agent,
     * Authorization, the body's Content-Type and Content-Length */
    n = 2 + (params->bearer.len ? 1 : 0) + (params->post ? 2 : 0);

    if (ngx_list_init(&sr->headers_in.headers, sr->pool, n,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, "application/json");

    if (ngx_http_intercom_oauth_subrequest_header(sr,
                                          NGX_HTTP_INTERCOM_OAUTH_SR_ACCEPT,
                                          &value, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_str_set(&value, NGX_HTTP_INTERCOM_OAUTH_USER_AGENT);

    if (ngx_http_intercom_oauth_subrequest_header(sr,
                                      NGX_HTTP_INTERCOM_OAUTH_SR_USER_AGENT,
                                      &value, &sr->headers_in.user_agent)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (params->bearer.len == 0) {
        return NGX_OK;
    }

    value.len = sizeof("Bearer ") - 1 + params->bearer.len;
    value.data = ngx_pnalloc(sr->pool, value.len);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(value.data, "Bearer ", sizeof("Bearer ") - 1),
               params->bearer.data, params->bearer.len);

    return ngx_http_intercom_oauth_subrequest_header(sr,
                                   NGX_HTTP_INTERCOM_OAUTH_SR_AUTHORIZATION,
                                   &value, &sr->headers_in.authorization);
}


/* the module's body, or none; never the browser's */

static ngx_int_t
ngx_http_intercom_oauth_subrequest_body(ngx_http_request_t *sr,
    ngx_http_intercom_oauth_call_params_t *params)
{
    ngx_buf_t                *b;
    ngx_str_t                 value;
    ngx_chain_t              *cl;
    ngx_http_request_body_t  *rb;

    /* the browser's body was read or discarded for the parent only */
    sr->discard_body = 0;

    if (!params->post) {
        sr->method = NGX_HTTP_GET;
        sr->method_name = ngx_http_core_get_method;
        return NGX_OK;
    }

    sr->method = NGX_HTTP_POST;
    sr->method_name = ngx_http_intercom_oauth_post_method;

    ngx_str_set(&value, "application/x-www-form-urlencoded");

    if (ngx_http_intercom_oauth_subrequest_header(sr,
                                      NGX_HTTP_INTERCOM_OAUTH_SR_CONTENT_TYPE,
                                      &value, &sr->headers_in.content_type)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    value.data = ngx_pnalloc(sr->pool, NGX_OFF_T_LEN);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    value.len = ngx_sprintf(value.data, "%uz", params->body.len) - value.data;

    if (ngx_http_intercom_oauth_subrequest_header(sr,
                                    NGX_HTTP_INTERCOM_OAUTH_SR_CONTENT_LENGTH,
                                    &value, &sr->headers_in.content_length)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->headers_in.content_length_n = params->body.len;

    rb = ngx_pcalloc(sr->pool, sizeof(ngx_http_request_body_t));
    if (rb == NULL) {
        return NGX_ERROR;
    }

    sr->request_body = rb;

    if (params->body.len == 0) {
        /* revoke: "Content-Length: 0"; an empty buffer would be an alert
         * ("zero size buf") in the upstream's output */
        return NGX_OK;
    }

    b = ngx_calloc_buf(sr->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    /* the form stays where the caller built it; nginx only reads it */
    b->start = params->body.data;
    b->pos = b->start;
    b->last = b->start + params->body.len;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl = ngx_alloc_chain_link(sr->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    rb->bufs = cl;

    return NGX_OK;
}


/* a subrequest whose setup failed: a GET with no headers and no body */

static void
ngx_http_intercom_oauth_subrequest_blank(ngx_http_request_t *sr)
{
    sr->method = NGX_HTTP_GET;
    sr->method_name = ngx_http_core_get_method;
    sr->request_body = NULL;
    sr->headers_in.content_length_n = -1;
    sr->headers_in.content_length = NULL;
    sr->headers_in.content_type = NULL;
    sr->headers_in.authorization = NULL;
    sr->headers_in.headers.part.nelts = 0;
    sr->headers_in.headers.part.next = NULL;
    sr->headers_in.headers.last = &sr->headers_in.headers.part;
}


static ngx_int_t
ngx_http_intercom_oauth_subrequest_header(ngx_http_request_t *sr,
    ngx_uint_t name, ngx_str_t *value, ngx_table_elt_t **hp)
{
    ngx_table_elt_t                      *h;
    ngx_http_intercom_oauth_sr_header_t  *sh;

    h = ngx_list_push(&sr->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    sh = &ngx_http_intercom_oauth_sr_headers[name];

    /* nginx only reads a request header's names */
    h->key = sh->key;
    h->lowcase_key = sh->lowcase.data;
    h->hash = sh->hash;
    h->value = *value;

#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    if (hp) {
        *hp = h;
    }

    return NGX_OK;
}


/*
 * Called by ngx_http_finalize_request() for the subrequest, possibly more
 * than once (an error status first, then the end of the error page).  The
 * first call that ends it decides the outcome:
 *
 *   - a status the location produced itself (rc >= 300: no upstream, an
 *     upstream down or timed out, a 404 for a URI no location takes):
 *     504 is a timeout, anything else a failure, as libcurl reports a
 *     refused connection or a TLS error;
 *   - the module's filters found the response over max_response (its
 *     Content-Length, or its body so far): "too large", at once;
 *   - NGX_ERROR (or a failed output filter) after a response began: the
 *     body did not fit into subrequest_output_buffer_size ("too big
 *     subrequest response"), the same outcome as a body over
 *     max_response, or the upstream's response broke off;
 *   - otherwise the response as it came, whatever its status: a 5xx that
 *     Intercom itself sent is a response, as it is for libcurl; a body
 *     short of its Content-Length is a receive failure.
 *
 * NGX_ERROR is turned into NGX_OK: for a subrequest nginx would otherwise
 * terminate the browser's request too.
 */

static ngx_int_t
ngx_http_intercom_oauth_subrequest_post(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_intercom_oauth_subrequest_t *s = data;

    ngx_uint_t                       overflow;
    ngx_http_intercom_oauth_call_t  *call;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "intercom oauth: subrequest done rc:%i status:%ui "
                   "error:%d", rc, sr->headers_out.status,
                   sr->connection->error);

    /*
     * ngx_http_output_filter() marks the connection failed when any filter
     * fails; for an in-memory subrequest that is the postpone filter out
     * of room ("too big subrequest response"), never the browser's
     * connection, which the subrequest does not write to.  Left set, it
     * would make nginx terminate the browser's request without an answer.
     * A browser that went away terminates the request itself, and the
     * subrequest then ends through its cleanup, not here.
     */
    overflow = (rc == NGX_ERROR || sr->connection->error);
    sr->connection->error = 0;

    if (overflow) {
        /*
         * What a filter still holds after the failure would never be
         * sent: left flagged, the subrequest would wait for a write event
         * forever and hold the browser's request open.
         */
        sr->buffered = 0;
    }

    if (s->finished || rc == NGX_AGAIN) {
        goto done;
    }

    call = &s->call;
    s->finished = 1;
    call->elapsed = ngx_current_msec - call->started;

    if (s->event.timer_set) {
        ngx_del_timer(&s->event);
    }

    if (s->too_large) {
        /* the filters below stopped it: libcurl's "too large" */
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE;
        call->status = sr->headers_out.status;

    } else if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        call->status = 0;
        call->rc = (rc == NGX_HTTP_GATEWAY_TIME_OUT)
                   ? NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT
                   : NGX_HTTP_INTERCOM_OAUTH_CALL_FAILED;

        ngx_http_intercom_oauth_subrequest_cause(sr, rc, call);

    } else if (overflow) {
        ngx_http_intercom_oauth_subrequest_overflow(sr, call);

    } else if (sr->headers_out.status == 0) {
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_FAILED;
        ngx_cpystrn((u_char *) call->error,
                    (u_char *) "the location sent no response",
                    sizeof(call->error));

    } else {
        ngx_http_intercom_oauth_subrequest_response(sr, call);
    }

    if (!s->reported && !s->event.posted) {
        s->event.handler = ngx_http_intercom_oauth_subrequest_wake;
        ngx_post_event(&s->event, &ngx_posted_events);
    }

done:

    return (rc == NGX_ERROR) ? NGX_OK : rc;
}


/* a response began, then a filter or the upstream failed */

static void
ngx_http_intercom_oauth_subrequest_overflow(ngx_http_request_t *sr,
    ngx_http_intercom_oauth_call_t *call)
{
    char                      *why;
    ngx_http_upstream_t       *u;
    ngx_http_core_loc_conf_t  *clcf;

    call->status = sr->headers_out.status;
    call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_FAILED;

    clcf = ngx_http_get_module_loc_conf(sr, ngx_http_core_module);
    u = sr->upstream;

    if (sr->headers_out.content_length_n
        > (off_t) clcf->subrequest_output_buffer_size
        || (u && u->pipe && u->pipe->downstream_error))
    {
        /*
         * nginx logged "too big subrequest response".  Over the module's
         * own cap it is the libcurl engine's "too large"; a buffer set
         * below the cap is the location's limit, and the log says which.
         */
        if (clcf->subrequest_output_buffer_size >= call->max_response) {
            call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE;

        } else {
            ngx_snprintf((u_char *) call->error, sizeof(call->error) - 1,
                         "the response is larger than the location's "
                         "subrequest_output_buffer_size (%uz bytes)%Z",
                         clcf->subrequest_output_buffer_size);
        }

        return;
    }

    if (u && u->pipe && (u->pipe->upstream_error || u->pipe->upstream_eof)) {
        why = NGX_HTTP_INTERCOM_OAUTH_SR_RECV_ERROR;

    } else if (sr->header_sent) {
        why = "the response did not fit into subrequest_output_buffer_size "
              "or ended early";

    } else {
        why = "the location's request failed";
    }

    ngx_cpystrn((u_char *) call->error, (u_char *) why, sizeof(call->error));
}


/*
 * The response as it came, whatever its status: a 5xx that Intercom
 * itself sent is a response, as it is for libcurl.  nginx ends a response
 * whose upstream broke off after the header as if it were complete (it
 * only stops keep-alive): a body short of its Content-Length, or an
 * upstream read error, is libcurl's receive failure.
 */

static void
ngx_http_intercom_oauth_subrequest_response(ngx_http_request_t *sr,
    ngx_http_intercom_oauth_call_t *call)
{
    size_t                len;
    ngx_buf_t            *b;
    ngx_http_upstream_t  *u;

    call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_OK;
    call->status = sr->headers_out.status;

    b = (sr->out && sr->out->buf) ? sr->out->buf : NULL;
    len = b ? (size_t) (b->last - b->pos) : 0;
    u = sr->upstream;

    if ((sr->headers_out.content_length_n >= 0
         && (off_t) len != sr->headers_out.content_length_n)
        || (u && u->pipe && u->pipe->upstream_error))
    {
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_FAILED;
        ngx_cpystrn((u_char *) call->error,
                    (u_char *) NGX_HTTP_INTERCOM_OAUTH_SR_RECV_ERROR,
                    sizeof(call->error));

        if (b) {
            ngx_explicit_memzero(b->pos, len);
        }

        return;
    }

    if (b == NULL) {
        return;
    }

    if (len > call->max_response) {
        call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE;
        ngx_explicit_memzero(b->pos, len);
        return;
    }

    /* in the request's pool; the caller wipes it when read */
    call->body = b->pos;
    call->len = len;
}


/*
 * The words for a status the location produced itself.  nginx's own error
 * line just before the module's names the cause.  The module can tell only
 * how far the upstream request got: nginx starts the TLS handshake while
 * the TCP connection is still being made and leaves nothing behind that
 * separates a refused connection from a refused certificate, so neither
 * of libcurl's words for those is used here.
 */

static void
ngx_http_intercom_oauth_subrequest_cause(ngx_http_request_t *sr, ngx_int_t rc,
    ngx_http_intercom_oauth_call_t *call)
{
    ngx_http_upstream_t  *u;

    u = sr->upstream;

    if (rc == NGX_HTTP_BAD_GATEWAY
        && u && u->state && u->state->peer
        && u->state->connect_time == (ngx_msec_t) -1)
    {
        ngx_snprintf((u_char *) call->error, sizeof(call->error) - 1,
                     "no connection to the location's upstream %V: TCP%s "
                     "failed (nginx's line above says why)%Z",
                     u->state->peer, u->ssl ? " or TLS" : "");
        return;
    }

    ngx_snprintf((u_char *) call->error, sizeof(call->error) - 1,
                 "the location answered %i itself, without a response "
                 "from its upstream%Z", rc);
}


/* out of the subrequest's finalization: the caller may finalize r now */

static void
ngx_http_intercom_oauth_subrequest_wake(ngx_event_t *ev)
{
    ngx_http_intercom_oauth_subrequest_t  *s = ev->data;

    if (s->reported) {
        return;
    }

    s->reported = 1;

    ngx_http_intercom_oauth_subrequest_release(s->sr);

    ngx_http_intercom_oauth_subrequest_done(&s->call);
}


/*
 * The response is in the subrequest's in-memory buffer now, and its
 * upstream is finalized.  The upstream's own buffer (proxy_buffer_size,
 * a page by default, allocated apart from the pool's blocks) would stay
 * until the browser's request ends, through /me and the save that follow
 * the token request: it is given back at once.
 */

static void
ngx_http_intercom_oauth_subrequest_release(ngx_http_request_t *sr)
{
    ngx_http_upstream_t  *u;

    u = sr->upstream;

    if (!sr->done || u == NULL || u->peer.connection != NULL
        || u->buffer.start == NULL)
    {
        return;
    }

    /* NGX_DECLINED for a buffer small enough to be in a block: kept */
    if (ngx_pfree(sr->pool, u->buffer.start) == NGX_OK) {
        ngx_memzero(&u->buffer, sizeof(ngx_buf_t));
    }
}


/*
 * intercom_oauth_timeout ran out before the location answered.  The
 * browser gets its answer now; the location's upstream connection, if
 * there is one, is ended as if its own timer had fired.
 */

static void
ngx_http_intercom_oauth_subrequest_timeout(ngx_event_t *ev)
{
    ngx_http_intercom_oauth_subrequest_t  *s = ev->data;

    ngx_http_intercom_oauth_call_t  *call;

    if (s->finished) {
        return;
    }

    call = &s->call;
    s->finished = 1;

    call->rc = NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT;
    call->status = 0;
    call->elapsed = ngx_current_msec - call->started;
    ngx_cpystrn((u_char *) call->error, (u_char *) "timed out",
                sizeof(call->error));

    ngx_http_intercom_oauth_subrequest_abort(s->sr);

    if (!s->reported) {
        s->reported = 1;
        ngx_http_intercom_oauth_subrequest_done(call);
    }
}


/*
 * "done" runs out of the subrequest's finalization; it may start another
 * subrequest (/me after the token) that resuming the request runs.
 */

static void
ngx_http_intercom_oauth_subrequest_done(ngx_http_intercom_oauth_call_t *call)
{
    ngx_http_request_t  *r;

    r = call->request;

    /* what the subrequest was doing is not what the caller logs about */
    r->connection->log->action = NULL;

    ngx_http_intercom_oauth_resume(r, call->done(r, call));
}


/*
 * The upstream module checks "timedout" on its connection's events in
 * every state (connecting, TLS handshake, waiting for or reading the
 * response): marking both and calling the read handler ends the upstream
 * request the way proxy_read_timeout would, with a 504 into the ignored
 * subrequest.  A subrequest still resolving a name, or one with no
 * upstream, ends on its own.
 */

static void
ngx_http_intercom_oauth_subrequest_abort(ngx_http_request_t *sr)
{
    ngx_connection_t     *pc;
    ngx_http_upstream_t  *u;

    u = sr->upstream;

    if (sr->done || u == NULL || u->peer.connection == NULL) {
        return;
    }

    pc = u->peer.connection;

    pc->read->timedout = 1;
    pc->write->timedout = 1;

    pc->read->handler(pc->read);
}


/* the request is going away (client closed, worker exiting) */

static void
ngx_http_intercom_oauth_subrequest_cleanup(void *data)
{
    ngx_http_intercom_oauth_subrequest_t  *s = data;

    s->finished = 1;
    s->reported = 1;

    if (s->event.timer_set) {
        ngx_del_timer(&s->event);
    }

    if (s->event.posted) {
        ngx_delete_posted_event(&s->event);
    }
}


ngx_int_t
ngx_http_intercom_oauth_subrequest_init(ngx_conf_t *cf)
{
    ngx_uint_t                            i;
    ngx_http_intercom_oauth_sr_header_t  *sh;

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_SR_HEADERS; i++) {
        sh = &ngx_http_intercom_oauth_sr_headers[i];
        sh->hash = ngx_hash_key(sh->lowcase.data, sh->lowcase.len);
    }

    ngx_http_intercom_oauth_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter =
                             ngx_http_intercom_oauth_subrequest_header_filter;

    ngx_http_intercom_oauth_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_intercom_oauth_subrequest_body_filter;

    return NGX_OK;
}


/* a subrequest of this engine still under way, or NULL for any other */

static ngx_http_intercom_oauth_subrequest_t *
ngx_http_intercom_oauth_subrequest_of(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_subrequest_t  *s;

    if (r->post_subrequest == NULL
        || r->post_subrequest->handler
           != ngx_http_intercom_oauth_subrequest_post)
    {
        return NULL;
    }

    s = r->post_subrequest->data;

    /* a timeout decided already; the error page that follows is ignored */
    return s->finished ? NULL : s;
}


/*
 * A Content-Length over the cap: the call fails now, as libcurl's
 * CURLOPT_MAXFILESIZE fails it, without waiting for a body that would be
 * refused (or for an endpoint that sends none).  The upstream module ends
 * the subrequest with NGX_ERROR, which the post_subrequest handler takes.
 * Otherwise, for an upstream's buffered response (the upstream is still
 * connected and sends its header now), the body is watched from the pipe.
 */

static ngx_int_t
ngx_http_intercom_oauth_subrequest_header_filter(ngx_http_request_t *r)
{
    ngx_http_upstream_t                   *u;
    ngx_http_intercom_oauth_subrequest_t  *s;

    s = ngx_http_intercom_oauth_subrequest_of(r);

    if (s == NULL) {
        return ngx_http_intercom_oauth_next_header_filter(r);
    }

    if (r->headers_out.content_length_n > (off_t) s->call.max_response) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "intercom oauth: subrequest response of %O bytes "
                       "is too large", r->headers_out.content_length_n);

        s->too_large = 1;
        return NGX_ERROR;
    }

    u = r->upstream;

    if (u && u->buffering && u->pipe && u->peer.connection
        && !u->header_sent && !s->piped)
    {
        /*
         * ngx_http_upstream_send_response() calls input_filter_init with
         * the pipe's input_ctx once the pipe is set up: both are ours
         * until then, and the wrapper puts the upstream's back.
         */
        s->input_init = u->input_filter_init;
        s->input_ctx = u->pipe->input_ctx;

        u->input_filter_init = ngx_http_intercom_oauth_subrequest_input_init;
        u->pipe->input_ctx = s;
        s->piped = 1;
    }

    return ngx_http_intercom_oauth_next_header_filter(r);
}


/* the pipe is set up: the upstream's initialization, then the watch */

static ngx_int_t
ngx_http_intercom_oauth_subrequest_input_init(void *data)
{
    ngx_http_intercom_oauth_subrequest_t *s = data;

    ngx_event_pipe_t  *p;

    p = s->sr->upstream->pipe;

    s->sr->upstream->input_filter_init = s->input_init;
    p->input_ctx = s->input_ctx;

    if (s->input_init && s->input_init(s->input_ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    /* set by the initialization: chunked or not */
    s->pipe_input = p->input_filter;
    p->input_filter = ngx_http_intercom_oauth_subrequest_pipe_input;

    return NGX_OK;
}


/* each buffer read from the upstream: what the upstream's filter made of
 * it is the body */

static ngx_int_t
ngx_http_intercom_oauth_subrequest_pipe_input(ngx_event_pipe_t *p,
    ngx_buf_t *buf)
{
    ngx_int_t                              rc;
    ngx_chain_t                          **last;
    ngx_http_request_t                    *sr;
    ngx_http_intercom_oauth_subrequest_t  *s;

    sr = p->output_ctx;
    s = sr->post_subrequest->data;

    /*
     * The upstream's filters append their buffers to p->in, at
     * p->last_in when p->in has links (p->last_in is stale otherwise).
     */
    last = p->in ? p->last_in : &p->in;

    rc = s->pipe_input(p, buf);

    if (rc != NGX_OK || s->finished) {
        return rc;
    }

    /* NGX_ERROR: the pipe aborts and the upstream ends the subrequest */
    return ngx_http_intercom_oauth_subrequest_count(s, *last);
}


/* without buffering, or from a handler other than an upstream's: the
 * body as it goes out */

static ngx_int_t
ngx_http_intercom_oauth_subrequest_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    ngx_http_intercom_oauth_subrequest_t  *s;

    s = ngx_http_intercom_oauth_subrequest_of(r);

    if (s == NULL) {
        return ngx_http_intercom_oauth_next_body_filter(r, in);
    }

    if (s->too_large) {
        return NGX_ERROR;
    }

    if (!s->piped
        && ngx_http_intercom_oauth_subrequest_count(s, in) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_intercom_oauth_next_body_filter(r, in);
}


/* adds the buffers' bytes to the body so far: NGX_ERROR past the cap */

static ngx_int_t
ngx_http_intercom_oauth_subrequest_count(
    ngx_http_intercom_oauth_subrequest_t *s, ngx_chain_t *cl)
{
    for ( /* void */ ; cl; cl = cl->next) {
        s->received += ngx_buf_size(cl->buf);
    }

    if (s->received <= (off_t) s->call.max_response) {
        return NGX_OK;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, s->sr->connection->log, 0,
                   "intercom oauth: subrequest response grew to %O bytes, "
                   "too large", s->received);

    s->too_large = 1;

    return NGX_ERROR;
}
