
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The types every file of the module shares.
 *
 * Configuration lives in ngx_http_intercom_oauth_loc_conf_t (server and
 * location levels share it) and ngx_http_intercom_oauth_main_conf_t (the
 * zone and the store).  Everything that belongs to one request lives in
 * ngx_http_intercom_oauth_ctx_t, never in configuration.
 *
 * Words with one meaning each (docs/hacking.md): the "zone" is the
 * shared-memory zone of one host, the "store" is Redis, shared by hosts,
 * and "storage" is the one API over both.  A "call" is any request the
 * module makes to Intercom (the token request, /me, the revocation); an
 * "endpoint" is where one goes and the engine that carries it.
 */


#ifndef _NGX_HTTP_INTERCOM_OAUTH_H_INCLUDED_
#define _NGX_HTTP_INTERCOM_OAUTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_INTERCOM_OAUTH_VERSION      "0.1.0"

/* limits on what the callback accepts, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_ARGS     4096
#define NGX_HTTP_INTERCOM_OAUTH_MAX_CODE     512
#define NGX_HTTP_INTERCOM_OAUTH_MAX_BODY     8192

/* the longest intercom_oauth_key value, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_KEY      512

/* the longest client id, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_CLIENT_ID  256

/* the longest realm (intercom_oauth_realm, or a server name), in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_REALM      256

/* limits on what Intercom may send back, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MAX_RESPONSE 65536
#define NGX_HTTP_INTERCOM_OAUTH_MAX_TOKEN    2048


typedef struct ngx_http_intercom_oauth_call_s
    ngx_http_intercom_oauth_call_t;

typedef struct ngx_http_intercom_oauth_endpoint_s
    ngx_http_intercom_oauth_endpoint_t;

typedef struct ngx_http_intercom_oauth_handler_s
    ngx_http_intercom_oauth_handler_t;

typedef struct ngx_http_intercom_oauth_redis_cmd_s
    ngx_http_intercom_oauth_redis_cmd_t;

typedef struct ngx_http_intercom_oauth_state_s
    ngx_http_intercom_oauth_state_t;


/* what a call sends; strings need not be NUL-terminated */
typedef struct {
    ngx_uint_t                  post;          /* POST "body", else GET */
    ngx_str_t                   body;
    ngx_str_t                   bearer;        /* Authorization: Bearer */
} ngx_http_intercom_oauth_call_params_t;


/*
 * Called from the event loop when a call ends, whatever the outcome.
 * Returns what the request is finalized with: a status, or NGX_DONE when
 * it waits again (ngx_http_intercom_oauth_wait()).
 */
typedef ngx_int_t (*ngx_http_intercom_oauth_call_done_pt)(
    ngx_http_request_t *r, ngx_http_intercom_oauth_call_t *call);

/* an engine's way of starting a call: NGX_OK, or NGX_ERROR (logged) */
typedef ngx_int_t (*ngx_http_intercom_oauth_call_start_pt)(
    ngx_http_request_t *r, ngx_http_intercom_oauth_endpoint_t *endpoint,
    ngx_http_intercom_oauth_call_params_t *params,
    ngx_http_intercom_oauth_call_done_pt done,
    ngx_http_intercom_oauth_call_t **callp);


/*
 * Where a call goes: an http(s) URL (the libcurl engine) or the URI of a
 * location of this server (the subrequest engine).  The engine is bound
 * once, when the configuration is merged.
 */
struct ngx_http_intercom_oauth_endpoint_s {
    ngx_str_t                              url;
    ngx_http_intercom_oauth_call_start_pt  start;
    void                                  *parsed;   /* libcurl's CURLU */
    unsigned                               refused:1; /* by libcurl */
    unsigned                               tls:1;     /* https:// */
};


/*
 * What the module keeps for one (client id, key): the access token and,
 * when /me answered, who it belongs to.
 */
typedef struct {
    ngx_str_t                   token;
    ngx_str_t                   admin_id;
    ngx_str_t                   admin_email;
    ngx_str_t                   workspace_id;    /* app.id_code */
    ngx_str_t                   workspace_name;
    ngx_str_t                   workspace_region;
    ngx_uint_t                  email_verified;  /* 1 only if Intercom said */
    ngx_uint_t                  identity;        /* 1 when /me answered */
} ngx_http_intercom_oauth_record_t;


/* what a location with one of the module's handlers must have */
#define NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE       0x01
#define NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID  0x02
#define NGX_HTTP_INTERCOM_OAUTH_NEEDS_SECRET     0x04  /* client secret */
#define NGX_HTTP_INTERCOM_OAUTH_NEEDS_STATE      0x08  /* shared with a
                                                         store */
