
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ngx_http_intercom_oauth_seal.h"


#define NGX_HTTP_INTERCOM_OAUTH_SEAL_VERSION  0x01
#define NGX_HTTP_INTERCOM_OAUTH_SEAL_IV       12
#define NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG      16


ngx_int_t
ngx_http_intercom_oauth_seal(ngx_pool_t *pool, u_char *key,
    ngx_str_t *aad, ngx_str_t *plain, ngx_str_t *out)
{
    int               n;
    u_char           *p, *iv;
    ngx_int_t         rc;
    EVP_CIPHER_CTX   *e;

    out->len = 1 + NGX_HTTP_INTERCOM_OAUTH_SEAL_IV + plain->len
               + NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG;

    out->data = ngx_pnalloc(pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;
    *p++ = NGX_HTTP_INTERCOM_OAUTH_SEAL_VERSION;
    iv = p;

    if (RAND_bytes(iv, NGX_HTTP_INTERCOM_OAUTH_SEAL_IV) != 1) {
        return NGX_ERROR;
    }

    p += NGX_HTTP_INTERCOM_OAUTH_SEAL_IV;

    e = EVP_CIPHER_CTX_new();
    if (e == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (EVP_EncryptInit_ex(e, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_IVLEN,
                               NGX_HTTP_INTERCOM_OAUTH_SEAL_IV, NULL) != 1
        || EVP_EncryptInit_ex(e, NULL, NULL, key, iv) != 1
        || EVP_EncryptUpdate(e, NULL, &n, aad->data, (int) aad->len) != 1
        || EVP_EncryptUpdate(e, p, &n, plain->data, (int) plain->len) != 1)
    {
        goto done;
    }

    p += n;

    if (EVP_EncryptFinal_ex(e, p, &n) != 1) {
        goto done;
    }

    p += n;

    if (EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG,
                            NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG, p) != 1)
    {
        goto done;
    }

    out->len = p + NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG - out->data;
    rc = NGX_OK;

done:

    EVP_CIPHER_CTX_free(e);

    return rc;
}


ngx_int_t
ngx_http_intercom_oauth_seal_open(ngx_pool_t *pool, u_char *key,
    ngx_str_t *aad, ngx_str_t *in, ngx_str_t *plain)
{
    int              n;
    u_char          *iv, *ct, *tag, *p;
    size_t           len;
    ngx_int_t        rc;
    EVP_CIPHER_CTX  *e;

    if (in->len < 1 + NGX_HTTP_INTERCOM_OAUTH_SEAL_IV
                  + NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG
        || in->data[0] != NGX_HTTP_INTERCOM_OAUTH_SEAL_VERSION)
    {
        return NGX_DECLINED;
    }

    iv = in->data + 1;
    ct = iv + NGX_HTTP_INTERCOM_OAUTH_SEAL_IV;
    len = in->len - 1 - NGX_HTTP_INTERCOM_OAUTH_SEAL_IV
          - NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG;
    tag = ct + len;

    plain->data = ngx_pnalloc(pool, len + 1);
    if (plain->data == NULL) {
        return NGX_ERROR;
    }

    e = EVP_CIPHER_CTX_new();
    if (e == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_DECLINED;
    p = plain->data;

    if (EVP_DecryptInit_ex(e, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_IVLEN,
                               NGX_HTTP_INTERCOM_OAUTH_SEAL_IV, NULL) != 1
        || EVP_DecryptInit_ex(e, NULL, NULL, key, iv) != 1
        || EVP_DecryptUpdate(e, NULL, &n, aad->data, (int) aad->len) != 1
        || EVP_DecryptUpdate(e, p, &n, ct, (int) len) != 1)
    {
        goto done;
    }

    p += n;

    if (EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_TAG,
                            NGX_HTTP_INTERCOM_OAUTH_SEAL_TAG, tag) != 1
        || EVP_DecryptFinal_ex(e, p, &n) != 1)
    {
        ngx_explicit_memzero(plain->data, len);
        goto done;
    }

    plain->len = p + n - plain->data;
    rc = NGX_OK;

done:

    EVP_CIPHER_CTX_free(e);

    return rc;
}
