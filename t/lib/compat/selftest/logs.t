# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# error.log checks, must_die, skip_nginx, blocks without a config.
use Test::Nginx::Socket 'no_plan';

plan skip_all => 'compat runner not loaded'
    unless $INC{'Test/Nginx/Socket.pm'} =~ m{compat};

no_shuffle();
run_tests();

__DATA__

=== TEST 1: error_log and no_error_log, one pattern per line
--- config
    location = /t {
        return 404;
    }
--- request
GET /t
--- error_code: 404
--- error_log
http finalize request: 404
[debug]
--- no_error_log
[error]
[crit]



=== TEST 2: error_log eval: qr// and arrays of strings and qr//
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- error_log eval
[qr/http request line: "GET \/t HTTP\/1\.1"/, "http uri: \"/t\""]
--- no_error_log eval
qr/\[(?:error|alert)\]/



=== TEST 3: a block without config reuses the running nginx
--- request
GET /t?second
--- response_body
ok
--- error_log
http args: "second"
--- no_error_log
[error]



=== TEST 4: grep_error_log
--- config
    location = /t { return 200; }
--- request
GET /t?a=1
--- grep_error_log eval
qr/http args: "[^"]*"/
--- grep_error_log_out
http args: "a=1"



=== TEST 5: must_die with an unknown directive, checked in the log
--- config
    location = /t { no_such_directive on; }
--- must_die
--- error_log
unknown directive "no_such_directive"
[emerg]
--- no_error_log
[alert]



=== TEST 6: must_die with the expected exit code
--- config
    location = /t { return 200 }
--- must_die: 1
--- error_log eval
qr/\[emerg\].*unexpected "\}"/



=== TEST 7: main_config and post_main_config go to the main context
--- main_config
    env TEST_NGINX_COMPAT_MAIN;
--- post_main_config
    worker_rlimit_nofile 1024;
--- config
    location = /t { return 200 "main\n"; }
--- request
GET /t
--- response_body
main



=== TEST 8: skipped when the nginx version matches
--- skip_nginx: 2: > 1.0.0
--- config
    location = /t { return 500; }
--- request
GET /t
--- response_body
never



=== TEST 9: not skipped when it does not
--- skip_nginx: 2: < 1.0.0
--- config
    location = /t { return 200 "run\n"; }
--- request
GET /t
--- response_body
run



=== TEST 10: log_level per block, wait before the log checks
--- skip_eval: 2: $ENV{TEST_NGINX_USE_HUP}
--- log_level: info
--- config
    location = /t { return 200; }
--- request
GET /t
--- wait: 0.1
--- no_error_log
[debug]



=== TEST 11: shutdown_error_log is checked when nginx stops
--- config
    location = /t { return 200; }
--- request
GET /t
--- shutdown_error_log
(SIGQUIT) received
--- no_shutdown_error_log
[alert]



=== TEST 12: the next block restarts nginx
--- config
    location = /t { return 204; }
--- request
GET /t
--- error_code: 204


=== TEST 13: no_access_log alone: a pattern that no line has passes
--- config
    location = /t { return 200; }
--- request
GET /t?visible=1
--- no_access_log
GET /t?hidden=1



=== TEST 14: access_log alone
--- config
    location = /t { return 200; }
--- request
GET /t?visible=1
--- access_log
GET /t?visible=1 HTTP/1.1



=== TEST 15: no_shutdown_error_log alone
--- config
    location = /t { return 200; }
--- request
GET /t
--- no_shutdown_error_log
[alert]
