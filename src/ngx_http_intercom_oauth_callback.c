
/*
 * The callback.  Every check that needs no network runs first, in this
 * order: method and size, arguments, session cookie, state (form, MAC,
 * age), key, single use in the zone.  Only then does the exchange start.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_args.h"
#include "ngx_http_intercom_oauth_callback.h"
#include "ngx_http_intercom_oauth_exchange.h"
#include "ngx_http_intercom_oauth_identity.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_session.h"
#include "ngx_http_intercom_oauth_state.h"
#include "ngx_http_intercom_oauth_store.h"
#include "ngx_http_intercom_oauth_token.h"
#include "ngx_http_intercom_oauth_zone.h"




static ngx_int_t ngx_http_intercom_oauth_callback_redact(
    ngx_http_request_t *r);
static void ngx_http_intercom_oauth_callback_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_callback_process(
    ngx_http_request_t *r, ngx_str_t *args);
static ngx_int_t ngx_http_intercom_oauth_callback_exchange(
    ngx_http_request_t *r, ngx_http_intercom_oauth_loc_conf_t *olcf,
    ngx_str_t *code);
static void ngx_http_intercom_oauth_callback_done(ngx_http_request_t *r,
    ngx_http_intercom_oauth_exchange_t *ex);
static void ngx_http_intercom_oauth_callback_identity(ngx_http_request_t *r,
    ngx_http_intercom_oauth_exchange_t *ex);
static void ngx_http_intercom_oauth_callback_claimed(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_intercom_oauth_callback_keep(ngx_http_request_t *r,
    ngx_http_intercom_oauth_record_t *rec);
static void ngx_http_intercom_oauth_callback_kept(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_intercom_oauth_callback_unkept(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_callback_success(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_callback_fail(ngx_http_request_t *r,
    ngx_uint_t status, char *error);
static void ngx_http_intercom_oauth_callback_count(ngx_http_request_t *r,
    ngx_str_t *code);
static ngx_int_t ngx_http_intercom_oauth_callback_redirect(
    ngx_http_request_t *r, ngx_str_t *uri, ngx_str_t *error);


ngx_int_t
ngx_http_intercom_oauth_callback_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    /* before anything is logged, whatever the method */
    if (ngx_http_intercom_oauth_callback_redact(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: method \"%V\" "
                      "is not allowed", &r->method_name);
        return NGX_HTTP_NOT_ALLOWED;
    }

    ctx = ngx_http_intercom_oauth_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->exchange) {
        /* an internal redirect back into the callback location */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                       NGX_HTTP_INTERCOM_OAUTH_CNT_CALLBACKS);

    if (r->method != NGX_HTTP_POST) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_intercom_oauth_callback_process(r, &r->args);
    }

    if (r->headers_in.content_type == NULL
        || r->headers_in.content_type->value.len
           < sizeof("application/x-www-form-urlencoded") - 1
        || ngx_strncasecmp(r->headers_in.content_type->value.data,
                           (u_char *) "application/x-www-form-urlencoded",
                           sizeof("application/x-www-form-urlencoded") - 1)
           != 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: a POST must be "
                      "application/x-www-form-urlencoded");
        (void) ngx_http_discard_request_body(r);
        return ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_BAD_REQUEST,
                                                     "invalid_request");
    }

    if (r->headers_in.content_length_n > NGX_HTTP_INTERCOM_OAUTH_MAX_BODY) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: body of %O bytes "
                      "is larger than %d", r->headers_in.content_length_n,
                      NGX_HTTP_INTERCOM_OAUTH_MAX_BODY);
        (void) ngx_http_discard_request_body(r);
        return ngx_http_intercom_oauth_callback_fail(r,
                                       NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                       "invalid_request");
    }

    r->request_body_in_single_buf = 1;
    r->request_body_no_buffering = 0;

    rc = ngx_http_read_client_request_body(r,
                                       ngx_http_intercom_oauth_callback_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The request line carries the authorization code and the state: nginx
 * prints it with every error log line of the request and the access log
 * writes it as $request.  From here on both see the path only.
 */

static ngx_int_t
ngx_http_intercom_oauth_callback_redact(ngx_http_request_t *r)
{
    u_char     *p, *q;
    size_t      path;
    ngx_str_t   line;

    q = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');
    if (q == NULL) {
        return NGX_OK;
    }

    path = q - r->unparsed_uri.data;

    line.len = r->method_name.len + 1 + path
               + sizeof("?[oauth arguments withheld]") - 1
               + 1 + r->http_protocol.len;

    line.data = ngx_pnalloc(r->pool, line.len);
    if (line.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(line.data, r->method_name.data, r->method_name.len);
    *p++ = ' ';
    p = ngx_cpymem(p, r->unparsed_uri.data, path);
    p = ngx_cpymem(p, "?[oauth arguments withheld]",
                   sizeof("?[oauth arguments withheld]") - 1);

    if (r->http_protocol.len) {
        *p++ = ' ';
        p = ngx_cpymem(p, r->http_protocol.data, r->http_protocol.len);
    }

    line.len = p - line.data;
    r->request_line = line;

    return NGX_OK;
}


static void
ngx_http_intercom_oauth_callback_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  args;

    rc = ngx_http_intercom_oauth_body(r, NGX_HTTP_INTERCOM_OAUTH_MAX_BODY,
                                      &args);

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: body is larger "
                      "than %d bytes", NGX_HTTP_INTERCOM_OAUTH_MAX_BODY);
        ngx_http_finalize_request(r,
            ngx_http_intercom_oauth_callback_fail(r,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          "invalid_request"));
        return;
    }

    ngx_http_finalize_request(r,
                        ngx_http_intercom_oauth_callback_process(r, &args));
}


