# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# libFuzzer harnesses (fuzz/): the state decoder, the callback's argument
# parser, the token endpoint's answer and /me's answer, and the zone's
# SipHash against OpenSSL's, each compiled with
# clang -fsanitize=fuzzer,address,undefined against nginx's headers and the
# stand-ins of fuzz/shim/ for the few core functions they call.
#
#   make fuzz         each harness for FUZZ_TIME seconds (60)
#   make fuzz-short   each for FUZZ_SHORT_TIME seconds (10), for CI
#   make fuzz-regress replay the committed seeds only
#
# The committed seeds are fuzz/corpus/NAME; runs grow fuzz/corpus-run/NAME
# (not committed).  Crashes go to build/fuzz/artifacts/; the make fails.
# build/fuzz/summary.txt gets one line per run: executions, rate, outcome.

FUZZ_TARGETS    := state args token identity siphash
FUZZ_TIME       ?= 60
FUZZ_SHORT_TIME ?= 10
FUZZ_CC         ?= clang
FUZZ_DIR        := $(BUILD)/fuzz
FUZZ_CFLAGS     := -g -O1 -fno-omit-frame-pointer \
                   -fsanitize=fuzzer,address,undefined \
                   -fno-sanitize-recover=undefined
FUZZ_INCS       := $(addprefix -I$(NGX_BUILD)/, src/core src/event \
                     src/event/modules src/os/unix objs src/http \
                     src/http/modules src/http/v2) \
                   -I$(CURDIR)/src -I$(CURDIR)/fuzz/shim
FUZZ_LIBS       := -lcrypto -lyajl
FUZZ_BINS       := $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))
FUZZ_DICT_state    :=
FUZZ_DICT_args     := -dict=fuzz/args.dict
FUZZ_DICT_token    := -dict=fuzz/json.dict
FUZZ_DICT_identity := -dict=fuzz/json.dict

.PHONY: fuzz fuzz-short fuzz-regress fuzz-build fuzz-deps fuzz-corpus

fuzz-deps:
	@util/apt-ensure clang libclang-rt-14-dev libssl-dev libyajl-dev

fuzz-build: fuzz-deps $(FUZZ_BINS)

# ngx_auto_config.h comes from configuring the nginx tree
$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c src/ngx_http_intercom_oauth_%.c \
                    fuzz/shim/ngx_shim.c fuzz/shim/ngx_shim.h \
                    $(wildcard src/*.h) $(NGX_BUILD)/objs/Makefile
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INCS) -o $@ fuzz/fuzz_$*.c \
	    fuzz/shim/ngx_shim.c src/ngx_http_intercom_oauth_$*.c $(FUZZ_EXTRA) \
	    $(FUZZ_LIBS)

# both parsers clean what they keep with the JSON helpers
$(FUZZ_DIR)/fuzz_identity: FUZZ_EXTRA := src/ngx_http_intercom_oauth_json.c
$(FUZZ_DIR)/fuzz_identity: src/ngx_http_intercom_oauth_json.c
$(FUZZ_DIR)/fuzz_token: FUZZ_EXTRA := src/ngx_http_intercom_oauth_json.c
$(FUZZ_DIR)/fuzz_token: src/ngx_http_intercom_oauth_json.c

# states take their nonces from the per-process random block
$(FUZZ_DIR)/fuzz_state: FUZZ_EXTRA := src/ngx_http_intercom_oauth_random.c
$(FUZZ_DIR)/fuzz_state: src/ngx_http_intercom_oauth_random.c

# $(1): seconds per harness
define fuzz_run
	@mkdir -p $(FUZZ_DIR)/artifacts
	@set -e; for t in $(FUZZ_TARGETS); do \
	    case $$t in args) dict="$(FUZZ_DICT_args)";; \
	        token) dict="$(FUZZ_DICT_token)";; \
	        identity) dict="$(FUZZ_DICT_identity)";; *) dict=;; esac; \
	    mkdir -p fuzz/corpus-run/$$t; \
	    log=$(FUZZ_DIR)/fuzz_$$t.log; \
	    echo "fuzz_$$t: $(1) s"; \
	    rc=0; \
	    $(FUZZ_DIR)/fuzz_$$t fuzz/corpus-run/$$t fuzz/corpus/$$t $$dict \
	        -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 \
	        -max_len=8192 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	        > $$log 2>&1 || rc=$$?; \
	    execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	    secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $$log); \
	    cov=$$(grep -o 'cov: [0-9]*' $$log | tail -1); \
	    line="$$(date -u +%FT%TZ) fuzz_$$t: $${execs:-?} executions in $${secs:-?} s ($$(( $${execs:-0} / ($${secs:-1} > 0 ? $${secs:-1} : 1) ))/s), $$cov, corpus $$(ls fuzz/corpus-run/$$t | wc -l), exit $$rc"; \
	    echo "  $$line"; echo "$$line" >> $(FUZZ_DIR)/summary.txt; \
	    if [ $$rc -ne 0 ]; then grep -A30 -m1 'ERROR\|property failed\|runtime error' $$log || tail -40 $$log; \
	        echo "fuzz_$$t found a problem: $$log, $(FUZZ_DIR)/artifacts/"; exit 1; fi; \
	done
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_TIME))

fuzz-short: fuzz-build
	$(call fuzz_run,$(FUZZ_SHORT_TIME))

# the seeds alone, every one once (a regression check, no fuzzing)
fuzz-regress: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_DIR)/fuzz_$$t fuzz/corpus/$$t/* > $(FUZZ_DIR)/fuzz_$$t.regress.log 2>&1 \
	        || { tail -30 $(FUZZ_DIR)/fuzz_$$t.regress.log; exit 1; }; \
	    echo "fuzz_$$t: $$(ls fuzz/corpus/$$t | wc -l) seeds replayed"; \
	done

# folds what runs found into the committed seeds: the smallest set of inputs
# (at most 1 KiB each) that keeps the coverage, as fuzz/corpus/NAME/min-*
fuzz-corpus: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    rm -rf $(FUZZ_DIR)/merge-$$t; mkdir -p $(FUZZ_DIR)/merge-$$t fuzz/corpus-run/$$t; \
	    $(FUZZ_DIR)/fuzz_$$t -merge=1 -max_len=1024 $(FUZZ_DIR)/merge-$$t \
	        fuzz/corpus/$$t fuzz/corpus-run/$$t > $(FUZZ_DIR)/merge-$$t.log 2>&1; \
	    rm -f fuzz/corpus/$$t/min-*; \
	    for f in $(FUZZ_DIR)/merge-$$t/*; do \
	        cp $$f fuzz/corpus/$$t/min-$$(basename $$f | cut -c1-12); done; \
	    echo "fuzz/corpus/$$t: $$(ls fuzz/corpus/$$t | wc -l) files"; \
	done
