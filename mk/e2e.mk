# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# make e2e: "Connect with Intercom" in a real browser.
#
# Headless Chromium (Debian's chromium package) driven by playwright-core
# (npm, e2e/package-lock.json) runs e2e/connect.test.js with node's test
# runner: nginx with the module and the local Intercom stand-in are started
# by the test itself (util/run-demo, its own ports and run directory) and
# stopped at the end, pass or fail.  Screenshots: e2e/screenshots/.
#
#   make e2e E2E_PORT=7443 E2E_STANDIN_PORT=7444

E2E_PORT         ?= 7443
E2E_STANDIN_PORT ?= 7444
E2E_RUN_DIR      ?= $(BUILD)/e2e-run
E2E_CHROMIUM     ?= /usr/bin/chromium
# the browser, certutil for its trust store, a font, the HTML checkers
E2E_DEB          := chromium libnss3-tools fonts-dejavu-core python3-html5lib tidy

.PHONY: e2e e2e-deps

e2e-deps:
	@util/apt-ensure $(E2E_DEB)
	@command -v node >/dev/null && command -v npm >/dev/null || util/apt-ensure nodejs npm
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' \
	    || { echo "e2e needs Node.js 18 or later, found $$(node --version)"; exit 1; }

e2e/node_modules/.package-lock.json: e2e/package.json e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund --loglevel=error

e2e: deps e2e-deps module e2e/node_modules/.package-lock.json
	E2E_MODULE=$(MODULE) E2E_PORT=$(E2E_PORT) E2E_STANDIN_PORT=$(E2E_STANDIN_PORT) \
	E2E_RUN_DIR=$(E2E_RUN_DIR) E2E_CHROMIUM=$(E2E_CHROMIUM) \
	    node --test e2e/connect.test.js