/*
 * Checks everything that can be checked locally, then starts the exchange.
 * Returns NGX_DONE when the exchange runs, or the result of sending a
 * refusal.
 */

static ngx_int_t
ngx_http_intercom_oauth_callback_process(ngx_http_request_t *r,
    ngx_str_t *args)
{
    ngx_int_t                              rc;
    ngx_str_t                              secret;
    ngx_http_intercom_oauth_ctx_t         *ctx;
    ngx_str_t                              why;
    ngx_http_intercom_oauth_args_t         a;
    ngx_http_intercom_oauth_state_t        st;
    ngx_http_intercom_oauth_loc_conf_t    *olcf;
    ngx_http_intercom_oauth_main_conf_t   *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (args->len > NGX_HTTP_INTERCOM_OAUTH_MAX_ARGS) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: arguments of %uz "
                      "bytes are longer than %d", args->len,
                      NGX_HTTP_INTERCOM_OAUTH_MAX_ARGS);
        goto bad_request;
    }

    rc = ngx_http_intercom_oauth_args_parse(r->pool, args, &a, &why);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: %V", &why);
        goto bad_request;
    }

    if (a.has_error) {
        /* Intercom's denial; its "error" value is logged only if tame */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: authorization not granted: "
                      "Intercom sent error \"%V\"",
                      ngx_http_intercom_oauth_args_printable(&a.error, 64)
                      ? &a.error : &(ngx_str_t) ngx_string("(unprintable)"));
        return ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_FORBIDDEN,
                                                     "access_denied");
    }

    if (!a.has_code || a.code.len == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: no \"code\"");
        goto bad_request;
    }

    if (!a.has_state || a.state.len == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: no \"state\"");
        goto bad_request;
    }

    if (!ngx_http_intercom_oauth_args_printable(&a.code,
                                            NGX_HTTP_INTERCOM_OAUTH_MAX_CODE))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: \"code\" of %uz "
                      "bytes is too long or not printable ASCII",
                      a.code.len);
        goto bad_request;
    }

    if (a.state.len > NGX_HTTP_INTERCOM_OAUTH_MAX_STATE) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: \"state\" of %uz "
                      "bytes is too long", a.state.len);
        goto bad_request;
    }

    if (ngx_http_intercom_oauth_session_get(r, olcf, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->session_id.len == 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: state refused: no session cookie "
                      "\"%V\" (another browser, or cookies blocked)",
                      &olcf->cookie_name);
        goto state_invalid;
    }

    if (olcf->state_secret.len) {
        secret = olcf->state_secret;

    } else {
        ngx_http_intercom_oauth_zone_secret(omcf->shm_zone, &secret);
    }

    rc = ngx_http_intercom_oauth_state_verify(r->pool, &secret,
                                              &ctx->session_id,
                                              &olcf->client_id,
                                              olcf->state_ttl, ngx_time(),
                                              &a.state, &st);

    switch (rc) {

    case NGX_HTTP_INTERCOM_OAUTH_STATE_OK:
        break;

    case NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: \"state\" is "
                      "malformed");
        goto bad_request;

    case NGX_HTTP_INTERCOM_OAUTH_STATE_EXPIRED:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: state refused: expired "
                      "(intercom_oauth_state_ttl %T s)", olcf->state_ttl);
        return ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_FORBIDDEN,
                                                     "state_expired");

    default: /* NGX_HTTP_INTERCOM_OAUTH_STATE_BAD_MAC */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: state refused: signature does not "
                      "match this browser session and client id");
        goto state_invalid;
    }

    if (ngx_http_intercom_oauth_eval_key(r, olcf, &ctx->key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->key.len > NGX_HTTP_INTERCOM_OAUTH_MAX_KEY) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: callback refused: "
                      "\"intercom_oauth_key\" is longer than %d bytes",
                      NGX_HTTP_INTERCOM_OAUTH_MAX_KEY);
        return ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_FORBIDDEN,
                                                     "no_key");
    }

    if (ctx->key.len == 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: callback refused: "
                      "\"intercom_oauth_key\" is empty for this request");
        return ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_FORBIDDEN,
                                                     "no_key");
    }

    /*
     * Kept as long as any callback location could still accept the state,
     * not only this one.
     */
    rc = ngx_http_intercom_oauth_zone_state_use(omcf->shm_zone, st.nonce,
                                                st.issued,
                                                omcf->max_state_ttl + 1);
    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: state refused: already used");
        return ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_FORBIDDEN,
                                                     "state_replayed");
    }

    if (rc == NGX_BUSY) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "intercom oauth: callback refused: "
                      "intercom_oauth_zone \"%V\" has no room for another "
                      "used state (half the zone holds states until they "
                      "expire: a larger zone, a shorter "
                      "intercom_oauth_state_ttl, or limit_req on the "
                      "callback)", &omcf->shm_zone->shm.name);
        return ngx_http_intercom_oauth_callback_fail(r,
                                              NGX_HTTP_SERVICE_UNAVAILABLE,
                                              "zone_full");
    }

    ctx->return_to = st.return_to;

    if (omcf->store) {
        /* the zone knows this host's states; Redis knows every host's */
        ctx->code = a.code;

        /* as long as the zone keeps it: any location may accept it */
        rc = ngx_http_intercom_oauth_store_state_claim(r, st.nonce,
                                      (omcf->max_state_ttl + 1) * 1000,
                                      ngx_http_intercom_oauth_callback_claimed);
        if (rc != NGX_AGAIN) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "intercom oauth: callback refused: the store is "
                          "not connected, so single use of the state "
                          "cannot be checked across hosts");
            return ngx_http_intercom_oauth_callback_fail(r,
                                              NGX_HTTP_SERVICE_UNAVAILABLE,
                                              "store_unavailable");
        }

        r->main->count++;
        r->read_event_handler = ngx_http_test_reading;
        r->write_event_handler = ngx_http_request_empty_handler;

        return NGX_DONE;
    }

    return ngx_http_intercom_oauth_callback_exchange(r, olcf, &a.code);

