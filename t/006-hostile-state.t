# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Hostile input at the callback, the state's spelling: percent-encoded
# once or twice, NUL and UTF-8 inside it or after it, padding, one
# character cut off, standard base64 instead of base64url, 1024
# characters.
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

=== TEST 1: arguments: a state percent-encoded once is accepted
--- request eval
["GET /callback?code=abc&state=" . ::encode_all(make_state(), 1), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 2: arguments: a state percent-encoded twice is malformed
--- request eval
"GET /callback?code=abc&state=" . ::encode_all(make_state(), 2)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 3: arguments: a NUL in the state
--- request eval
my $s = make_state();
"GET /callback?code=abc&state=" . substr($s, 0, 10) . "%00" . substr($s, 10)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 4: arguments: a valid state with a NUL after it
--- request eval
"GET /callback?code=abc&state=" . make_state() . "%00"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 5: arguments: UTF-8 in the state
--- request eval
"GET /callback?code=abc&state=%C3%A9" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 6: arguments: a state with base64 padding after it
--- request eval
"GET /callback?code=abc&state=" . make_state() . "%3D%3D"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 7: arguments: a state with one character cut off
--- request eval
"GET /callback?code=abc&state=" . substr(make_state(), 0, -1)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 8: arguments: a state in standard base64 ("+" and "/") is not base64url
--- request eval
my $s = make_state();
$s =~ tr{-_}{+/};
$s .= "+/" unless $s =~ m{[+/]};
"GET /callback?code=abc&state=" . ::encode_all($s, 1)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 9: limits: a state of exactly 1024 characters is looked at (and malformed)
--- request eval
"GET /callback?code=abc&state=" . ('A' x 1024)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed
