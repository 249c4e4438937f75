
/*
 * Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
 * SPDX-License-Identifier: BSD-2-Clause
 */

/*
 * What the harnesses need from fuzz/shim/ngx_shim.c besides the nginx
 * functions it stands in for.
 */

#ifndef _FUZZ_NGX_SHIM_H_INCLUDED_
#define _FUZZ_NGX_SHIM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* a pool; "limit" bytes at most in all (0: no limit), then NULL */
ngx_pool_t *fuzz_pool_create(size_t limit);
void fuzz_pool_destroy(ngx_pool_t *pool);
size_t fuzz_pool_allocated(ngx_pool_t *pool);

/* sets what ngx_time() returns */
void fuzz_set_time(time_t sec);

/* a log whose level is 0: ngx_log_error() calls nothing */
extern ngx_log_t  *fuzz_log;

/* a harness's own check failed: print and abort, so libFuzzer keeps it */
#define fuzz_assert(cond)                                                     \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)


#endif /* _FUZZ_NGX_SHIM_H_INCLUDED_ */