bad_request:

    return ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_BAD_REQUEST,
                                                 "invalid_request");

state_invalid:

    return ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_FORBIDDEN,
                                                 "state_invalid");
}


static ngx_int_t
ngx_http_intercom_oauth_callback_exchange(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *code)
{
    u_char                                     *p;
    ngx_http_intercom_oauth_ctx_t              *ctx;
    ngx_http_intercom_oauth_exchange_params_t   params;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    ngx_memzero(&params, sizeof(ngx_http_intercom_oauth_exchange_params_t));

    /* intercom-oauth-facts.md section 3: code, client_id, client_secret */
    params.body.len = sizeof("code=&client_id=&client_secret=") - 1
        + code->len
        + 2 * ngx_escape_uri(NULL, code->data, code->len,
                             NGX_ESCAPE_URI_COMPONENT)
        + olcf->client_id.len
        + 2 * ngx_escape_uri(NULL, olcf->client_id.data, olcf->client_id.len,
                             NGX_ESCAPE_URI_COMPONENT)
        + olcf->client_secret.len
        + 2 * ngx_escape_uri(NULL, olcf->client_secret.data,
                             olcf->client_secret.len,
                             NGX_ESCAPE_URI_COMPONENT);

    params.body.data = ngx_pnalloc(r->pool, params.body.len);
    if (params.body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(params.body.data, "code=", sizeof("code=") - 1);
    p = (u_char *) ngx_escape_uri(p, code->data, code->len,
                                  NGX_ESCAPE_URI_COMPONENT);
    p = ngx_cpymem(p, "&client_id=", sizeof("&client_id=") - 1);
    p = (u_char *) ngx_escape_uri(p, olcf->client_id.data,
                                  olcf->client_id.len,
                                  NGX_ESCAPE_URI_COMPONENT);
    p = ngx_cpymem(p, "&client_secret=", sizeof("&client_secret=") - 1);
    p = (u_char *) ngx_escape_uri(p, olcf->client_secret.data,
                                  olcf->client_secret.len,
                                  NGX_ESCAPE_URI_COMPONENT);

    params.url = olcf->token_url;
    params.post = 1;
    params.ca_file = olcf->ca_file;
    params.proxy = olcf->proxy;
    params.timeout = olcf->timeout;
    params.max_response = NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE;

    if (ngx_http_intercom_oauth_exchange_start(r, &params,
                                         ngx_http_intercom_oauth_callback_done,
                                         &ctx->exchange)
        != NGX_OK)
    {
        ngx_explicit_memzero(params.body.data, params.body.len);
        return ngx_http_intercom_oauth_callback_fail(r,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "server_error");
    }

    /* the request waits for the exchange; a closed client ends both */
    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


static void
ngx_http_intercom_oauth_callback_done(ngx_http_request_t *r,
    ngx_http_intercom_oauth_exchange_t *ex)
{
    ngx_int_t                                   rc;
    ngx_str_t                                  *url;
    ngx_connection_t                           *c;
    ngx_http_intercom_oauth_ctx_t              *ctx;
    ngx_http_intercom_oauth_record_t            rec;
    ngx_http_intercom_oauth_loc_conf_t         *olcf;
    ngx_http_intercom_oauth_main_conf_t        *omcf;
    ngx_http_intercom_oauth_exchange_params_t   params;
    ngx_http_intercom_oauth_token_response_t    tr;

    c = r->connection;
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    url = &olcf->token_url;

    ngx_http_intercom_oauth_zone_latency(omcf->shm_zone, ex->elapsed);

    switch (ex->rc) {

    case NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TIMEOUT:
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: token exchange with \"%V\" timed out "
                      "after %M ms", url, ex->elapsed);
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                               NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_TIMEOUT);
        rc = ngx_http_intercom_oauth_callback_fail(r,
                                                NGX_HTTP_GATEWAY_TIME_OUT,
                                                "exchange_timeout");
        goto done;

    case NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TOO_LARGE:
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: token exchange with \"%V\" failed: "
                      "response larger than %d bytes", url,
                      NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE);
        goto failed;

    case NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_FAILED:
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: token exchange with \"%V\" failed: %s",
                      url, ex->error);
        goto failed;
    }

    rc = ngx_http_intercom_oauth_token_parse(r->pool, ex->body, ex->len, &tr);

    if (ex->status < 200 || ex->status > 299) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: token exchange with \"%V\" failed: "
                      "status %l%s%V%s%V%s", url, ex->status,
                      tr.error_code.len ? " (" : "", &tr.error_code,
                      tr.error_message.len ? ": " : "", &tr.error_message,
                      tr.error_code.len ? ")" : "");
        goto failed;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: token exchange with \"%V\" failed: "
                      "%s%s%V%s%V%s", url, tr.reason,
                      tr.error_code.len ? " (" : "", &tr.error_code,
                      tr.error_message.len ? ": " : "", &tr.error_message,
                      tr.error_code.len ? ")" : "");
        goto failed;
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_OK);
    ngx_explicit_memzero(ex->body, ex->len);

    /*
     * A token under the session id the browser came with could be used by
     * whoever planted that id: it goes under a new one (session fixation).
     */
    if (olcf->key == NULL) {
        if (ngx_http_intercom_oauth_session_rotate(r, olcf, ctx) != NGX_OK) {
            ngx_explicit_memzero(tr.access_token.data, tr.access_token.len);
            rc = ngx_http_intercom_oauth_callback_fail(r,
                                             NGX_HTTP_INTERNAL_SERVER_ERROR,
                                             "server_error");
            goto done;
        }

        ctx->key = ctx->session_id;
    }

    /* stored before /me is asked: a failed /me leaves the token in place */
    ngx_memzero(&rec, sizeof(ngx_http_intercom_oauth_record_t));
    rec.token = tr.access_token;

    if (ngx_http_intercom_oauth_zone_token_put(omcf->shm_zone,
                                               &olcf->client_id, &ctx->key,
                                               &rec)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: the access token could not be stored "
                      "in intercom_oauth_zone \"%V\": it is too small",
                      &omcf->shm_zone->shm.name);
        ngx_explicit_memzero(tr.access_token.data, tr.access_token.len);
        rc = ngx_http_intercom_oauth_callback_fail(r,
                                              NGX_HTTP_SERVICE_UNAVAILABLE,
                                              "zone_full");
        goto done;
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_STORED);

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "intercom oauth: access token stored (%M ms exchange)",
                  ex->elapsed);

    if (olcf->fetch_identity) {
        ngx_memzero(&params,
                    sizeof(ngx_http_intercom_oauth_exchange_params_t));

        params.url.len = olcf->api_url.len + sizeof("/me") - 1;
        params.url.data = ngx_pnalloc(r->pool, params.url.len);
        if (params.url.data == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }

        ngx_memcpy(ngx_cpymem(params.url.data, olcf->api_url.data,
                              olcf->api_url.len),
                   "/me", sizeof("/me") - 1);

        params.bearer = tr.access_token;
        params.ca_file = olcf->ca_file;
        params.proxy = olcf->proxy;
        params.timeout = olcf->timeout;
        params.max_response = NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE;

        ctx->token = tr.access_token;

        if (ngx_http_intercom_oauth_exchange_start(r, &params,
                                    ngx_http_intercom_oauth_callback_identity,
                                    &ctx->exchange)
            == NGX_OK)
        {
            /* the request goes on waiting, now for /me */
            return;
        }

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: /me could not be asked; "
                      "the token is stored without an identity");
    }

    rc = ngx_http_intercom_oauth_callback_keep(r, &rec);

    ngx_explicit_memzero(tr.access_token.data, tr.access_token.len);

    goto done;

