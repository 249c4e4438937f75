
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */


/*
 * The request line is what nginx logs of a request: $request in the
 * access log's combined format, and "request: ..." after every error log
 * line of the request, limit_req's "delaying request" and the access
 * module's "access forbidden by rule" among them.  Those run before the
 * location's content handler, so the query is withheld in the post-read
 * phase, where no location is known yet: the server's callback locations
 * are matched here the way nginx will match them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_intercom_oauth_withhold.h"


#define NGX_HTTP_INTERCOM_OAUTH_WITHHELD_ALL  "[oauth arguments withheld]"
#define NGX_HTTP_INTERCOM_OAUTH_WITHHELD      "[withheld]"


static ngx_int_t ngx_http_intercom_oauth_withhold_what(ngx_http_request_t *r);
static ngx_uint_t ngx_http_intercom_oauth_withhold_callback(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_intercom_oauth_withhold_query(ngx_http_request_t *r,
    ngx_uint_t all);
static ngx_uint_t ngx_http_intercom_oauth_withhold_name(u_char *name,
    size_t len);
static ngx_int_t ngx_http_intercom_oauth_withhold_referrer(
    ngx_http_request_t *r);


ngx_int_t
ngx_http_intercom_oauth_withhold_add(ngx_conf_t *cf)
{
    ngx_http_core_loc_conf_t            *clcf, **clcfp;
    ngx_http_intercom_oauth_srv_conf_t  *oscf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->named || clcf->noname) {
        return NGX_OK;
    }

    /* the location's configuration shares the server's srv_conf */
    oscf = ngx_http_conf_get_module_srv_conf(cf,
                                             ngx_http_intercom_oauth_module);

    if (oscf->callbacks == NULL) {
        oscf->callbacks = ngx_array_create(cf->pool, 1,
                                           sizeof(ngx_http_core_loc_conf_t *));
        if (oscf->callbacks == NULL) {
            return NGX_ERROR;
        }
    }

    clcfp = ngx_array_push(oscf->callbacks);
    if (clcfp == NULL) {
        return NGX_ERROR;
    }

    *clcfp = clcf;

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_withhold_handler(ngx_http_request_t *r)
{
    ngx_int_t  what;

    what = ngx_http_intercom_oauth_withhold_what(r);

    if (what == NGX_DECLINED) {
        return NGX_DECLINED;
    }

    if (ngx_http_intercom_oauth_withhold_query(r, what) != NGX_OK
        || ngx_http_intercom_oauth_withhold_referrer(r) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_intercom_oauth_withhold_log_handler(ngx_http_request_t *r)
{
    ngx_int_t  what;

    /* a subrequest logs its main request's line */
    if (r != r->main || r->request_line.len == 0) {
        return NGX_OK;
    }

    what = ngx_http_intercom_oauth_withhold_what(r);

    if (what != NGX_DECLINED) {
        /* out of memory: nothing better to do than log what there is */
        (void) ngx_http_intercom_oauth_withhold_query(r, what);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_intercom_oauth_withhold_line(ngx_http_request_t *r)
{
    return ngx_http_intercom_oauth_withhold_query(r, 1);
}


ngx_uint_t
ngx_http_intercom_oauth_withhold_args(ngx_str_t *args)
{
    u_char      *p, *next, *eq, *end;
    ngx_uint_t   state, grant;

    state = 0;
    grant = 0;
    end = args->data + args->len;

    for (p = args->data; /* void */; p = next + 1) {
        next = ngx_strlchr(p, end, '&');
        if (next == NULL) {
            next = end;
        }

        eq = ngx_strlchr(p, next, '=');
        if (eq == NULL) {
            eq = next;
        }

        if (eq - p == 5 && ngx_strncasecmp(p, (u_char *) "state", 5) == 0) {
            state = 1;

        } else if ((eq - p == 4
                    && ngx_strncasecmp(p, (u_char *) "code", 4) == 0)
                   || (eq - p == 5
                       && ngx_strncasecmp(p, (u_char *) "error", 5) == 0))
        {
            grant = 1;
        }

        if (next == end) {
            break;
        }
    }

    return state && grant;
}


/*
 * What to withhold of r's request line: 1, all of its query (a callback
 * location's URI); 0, the values of code and state (any other request
 * whose arguments look like a callback's: an attacker's, or a callback
 * sent to the wrong URI); NGX_DECLINED, nothing.
 */

static ngx_int_t
ngx_http_intercom_oauth_withhold_what(ngx_http_request_t *r)
{
    if (ngx_http_intercom_oauth_withhold_callback(r)) {
        return 1;
    }

    if (r->args.len && ngx_http_intercom_oauth_withhold_args(&r->args)) {
        return 0;
    }

    return NGX_DECLINED;
}


/*
 * Whether r's URI is one of its server's callback locations.  A prefix
 * location matches any URI it starts, even where a longer prefix or a
 * regular expression will win: withholding too much is harmless.  A
 * regular expression is run without captures, so that the request's own
 * are set only when its location is found.
 */

static ngx_uint_t
ngx_http_intercom_oauth_withhold_callback(ngx_http_request_t *r)
{
    ngx_uint_t                           i;
    ngx_http_core_loc_conf_t           **clcfp, *clcf;
    ngx_http_intercom_oauth_srv_conf_t  *oscf;

    oscf = ngx_http_get_module_srv_conf(r, ngx_http_intercom_oauth_module);

    if (oscf == NULL || oscf->callbacks == NULL) {
        return 0;
    }

    clcfp = oscf->callbacks->elts;

    for (i = 0; i < oscf->callbacks->nelts; i++) {
        clcf = clcfp[i];

#if (NGX_PCRE)
        if (clcf->regex) {
            /* an error of the matcher withholds as a match does */
            if (ngx_regex_exec(clcf->regex->regex, &r->uri, NULL, 0)
                != NGX_REGEX_NO_MATCHED)
            {
                return 1;
            }

            continue;
        }
#endif

        if (r->uri.len < clcf->name.len
            || ngx_filename_cmp(r->uri.data, clcf->name.data, clcf->name.len)
               != 0)
        {
            continue;
        }

        if (!clcf->exact_match || r->uri.len == clcf->name.len) {
            return 1;
        }
    }

    return 0;
}


/*
 * A copy of the request line with the query, from the first '?' to the
 * " HTTP/x" that ends the line, replaced: all of it, or only the values
 * of the "code" and "state" arguments (names in any case), the other
 * arguments kept as they were sent.
 */

static ngx_int_t
ngx_http_intercom_oauth_withhold_query(ngx_http_request_t *r, ngx_uint_t all)
{
    u_char     *p, *q, *end, *arg, *next, *eq;
    size_t      len, proto;
    ngx_str_t   line;

    line = r->request_line;

    q = ngx_strlchr(line.data, line.data + line.len, '?');
    if (q == NULL) {
        return NGX_OK;
    }

    q++;
    end = line.data + line.len;
    proto = r->http_protocol.len;

    /* HTTP/0.9 has no protocol after the URI */
    if (proto && (size_t) (end - q) > proto
        && *(end - proto - 1) == ' '
        && ngx_strncmp(end - proto, r->http_protocol.data, proto) == 0)
    {
        end -= proto + 1;
    }

    /*
     * Withheld already: a callback's line is withheld in the post-read
     * phase, again by its handler and again in the log phase.
     */
    if (all
        && (size_t) (end - q) == sizeof(NGX_HTTP_INTERCOM_OAUTH_WITHHELD_ALL)
                                 - 1
        && ngx_strncmp(q, NGX_HTTP_INTERCOM_OAUTH_WITHHELD_ALL,
                       sizeof(NGX_HTTP_INTERCOM_OAUTH_WITHHELD_ALL) - 1)
           == 0)
    {
        return NGX_OK;
    }

    len = line.len + sizeof(NGX_HTTP_INTERCOM_OAUTH_WITHHELD_ALL);

    if (!all) {
        for (p = q; p < end; p++) {
            if (*p == '&') {
                len += sizeof(NGX_HTTP_INTERCOM_OAUTH_WITHHELD) - 1;
            }
        }

        len += sizeof(NGX_HTTP_INTERCOM_OAUTH_WITHHELD) - 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    line.data = p;
    p = ngx_cpymem(p, r->request_line.data, q - r->request_line.data);

    if (all) {
        p = ngx_cpymem(p, NGX_HTTP_INTERCOM_OAUTH_WITHHELD_ALL,
                       sizeof(NGX_HTTP_INTERCOM_OAUTH_WITHHELD_ALL) - 1);

    } else {
        for (arg = q; /* void */; arg = next + 1) {
            next = ngx_strlchr(arg, end, '&');
            if (next == NULL) {
                next = end;
            }

            eq = ngx_strlchr(arg, next, '=');

            if (eq && ngx_http_intercom_oauth_withhold_name(arg, eq - arg)) {
                p = ngx_cpymem(p, arg, eq + 1 - arg);
                p = ngx_cpymem(p, NGX_HTTP_INTERCOM_OAUTH_WITHHELD,
                               sizeof(NGX_HTTP_INTERCOM_OAUTH_WITHHELD) - 1);

            } else {
                p = ngx_cpymem(p, arg, next - arg);
            }

            if (next == end) {
                break;
            }

            *p++ = '&';
        }
    }

    p = ngx_cpymem(p, end, r->request_line.data + r->request_line.len - end);

    line.len = p - line.data;
    r->request_line = line;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_intercom_oauth_withhold_name(u_char *name, size_t len)
{
    return (len == 4 && ngx_strncasecmp(name, (u_char *) "code", 4) == 0)
           || (len == 5 && ngx_strncasecmp(name, (u_char *) "state", 5) == 0);
}


/*
 * Set before anything answers, so that a refusal by deny, limit_req,
 * auth_request or an error_page page also keeps the URL, with its code
 * and state, out of the Referer of whatever that page loads or links to.
 */

static ngx_int_t
ngx_http_intercom_oauth_withhold_referrer(ngx_http_request_t *r)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash
            && h[i].key.len == sizeof("Referrer-Policy") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Referrer-Policy",
                               sizeof("Referrer-Policy") - 1)
               == 0)
        {
            return NGX_OK;
        }
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Referrer-Policy");
    ngx_str_set(&h->value, "no-referrer");

    return NGX_OK;
}
