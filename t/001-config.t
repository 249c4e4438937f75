# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Misconfiguration is caught when nginx reads its configuration, with a
# message that names the directive.

use lib 't/lib';
use IntercomOAuthTest;
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_INTERCOM_SHORT_SECRET} = 'fifteen-bytes!!';

no_shuffle();

block_defaults(http_config => $HTTP_CONFIG);

run_tests();

__DATA__

=== TEST 1: a valid configuration starts, with no warning
--- config
location = /connect { intercom_connect_button; }
location = /callback { intercom_oauth_callback; }
--- request
GET /connect
--- error_code: 200
--- no_error_log
[warn]
[emerg]



=== TEST 2: a callback without a zone
--- http_config
intercom_oauth_client_id test-client;
intercom_oauth_client_secret env:TEST_INTERCOM_CLIENT_SECRET;
--- config
location = /callback { intercom_oauth_callback; }
--- must_die
--- error_log
"intercom_oauth_callback" needs "intercom_oauth_zone" in the http block



=== TEST 3: a callback without a client id
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_client_secret env:TEST_INTERCOM_CLIENT_SECRET;
--- config
location = /callback { intercom_oauth_callback; }
--- must_die
--- error_log
"intercom_oauth_callback" needs "intercom_oauth_client_id"



=== TEST 4: a callback without a client secret
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_client_id test-client;
--- config
location = /callback { intercom_oauth_callback; }
--- must_die
--- error_log
"intercom_oauth_callback" needs "intercom_oauth_client_secret"



=== TEST 5: a button without a client id
--- http_config
intercom_oauth_zone intercom:1m;
--- config
location = /connect { intercom_connect_button; }
--- must_die
--- error_log
"intercom_connect_button" needs "intercom_oauth_client_id"



=== TEST 6: a secret file that does not exist
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_client_secret file:/nonexistent/intercom.secret;
--- config
--- must_die
--- error_log
"intercom_oauth_client_secret": cannot open secret file "/nonexistent/intercom.secret"



=== TEST 7: a secret file readable by others
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_client_secret file:../html/world-readable.secret;
--- user_files
>>> world-readable.secret
s3cret
--- config
--- must_die
--- error_log eval
qr/"intercom_oauth_client_secret": secret file ".*world-readable\.secret" is readable by others \(chmod o-rwx it\)/



=== TEST 8: a secret from an environment variable that is not set
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_client_secret env:INTERCOM_OAUTH_TEST_UNSET_VARIABLE;
--- config
--- must_die
--- error_log
"intercom_oauth_client_secret": environment variable "INTERCOM_OAUTH_TEST_UNSET_VARIABLE" is not set or empty



=== TEST 9: a literal client secret draws a warning, and the secret is not logged
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_client_id test-client;
intercom_oauth_client_secret literal-s3cret-value;
--- config
location = /callback { intercom_oauth_callback; }
--- request
GET /callback
--- error_code: 400
--- error_log
"intercom_oauth_client_secret" is given literally in the configuration; prefer "file:PATH" or "env:NAME"
--- no_error_log
literal-s3cret-value



