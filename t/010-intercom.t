# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Intercom as it really is (docs/intercom.md, issue 12): the uninstall
# notification signed with X-Body-Signature, topic webhooks refused, HEAD;
# a disconnect that uninstalls the whole workspace at the stand-in, and
# "forget"; installs from Intercom's App Store; the regions' hosts; the
# stand-in's tokens and /me as Intercom sends them.
#
# The suite's stand-in (t/run-tests) sends its uninstall notification to
# http://127.0.0.1:TEST_NGINX_SERVER_PORT/webhook, this file's webhook
# location, before it answers the POST /auth/uninstall.

use lib 't/lib';
use IntercomOAuthTest;
use Digest::SHA qw(hmac_sha1_hex hmac_sha256_hex);
use MIME::Base64 ();
use Test::Nginx::Socket 'no_plan';

no_shuffle();

our $Locations = <<'_EOC_' . $SEEN_LOCATION . $NOTIFIED_LOCATION;
location = /callback { intercom_oauth_callback; intercom_oauth_success_uri /home; intercom_oauth_error_uri /oops; }
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
location = /who { return 200 "$intercom_oauth_connected|$intercom_workspace_id|$intercom_admin_email_verified\n"; }
location = /disconnect { intercom_oauth_disconnect /bye; }
location = /forget { intercom_oauth_disconnect /bye forget; }
location = /webhook { intercom_oauth_uninstall_webhook; }
location = /install { intercom_connect_button redirect appstore; }
location = /connect { intercom_connect_button redirect; }
location = /status { intercom_oauth_status; }
location = /errlog { default_type text/plain; alias logs/error.log; }
location = /reset {
    proxy_pass https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/_standin/reset;
    proxy_ssl_trusted_certificate $TEST_NGINX_CA_FILE;
    proxy_ssl_verify on;
    proxy_ssl_name localhost;
}
_EOC_

block_defaults(http_config => $HTTP_CONFIG, config => $Locations);

our $Uninstall = '{"app_id":"abc12def"}';
our $BodySig = hmac_sha256_hex($Uninstall, 'test-secret');

# a topic webhook, as Intercom sends one: it has an app_id too
our $Topic = '{"type":"notification_event","app_id":"abc12def",'
           . '"topic":"conversation.user.created","id":"notif_1",'
           . '"data":{"item":{"type":"conversation"}}}';
our $TopicHubSig = 'sha1=' . hmac_sha1_hex($Topic, 'test-secret');
our $TopicBodySig = hmac_sha256_hex($Topic, 'test-secret');
our $Ping = '{"type":"ping","app_id":"abc12def","message":"hi"}';

our $Origin = session_cookie() . "\nOrigin: http://localhost";
our $OtherOrigin = session_cookie($OTHER_SID) . "\nOrigin: http://localhost";

# signed like the uninstall notification, but not one (issue 12 follow-up)
our $Canvas = '{"app_id":"abc12def","admin":{"id":"7","type":"admin"},'
            . '"context":{"location":"inbox"},"current_canvas":null}';
our @Strict = ('{"app_id":"abc12def","app_id":"abc12def"}',
               '{"app_id":"abc12def\u0000x"}', '{}', '{"app_id":""}',
               '"abc12def"');

# $Locations with the one-line location "path" given another body
sub location_body {
    my ($path, $body) = @_;
    my $c = $Locations;

    $c =~ s~location = \Q$path\E \{[^\n]*\}\n~location = $path { $body }\n~
        or die "no location $path";

    return $c;
}

# Test::Nginx checks error_log after each request of a block: a block
# that needs a token first reads the log's lines with its last request.

run_tests();

__DATA__

=== TEST 1: the uninstall notification signed as Intercom signs it, while Intercom still accepts the workspace's tokens: stale or replayed, nothing deleted
--- request eval
[callback_request(code => 'in-1', state => make_state()),
 callback_request(code => 'in-2', state => make_state(sid => $::OTHER_SID)),
 "POST /webhook\n$::Uninstall", "GET /token", "GET /token", "GET /errlog"]
