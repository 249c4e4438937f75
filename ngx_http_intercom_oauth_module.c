
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * ngx_http_intercom_oauth_module: "Connect with Intercom" in nginx.
 *
 * This file is the module's configuration: the directive table, the
 * handlers' table, configuration create / merge / checks, variable
 * registration and their getters, the phase handlers' registration and
 * the process hooks.  The work is in src/, one file per concern
 * (docs/hacking.md); nothing there calls back into this file.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth.h"
#include "ngx_http_intercom_oauth_button.h"
#include "ngx_http_intercom_oauth_call.h"
#include "ngx_http_intercom_oauth_callback.h"
#include "ngx_http_intercom_oauth_curl.h"
#include "ngx_http_intercom_oauth_disconnect.h"
#include "ngx_http_intercom_oauth_identity.h"
#include "ngx_http_intercom_oauth_redis.h"
#include "ngx_http_intercom_oauth_request.h"
#include "ngx_http_intercom_oauth_require.h"
#include "ngx_http_intercom_oauth_response.h"
#include "ngx_http_intercom_oauth_secret.h"
#include "ngx_http_intercom_oauth_session.h"
#include "ngx_http_intercom_oauth_status.h"
#include "ngx_http_intercom_oauth_storage.h"
#include "ngx_http_intercom_oauth_store.h"
#include "ngx_http_intercom_oauth_subrequest.h"
#include "ngx_http_intercom_oauth_webhook.h"
#include "ngx_http_intercom_oauth_withhold.h"
#include "ngx_http_intercom_oauth_zone.h"


static ngx_int_t ngx_http_intercom_oauth_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_intercom_oauth_init(ngx_conf_t *cf);
static void *ngx_http_intercom_oauth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_intercom_oauth_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_intercom_oauth_create_srv_conf(ngx_conf_t *cf);
static void *ngx_http_intercom_oauth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_intercom_oauth_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_intercom_oauth_merge_urls(ngx_conf_t *cf,
    ngx_http_intercom_oauth_loc_conf_t *prev,
    ngx_http_intercom_oauth_loc_conf_t *conf);
static char *ngx_http_intercom_oauth_merge_realm(ngx_conf_t *cf,
    ngx_http_intercom_oauth_loc_conf_t *prev,
    ngx_http_intercom_oauth_loc_conf_t *conf);
static char *ngx_http_intercom_oauth_check_handler(ngx_conf_t *cf,
    ngx_http_intercom_oauth_loc_conf_t *conf);
static ngx_int_t ngx_http_intercom_oauth_check_target(ngx_conf_t *cf,
    char *directive, ngx_str_t *uri, ngx_uint_t empty_ok);
