
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Minting and verifying states.  OpenSSL does the randomness, the HMAC and
 * the constant-time compare; nothing here touches the network or the zone,
 * so the checks can all run before any exchange starts.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
#include <openssl/core_names.h>
#endif

#include "ngx_http_intercom_oauth_random.h"
#include "ngx_http_intercom_oauth_state.h"


/* version, issued-at, nonce, return_to length */
#define NGX_HTTP_INTERCOM_OAUTH_STATE_HEAD  (1 + 8 + 16 + 2)

/* tolerated clock difference between hosts sharing a state secret */
#define NGX_HTTP_INTERCOM_OAUTH_STATE_SKEW  60


static ngx_int_t ngx_http_intercom_oauth_state_mac(ngx_str_t *secret,
    u_char *blob, size_t len, ngx_str_t *session_id, ngx_str_t *client_id,
    u_char *mac);


ngx_int_t
ngx_http_intercom_oauth_state_mint(ngx_http_request_t *r, ngx_str_t *secret,
    ngx_str_t *session_id, ngx_str_t *client_id, ngx_str_t *return_to,
    ngx_uint_t appstore, ngx_str_t *state)
{
    u_char     *blob, *p;
    size_t      len;
    uint64_t    now;
    ngx_int_t   i;
    ngx_str_t   raw;

    len = NGX_HTTP_INTERCOM_OAUTH_STATE_HEAD + return_to->len
          + NGX_HTTP_INTERCOM_OAUTH_MAC_LEN;

    blob = ngx_pnalloc(r->pool, len);
    if (blob == NULL) {
        return NGX_ERROR;
    }

    p = blob;
    *p++ = NGX_HTTP_INTERCOM_OAUTH_STATE_VERSION
           | (appstore ? NGX_HTTP_INTERCOM_OAUTH_STATE_APPSTORE : 0);

    now = (uint64_t) ngx_time();

    for (i = 7; i >= 0; i--) {
        *p++ = (u_char) (now >> (i * 8));
    }

    if (ngx_http_intercom_oauth_random(p, NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: RAND_bytes() failed");
        return NGX_ERROR;
    }

    p += NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN;

    *p++ = (u_char) (return_to->len >> 8);
    *p++ = (u_char) return_to->len;
    p = ngx_cpymem(p, return_to->data, return_to->len);

    if (ngx_http_intercom_oauth_state_mac(secret, blob, p - blob, session_id,
                                          client_id, p)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "intercom oauth: HMAC() failed");
        return NGX_ERROR;
    }

    state->data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(len));
    if (state->data == NULL) {
        return NGX_ERROR;
    }

    raw.len = len;
    raw.data = blob;

    ngx_encode_base64url(state, &raw);

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_state_verify(ngx_pool_t *pool, ngx_str_t *secret,
    ngx_str_t *session_id, ngx_str_t *client_id, time_t ttl, time_t now,
    ngx_str_t *state, ngx_http_intercom_oauth_state_t *out)
{
    u_char     *p;
    size_t      rlen;
    uint64_t    issued;
    ngx_int_t   i;
    ngx_str_t   raw, tail, group;
    u_char      spelled[4];
    u_char      mac[NGX_HTTP_INTERCOM_OAUTH_MAC_LEN];

    if (state->len == 0 || state->len > NGX_HTTP_INTERCOM_OAUTH_MAX_STATE) {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED;
    }

    raw.data = ngx_pnalloc(pool, ngx_base64_decoded_length(state->len));
    if (raw.data == NULL) {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED;
    }

    /* ngx_decode_base64url() accepts only the base64url alphabet */
    if (ngx_decode_base64url(&raw, state) != NGX_OK) {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED;
    }

    if (raw.len < NGX_HTTP_INTERCOM_OAUTH_STATE_HEAD
                  + NGX_HTTP_INTERCOM_OAUTH_MAC_LEN
        || (raw.data[0] & ~NGX_HTTP_INTERCOM_OAUTH_STATE_APPSTORE)
           != NGX_HTTP_INTERCOM_OAUTH_STATE_VERSION)
    {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED;
    }

    p = raw.data + NGX_HTTP_INTERCOM_OAUTH_STATE_HEAD - 2;
    rlen = ((size_t) p[0] << 8) | p[1];

    if (rlen > NGX_HTTP_INTERCOM_OAUTH_MAX_RETURN_TO
        || raw.len != NGX_HTTP_INTERCOM_OAUTH_STATE_HEAD + rlen
                      + NGX_HTTP_INTERCOM_OAUTH_MAC_LEN)
    {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED;
    }

    /* the length itself can be canonical and still not decode byte-exact */
    if ((raw.len * 4 + 2) / 3 != state->len) {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED;
    }

    /*
     * The last character may carry bits the decoder ignores: only the one
     * spelling the module mints is a state, so that a state is one string.
     * With the length canonical, only a last group of 1 or 2 bytes has
     * such bits: that group alone is encoded again, not the whole state.
     */
    tail.len = raw.len % 3;

    if (tail.len) {
        tail.data = raw.data + raw.len - tail.len;
        group.data = spelled;

        ngx_encode_base64url(&group, &tail);

        if (ngx_memcmp(group.data, state->data + state->len - group.len,
                       group.len)
            != 0)
        {
            return NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED;
        }
    }

    if (ngx_http_intercom_oauth_state_mac(secret, raw.data,
                                          raw.len
                                          - NGX_HTTP_INTERCOM_OAUTH_MAC_LEN,
                                          session_id, client_id, mac)
        != NGX_OK)
    {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_BAD_MAC;
    }

    if (CRYPTO_memcmp(mac, raw.data + raw.len - NGX_HTTP_INTERCOM_OAUTH_MAC_LEN,
                      NGX_HTTP_INTERCOM_OAUTH_MAC_LEN)
        != 0)
    {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_BAD_MAC;
    }

    issued = 0;

    for (i = 1; i <= 8; i++) {
        issued = (issued << 8) | raw.data[i];
    }

    if (issued > (uint64_t) now + NGX_HTTP_INTERCOM_OAUTH_STATE_SKEW
        || ((uint64_t) now > issued && (uint64_t) now - issued
                                       > (uint64_t) ttl))
    {
        return NGX_HTTP_INTERCOM_OAUTH_STATE_EXPIRED;
    }

    ngx_memcpy(out->nonce, raw.data + 9, NGX_HTTP_INTERCOM_OAUTH_NONCE_LEN);
    out->issued = (time_t) issued;
    out->return_to.len = rlen;
    out->return_to.data = raw.data + NGX_HTTP_INTERCOM_OAUTH_STATE_HEAD;
    out->appstore = (raw.data[0] & NGX_HTTP_INTERCOM_OAUTH_STATE_APPSTORE)
                    ? 1 : 0;

    return NGX_HTTP_INTERCOM_OAUTH_STATE_OK;
}


