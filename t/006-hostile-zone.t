# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The zone under a flood: full of tokens it evicts the least recently
# used ones (a token that is read keeps its place), and used states that
# fill their half of it make the callback answer 503 zone_full, never 500.
#
# t/lib/IntercomOAuthTest/Hostile.pm: what the t/006-hostile-*.t files
# share, and how a block shows that nothing was stored.

use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::Hostile;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
hostile_blocks();
run_tests();

__DATA__

=== TEST 1: zone: a zone full of tokens evicts the least recently used ones, and new callbacks still succeed
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_zone\s+\S+;}{intercom_oauth_zone intercom:64k;}r
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_key $arg_u; }
location = /token { intercom_oauth_key $arg_u; return 200 "[$intercom_oauth_connected]"; }
location = /status { intercom_oauth_status; }
--- request eval
[(map { callback_request(code => "z$_", state => make_state()) . "&u=user-$_" } 1 .. 200),
 "GET /token?u=user-1", "GET /token?u=user-200", "GET /status"]
--- error_code eval
[(302) x 200, 200, 200, 200]
--- response_body_like eval
[(qr/302 Found/) x 200, qr/^\[0\]$/, qr/^\[1\]$/, qr/"evicted":[1-9]/]
--- no_error_log
[error]



=== TEST 2: zone: used states fill their half of the zone: 503 zone_full, never a 500
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_zone\s+\S+;}{intercom_oauth_zone intercom:32k;}r
             =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url https://127.0.0.1:1/auth/eagle/token;}r
--- config
location = /callback { intercom_oauth_callback; }
location = /status { intercom_oauth_status; }
--- more_headers eval: session_cookie()
--- request eval
[(map { callback_request(code => "s$_", state => make_state()) } 1 .. 200), "GET /status"]
--- error_code_like eval
[(qr/^50[23]$/) x 199, qr/^503$/, qr/^200$/]
--- response_body_like eval
[(qr/<code>(exchange_failed|zone_full)<\/code>/) x 200, qr/"zone_full":[1-9]/]



=== TEST 3: zone: a token that is read keeps its place while a flood of unread ones is evicted
Eviction approximates least-recently-used with a second chance (CLOCK): a
token read since it was queued goes back to the head.  user-keep is stored
first, so it is the oldest, and read after each of the 200 callbacks that
follow (a 64k zone holds about 175 tokens beside their used states, 64
bytes each since 0.2.0; 150 callbacks were enough when a used state took
128); it must outlive user-1, stored after it and never read.
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_zone\s+\S+;}{intercom_oauth_zone intercom:64k;}r
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_key $arg_u; }
location = /token { intercom_oauth_key $arg_u; return 200 "[$intercom_oauth_connected]"; }
location = /status { intercom_oauth_status; }
--- request eval
[callback_request(code => "keep", state => make_state()) . "&u=user-keep",
 (map { (callback_request(code => "z$_", state => make_state()) . "&u=user-$_",
         "GET /token?u=user-keep") } 1 .. 200),
 "GET /token?u=user-1", "GET /token?u=user-200", "GET /status"]
--- error_code eval
[302, (302, 200) x 200, 200, 200, 200]
--- response_body_like eval
[qr/302 Found/, (qr/302 Found/, qr/^\[1\]$/) x 200, qr/^\[0\]$/, qr/^\[1\]$/,
 qr/"evicted":[1-9]/]
--- no_error_log
[error]
