# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# After the flow: identity (/me), disconnect, the uninstall webhook,
# intercom_oauth_require, regions and the status handler.

use lib 't/lib';
use IntercomOAuthTest;
use Digest::SHA qw(hmac_sha256_hex);
use Test::Nginx::Socket 'no_plan';

no_shuffle();

# Test::Nginx checks error_log after each request of a block, each time on
# the lines logged since the previous check: blocks with several requests
# assert log lines only where every request logs them.

our $Locations = <<'_EOC_' . $SEEN_LOCATION;
location = /callback { intercom_oauth_callback; }
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
location = /who {
    return 200 "$intercom_oauth_connected|$intercom_workspace_id|$intercom_admin_id|$intercom_admin_email|$intercom_admin_email_verified\n";
}
location = /disconnect { intercom_oauth_disconnect /bye; }
location = /webhook { intercom_oauth_uninstall_webhook; }
location = /status { intercom_oauth_status; }
# the access phase comes after rewrite: "return" would skip the guard
location = /private { intercom_oauth_require; }
location = /private2 { intercom_oauth_require /connect; }
_EOC_

block_defaults(http_config => $HTTP_CONFIG, config => $Locations);

our $Uninstall = '{"app_id":"abc12def"}';
our $UninstallSig = hmac_sha256_hex($Uninstall, 'test-secret');

run_tests();

__DATA__

=== TEST 1: identity from /me is kept beside the token
--- request eval
[callback_request(code => 'id-1', state => make_state()), "GET /who"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^1\|abc12def\|991267\|ada\@example\.com\|1$/]



=== TEST 2: the identity fetch is logged
--- request eval
callback_request(code => 'id-2', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 302
--- error_log
intercom oauth: token of admin 991267 in workspace abc12def (email verified)



=== TEST 3: an unverified email is never presented as verified
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_api_url\s+(\S+);}{intercom_oauth_api_url $1/behave/unverified;}r
--- request eval
[callback_request(code => 'id-3', state => make_state()), "GET /who"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^1\|abc12def\|991267\|ada\@example\.com\|0$/]



=== TEST 4: a failed /me leaves the token stored, without an identity
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_api_url\s+(\S+);}{intercom_oauth_api_url $1/behave/500;}r
--- request eval
[callback_request(code => 'id-4', state => make_state()), "GET /who"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^1\|\|\|\|0$/]



