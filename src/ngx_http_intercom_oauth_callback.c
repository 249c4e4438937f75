
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The callback, in the order it runs:
 *
 *   check     method, size, arguments, session cookie, state (form, MAC,
 *             age), key: everything that needs no network;
 *   claim     the state's single use (the zone, then the store);
 *   exchange  the token request to the token endpoint;
 *   identity  /me, when intercom_oauth_fetch_identity is on;
 *   save      the token and its identity (the zone, then the store);
 *   redirect  to the state's return_to or intercom_oauth_success_uri;
 *             an install that started at Intercom's App Store ends at the
 *             App Store's redirect page instead, whatever the outcome.
 *
 * A claimed state stays used until it expires, unless the token endpoint
 * refuses its code (the code is spent or invalid there: nothing is left
 * to replay) or the exchange is given up before the endpoint answers (the
 * browser went away): then it is released, so that states spent with junk
 * codes do not fill the zone.  An answer that leaves the code's fate
 * unknown (a timeout, a broken connection, a 5xx) keeps it.
 *
 * Each step that waits goes on in a continuation named after what it
 * receives.  A refusal at any step is one row of the error table
 * (ngx_http_intercom_oauth_error.h) and one log line.  The secrets the
 * request holds (the code, the token request's form, the token endpoint's
 * answer, the token) are wiped in one place, when the request is freed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_args.h"
#include "ngx_http_intercom_oauth_call.h"
#include "ngx_http_intercom_oauth_callback.h"
#include "ngx_http_intercom_oauth_error.h"
#include "ngx_http_intercom_oauth_identity.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_session.h"
#include "ngx_http_intercom_oauth_state.h"
#include "ngx_http_intercom_oauth_storage.h"
#include "ngx_http_intercom_oauth_token.h"
#include "ngx_http_intercom_oauth_withhold.h"
#include "ngx_http_intercom_oauth_zone.h"


static void ngx_http_intercom_oauth_callback_wipe(void *data);
static ngx_int_t ngx_http_intercom_oauth_callback_post(ngx_http_request_t *r);
static void ngx_http_intercom_oauth_callback_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_callback_check(
    ngx_http_request_t *r, ngx_str_t *args);
static ngx_int_t ngx_http_intercom_oauth_callback_verify(
    ngx_http_request_t *r, ngx_http_intercom_oauth_args_t *a);
static void ngx_http_intercom_oauth_callback_appstore(ngx_http_request_t *r,
    ngx_http_intercom_oauth_args_t *a);
static ngx_int_t ngx_http_intercom_oauth_callback_claimed(
    ngx_http_request_t *r, ngx_int_t claim);