#define NGX_HTTP_INTERCOM_OAUTH_NEEDS_TOKEN      0x10  /* loaded from the
                                                         store first */


/*
 * A content handler directive: "post" of its ngx_command_t.  "keyword" is
 * its one optional word, which sets the ngx_flag_t at "flag" of the
 * location's configuration; "args" reads the rest of its parameters and
 * "merge" completes the location's configuration.  Both are optional and
 * live beside the handler.
 */
struct ngx_http_intercom_oauth_handler_s {
    ngx_str_t                   name;
    ngx_http_handler_pt         content;
    ngx_str_t                   keyword;
    size_t                      flag;
    char                     *(*args)(ngx_conf_t *cf, ngx_command_t *cmd,
                                      void *conf);
    char                     *(*merge)(ngx_conf_t *cf, void *conf);
    ngx_uint_t                  needs;        /* ..._NEEDS_* */
};


/* intercom_oauth_region */
typedef enum {
    NGX_HTTP_INTERCOM_OAUTH_REGION_US = 0,
    NGX_HTTP_INTERCOM_OAUTH_REGION_EU,
    NGX_HTTP_INTERCOM_OAUTH_REGION_AU
} ngx_http_intercom_oauth_region_e;


/* the store: intercom_oauth_store and its companion directives */
typedef struct {
    ngx_str_t                   url;          /* as configured, for logs */
    ngx_addr_t                 *addrs;        /* resolved at configuration */
    ngx_uint_t                  naddrs;
    ngx_str_t                   host;         /* the name, for TLS; or empty */
    in_port_t                   port;
    ngx_array_t                *sentinels;    /* ngx_addr_t, or NULL */
    ngx_array_t                *sentinel_hosts;  /* ngx_str_t, NUL-ended:
                                                    each address's name */
    ngx_str_t                   sentinel_name;  /* the group's primary */
    ngx_str_t                   sentinel_user;  /* empty: AUTH password */
    ngx_str_t                   sentinel_password;  /* empty: no AUTH */
    ngx_str_t                   server_name;  /* the primary's certificate's
                                                 name; empty: its address */
    ngx_resolver_t             *resolver;     /* NULL: resolved once */
    ngx_msec_t                  resolver_timeout;
    ngx_uint_t                  db;
    ngx_str_t                   user;         /* empty: AUTH password */
    ngx_str_t                   password;     /* empty: no AUTH */
    ngx_flag_t                  tls;          /* rediss://, sentinels:// */
    ngx_str_t                   ca_file;      /* empty: the system's */
    ngx_str_t                   certificate;  /* for mutual TLS */
    ngx_str_t                   certificate_key;
    void                       *ssl;          /* ngx_ssl_t, or NULL */
    ngx_str_t                   secret;       /* intercom_oauth_store_key */
    ngx_str_t                   prefix;
    ngx_msec_t                  connect_timeout;
    ngx_msec_t                  timeout;      /* per command */
    time_t                      cache_ttl;    /* zone copy trusted, s */
    time_t                      miss_ttl;     /* a miss remembered, s */
    ngx_uint_t                  wait_replicas;  /* WAIT after a write */
    ngx_msec_t                  wait_timeout;
    u_char                      seal_key[32];   /* AES-256-GCM */
    u_char                      names_key[32];  /* HMAC of key names */
} ngx_http_intercom_oauth_store_conf_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;
    time_t                      max_state_ttl;  /* over all locations, s */
    ngx_array_t                *client_ids;     /* ngx_str_t: every one
                                                   configured */
    ngx_int_t                   error_index;    /* $intercom_oauth_error */
    ngx_http_intercom_oauth_store_conf_t  *store;  /* NULL: none */
    ngx_http_intercom_oauth_store_conf_t   store_conf;
} ngx_http_intercom_oauth_main_conf_t;


/*
 * Per server: what the post-read phase, which runs before any location is
 * found, must know of the server's locations.
 */
typedef struct {
    ngx_array_t                *callbacks;    /* ngx_http_core_loc_conf_t *
                                                 of the locations with
                                                 intercom_oauth_callback */
} ngx_http_intercom_oauth_srv_conf_t;


