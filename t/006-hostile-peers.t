# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Misbehaving peers: the token endpoint answers chunked garbage, closes
# mid-response, drips slower than the timeout, sends an error list with
# 200, presents a certificate from another CA, for another host or
# expired, speaks plain HTTP where TLS is expected, or sends a token with
# CR LF, over 2k, nested, beside an error list, a JSON object followed by
# garbage, 204, a 301; log lines forged through the endpoint's error
# message and through /me's admin id.
#
# t/lib/IntercomOAuthTest/Hostile.pm: what the t/006-hostile-*.t files
# share, and how a block shows that nothing was stored.
#
# The certificate blocks need token endpoints that present a certificate
# from another CA, for another host, or expired: this file starts a
# stand-in for each (t/standin/mkcerts.sh makes the certificates), on
# ports the system picks.

use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::Hostile;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
hostile_blocks();

# $TEST_NGINX_OTHER_PORT, $TEST_NGINX_WRONGHOST_PORT, $TEST_NGINX_EXPIRED_PORT
for my $cert (qw(other wronghost expired)) {
    (undef, $ENV{'TEST_NGINX_' . uc($cert) . '_PORT'}) = standin(cert => $cert);
}

run_tests();

__DATA__

=== TEST 1: token endpoint: chunked garbage
--- behave: chunked-garbage
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+\/behave\/chunked-garbage\/[^"]+" failed: (Illegal or missing hexadecimal sequence in chunked-encoding|Failure when receiving data from the peer|Weird server reply)[^\n]*\n\z/



=== TEST 2: token endpoint: closes the connection mid-response
--- behave: close
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+\/behave\/close\/[^"]+" failed: (Transferred a partial file|Failure when receiving data from the peer)[^\n]*\n\z/



=== TEST 3: token endpoint: drips one byte a second, slower than the timeout
--- behave: drip
--- timeout_directive: intercom_oauth_timeout 2s;
--- error_code: 504
--- response_body
exchange_timeout [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+\/behave\/drip\/[^"]+" timed out after \d+ ms[^\n]*\n\z/



=== TEST 4: token endpoint: an error list with status 200
--- behave: error-list-200
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response is an error list[^\n]*\n\z/



=== TEST 5: token endpoint: a certificate from a CA nobody trusts
--- token_url: https://localhost:$TEST_NGINX_OTHER_PORT/auth/eagle/token
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
$ENGINE eq 'libcurl'
? qr/\Aintercom oauth: token exchange with "https:\/\/localhost:\d+\/auth\/eagle\/token" failed: (SSL peer certificate or SSH remote key was not OK|Peer certificate cannot be authenticated|SSL certificate problem)[^\n]*\n\z/
: qr/\Aintercom oauth: token exchange with "\/_intercom_sr\/https\/127\.0\.0\.1\/localhost\/\d+\/auth\/eagle\/token" failed: no connection to the location's upstream 127\.0\.0\.1:\d+: TCP or TLS failed \(nginx's line above says why\)\n\z/
--- error_log eval
# the subrequest engine cannot tell TCP from TLS: nginx's line says why
$ENGINE eq 'libcurl' ? qr/token exchange/ : qr/upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL handshaking to upstream/



=== TEST 6: token endpoint: a certificate for another host name
--- token_url: https://localhost:$TEST_NGINX_WRONGHOST_PORT/auth/eagle/token
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
$ENGINE eq 'libcurl'
? qr/\Aintercom oauth: token exchange with "https:\/\/localhost:\d+\/auth\/eagle\/token" failed: (SSL peer certificate or SSH remote key was not OK|Peer certificate cannot be authenticated|SSL certificate problem)[^\n]*\n\z/
: qr/\Aintercom oauth: token exchange with "\/_intercom_sr\/https\/127\.0\.0\.1\/localhost\/\d+\/auth\/eagle\/token" failed: no connection to the location's upstream 127\.0\.0\.1:\d+: TCP or TLS failed \(nginx's line above says why\)\n\z/
--- error_log eval
# the subrequest engine cannot tell TCP from TLS: nginx's line says why
$ENGINE eq 'libcurl' ? qr/token exchange/ : qr/upstream SSL certificate does not match "localhost" while SSL handshaking to upstream/



=== TEST 7: token endpoint: an expired certificate
--- token_url: https://localhost:$TEST_NGINX_EXPIRED_PORT/auth/eagle/token
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
$ENGINE eq 'libcurl'
? qr/\Aintercom oauth: token exchange with "https:\/\/localhost:\d+\/auth\/eagle\/token" failed: (SSL peer certificate or SSH remote key was not OK|Peer certificate cannot be authenticated|SSL certificate problem)[^\n]*\n\z/
: qr/\Aintercom oauth: token exchange with "\/_intercom_sr\/https\/127\.0\.0\.1\/localhost\/\d+\/auth\/eagle\/token" failed: no connection to the location's upstream 127\.0\.0\.1:\d+: TCP or TLS failed \(nginx's line above says why\)\n\z/
--- error_log eval
# the subrequest engine cannot tell TCP from TLS: nginx's line says why
$ENGINE eq 'libcurl' ? qr/token exchange/ : qr/upstream SSL certificate verify error: \(10:certificate has expired\) while SSL handshaking to upstream/



=== TEST 8: token endpoint: plain HTTP where TLS is expected
--- token_url: https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"access_token\":\"plain\"}"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: [^\n]*\n\z/



=== TEST 9: token endpoint: a token carrying CR LF (header injection) is refused (and a plain-http token URL draws a warning)
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"access_token":"tok\r\nX-Injected: 1"}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the access token has characters outside printable ASCII[^\n]*\n\z/
--- error_log eval
qr/"intercom_oauth_token_url" "http:\/\/127\.0\.0\.1:\d+\/auth\/eagle\/token" is not https: the client secret and the authorization code travel in the clear/



