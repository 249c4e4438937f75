
/*
 * ngx_http_intercom_oauth_module: types shared by every file of the module.
 *
 * Configuration lives in ngx_http_intercom_oauth_loc_conf_t (server and
 * location levels share it) and ngx_http_intercom_oauth_main_conf_t (the
 * zone).  Everything that belongs to one request lives in
 * ngx_http_intercom_oauth_ctx_t, never in configuration.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_INTERCOM_OAUTH_VERSION  "0.1.0"

/* Intercom's documented endpoints, intercom-oauth-facts.md sections 1-4 */
#define NGX_HTTP_INTERCOM_OAUTH_AUTHORIZE_URL                                 \
    "https://app.intercom.com/oauth"
#define NGX_HTTP_INTERCOM_OAUTH_TOKEN_URL                                     \
    "https://api.intercom.io/auth/eagle/token"
#define NGX_HTTP_INTERCOM_OAUTH_API_URL      "https://api.intercom.io"
#define NGX_HTTP_INTERCOM_OAUTH_REVOKE_URL                                    \
    "https://api.intercom.io/auth/uninstall"

#define NGX_HTTP_INTERCOM_OAUTH_COOKIE       "intercom_oauth_sid"
#define NGX_HTTP_INTERCOM_OAUTH_COOKIE_ATTRS                                  \
    "Path=/; Secure; HttpOnly; SameSite=Lax"

/* limits on what the callback accepts, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_ARGS     4096
#define NGX_HTTP_INTERCOM_OAUTH_MAX_CODE     512
#define NGX_HTTP_INTERCOM_OAUTH_MAX_BODY     8192

/* the longest intercom_oauth_key value, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_KEY      512

/* limits on what the token endpoint may send back, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE 65536
#define NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN    2048


/* which of the module's content handlers a location runs */
typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_NONE = 0,
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON,
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON_REDIRECT,
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_CALLBACK,
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_DISCONNECT,
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_WEBHOOK,
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_WEBHOOK_UNSIGNED,
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_STATUS
} ngx_http_intercom_oauth_handler_e;

#define NGX_HTTP_INTERCOM_OAUTH_WEBHOOK_UNSIGNED                              \
    NGX_HTTP_INTERCOM_OAUTH_HANDLER_WEBHOOK_UNSIGNED


/* intercom_oauth_region */
typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_REGION_US = 0,
    NGX_HTTP_INTERCOM_OAUTH_REGION_EU,
    NGX_HTTP_INTERCOM_OAUTH_REGION_AU
} ngx_http_intercom_oauth_region_e;


/* where and how to reach Redis: intercom_oauth_store and its companions */
typedef struct {
    ngx_str_t                   url;          /* as configured, for logs */
    ngx_str_t                   host;         /* numeric, NUL-terminated */
    int                         port;
    ngx_str_t                   unix_path;    /* NUL-terminated, or empty */
    ngx_uint_t                  db;
    ngx_str_t                   password;     /* empty: no AUTH */
    ngx_str_t                   prefix;
    ngx_msec_t                  connect_timeout;
    ngx_msec_t                  timeout;      /* per command */
    time_t                      cache_ttl;    /* zone copy trusted, s */
    u_char                      key[32];      /* AES-256-GCM key */
    u_char                      names_key[32];  /* HMAC of key names */
    unsigned                    has_key:1;
} ngx_http_intercom_oauth_redis_conf_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;
    time_t                      max_state_ttl;  /* over all locations, s */
    ngx_http_intercom_oauth_redis_conf_t  *store;  /* NULL: none */
    ngx_http_intercom_oauth_redis_conf_t   store_conf;
} ngx_http_intercom_oauth_main_conf_t;


typedef struct {
    ngx_str_t                   client_id;
    ngx_str_t                   client_secret;
    ngx_http_complex_value_t   *redirect_uri;

    ngx_str_t                   authorize_url;
    ngx_str_t                   token_url;
    ngx_str_t                   api_url;
    ngx_str_t                   revoke_url;

    ngx_uint_t                  region;            /* ..._region_e */

    ngx_uint_t                  handler;           /* ..._handler_e */
    ngx_array_t                *button_page;       /* ngx_str_t, the text
                                                      around placeholders */

    ngx_str_t                   success_uri;
    ngx_str_t                   error_uri;
    ngx_flag_t                  fetch_identity;
    ngx_str_t                   disconnect_uri;

    ngx_flag_t                  require;
    ngx_str_t                   require_uri;       /* empty: answer 401 */

    ngx_http_complex_value_t   *key;
    ngx_str_t                   cookie_name;
    ngx_str_t                   cookie_attrs;

    ngx_str_t                   state_secret;      /* empty: the zone's */
    time_t                      state_ttl;         /* seconds */
    ngx_msec_t                  timeout;           /* milliseconds */
    ngx_str_t                   ca_file;
    ngx_str_t                   proxy;
} ngx_http_intercom_oauth_loc_conf_t;


typedef struct ngx_http_intercom_oauth_exchange_s
    ngx_http_intercom_oauth_exchange_t;

typedef struct ngx_http_intercom_oauth_redis_cmd_s
    ngx_http_intercom_oauth_redis_cmd_t;


typedef struct {
    ngx_str_t                   session_id;     /* base64url, 22 bytes */
    ngx_str_t                   authorize_url;  /* minted once per request */
    ngx_str_t                   return_to;      /* from a verified state */
    ngx_str_t                   key;            /* who the token belongs to */
    ngx_str_t                   token;          /* while /me is asked */
    ngx_http_intercom_oauth_exchange_t  *exchange;

    /* the store: the command the request waits for, and what follows */
    ngx_http_intercom_oauth_redis_cmd_t *store_cmd;
    void                      (*store_done)(ngx_http_request_t *r,
                                            ngx_int_t rc);
    char                       *store_op;       /* for its log line */
    ngx_str_t                   store_key;      /* Redis key, for AAD */
    ngx_str_t                   code;           /* while a state is claimed */

    unsigned                    session_new:1;
    unsigned                    store_loaded:1;
    unsigned                    store_cached:1;
    unsigned                    store_cleanup:1;
    unsigned                    session_checked:1;
    unsigned                    no_store:1;
} ngx_http_intercom_oauth_ctx_t;


extern ngx_module_t  ngx_http_intercom_oauth_module;


/*
 * Returns the request's context, creating it on first use; NULL only when
 * the request pool is exhausted.
 */
ngx_http_intercom_oauth_ctx_t *ngx_http_intercom_oauth_get_ctx(
    ngx_http_request_t *r);

/*
 * Adds "Cache-Control: no-store" (and "Pragma: no-cache" for HTTP/1.0
 * caches) to a response that carries a state or follows a callback.
 * Returns NGX_OK or NGX_ERROR (allocation failure).
 */
ngx_int_t ngx_http_intercom_oauth_no_store(ngx_http_request_t *r);

/*
 * Sets $intercom_oauth_error for the rest of the request, internal
 * redirects (error_page) included.  "error" must outlive the request.
 */
void ngx_http_intercom_oauth_set_error(ngx_http_request_t *r,
    ngx_str_t *error);

/*
 * Evaluates who a token belongs to: the intercom_oauth_key value, or the
 * session id when the directive is not set.  Sets *key to an empty string
 * when there is nobody.  Returns NGX_OK or NGX_ERROR.
 */
ngx_int_t ngx_http_intercom_oauth_eval_key(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *key);


#endif /* _NGX_HTTP_INTERCOM_OAUTH_H_INCLUDED_ */