static void ngx_http_intercom_oauth_callback_abandoned(void *data);
static ngx_uint_t ngx_http_intercom_oauth_callback_refused(long status);
static ngx_int_t ngx_http_intercom_oauth_callback_exchange(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_callback_token_received(
    ngx_http_request_t *r, ngx_http_intercom_oauth_call_t *call);
static ngx_int_t ngx_http_intercom_oauth_callback_token(ngx_http_request_t *r,
    ngx_http_intercom_oauth_call_t *call);
static ngx_int_t ngx_http_intercom_oauth_callback_identity(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_callback_identity_received(
    ngx_http_request_t *r, ngx_http_intercom_oauth_call_t *call);
static ngx_int_t ngx_http_intercom_oauth_callback_saved(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_intercom_oauth_callback_refuse(
    ngx_http_request_t *r, ngx_uint_t err, const char *fmt, ...);


ngx_int_t
ngx_http_intercom_oauth_callback_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_pool_cleanup_t                   *cln;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    /*
     * The post-read phase withheld the query already when the request's
     * URI is this location's; not when a rewrite or an error_page brought
     * it here.  Before anything is logged, whatever the method.
     */
    if (ngx_http_intercom_oauth_withhold_line(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "intercom oauth: callback refused: method \"%V\" "
                      "is not allowed", &r->method_name);
        return NGX_HTTP_NOT_ALLOWED;
    }

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->call) {
        /* an internal redirect back into the callback location */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_intercom_oauth_callback_wipe;
    cln->data = ctx;
    ctx->wipe_cleanup = 1;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                       NGX_HTTP_INTERCOM_OAUTH_CNT_CALLBACKS);

    if (r->method == NGX_HTTP_POST) {
        return ngx_http_intercom_oauth_callback_post(r);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_intercom_oauth_callback_check(r, &r->args);
}


/* the one exit of the request's secrets, however it ends */

static void
ngx_http_intercom_oauth_callback_wipe(void *data)
{
    ngx_http_intercom_oauth_ctx_t  *ctx = data;

    ngx_str_t  *secret[4];
    ngx_uint_t  i;

    secret[0] = &ctx->grant.code;
    secret[1] = &ctx->grant.form;
    secret[2] = &ctx->grant.response;
    secret[3] = &ctx->record.token;

    for (i = 0; i < 4; i++) {
        if (secret[i]->data) {
            ngx_explicit_memzero(secret[i]->data, secret[i]->len);
            ngx_str_null(secret[i]);
        }
    }
}


/* a form POST: the arguments are in the body */

static ngx_int_t
ngx_http_intercom_oauth_callback_post(ngx_http_request_t *r)
{
    off_t      length;
    ngx_int_t  rc;

    if (r->headers_in.content_type == NULL
        || r->headers_in.content_type->value.len
           < sizeof("application/x-www-form-urlencoded") - 1
        || ngx_strncasecmp(r->headers_in.content_type->value.data,
                           (u_char *) "application/x-www-form-urlencoded",
                           sizeof("application/x-www-form-urlencoded") - 1)
           != 0)
    {
        (void) ngx_http_discard_request_body(r);
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST,
                          "intercom oauth: callback refused: a POST must be "
                          "application/x-www-form-urlencoded");
    }

    length = r->headers_in.content_length_n;

    if (length > NGX_HTTP_INTERCOM_OAUTH_MAX_BODY) {
        /* discarding counts the declared length down: logged as sent */
        (void) ngx_http_discard_request_body(r);
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_BODY_TOO_LARGE,
                          "intercom oauth: callback refused: body of %O "
                          "bytes is larger than %d", length,
                          NGX_HTTP_INTERCOM_OAUTH_MAX_BODY);
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
        ngx_http_finalize_request(r,
            ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_BODY_TOO_LARGE,
                          "intercom oauth: callback refused: body is larger "
                          "than %d bytes", NGX_HTTP_INTERCOM_OAUTH_MAX_BODY));
        return;
    }

    ngx_http_finalize_request(r,
                          ngx_http_intercom_oauth_callback_check(r, &args));
}


/* check: the arguments */

static ngx_int_t
ngx_http_intercom_oauth_callback_check(ngx_http_request_t *r, ngx_str_t *args)
{
    ngx_int_t                       rc;
    ngx_str_t                       why;
    ngx_http_intercom_oauth_args_t  a;

    if (args->len > NGX_HTTP_INTERCOM_OAUTH_MAX_ARGS) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST,
                          "intercom oauth: callback refused: arguments of "
                          "%uz bytes are longer than %d", args->len,
                          NGX_HTTP_INTERCOM_OAUTH_MAX_ARGS);
    }

    rc = ngx_http_intercom_oauth_args_parse(r->pool, args, &a, &why);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST,
                          "intercom oauth: callback refused: %V", &why);
    }

    if (a.has_error) {
        ngx_http_intercom_oauth_callback_appstore(r, &a);

        /* Intercom's denial; its "error" value is logged only if tame */
        return ngx_http_intercom_oauth_callback_refuse(r,
                      NGX_HTTP_INTERCOM_OAUTH_ERR_ACCESS_DENIED,
                      "intercom oauth: authorization not granted: "
                      "Intercom sent error \"%V\"",
                      ngx_http_intercom_oauth_args_printable(&a.error, 64)
                      ? &a.error : &(ngx_str_t) ngx_string("(unprintable)"));
    }

    if (!a.has_code || a.code.len == 0) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST,
                          "intercom oauth: callback refused: no \"code\"");
    }

    if (!a.has_state || a.state.len == 0) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST,
                          "intercom oauth: callback refused: no \"state\"");
    }

    if (!ngx_http_intercom_oauth_args_printable(&a.code,
                                            NGX_HTTP_INTERCOM_OAUTH_MAX_CODE))
    {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST,
                          "intercom oauth: callback refused: \"code\" of %uz "
                          "bytes is too long or not printable ASCII",
                          a.code.len);
    }

    if (a.state.len > NGX_HTTP_INTERCOM_OAUTH_MAX_STATE) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST,
                          "intercom oauth: callback refused: \"state\" of %uz "
                          "bytes is too long", a.state.len);
    }

    return ngx_http_intercom_oauth_callback_verify(r, &a);
}