--- more_headers eval
[session_cookie(), session_cookie($::OTHER_SID),
 "Content-Type: application/json\nX-Body-Signature: $::BodySig",
 session_cookie(), session_cookie($::OTHER_SID), ""]
--- error_code eval
[302, 302, 200, 200, 200, 200]
--- response_body_like eval
[qr/302/, qr/302/, qr/^\{"deleted":0\}$/, qr/^\[1\]\[\S+\]$/, qr/^\[1\]\[\S+\]$/,
 qr/\[warn\].*intercom oauth: uninstall webhook: stale or replayed uninstall notification: Intercom still accepts a token of workspace "abc12def" \(\/me answered 200\), nothing deleted/]



=== TEST 2: ... with no token of the workspace stored, Intercom is not asked, and the log says so
--- request eval
"POST /webhook\n$::Uninstall"
--- more_headers eval
"Content-Type: application/json\nX-Body-Signature: " . uc $::BodySig
--- error_code: 200
--- response_body
{"deleted":0}
--- error_log
intercom oauth: uninstall webhook: workspace "abc12def": no token of it is stored, 0 token(s) deleted, Intercom not asked



=== TEST 3: a topic notification with a valid X-Hub-Signature deletes nothing
--- request eval
[callback_request(code => 'tp-1', state => make_state()),
 "POST /webhook\n$::Topic", "GET /who", "GET /status"]
--- more_headers eval
[session_cookie(),
 "Content-Type: application/json\nX-Hub-Signature: $::TopicHubSig",
 session_cookie(), ""]
--- error_code eval
[302, 401, 200, 200]
--- response_body_like eval
[qr/302/, qr/^\{"error":"bad_signature"\}$/, qr/^1\|abc12def\|1$/,
 qr/"tokens":\{"stored":1,"evicted":0,"deleted":0\}.*"webhooks":\{"accepted":0,"refused":1\}/]



=== TEST 4: ... and the log says which header was expected, without suggesting "unsigned"
--- request eval
"POST /webhook\n$::Topic"
--- more_headers eval
"Content-Type: application/json\nX-Hub-Signature: $::TopicHubSig"
--- error_code: 401
--- error_log
intercom oauth: uninstall webhook refused: no X-Body-Signature, only the X-Hub-Signature of a topic webhook: this location takes only Intercom's uninstall notification, signed with X-Body-Signature
--- no_error_log
unsigned



=== TEST 5: a topic notification signed with X-Body-Signature is refused too, nothing deleted
--- request eval
[callback_request(code => 'tp-2', state => make_state()),
 "POST /webhook\n$::Topic", "GET /who"]
--- more_headers eval
[session_cookie(),
 "Content-Type: application/json\nX-Body-Signature: $::TopicBodySig",
 session_cookie()]
--- error_code eval
[302, 400, 200]
--- response_body_like eval
[qr/302/, qr/^\{"error":"not_uninstall"\}$/, qr/^1\|abc12def\|1$/]



=== TEST 6: ... with its log line
--- request eval
"POST /webhook\n$::Topic"
--- more_headers eval
"X-Body-Signature: $::TopicBodySig"
--- error_code: 400
--- error_log
intercom oauth: uninstall webhook refused: the body is a topic notification (it has a "topic"), not the uninstall notification: nothing deleted



=== TEST 7: "unsigned" still refuses a topic notification ("type": "notification_event")
--- config
location = /webhook { intercom_oauth_uninstall_webhook unsigned; }
--- request eval
"POST /webhook\n{\"type\":\"notification_event\",\"app_id\":\"abc12def\"}"
--- error_code: 400
--- response_body
{"error":"not_uninstall"}
--- error_log
the body is a topic notification ("type" is "notification_event")



