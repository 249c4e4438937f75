# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The callback: the happy path and every refusal that needs no network.

use lib 't/lib';
use IntercomOAuthTest;
use Test::Nginx::Socket 'no_plan';

# Test::Nginx checks error_log after each request of a block, each time on
# the lines logged since the previous check: blocks with several requests
# assert log lines only where every request logs them.

no_shuffle();

our $Locations = <<'_EOC_' . $SEEN_LOCATION;
location = /callback { intercom_oauth_callback; intercom_oauth_success_uri /home; }
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
_EOC_

block_defaults(http_config => $HTTP_CONFIG, config => $Locations);

our $Nonce = nonce();

run_tests();

__DATA__

=== TEST 1: a valid state and code: exchange, token stored, 302 to the success URI
--- request eval
[callback_request(code => 'code-t1', state => make_state()), "GET /token"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_headers_like eval
["Location: http://localhost(:\\d+)?/home\nCache-Control: no-store", "Content-Type: text/plain"]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[[A-Za-z0-9+\/=_-]{20,}\]$/]
--- no_error_log
[warn]
[error]



=== TEST 2: the code is sent byte-exact: a trailing "=" survives, "+" is kept
--- request eval
[callback_request(code => 'ab+c/d==', state => make_state()), "GET /seen"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/"body":"code=ab%2Bc%2Fd%3D%3D&client_id=test-client&client_secret=test-secret"/]



=== TEST 3: the state's return_to wins over the success URI
--- request eval
callback_request(code => 'code-t3', state => make_state(return_to => '/reports?id=7'))
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/reports\?id=7
--- error_log eval
qr/intercom oauth: access token stored \(\d+ ms exchange\)/



=== TEST 4: a replayed state is refused before any exchange
--- request eval
my $s = make_state(nonce => $::Nonce);
[callback_request(code => 'code-t4a', state => $s),
 callback_request(code => 'code-t4b', state => $s),
 "GET /seen"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 403, 200]
--- response_body_like eval
[qr/302 Found/, qr/<code>state_replayed<\/code> \(403\)/,
 qr/^(?!.*code=code-t4b).*code=code-t4a/s]



=== TEST 5: no code
--- request eval
callback_request(state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 400
--- response_headers
Cache-Control: no-store
--- response_body_like: <code>invalid_request</code> \(400\)
--- error_log
intercom oauth: callback refused: no "code"



=== TEST 6: no state
--- request eval
callback_request(code => 'abc')
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: no "state"



=== TEST 7: an empty code and an empty state
--- request
GET /callback?code=&state=
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: no "code"



=== TEST 8: a malformed state
--- request
GET /callback?code=abc&state=not*base64url
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: "state" is malformed



=== TEST 9: a state of the wrong version
--- request eval
callback_request(code => 'abc', state => make_state(version => 2))
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: "state" is malformed



=== TEST 10: an oversized state
--- request eval
callback_request(code => 'abc', state => 'A' x 1100)
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: "state" of 1100 bytes is too long



=== TEST 11: an oversized code
--- request eval
callback_request(code => 'c' x 600, state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: "code" of 600 bytes is too long or not printable ASCII



=== TEST 12: a code with a NUL byte
--- request eval
"GET /callback?code=ab%00cd&state=" . make_state()
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
"code" of 5 bytes is too long or not printable ASCII



=== TEST 12b: a code with non-ASCII bytes
--- request eval
"GET /callback?code=%C3%A9t%C3%A9x&state=" . make_state()
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
"code" of 6 bytes is too long or not printable ASCII



=== TEST 13: a state signed with another secret (bad MAC)
--- request eval
callback_request(code => 'abc', state => make_state(secret => 'another-secret-0123456789abcdef'))
--- more_headers eval: session_cookie()
--- error_code: 403
--- response_body_like: <code>state_invalid</code> \(403\)
--- error_log
intercom oauth: state refused: signature does not match this browser session and client id



=== TEST 14: another browser's state (session mismatch)
--- request eval
callback_request(code => 'abc', state => make_state(sid => $OTHER_SID))
--- more_headers eval: session_cookie()
--- error_code: 403
--- error_log
intercom oauth: state refused: signature does not match this browser session and client id



=== TEST 15: a state minted for another client id
--- request eval
callback_request(code => 'abc', state => make_state(client_id => 'other-client'))
--- more_headers eval: session_cookie()
--- error_code: 403
--- error_log
state refused: signature does not match



=== TEST 16: no session cookie at all
--- request eval
callback_request(code => 'abc', state => make_state())
--- error_code: 403
--- error_log
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser, or cookies blocked)



=== TEST 17: an expired state (older than intercom_oauth_state_ttl)
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_state_ttl 60s;\n"
--- request eval
callback_request(code => 'abc', state => make_state(age => 61))
--- more_headers eval: session_cookie()
--- error_code: 403
--- response_body_like: <code>state_expired</code> \(403\)
--- error_log
intercom oauth: state refused: expired (intercom_oauth_state_ttl 60 s)



=== TEST 18: a state from the future
--- request eval
callback_request(code => 'abc', state => make_state(age => -3600))
--- more_headers eval: session_cookie()
--- error_code: 403
--- error_log
intercom oauth: state refused: expired



=== TEST 19: Intercom's denial (error=access_denied)
--- request eval
"GET /callback?error=access_denied&error_description=The+user+denied&state=" . make_state()
--- more_headers eval: session_cookie()
--- error_code: 403
--- response_body_like: <code>access_denied</code> \(403\)
--- error_log
intercom oauth: authorization not granted: Intercom sent error "access_denied"



=== TEST 19b: a denial stores nothing
--- request eval
["GET /callback?error=access_denied&state=" . make_state(), "GET /token"]
--- more_headers eval: session_cookie()
--- error_code eval
[403, 200]
--- response_body_like eval
[qr/<code>access_denied<\/code> \(403\)/, qr/^\[0\]\[\]$/]



=== TEST 20: a repeated code
--- request eval
"GET /callback?code=a&code=b&state=" . make_state()
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: "code" is repeated



=== TEST 20b: a repeated state
--- request eval
"GET /callback?code=a&state=" . make_state() . "&state=" . make_state()
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: "state" is repeated



=== TEST 21: a query string over the limit
--- request eval
"GET /callback?code=abc&state=" . make_state() . "&pad=" . ("x" x 5000)
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log eval
qr/intercom oauth: callback refused: arguments of \d+ bytes are longer than 4096/



=== TEST 22: methods other than GET, HEAD and POST
--- request
PUT /callback
x
--- error_code: 405
--- error_log
intercom oauth: callback refused: method "PUT" is not allowed



=== TEST 23: a form POST is accepted like a GET
--- request eval
["POST /callback\ncode=code-t23&state=" . make_state(), "GET /token"]
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]/]