/* check: the state against this browser and client id, then the key */

static ngx_int_t
ngx_http_intercom_oauth_callback_verify(ngx_http_request_t *r,
    ngx_http_intercom_oauth_args_t *a)
{
    ngx_int_t                            rc;
    ngx_str_t                            secret, id;
    ngx_uint_t                           i;
    ngx_http_intercom_oauth_ctx_t       *ctx;
    ngx_http_intercom_oauth_state_t      st;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (ngx_http_intercom_oauth_session_get(r, olcf, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->session_id.len == 0) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_STATE_INVALID,
                          "intercom oauth: state refused: no session cookie "
                          "\"%V\" (another browser, or cookies blocked)",
                          &olcf->cookie_name);
    }

    ngx_http_intercom_oauth_state_secret(r, &secret);

    /* the ids this browser's session replaced, for a state of one of them */
    if (ngx_http_intercom_oauth_session_prev(r, olcf, ctx, &secret) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_intercom_oauth_state_verify(r->pool, &secret,
                                              &ctx->session_id,
                                              &olcf->client_id,
                                              olcf->state_ttl, ngx_time(),
                                              &a->state, &st);

    /*
     * Two tabs: the flow of one completed and replaced the session id the
     * other's state was minted for.  Its state is accepted from the
     * browser that holds the successor and a "_prev" bound to it.
     */
    for (i = 0;
         rc == NGX_HTTP_INTERCOM_OAUTH_STATE_BAD_MAC
         && ngx_http_intercom_oauth_session_prev_id(ctx, i, &id) == NGX_OK;
         i++)
    {
        rc = ngx_http_intercom_oauth_state_verify(r->pool, &secret, &id,
                                                  &olcf->client_id,
                                                  olcf->state_ttl,
                                                  ngx_time(), &a->state,
                                                  &st);

        if (rc == NGX_HTTP_INTERCOM_OAUTH_STATE_OK) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "intercom oauth: the state belongs to a session "
                          "this browser's session replaced (another tab)");
        }
    }

    switch (rc) {

    case NGX_HTTP_INTERCOM_OAUTH_STATE_OK:
        break;

    case NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED:
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_INVALID_REQUEST,
                          "intercom oauth: callback refused: \"state\" is "
                          "malformed");

    case NGX_HTTP_INTERCOM_OAUTH_STATE_EXPIRED:
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_STATE_EXPIRED,
                          "intercom oauth: state refused: expired "
                          "(intercom_oauth_state_ttl %T s)", olcf->state_ttl);

    default: /* NGX_HTTP_INTERCOM_OAUTH_STATE_BAD_MAC */
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_STATE_INVALID,
                          "intercom oauth: state refused: signature does not "
                          "match this browser session and client id");
    }

    if (ngx_http_intercom_oauth_key(r, &ctx->key) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->key.len > NGX_HTTP_INTERCOM_OAUTH_MAX_KEY) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_NO_KEY,
                          "intercom oauth: callback refused: "
                          "\"intercom_oauth_key\" is longer than %d bytes",
                          NGX_HTTP_INTERCOM_OAUTH_MAX_KEY);
    }

    if (ctx->key.len == 0) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_NO_KEY,
                          "intercom oauth: callback refused: "
                          "\"intercom_oauth_key\" is empty for this request");
    }

    ctx->return_to = st.return_to;
    ctx->appstore = st.appstore;
    ctx->grant.code = a->code;

    /* kept beyond this call: the store may answer later, and a release
     * needs the state again */
    ctx->state = ngx_palloc(r->pool, sizeof(ngx_http_intercom_oauth_state_t));
    if (ctx->state == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ctx->state = st;

    return ngx_http_intercom_oauth_storage_state_claim(r, ctx->state,
                                     ngx_http_intercom_oauth_callback_claimed);
}


/*
 * A denial's state, checked only to learn whether the install started at
 * Intercom's App Store, whose page the browser must then go back to.  A
 * state that does not verify changes nothing: the denial is refused as
 * any other.
 */