failed:

    if (ex->body) {
        ngx_explicit_memzero(ex->body, ex->len);
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_FAILED);
    rc = ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_BAD_GATEWAY,
                                               "exchange_failed");

done:

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * Redis said whether the state was used on any host: the exchange starts
 * only for its first use.
 */

static void
ngx_http_intercom_oauth_callback_claimed(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t                    *c;
    ngx_http_intercom_oauth_ctx_t       *ctx;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    c = r->connection;
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (rc == NGX_OK) {
        rc = ngx_http_intercom_oauth_callback_exchange(r, olcf, &ctx->code);

    } else if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "intercom oauth: state refused: already used "
                      "(on another host)");
        rc = ngx_http_intercom_oauth_callback_fail(r, NGX_HTTP_FORBIDDEN,
                                                   "state_replayed");

    } else {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: callback refused: single use of the "
                      "state could not be checked in the store");
        rc = ngx_http_intercom_oauth_callback_fail(r,
                                              NGX_HTTP_SERVICE_UNAVAILABLE,
                                              "store_unavailable");
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * The end of a good exchange.  Without a store: the redirect.  With one,
 * the callback answers only once Redis has the token, so that a success
 * the browser sees is a token every host can read and a restart keeps.
 * Returns what the caller passes to ngx_http_finalize_request().
 */

