
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Loading secrets at configuration time.  Blocking file I/O is fine here:
 * this runs in the master while it reads nginx.conf, never in a worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_intercom_oauth_secret.h"


static char *ngx_http_intercom_oauth_secret_load(ngx_conf_t *cf,
    ngx_str_t *value, ngx_str_t *secret, ngx_uint_t literal_ok);
static char *ngx_http_intercom_oauth_secret_file(ngx_conf_t *cf,
    ngx_str_t *path, ngx_str_t *secret);


char *
ngx_http_intercom_oauth_secret_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    char                                 *rv;
    ngx_str_t                            *field, *value;
    ngx_http_intercom_oauth_secret_post_t  *post;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    post = cmd->post;

    rv = ngx_http_intercom_oauth_secret_load(cf, &value[1], field,
                                             post && post->literal_ok);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (post == NULL) {
        return NGX_CONF_OK;
    }

    if (field->len < post->min_len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be at least %uz bytes long%s",
                           &cmd->name, post->min_len, post->hint);
        return NGX_CONF_ERROR;
    }

    if (post->post_handler) {
        return post->post_handler(cf, post, field);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_intercom_oauth_secret_load(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *secret, ngx_uint_t literal_ok)
{
    u_char     *p;
    ngx_str_t   name;

    if (value->len > 5 && ngx_strncmp(value->data, "file:", 5) == 0) {
        name.len = value->len - 5;
        name.data = value->data + 5;

        return ngx_http_intercom_oauth_secret_file(cf, &name, secret);
    }

    if (value->len > 4 && ngx_strncmp(value->data, "env:", 4) == 0) {
        name.len = value->len - 4;
        name.data = ngx_pnalloc(cf->pool, name.len + 1);
        if (name.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(name.data, value->data + 4, name.len + 1);

        p = (u_char *) getenv((char *) name.data);

        if (p == NULL || *p == '\0') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\": environment variable \"%V\" "
                               "is not set or empty",
                               &((ngx_str_t *) cf->args->elts)[0], &name);
            return NGX_CONF_ERROR;
        }

        secret->len = ngx_strlen(p);
        secret->data = ngx_pnalloc(cf->pool, secret->len);
        if (secret->data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(secret->data, p, secret->len);

        return NGX_CONF_OK;
    }

    if (!literal_ok) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes \"file:PATH\" or \"env:NAME\"",
                           &((ngx_str_t *) cf->args->elts)[0]);
        return NGX_CONF_ERROR;
    }

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "\"%V\" is given literally in the configuration; "
                       "prefer \"file:PATH\" or \"env:NAME\"",
                       &((ngx_str_t *) cf->args->elts)[0]);

    *secret = *value;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_intercom_oauth_secret_open(ngx_conf_t *cf, ngx_str_t *name,
    ngx_file_t *file)
{
    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(file, sizeof(ngx_file_t));

    file->name = *name;
    file->log = cf->log;

    file->fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    return (file->fd == NGX_INVALID_FILE) ? NGX_ERROR : NGX_OK;
}


static char *
ngx_http_intercom_oauth_secret_file(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *secret)
{
    u_char           *buf;
    ssize_t           n;
    ngx_str_t        *directive, full;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    directive = &((ngx_str_t *) cf->args->elts)[0];

    full = *path;

    if (ngx_http_intercom_oauth_secret_open(cf, &full, &file) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\": cannot open secret file \"%V\"",
                           directive, &full);
        return NGX_CONF_ERROR;
    }

    buf = NULL;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"%V\": cannot stat secret file \"%V\"",
                           directive, &full);
        goto failed;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": secret file \"%V\" is not a regular file",
                           directive, &full);
        goto failed;
    }

    if (fi.st_mode & S_IROTH) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": secret file \"%V\" is readable by others "
                           "(chmod o-rwx it)", directive, &full);
        goto failed;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_INTERCOM_OAUTH_MAX_SECRET) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": secret file \"%V\" is larger than %d bytes",
                           directive, &full,
                           NGX_HTTP_INTERCOM_OAUTH_MAX_SECRET);
        goto failed;
    }

    buf = ngx_pnalloc(cf->pool, NGX_HTTP_INTERCOM_OAUTH_MAX_SECRET);
    if (buf == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, buf, NGX_HTTP_INTERCOM_OAUTH_MAX_SECRET, 0);

    if (n == NGX_ERROR) {
        goto failed;
    }

    /* editors and "echo" leave a newline behind */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    {
        n--;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": secret file \"%V\" is empty",
                           directive, &full);
        goto failed;
    }

    secret->len = n;
    secret->data = buf;

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &full);
    }

    return NGX_CONF_OK;

failed:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &full);
    }

    return NGX_CONF_ERROR;
}