static void
ngx_http_intercom_oauth_callback_appstore(ngx_http_request_t *r,
    ngx_http_intercom_oauth_args_t *a)
{
    ngx_str_t                            secret;
    ngx_http_intercom_oauth_ctx_t       *ctx;
    ngx_http_intercom_oauth_state_t      st;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (!a->has_state || a->state.len == 0
        || a->state.len > NGX_HTTP_INTERCOM_OAUTH_MAX_STATE
        || ngx_http_intercom_oauth_session_get(r, olcf, ctx) != NGX_OK
        || ctx->session_id.len == 0)
    {
        return;
    }

    ngx_http_intercom_oauth_state_secret(r, &secret);

    if (ngx_http_intercom_oauth_state_verify(r->pool, &secret,
                                             &ctx->session_id,
                                             &olcf->client_id,
                                             olcf->state_ttl, ngx_time(),
                                             &a->state, &st)
        == NGX_HTTP_INTERCOM_OAUTH_STATE_OK)
    {
        ctx->appstore = st.appstore;
    }
}


/* claim: whether this is the state's first use, here and on every host */

static ngx_int_t
ngx_http_intercom_oauth_callback_claimed(ngx_http_request_t *r,
    ngx_int_t claim)
{
    ngx_pool_cleanup_t                   *cln;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    switch (claim) {

    case NGX_HTTP_INTERCOM_OAUTH_CLAIMED:
        ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            ngx_http_intercom_oauth_storage_state_release(r, ctx->state);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        cln->handler = ngx_http_intercom_oauth_callback_abandoned;
        cln->data = r;
        ctx->state_held = 1;

        return ngx_http_intercom_oauth_callback_exchange(r);

    case NGX_HTTP_INTERCOM_OAUTH_CLAIM_USED:
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_STATE_REPLAYED,
                          "intercom oauth: state refused: already used");

    case NGX_HTTP_INTERCOM_OAUTH_CLAIM_USED_ELSEWHERE:
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_STATE_REPLAYED,
                          "intercom oauth: state refused: already used "
                          "(on another host)");

    case NGX_HTTP_INTERCOM_OAUTH_CLAIM_NO_ROOM:
        omcf = ngx_http_get_module_main_conf(r,
                                             ngx_http_intercom_oauth_module);

        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_ZONE_FULL,
                          "intercom oauth: callback refused: "
                          "intercom_oauth_zone \"%V\" has no room for another "
                          "used state (half the zone holds states until they "
                          "expire: a larger zone, a shorter "
                          "intercom_oauth_state_ttl, or limit_req on the "
                          "callback)", &omcf->shm_zone->shm.name);

    case NGX_HTTP_INTERCOM_OAUTH_CLAIM_UNREACHABLE:
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_STORE_UNAVAILABLE,
                          "intercom oauth: callback refused: the store is "
                          "not connected, so single use of the state "
                          "cannot be checked across hosts");

    default: /* NGX_HTTP_INTERCOM_OAUTH_CLAIM_UNCHECKED */
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_STORE_UNAVAILABLE,
                          "intercom oauth: callback refused: single use of "
                          "the state could not be checked in the store");
    }
}


/* exchange: the code for an access token, at the token endpoint */

static ngx_int_t
ngx_http_intercom_oauth_callback_exchange(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_ctx_t          *ctx;
    ngx_http_intercom_oauth_loc_conf_t     *olcf;
    ngx_http_intercom_oauth_call_params_t   params;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    ngx_memzero(&params, sizeof(ngx_http_intercom_oauth_call_params_t));

    if (ngx_http_intercom_oauth_token_form(r->pool, &ctx->grant.code,
                                           &olcf->token_form,
                                           &ctx->grant.form)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params.post = 1;
    params.body = ctx->grant.form;

    if (ngx_http_intercom_oauth_call_start(r, &olcf->token, &params,
                             ngx_http_intercom_oauth_callback_token_received)
        != NGX_OK)
    {
        /* the code was not sent */
        ctx->state_held = 0;
        ngx_http_intercom_oauth_storage_state_release(r, ctx->state);

        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_SERVER_ERROR, NULL);
    }

    return ngx_http_intercom_oauth_wait(r);
}


/*
 * The request is freed while its token request runs (the browser went
 * away, or the worker is shutting down): the exchange is given up, and
 * whatever the endpoint does with the code, this module never redeems
 * it.  r->pool is NULL here; the release allocates nothing from it.
 */

static void
ngx_http_intercom_oauth_callback_abandoned(void *data)
{
    ngx_http_request_t *r = data;

    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (ctx == NULL || !ctx->state_held) {
        return;
    }

    ctx->state_held = 0;
    ngx_http_intercom_oauth_storage_state_release(r, ctx->state);
}


/*
 * Whether the token endpoint's status says the code was not redeemed: a
 * 4xx (RFC 6749 5.2: 400 invalid_grant, 401 invalid_client; Intercom
 * answers 401 "Unauthorized Code").  408 and 429 too: the endpoint did not
 * look at the code, so nothing was redeemed either, and a flood of junk
 * codes is what makes an endpoint answer 429: keeping those states would
 * let the flood fill the zone.  Not 3xx and 5xx, whose code may have been
 * redeemed.  A released state stays bound to its browser session.
 */

static ngx_uint_t
ngx_http_intercom_oauth_callback_refused(long status)
{
    return status >= 400 && status <= 499;
}


/* exchange: the token endpoint answered, failed or timed out */

static ngx_int_t
ngx_http_intercom_oauth_callback_token_received(ngx_http_request_t *r,
    ngx_http_intercom_oauth_call_t *call)
{
    ngx_str_t                            *url;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    url = &olcf->token.url;

    ctx->grant.response.data = call->body;
    ctx->grant.response.len = call->len;
    ctx->grant.elapsed = call->elapsed;

    /* the endpoint answered, or will never be heard of: the state's fate */
    ctx->state_held = 0;

    if (call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_OK
        && ngx_http_intercom_oauth_callback_refused(call->status))
    {
        ngx_http_intercom_oauth_storage_state_release(r, ctx->state);
    }

    ngx_http_intercom_oauth_zone_latency(omcf->shm_zone, call->elapsed);

    switch (call->rc) {

    case NGX_HTTP_INTERCOM_OAUTH_CALL_OK:
        return ngx_http_intercom_oauth_callback_token(r, call);

    case NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT:
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_EXCHANGE_TIMEOUT,
                          "intercom oauth: token exchange with \"%V\" timed "
                          "out after %M ms", url, call->elapsed);

    case NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE:
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_EXCHANGE_FAILED,
                          "intercom oauth: token exchange with \"%V\" failed: "
                          "response larger than %d bytes", url,
                          NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE);

    default: /* NGX_HTTP_INTERCOM_OAUTH_CALL_FAILED */
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_EXCHANGE_FAILED,
                          "intercom oauth: token exchange with \"%V\" failed: "
                          "%s", url, call->error);
    }
}


/* exchange: the answer is an access token, or says why not */

static ngx_int_t
ngx_http_intercom_oauth_callback_token(ngx_http_request_t *r,
    ngx_http_intercom_oauth_call_t *call)
{
    ngx_int_t                                  rc;
    ngx_str_t                                 *url;
    ngx_http_intercom_oauth_ctx_t             *ctx;
    ngx_http_intercom_oauth_loc_conf_t        *olcf;
    ngx_http_intercom_oauth_main_conf_t       *omcf;
    ngx_http_intercom_oauth_token_response_t   tr;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    url = &olcf->token.url;

    rc = ngx_http_intercom_oauth_token_parse(r->pool, call->body, call->len,
                                             &tr);

    /* the token is the request's secret from here on, whatever follows */
    ctx->record.token = tr.access_token;

    if (call->status < 200 || call->status > 299) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_EXCHANGE_FAILED,
                          "intercom oauth: token exchange with \"%V\" failed: "
                          "status %l%s%V%s%V%s", url, call->status,
                          tr.error_code.len ? " (" : "", &tr.error_code,
                          tr.error_message.len ? ": " : "", &tr.error_message,
                          tr.error_code.len ? ")" : "");
    }

    if (rc != NGX_OK) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_EXCHANGE_FAILED,
                          "intercom oauth: token exchange with \"%V\" failed: "
                          "%s%s%V%s%V%s", url, tr.reason,
                          tr.error_code.len ? " (" : "", &tr.error_code,
                          tr.error_message.len ? ": " : "", &tr.error_message,
                          tr.error_code.len ? ")" : "");
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_EXCHANGES_OK);

    /*
     * A token under the session id the browser came with could be used by
     * whoever planted that id: it goes under a new one (session fixation).
     * The browser gets the new id only once the token is kept: a callback
     * that fails leaves its session as it was.
     */
    if (olcf->key == NULL) {
        if (ngx_http_intercom_oauth_session_rotate(r, ctx) != NGX_OK) {
            return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_SERVER_ERROR, NULL);
        }

        ctx->key = ctx->session_id;
    }

    if (olcf->fetch_identity) {
        return ngx_http_intercom_oauth_callback_identity(r);
    }

    return ngx_http_intercom_oauth_storage_token_put(r, &ctx->key,
                                      &ctx->record, &ctx->session_replaced,
                                      ngx_http_intercom_oauth_callback_saved);
}


