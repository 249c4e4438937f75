# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The token exchange: every way the token endpoint can answer, and fail.

use lib 't/lib';
use IntercomOAuthTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();

# A failed callback's error_page shows, in the same request, the error
# code and that no token was stored (error_page without "=" keeps the
# status).  Test::Nginx checks error_log per request of a block, so the
# failure blocks are single requests.
our $Locations = <<'_EOC_';
location = /callback { intercom_oauth_callback; error_page 502 504 /after; }
location = /after {
    return 200 "$intercom_oauth_error [$intercom_oauth_connected][$intercom_access_token]\n";
}
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
_EOC_

# every block points the token URL at one of the stand-in's behaviours
# ("--- behave: NAME", t/lib/IntercomOAuthTest.pm)
callback_blocks($Locations);

run_tests();

__DATA__

=== TEST 1: "access_token" and "token" both present
--- request eval
[callback_request(code => 'abc', state => make_state()), "GET /token"]
--- behave: ok
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[[A-Za-z0-9+\/=_-]{20,}\]$/]



=== TEST 2: only "token" (fallback)
--- request eval
[callback_request(code => 'abc', state => make_state()), "GET /token"]
--- behave: token-only
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[[A-Za-z0-9+\/=_-]{20,}\]$/]



=== TEST 3: only "access_token"
--- request eval
[callback_request(code => 'abc', state => make_state()), "GET /token"]
--- behave: access-only
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[[A-Za-z0-9+\/=_-]{20,}\]$/]



=== TEST 4: 401 "Unauthorized Code" in Intercom's error.list
--- behave: 401
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log eval
$ENGINE eq 'libcurl'
? qr/intercom oauth: token exchange with "https:\/\/127\.0\.0\.1:\d+\/behave\/401\/auth\/eagle\/token" failed: status 401 \(unauthorized: Unauthorized Code\)/
: qr/intercom oauth: token exchange with "\/_intercom_sr\/https\/127\.0\.0\.1\/127\.0\.0\.1\/\d+\/behave\/401\/auth\/eagle\/token" failed: status 401 \(unauthorized: Unauthorized Code\)/



=== TEST 5: 500
--- behave: 500
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log
failed: status 500



=== TEST 6: HTML with 200
--- behave: html
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log
failed: the response is not a JSON object



=== TEST 7: malformed JSON
--- behave: malformed
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log
failed: the response is not a JSON object



=== TEST 8: no token in the response
--- behave: notoken
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log
failed: the response has no access token



=== TEST 9: empty tokens
--- behave: empty-token
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log
failed: the response has no access token



=== TEST 10: a token AND a non-empty "errors" array is a failure
--- behave: errors
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log
failed: the response is an error list



=== TEST 11: a redirect is not followed
--- behave: redirect
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log
failed: status 302



=== TEST 12: a body over the cap (64 KiB)
--- behave: big
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log
failed: response larger than 65536 bytes



=== TEST 13: the endpoint answers after the timeout: 504
--- behave: slow-3000
--- timeout_directive: intercom_oauth_timeout 500ms;
--- error_code: 504
--- response_body
exchange_timeout [0][]
--- error_log eval
qr/token exchange with "[^"]+" timed out after \d+ ms/



=== TEST 14: connection refused
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url https://127.0.0.1:1/auth/eagle/token;}r
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log eval
# the subrequest engine cannot tell TCP from TLS: nginx's line says which
$ENGINE eq 'libcurl'
? "failed: Couldn't connect to server"
: [qr/connect\(\) failed \(111: Connection refused\)/,
   qr/token exchange with "[^"]+" failed: no connection to the location's upstream 127\.0\.0\.1:1: TCP or TLS failed \(nginx's line above says why\)/]



=== TEST 15: a certificate from a CA the module does not trust
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_ca_file\s+\S+;}{intercom_oauth_ca_file $ENV{TEST_NGINX_CERT_DIR}/other-ca.crt;}r
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log eval
$ENGINE eq 'libcurl'
? qr/token exchange with "[^"]+" failed: (SSL peer certificate or SSH remote key was not OK|Peer certificate cannot be authenticated)/
: [qr/upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL handshaking to upstream/,
   qr/token exchange with "[^"]+" failed: no connection to the location's upstream 127\.0\.0\.1:\d+: TCP or TLS failed/]



=== TEST 16: the system CA store does not trust the stand-in
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_ca_file\s+\S+;\n}{}r
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log eval
$ENGINE eq 'libcurl'
? "SSL peer certificate or SSH remote key was not OK"
: [qr/upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL handshaking to upstream/,
   qr/token exchange with "[^"]+" failed: no connection to the location's upstream 127\.0\.0\.1:\d+: TCP or TLS failed/]



=== TEST 17: the exchange sends what Intercom expects, with keep-alive reuse
--- behave: echo
--- config
location = /callback { intercom_oauth_callback; }
location = /seen {
    proxy_pass https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/_standin/requests;
    proxy_ssl_trusted_certificate $TEST_NGINX_CA_FILE;
    proxy_ssl_verify on;
    proxy_ssl_name localhost;
}
--- request eval
[callback_request(code => 'ka-1', state => make_state()),
 callback_request(code => 'ka-2', state => make_state()),
 "GET /seen"]
--- error_code eval
[302, 302, 200]
--- response_body_like eval
[qr/302/, qr/302/,
 qr/"Content-Type":"application\/x-www-form-urlencoded".*"body":"code=ka-1&client_id=test-client&client_secret=test-secret","body_length":\d+,"connection_id":(\d+),.*"body":"code=ka-2&[^"]*","body_length":\d+,"connection_id":\1,/s]
