
/*
 * ngx_http_intercom_oauth_module: "Connect with Intercom" in nginx.
 *
 * This file holds the directives, configuration create/merge, variables
 * and process hooks.  The work itself is in src/: state, session, zone,
 * exchange (libcurl), token and identity (yajl), and one file per content
 * handler: button, callback, disconnect, webhook, status; require is the
 * access-phase guard.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_intercom_oauth.h"
#include "ngx_http_intercom_oauth_button.h"
#include "ngx_http_intercom_oauth_callback.h"
#include "ngx_http_intercom_oauth_disconnect.h"
#include "ngx_http_intercom_oauth_exchange.h"
#include "ngx_http_intercom_oauth_redis.h"
#include "ngx_http_intercom_oauth_require.h"
#include "ngx_http_intercom_oauth_status.h"
#include "ngx_http_intercom_oauth_webhook.h"
#include "ngx_http_intercom_oauth_secret.h"
#include "ngx_http_intercom_oauth_session.h"
#include "ngx_http_intercom_oauth_store.h"
#include "ngx_http_intercom_oauth_zone.h"


/* what the store's key names are derived with (HMAC label) */
#define NGX_HTTP_INTERCOM_OAUTH_NAMES_LABEL  "intercom_oauth_store key names"

/* shortest state secret accepted from file: or env:, in bytes */
#define NGX_HTTP_INTERCOM_OAUTH_MIN_STATE_SECRET  16


static ngx_int_t ngx_http_intercom_oauth_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_intercom_oauth_init(ngx_conf_t *cf);
static void *ngx_http_intercom_oauth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_intercom_oauth_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_intercom_oauth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_intercom_oauth_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_intercom_oauth_check_url(ngx_conf_t *cf,
    char *directive, ngx_str_t *url, ngx_uint_t local_ok);
static ngx_int_t ngx_http_intercom_oauth_check_target(ngx_conf_t *cf,
    char *directive, ngx_str_t *uri, ngx_uint_t empty_ok);