/* identity: who the token belongs to, from /me */

static ngx_int_t
ngx_http_intercom_oauth_callback_identity(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_ctx_t          *ctx;
    ngx_http_intercom_oauth_loc_conf_t     *olcf;
    ngx_http_intercom_oauth_call_params_t   params;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_identity_request(&ctx->record.token, &params);

    if (ngx_http_intercom_oauth_call_start(r, &olcf->me, &params,
                          ngx_http_intercom_oauth_callback_identity_received)
        == NGX_OK)
    {
        return ngx_http_intercom_oauth_wait(r);
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "intercom oauth: /me could not be asked; "
                  "the token is stored without an identity");

    return ngx_http_intercom_oauth_storage_token_put(r, &ctx->key,
                                      &ctx->record, &ctx->session_replaced,
                                      ngx_http_intercom_oauth_callback_saved);
}


/* identity: /me answered, failed or timed out; the token is kept anyway */

static ngx_int_t
ngx_http_intercom_oauth_callback_identity_received(ngx_http_request_t *r,
    ngx_http_intercom_oauth_call_t *call)
{
    const char                           *reason;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_record_t      rec;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    ngx_memzero(&rec, sizeof(ngx_http_intercom_oauth_record_t));
    reason = NULL;

    if (call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_TIMEOUT) {
        reason = "timed out";

    } else if (call->rc != NGX_HTTP_INTERCOM_OAUTH_CALL_OK) {
        reason = call->rc == NGX_HTTP_INTERCOM_OAUTH_CALL_TOO_LARGE
                 ? "response too large" : call->error;

    } else if (call->status != 200) {
        reason = "status not 200";

    } else if (ngx_http_intercom_oauth_identity_parse(r->pool, call->body,
                                                      call->len, &rec,
                                                      &reason)
               == NGX_OK)
    {
        rec.token = ctx->record.token;
        ctx->record = rec;
        reason = NULL;
    }

    if (reason) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "intercom oauth: /me at \"%V\" failed: %s (status %l); "
                      "the token is stored without an identity",
                      &olcf->api_url, reason, call->status);
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                 NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_FAILED);
    }

    return ngx_http_intercom_oauth_storage_token_put(r, &ctx->key,
                                      &ctx->record, &ctx->session_replaced,
                                      ngx_http_intercom_oauth_callback_saved);
}


/* save: the token is kept (NGX_OK), or the zone or the store refused it */