=== TEST 8: a ping's body without a topic is not an uninstall either, unless signed as one
--- request eval
"POST /webhook\n$::Ping"
--- more_headers eval
"X-Hub-Signature: sha1=" . Digest::SHA::hmac_sha1_hex($::Ping, 'test-secret')
--- error_code: 401
--- response_body
{"error":"bad_signature"}



=== TEST 9: HEAD answers 200 (Intercom checks URLs with HEAD)
--- request
HEAD /webhook
--- error_code: 200
--- response_body eval
""



=== TEST 10: no signature at all: 401, the log names X-Body-Signature
--- request eval
"POST /webhook\n$::Uninstall"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- error_log
intercom oauth: uninstall webhook refused: no X-Body-Signature (Intercom signs the uninstall notification with it: HMAC-SHA256 of the body, keyed by the client secret)
--- no_error_log
unsigned



=== TEST 11: an X-Body-Signature of another body, of another key, of the wrong form
--- request eval
["POST /webhook\n$::Uninstall", "POST /webhook\n$::Uninstall",
 "POST /webhook\n$::Uninstall", "POST /webhook\n$::Uninstall",
 "POST /webhook\n$::Uninstall"]
--- more_headers eval
["X-Body-Signature: " . Digest::SHA::hmac_sha256_hex('{"app_id":"other"}', 'test-secret'),
 "X-Body-Signature: " . Digest::SHA::hmac_sha256_hex($::Uninstall, 'another-secret'),
 "X-Body-Signature: sha256=" . $::BodySig,
 "X-Body-Signature: " . substr($::BodySig, 0, 62) . "zz",
 "X-Body-Signature: $::BodySig\nX-Body-Signature: $::BodySig"]
--- error_code eval
[401, 401, 401, 401, 401]
--- response_body eval
["{\"error\":\"bad_signature\"}\n", "{\"error\":\"bad_signature\"}\n",
 "{\"error\":\"bad_signature\"}\n", "{\"error\":\"bad_signature\"}\n",
 "{\"error\":\"bad_signature\"}\n"]



=== TEST 12: the wrong signature's log line
--- request eval
"POST /webhook\n$::Uninstall"
--- more_headers eval
"X-Body-Signature: " . ("0" x 64)
--- error_code: 401
--- error_log
intercom oauth: uninstall webhook refused: X-Body-Signature does not match the body and the client secret



=== TEST 13: disconnect uninstalls the workspace at the stand-in: every token of it goes, the notification finds nothing left
--- request eval
["POST /reset",
 callback_request(code => 'dw-1', state => make_state()),
 callback_request(code => 'dw-2', state => make_state(sid => $::OTHER_SID)),
 "POST /disconnect", "GET /token", "GET /token", "GET /notified",
 "GET /status"]
--- more_headers eval
["", session_cookie(), session_cookie($::OTHER_SID), $::Origin,
 session_cookie(), session_cookie($::OTHER_SID), "", ""]
--- error_code eval
[200, 302, 302, 303, 200, 200, 200, 200]
--- response_body_like eval
[qr/^\{\}$/, qr/302/, qr/302/, qr/303/, qr/^\[0\]\[\]$/, qr/^\[0\]\[\]$/,
 qr/^\[\{"url":"http:\/\/127\.0\.0\.1:\d+\/webhook","body":"\{\\"app_id\\":\\"abc12def\\"\}","signature":"[0-9a-f]{64}","status":200,"answer":"\{\\"deleted\\":0\}\\n","error":null\}\]$/,
 qr/"tokens":\{"stored":2,"evicted":0,"deleted":2\}.*"disconnects":\{"total":1,"revoked":1,"revoke_failed":0\},"webhooks":\{"accepted":1,"refused":0\}/]