static ngx_int_t ngx_http_intercom_oauth_init_process(ngx_cycle_t *cycle);
static void ngx_http_intercom_oauth_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_intercom_oauth_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_intercom_oauth_client_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_redirect_uri(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_handler(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_require(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_region(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_button_template(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_session_cookie(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_state_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_ca_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_store(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_intercom_oauth_store_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

static ngx_int_t ngx_http_intercom_oauth_access_token_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_intercom_oauth_connected_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_intercom_oauth_authorize_url_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_intercom_oauth_error_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_intercom_oauth_identity_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_intercom_oauth_lookup(ngx_http_request_t *r,
    ngx_pool_t *pool, ngx_http_intercom_oauth_record_t *rec);


/* region defaults; only the US hosts are in Intercom's OAuth docs */
static ngx_str_t  ngx_http_intercom_oauth_region_urls[][4] = {
    { ngx_string(NGX_HTTP_INTERCOM_OAUTH_AUTHORIZE_URL),
      ngx_string(NGX_HTTP_INTERCOM_OAUTH_TOKEN_URL),
      ngx_string(NGX_HTTP_INTERCOM_OAUTH_API_URL),
      ngx_string(NGX_HTTP_INTERCOM_OAUTH_REVOKE_URL) },
    { ngx_string("https://app.eu.intercom.com/oauth"),
      ngx_string("https://api.eu.intercom.io/auth/eagle/token"),
      ngx_string("https://api.eu.intercom.io"),
      ngx_string("https://api.eu.intercom.io/auth/uninstall") },
    { ngx_string("https://app.au.intercom.com/oauth"),
      ngx_string("https://api.au.intercom.io/auth/eagle/token"),
      ngx_string("https://api.au.intercom.io"),
      ngx_string("https://api.au.intercom.io/auth/uninstall") }
};


static ngx_conf_enum_t  ngx_http_intercom_oauth_regions[] = {
    { ngx_string("us"), NGX_HTTP_INTERCOM_OAUTH_REGION_US },
    { ngx_string("eu"), NGX_HTTP_INTERCOM_OAUTH_REGION_EU },
    { ngx_string("au"), NGX_HTTP_INTERCOM_OAUTH_REGION_AU },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_intercom_oauth_commands[] = {

    { ngx_string("intercom_oauth_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_client_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, client_id),
      NULL },

    { ngx_string("intercom_oauth_client_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_client_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_redirect_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_redirect_uri,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, redirect_uri),
      NULL },

    { ngx_string("intercom_oauth_authorize_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, authorize_url),
      NULL },

    { ngx_string("intercom_oauth_token_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, token_url),
      NULL },

    { ngx_string("intercom_oauth_api_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, api_url),
      NULL },

    { ngx_string("intercom_oauth_revoke_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, revoke_url),
      NULL },

    { ngx_string("intercom_oauth_region"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_region,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_connect_button"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_connect_button_template"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_button_template,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_callback"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_intercom_oauth_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_disconnect"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_uninstall_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_intercom_oauth_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
                        |NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_fetch_identity"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, fetch_identity),
      NULL },

    { ngx_string("intercom_oauth_success_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, success_uri),
      NULL },

    { ngx_string("intercom_oauth_error_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, error_uri),
      NULL },

    { ngx_string("intercom_oauth_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, key),
      NULL },

    { ngx_string("intercom_oauth_session_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_intercom_oauth_session_cookie,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_state_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_state_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_state_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, state_ttl),
      NULL },

    { ngx_string("intercom_oauth_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, timeout),
      NULL },

    { ngx_string("intercom_oauth_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_ca_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_proxy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, proxy),
      NULL },

    { ngx_string("intercom_oauth_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_store,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_store_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_store_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_store_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_store_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_store_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.prefix),
      NULL },

    { ngx_string("intercom_oauth_store_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t,
               store_conf.connect_timeout),
      NULL },

    { ngx_string("intercom_oauth_store_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.timeout),
      NULL },

    { ngx_string("intercom_oauth_store_cache_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.cache_ttl),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_intercom_oauth_module_ctx = {
    ngx_http_intercom_oauth_add_variables,     /* preconfiguration */
    ngx_http_intercom_oauth_init,              /* postconfiguration */

    ngx_http_intercom_oauth_create_main_conf,  /* create main configuration */
    ngx_http_intercom_oauth_init_main_conf,    /* init main configuration */

    NULL,                                      /* create server configuration */
    NULL,                                      /* merge server configuration */

    ngx_http_intercom_oauth_create_loc_conf,   /* create location configuration */
    ngx_http_intercom_oauth_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_intercom_oauth_module = {
    NGX_MODULE_V1,
    &ngx_http_intercom_oauth_module_ctx,       /* module context */
    ngx_http_intercom_oauth_commands,          /* module directives */
    NGX_HTTP_MODULE,                           /* module type */
    NULL,                                      /* init master */
    NULL,                                      /* init module */
    ngx_http_intercom_oauth_init_process,      /* init process */
    NULL,                                      /* init thread */
    NULL,                                      /* exit thread */
    ngx_http_intercom_oauth_exit_process,      /* exit process */
    NULL,                                      /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_intercom_oauth_vars[] = {

    { ngx_string("intercom_access_token"), NULL,
      ngx_http_intercom_oauth_access_token_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("intercom_oauth_connected"), NULL,
      ngx_http_intercom_oauth_connected_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("intercom_oauth_authorize_url"), NULL,
      ngx_http_intercom_oauth_authorize_url_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("intercom_workspace_id"), NULL,
      ngx_http_intercom_oauth_identity_variable,
      offsetof(ngx_http_intercom_oauth_record_t, workspace_id),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("intercom_admin_id"), NULL,
      ngx_http_intercom_oauth_identity_variable,
      offsetof(ngx_http_intercom_oauth_record_t, admin_id),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("intercom_admin_email"), NULL,
      ngx_http_intercom_oauth_identity_variable,
      offsetof(ngx_http_intercom_oauth_record_t, admin_email),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("intercom_admin_email_verified"), NULL,
      ngx_http_intercom_oauth_identity_variable,
      offsetof(ngx_http_intercom_oauth_record_t, email_verified),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* cacheable: set by the callback, read after error_page redirects */
    { ngx_string("intercom_oauth_error"), NULL,
      ngx_http_intercom_oauth_error_variable, 0, 0, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_intercom_oauth_error_name =
    ngx_string("intercom_oauth_error");

static ngx_int_t  ngx_http_intercom_oauth_error_index = NGX_ERROR;


static ngx_int_t
ngx_http_intercom_oauth_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_intercom_oauth_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_intercom_oauth_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_intercom_oauth_require_handler;

    /*
     * Variables are evaluated synchronously, "return" and "set" already in
     * the rewrite phase: a token that is only in Redis is loaded before
     * them.  Handlers of a phase run in the reverse order of registration,
     * and this module registers after ngx_http_rewrite_module.
     */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_intercom_oauth_store_load;

    ngx_http_intercom_oauth_error_index =
        ngx_http_get_variable_index(cf, &ngx_http_intercom_oauth_error_name);

    if (ngx_http_intercom_oauth_error_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void *
ngx_http_intercom_oauth_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    /*
     * set by ngx_pcalloc():
     *
     *     omcf->shm_zone = NULL;
     *     omcf->store = NULL;
     *     omcf->store_conf.url = { 0, NULL };
     *     omcf->store_conf.password = { 0, NULL };
     *     omcf->store_conf.prefix = { 0, NULL };
     *     omcf->store_conf.has_key = 0;
     */

    omcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_intercom_oauth_main_conf_t));
    if (omcf == NULL) {
        return NULL;
    }

    omcf->store_conf.connect_timeout = NGX_CONF_UNSET_MSEC;
    omcf->store_conf.timeout = NGX_CONF_UNSET_MSEC;
    omcf->store_conf.cache_ttl = NGX_CONF_UNSET;

    return omcf;
}


/*
 * The store is all or nothing: a URL, a zone to cache in and a key to seal
 * tokens with; the companion directives without a URL are a mistake.
 */

static char *
ngx_http_intercom_oauth_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf = conf;

    ngx_http_intercom_oauth_redis_conf_t  *sc;

    sc = &omcf->store_conf;

    ngx_conf_init_msec_value(sc->connect_timeout, 1000);
    ngx_conf_init_msec_value(sc->timeout, 1000);
    ngx_conf_init_value(sc->cache_ttl, 60);

    if (sc->prefix.data == NULL) {
        ngx_str_set(&sc->prefix, "intercom_oauth:");
    }

    if (sc->url.len == 0) {
        if (sc->has_key || sc->password.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_store_key\" and "
                               "\"intercom_oauth_store_password\" need "
                               "\"intercom_oauth_store\"");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (omcf->shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store\" needs "
                           "\"intercom_oauth_zone\": the zone is the "
                           "store's local cache");
        return NGX_CONF_ERROR;
    }

    if (!sc->has_key) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store\" needs "
                           "\"intercom_oauth_store_key file:PATH\": tokens "
                           "are bearer credentials and are kept in Redis "
                           "encrypted only");
        return NGX_CONF_ERROR;
    }

    omcf->store = sc;

    return NGX_CONF_OK;
}


static void *
ngx_http_intercom_oauth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_intercom_oauth_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_intercom_oauth_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->client_id = { 0, NULL };
     *     conf->client_secret = { 0, NULL };
     *     conf->authorize_url = { 0, NULL };
     *     conf->token_url = { 0, NULL };
     *     conf->api_url = { 0, NULL };
     *     conf->revoke_url = { 0, NULL };
     *     conf->handler = NGX_HTTP_INTERCOM_OAUTH_HANDLER_NONE;
     *     conf->disconnect_uri = { 0, NULL };
     *     conf->require_uri = { 0, NULL };
     *     conf->success_uri = { 0, NULL };
     *     conf->error_uri = { 0, NULL };
     *     conf->cookie_name = { 0, NULL };
     *     conf->cookie_attrs = { 0, NULL };
     *     conf->state_secret = { 0, NULL };
     *     conf->ca_file = { 0, NULL };
     *     conf->proxy = { 0, NULL };
     */

    conf->redirect_uri = NGX_CONF_UNSET_PTR;
    conf->key = NGX_CONF_UNSET_PTR;
    conf->button_page = NGX_CONF_UNSET_PTR;
    conf->region = NGX_CONF_UNSET_UINT;
    conf->fetch_identity = NGX_CONF_UNSET;
    conf->require = NGX_CONF_UNSET;
    conf->state_ttl = NGX_CONF_UNSET;
    conf->timeout = NGX_CONF_UNSET_MSEC;

    return conf;
}


static char *
ngx_http_intercom_oauth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_intercom_oauth_loc_conf_t *prev = parent;
    ngx_http_intercom_oauth_loc_conf_t *conf = child;

    char                                 *name;
    ngx_str_t                            *urls;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    ngx_conf_merge_str_value(conf->client_id, prev->client_id, "");
    ngx_conf_merge_str_value(conf->client_secret, prev->client_secret, "");
    ngx_conf_merge_ptr_value(conf->redirect_uri, prev->redirect_uri, NULL);

    /*
     * A URL set at this level wins; else one set above wins unless this
     * level names a region of its own; else the region's default.
     */
    if (conf->region == NGX_CONF_UNSET_UINT) {
        conf->region = (prev->region == NGX_CONF_UNSET_UINT)
                       ? NGX_HTTP_INTERCOM_OAUTH_REGION_US : prev->region;

        ngx_conf_merge_str_value(conf->authorize_url, prev->authorize_url,
                                 "");
        ngx_conf_merge_str_value(conf->token_url, prev->token_url, "");
        ngx_conf_merge_str_value(conf->api_url, prev->api_url, "");
        ngx_conf_merge_str_value(conf->revoke_url, prev->revoke_url, "");
    }

    urls = ngx_http_intercom_oauth_region_urls[conf->region];

    if (conf->authorize_url.len == 0) {
        conf->authorize_url = urls[0];
    }

    if (conf->token_url.len == 0) {
        conf->token_url = urls[1];
    }

    if (conf->api_url.len == 0) {
        conf->api_url = urls[2];
    }

    if (conf->revoke_url.len == 0) {
        conf->revoke_url = urls[3];
    }

    ngx_conf_merge_value(conf->fetch_identity, prev->fetch_identity, 1);

    if (conf->require == NGX_CONF_UNSET) {
        conf->require = (prev->require == NGX_CONF_UNSET) ? 0
                                                         : prev->require;
        conf->require_uri = prev->require_uri;
    }

    ngx_conf_merge_ptr_value(conf->button_page, prev->button_page, NULL);

    if (conf->button_page == NULL
        && conf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON
        && ngx_http_intercom_oauth_button_parse(cf, NULL, &conf->button_page)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_str_value(conf->success_uri, prev->success_uri, "/");
    ngx_conf_merge_str_value(conf->error_uri, prev->error_uri, "");
    ngx_conf_merge_ptr_value(conf->key, prev->key, NULL);

    if (conf->cookie_name.data == NULL) {
        if (prev->cookie_name.data) {
            conf->cookie_name = prev->cookie_name;
            conf->cookie_attrs = prev->cookie_attrs;

        } else {
            ngx_str_set(&conf->cookie_name, NGX_HTTP_INTERCOM_OAUTH_COOKIE);
            ngx_str_set(&conf->cookie_attrs,
                        NGX_HTTP_INTERCOM_OAUTH_COOKIE_ATTRS);
        }
    }

    ngx_conf_merge_str_value(conf->state_secret, prev->state_secret, "");
    ngx_conf_merge_sec_value(conf->state_ttl, prev->state_ttl, 600);

    omcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_intercom_oauth_module);

    if (conf->state_ttl > omcf->max_state_ttl) {
        omcf->max_state_ttl = conf->state_ttl;
    }
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 10000);
    ngx_conf_merge_str_value(conf->ca_file, prev->ca_file, "");
    ngx_conf_merge_str_value(conf->proxy, prev->proxy, "");

    if (ngx_http_intercom_oauth_check_url(cf, "intercom_oauth_authorize_url",
                                          &conf->authorize_url, 0)
        != NGX_OK
        || ngx_http_intercom_oauth_check_url(cf, "intercom_oauth_token_url",
                                             &conf->token_url, 1)
           != NGX_OK
        || ngx_http_intercom_oauth_check_url(cf, "intercom_oauth_api_url",
                                             &conf->api_url, 1)
           != NGX_OK
        || ngx_http_intercom_oauth_check_url(cf, "intercom_oauth_revoke_url",
                                             &conf->revoke_url, 1)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_intercom_oauth_check_target(cf, "intercom_oauth_success_uri",
                                             &conf->success_uri, 0)
        != NGX_OK
        || ngx_http_intercom_oauth_check_target(cf, "intercom_oauth_error_uri",
                                                &conf->error_uri, 1)
           != NGX_OK
        || ngx_http_intercom_oauth_check_target(cf,
                                                "intercom_oauth_disconnect",
                                                &conf->disconnect_uri, 1)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->proxy.len
        && ngx_strncasecmp(conf->proxy.data, (u_char *) "http://", 7) != 0
        && ngx_strncasecmp(conf->proxy.data, (u_char *) "https://", 8) != 0
        && ngx_strncasecmp(conf->proxy.data, (u_char *) "socks5://", 9) != 0
        && ngx_strncasecmp(conf->proxy.data, (u_char *) "socks5h://", 10)
           != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_proxy\" must be an http://, "
                           "https://, socks5:// or socks5h:// URL, "
                           "not \"%V\"", &conf->proxy);
        return NGX_CONF_ERROR;
    }

    /* a location that serves one of the handlers must be complete */

    switch (conf->handler) {

    case NGX_HTTP_INTERCOM_OAUTH_HANDLER_NONE:
        name = conf->require ? "intercom_oauth_require" : NULL;
        break;

    case NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON:
    case NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON_REDIRECT:
        name = "intercom_connect_button";
        break;

    case NGX_HTTP_INTERCOM_OAUTH_HANDLER_CALLBACK:
        name = "intercom_oauth_callback";
        break;

    case NGX_HTTP_INTERCOM_OAUTH_HANDLER_DISCONNECT:
        name = "intercom_oauth_disconnect";
        break;

    case NGX_HTTP_INTERCOM_OAUTH_HANDLER_STATUS:
        name = "intercom_oauth_status";
        break;

    default: /* the webhook */
        name = "intercom_oauth_uninstall_webhook";
        break;
    }

    if (name == NULL) {
        return NGX_CONF_OK;
    }

    omcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_intercom_oauth_module);

    if (omcf->shm_zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" needs \"intercom_oauth_zone\" in the "
                           "http block", name);
        return NGX_CONF_ERROR;
    }

    if (conf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_STATUS) {
        return NGX_CONF_OK;
    }

    /*
     * Several hosts share one store: a state minted by one must verify on
     * another, which the zone's generated secret cannot do.  The store's
     * URL is known here, its directive being allowed in http only.
     */
    if (omcf->store_conf.url.len
        && (conf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON
            || conf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON_REDIRECT
            || conf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_CALLBACK)
        && conf->state_secret.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" with \"intercom_oauth_store\" needs "
                           "\"intercom_oauth_state_secret\": hosts that "
                           "share a store must share the state secret, or a "
                           "callback on another host fails with "
                           "state_invalid", name);
        return NGX_CONF_ERROR;
    }

    if (conf->client_id.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" needs \"intercom_oauth_client_id\"",
                           name);
        return NGX_CONF_ERROR;
    }

    if (conf->client_id.len > 256) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_client_id\" is longer than "
                           "256 bytes");
        return NGX_CONF_ERROR;
    }

    if ((conf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_CALLBACK
         || conf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_WEBHOOK)
        && conf->client_secret.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" needs \"intercom_oauth_client_secret\"",
                           name);
        return NGX_CONF_ERROR;
    }

    if (conf->handler == NGX_HTTP_INTERCOM_OAUTH_HANDLER_CALLBACK
        && ngx_strncasecmp(conf->token_url.data, (u_char *) "http://", 7)
           == 0)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"intercom_oauth_token_url\" \"%V\" is not "
                           "https: the client secret and the authorization "
                           "code travel in the clear", &conf->token_url);
    }

    return NGX_CONF_OK;
}


/* where the browser is sent: a path on this site or an http(s) URL */

static ngx_int_t
ngx_http_intercom_oauth_check_target(ngx_conf_t *cf, char *directive,
    ngx_str_t *uri, ngx_uint_t empty_ok)
{
    if (uri->len == 0 && empty_ok) {
        return NGX_OK;
    }

    if (uri->len
        && (uri->data[0] == '/'
            || ngx_strncasecmp(uri->data, (u_char *) "https://", 8) == 0
            || ngx_strncasecmp(uri->data, (u_char *) "http://", 7) == 0))
    {
        return NGX_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%s\" must be a path starting with \"/\" or an "
                       "absolute http(s) URL", directive);

    return NGX_ERROR;
}


/*
 * An http(s) URL, or with "local_ok" a URI of a location on this server
 * ("/..."), which the exchange reaches through a subrequest.
 */

static ngx_int_t
ngx_http_intercom_oauth_check_url(ngx_conf_t *cf, char *directive,
    ngx_str_t *url, ngx_uint_t local_ok)
{
    if (local_ok && url->len > 1 && url->data[0] == '/') {
        return NGX_OK;
    }

    if ((url->len > 8
         && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
        || (url->len > 7
            && ngx_strncasecmp(url->data, (u_char *) "http://", 7) == 0))
    {
        return NGX_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%s\" must be an http:// or https:// URL, "
                       "not \"%V\"", directive, url);

    return NGX_ERROR;
}


static char *
ngx_http_intercom_oauth_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf = conf;

    u_char     *p;
    ssize_t     size;
    ngx_str_t  *value, name, s;

    if (omcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_zone\" takes NAME:SIZE, "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    omcf->shm_zone = ngx_http_intercom_oauth_zone_add(cf, &name, size);
    if (omcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_intercom_oauth_client_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t  *value;

    if (olcf->client_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_intercom_oauth_secret_load(cf, &value[1],
                                               &olcf->client_secret, 1);
}


static char *
ngx_http_intercom_oauth_redirect_uri(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    if (value[1].len >= 7
        && ngx_strncasecmp(value[1].data, (u_char *) "http://", 7) == 0)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"intercom_oauth_redirect_uri\" \"%V\" is not "
                           "https: Intercom registers HTTPS redirect URLs "
                           "only", &value[1]);

    } else if (value[1].len < 8
               || (ngx_strncasecmp(value[1].data, (u_char *) "https://", 8)
                   != 0
                   && value[1].data[0] != '$'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_redirect_uri\" must be an "
                           "absolute URL (https://...), not \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


/*
 * intercom_connect_button [redirect], intercom_oauth_callback,
 * intercom_oauth_disconnect [URI], intercom_oauth_uninstall_webhook
 * [unsigned], intercom_oauth_status: one content handler per location.
 */

static char *
ngx_http_intercom_oauth_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t                 *value;
    ngx_uint_t                 handler;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_handler_pt        content;

    value = cf->args->elts;

    if (olcf->handler != NGX_HTTP_INTERCOM_OAUTH_HANDLER_NONE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": a location runs one of "
                           "intercom_connect_button, intercom_oauth_callback, "
                           "intercom_oauth_disconnect, "
                           "intercom_oauth_uninstall_webhook and "
                           "intercom_oauth_status", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(cmd->name.data, "intercom_connect_button") == 0) {
        handler = NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON;
        content = ngx_http_intercom_oauth_button_handler;

        if (cf->args->nelts == 2) {
            if (ngx_strcmp(value[1].data, "redirect") != 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\", "
                                   "\"intercom_connect_button\" takes only "
                                   "\"redirect\"", &value[1]);
                return NGX_CONF_ERROR;
            }

            handler = NGX_HTTP_INTERCOM_OAUTH_HANDLER_BUTTON_REDIRECT;
        }

    } else if (ngx_strcmp(cmd->name.data, "intercom_oauth_callback") == 0) {
        handler = NGX_HTTP_INTERCOM_OAUTH_HANDLER_CALLBACK;
        content = ngx_http_intercom_oauth_callback_handler;

    } else if (ngx_strcmp(cmd->name.data, "intercom_oauth_disconnect") == 0) {
        handler = NGX_HTTP_INTERCOM_OAUTH_HANDLER_DISCONNECT;
        content = ngx_http_intercom_oauth_disconnect_handler;

        if (cf->args->nelts == 2) {
            olcf->disconnect_uri = value[1];

        } else {
            ngx_str_set(&olcf->disconnect_uri, "/");
        }

    } else if (ngx_strcmp(cmd->name.data, "intercom_oauth_status") == 0) {
        handler = NGX_HTTP_INTERCOM_OAUTH_HANDLER_STATUS;
        content = ngx_http_intercom_oauth_status_handler;

    } else { /* intercom_oauth_uninstall_webhook */
        handler = NGX_HTTP_INTERCOM_OAUTH_HANDLER_WEBHOOK;
        content = ngx_http_intercom_oauth_webhook_handler;

        if (cf->args->nelts == 2) {
            if (ngx_strcmp(value[1].data, "unsigned") != 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid parameter \"%V\", "
                                   "\"intercom_oauth_uninstall_webhook\" "
                                   "takes only \"unsigned\"", &value[1]);
                return NGX_CONF_ERROR;
            }

            handler = NGX_HTTP_INTERCOM_OAUTH_HANDLER_WEBHOOK_UNSIGNED;

            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"intercom_oauth_uninstall_webhook "
                               "unsigned\": anyone who can reach this "
                               "location can delete a workspace's tokens");
        }
    }

    olcf->handler = handler;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = content;

    return NGX_CONF_OK;
}


static char *
ngx_http_intercom_oauth_region(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    if (olcf->region != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = ngx_http_intercom_oauth_regions; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcasecmp(e->name.data, value[1].data) == 0)
        {
            olcf->region = e->value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"intercom_oauth_region\" takes \"us\", \"eu\" or "
                       "\"au\", not \"%V\"", &value[1]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_intercom_oauth_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t  *value;

    if (olcf->require != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    olcf->require = 1;

    if (cf->args->nelts == 2) {
        if (value[1].len == 0 || value[1].data[0] != '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_require\" takes the URI of "
                               "the connect location, starting with \"/\"");
            return NGX_CONF_ERROR;
        }

        olcf->require_uri = value[1];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_intercom_oauth_button_template(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ssize_t           n;
    ngx_int_t         rc;
    ngx_str_t        *value, name, tpl;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    if (olcf->button_page != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    name = value[1];

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = name;
    file.log = cf->log;

    file.fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"intercom_connect_button_template\": cannot "
                           "open \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"intercom_connect_button_template\": \"%V\" "
                           "cannot be read or is larger than 1m", &name);
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    tpl.data = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);
    if (tpl.data == NULL) {
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_file(&file, tpl.data, ngx_file_size(&fi), 0);

    ngx_close_file(file.fd);

    if (n != ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_connect_button_template\": short "
                           "read of \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    tpl.len = n;

    rc = ngx_http_intercom_oauth_button_parse(cf, &tpl, &olcf->button_page);

    if (rc == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_connect_button_template\": \"%V\" "
                           "has no \"%s\" placeholder", &name,
                           NGX_HTTP_INTERCOM_OAUTH_PLACEHOLDER);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_intercom_oauth_session_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    size_t      i;
    ngx_str_t  *value;

    if (olcf->cookie_name.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* a cookie name is an RFC 6265 token */
    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= 0x20 || value[1].data[i] >= 0x7f
            || ngx_strchr("()<>@,;:\\\"/[]?={}", value[1].data[i]))
        {
            break;
        }
    }

    if (value[1].len == 0 || i != value[1].len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cookie name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    olcf->cookie_name = value[1];

    if (cf->args->nelts == 3) {
        olcf->cookie_attrs = value[2];

        if (ngx_strlcasestrn(value[2].data, value[2].data + value[2].len,
                             (u_char *) "secure", sizeof("secure") - 2)
            == NULL)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"intercom_oauth_session_cookie\" without "
                               "\"Secure\": the session travels over plain "
                               "HTTP too");
        }

        if (ngx_strlcasestrn(value[2].data, value[2].data + value[2].len,
                             (u_char *) "samesite=strict",
                             sizeof("samesite=strict") - 2)
            != NULL)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"intercom_oauth_session_cookie\" with "
                               "\"SameSite=Strict\": browsers do not send it "
                               "on the way back from Intercom, every "
                               "callback will fail with state_invalid");
        }

    } else {
        ngx_str_set(&olcf->cookie_attrs, NGX_HTTP_INTERCOM_OAUTH_COOKIE_ATTRS);
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_intercom_oauth_state_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    char       *rv;
    ngx_str_t  *value;

    if (olcf->state_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rv = ngx_http_intercom_oauth_secret_load(cf, &value[1],
                                             &olcf->state_secret, 0);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (olcf->state_secret.len < NGX_HTTP_INTERCOM_OAUTH_MIN_STATE_SECRET) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_state_secret\" must be at least "
                           "%d bytes long", NGX_HTTP_INTERCOM_OAUTH_MIN_STATE_SECRET);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_intercom_oauth_ca_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t        *value;
    ngx_file_info_t   fi;

    if (olcf->ca_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    olcf->ca_file = value[1];

    if (ngx_conf_full_name(cf->cycle, &olcf->ca_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* curl reads it per transfer; a typo should fail "nginx -t" instead */
    if (ngx_file_info(olcf->ca_file.data, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"intercom_oauth_ca_file\": cannot stat \"%V\"",
                           &olcf->ca_file);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * intercom_oauth_store redis://HOST[:PORT][/DB] | unix:PATH.  A host name
 * is resolved here, once: hiredis would resolve it with a blocking call.
 */

static char *
ngx_http_intercom_oauth_store(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf = conf;

    u_char                                *p, *last, *slash;
    size_t                                 len;
    ngx_int_t                              db;
    ngx_str_t                             *value;
    ngx_url_t                              u;
    ngx_http_intercom_oauth_redis_conf_t  *sc;

    sc = &omcf->store_conf;

    if (sc->url.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    sc->url = value[1];

    if (value[1].len > 5
        && ngx_strncmp(value[1].data, "unix:", 5) == 0)
    {
        sc->unix_path.len = value[1].len - 5;
        sc->unix_path.data = ngx_pnalloc(cf->pool, sc->unix_path.len + 1);
        if (sc->unix_path.data == NULL) {
            return NGX_CONF_ERROR;
        }

        (void) ngx_cpystrn(sc->unix_path.data, value[1].data + 5,
                           sc->unix_path.len + 1);
        return NGX_CONF_OK;
    }

    if (value[1].len <= 8
        || ngx_strncasecmp(value[1].data, (u_char *) "redis://", 8) != 0)
    {
        goto invalid;
    }

    p = value[1].data + 8;
    last = value[1].data + value[1].len;

    /* user:password@ would put a secret in the configuration and the log */
    if (ngx_strlchr(p, last, '@')) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store\" takes no credentials "
                           "in the URL: use \"intercom_oauth_store_password "
                           "file:PATH\"");
        return NGX_CONF_ERROR;
    }

    slash = ngx_strlchr(p, last, '/');

    if (slash) {
        if (slash + 1 == last) {
            db = 0;

        } else {
            /* Redis numbers its databases with an int */
            db = ngx_atoi(slash + 1, last - slash - 1);
            if (db == NGX_ERROR || db > 0x7fffffff) {
                goto invalid;
            }
        }

        sc->db = db;
        last = slash;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = p;
    u.url.len = last - p;
    u.default_port = 6379;

    if (u.url.len == 0 || ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_store\" \"%V\": %s",
                               &value[1], u.err);
            return NGX_CONF_ERROR;
        }

        goto invalid;
    }

    if (u.naddrs == 0) {
        goto invalid;
    }

    sc->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (sc->host.data == NULL) {
        return NGX_CONF_ERROR;
    }

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                        sc->host.data, NGX_SOCKADDR_STRLEN, 0);
    sc->host.data[len] = '\0';
    sc->host.len = len;
    sc->port = u.port ? u.port : 6379;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"intercom_oauth_store\" takes "
                       "redis://HOST[:PORT][/DB] or unix:PATH, not \"%V\"",
                       &value[1]);

    return NGX_CONF_ERROR;
}


/*
 * intercom_oauth_store_password file:PATH | env:NAME and
 * intercom_oauth_store_key file:PATH | env:NAME.  The key is SHA-256 of
 * what the file holds, which must be at least 32 bytes (for example
 * "openssl rand -hex 32").
 */

static char *
ngx_http_intercom_oauth_store_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf = conf;

    char                                  *rv;
    ngx_str_t                             *value, secret;
    ngx_http_intercom_oauth_redis_conf_t  *sc;

    sc = &omcf->store_conf;
    value = cf->args->elts;

    if (cmd->name.len == sizeof("intercom_oauth_store_password") - 1) {
        if (sc->password.data) {
            return "is duplicate";
        }

        return ngx_http_intercom_oauth_secret_load(cf, &value[1],
                                                   &sc->password, 0);
    }

    if (sc->has_key) {
        return "is duplicate";
    }

    rv = ngx_http_intercom_oauth_secret_load(cf, &value[1], &secret, 0);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (secret.len < 32) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store_key\" must be at least "
                           "32 bytes long (openssl rand -hex 32)");
        return NGX_CONF_ERROR;
    }

    /*
     * Two keys from one secret: SHA-256 of it seals the values, and
     * HMAC-SHA256(that, label) names the keys.
     */
    if (EVP_Digest(secret.data, secret.len, sc->key, NULL, EVP_sha256(),
                   NULL)
        != 1
        || HMAC(EVP_sha256(), sc->key, 32,
                (u_char *) NGX_HTTP_INTERCOM_OAUTH_NAMES_LABEL,
                sizeof(NGX_HTTP_INTERCOM_OAUTH_NAMES_LABEL) - 1,
                sc->names_key, NULL)
           == NULL)
    {
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(secret.data, secret.len);
    sc->has_key = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_intercom_oauth_init_process(ngx_cycle_t *cycle)
{
    ngx_http_conf_ctx_t                  *hctx;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    hctx = (ngx_http_conf_ctx_t *) ngx_get_conf(cycle->conf_ctx,
                                                ngx_http_module);
    if (hctx == NULL) {
        return NGX_OK;
    }

    omcf = hctx->main_conf[ngx_http_intercom_oauth_module.ctx_index];

    if (omcf == NULL || omcf->shm_zone == NULL) {
        return NGX_OK;
    }

    if (ngx_http_intercom_oauth_exchange_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (omcf->store) {
        return ngx_http_intercom_oauth_redis_init_process(cycle, omcf->store);
    }

    return NGX_OK;
}


static void
ngx_http_intercom_oauth_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_intercom_oauth_redis_exit_process(cycle);
    ngx_http_intercom_oauth_exchange_exit_process(cycle);
}


ngx_http_intercom_oauth_ctx_t *
ngx_http_intercom_oauth_get_ctx(ngx_http_request_t *r)
{
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_intercom_oauth_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_intercom_oauth_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_intercom_oauth_module);
    }

    return ctx;
}


ngx_int_t
ngx_http_intercom_oauth_no_store(ngx_http_request_t *r)
{
    ngx_table_elt_t                *h;
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_intercom_oauth_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ctx->no_store) {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    ctx->no_store = 1;

    return NGX_OK;
}


void
ngx_http_intercom_oauth_set_error(ngx_http_request_t *r, ngx_str_t *error)
{
    ngx_http_variable_value_t  *v;

    /*
     * The request's variables, unlike its module contexts, survive the
     * internal redirect of an error_page.
     */

    if (ngx_http_intercom_oauth_error_index == NGX_ERROR) {
        return;
    }

    v = &r->variables[ngx_http_intercom_oauth_error_index];

    v->len = error->len;
    v->data = error->data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
}


ngx_int_t
ngx_http_intercom_oauth_eval_key(ngx_http_request_t *r,
    ngx_http_intercom_oauth_loc_conf_t *olcf, ngx_str_t *key)
{
    ngx_http_intercom_oauth_ctx_t  *ctx;

    if (olcf->key) {
        return ngx_http_complex_value(r, olcf->key, key);
    }

    ctx = ngx_http_intercom_oauth_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_intercom_oauth_session_get(r, olcf, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    *key = ctx->session_id;

    return NGX_OK;
}


/*
 * Finds the token of this request's key for this location's client id.
 * Returns NGX_OK, NGX_DECLINED (none) or NGX_ERROR.
 */

static ngx_int_t
ngx_http_intercom_oauth_lookup(ngx_http_request_t *r, ngx_pool_t *pool,
    ngx_http_intercom_oauth_record_t *rec)
{
    ngx_str_t                             key;
    ngx_http_intercom_oauth_loc_conf_t   *olcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_intercom_oauth_module);
    omcf = ngx_http_get_module_main_conf(r, ngx_http_intercom_oauth_module);

    if (omcf == NULL || omcf->shm_zone == NULL || olcf->client_id.len == 0) {
        return NGX_DECLINED;
    }

    if (ngx_http_intercom_oauth_eval_key(r, olcf, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    if (key.len == 0) {
        return NGX_DECLINED;
    }

    return ngx_http_intercom_oauth_zone_token_get(omcf->shm_zone,
                                                  &olcf->client_id, &key,
                                                  pool, rec);
}


static ngx_int_t
ngx_http_intercom_oauth_access_token_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t                         rc;
    ngx_http_intercom_oauth_record_t  rec;

    ngx_memzero(&rec, sizeof(ngx_http_intercom_oauth_record_t));

    rc = ngx_http_intercom_oauth_lookup(r, r->pool, &rec);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    v->len = (rc == NGX_OK) ? rec.token.len : 0;
    v->data = rec.token.data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_intercom_oauth_connected_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t  rc;

    rc = ngx_http_intercom_oauth_lookup(r, NULL, NULL);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    v->len = 1;
    v->data = (u_char *) ((rc == NGX_OK) ? "1" : "0");
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * $intercom_workspace_id, $intercom_admin_id, $intercom_admin_email: the
 * field at "data" in the record, empty without a token or an identity;
 * $intercom_admin_email_verified: "1" only when Intercom said true.
 */

static ngx_int_t
ngx_http_intercom_oauth_identity_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t                         rc;
    ngx_str_t                        *s;
    ngx_http_intercom_oauth_record_t  rec;

    ngx_memzero(&rec, sizeof(ngx_http_intercom_oauth_record_t));

    rc = ngx_http_intercom_oauth_lookup(r, r->pool, &rec);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    if (data == offsetof(ngx_http_intercom_oauth_record_t, email_verified)) {
        v->len = 1;
        v->data = (u_char *) ((rc == NGX_OK && rec.identity
                               && rec.email_verified) ? "1" : "0");
        return NGX_OK;
    }

    if (rc != NGX_OK || !rec.identity) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    s = (ngx_str_t *) ((u_char *) &rec + data);

    v->len = s->len;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_intercom_oauth_authorize_url_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t                       rc;
    ngx_http_intercom_oauth_ctx_t  *ctx;

    ctx = ngx_http_intercom_oauth_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_intercom_oauth_authorize_url(r, ctx);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        v->not_found = 1;
        return NGX_OK;
    }

    /* the page that shows it must not be cached: it carries a state */
    if (ngx_http_intercom_oauth_no_store(r) != NGX_OK) {
        return NGX_ERROR;
    }

    v->len = ctx->authorize_url.len;
    v->data = ctx->authorize_url.data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* reached only when no callback has set the value: nothing went wrong */

static ngx_int_t
ngx_http_intercom_oauth_error_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    v->not_found = 1;

    return NGX_OK;
}