=== TEST 5: ... and says so in the log
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_api_url\s+(\S+);}{intercom_oauth_api_url $1/behave/500;}r
--- request eval
callback_request(code => 'id-5', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 302
--- error_log eval
$ENGINE eq 'libcurl'
? qr{intercom oauth: /me at "https://127\.0\.0\.1:\d+/behave/500" failed: status not 200 \(status 500\); the token is stored without an identity}
: qr{intercom oauth: /me at "/_intercom_sr/https/127\.0\.0\.1/127\.0\.0\.1/\d+/behave/500" failed: status not 200 \(status 500\); the token is stored without an identity}



=== TEST 6: intercom_oauth_fetch_identity off: no /me at all
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_fetch_identity off;\n"
--- request eval
[callback_request(code => 'id-6', state => make_state()), "GET /who"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^1\|\|\|\|0$/]



=== TEST 7: disconnect: token deleted, revoked at Intercom with that token, 303
--- request eval
[callback_request(code => 'dc-1', state => make_state()),
 "POST /disconnect", "GET /token", "GET /seen"]
--- more_headers eval
session_cookie() . "\nOrigin: http://localhost"
--- error_code eval
[302, 303, 200, 200]
--- response_headers_like eval
["", "Location: http://localhost(:\\d+)?/bye\nCache-Control: no-store", "", ""]
--- response_body_like eval
[qr/302/, qr/303/, qr/^\[0\]\[\]$/,
 qr#"method":"POST","path":"/auth/uninstall","headers":\{[^}]*"Authorization":"Bearer dG9rO[^"]+"#]



=== TEST 8: disconnect from another site is refused
--- request
POST /disconnect
--- more_headers eval
session_cookie() . "\nOrigin: https://evil.example"
--- error_code: 403
--- error_log
intercom oauth: disconnect refused: Origin names another site



=== TEST 9: disconnect with neither Origin nor Referer is refused
--- request
POST /disconnect
--- more_headers eval: session_cookie()
--- error_code: 403
--- error_log
intercom oauth: disconnect refused: neither Origin nor Referer says the request comes from this site



=== TEST 10: disconnect with a same-site Referer, and no token: 303 at once
--- request
POST /disconnect
--- more_headers eval
session_cookie() . "\nReferer: https://localhost/settings"
--- error_code: 303
--- error_log
intercom oauth: disconnect: this key has no token: nothing deleted, nothing sent to Intercom



=== TEST 11: disconnect by GET is not allowed
--- request
GET /disconnect
--- more_headers eval
session_cookie() . "\nOrigin: http://localhost"
--- error_code: 405



=== TEST 12: Intercom unreachable: the token is deleted here all the same
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_revoke_url\s+\S+;}{intercom_oauth_revoke_url https://127.0.0.1:1/auth/uninstall;}r
--- request eval
[callback_request(code => 'dc-2', state => make_state()),
 "POST /disconnect", "GET /token", "GET /status"]
--- more_headers eval
session_cookie() . "\nOrigin: http://localhost"
--- error_code eval
[302, 303, 200, 200]
--- response_body_like eval
[qr/302/, qr/303/, qr/^\[0\]\[\]$/,
 qr/"disconnects":\{"total":1,"revoked":0,"revoke_failed":1\}/]



=== TEST 13: the uninstall webhook deletes the workspace's tokens (once Intercom refuses them: /me answers 401)
--- config eval
$::Locations =~ s~location = /webhook \{[^\n]*\}~location = /webhook { intercom_oauth_uninstall_webhook; intercom_oauth_api_url https://127.0.0.1:\$TEST_NGINX_STANDIN_PORT/behave/401; }~r
--- request eval
[callback_request(code => 'wh-1', state => make_state()),
 "POST /webhook\n$::Uninstall", "GET /token"]
--- more_headers eval
session_cookie() . "\nContent-Type: application/json\nX-Body-Signature: $::UninstallSig"
--- error_code eval
[302, 200, 200]
--- response_headers_like eval
["", "Content-Type: application/json", ""]
--- response_body_like eval
[qr/302/, qr/^\{"deleted":1\}$/, qr/^\[0\]\[\]$/]



=== TEST 14: an unsigned webhook is refused, and the log names the header Intercom signs with
--- request eval
"POST /webhook\n$::Uninstall"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body
{"error":"bad_signature"}
--- error_log
intercom oauth: uninstall webhook refused: no X-Body-Signature (Intercom signs the uninstall notification with it: HMAC-SHA256 of the body, keyed by the client secret)



=== TEST 15: a wrong signature is refused
--- request eval
"POST /webhook\n$::Uninstall"
--- more_headers eval
"Content-Type: application/json\nX-Body-Signature: " . ("0" x 64)
--- error_code: 401
--- error_log
intercom oauth: uninstall webhook refused: X-Body-Signature does not match the body



=== TEST 16: a signature of the wrong form is refused
--- request eval
"POST /webhook\n$::Uninstall"
--- more_headers
X-Body-Signature: sha256=abcd
--- error_code: 401
--- error_log
X-Body-Signature is not 64 hexadecimal digits



=== TEST 17: "unsigned" accepts a call without a signature
--- config
location = /webhook { intercom_oauth_uninstall_webhook unsigned; }
--- request eval
"POST /webhook\n$::Uninstall"
--- error_code: 200
--- response_body
{"deleted":0}



=== TEST 18: malformed JSON, and JSON without app_id
--- config
location = /webhook { intercom_oauth_uninstall_webhook unsigned; }
--- request eval
["POST /webhook\n{\"app_id\": ", "POST /webhook\n{\"id\":\"x\"}", "POST /webhook\n[\"abc\"]"]
--- error_code eval
[400, 400, 400]
--- response_body eval
["{\"error\":\"invalid_request\"}\n", "{\"error\":\"invalid_request\"}\n", "{\"error\":\"invalid_request\"}\n"]
--- error_log
the body is not a JSON object with a string "app_id"



=== TEST 19: the webhook takes POST only, and at most 8k
--- config
location = /webhook { intercom_oauth_uninstall_webhook unsigned; }
--- request eval
["GET /webhook", "POST /webhook\n" . ("x" x 9000)]
--- error_code eval
[405, 413]



=== TEST 20: intercom_oauth_require without a URI: 401 JSON
--- user_files
>>> private
private
>>> private2
private
--- request
GET /private
--- more_headers eval: session_cookie()
--- error_code: 401
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body
{"error":"not_connected","message":"Connect with Intercom first"}



=== TEST 21: intercom_oauth_require with a URI: 302 to the button with return_to
--- user_files
>>> private
private
>>> private2
private
--- request
GET /private2?x=1
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/connect\?return_to=%2Fprivate2%3Fx%3D1



=== TEST 22: intercom_oauth_require lets a connected user through
--- user_files
>>> private
private
>>> private2
private
--- request eval
[callback_request(code => 'rq-1', state => make_state()), "GET /private"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body eval
[qr/302/, "private\n"]



=== TEST 23: intercom_oauth_region eu sets the authorize URL
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_region eu;\n"
--- config
location = /t { return 200 "$intercom_oauth_authorize_url\n"; }
--- request
GET /t
--- response_body_like: ^https://app\.eu\.intercom\.com/oauth\?client_id=test-client&state=



=== TEST 24: a region's token URL is used when none is set (AU: api.intercom.io, as Intercom's OAuth guide gives)
--- http_config eval
my $c = $HTTP_CONFIG;
$c =~ s{\s*intercom_oauth_token_url\s+\S+;}{};
$c . "intercom_oauth_region au;\n"
--- config
location = /callback { intercom_oauth_callback; }
--- request eval
callback_request(code => 'au-1', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 502
--- error_log
token exchange with "https://api.intercom.io/auth/eagle/token" failed



=== TEST 25: an explicit URL wins over the region
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_region au;\nintercom_oauth_authorize_url https://auth.example/oauth;\n"
--- config
location = /t { return 200 "$intercom_oauth_authorize_url\n"; }
--- request
GET /t
--- response_body_like: ^https://auth\.example/oauth\?client_id=



=== TEST 26: an unknown region (nginx's own enum setter says so)
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_region mars;\n"
--- config
--- must_die
--- error_log
invalid value "mars"



=== TEST 27: status as JSON counts what happened
--- request eval
[callback_request(code => 'st-1', state => make_state()),
 callback_request(code => 'st-2', state => make_state(age => 3600)),
 "GET /connect-page-is-not-here",
 "GET /status"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 403, 404, 200]
--- response_headers_like eval
["", "", "", "Content-Type: application/json\nCache-Control: no-store"]
--- response_body_like eval
[qr/302/, qr/state_expired/, qr/404/,
 qr/^\{"connect_pages":0,"callbacks":\{"total":2,"ok":1,"invalid_request":0,"access_denied":0,"state_invalid":0,"state_expired":1,"state_replayed":0,"no_key":0,"zone_full":0,"server_error":0\},"exchanges":\{"ok":1,"failed":0,"timeout":0\},"tokens":\{"stored":1,"evicted":0,"deleted":0\},"identity":\{"ok":1,"failed":0\},"disconnects":\{"total":0,"revoked":0,"revoke_failed":0\},"webhooks":\{"accepted":0,"refused":0\},"exchange_latency_ms":\{"sum":\d+,"buckets":\{"50":\d,"100":\d,"250":\d,"500":\d,"1000":\d,"2500":0,"5000":0,"10000":0,"\+Inf":0\}\},"zone":\{"name":"intercom","tokens":1,"states":1,"bytes_used":\d+,"bytes_free":\d+\}\}$/]



=== TEST 28: status in Prometheus' text format, by argument or by Accept
--- request eval
["GET /status?format=prometheus", "GET /status"]
--- more_headers
Accept: text/plain;version=0.0.4
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: text/plain; version=0.0.4; charset=utf-8", "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_like eval
[qr/^# TYPE intercom_oauth_connect_pages_total counter\nintercom_oauth_connect_pages_total 0\n# TYPE intercom_oauth_callbacks_total counter\nintercom_oauth_callbacks_total 0\n# TYPE intercom_oauth_callback_outcomes_total counter\nintercom_oauth_callback_outcomes_total\{outcome="ok"\} 0\n.*intercom_oauth_exchange_duration_seconds_bucket\{le="0\.050"\} 0\n.*intercom_oauth_exchange_duration_seconds_bucket\{le="\+Inf"\} 0\nintercom_oauth_exchange_duration_seconds_sum 0\.000\nintercom_oauth_exchange_duration_seconds_count 0\n# TYPE intercom_oauth_tokens gauge\nintercom_oauth_tokens 0\n# TYPE intercom_oauth_used_states gauge\nintercom_oauth_used_states 0\n.*intercom_oauth_zone_bytes\{state="free"\} \d+\n$/s,
 qr/^# TYPE intercom_oauth_connect_pages_total counter\n/]



=== TEST 29: ?format=json wins over Accept
--- request
GET /status?format=json
--- more_headers
Accept: text/plain
--- response_headers
Content-Type: application/json



=== TEST 30: the webhook needs the client secret
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_client_id test-client;
--- config
location = /webhook { intercom_oauth_uninstall_webhook; }
--- must_die
--- error_log
"intercom_oauth_uninstall_webhook" needs "intercom_oauth_client_secret"



=== TEST 31: the require URI must be a path
--- config
location = /p { intercom_oauth_require https://elsewhere.example/; }
--- must_die
--- error_log
"intercom_oauth_require" takes the URI of the connect location, starting with "/"



=== TEST 32: status needs only the zone
--- http_config
intercom_oauth_zone intercom:1m;
--- config
location = /status { intercom_oauth_status; }
--- request
GET /status
--- error_code: 200
--- response_body_like: ^\{"connect_pages":0,
