
/*
 * Who a token belongs to: Intercom's GET /me (intercom-oauth-facts.md
 * section 4), read with yajl:
 *   {"type":"admin","id":"..","email":"..","email_verified":true,
 *    "app":{"id_code":"<workspace id>","name":"..","region":".."}}
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_IDENTITY_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_IDENTITY_H_INCLUDED_


#include "ngx_http_intercom_oauth.h"
#include "ngx_http_intercom_oauth_zone.h"


/*
 * Fills the identity fields of "rec" from a /me body ("len" bytes, any
 * content).  email_verified is 1 only when the body says exactly true.
 * Returns NGX_OK, or NGX_ERROR with *reason set (words safe to log) when
 * the body is not JSON, not an admin, or has no id or workspace id.
 * Strings are copied into "pool".
 */
ngx_int_t ngx_http_intercom_oauth_identity_parse(ngx_pool_t *pool,
    u_char *body, size_t len, ngx_http_intercom_oauth_record_t *rec,
    const char **reason);

/*
 * Reads a JSON document of at most "len" bytes into a yajl tree.  Returns
 * the tree (free it with yajl_tree_free()) or NULL when the body holds a
 * NUL byte or is not valid JSON.  Shared by the /me and webhook readers.
 */
void *ngx_http_intercom_oauth_json_tree(ngx_pool_t *pool, u_char *body,
    size_t len);

/*
 * Copies the string at "path" (NULL-terminated array of keys) of a yajl
 * tree into "pool"; numbers are taken as their text.  Returns NGX_OK,
 * NGX_DECLINED when absent or of another type, NGX_ERROR on allocation
 * failure.
 */
ngx_int_t ngx_http_intercom_oauth_json_string(ngx_pool_t *pool, void *tree,
    const char **path, ngx_str_t *out);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_IDENTITY_H_INCLUDED_ */
