
/*
 * Secrets given in the configuration: "file:PATH", "env:NAME" or, where
 * allowed, the value itself.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_SECRET_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_SECRET_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* a secret file larger than this is refused, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_SECRET  4096


/*
 * Loads the secret named by "value" into "secret" (allocated from
 * cf->pool), at configuration time only.  "file:PATH" reads the file
 * (relative paths are taken from the configuration prefix) and strips
 * trailing white space; the file must exist, be a regular file, hold at
 * most NGX_HTTP_INTERCOM_OAUTH_MAX_SECRET bytes and must not be readable
 * by others.  "env:NAME" takes the variable from nginx's environment at
 * start.  Anything else is the secret itself when literal_ok is set (with a
 * warning), an error otherwise.  Returns NGX_CONF_OK or NGX_CONF_ERROR after
 * logging a message that names the directive and never the secret.
 */
char *ngx_http_intercom_oauth_secret_load(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *secret, ngx_uint_t literal_ok);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_SECRET_H_INCLUDED_ */