=== TEST 10: a non-https redirect URI draws a warning
--- http_config eval
my $c = $HTTP_CONFIG;
$c =~ s{intercom_oauth_redirect_uri\s+\S+;}{intercom_oauth_redirect_uri http://example.com/callback;};
$c
--- config
location = /connect { intercom_connect_button; }
--- request
GET /connect
--- error_code: 200
--- error_log
"intercom_oauth_redirect_uri" "http://example.com/callback" is not https: Intercom registers HTTPS redirect URLs only



=== TEST 11: a relative redirect URI is refused
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_redirect_uri /callback;
--- config
--- must_die
--- error_log
"intercom_oauth_redirect_uri" must be an absolute URL (https://...), not "/callback"



=== TEST 12: a literal state secret is refused
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_state_secret some-literal-secret-value;
--- config
--- must_die
--- error_log
"intercom_oauth_state_secret" takes "file:PATH" or "env:NAME"



=== TEST 13: a short state secret is refused
--- http_config
intercom_oauth_zone intercom:1m;
intercom_oauth_state_secret env:TEST_INTERCOM_SHORT_SECRET;
--- config
--- must_die
--- error_log
"intercom_oauth_state_secret" must be at least 16 bytes long



=== TEST 14: a zone without a size
--- http_config
intercom_oauth_zone intercom;
--- config
--- must_die
--- error_log
"intercom_oauth_zone" takes NAME:SIZE, not "intercom"



=== TEST 15: a zone that is too small
--- http_config
intercom_oauth_zone intercom:4k;
--- config
--- must_die
--- error_log
zone "intercom:4k" is too small



=== TEST 16: a token URL that is not http(s)
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url ftp://example.com/token;}r
--- config
--- must_die
--- error_log
"intercom_oauth_token_url" must be an http:// or https:// URL, not "ftp://example.com/token"



=== TEST 17: a template without the placeholder
--- config
location = /connect {
    intercom_connect_button;
    intercom_connect_button_template ../html/tpl.html;
}
--- user_files
>>> tpl.html
<p>no link here</p>
--- must_die
--- error_log eval
qr/"intercom_connect_button_template": ".*tpl\.html" has no "\{\{authorize_url\}\}" placeholder/



=== TEST 18: a CA file that does not exist
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_ca_file\s+\S+;}{intercom_oauth_ca_file /nonexistent/ca.crt;}r
--- config
--- must_die
--- error_log
"intercom_oauth_ca_file": cannot stat "/nonexistent/ca.crt"



=== TEST 19: an unknown parameter of intercom_connect_button
--- config
location = /connect { intercom_connect_button popup; }
--- must_die
--- error_log
invalid parameter "popup", "intercom_connect_button" takes only "redirect"



=== TEST 20: button and callback in one location
--- config
location = /x { intercom_connect_button; intercom_oauth_callback; }
--- must_die
--- error_log
"intercom_oauth_callback": a location runs one of intercom_connect_button, intercom_oauth_callback, intercom_oauth_disconnect, intercom_oauth_uninstall_webhook, intercom_oauth_status and intercom_oauth_check



=== TEST 21: a success URI that is neither a path nor a URL
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_success_uri home; }
--- must_die
--- error_log
"intercom_oauth_success_uri" must be a path starting with "/" or an absolute http(s) URL



=== TEST 22: an error URI that is neither a path nor a URL
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_error_uri oops; }
--- must_die
--- error_log
"intercom_oauth_error_uri" must be a path starting with "/" or an absolute http(s) URL



=== TEST 23: a proxy that is not a URL
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_proxy notaurl;\n"
--- config
--- must_die
--- error_log
"intercom_oauth_proxy" must be an http://, https://, socks5:// or socks5h:// URL, not "notaurl"



=== TEST 24: a session cookie without Secure, or with SameSite=Strict, draws warnings
--- config
intercom_oauth_session_cookie sid "Path=/; SameSite=Strict";
location = /connect { intercom_connect_button; }
--- request
GET /connect
--- error_code: 200
--- response_headers_like
Set-Cookie: sid=[A-Za-z0-9_-]{22}; Path=/; SameSite=Strict
--- error_log
"intercom_oauth_session_cookie" without "Secure": the session travels over plain HTTP too
"intercom_oauth_session_cookie" with "SameSite=Strict": browsers do not send it on the way back from Intercom



=== TEST 25: a token URL libcurl's parser refuses fails nginx -t, not every callback
Before, a port over 65535 passed the configuration; libcurl refused the
URL on each call, which was parsed again (and a copy of it left in the
worker's memory) on every callback.
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url https://example.com:99999/token;}r
--- config
--- must_die
--- error_log
"intercom_oauth_token_url" is a URL libcurl refuses (Port number was not a decimal number between 0 and 65535): "https://example.com:99999/token"



=== TEST 26: an API or revoke URL libcurl's parser refuses fails nginx -t
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_revoke_url\s+\S+;}{intercom_oauth_revoke_url "https://exa mple.com/revoke";}r
--- config
--- must_die
--- error_log
"intercom_oauth_revoke_url" is a URL libcurl refuses (Bad hostname): "https://exa mple.com/revoke"



=== TEST 27: intercom_oauth_timeout 0 fails nginx -t
Before, libcurl took 0 as no limit at all and the subrequest engine as a
limit already over: the two engines disagreed, and neither is a time
limit.
--- config
location = /callback {
    intercom_oauth_timeout 0;
    intercom_oauth_callback;
}
--- must_die
--- error_log
value must be equal to or greater than 1
