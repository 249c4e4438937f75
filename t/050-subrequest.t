# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The subrequest engine on its own: what reaches the location (only what
# the module sets, never the browser's cookies, Authorization or body),
# locations that are not proxies, and the ways a location fails.  These
# blocks configure location URIs themselves, so they test the subrequest
# engine whichever engine TEST_INTERCOM_ENGINE gives the rest of the suite.

use lib 't/lib';
use IntercomOAuthTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();

our $Upstream = <<'_EOC_';
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate $TEST_NGINX_CA_FILE;
    proxy_ssl_server_name on;
    proxy_ssl_name localhost;
_EOC_

our $Locations = <<"_EOC_";
location = /callback { intercom_oauth_callback; error_page 502 504 /after; }
location = /after {
    return 200 "\$intercom_oauth_error [\$intercom_oauth_connected]\\n";
}
location = /token { return 200 "[\$intercom_oauth_connected][\$intercom_access_token]\\n"; }
location = /disconnect { intercom_oauth_disconnect /bye; }
location = /seen {
    proxy_pass https://127.0.0.1:\$TEST_NGINX_STANDIN_PORT/_standin/requests;
$Upstream
}
location = /reset {
    proxy_method POST;
    proxy_pass https://127.0.0.1:\$TEST_NGINX_STANDIN_PORT/_standin/reset;
$Upstream
}
# the engine's way to Intercom (here the stand-in)
location ^~ /to-intercom/ {
    internal;
    access_log off;
    proxy_pass https://127.0.0.1:\$TEST_NGINX_STANDIN_PORT/;
$Upstream
}
location ^~ /refused/ {
    internal;
    proxy_pass https://127.0.0.1:1/;
}
location ^~ /slow-upstream/ {
    internal;
    proxy_read_timeout 300ms;
    proxy_pass https://127.0.0.1:\$TEST_NGINX_STANDIN_PORT/;
$Upstream
}
location = /local-token {
    internal;
    return 200 '{"token_type":"Bearer","access_token":"local-token-123"}';
}
location = /local-big {
    internal;
    subrequest_output_buffer_size 1k;
    return 200 '${\ ('x' x 2000)}';
}
_EOC_

our $SrConfig = $HTTP_CONFIG;
$SrConfig =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url /to-intercom/behave/echo/auth/eagle/token;};
$SrConfig =~ s{intercom_oauth_api_url\s+\S+;}{intercom_oauth_api_url /to-intercom/behave/echo;};
$SrConfig =~ s{intercom_oauth_revoke_url\s+\S+;}{intercom_oauth_revoke_url /to-intercom/auth/uninstall;};

add_block_preprocessor(sub {
    my $block = shift;
    my $c = $SrConfig;

    if (defined $block->token_url) {
        (my $u = $block->token_url) =~ s/\s+$//;
        $c =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url $u;};
    }

    # a directive the shared configuration has is replaced, others added
    for my $line (split /\n/, $block->more_http // '') {
        my ($name) = $line =~ /^\s*(\w+)/ or next;
        $c .= "$line\n" unless $c =~ s{^\s*\Q$name\E\s[^;]*;}{$line}m;
    }

    $block->set_value('http_config', $c) unless defined $block->http_config;
    $block->set_value('config', $Locations) unless defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: a GET callback: the token POST and /me carry only the module's headers and body
--- request eval
["GET /reset",
 callback_request(code => 'leak-1', state => make_state()),
 "GET /seen"]
--- more_headers eval
"Cookie: intercom_oauth_sid=$SID; other=browser-cookie
Authorization: Basic YnJvd3Nlcjpwdw==
X-Browser: leak-me"
--- error_code eval
[200, 302, 200]
--- response_body_like eval
[qr/\{\}/, qr/302/,
 qr/\A(?!.*(?:Cookie|browser-cookie|leak-me|X-Browser|Basic|YnJvd3Nlcjpwdw|\Q$SID\E)).*"method":"POST","path":"\/behave\/echo\/auth\/eagle\/token","headers":\{"Host":"127\.0\.0\.1:\d+",(?:"Connection":"close",)?"Content-Length":"59","Accept":"application\/json","User-Agent":"ngx_http_intercom_oauth_module\/[^"]+","Content-Type":"application\/x-www-form-urlencoded"\}.*"body":"code=leak-1&client_id=test-client&client_secret=test-secret".*"method":"GET","path":"\/behave\/echo\/me","headers":\{"Host":"127\.0\.0\.1:\d+",(?:"Connection":"close",)?"Accept":"application\/json","User-Agent":"[^"]+","Authorization":"Bearer echo"\},.*"body":"","body_length":0/s]
--- no_error_log
[alert]



=== TEST 2: a form-POST callback: the browser's body never reaches the token endpoint
--- request eval
["GET /reset",
 "POST /callback\ncode=leak-2&state=" . make_state() . "&browser_field=leak-me-too",
 "GET /seen"]
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code eval
[200, 302, 200]
--- response_body_like eval
[qr/\{\}/, qr/302/,
 qr/\A(?!.*leak-me-too).*"method":"POST","path":"\/behave\/echo\/auth\/eagle\/token".*"body":"code=leak-2&client_id=test-client&client_secret=test-secret","body_length":59,/s]



=== TEST 3: disconnect: the revoke POST has the Bearer token and no browser Authorization or cookie
--- request eval
[callback_request(code => 'dc-1', state => make_state()),
 "GET /reset", "POST /disconnect", "GET /token", "GET /seen"]
--- more_headers eval
session_cookie() . "\nOrigin: http://localhost\nAuthorization: Basic YnJvd3Nlcjpwdw=="
--- error_code eval
[302, 200, 303, 200, 200]
--- response_body_like eval
[qr/302/, qr/\{\}/, qr/303/, qr/^\[0\]\[\]$/,
 qr/\A(?!.*(?:Basic|Cookie)).*"method":"POST","path":"\/auth\/uninstall","headers":\{"Host":"127\.0\.0\.1:\d+",(?:"Connection":"close",)?"Content-Length":"0","Accept":"application\/json","User-Agent":"[^"]+","Authorization":"Bearer echo"/s]
--- no_error_log
[alert]



=== TEST 4: a location that is not a proxy: its answer is the token response
--- token_url: /local-token
--- more_http
intercom_oauth_fetch_identity off;
--- request eval
[callback_request(code => 'abc', state => make_state()), "GET /token"]
--- more_headers eval
session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[local-token-123\]$/]



=== TEST 5: a response over the location's subrequest_output_buffer_size is a failed exchange (502)
--- token_url: /local-big
--- more_headers eval
session_cookie()
--- request eval
callback_request(code => 'abc', state => make_state())
--- error_code: 502
--- response_body
exchange_failed [0]
--- error_log
too big subrequest response
token exchange with "/local-big" failed: the response is larger than the location's subrequest_output_buffer_size (1024 bytes)
--- no_error_log
[alert]



=== TEST 6: the location's upstream refuses the connection: 502 exchange_failed, and nginx says why
--- token_url: /refused/auth/eagle/token
--- more_headers eval
session_cookie()
--- request eval
callback_request(code => 'abc', state => make_state())
--- error_code: 502
--- response_body
exchange_failed [0]
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
token exchange with "/refused/auth/eagle/token" failed: no connection to the location's upstream 127.0.0.1:1: TCP or TLS failed (nginx's line above says why)
--- no_error_log
[alert]