=== TEST 14: ... and logs it
--- request eval
[callback_request(code => 'dw-3', state => make_state()), "POST /disconnect", "GET /errlog"]
--- more_headers eval
[session_cookie(), $::Origin, ""]
--- error_code eval
[302, 303, 200]
--- response_body_like eval
[qr/302/, qr/303/,
 qr/intercom oauth: disconnect: 1 token\(s\) of workspace "abc12def" deleted, uninstalling the app at Intercom, .*intercom oauth: disconnect: the app is uninstalled from the workspace at Intercom, /s]



=== TEST 15: "forget": only this key's token goes, nothing is sent to Intercom
--- request eval
["POST /reset",
 callback_request(code => 'fg-1', state => make_state()),
 callback_request(code => 'fg-2', state => make_state(sid => $::OTHER_SID)),
 "POST /forget", "GET /token", "GET /who", "GET /seen", "GET /notified",
 "GET /status"]
--- more_headers eval
["", session_cookie(), session_cookie($::OTHER_SID), $::Origin,
 session_cookie(), session_cookie($::OTHER_SID), "", "", ""]
--- error_code eval
[200, 302, 302, 303, 200, 200, 200, 200, 200]
--- response_headers_like eval
["", "", "", "Location: http://localhost(:\\d+)?/bye\nCache-Control: no-store",
 "", "", "", "", ""]
--- response_body_like eval
[qr/^\{\}$/, qr/302/, qr/302/, qr/303/, qr/^\[0\]\[\]$/,
 qr/^1\|abc12def\|1$/, qr/^(?!.*auth\/uninstall).*"path":"\/me"/s, qr/^\[\]$/,
 qr/"tokens":\{"stored":2,"evicted":0,"deleted":1\}.*"disconnects":\{"total":1,"revoked":0,"revoke_failed":0\}/]



=== TEST 16: "forget" logs what it did
--- request eval
[callback_request(code => 'fg-3', state => make_state()), "POST /forget", "GET /errlog"]
--- more_headers eval
[session_cookie(), $::Origin, ""]
--- error_code eval
[302, 303, 200]
--- response_body_like eval
[qr/302/, qr/303/,
 qr/intercom oauth: disconnect: this key's token forgotten, the app stays installed at Intercom, /]



=== TEST 17: intercom_oauth_disconnect takes a URI and "forget", nothing else
--- config
location = /d { intercom_oauth_disconnect /bye later; }
--- must_die
--- error_log
invalid parameter "later", "intercom_oauth_disconnect" takes a URI and "forget"



=== TEST 18: "forget" alone: back to "/"
--- config
location = /d { intercom_oauth_disconnect forget; }
--- request
POST /d
--- more_headers eval: $::Origin
--- error_code: 303
--- response_headers_like
Location: http://localhost(:\d+)?/$



=== TEST 19: "appstore" marks the state (0x81, "gQ"; signed like return_to); plain "redirect" does not (1, "AQ")
--- request eval
["GET /install", "GET /connect"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 302]
--- response_headers_like eval
["Location: https://app\\.intercom\\.com/oauth\\?client_id=test-client&state=gQ[A-Za-z0-9_-]+&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback",
 "Location: https://app\\.intercom\\.com/oauth\\?client_id=test-client&state=AQ[A-Za-z0-9_-]+&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback"]
--- response_body_like eval
[qr/302/, qr/302/]



=== TEST 20: an App Store state's callback ends at the App Store redirect, whatever success_uri says
--- request eval
[callback_request(code => 'as-1', state => make_state(appstore => 1)), "GET /token"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_headers_like eval
["Location: https://app\\.intercom\\.com/appstore/redirect\\?install_success=true\nCache-Control: no-store", ""]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[dG9rO[A-Za-z0-9_-]+==\]$/]



=== TEST 21: a denial of an App Store install: install_success=false with an error_message
--- request eval
"GET /callback?error=access_denied&error_description=The+user+denied+the+request&state=" . make_state(appstore => 1)
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers
Location: https://app.intercom.com/appstore/redirect?install_success=false&error_message=Installation%20failed%3A%20access_denied
--- error_log
intercom oauth: authorization not granted: Intercom sent error "access_denied"



=== TEST 22: a failed exchange of an App Store install ends there too
--- http_config eval
$HTTP_CONFIG =~ s{/behave/ok/}{/behave/401/}r
--- request eval
callback_request(code => 'as-2', state => make_state(appstore => 1))
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers
Location: https://app.intercom.com/appstore/redirect?install_success=false&error_message=Installation%20failed%3A%20exchange_failed



=== TEST 23: the App Store redirect is on the region's host
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_region eu;\n"
--- request eval
callback_request(code => 'as-3', state => make_state(appstore => 1))
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers
Location: https://app.eu.intercom.com/appstore/redirect?install_success=true



=== TEST 24: ... on the authorize URL's host when one is set
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_authorize_url https://127.0.0.1:$ENV{TEST_NGINX_STANDIN_PORT}/oauth?x=1;\n"
--- request eval
callback_request(code => 'as-4', state => make_state(appstore => 1))
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: https://127\.0\.0\.1:\d+/appstore/redirect\?install_success=true$



=== TEST 25: the same state without the mark goes to the success URI; a denial to the error URI
--- request eval
[callback_request(code => 'as-5', state => make_state()),
 "GET /callback?error=access_denied&state=" . make_state()]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 302]