static ngx_int_t
ngx_http_intercom_oauth_callback_saved(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_str_t                            *uri, target;
    ngx_str_t                             secret;
    ngx_connection_t                     *c;
    ngx_http_intercom_oauth_ctx_t        *ctx;
    ngx_http_intercom_oauth_record_t     *rec;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    c = r->connection;
    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);
    rec = &ctx->record;

    if (rc == NGX_BUSY) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_ZONE_FULL,
                          "intercom oauth: the access token could not be "
                          "stored in intercom_oauth_zone \"%V\": it is too "
                          "small", &omcf->shm_zone->shm.name);
    }

    if (rc != NGX_OK) {
        return ngx_http_intercom_oauth_callback_refuse(r,
                          NGX_HTTP_INTERCOM_OAUTH_ERR_STORE_UNAVAILABLE,
                          "intercom oauth: callback failed: the access token "
                          "could not be written to the store; it was not "
                          "kept and the user is asked to connect again");
    }

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_TOKENS_STORED);

    ngx_log_error(NGX_LOG_INFO, c->log, 0,
                  "intercom oauth: access token stored (%M ms exchange)",
                  ctx->grant.elapsed);

    if (rec->identity) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "intercom oauth: token of admin %V in workspace %V "
                      "(email %sverified)", &rec->admin_id,
                      &rec->workspace_id,
                      rec->email_verified ? "" : "not ");
        ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                     NGX_HTTP_INTERCOM_OAUTH_CNT_IDENTITY_OK);
    }

    /* the rotated session, now that it holds the token */
    if (ctx->session_replaced.len) {
        ngx_http_intercom_oauth_state_secret(r, &secret);

        if (ngx_http_intercom_oauth_session_commit(r, olcf, ctx, &secret,
                                                   olcf->state_ttl)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* redirect */

    ngx_http_intercom_oauth_zone_count(omcf->shm_zone,
                                    NGX_HTTP_INTERCOM_OAUTH_CNT_CALLBACKS_OK);

    if (ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    uri = ctx->return_to.len ? &ctx->return_to : &olcf->success_uri;

    if (ctx->appstore) {
        uri = &target;

        if (ngx_http_intercom_oauth_appstore_target(r->pool,
                                                    &olcf->authorize_url,
                                                    NULL, uri)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_intercom_oauth_redirect(r, NGX_HTTP_MOVED_TEMPORARILY,
                                            uri);
}


/*
 * A refusal: counted and logged as its row of the error table says, then
 * a 302 to the App Store's redirect page for an App Store install, to
 * intercom_oauth_error_uri?error=CODE when one is set, the
 * location's own error_page for that status when it has one, or the
 * built-in page.  Returns what the request is finalized with.
 */

static ngx_int_t
ngx_http_intercom_oauth_callback_refuse(ngx_http_request_t *r,
    ngx_uint_t err, const char *fmt, ...)
{
    u_char                              *p, *last;
    va_list                              args;
    ngx_str_t                            target;
    ngx_http_core_loc_conf_t            *clcf;
    ngx_http_intercom_oauth_arg_t        arg;
    ngx_http_intercom_oauth_ctx_t       *ctx;
    ngx_http_intercom_oauth_error_t     *e;
    ngx_http_intercom_oauth_loc_conf_t  *olcf;

    va_start(args, fmt);
    e = ngx_http_intercom_oauth_verror(r, err, fmt, args);
    va_end(args);

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);

    ngx_http_intercom_oauth_set_error(r, &e->code);

    if (ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (ctx && ctx->appstore) {
        if (ngx_http_intercom_oauth_appstore_target(r->pool,
                                                    &olcf->authorize_url,
                                                    &e->code, &target)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_intercom_oauth_redirect(r, NGX_HTTP_MOVED_TEMPORARILY,
                                                &target);
    }

    if (olcf->error_uri.len) {
        ngx_str_set(&arg.name, "error=");
        arg.value = &e->code;
        arg.escape = 0;

        if (ngx_http_intercom_oauth_uri_args(r->pool, &olcf->error_uri, &arg,
                                             1, &target)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_intercom_oauth_redirect(r, NGX_HTTP_MOVED_TEMPORARILY,
                                                &target);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->error_pages) {
        /*
         * The site's own error_page, with $intercom_oauth_error set.  The
         * code and the state stay behind: an error_page to a named
         * location keeps the arguments, and a proxy_pass there would send
         * them upstream, and nginx would log them in "upstream:".
         */
        ngx_str_null(&r->args);
        r->valid_unparsed_uri = 0;

        return e->status;
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
                    "</main>\n</body>\n</html>\n", &e->code, e->status);

    return ngx_http_intercom_oauth_send(r, e->status,
                                        "text/html; charset=utf-8", p,
                                        last - p);
}


char *
ngx_http_intercom_oauth_callback_merge(ngx_conf_t *cf, void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    if (ngx_strncasecmp(olcf->token.url.data, (u_char *) "http://", 7) == 0) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"intercom_oauth_token_url\" \"%V\" is not "
                           "https: the client secret and the authorization "
                           "code travel in the clear", &olcf->token.url);
    }

    /* escaped once here rather than on every callback */
    if (ngx_http_intercom_oauth_token_form_conf(cf->pool, &olcf->client_id,
                                                &olcf->client_secret,
                                                &olcf->token_form)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