=== TEST 7: the location's upstream times out (proxy_read_timeout): 504 exchange_timeout
--- token_url: /slow-upstream/behave/slow-3000/auth/eagle/token
--- more_headers eval
session_cookie()
--- request eval
callback_request(code => 'abc', state => make_state())
--- error_code: 504
--- response_body
exchange_timeout [0]
--- error_log eval
["upstream timed out",
 qr/token exchange with "\/slow-upstream\/behave\/slow-3000\/auth\/eagle\/token" timed out after \d+ ms/]



=== TEST 8: intercom_oauth_timeout ends the wait and the location's upstream request: 504 at once
--- token_url: /to-intercom/behave/slow-3000/auth/eagle/token
--- more_http
intercom_oauth_timeout 400ms;
--- more_headers eval
session_cookie()
--- request eval
callback_request(code => 'abc', state => make_state())
--- timeout: 2
--- error_code: 504
--- response_body
exchange_timeout [0]
--- error_log eval
qr/token exchange with "[^"]+" timed out after \d+ ms/
--- no_error_log
[alert]



=== TEST 9: a 500 that Intercom itself sends is a response, as under libcurl
--- token_url: /to-intercom/behave/500/auth/eagle/token
--- more_headers eval
session_cookie()
--- request eval
callback_request(code => 'abc', state => make_state())
--- error_code: 502
--- response_body
exchange_failed [0]
--- error_log
failed: status 500 (server_error: Internal server error)
--- no_error_log
the location answered



=== TEST 10: a URI no location takes: 502, the location's 404 in the log
--- token_url: /no-such-location/token
--- more_headers eval
session_cookie()
--- request eval
callback_request(code => 'abc', state => make_state())
--- error_code: 502
--- response_body
exchange_failed [0]
--- error_log
token exchange with "/no-such-location/token" failed: the location answered 404 itself



=== TEST 11: a location URI is accepted where a URL is, and other text is not
--- http_config eval
$main::SrConfig =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url token;}r
--- config
location = /t { return 200; }
--- must_die
--- error_log
"intercom_oauth_token_url" must be an http:// or https:// URL, not "token"



=== TEST 12: values the browser's request gave variables in the parent do not reach the location
intercom_oauth_key evaluates $cookie_intercom_oauth_sid in the parent, and
nginx caches a variable's value per request; a subrequest shares that
cache unless it has its own, so a location naming the variable sent the
browser's session id to the token endpoint (found by review).
--- token_url: /to-intercom-vars/behave/echo/auth/eagle/token
--- config eval
$main::Locations . <<"_EOC_"
location ^~ /to-intercom-vars/ {
    internal;
    proxy_set_header X-Key "k=\$cookie_intercom_oauth_sid";
    proxy_set_header X-Agent "a=\$http_user_agent";
    proxy_pass https://127.0.0.1:\$TEST_NGINX_STANDIN_PORT/;
$main::Upstream
}
_EOC_
--- request eval
["GET /reset",
 callback_request(code => 'vars-1', state => make_state()),
 "GET /seen"]
--- more_headers eval
"Cookie: intercom_oauth_sid=$SID
User-Agent: browser-agent-leak"
--- error_code eval
[200, 302, 200]
--- response_body_like eval
[qr/\{\}/, qr/302/,
 qr/\A(?!.*(?:\Q$SID\E|browser-agent-leak))(?=.*"X-Key":"k=")(?=.*"X-Agent":"a=ngx_http_intercom_oauth_module\/[^"]+").*"method":"POST","path":"\/behave\/echo\/auth\/eagle\/token"/s]
--- no_error_log
[alert]