--- response_headers_like eval
["Location: http://localhost(:\\d+)?/home", "Location: http://localhost(:\\d+)?/oops\\?error=access_denied"]



=== TEST 26: a forged App Store mark is a bad MAC: refused as any forged state
--- request eval
my $s = MIME::Base64::decode_base64url(make_state());
substr($s, 0, 1) = chr(0x81);
callback_request(code => 'as-6', state => MIME::Base64::encode_base64url($s))
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/oops\?error=state_invalid



=== TEST 27: a denial whose state does not verify is not sent to the App Store
--- request eval
"GET /callback?error=access_denied&state=" . make_state(appstore => 1, sid => $::OTHER_SID)
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/oops\?error=access_denied



=== TEST 28: intercom_connect_button takes "redirect" and "appstore" only
--- config
location = /i { intercom_connect_button appstore popup; }
--- must_die
--- error_log
invalid parameter "popup", "intercom_connect_button" takes only "redirect" and "appstore"



=== TEST 29: "appstore" without "redirect" serves the page with a marked state
--- config
location = /i { intercom_connect_button appstore; }
--- request
GET /i
--- more_headers eval: session_cookie()
--- error_code: 200
--- response_body_like eval
qr{href="https://app\.intercom\.com/oauth\?client_id=test-client&amp;state=gQ[A-Za-z0-9_-]+&amp;redirect_uri=}



=== TEST 30: EU: the API on api.eu.intercom.io, the token request on api.intercom.io
--- http_config eval
my $c = $HTTP_CONFIG;
$c =~ s{\s*intercom_oauth_token_url\s+\S+;}{};
$c . "intercom_oauth_region eu;\n"
--- config
location = /callback { intercom_oauth_callback; }
--- request eval
callback_request(code => 'eu-1', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 502
--- error_log
token exchange with "https://api.intercom.io/auth/eagle/token" failed



=== TEST 31: EU and AU: the revoke URL stays on api.intercom.io
--- http_config eval
my $c = $HTTP_CONFIG;
$c =~ s{\s*intercom_oauth_revoke_url\s+\S+;}{};
$c =~ s{\s*intercom_oauth_api_url\s+\S+;}{};
$c . "intercom_oauth_region au;\nintercom_oauth_fetch_identity off;\n"
--- request eval
[callback_request(code => 'au-2', state => make_state()), "POST /disconnect", "GET /errlog"]
--- more_headers eval
[session_cookie(), $::Origin, ""]
--- error_code eval
[302, 303, 200]
--- response_body_like eval
[qr/302/, qr/303/,
 qr/this key's token deleted \(its workspace is unknown\), uninstalling the app at Intercom, .*uninstalling at "https:\/\/api\.intercom\.io\/auth\/uninstall" failed/s]



=== TEST 32: /me with the fields Intercom may send as null: nothing verified, no workspace
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_api_url\s+(\S+);}{intercom_oauth_api_url $1/behave/nulls;}r
--- request eval
[callback_request(code => 'nl-1', state => make_state()), "GET /who"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^1\|\|0$/]



=== TEST 33: a token with "_" and "=" reaches the API byte for byte
--- request eval
[callback_request(code => 'ch-1', state => make_state()), "GET /token", "POST /disconnect", "GET /seen"]
--- more_headers eval
[session_cookie(), session_cookie(), $::Origin, ""]
--- error_code eval
[302, 200, 303, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[dG9rO[A-Za-z0-9-]*_w==\]$/, qr/303/,
 qr#"path":"/auth/uninstall","headers":\{[^}]*"Authorization":"Bearer dG9rO[A-Za-z0-9-]*_w=="#]



=== TEST 34: a correctly signed notification whose app_id is a number is not Intercom's: 400, nothing deleted
--- request eval
"POST /webhook\n{\"app_id\":123}"
--- more_headers eval
"Content-Type: application/json\nX-Body-Signature: "
. Digest::SHA::hmac_sha256_hex('{"app_id":123}', 'test-secret')
--- error_code: 400
--- response_body
{"error":"invalid_request"}
--- error_log
uninstall webhook refused: the body is not a JSON object with a string "app_id"



=== TEST 35: a notification over 8 KB (Content-Length): 413 with the JSON every refusal here has
--- request eval
"POST /webhook\n" . '{"app_id":"abc12def","pad":"' . ("x" x 9000) . '"}'
--- more_headers eval
"Content-Type: application/json\nX-Body-Signature: "
. Digest::SHA::hmac_sha256_hex('{"app_id":"abc12def","pad":"' . ("x" x 9000) . '"}',
                  'test-secret')
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body
{"error":"invalid_request"}
--- error_log
uninstall webhook refused: body of 9030 bytes is larger than 8192



=== TEST 36: a chunked notification over 8 KB: 413 with the same JSON
--- raw_request eval
my $body = '{"app_id":"abc12def","pad":"' . ("x" x 9000) . '"}';
"POST /webhook HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Content-Type: application/json\r\nX-Body-Signature: "
. Digest::SHA::hmac_sha256_hex($body, 'test-secret') . "\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body)
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body
{"error":"invalid_request"}
--- error_log
uninstall webhook refused: body is larger than 8192 bytes



=== TEST 37: Intercom does not answer the uninstall in time: the tokens are gone here, the browser goes on, the log says "timed out" once
--- http_config eval
my $c = $HTTP_CONFIG;
$c =~ s{intercom_oauth_revoke_url\s+(\S+)/auth/uninstall;}{intercom_oauth_revoke_url $1/behave/slow-3000/auth/uninstall;};
$c =~ s{intercom_oauth_timeout\s+\S+;}{intercom_oauth_timeout 500ms;};
$c
--- request eval
[callback_request(code => 'to-1', state => make_state()), "POST /disconnect", "GET /token", "GET /errlog"]
--- more_headers eval
[session_cookie(), $::Origin, session_cookie(), ""]
--- error_code eval
[302, 303, 200, 200]
--- response_body_like eval
[qr/302/, qr/303/, qr/^\[0\]\[\]$/,
 qr/uninstalling at "[^"]+\/behave\/slow-3000\/auth\/uninstall" failed: timed out \(status 0\)/]



=== TEST 38: a disconnect without a token sends nothing and says so
--- request eval
["POST /reset", "POST /disconnect", "GET /seen", "GET /errlog"]
--- more_headers eval
["", $::Origin, "", ""]
--- error_code eval
[200, 303, 200, 200]
--- response_body_like eval
[qr/^\{\}$/, qr/303/, qr/^\[\]$/,
 qr/disconnect: this key has no token: nothing deleted, nothing sent to Intercom/]



=== TEST 39: Intercom uninstalled the app (its tokens answer 401): the notification deletes the workspace's tokens
--- config eval
$::Locations . <<'_EOC_'
location = /uninstall-at-standin {
    proxy_pass https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/auth/uninstall;
    proxy_set_header Authorization "Bearer $intercom_access_token";
    proxy_ssl_trusted_certificate $TEST_NGINX_CA_FILE;
    proxy_ssl_verify on;
    proxy_ssl_name localhost;
}
_EOC_
--- request eval
["POST /reset",
 callback_request(code => 'un-1', state => make_state()),
 callback_request(code => 'un-2', state => make_state(sid => $::OTHER_SID)),
 "POST /uninstall-at-standin", "GET /notified", "GET /token", "GET /token",
 "GET /errlog"]
--- more_headers eval
["", session_cookie(), session_cookie($::OTHER_SID), session_cookie(), "",
 session_cookie(), session_cookie($::OTHER_SID), ""]
--- error_code eval
[200, 302, 302, 200, 200, 200, 200, 200]
--- response_body_like eval
[qr/^\{\}$/, qr/302/, qr/302/, qr/^\{\}$/,
 qr/^\[\{"url":"http:\/\/127\.0\.0\.1:\d+\/webhook","body":"\{\\"app_id\\":\\"abc12def\\"\}","signature":"[0-9a-f]{64}","status":200,"answer":"\{\\"deleted\\":2\}\\n","error":null\}\]$/,
 qr/^\[0\]\[\]$/, qr/^\[0\]\[\]$/,
 qr/intercom oauth: uninstall webhook: workspace "abc12def" removed the app, 2 token\(s\) deleted/]



=== TEST 40: a Canvas Kit request (signed the same way, a top-level "app_id" among other members) deletes nothing: 400
--- request eval
[callback_request(code => 'ck-1', state => make_state()),
 "POST /webhook\n$::Canvas", "GET /who", "GET /errlog"]
--- more_headers eval
[session_cookie(),
 "Content-Type: application/json\nX-Body-Signature: "
 . Digest::SHA::hmac_sha256_hex($::Canvas, 'test-secret'), session_cookie(), ""]
--- error_code eval
[302, 400, 200, 200]
--- response_body_like eval
[qr/302/, qr/^\{"error":"invalid_request"\}$/, qr/^1\|abc12def\|1$/,
 qr/uninstall webhook refused: the body is not a JSON object with a string "app_id" and nothing else: a member other than "app_id"/]



=== TEST 41: a repeated "app_id", an "app_id" with \u0000, an empty object: 400, nothing deleted
--- request eval
[callback_request(code => 'dk-1', state => make_state()),
 (map { "POST /webhook\n$_" } @::Strict), "GET /who", "GET /errlog"]
--- more_headers eval
[session_cookie(),
 (map { "Content-Type: application/json\nX-Body-Signature: "
        . Digest::SHA::hmac_sha256_hex($_, 'test-secret') } @::Strict), session_cookie(), ""]
--- error_code eval
[302, 400, 400, 400, 400, 400, 200, 200]
--- response_body_like eval
[qr/302/, (qr/^\{"error":"invalid_request"\}$/) x 5, qr/^1\|abc12def\|1$/,
 qr/nothing else: "app_id" is repeated.*nothing else: "app_id" has a NUL \(\\u0000\).*nothing else: no "app_id", or an empty one.*nothing else: no "app_id", or an empty one.*nothing else: not an object/s]



=== TEST 42: /me answers neither 401 nor 200: 503 for Intercom to retry, nothing deleted
--- config eval
::location_body('/webhook', 'intercom_oauth_uninstall_webhook; intercom_oauth_api_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/500;')
--- request eval
[callback_request(code => 'me-1', state => make_state()),
 "POST /webhook\n$::Uninstall", "GET /who", "GET /errlog"]
--- more_headers eval
[session_cookie(), "Content-Type: application/json\nX-Body-Signature: $::BodySig",
 session_cookie(), ""]
--- error_code eval
[302, 503, 200, 200]
--- response_body_like eval
[qr/302/, qr/^\{"error":"unconfirmed"\}$/, qr/^1\|abc12def\|1$/,
 qr/\[warn\].*uninstall webhook: workspace "abc12def": \/me at "[^"]+\/behave\/500" could not confirm the uninstall: neither 401 nor 200 \(status 500\): nothing deleted, answered 503 for Intercom to retry/]



=== TEST 43: /me does not answer in time: 503, nothing deleted, "timed out"
--- config eval
::location_body('/webhook', 'intercom_oauth_uninstall_webhook; intercom_oauth_timeout 500ms; intercom_oauth_api_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/slow-3000;')
--- request eval
[callback_request(code => 'me-2', state => make_state()),
 "POST /webhook\n$::Uninstall", "GET /who", "GET /errlog"]
--- more_headers eval
[session_cookie(), "Content-Type: application/json\nX-Body-Signature: $::BodySig",
 session_cookie(), ""]
--- error_code eval
[302, 503, 200, 200]
--- response_body_like eval
[qr/302/, qr/^\{"error":"unconfirmed"\}$/, qr/^1\|abc12def\|1$/,
 qr/could not confirm the uninstall: timed out \(status 0\): nothing deleted/]



=== TEST 44: no token of the workspace stored: nothing is sent to Intercom
--- request eval
["POST /reset", "POST /webhook\n$::Uninstall", "GET /seen"]
--- more_headers eval
["", "Content-Type: application/json\nX-Body-Signature: $::BodySig", ""]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{\}$/, qr/^\{"deleted":0\}$/, qr/^\[\]$/]



=== TEST 45: a notification buffered to a file (client_body_in_file_only, or over client_body_buffer_size) is read, not refused as too large
--- config eval
::location_body('/webhook', 'intercom_oauth_uninstall_webhook; client_body_in_file_only clean;')
. "location = /webhook-small { intercom_oauth_uninstall_webhook; client_body_buffer_size 8; }\n"
--- request eval
["POST /webhook\n$::Uninstall", "POST /webhook-small\n$::Uninstall",
 "GET /errlog"]
--- more_headers eval
["Content-Type: application/json\nX-Body-Signature: $::BodySig",
 "Content-Type: application/json\nX-Body-Signature: $::BodySig", ""]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/^\{"deleted":0\}$/, qr/^\{"deleted":0\}$/,
 qr/(?s)^(?!.*larger than).*workspace "abc12def": no token of it is stored.*workspace "abc12def": no token of it is stored/]



=== TEST 46: the callback's form POST buffered to a file is read too
--- config eval
::location_body('/callback', 'intercom_oauth_callback; intercom_oauth_success_uri /home; intercom_oauth_error_uri /oops; client_body_in_file_only clean;')
--- request eval
["POST /callback\ncode=fi-1&state=" . make_state(), "GET /token"]
--- more_headers eval
[session_cookie() . "\nContent-Type: application/x-www-form-urlencoded",
 session_cookie()]
--- error_code eval
[302, 200]
--- response_headers_like eval
["Location: http://localhost(:\\d+)?/home", ""]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[\S+\]$/]



=== TEST 47: intercom_oauth_disconnect with an empty URI is refused at nginx -t
--- config
location = /d { intercom_oauth_disconnect "" forget; }
--- must_die
--- error_log
"intercom_oauth_disconnect" takes a URI to send the browser to after it, not ""



=== TEST 48: ... without "forget" too
--- config
location = /d { intercom_oauth_disconnect ""; }
--- must_die
--- error_log
"intercom_oauth_disconnect" takes a URI to send the browser to after it, not ""
