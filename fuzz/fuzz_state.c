
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * libFuzzer harness: the state decoder, ngx_http_intercom_oauth_state_verify()
 * (src/ngx_http_intercom_oauth_state.c), and return_to_valid().
 *
 * The first input byte picks a mode; the rest is the data:
 *
 *   0  the data is a state string as the callback would receive it;
 *      verify must not crash, and a state it accepts must hold a return_to
 *      of at most 512 bytes inside the decoded buffer.
 *   1  round trip: the data is a return_to; when return_to_valid() takes
 *      it, mint a state (with the App Store mark when the data's last byte
 *      is odd), verify it (must succeed with the same return_to, issue
 *      time and mark), then change one character of it (position and
 *      value from the data's last two bytes): verify must refuse the
 *      changed state, even a change only in the unused low bits of the
 *      last character, which the base64url decoder ignores (see
 *      fuzz/shim/ngx_shim.c): a state has exactly one spelling.
 *   2  a decoded layout signed with the right key: the data is the state's
 *      bytes before the MAC; the harness appends a correct MAC (computed
 *      here, independently of the module) and encodes it, so that the
 *      checks after the MAC (version, lengths, age) are reached too.  What
 *      verify accepts must agree with the layout.
 */


#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_shim.h"
#include "ngx_http_intercom_oauth_state.h"


#define FUZZ_NOW  1700000000
#define FUZZ_TTL  600


static ngx_str_t  fuzz_secret = ngx_string("state-secret-for-fuzzing-0123456");
static ngx_str_t  fuzz_sid = ngx_string("c2Vzc2lvbi1pZC0xMjM0NQ");
static ngx_str_t  fuzz_client = ngx_string("fuzz-client");


static void fuzz_raw(ngx_pool_t *pool, const uint8_t *data, size_t size);
static void fuzz_round_trip(ngx_pool_t *pool, const uint8_t *data,
    size_t size);
static void fuzz_signed(ngx_pool_t *pool, const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_pool_t  *pool;

    if (size == 0) {
        return 0;
    }

    fuzz_set_time(FUZZ_NOW);

    pool = fuzz_pool_create(0);

    switch (data[0] % 3) {
    case 0:
        fuzz_raw(pool, data + 1, size - 1);
        break;
    case 1:
        fuzz_round_trip(pool, data + 1, size - 1);
        break;
    default:
        fuzz_signed(pool, data + 1, size - 1);
        break;
    }

    fuzz_pool_destroy(pool);

    return 0;
}


static ngx_int_t
fuzz_verify(ngx_pool_t *pool, u_char *s, size_t len,
    ngx_http_intercom_oauth_state_t *st)
{
    u_char     *copy;
    ngx_str_t   state;

    /* an exact-size heap copy: a read past the end is an ASan report */
    copy = malloc(len ? len : 1);
    memcpy(copy, s, len);

    state.data = copy;
    state.len = len;

    memset(st, 0, sizeof(*st));

    ngx_int_t rc = ngx_http_intercom_oauth_state_verify(pool, &fuzz_secret,
                                                   &fuzz_sid, &fuzz_client,
                                                   FUZZ_TTL, FUZZ_NOW, &state,
                                                   st);
    free(copy);

    fuzz_assert(rc == NGX_HTTP_INTERCOM_OAUTH_STATE_OK
                || rc == NGX_HTTP_INTERCOM_OAUTH_STATE_MALFORMED
                || rc == NGX_HTTP_INTERCOM_OAUTH_STATE_BAD_MAC
                || rc == NGX_HTTP_INTERCOM_OAUTH_STATE_EXPIRED);

    if (rc == NGX_HTTP_INTERCOM_OAUTH_STATE_OK) {
        fuzz_assert(st->return_to.len <= NGX_HTTP_INTERCOM_OAUTH_MAX_RETURN_TO);
        fuzz_assert(st->issued <= FUZZ_NOW + 60);
        fuzz_assert(st->issued >= FUZZ_NOW - FUZZ_TTL);

        if (st->return_to.len) {
            /* touch every byte: ASan reports a return_to outside the pool */
            volatile u_char  sum = 0;

            for (size_t i = 0; i < st->return_to.len; i++) {
                sum += st->return_to.data[i];
            }

            (void) sum;
        }
    }

    return rc;
}


static void
fuzz_raw(ngx_pool_t *pool, const uint8_t *data, size_t size)
{
    ngx_str_t                         rt;
    ngx_http_intercom_oauth_state_t   st;

    (void) fuzz_verify(pool, (u_char *) data, size, &st);

    /* the same bytes as a return_to: the open-redirect guard */
    rt.data = malloc(size ? size : 1);
    memcpy(rt.data, data, size);
    rt.len = size;

    if (ngx_http_intercom_oauth_return_to_valid(&rt)) {
        fuzz_assert(rt.len >= 1 && rt.data[0] == '/');
        fuzz_assert(rt.len == 1 || (rt.data[1] != '/' && rt.data[1] != '\\'));
        fuzz_assert(memchr(rt.data, '\\', rt.len) == NULL);

        for (size_t i = 0; i < rt.len; i++) {
            fuzz_assert(rt.data[i] > 0x20 && rt.data[i] < 0x7f);
        }
    }

    free(rt.data);
}


static void
fuzz_round_trip(ngx_pool_t *pool, const uint8_t *data, size_t size)
{
    size_t                            pos, rlen;
    u_char                            c, old;
    ngx_str_t                         rt, state;
    ngx_log_t                         log;
    ngx_connection_t                  conn;
    ngx_http_request_t                r;
    ngx_http_intercom_oauth_state_t   st, st2;

    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.%";

    if (size < 2) {
        return;
    }

    rlen = size - 2;

    rt.len = rlen;
    rt.data = (u_char *) data;

    if (rlen && !ngx_http_intercom_oauth_return_to_valid(&rt)) {
        return;
    }

    memset(&log, 0, sizeof(log));
    memset(&conn, 0, sizeof(conn));
    memset(&r, 0, sizeof(r));
    conn.log = &log;
    r.connection = &conn;
    r.pool = pool;

    fuzz_assert(ngx_http_intercom_oauth_state_mint(&r, &fuzz_secret, &fuzz_sid,
                                                   &fuzz_client, &rt,
                                                   data[size - 1] & 1, &state)
                == NGX_OK);

    fuzz_assert(state.len <= NGX_HTTP_INTERCOM_OAUTH_MAX_STATE);

    fuzz_assert(fuzz_verify(pool, state.data, state.len, &st)
                == NGX_HTTP_INTERCOM_OAUTH_STATE_OK);
    fuzz_assert(st.issued == FUZZ_NOW);
    fuzz_assert(st.return_to.len == rt.len);
    fuzz_assert(rt.len == 0
                || memcmp(st.return_to.data, rt.data, rt.len) == 0);
    fuzz_assert(st.appstore == (ngx_uint_t) (data[size - 1] & 1));

    /* another session or client id: always refused */
    {
        ngx_str_t  other = ngx_string("b3RoZXItc2Vzc2lvbi0xMj");
        ngx_str_t  copy = state;

        memset(&st2, 0, sizeof(st2));
        fuzz_assert(ngx_http_intercom_oauth_state_verify(pool, &fuzz_secret,
                                                         &other, &fuzz_client,
                                                         FUZZ_TTL, FUZZ_NOW,
                                                         &copy, &st2)
                    == NGX_HTTP_INTERCOM_OAUTH_STATE_BAD_MAC);
    }

    /* one character changed */
    pos = data[size - 2] % state.len;
    c = alphabet[data[size - 1] % (sizeof(alphabet) - 1)];
    old = state.data[pos];

    if (c == old) {
        return;
    }

    state.data[pos] = c;

    /*
     * A state is one string: the verifier re-encodes what it decoded and
     * compares, so even a change in the last character's unused bits
     * (which the base64url decoder ignores) is refused.
     */
    fuzz_assert(fuzz_verify(pool, state.data, state.len, &st2)
                != NGX_HTTP_INTERCOM_OAUTH_STATE_OK);

    state.data[pos] = old;
}


static void
fuzz_signed(ngx_pool_t *pool, const uint8_t *data, size_t size)
{
    u_char                            *blob, *buf, *p;
    size_t                             blen, rlen;
    unsigned int                       mdlen;
    uint64_t                           issued;
    ngx_str_t                          raw, state;
    ngx_http_intercom_oauth_state_t    st;
    u_char                             md[EVP_MAX_MD_SIZE];

    /* the module MACs at most 27 + 512 bytes: longer is malformed anyway */
    if (size > 27 + 512 + 64) {
        return;
    }

    blen = size + 16;
    blob = malloc(blen);
    memcpy(blob, data, size);

    /* MAC = HMAC-SHA256(secret, bytes | len(sid) | sid | client id)[0..16] */
    buf = malloc(size + 1 + fuzz_sid.len + fuzz_client.len);
    p = buf;
    memcpy(p, data, size);
    p += size;
    *p++ = (u_char) fuzz_sid.len;
    memcpy(p, fuzz_sid.data, fuzz_sid.len);
    p += fuzz_sid.len;
    memcpy(p, fuzz_client.data, fuzz_client.len);
    p += fuzz_client.len;

    HMAC(EVP_sha256(), fuzz_secret.data, (int) fuzz_secret.len, buf, p - buf,
         md, &mdlen);
    memcpy(blob + size, md, 16);
    free(buf);

    raw.data = blob;
    raw.len = blen;
    state.data = malloc(ngx_base64_encoded_length(blen));
    ngx_encode_base64url(&state, &raw);

    if (fuzz_verify(pool, state.data, state.len, &st)
        == NGX_HTTP_INTERCOM_OAUTH_STATE_OK)
    {
        /* accepted: the layout must be exactly what the header describes */
        fuzz_assert(size >= 27);
        fuzz_assert((data[0] & ~NGX_HTTP_INTERCOM_OAUTH_STATE_APPSTORE)
                    == NGX_HTTP_INTERCOM_OAUTH_STATE_VERSION);
        fuzz_assert(st.appstore
                    == ((data[0] & NGX_HTTP_INTERCOM_OAUTH_STATE_APPSTORE)
                        != 0));

        rlen = ((size_t) data[25] << 8) | data[26];
        fuzz_assert(rlen == size - 27);
        fuzz_assert(st.return_to.len == rlen);
        fuzz_assert(rlen == 0 || memcmp(st.return_to.data, data + 27, rlen) == 0);
        fuzz_assert(memcmp(st.nonce, data + 9, 16) == 0);

        issued = 0;

        for (int i = 1; i <= 8; i++) {
            issued = issued << 8 | data[i];
        }

        fuzz_assert((uint64_t) st.issued == issued);
    }

    free(state.data);
    free(blob);
}