static ngx_int_t
ngx_http_intercom_oauth_callback_keep(ngx_http_request_t *r,
    ngx_http_intercom_oauth_record_t *rec)
{
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (omcf->store == NULL) {
        return ngx_http_intercom_oauth_callback_success(r);
    }

    if (ngx_http_intercom_oauth_store_token_put(r, &olcf->client_id,
                                        &ctx->key, rec,
                                        ngx_http_intercom_oauth_callback_kept)
        != NGX_AGAIN)
    {
        return ngx_http_intercom_oauth_callback_unkept(r);
    }

    r->main->count++;

    return NGX_DONE;
}


/* the store did not take the token: refuse, and keep nothing */

static ngx_int_t
ngx_http_intercom_oauth_callback_unkept(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    (void) ngx_http_intercom_oauth_zone_token_delete(omcf->shm_zone,
                                                     &olcf->client_id,
                                                     &ctx->key);

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "intercom oauth: callback failed: the access token could "
                  "not be written to the store; it was not kept and the "
                  "user is asked to connect again");

    return ngx_http_intercom_oauth_callback_fail(r,
                                              NGX_HTTP_SERVICE_UNAVAILABLE,
                                              "store_unavailable");
}


static void
ngx_http_intercom_oauth_callback_kept(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    rc = (rc == NGX_OK) ? ngx_http_intercom_oauth_callback_success(r)
                        : ngx_http_intercom_oauth_callback_unkept(r);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * /me answered (or failed): keep the identity beside the token when it
 * could be read, then redirect either way.
 */

static void
ngx_http_intercom_oauth_callback_identity(ngx_http_request_t *r,
    ngx_http_intercom_oauth_exchange_t *ex)
{
    ngx_int_t                             rc;
    const char                           *reason;
    ngx_connection_t                     *c;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_record_t      rec;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    c = r->connection;
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    ngx_memzero(&rec, sizeof(ngx_http_intercom_oauth_record_t));
    rec.token = ctx->token;
    reason = NULL;

    if (ex->rc == NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TIMEOUT) {
        reason = "timed out";

    } else if (ex->rc != NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_OK) {
        reason = ex->rc == NGX_HTTP_INTERCOM_OAUTH_EXCHANGE_TOO_LARGE
                 ? "response too large" : ex->error;

    } else if (ex->status != 200) {
        reason = "status not 200";

    } else if (ngx_http_intercom_oauth_identity_parse(r->pool, ex->body,
                                                      ex->len, &rec, &reason)
               == NGX_OK)
    {
        reason = NULL;
    }

    if (reason) {
        ngx_log_error(NGX_LOG_WARN, c->log, 0,
                      "intercom oauth: /me at \"%V\" failed: %s (status %l); "
                      "the token is stored without an identity",
                      &olcf->api_url, reason, ex->status);
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                 NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_FAILED);

    } else if (ngx_http_intercom_oauth_zone_token_put(omcf->shm_zone,
                                                      &olcf->client_id,
                                                      &ctx->key, &rec)
               != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "intercom oauth: the identity could not be stored in "
                      "intercom_oauth_zone \"%V\"",
                      &omcf->shm_zone->shm.name);
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                 NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_FAILED);

    } else {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "intercom oauth: token of admin %V in workspace %V "
                      "(email %sverified)", &rec.admin_id, &rec.workspace_id,
                      rec.email_verified ? "" : "not ");
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                     NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_OK);
    }

    /* sealed into the command before the plain token is wiped */
    rc = ngx_http_intercom_oauth_callback_keep(r, &rec);

    if (ex->body) {
        ngx_explicit_memzero(ex->body, ex->len);
    }

    ngx_explicit_memzero(ctx->token.data, ctx->token.len);
    ngx_str_null(&ctx->token);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the end of a good callback: counted, then the redirect */