typedef struct {
    ngx_str_t                   client_id;
    ngx_str_t                   client_secret;
    ngx_str_t                   token_form;   /* "&client_id=..&client_"
                                                 "secret=..": a callback
                                                 location's, escaped */
    ngx_http_complex_value_t   *redirect_uri;

    ngx_str_t                   authorize_url;
    ngx_http_intercom_oauth_endpoint_t  token;     /* the token request */
    ngx_http_intercom_oauth_endpoint_t  me;        /* api_url + "/me" */
    ngx_http_intercom_oauth_endpoint_t  revoke;
    ngx_str_t                   api_url;

    ngx_uint_t                  region;       /* ..._region_e */

    /* the module's content handler of this location, if any */
    ngx_http_intercom_oauth_handler_t  *handler;
    ngx_array_t                *button_page;  /* ngx_str_t: the text
                                                 around placeholders */
    ngx_str_t                   disconnect_uri;
    ngx_flag_t                  disconnect_forget;
    ngx_flag_t                  button_redirect;
    ngx_flag_t                  button_appstore;
    ngx_flag_t                  webhook_unsigned;

    ngx_str_t                   success_uri;
    ngx_str_t                   error_uri;
    ngx_flag_t                  fetch_identity;

    ngx_flag_t                  require;      /* never in a location with
                                                 a handler of the module */
    ngx_str_t                   require_uri;  /* empty: answer 401 */

    ngx_http_complex_value_t   *key;
    ngx_str_t                   realm;        /* tokens bound to it */
    ngx_str_t                   cookie_name;
    ngx_str_t                   cookie_attrs;
    ngx_str_t                   cookie_prev;  /* cookie_name "_prev" */

    ngx_str_t                   state_secret;  /* empty: the zone's */
    time_t                      state_ttl;     /* seconds */
    ngx_msec_t                  timeout;       /* milliseconds */
    ngx_str_t                   ca_file;
    ngx_str_t                   proxy;
} ngx_http_intercom_oauth_loc_conf_t;


/* what the token request brought back, until the callback saves it */
typedef struct {
    ngx_str_t                   code;         /* while the state is claimed */
    ngx_str_t                   form;         /* the token request's body */
    ngx_str_t                   response;     /* the token endpoint's */
    ngx_msec_t                  elapsed;      /* of the token request */
} ngx_http_intercom_oauth_grant_t;


typedef struct {
    ngx_str_t                   session_id;     /* base64url, 22 bytes */
    ngx_str_t                   session_replaced;  /* by the callback */
    ngx_str_t                   session_prev;   /* ids of a valid _prev */
    ngx_str_t                   authorize_url;  /* minted once per request */
    ngx_str_t                   return_to;      /* from a verified state */
    ngx_str_t                   key;            /* who the token is for */
    ngx_str_t                   loaded_key;     /* the key whose token was
                                                   last loaded from the
                                                   store */
    ngx_str_t                   workspace_id;   /* of a notification */
    ngx_http_intercom_oauth_call_t      *call;  /* the call under way */

    /* the callback's verified state, once it is claimed */
    ngx_http_intercom_oauth_state_t     *state;

    /* the callback's secrets, wiped when the request is freed */
    ngx_http_intercom_oauth_grant_t      grant;
    ngx_http_intercom_oauth_record_t     record;

    /* the storage: what goes on when the store has answered */
    ngx_int_t                 (*storage_next)(ngx_http_request_t *r,
                                              ngx_int_t outcome);
    ngx_str_t                   storage_replaced;  /* its tokens go then */

    /* the store: the command the request waits for */
    ngx_http_intercom_oauth_redis_cmd_t *store_cmd;
    void                      (*store_reply)(ngx_http_request_t *r,
                                             ngx_int_t rc);
    char                       *store_op;       /* for its log line */
    ngx_str_t                   store_name;     /* Redis key name, AAD */
    ngx_uint_t                  store_deleted;  /* tokens the last store
                                                   write or workspace
                                                   delete removed */
    ngx_uint_t                  deleted;        /* tokens, reported */

    unsigned                    session_new:1;
    unsigned                    session_checked:1;
    unsigned                    nocache:1;
    unsigned                    token_loaded:1;
    unsigned                    token_cached:1;
    unsigned                    store_cleanup:1;
    unsigned                    wipe_cleanup:1;
    unsigned                    appstore:1;     /* an App Store install */
    unsigned                    state_held:1;   /* claimed, and the token
                                                   endpoint has not said
                                                   what became of its code */
} ngx_http_intercom_oauth_ctx_t;


extern ngx_module_t  ngx_http_intercom_oauth_module;


#endif /* _NGX_HTTP_INTERCOM_OAUTH_H_INCLUDED_ */