=== TEST 10: token endpoint: a token over 2k is refused
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"access_token":"' . ('t' x 2049) . '"}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the access token is too long[^\n]*\n\z/



=== TEST 11: token endpoint: a JSON object followed by garbage
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"access_token":"tok"} {"x":1}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response is not a JSON object[^\n]*\n\z/



=== TEST 12: token endpoint: 204 with no body
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response is not a JSON object[^\n]*\n\z/



=== TEST 13: token endpoint: a 301 to a working endpoint is not followed
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"HTTP/1.1 301 Moved\r\nLocation: https://127.0.0.1:$ENV{TEST_NGINX_STANDIN_PORT}/behave/ok/auth/eagle/token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: status 301[^\n]*\n\z/



=== TEST 14: token endpoint: a token inside a nested object does not count
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"data":{"access_token":"nested"},"list":[{"token":"x"}]}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response has no access token[^\n]*\n\z/



=== TEST 15: token endpoint: "type":"error.list" beside a token
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"access_token":"tok","type":"error.list"}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response is an error list[^\n]*\n\z/



=== TEST 16: log injection: a newline in the token endpoint's error message cannot forge a log line
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"type":"error.list","errors":[{"code":"x","message":"m\n2020/01/01 00:00:00 [warn] 1#1: forged"}]}';
"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: status 401[^\n]*\n\z/
--- no_error_log eval
qr/^2020\/01\/01/



=== TEST 17: log injection: a newline in /me's admin id cannot forge a log line
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_api_url\s+\S+;}{intercom_oauth_api_url http://127.0.0.1:\$TEST_NGINX_RAND_PORT_1;}r
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"type":"admin","id":"1\n2020/01/01 00:00:00 [warn] 1#1: forged","email":"a@b","app":{"id_code":"w"}}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 302
--- error_log eval
qr/intercom oauth: token of admin 1/
--- no_error_log eval
qr/^2020\/01\/01/



=== TEST 18: log injection: an error message with a newline in a body that is not valid JSON to the end
The message is read before the parser meets the syntax error; the token
parser once returned before it replaced control characters, and the
callback logged the message all the same (found by fuzz/fuzz_token.c; its
input is the seed fuzz/corpus/token/regress-error-code-clean-after-syntax-error).
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"type":"error.list","errors":[{"code":"x","message":"m\n2020/01/01 00:00:00 [warn] 1#1: forged"}] garbage';
"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log eval
qr/token exchange with "[^"]+" failed: status 401/
--- no_error_log eval
qr/^2020\/01\/01/
