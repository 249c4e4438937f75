# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Debian package of the module, built the way Debian's own nginx modules
# are (debian/: the nginx debhelper addon from nginx-dev, dh_nginx).
#
#   make deb        build/deb/libnginx-mod-http-intercom-oauth_VERSION_ARCH.deb
#   make deb-test   build it, check it with lintian, install it into Debian's
#                   nginx (dpkg -i), run debian/tests/load-module (nginx -t
#                   with it enabled), then purge it again and check that
#                   nginx -t still passes
#
# The package is built against Debian's nginx (/usr/share/nginx/src from
# nginx-dev), whatever NGINX_SRC says: it must match the nginx-abi it
# depends on.

DEB_PKG      := libnginx-mod-http-intercom-oauth
DEB_VERSION  := $(shell sed -n 's/^\#define NGX_HTTP_INTERCOM_OAUTH_VERSION *"\(.*\)"/\1/p' src/ngx_http_intercom_oauth.h)
DEB_ARCH     := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_DIR      := $(BUILD)/deb
DEB_FILE     := $(DEB_DIR)/$(DEB_PKG)_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_CHANGES  := $(DEB_DIR)/$(DEB_PKG)_$(DEB_VERSION)_$(DEB_ARCH).changes
# debian/control's Build-Depends, and what dpkg-buildpackage itself needs
DEB_TOOLS    := build-essential dpkg-dev debhelper nginx-dev nginx-core \
                libcurl4-openssl-dev libyajl-dev libhiredis-dev lintian
# what goes into the package's source tree
DEB_SOURCES  := config ngx_http_intercom_oauth_module.c src debian README.md \
                LICENSE CHANGES docs conf

.PHONY: deb deb-deps deb-test

deb-deps:
	@util/apt-ensure $(DEB_TOOLS)

deb: deb-deps
	@test -n "$(DEB_VERSION)" || { echo "no NGX_HTTP_INTERCOM_OAUTH_VERSION in src/ngx_http_intercom_oauth.h"; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	tar -cf - $(DEB_SOURCES) | tar -xf - -C $(DEB_DIR)/src
	@# dpkg-buildpackage writes the packages next to the source tree: build/deb/
	cd $(DEB_DIR)/src && dpkg-checkbuilddeps \
	    && dpkg-buildpackage -b -us -uc > $(DEB_DIR)/build.log 2>&1 \
	    || { tail -40 $(DEB_DIR)/build.log; echo "see $(DEB_DIR)/build.log"; exit 1; }
	@test -f $(DEB_FILE) || { echo "dpkg-buildpackage made no $(DEB_FILE)"; ls $(DEB_DIR); exit 1; }
	@dpkg-deb -I $(DEB_FILE) | sed -n 's/^ \(Package\|Version\|Depends\):/  \1:/p'
	@dpkg-deb -c $(DEB_FILE) | grep -E '\.so$$|modules-available' | sed 's/^.* \.\//  \//'
	@echo "built $(DEB_FILE)"

deb-test: deb
	@set -euo pipefail; \
	export DEBIAN_FRONTEND=noninteractive; \
	before=$$(dpkg-query -W -f='$${Status}' $(DEB_PKG) 2>/dev/null || true); \
	cleanup() { \
	    if [ "$$before" != "install ok installed" ]; then \
	        dpkg --purge $(DEB_PKG) >/dev/null 2>&1 || true; \
	    fi; \
	}; \
	trap cleanup EXIT; \
	echo "deb-test: lintian"; \
	rc=0; out=$$(lintian --fail-on error,warning $(DEB_CHANGES) 2>&1) || rc=$$?; \
	printf '%s\n' "$$out" | grep -v -e '^running with root privileges' -e '^$$' || true; \
	[ $$rc = 0 ] || { echo "FAIL: lintian"; exit 1; }; \
	echo "deb-test: dpkg -i $(notdir $(DEB_FILE))"; \
	dpkg -i $(DEB_FILE) || apt-get install -f -y -qq; \
	debian/tests/load-module; \
	if [ "$$before" = "install ok installed" ]; then \
	    echo "deb-test: $(DEB_PKG) was installed before the test: left installed"; \
	else \
	    echo "deb-test: dpkg --purge $(DEB_PKG)"; \
	    dpkg --purge $(DEB_PKG); \
	    ! ls /etc/nginx/modules-enabled/*intercom* >/dev/null 2>&1 \
	        || { echo "FAIL: the purge left a link in /etc/nginx/modules-enabled"; exit 1; }; \
	    [ ! -e /usr/lib/nginx/modules/ngx_http_intercom_oauth_module.so ] \
	        || { echo "FAIL: the purge left the module"; exit 1; }; \
	    nginx -t 2>&1; \
	    echo "ok: purged; nginx -t passes without it"; \
	fi; \
	echo "deb-test: passed"
