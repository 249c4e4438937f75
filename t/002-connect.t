# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The connect button: page, redirect, session cookie, state, variables.

use lib 't/lib';
use IntercomOAuthTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();

block_defaults(http_config => $HTTP_CONFIG);

run_tests();

__DATA__

=== TEST 1: the page: 200, HTML, a new session cookie, no-store, a link to Intercom
--- config
location = /connect { intercom_connect_button; }
--- request
GET /connect
--- error_code: 200
--- response_headers_like
Content-Type: text/html; charset=utf-8
Set-Cookie: intercom_oauth_sid=[A-Za-z0-9_-]{22}; Path=/; Secure; HttpOnly; SameSite=Lax
Cache-Control: no-store
--- response_body_like eval
qr{<a class="intercom-connect" href="https://app\.intercom\.com/oauth\?client_id=test-client&amp;state=[A-Za-z0-9_-]{58}&amp;redirect_uri=https%3A%2F%2Flocalhost%2Fcallback">.*Connect with Intercom</a>}s
--- no_error_log
[error]
[warn]



=== TEST 2: an existing session is kept: no new cookie
--- config
location = /connect { intercom_connect_button; }
--- request
GET /connect
--- more_headers eval: session_cookie()
--- error_code: 200
--- response_headers
!Set-Cookie
Cache-Control: no-store
--- response_body_like: state=[A-Za-z0-9_-]{58}



=== TEST 3: a malformed session cookie is replaced
--- config
location = /connect { intercom_connect_button; }
--- request
GET /connect
--- more_headers
Cookie: intercom_oauth_sid=not-a-session
--- error_code: 200
--- response_headers_like
Set-Cookie: intercom_oauth_sid=[A-Za-z0-9_-]{22}; .*
--- error_log
session cookie "intercom_oauth_sid" is malformed, ignored



=== TEST 4: "redirect" answers 302 straight to Intercom
--- config
location = /connect { intercom_connect_button redirect; }
--- request
GET /connect
--- error_code: 302
--- response_headers_like
Location: https://app\.intercom\.com/oauth\?client_id=test-client&state=[A-Za-z0-9_-]{58}&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback
Cache-Control: no-store



=== TEST 5: POST is not allowed on the button
--- config
location = /connect { intercom_connect_button; }
--- request
POST /connect
x=1
--- error_code: 405



=== TEST 6: HEAD gets the headers without the page
--- config
location = /connect { intercom_connect_button; }
--- request
HEAD /connect
--- error_code: 200
--- response_headers_like
Set-Cookie: intercom_oauth_sid=.*
--- response_body



=== TEST 7: a relative return_to is carried inside the state (longer state)
--- config
location = /connect { intercom_connect_button redirect; }
--- request
GET /connect?return_to=%2Fdashboard%3Ftab%3D2
--- error_code: 302
--- response_headers_like
Location: https://app\.intercom\.com/oauth\?client_id=test-client&state=[A-Za-z0-9_-]{79}&redirect_uri=.*



=== TEST 8: an absolute or protocol-relative return_to is dropped with a log line
--- config
location = /connect { intercom_connect_button redirect; }
--- request eval
["GET /connect?return_to=https%3A%2F%2Fevil.example%2F",
 "GET /connect?return_to=%2F%2Fevil.example%2F",
 "GET /connect?return_to=%2F%5Cevil.example"]
--- error_code eval
[302, 302, 302]
--- response_headers_like eval
["Location: .*&state=[A-Za-z0-9_-]{58}&.*",
 "Location: .*&state=[A-Za-z0-9_-]{58}&.*",
 "Location: .*&state=[A-Za-z0-9_-]{58}&.*"]
--- error_log
"return_to" is not a relative URI on this site, ignored



=== TEST 9: intercom_oauth_authorize_url and a custom authorize URL with a query string
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_authorize_url https://app.eu.intercom.com/oauth?locale=en;\n"
--- config
location = /t { return 200 "$intercom_oauth_authorize_url\n"; }
--- request
GET /t
--- error_code: 200
--- response_headers_like
Set-Cookie: intercom_oauth_sid=.*
--- response_body_like
^https://app\.eu\.intercom\.com/oauth\?locale=en&client_id=test-client&state=[A-Za-z0-9_-]{58}&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback$



=== TEST 10: the redirect URI takes variables and is percent-encoded
--- http_config eval
my $c = $HTTP_CONFIG;
$c =~ s{intercom_oauth_redirect_uri\s+\S+;}{intercom_oauth_redirect_uri https://\$host/cb?x=1&y=2;};
$c
--- config
location = /connect { intercom_connect_button redirect; }
--- request
GET /connect
--- more_headers
Host: shop.example
--- error_code: 302
--- response_headers_like
Location: .*&redirect_uri=https%3A%2F%2Fshop\.example%2Fcb%3Fx%3D1%26y%3D2$



=== TEST 11: a template replaces every placeholder with the escaped URL
--- config
location = /connect {
    intercom_connect_button;
    intercom_connect_button_template ../html/tpl.html;
}
--- user_files
>>> tpl.html
<p><a href="{{authorize_url}}">Go</a> or <a href="{{authorize_url}}">here</a></p>
--- request
GET /connect
--- error_code: 200
--- response_body_like eval
qr{^<p><a href="https://app\.intercom\.com/oauth\?client_id=test-client&amp;state=([A-Za-z0-9_-]{58})&amp;redirect_uri=[^"]+">Go</a> or <a href="https://app\.intercom\.com/oauth\?client_id=test-client&amp;state=\1&amp;redirect_uri=[^"]+">here</a></p>\n$}



=== TEST 12: two requests get two different states
--- config
location = /t { return 200 "$intercom_oauth_authorize_url"; }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval: session_cookie()
--- response_body_like eval
[qr/state=([A-Za-z0-9_-]{58})/, qr/state=([A-Za-z0-9_-]{58})/]
--- no_error_log
[error]



=== TEST 13: $intercom_oauth_connected and $intercom_access_token before connecting
--- config
location = /t { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
--- request
GET /t
--- more_headers eval: session_cookie()
--- error_code: 200
--- response_body
[0][]
