# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Hostile input at the callback, its arguments: names (case, NUL,
# separators), repeated and empty values, the code's encoding and length,
# the length of the query string and of the request line, and Intercom's
# "error" (unprintable, or forging a log line).
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

=== TEST 1: arguments: a code with an empty state
--- request eval
"GET /callback?code=abc&state="
--- error_code: 400
--- response_body
invalid_request [0][]
--- response_headers
Cache-Control: no-store
--- module_log
intercom oauth: callback refused: no "state"



=== TEST 2: arguments: "code" without "=" is an empty code
--- request eval
"GET /callback?code&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "code"



=== TEST 3: arguments: a repeated error
--- request eval
"GET /callback?error=access_denied&error=x&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "error" is repeated



=== TEST 4: arguments: a code repeated with the same value is refused too
--- request eval
"GET /callback?code=abc&state=" . make_state() . "&code=abc"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" is repeated



=== TEST 5: arguments: a code repeated with an empty second value
--- request eval
"GET /callback?code=abc&code=&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" is repeated



=== TEST 6: arguments: names are case-sensitive ("CODE" is not "code")
--- request eval
"GET /callback?CODE=abc&STATE=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "code"



=== TEST 7: arguments: ";" is not a separator (the state is then missing)
--- request eval
"GET /callback?code=abc;state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "state"



=== TEST 8: arguments: a NUL inside a name does not make it "code"
--- request eval
"GET /callback?co%00de=abc&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "code"



=== TEST 9: arguments: a code percent-encoded twice is decoded once, and sent as such
--- behave: echo
--- request eval
[callback_request(code => 'ab%2Bc', state => make_state()), "GET /seen"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/"body":"code=ab%252Bc&client_id=test-client&client_secret=test-secret"/]



=== TEST 10: arguments: raw (unencoded) bytes above 0x7f in the code
--- request eval
"GET /callback?code=\xc3\xa9t\xc3\xa9&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" of 5 bytes is too long or not printable ASCII



=== TEST 11: limits: a code of exactly 512 bytes is accepted
--- request eval
[callback_request(code => 'c' x 512, state => make_state()), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 12: limits: a code of 513 bytes is refused
--- request eval
callback_request(code => 'c' x 513, state => make_state())
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" of 513 bytes is too long or not printable ASCII



=== TEST 13: limits: 512 bytes after decoding, 1536 before: accepted
--- request eval
["GET /callback?code=" . ('%41' x 512) . "&state=" . make_state(), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 14: limits: arguments of exactly 4096 bytes are looked at
--- request eval
["GET /callback?" . ::args_of_length(4096), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 15: limits: arguments of 4097 bytes are not
--- request eval
"GET /callback?" . ::args_of_length(4097)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: arguments of 4097 bytes are longer than 4096



=== TEST 16: limits: a request line over nginx's buffers is refused by nginx itself (414)
nginx's own 414 page, whatever its wording: "414 Request-URI Too Large" in
nginx, "414 URI Too Long" in freenginx.
--- request eval
"GET /callback?code=abc&state=" . make_state() . "&pad=" . ('x' x 9000)
--- error_code: 414
--- response_body_like: ^<html>\r?\n<head><title>414 [A-Za-z -]+</title></head>
--- module_log



=== TEST 17: limits: a huge "error" is logged as unprintable, never echoed
--- request eval
"GET /callback?error=" . ('e' x 2000) . "&state=" . make_state()
--- error_code: 403
--- response_body
access_denied [0][]
--- module_log
intercom oauth: authorization not granted: Intercom sent error "(unprintable)"



=== TEST 18: log injection: a newline in "error" never reaches the log
--- log_level: info
--- request eval
"GET /callback?error=x%0A2020/01/01%2000:00:00%20[emerg]%20forged&state=" . make_state()
--- error_code: 403
--- response_body
access_denied [0][]
--- module_log
intercom oauth: authorization not granted: Intercom sent error "(unprintable)"
--- no_error_log
forged