#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)

/*
 * OpenSSL 3's one-shot HMAC() fetches the digest from a provider and keys a
 * new context on every call, a large share of the connect page's cost
 * (bench/RESULTS.md, "Profile").  Each process keeps a keyed context for
 * the last few secrets it used instead; EVP_MAC_init() with a NULL key
 * then only copies the precomputed inner and outer states.  A secret is
 * compared by value, never by address, so a reload that puts another
 * secret at the same address cannot pick up a stale key.
 */

#define NGX_HTTP_INTERCOM_OAUTH_MAC_CACHE    4
#define NGX_HTTP_INTERCOM_OAUTH_MAC_MAX_KEY  256

typedef struct {
    EVP_MAC_CTX  *ctx;
    size_t        len;
    u_char        key[NGX_HTTP_INTERCOM_OAUTH_MAC_MAX_KEY];
} ngx_http_intercom_oauth_mac_key_t;


static EVP_MAC                            *ngx_http_intercom_oauth_hmac;
static ngx_http_intercom_oauth_mac_key_t   ngx_http_intercom_oauth_mac_keys[
                                            NGX_HTTP_INTERCOM_OAUTH_MAC_CACHE];
static ngx_uint_t                          ngx_http_intercom_oauth_mac_next;


/* a context keyed with "secret" and ready for updates, or NULL */

static EVP_MAC_CTX *
ngx_http_intercom_oauth_state_mac_ctx(ngx_str_t *secret)
{
    ngx_uint_t                          i;
    OSSL_PARAM                          params[2];
    ngx_http_intercom_oauth_mac_key_t  *k;

    for (i = 0; i < NGX_HTTP_INTERCOM_OAUTH_MAC_CACHE; i++) {
        k = &ngx_http_intercom_oauth_mac_keys[i];

        if (k->ctx && k->len == secret->len
            && ngx_memcmp(k->key, secret->data, secret->len) == 0)
        {
            return EVP_MAC_init(k->ctx, NULL, 0, NULL) ? k->ctx : NULL;
        }
    }

    if (ngx_http_intercom_oauth_hmac == NULL) {
        ngx_http_intercom_oauth_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (ngx_http_intercom_oauth_hmac == NULL) {
            return NULL;
        }
    }

    /* the oldest entry makes room */
    k = &ngx_http_intercom_oauth_mac_keys[ngx_http_intercom_oauth_mac_next];
    ngx_http_intercom_oauth_mac_next = (ngx_http_intercom_oauth_mac_next + 1)
                                       % NGX_HTTP_INTERCOM_OAUTH_MAC_CACHE;

    if (k->ctx == NULL) {
        k->ctx = EVP_MAC_CTX_new(ngx_http_intercom_oauth_hmac);
        if (k->ctx == NULL) {
            return NULL;
        }
    }

    k->len = 0;
    ngx_explicit_memzero(k->key, sizeof(k->key));

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();

    if (!EVP_MAC_init(k->ctx, secret->data, secret->len, params)) {
        return NULL;
    }

    ngx_memcpy(k->key, secret->data, secret->len);
    k->len = secret->len;

    return k->ctx;
}

#endif


/*
 * HMAC-SHA256 over the state's bytes, the session id and the client id,
 * truncated to NGX_HTTP_INTERCOM_OAUTH_MAC_LEN bytes.  The session id has a
 * fixed length, so the concatenation is unambiguous.
 */

static ngx_int_t
ngx_http_intercom_oauth_state_mac(ngx_str_t *secret, u_char *blob, size_t len,
    ngx_str_t *session_id, ngx_str_t *client_id, u_char *mac)
{
    u_char  *p;
    u_char   buf[NGX_HTTP_INTERCOM_OAUTH_STATE_HEAD
                 + NGX_HTTP_INTERCOM_OAUTH_MAX_RETURN_TO + 1 + 255 + 1024];
    u_char   md[NGX_HTTP_INTERCOM_OAUTH_HMAC_LEN];

    if (session_id->len > 255 || client_id->len > 1024
        || len > NGX_HTTP_INTERCOM_OAUTH_STATE_HEAD
                 + NGX_HTTP_INTERCOM_OAUTH_MAX_RETURN_TO)
    {
        return NGX_ERROR;
    }

    p = ngx_cpymem(buf, blob, len);
    *p++ = (u_char) session_id->len;
    p = ngx_cpymem(p, session_id->data, session_id->len);
    p = ngx_cpymem(p, client_id->data, client_id->len);

    if (ngx_http_intercom_oauth_state_hmac(secret, buf, p - buf, md)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(mac, md, NGX_HTTP_INTERCOM_OAUTH_MAC_LEN);

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_state_hmac(ngx_str_t *secret, u_char *data,
    size_t len, u_char *md)
{
    unsigned int   mdlen;
#if (OPENSSL_VERSION_NUMBER >= 0x30000000L)
    size_t         outlen;
    EVP_MAC_CTX   *ctx;

    /* longer secrets (a key file, say) take the one-shot path below */
    if (secret->len <= NGX_HTTP_INTERCOM_OAUTH_MAC_MAX_KEY) {
        ctx = ngx_http_intercom_oauth_state_mac_ctx(secret);

        if (ctx == NULL
            || !EVP_MAC_update(ctx, data, len)
            || !EVP_MAC_final(ctx, md, &outlen,
                              NGX_HTTP_INTERCOM_OAUTH_HMAC_LEN))
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

#endif

    if (HMAC(EVP_sha256(), secret->data, (int) secret->len, data, len, md,
             &mdlen)
        == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_intercom_oauth_return_to_valid(ngx_str_t *uri)
{
    size_t  i;

    if (uri->len == 0 || uri->len > NGX_HTTP_INTERCOM_OAUTH_MAX_RETURN_TO
        || uri->data[0] != '/')
    {
        return 0;
    }

    /* "//host" and "/\host" are taken by browsers as another site */
    if (uri->len > 1 && (uri->data[1] == '/' || uri->data[1] == '\\')) {
        return 0;
    }

    for (i = 0; i < uri->len; i++) {
        if (uri->data[i] <= 0x20 || uri->data[i] >= 0x7f
            || uri->data[i] == '\\')
        {
            return 0;
        }
    }

    return 1;
}
