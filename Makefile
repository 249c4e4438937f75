# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# ngx_http_intercom_oauth_module
#
#   make            build the dynamic module against Debian's nginx-dev tree
#                   or NGINX_SRC=/path/to/nginx (a release tarball's tree or
#                   a git checkout), configured with its conf_flags (Debian),
#                   NGINX_CONF_FLAGS (instead of any other) or --with-compat
#                   and what the tests need (docs/building.md)
#   make nginx      also build the nginx binary of that tree:
#                   build/nginx/objs/nginx, for NGINX_BIN
#   make test       install what the tests need, build, run the Test::Nginx
#                   block files (t/*.t) and the multi-process tests
#                   (t/system/*.t) against the local Intercom stand-in,
#                   once with each call engine (libcurl, subrequest), with
#                   the nginx binary NGINX_BIN (Debian's /usr/sbin/nginx)
#   make test-static    the same with the module built into nginx
#                   (build/nginx-static/objs/nginx, from NGINX_SRC)
#   make test-system    t/system/*.t only
#   make test-clone     t/system/*.t in a fresh clone of HEAD in a mode-0700
#                       directory, as a newcomer's checkout in /root is
#   make test-nginx-upstream TEST_NGINX_LIB=/path/to/test-nginx/lib
#                   the block files under openresty's Test::Nginx itself
#                   instead of the compatible runner in t/lib/compat
#   make run        serve the connect flow locally (stand-in or, with
#                   INTERCOM_CLIENT_ID and INTERCOM_CLIENT_SECRET_FILE, Intercom)
#   make deps       install the Debian packages the build and tests need

