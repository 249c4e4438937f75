# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Hostile input at the callback, a POST's body: chunked over 8k and
# within the limits, no or another Content-Type, arguments in the query
# string of a POST, a form over the 4k of arguments, binary bytes, a
# declared body of 2 MiB.
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

=== TEST 1: POST: a chunked body over 8k
--- raw_request eval
my $body = "code=abc&state=" . make_state() . "&pad=" . ("x" x 9000);
"POST /callback HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. session_cookie() . "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body)
--- error_code: 413
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: body is larger than 8192 bytes



=== TEST 2: POST: a chunked form within the limits is accepted
--- raw_request eval
my $body = "code=abc&state=" . make_state();
"POST /callback HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. session_cookie() . "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n", length($body) - 5, substr($body, 0, -5))
. sprintf("5\r\n%s\r\n0\r\n\r\n", substr($body, -5))
--- error_code: 302
--- module_log eval
qr/\Aintercom oauth: access token stored \(\d+ ms exchange\)\nintercom oauth: token of admin 991267 in workspace abc12def \(email verified\)\n\z/



=== TEST 3: POST: no Content-Type
--- request eval
"POST /callback\ncode=abc&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: a POST must be application/x-www-form-urlencoded



=== TEST 4: POST: multipart/form-data
--- request eval
"POST /callback\n--b\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\nabc\r\n--b--\r\n"
--- more_headers eval
session_cookie() . "\nContent-Type: multipart/form-data; boundary=b"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: a POST must be application/x-www-form-urlencoded



=== TEST 5: POST: the arguments in the query string of a POST are not read
--- request eval
"POST " . (callback_request(code => 'abc', state => make_state()) =~ s/^GET //r) . "\n"
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "code"



=== TEST 6: POST: a form of 5000 bytes (within 8k, over the 4k of arguments)
--- request eval
"POST /callback\n" . ::args_of_length(5000)
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: arguments of 5000 bytes are longer than 4096



=== TEST 7: POST: binary bytes in the form
--- request eval
"POST /callback\ncode=\x00\x01\xff&state=" . make_state()
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" of 3 bytes is too long or not printable ASCII



=== TEST 8: POST: a declared body of 2 MiB is refused before it is read
--- config
location = /callback {
    intercom_oauth_callback;
    # nginx waits lingering_timeout (5s) for the rest of the body it
    # discards before it closes; the test client reads until the close
    lingering_timeout 100ms;
}
--- request eval
"POST /callback\n" . ("x" x 100)
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 2097152"
--- error_code: 413
--- module_log
intercom oauth: callback refused: body of 2097152 bytes is larger than 8192