static ngx_int_t
ngx_http_intercom_oauth_callback_success(ngx_http_request_t *r)
{
    ngx_str_t                            *uri;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_CALLBACKS_OK);

    uri = ctx->return_to.len ? &ctx->return_to : &olcf->success_uri;

    return ngx_http_intercom_oauth_callback_redirect(r, uri, NULL);
}


/* one counter per refusal code; exchanges are counted by outcome instead */

static void
ngx_http_intercom_oauth_callback_count(ngx_http_request_t *r, ngx_str_t *code)
{
    ngx_uint_t                            i;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    static struct {
        char                               *code;
        ngx_http_intercom_oauth_counter_e   counter;
    } counters[] = {
        { "invalid_request", NGX_HTTP_INTERCOM_OAUTH_CNT_INVALID_REQUEST },
        { "access_denied", NGX_HTTP_INTERCOM_OAUTH_CNT_ACCESS_DENIED },
        { "state_invalid", NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_INVALID },
        { "state_expired", NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_EXPIRED },
        { "state_replayed", NGX_HTTP_INTERCOM_OAUTH_CNT_STATE_REPLAYED },
        { "no_key", NGX_HTTP_INTERCOM_OAUTH_CNT_NO_KEY },
        { "zone_full", NGX_HTTP_INTERCOM_OAUTH_CNT_ZONE_FULL },
        { "server_error", NGX_HTTP_INTERCOM_OAUTH_CNT_SERVER_ERROR },
        { "store_unavailable", NGX_HTTP_INTERCOM_OAUTH_CNT_STORE_UNAVAILABLE }
    };

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        if (ngx_strcmp(code->data, counters[i].code) == 0) {
            ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                               counters[i].counter);
            return;
        }
    }
}


/*
 * Sends a refusal: a 302 to intercom_oauth_error_uri?error=CODE when one is
 * set, the location's own error_page for that status when it has one, or
 * the built-in page.  Returns what the caller passes to
 * ngx_http_finalize_request().
 */

static ngx_int_t
ngx_http_intercom_oauth_callback_fail(ngx_http_request_t *r, ngx_uint_t status,
    char *error)
{
    u_char                              *p, *last;
    ngx_str_t                            code;
    ngx_http_core_loc_conf_t            *clcf;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    code.len = ngx_strlen(error);
    code.data = (u_char *) error;

    ngx_http_intercom_oauth_callback_count(r, &code);

    ngx_http_intercom_oauth_set_error(r, &code);

    if (ngx_http_intercom_oauth_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (olcf->error_uri.len) {
        return ngx_http_intercom_oauth_callback_redirect(r, &olcf->error_uri,
                                                         &code);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->error_pages) {
        /* the site's own error_page, with $intercom_oauth_error set */
        return status;
    }

    p = ngx_pnalloc(r->pool, 512);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_sprintf(p,
                    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                    "<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, "
                    "initial-scale=1\">\n"
                    "<title>Connecting to Intercom failed</title>\n"
                    "</head>\n<body>\n<main>\n"
                    "<h1>Connecting to Intercom failed</h1>\n"
                    "<p>Error: <code>%V</code> (%ui)</p>\n"
                    "<p>Please go back and try again.</p>\n"
                    "</main>\n</body>\n</html>\n", &code, status);

    return ngx_http_intercom_oauth_send(r, status, "text/html; charset=utf-8",
                                        p, last - p);
}


/*
 * Sets Location to "uri", with "?error=CODE" (or "&error=CODE") when given,
 * and returns 302 for nginx to answer as it answers "return 302".
 */

static ngx_int_t
ngx_http_intercom_oauth_callback_redirect(ngx_http_request_t *r,
    ngx_str_t *uri, ngx_str_t *error)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   target;

    if (ngx_http_intercom_oauth_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = uri->len;

    if (error) {
        len += sizeof("?error=") - 1 + error->len;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    target.data = p;

    p = ngx_cpymem(p, uri->data, uri->len);

    if (error) {
        *p++ = ngx_strlchr(uri->data, uri->data + uri->len, '?') ? '&' : '?';
        p = ngx_cpymem(p, "error=", sizeof("error=") - 1);
        p = ngx_cpymem(p, error->data, error->len);
    }

    target.len = p - target.data;

    if (ngx_http_intercom_oauth_location(r, &target) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_HTTP_MOVED_TEMPORARILY;
}