=== TEST 24: a POST that is not a form
--- request eval
"POST /callback\n{\"code\":\"abc\"}"
--- more_headers eval
session_cookie() . "\nContent-Type: application/json"
--- error_code: 400
--- error_log
intercom oauth: callback refused: a POST must be application/x-www-form-urlencoded



=== TEST 25: a POST body over the limit
--- request eval
"POST /callback\ncode=abc&state=x&pad=" . ("x" x 9000)
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 413
--- error_log eval
qr/intercom oauth: callback refused: body of \d+ bytes is larger than 8192/



=== TEST 26: intercom_oauth_error_uri: a failure is a 302 with ?error=CODE
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_error_uri /oops?from=cb; }
--- request eval
callback_request(code => 'abc', state => make_state(secret => 'another-secret-0123456789abcdef'))
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/oops\?from=cb&error=state_invalid
Cache-Control: no-store



=== TEST 27: the site's own error_page sees $intercom_oauth_error
--- config
location = /callback { intercom_oauth_callback; error_page 403 = /why; }
location = /why { return 200 "why: $intercom_oauth_error\n"; }
--- request eval
callback_request(code => 'abc', state => make_state(age => 3600))
--- more_headers eval: session_cookie()
--- error_code: 200
--- response_body
why: state_expired



=== TEST 28: intercom_oauth_key: the token belongs to the site's own user id
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_key $http_x_user; }
location = /token { intercom_oauth_key $http_x_user; return 200 "[$intercom_oauth_connected]\n"; }
--- request eval
[callback_request(code => 'code-t28', state => make_state()), "GET /token"]
--- more_headers eval
session_cookie() . "\nX-User: user-42"
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]$/]



=== TEST 29: intercom_oauth_key empty for the request: refused
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_key $http_x_user; }
--- request eval
callback_request(code => 'abc', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 403
--- error_log
intercom oauth: callback refused: "intercom_oauth_key" is empty for this request



=== TEST 30: the code and the state never reach the error log (info level)
--- log_level: info
--- request eval
my $s = make_state();
$::T30_State = $s;
callback_request(code => 'secret-code-t30', state => $s)
--- more_headers eval: session_cookie()
--- error_code: 302
--- error_log
GET /callback?[oauth arguments withheld] HTTP/1.1
--- no_error_log eval
["secret-code-t30", "test-secret"]



=== TEST 31: a "%" without two hex digits is refused, not dropped
--- request eval
["GET /callback?code=abc%zz&state=" . make_state(),
 "GET /callback?code=abc%&state=" . make_state(),
 "GET /callback?code=abc%4&state=" . make_state()]
--- more_headers eval: session_cookie()
--- error_code eval
[400, 400, 400]
--- error_log
intercom oauth: callback refused: an argument is not percent-encoded correctly



=== TEST 32: a refused method still keeps the code and state out of the log
--- log_level: info
--- request
OPTIONS /callback?code=secret-code-t32&state=secret-state-t32
--- error_code: 405
--- error_log
callback refused: method "OPTIONS" is not allowed
--- no_error_log
secret-code-t32
secret-state-t32



=== TEST 33: only the canonical spelling of a state is a state
--- request eval
my $s = make_state();
my @a = ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '-', '_');
my %i = map { $a[$_] => $_ } 0 .. $#a;
# 43 bytes in 58 characters: the last one has two bits nobody reads
substr($s, -1) = $a[$i{substr($s, -1)} ^ 1];
callback_request(code => 'abc', state => $s)
--- more_headers eval: session_cookie()
--- error_code: 400
--- error_log
intercom oauth: callback refused: "state" is malformed



=== TEST 34: an overlong intercom_oauth_key is refused before the state is spent
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_key $http_x_user; }
--- request eval
callback_request(code => 'abc', state => make_state())
--- more_headers eval
session_cookie() . "\nX-User: " . ("u" x 600)
--- error_code: 403
--- error_log
intercom oauth: callback refused: "intercom_oauth_key" is longer than 512 bytes
