# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Memory checks of the whole Test::Nginx suite.
#
#   make test-valgrind   every Test::Nginx file with nginx under valgrind
#                        (TEST_NGINX_USE_VALGRIND=1): leaks and invalid
#                        accesses anywhere in the process fail the block;
#                        suppressions: t/lib/compat/valgrind-nginx-core.supp
#                        and valgrind.suppress (nginx's and OpenSSL's own)
#   make test-asan       the module rebuilt with AddressSanitizer into
#                        build/asan/, every test file (t/system/ too)
#                        against Debian's nginx with libasan preloaded
#
# Debian's nginx is not instrumented.  Under ASan the module's own code
# (stack, globals, heap it gets from malloc through libcurl, yajl and
# OpenSSL) is checked, and ASan's allocator sees every malloc/free of the
# process; but memory nginx hands out from its pools and from the shared
# zone is carved out of large blocks, so an overflow that stays inside a
# pool block is invisible to ASan (and to valgrind).  The fuzz harnesses
# (mk/fuzz.mk) cover that gap for the parsers: there every pool allocation
# is its own malloc.  See docs/testing.md.

VALGRIND_TIMEOUT ?= 60
ASAN_BUILD       := $(BUILD)/asan
ASAN_NGX_BUILD   := $(ASAN_BUILD)/nginx
ASAN_MODULE      := $(ASAN_NGX_BUILD)/objs/ngx_http_intercom_oauth_module.so
ASAN_CC_OPT      := $(filter-out -D_FORTIFY_SOURCE=2 -O2,$(CC_OPT)) -O1 \
                    -fsanitize=address -fno-omit-frame-pointer
ASAN_LIB          = $(shell $(CC) -print-file-name=libasan.so)
# halt_on_error: a report kills the worker, the block fails, and the report
# is in build/asan/logs/asan.PID.  Leaks are valgrind's job (test-valgrind):
# nginx dlclose()s the module before it exits, so LeakSanitizer cannot name
# the module's frames, and nginx's own never-freed arrays cannot be told
# apart by function (nginx is built without frame pointers).  ASAN_LEAKS=1
# turns LeakSanitizer on anyway, with slow but complete stacks.
ASAN_LEAKS       ?= 0
ASAN_TIMEOUT     ?= 20
ASAN_OPTIONS_RUN := log_path=$(ASAN_BUILD)/logs/asan:halt_on_error=1:abort_on_error=0:detect_leaks=$(ASAN_LEAKS):suppressions=$(ASAN_BUILD)/asan.supp:detect_odr_violation=0:allow_user_segv_handler=1$(if $(filter 1,$(ASAN_LEAKS)),:fast_unwind_on_malloc=0:malloc_context_size=40)
LSAN_OPTIONS_RUN := suppressions=$(ASAN_BUILD)/lsan.supp:print_suppressions=0
# the Test::Nginx block files (t/*.t; t/system/ holds the plain-Perl ones):
# valgrind wraps only the nginx they start
TEST_NGINX_FILES  = $(wildcard t/*.t)

.PHONY: test-valgrind test-asan asan-module deps-sanitize deps-asan asan-force

deps-sanitize:
	@util/apt-ensure valgrind

# gdb lets t/system/012-faults.t kill a worker while it holds the zone's lock
deps-asan:
	@util/apt-ensure gdb

test-valgrind: deps deps-sanitize module
	@start=$$(date +%s); \
	TEST_NGINX_USE_VALGRIND=1 TEST_NGINX_TIMEOUT=$(VALGRIND_TIMEOUT) \
	    t/run-tests $(MODULE) $(TEST_NGINX_FILES); rc=$$?; \
	echo "test-valgrind: $$(( $$(date +%s) - start )) s, exit $$rc"; exit $$rc

asan-force:

asan-module: $(ASAN_MODULE)

$(ASAN_NGX_BUILD)/objs/Makefile: config Makefile mk/sanitize.mk util/configure-nginx $(BUILD)/nginx.signature
	@CC_OPT="$(ASAN_CC_OPT)" LD_OPT="-fsanitize=address" \
	    util/configure-nginx dynamic $(ASAN_NGX_BUILD)

$(ASAN_MODULE): $(ASAN_NGX_BUILD)/objs/Makefile $(SOURCES)
	$(MAKE) -C $(ASAN_NGX_BUILD) -f objs/Makefile modules
	@echo "built $(ASAN_MODULE)"

# nginx itself never frees some allocations before it exits (its
# environment copy, the connection arrays, upstream TLS sessions kept for
# reuse): LeakSanitizer suppressions by nginx/OpenSSL function, never by
# a module function.  The wrapper starts Debian's nginx with libasan first.
$(ASAN_BUILD)/nginx-asan: mk/sanitize.mk asan-force
	@mkdir -p $(ASAN_BUILD)/logs
	@printf '%s\n' \
	    '# LeakSanitizer: nginx'"'"'s own exit-time allocations (mk/sanitize.mk)' \
	    'leak:ngx_set_environment' 'leak:ngx_event_process_init' \
	    'leak:ngx_ssl_handshake' \
	    > $(ASAN_BUILD)/lsan.supp
	@printf '%s\n' '# ASan: none' > $(ASAN_BUILD)/asan.supp
	@printf '%s\n' '#!/bin/sh' \
	    '# Debian'"'"'s nginx with AddressSanitizer'"'"'s runtime loaded first (mk/sanitize.mk)' \
	    'LD_PRELOAD=$(ASAN_LIB)$${LD_PRELOAD:+:$$LD_PRELOAD}' \
	    'ASAN_OPTIONS=$${ASAN_OPTIONS:-$(ASAN_OPTIONS_RUN)}' \
	    'LSAN_OPTIONS=$${LSAN_OPTIONS:-$(LSAN_OPTIONS_RUN)}' \
	    'export LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS' \
	    'exec $(TEST_NGINX_BINARY) "$$@"' > $@
	@chmod +x $@

test-asan: deps deps-asan $(ASAN_MODULE) $(ASAN_BUILD)/nginx-asan
	@rm -f $(ASAN_BUILD)/logs/asan.*
	@start=$$(date +%s); rc=0; \
	for engine in $(TEST_ENGINES); do \
	    echo "=== call engine: $$engine"; \
	    TEST_INTERCOM_ENGINE=$$engine \
	    TEST_NGINX_BINARY=$(ASAN_BUILD)/nginx-asan NGINX_BIN=$(ASAN_BUILD)/nginx-asan \
	        TEST_NGINX_TIMEOUT=$(ASAN_TIMEOUT) t/run-tests $(ASAN_MODULE) || rc=1; \
	done; \
	reports=$$(ls $(ASAN_BUILD)/logs/asan.* 2>/dev/null | wc -l); \
	for f in $$(ls $(ASAN_BUILD)/logs/asan.* 2>/dev/null); do echo "== $$f"; cat $$f; done; \
	echo "test-asan: $$(( $$(date +%s) - start )) s, exit $$rc, $$reports AddressSanitizer report(s) in $(ASAN_BUILD)/logs"; \
	[ $$rc -eq 0 ] && [ $$reports -eq 0 ]
