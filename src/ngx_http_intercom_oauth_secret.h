
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * Secrets given in the configuration: "file:PATH", "env:NAME" or, where
 * allowed, the value itself; and opening the files a configuration names.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SECRET_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SECRET_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* a secret file larger than this is refused, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_SECRET  4096


/* "post" of a directive set with ngx_http_intercom_oauth_secret_slot() */
typedef struct {
    ngx_conf_post_handler_pt    post_handler;  /* NULL, or called with the
                                                  loaded ngx_str_t */
    ngx_uint_t                  literal_ok;
    size_t                      min_len;
    char                       *hint;          /* ends the too-short line */
} ngx_http_intercom_oauth_secret_post_t;


/*
 * The setter of a directive that takes a secret, into the ngx_str_t at
 * cmd->offset, like ngx_conf_set_str_slot().  "file:PATH" reads the file
 * (relative paths are taken from the configuration prefix) and strips
 * trailing white space; the file must exist, be a regular file, hold at
 * most NGX_HTTP_INTERCOM_OAUTH_MAX_SECRET bytes and must not be readable
 * by others.  "env:NAME" takes the variable from nginx's environment at
 * start.  Anything else is the secret itself when the post says
 * "literal_ok" (with a warning), an error otherwise.  Messages name the
 * directive and never the secret.
 */
char *ngx_http_intercom_oauth_secret_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Opens a file the configuration names (a secret, the connect page's
 * template) for reading: "name" becomes its full name, relative paths
 * taken from the configuration prefix.  Returns NGX_OK, or NGX_ERROR with
 * ngx_errno set; the caller logs.
 */
ngx_int_t ngx_http_intercom_oauth_secret_open(ngx_conf_t *cf, ngx_str_t *name,
    ngx_file_t *file);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SECRET_H_INCLUDED_ */
