
/*
 * The token endpoint's JSON answer, read with yajl.  Success per
 * intercom-oauth-facts.md section 3:
 *   {"token_type":"Bearer","token":"<tok>","access_token":"<tok>"}
 * Failure: Intercom's error envelope
 *   {"type":"error.list","request_id":"..","errors":[{"code":"..",
 *    "message":".."}]}
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_TOKEN_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_TOKEN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_str_t                   access_token;  /* "access_token", else "token" */
    ngx_str_t                   error_code;    /* errors[0].code, if any */
    ngx_str_t                   error_message; /* errors[0].message, if any */
    ngx_uint_t                  nerrors;       /* elements of "errors" */
    const char                 *reason;        /* why it is not a success */
} ngx_http_intercom_oauth_token_response_t;


/*
 * Parses "len" bytes of "body".  Returns NGX_OK when the body is one JSON
 * object with a non-empty access token (printable ASCII without spaces, at
 * most NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN bytes), no non-empty "errors" array
 * and no "type":"error.list"; NGX_DECLINED when it is valid JSON but not a
 * success, and NGX_ERROR when it is not valid JSON or not an object.  In
 * both failure cases tr->reason says why in words safe to log (never the
 * token).  Strings are copied into "pool".
 */
ngx_int_t ngx_http_intercom_oauth_token_parse(ngx_pool_t *pool, u_char *body,
    size_t len, ngx_http_intercom_oauth_token_response_t *tr);

/*
 * Replaces, in place, every control character (below 0x20, and 0x7f) of a
 * string that came from a peer with "?": such strings reach log lines and
 * variables that may go into headers, where a newline would forge a line.
 */
void ngx_http_intercom_oauth_token_clean(ngx_str_t *s);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_TOKEN_H_INCLUDED_ */