SHELL        := /bin/bash
NGINX_SRC    ?= /usr/share/nginx/src
NGINX_BIN    ?= $(or $(TEST_NGINX_BINARY),/usr/sbin/nginx)
BUILD        := $(CURDIR)/build
NGX_BUILD    := $(BUILD)/nginx
MODULE       := $(NGX_BUILD)/objs/ngx_http_intercom_oauth_module.so
NGX_BINARY   := $(NGX_BUILD)/objs/nginx
NGX_STATIC   := $(BUILD)/nginx-static/objs/nginx
CC_OPT       ?= -g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2
SOURCES      := config ngx_http_intercom_oauth_module.c $(wildcard src/*.c src/*.h)

# One binary for the whole suite: t/run-tests, both Test::Nginx runners,
# the system tests' start_nginx and util/run-demo all read
# TEST_NGINX_BINARY (a name without a slash is looked up in PATH)
export TEST_NGINX_BINARY := $(if $(findstring /,$(NGINX_BIN)),$(abspath $(NGINX_BIN)),$(NGINX_BIN))

# util/configure-nginx reads these; NGINX_CONF_FLAGS, once given, even
# empty, replaces every other flag
export NGINX_SRC CC_OPT
ifneq ($(origin NGINX_CONF_FLAGS),undefined)
export NGINX_CONF_FLAGS
export NGINX_CONF_FLAGS_SET := 1
endif

# Debian's nginx packages only when the tree or the binary in use is
# Debian's: with NGINX_SRC and NGINX_BIN elsewhere nothing of nginx is
# installed
DEB_NGINX    := $(if $(filter /usr/share/nginx/src,$(NGINX_SRC)),nginx-dev) \
                $(if $(filter /usr/sbin/nginx,$(TEST_NGINX_BINARY)),nginx-core)

# what "make deps" installs; see README "Requirements".  The tests also
# need ps (procps) to count nginx's workers, which a minimal Debian lacks.
DEB_BUILD    := build-essential $(DEB_NGINX) libssl-dev \
                libcurl4-openssl-dev libyajl-dev libhiredis-dev \
                libpcre2-dev zlib1g-dev ca-certificates
DEB_TEST     := openssl python3 curl perl libtest-base-perl \
                libtext-diff-perl libtest-longstring-perl \
                liblist-moreutils-perl libipc-run-perl libwww-perl \
                liburi-perl libhttp-message-perl libio-socket-ssl-perl \
                liblwp-protocol-https-perl libhttp-cookies-perl \
                redis-server procps

.PHONY: all module nginx nginx-static deps deps-build deps-test test \
        test-static test-system test-clone test-nginx-upstream run stop \
        clean FORCE

all: module

module: $(MODULE)

deps: deps-build deps-test

deps-build:
	@util/apt-ensure $(DEB_BUILD)

deps-test:
	@util/apt-ensure $(DEB_TEST)

# what the configured tree depends on besides the files: NGINX_SRC, the
# flags, CC_OPT; rewritten only when they change, so a plain "make" after
# "make NGINX_SRC=..." reconfigures
$(BUILD)/nginx.signature: FORCE
	@mkdir -p $(BUILD)
	@util/configure-nginx --signature > $@.new; \
	if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi

$(NGX_BUILD)/objs/Makefile: config Makefile util/configure-nginx $(BUILD)/nginx.signature
	@util/configure-nginx dynamic $(NGX_BUILD)

$(MODULE): $(NGX_BUILD)/objs/Makefile $(SOURCES)
	$(MAKE) -C $(NGX_BUILD) -f objs/Makefile modules
	@echo "built $(MODULE)"

# the nginx binary of the same tree and flags: NGINX_BIN for "make test"
nginx: $(NGX_BINARY)

$(NGX_BINARY): $(NGX_BUILD)/objs/Makefile $(SOURCES)
	$(MAKE) -C $(NGX_BUILD) -f objs/Makefile binary
	@echo "built $(NGX_BINARY)"

# the module built into nginx (--add-module)
nginx-static: $(NGX_STATIC)

$(BUILD)/nginx-static/objs/Makefile: config Makefile util/configure-nginx $(BUILD)/nginx.signature
	@util/configure-nginx static $(BUILD)/nginx-static

$(NGX_STATIC): $(BUILD)/nginx-static/objs/Makefile $(SOURCES)
	$(MAKE) -C $(BUILD)/nginx-static -f objs/Makefile binary
	@echo "built $(NGX_STATIC)"

# "make test NGINX_BIN=build/nginx/objs/nginx" builds that binary first
TEST_BIN_DEP := $(filter $(NGX_BINARY),$(TEST_NGINX_BINARY))

# the whole suite once per call engine (docs/engines.md);
# TEST_ENGINES=subrequest make test runs one
TEST_ENGINES ?= libcurl subrequest

# $(1): the test files (none: t/run-tests' default, all of them);
# $(2): environment for t/run-tests
define run_tests
	@set -e; for engine in $(TEST_ENGINES); do \
	    echo "=== call engine: $$engine"; \
	    $(2) TEST_INTERCOM_ENGINE=$$engine t/run-tests $(MODULE) $(1); \
	done
endef

test: deps module $(TEST_BIN_DEP)
	$(call run_tests)

# the suite against the nginx with the module built in: no load_module
test-static: deps nginx-static
	@set -e; for engine in $(TEST_ENGINES); do \
	    echo "=== call engine: $$engine (static)"; \
	    TEST_NGINX_BINARY=$(NGX_STATIC) TEST_INTERCOM_ENGINE=$$engine \
	        t/run-tests --static; \
	done

test-system: deps module $(TEST_BIN_DEP)
	$(call run_tests,t/system/*.t)

# The committed HEAD cloned into a fresh "mktemp -d" directory (mode 0700,
# as /root is) and its system tests run there, as whoever runs this (CI:
# root), with one engine: what a newcomer who clones the repository sees.
# nginx started by root runs its workers as "nobody", and what they read
# inside the checkout (the test CA libcurl loads for each exchange, the
# request bodies nginx buffers under the prefix) is out of their reach in
# such a directory unless the tests say otherwise.
CLONE_ENGINES ?= libcurl

test-clone: deps
	@util/apt-ensure git
	@set -e; dir=$$(mktemp -d); chmod 700 "$$dir"; \
	trap 'rm -rf "$$dir"' EXIT; \
	git -c advice.detachedHead=false clone -q --no-hardlinks "$(CURDIR)" "$$dir/project"; \
	echo "test-clone: $$(git -C "$$dir/project" log -1 --format='%h %s' | cut -c1-60)"; \
	echo "test-clone: in $$dir/project, $$dir mode $$(stat -c %a "$$dir"), as $$(id -un)"; \
	$(MAKE) -C "$$dir/project" --no-print-directory test-system \
	    TEST_ENGINES="$(CLONE_ENGINES)" NGINX_SRC="$(NGINX_SRC)" \
	    NGINX_BIN="$(TEST_NGINX_BINARY)"

# openresty's Test::Nginx instead of the compatible runner, for the block
# files: TEST_NGINX_LIB is the lib/ directory of a checkout of
# https://github.com/openresty/test-nginx (not part of this repository;
# the Perl modules it needs are in DEB_TEST)
test-nginx-upstream: deps module $(TEST_BIN_DEP)
	@test -f "$(TEST_NGINX_LIB)/Test/Nginx/Socket.pm" || { \
	    echo "usage: make test-nginx-upstream TEST_NGINX_LIB=/path/to/test-nginx/lib"; \
	    exit 1; }
	$(call run_tests,t/*.t,TEST_NGINX_LIB=$(abspath $(TEST_NGINX_LIB)))

run: deps module $(TEST_BIN_DEP)
	@util/run-demo $(MODULE)

stop:
	@util/run-demo --stop

clean:
	rm -rf $(BUILD) t/servroot* run

# further targets (bench, fuzz, packaging, browser test), one file each
-include $(wildcard mk/*.mk)
