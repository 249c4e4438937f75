# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# make bench            the module against nginx's own paths, the
#                       app-server way and the peer a site would otherwise
#                       install (Apache with mod_auth_openidc); bursts of
#                       200 and 1,000 callbacks; prints one table of ratios
#                       (bench/RESULTS.md says what it measures and found)
# make bench-profile    perf on the nginx worker: callback and connect page
# make bench-callgrind  instructions per request (load-independent), for
#                       judging a code change, and where a callback's go,
#                       by concern (bench/bench.py CALLGRIND_CONCERNS)
#
# BENCH_ARGS passes options to bench/bench.py, e.g.
#   make bench BENCH_ARGS="--rounds 5 --duration 5"
#   make bench BENCH_ARGS="--port-base 7600 --no-scale"
#   make bench BENCH_ARGS="--no-peer --no-burst-1000"   (shorter: no Apache,
#                       bursts of 200 only)
# Ports: 7500-7540 by default (--port-base), 7550-7560 for the store rows
# (Redis plain, TLS, Sentinel; --no-store skips them).

BENCH_DEB  := wrk ruby ruby-sinatra thin python3 openssl \
              redis-server redis-sentinel redis-tools \
              apache2 libapache2-mod-auth-openidc libnginx-mod-http-echo
BENCH_ARGS ?=

.PHONY: bench bench-profile bench-callgrind

bench: deps-build module
	@util/apt-ensure $(BENCH_DEB)
	@python3 bench/bench.py --module $(MODULE) $(BENCH_ARGS)

bench-profile: deps-build module
	@util/apt-ensure $(BENCH_DEB) linux-perf
	@python3 bench/bench.py --module $(MODULE) --no-sinatra --duration 5 \
	    --profile cb,connect,proxy $(BENCH_ARGS)

bench-callgrind: deps-build module
	@util/apt-ensure $(BENCH_DEB) valgrind
	@python3 bench/bench.py --module $(MODULE) --no-sinatra --duration 5 \
	    --callgrind cb,proxy,connect,static,page_tls,page_guard_tls \
	    $(BENCH_ARGS)