static char *ngx_http_intercom_oauth_set_handler(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_intercom_oauth_init_process(ngx_cycle_t *cycle);
static void ngx_http_intercom_oauth_exit_process(ngx_cycle_t *cycle);

static ngx_int_t ngx_http_intercom_oauth_lookup(ngx_http_request_t *r,
    ngx_pool_t *pool, ngx_http_intercom_oauth_record_t *rec);
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


/*
 * Intercom's endpoints per region (docs/intercom.md): authorize, token,
 * API, revoke.  The regional API hosts are in Intercom's REST API
 * reference; its OAuth guide gives api.intercom.io for the token request
 * (and the uninstall) whatever the region, and that host routes EU and AU
 * workspaces itself.
 */
static ngx_str_t  ngx_http_intercom_oauth_region_urls[][4] = {
    { ngx_string("https://app.intercom.com/oauth"),
      ngx_string("https://api.intercom.io/auth/eagle/token"),
      ngx_string("https://api.intercom.io"),
      ngx_string("https://api.intercom.io/auth/uninstall") },
    { ngx_string("https://app.eu.intercom.com/oauth"),
      ngx_string("https://api.intercom.io/auth/eagle/token"),
      ngx_string("https://api.eu.intercom.io"),
      ngx_string("https://api.intercom.io/auth/uninstall") },
    { ngx_string("https://app.au.intercom.com/oauth"),
      ngx_string("https://api.intercom.io/auth/eagle/token"),
      ngx_string("https://api.au.intercom.io"),
      ngx_string("https://api.intercom.io/auth/uninstall") }
};


static ngx_conf_enum_t  ngx_http_intercom_oauth_regions[] = {
    { ngx_string("us"), NGX_HTTP_INTERCOM_OAUTH_REGION_US },
    { ngx_string("eu"), NGX_HTTP_INTERCOM_OAUTH_REGION_EU },
    { ngx_string("au"), NGX_HTTP_INTERCOM_OAUTH_REGION_AU },
    { ngx_null_string, 0 }
};


/*
 * The content handlers, what each location needs, and where each reads
 * its parameters and completes its configuration.
 */

static ngx_http_intercom_oauth_handler_t  ngx_http_intercom_oauth_button = {
    ngx_string("intercom_connect_button"),
    ngx_http_intercom_oauth_button_handler,
    ngx_null_string,
    0,
    ngx_http_intercom_oauth_button_args,
    ngx_http_intercom_oauth_button_merge,
    NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE|NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID
    |NGX_HTTP_INTERCOM_OAUTH_NEEDS_STATE
};

static ngx_http_intercom_oauth_handler_t  ngx_http_intercom_oauth_callback = {
    ngx_string("intercom_oauth_callback"),
    ngx_http_intercom_oauth_callback_handler,
    ngx_null_string,
    0,
    NULL,
    ngx_http_intercom_oauth_callback_merge,
    NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE|NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID
    |NGX_HTTP_INTERCOM_OAUTH_NEEDS_SECRET|NGX_HTTP_INTERCOM_OAUTH_NEEDS_STATE
};

static ngx_http_intercom_oauth_handler_t  ngx_http_intercom_oauth_disconnect =
{
    ngx_string("intercom_oauth_disconnect"),
    ngx_http_intercom_oauth_disconnect_handler,
    ngx_null_string,
    0,
    ngx_http_intercom_oauth_disconnect_args,
    NULL,
    NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE|NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID
    |NGX_HTTP_INTERCOM_OAUTH_NEEDS_TOKEN
};

static ngx_http_intercom_oauth_handler_t  ngx_http_intercom_oauth_webhook = {
    ngx_string("intercom_oauth_uninstall_webhook"),
    ngx_http_intercom_oauth_webhook_handler,
    ngx_string("unsigned"),
    offsetof(ngx_http_intercom_oauth_loc_conf_t, webhook_unsigned),
    ngx_http_intercom_oauth_webhook_args,
    NULL,
    NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE|NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID
    |NGX_HTTP_INTERCOM_OAUTH_NEEDS_SECRET
};

static ngx_http_intercom_oauth_handler_t  ngx_http_intercom_oauth_status = {
    ngx_string("intercom_oauth_status"),
    ngx_http_intercom_oauth_status_handler,
    ngx_null_string,
    0,
    NULL,
    NULL,
    NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE
};

static ngx_http_intercom_oauth_handler_t  ngx_http_intercom_oauth_check = {
    ngx_string("intercom_oauth_check"),
    ngx_http_intercom_oauth_require_check_handler,
    ngx_null_string,
    0,
    NULL,
    NULL,
    NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE|NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID
    |NGX_HTTP_INTERCOM_OAUTH_NEEDS_TOKEN
};

/* not a handler: the guard needs the same of its location */
static ngx_http_intercom_oauth_handler_t  ngx_http_intercom_oauth_guard = {
    ngx_string("intercom_oauth_require"),
    NULL,
    ngx_null_string,
    0,
    NULL,
    NULL,
    NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE|NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID
};


static ngx_http_intercom_oauth_secret_post_t
    ngx_http_intercom_oauth_client_secret_post = { NULL, 1, 1, "" };

static ngx_http_intercom_oauth_secret_post_t
    ngx_http_intercom_oauth_state_secret_post = { NULL, 0, 16, "" };

static ngx_http_intercom_oauth_secret_post_t
    ngx_http_intercom_oauth_store_key_post = {
        ngx_http_intercom_oauth_store_key, 0, 32,
        " (openssl rand -hex 32)"
    };

static ngx_conf_post_t  ngx_http_intercom_oauth_proxy_post =
    { ngx_http_intercom_oauth_curl_proxy };

/* 0 meant "no limit" to libcurl and "at once" to the subrequest engine */
static ngx_conf_num_bounds_t  ngx_http_intercom_oauth_timeout_bounds =
    { ngx_conf_check_num_bounds, 1, -1 };


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
      ngx_http_intercom_oauth_secret_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, client_secret),
      &ngx_http_intercom_oauth_client_secret_post },

    { ngx_string("intercom_oauth_redirect_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_button_redirect_uri,
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
      offsetof(ngx_http_intercom_oauth_loc_conf_t, token.url),
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
      offsetof(ngx_http_intercom_oauth_loc_conf_t, revoke.url),
      NULL },

    { ngx_string("intercom_oauth_region"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, region),
      &ngx_http_intercom_oauth_regions },

    { ngx_string("intercom_connect_button"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE12,
      ngx_http_intercom_oauth_set_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_intercom_oauth_button },

    { ngx_string("intercom_connect_button_template"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_button_template,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_callback"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_intercom_oauth_set_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_intercom_oauth_callback },

    { ngx_string("intercom_oauth_disconnect"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE12,
      ngx_http_intercom_oauth_set_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_intercom_oauth_disconnect },

    { ngx_string("intercom_oauth_uninstall_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_set_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_intercom_oauth_webhook },

    { ngx_string("intercom_oauth_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_intercom_oauth_set_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_intercom_oauth_status },

    { ngx_string("intercom_oauth_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF
                        |NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_check"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_intercom_oauth_set_handler,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_intercom_oauth_check },

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

    { ngx_string("intercom_oauth_realm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, realm),
      NULL },

    { ngx_string("intercom_oauth_session_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_intercom_oauth_session_cookie,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_state_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_secret_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, state_secret),
      &ngx_http_intercom_oauth_state_secret_post },

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
      &ngx_http_intercom_oauth_timeout_bounds },

    { ngx_string("intercom_oauth_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_curl_ca_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_proxy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_loc_conf_t, proxy),
      &ngx_http_intercom_oauth_proxy_post },

    { ngx_string("intercom_oauth_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_redis_url,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_store_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_secret_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.password),
      NULL },

    { ngx_string("intercom_oauth_store_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.user),
      NULL },

    { ngx_string("intercom_oauth_store_sentinel_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_secret_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t,
               store_conf.sentinel_password),
      NULL },

    { ngx_string("intercom_oauth_store_sentinel_user"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.sentinel_user),
      NULL },

    { ngx_string("intercom_oauth_store_server_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.server_name),
      NULL },

    { ngx_string("intercom_oauth_store_ca_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.ca_file),
      NULL },

    { ngx_string("intercom_oauth_store_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.certificate),
      NULL },

    { ngx_string("intercom_oauth_store_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t,
               store_conf.certificate_key),
      NULL },

    { ngx_string("intercom_oauth_store_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_intercom_oauth_secret_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.secret),
      &ngx_http_intercom_oauth_store_key_post },

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

    { ngx_string("intercom_oauth_store_wait"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_intercom_oauth_store_wait_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("intercom_oauth_store_miss_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_intercom_oauth_main_conf_t, store_conf.miss_ttl),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_intercom_oauth_module_ctx = {
    ngx_http_intercom_oauth_add_variables,     /* preconfiguration */
    ngx_http_intercom_oauth_init,              /* postconfiguration */

    ngx_http_intercom_oauth_create_main_conf,  /* create main configuration */
    ngx_http_intercom_oauth_init_main_conf,    /* init main configuration */

    ngx_http_intercom_oauth_create_srv_conf,   /* create server configuration */
    NULL,                                      /* merge server configuration */

    ngx_http_intercom_oauth_create_loc_conf,   /* create location conf */
    ngx_http_intercom_oauth_merge_loc_conf     /* merge location conf */
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
    ngx_array_t                          *a;
    ngx_http_handler_pt                  *h;
    ngx_http_core_main_conf_t            *cmcf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    omcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_intercom_oauth_module);

    /* the callback's code and state, before anything can log them */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_intercom_oauth_withhold_handler;

    /*
     * And in the log phase, before the log module (its handlers run in
     * the order of registration), for requests refused before post-read.
     */
    a = &cmcf->phases[NGX_HTTP_LOG_PHASE].handlers;

    h = ngx_array_push(a);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h = a->elts;
    ngx_memmove(&h[1], &h[0], (a->nelts - 1) * sizeof(ngx_http_handler_pt));
    h[0] = ngx_http_intercom_oauth_withhold_log_handler;

    /*
     * The guard under "satisfy any" runs last in the access phase, so
     * that it is reached only when no access module let the request in:
     * handlers of a phase run from the last registered to the first, and
     * this one goes first in the list.
     */
    a = &cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers;

    h = ngx_array_push(a);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h = a->elts;
    ngx_memmove(&h[1], &h[0], (a->nelts - 1) * sizeof(ngx_http_handler_pt));
    h[0] = ngx_http_intercom_oauth_require_access_handler;

    /*
     * The guard itself runs after the access phase, with the token loaded
     * again when the key has changed there (auth_request_set): the load
     * is registered after it so that it runs before it, and both run
     * before try_files and mirror.
     */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_intercom_oauth_require_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_intercom_oauth_storage_token_load;

    /*
     * Variables are evaluated synchronously, "return" and "set" already in
     * the rewrite phase: a token that is only in the store is loaded
     * before them.  Handlers of a phase run in the reverse order of
     * registration, and this module registers after
     * ngx_http_rewrite_module.
     */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_intercom_oauth_storage_token_load;

    omcf->error_index = ngx_http_get_variable_index(cf,
                                        &ngx_http_intercom_oauth_error_name);

    if (omcf->error_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    /*
     * The subrequest engine's filters.  The module is an HTTP_AUX_FILTER
     * module (config) so that they take their place among nginx's own
     * filters in a static build as in a dynamic one: before the copy
     * filter's initialization, after the postpone filter's.
     */
    return ngx_http_intercom_oauth_subrequest_init(cf);
}


static void *
ngx_http_intercom_oauth_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    /*
     * set by ngx_pcalloc():
     *
     *     omcf->shm_zone = NULL;
     *     omcf->max_state_ttl = 0;
     *     omcf->store = NULL;
     *     omcf->store_conf.url = { 0, NULL };
     *     omcf->store_conf.password = { 0, NULL };
     *     omcf->store_conf.secret = { 0, NULL };
     *     omcf->store_conf.prefix = { 0, NULL };
     */

    omcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_intercom_oauth_main_conf_t));
    if (omcf == NULL) {
        return NULL;
    }

    omcf->client_ids = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
    if (omcf->client_ids == NULL) {
        return NULL;
    }

    omcf->error_index = NGX_ERROR;
    omcf->store_conf.connect_timeout = NGX_CONF_UNSET_MSEC;
    omcf->store_conf.timeout = NGX_CONF_UNSET_MSEC;
    omcf->store_conf.cache_ttl = NGX_CONF_UNSET;
    omcf->store_conf.miss_ttl = NGX_CONF_UNSET;

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

    ngx_http_intercom_oauth_store_conf_t  *sc;

    sc = &omcf->store_conf;

    ngx_conf_init_msec_value(sc->connect_timeout, 1000);
    ngx_conf_init_msec_value(sc->timeout, 1000);
    ngx_conf_init_value(sc->cache_ttl, 60);
    ngx_conf_init_value(sc->miss_ttl, 1);

    if (sc->prefix.data == NULL) {
        ngx_str_set(&sc->prefix, "intercom_oauth:");
    }

    if (sc->url.len == 0) {
        if (sc->secret.data || sc->password.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_store_key\" and "
                               "\"intercom_oauth_store_password\" need "
                               "\"intercom_oauth_store\"");
            return NGX_CONF_ERROR;
        }

        if (sc->sentinel_password.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"intercom_oauth_store_sentinel_password\" "
                               "needs \"intercom_oauth_store sentinel://\" "
                               "or \"sentinels://\"");
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

    if (sc->secret.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_store\" needs "
                           "\"intercom_oauth_store_key file:PATH\": tokens "
                           "are bearer credentials and are kept in Redis "
                           "encrypted only");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_intercom_oauth_redis_init_conf(cf, sc) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    omcf->store = sc;

    return NGX_CONF_OK;
}


static void *
ngx_http_intercom_oauth_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_intercom_oauth_srv_conf_t  *oscf;

    /*
     * set by ngx_pcalloc():
     *
     *     oscf->callbacks = NULL;
     */

    oscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_intercom_oauth_srv_conf_t));
    if (oscf == NULL) {
        return NULL;
    }

    return oscf;
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
     *     conf->token_form = { 0, NULL };
     *     conf->authorize_url = { 0, NULL };
     *     conf->token = { { 0, NULL }, NULL };
     *     conf->me = { { 0, NULL }, NULL };
     *     conf->revoke = { { 0, NULL }, NULL };
     *     conf->api_url = { 0, NULL };
     *     conf->handler = NULL;
     *     conf->disconnect_uri = { 0, NULL };
     *     conf->disconnect_forget = 0;
     *     conf->button_redirect = 0;
     *     conf->button_appstore = 0;
     *     conf->webhook_unsigned = 0;
     *     conf->require_uri = { 0, NULL };
     *     conf->success_uri = { 0, NULL };
     *     conf->error_uri = { 0, NULL };
     *     conf->realm = { 0, NULL };
     *     conf->cookie_name = { 0, NULL };
     *     conf->cookie_attrs = { 0, NULL };
     *     conf->cookie_prev = { 0, NULL };
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

    ngx_http_intercom_oauth_main_conf_t  *omcf;

    ngx_conf_merge_str_value(conf->client_id, prev->client_id, "");
    ngx_conf_merge_str_value(conf->client_secret, prev->client_secret, "");
    ngx_conf_merge_ptr_value(conf->redirect_uri, prev->redirect_uri, NULL);

    if (ngx_http_intercom_oauth_merge_urls(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_merge_value(conf->fetch_identity, prev->fetch_identity, 1);

    /*
     * An inherited guard never applies to the module's own locations (the
     * connect page would redirect to itself); one written there is a
     * mistake.
     */
    if (conf->require == 1 && conf->handler) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_require\" cannot guard a "
                           "location with \"%V\"", &conf->handler->name);
        return NGX_CONF_ERROR;
    }

    if (conf->require == NGX_CONF_UNSET) {
        conf->require = (prev->require == NGX_CONF_UNSET) ? 0
                                                         : prev->require;
        conf->require_uri = prev->require_uri;
    }

    ngx_conf_merge_ptr_value(conf->button_page, prev->button_page, NULL);
    ngx_conf_merge_str_value(conf->success_uri, prev->success_uri, "/");
    ngx_conf_merge_str_value(conf->error_uri, prev->error_uri, "");
    ngx_conf_merge_ptr_value(conf->key, prev->key, NULL);

    if (ngx_http_intercom_oauth_merge_realm(cf, prev, conf) != NGX_CONF_OK
        || ngx_http_intercom_oauth_session_merge(cf, prev, conf)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
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

    return ngx_http_intercom_oauth_check_handler(cf, conf);
}


/*
 * The realm tokens are kept in: intercom_oauth_realm, else the first
 * server_name of the server{} (empty without one), so that two virtual
 * hosts sharing the zone and the client id do not share tokens.  The
 * callback of a replaced session deletes its tokens of every client id
 * configured: they are collected here.
 */

static char *
ngx_http_intercom_oauth_merge_realm(ngx_conf_t *cf,
    ngx_http_intercom_oauth_loc_conf_t *prev,
    ngx_http_intercom_oauth_loc_conf_t *conf)
{
    ngx_str_t                            *id;
    ngx_uint_t                            i;
    ngx_http_core_srv_conf_t             *cscf;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    if (conf->realm.data == NULL) {
        if (prev->realm.data) {
            conf->realm = prev->realm;

        } else {
            /* merged per server{}: the core module's is merged already */
            cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
            conf->realm = cscf->server_name;

        }
    }

    if (conf->client_id.len == 0) {
        return NGX_CONF_OK;
    }

    /*
     * A site's key is often unique per host only ($remote_user of each
     * tenant): under a wildcard or regex name, every host shares the
     * tokens of equal keys.
     */
    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);

    if (conf->key && conf->handler
        && conf->handler->content == ngx_http_intercom_oauth_callback_handler
        && conf->realm.data == cscf->server_name.data
        && conf->realm.len
        && (conf->realm.data[0] == '~'
            || ngx_strlchr(conf->realm.data,
                           conf->realm.data + conf->realm.len, '*')))
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"intercom_oauth_key\" in a server whose first "
                           "\"server_name\" \"%V\" matches many hosts: they "
                           "share one realm, so equal keys of different "
                           "hosts share a token; put the host in the key "
                           "(\"$host:...\") or set \"intercom_oauth_realm\"",
                           &conf->realm);
    }

    if (conf->realm.len > NGX_HTTP_INTERCOM_OAUTH_MAX_REALM) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the realm \"%V\" (\"intercom_oauth_realm\", or "
                           "the first \"server_name\") is longer than %d "
                           "bytes: set a shorter \"intercom_oauth_realm\"",
                           &conf->realm, NGX_HTTP_INTERCOM_OAUTH_MAX_REALM);
        return NGX_CONF_ERROR;
    }

    omcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_intercom_oauth_module);

    id = omcf->client_ids->elts;

    for (i = 0; i < omcf->client_ids->nelts; i++) {
        if (id[i].len == conf->client_id.len
            && ngx_strncmp(id[i].data, conf->client_id.data,
                           conf->client_id.len)
               == 0)
        {
            return NGX_CONF_OK;
        }
    }

    id = ngx_array_push(omcf->client_ids);
    if (id == NULL) {
        return NGX_CONF_ERROR;
    }

    *id = conf->client_id;

    return NGX_CONF_OK;
}


/*
 * Intercom's URLs.  A URL set at this level wins; else one set above wins
 * unless this level names a region of its own; else the region's default.
 * Each endpoint is then bound to the engine its URL's form asks for.
 */

static char *
ngx_http_intercom_oauth_merge_urls(ngx_conf_t *cf,
    ngx_http_intercom_oauth_loc_conf_t *prev,
    ngx_http_intercom_oauth_loc_conf_t *conf)
{
    ngx_uint_t   i;
    ngx_str_t   *url[4], *defaults;

    url[0] = &conf->authorize_url;
    url[1] = &conf->token.url;
    url[2] = &conf->api_url;
    url[3] = &conf->revoke.url;

    if (conf->region == NGX_CONF_UNSET_UINT) {
        conf->region = (prev->region == NGX_CONF_UNSET_UINT)
                       ? NGX_HTTP_INTERCOM_OAUTH_REGION_US : prev->region;

        ngx_conf_merge_str_value(conf->authorize_url, prev->authorize_url,
                                 "");
        ngx_conf_merge_str_value(conf->token.url, prev->token.url, "");
        ngx_conf_merge_str_value(conf->api_url, prev->api_url, "");
        ngx_conf_merge_str_value(conf->revoke.url, prev->revoke.url, "");
    }

    defaults = ngx_http_intercom_oauth_region_urls[conf->region];

    for (i = 0; i < 4; i++) {
        if (url[i]->len == 0) {
            *url[i] = defaults[i];
        }
    }

    /* the browser goes to the authorize URL: never a location's URI */
    if (!ngx_http_intercom_oauth_call_absolute(&conf->authorize_url)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_authorize_url\" must be an "
                           "http:// or https:// URL, not \"%V\"",
                           &conf->authorize_url);
        return NGX_CONF_ERROR;
    }

    conf->me.url = conf->api_url;

    if (ngx_http_intercom_oauth_call_bind(cf, "intercom_oauth_token_url",
                                          &conf->token)
        != NGX_OK
        || ngx_http_intercom_oauth_call_bind(cf, "intercom_oauth_api_url",
                                             &conf->me)
           != NGX_OK
        || ngx_http_intercom_oauth_call_bind(cf, "intercom_oauth_revoke_url",
                                             &conf->revoke)
           != NGX_OK
        || ngx_http_intercom_oauth_identity_url(cf->pool, &conf->api_url,
                                                &conf->me.url)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a location that serves one of the handlers (or the guard) is complete */

static char *
ngx_http_intercom_oauth_check_handler(ngx_conf_t *cf,
    ngx_http_intercom_oauth_loc_conf_t *conf)
{
    ngx_uint_t                            needs;
    ngx_http_intercom_oauth_handler_t    *h;
    ngx_http_intercom_oauth_main_conf_t  *omcf;

    h = conf->handler;

    if (h == NULL) {
        if (!conf->require) {
            return NGX_CONF_OK;
        }

        h = &ngx_http_intercom_oauth_guard;
    }

    needs = h->needs;
    omcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_intercom_oauth_module);

    if ((needs & NGX_HTTP_INTERCOM_OAUTH_NEEDS_ZONE) && omcf->shm_zone == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs \"intercom_oauth_zone\" in the "
                           "http block", &h->name);
        return NGX_CONF_ERROR;
    }

    /*
     * Several hosts share one store: a state minted by one must verify on
     * another, which the zone's generated secret cannot do.  The store's
     * URL is known here, its directive being allowed in http only.
     */
    if ((needs & NGX_HTTP_INTERCOM_OAUTH_NEEDS_STATE)
        && omcf->store_conf.url.len && conf->state_secret.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" with \"intercom_oauth_store\" needs "
                           "\"intercom_oauth_state_secret\": hosts that "
                           "share a store must share the state secret, or a "
                           "callback on another host fails with "
                           "state_invalid", &h->name);
        return NGX_CONF_ERROR;
    }

    if ((needs & NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID)
        && conf->client_id.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs \"intercom_oauth_client_id\"",
                           &h->name);
        return NGX_CONF_ERROR;
    }

    if ((needs & NGX_HTTP_INTERCOM_OAUTH_NEEDS_CLIENT_ID)
        && conf->client_id.len > NGX_HTTP_INTERCOM_OAUTH_MAX_CLIENT_ID)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"intercom_oauth_client_id\" is longer than "
                           "%d bytes", NGX_HTTP_INTERCOM_OAUTH_MAX_CLIENT_ID);
        return NGX_CONF_ERROR;
    }

    if ((needs & NGX_HTTP_INTERCOM_OAUTH_NEEDS_SECRET)
        && conf->client_secret.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs \"intercom_oauth_client_secret\"",
                           &h->name);
        return NGX_CONF_ERROR;
    }

    return h->merge ? h->merge(cf, conf) : NGX_CONF_OK;
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
 * intercom_connect_button, intercom_oauth_callback,
 * intercom_oauth_disconnect, intercom_oauth_uninstall_webhook,
 * intercom_oauth_status and intercom_oauth_check: one content handler per
 * location, described by the command's "post".
 */

static char *
ngx_http_intercom_oauth_set_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_intercom_oauth_loc_conf_t  *olcf = conf;

    ngx_str_t                          *value;
    ngx_http_core_loc_conf_t           *clcf;
    ngx_http_intercom_oauth_handler_t  *h;

    if (olcf->handler) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": a location runs one of "
                           "intercom_connect_button, intercom_oauth_callback, "
                           "intercom_oauth_disconnect, "
                           "intercom_oauth_uninstall_webhook, "
                           "intercom_oauth_status and intercom_oauth_check",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    h = cmd->post;
    value = cf->args->elts;

    if (h->keyword.len && cf->args->nelts == 2) {
        if (value[1].len != h->keyword.len
            || ngx_strcmp(value[1].data, h->keyword.data) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", \"%V\" takes only "
                               "\"%V\"", &value[1], &cmd->name, &h->keyword);
            return NGX_CONF_ERROR;
        }

        *(ngx_flag_t *) ((u_char *) conf + h->flag) = 1;
    }

    if (h->args && h->args(cf, cmd, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    olcf->handler = h;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = h->content;

    /* the post-read phase hides the arguments of its URI from the logs */
    if (h == &ngx_http_intercom_oauth_callback
        && ngx_http_intercom_oauth_withhold_add(cf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

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

    if (ngx_http_intercom_oauth_curl_init_process(cycle) != NGX_OK) {
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
    ngx_http_intercom_oauth_curl_exit_process(cycle);
}


/* the record of this request's key for this location's client id */

static ngx_int_t
ngx_http_intercom_oauth_lookup(ngx_http_request_t *r, ngx_pool_t *pool,
    ngx_http_intercom_oauth_record_t *rec)
{
    ngx_str_t  key;

    if (ngx_http_intercom_oauth_key(r, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_intercom_oauth_storage_token_get(r, &key, pool, rec);
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

    ctx = ngx_http_intercom_oauth_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_intercom_oauth_button_authorize_url(r, ctx);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        v->not_found = 1;
        return NGX_OK;
    }

    /* the page that shows it must not be cached: it carries a state */
    if (ngx_http_intercom_oauth_nocache(r) != NGX_OK) {
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
