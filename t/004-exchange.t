# The token exchange: every way the token endpoint can answer, and fail.

use lib 't/lib';
use IntercomOAuthTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();

our $Locations = <<'_EOC_';
location = /callback { intercom_oauth_callback; }
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
_EOC_

# every block points the token URL at one of the stand-in's behaviours
add_block_preprocessor(sub {
    my $block = shift;
    my $behave = $block->behave;
    my $c = $HTTP_CONFIG;

    if (defined $behave) {
        chomp $behave;
        $c =~ s{/behave/ok/}{/behave/$behave/};
    }

    $c .= $block->extra_http_config if defined $block->extra_http_config;

    $block->set_value('http_config', $c) unless defined $block->http_config;
    $block->set_value('config', $Locations) unless defined $block->config;
    $block->set_value('more_headers', session_cookie())
        unless defined $block->more_headers;
    $block->set_value('request',
                      [callback_request(code => 'abc', state => make_state()),
                       "GET /token"])
        unless defined $block->request;
});

run_tests();

__DATA__

=== TEST 1: "access_token" and "token" both present
--- behave: ok
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[[A-Za-z0-9_-]{20,}\]$/]



=== TEST 2: only "token" (fallback)
--- behave: token-only
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[[A-Za-z0-9_-]{20,}\]$/]



=== TEST 3: only "access_token"
--- behave: access-only
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302/, qr/^\[1\]\[[A-Za-z0-9_-]{20,}\]$/]



=== TEST 4: 401 "Unauthorized Code" in Intercom's error.list
--- behave: 401
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/<code>exchange_failed<\/code> \(502\)/, qr/^\[0\]\[\]$/]
--- error_log eval
qr/intercom oauth: token exchange with "https:\/\/127\.0\.0\.1:\d+\/behave\/401\/auth\/eagle\/token" failed: status 401 \(unauthorized: Unauthorized Code\)/



=== TEST 5: 500
--- behave: 500
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log
failed: status 500



=== TEST 6: HTML with 200
--- behave: html
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log
failed: the response is not a JSON object



=== TEST 7: malformed JSON
--- behave: malformed
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log
failed: the response is not a JSON object



=== TEST 8: no token in the response
--- behave: notoken
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log
failed: the response has no access token



=== TEST 9: empty tokens
--- behave: empty-token
--- error_code eval
[502, 200]
--- error_log
failed: the response has no access token



=== TEST 10: a token AND a non-empty "errors" array is a failure
--- behave: errors
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log
failed: the response is an error list



=== TEST 11: a redirect is not followed
--- behave: redirect
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log
failed: status 302



=== TEST 12: a body over the cap (64 KiB)
--- behave: big
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log
failed: response larger than 65536 bytes



=== TEST 13: the endpoint answers after the timeout: 504
--- behave: slow-3000
--- extra_http_config
intercom_oauth_timeout 500ms;
--- error_code eval
[504, 200]
--- response_body_like eval
[qr/<code>exchange_timeout<\/code> \(504\)/, qr/^\[0\]\[\]$/]
--- error_log eval
qr/token exchange with "[^"]+" timed out after \d+ ms/



=== TEST 14: connection refused
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url https://127.0.0.1:1/auth/eagle/token;}r
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log
failed: Couldn't connect to server



=== TEST 15: a certificate from a CA the module does not trust
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_ca_file\s+\S+;}{intercom_oauth_ca_file $ENV{TEST_NGINX_CERT_DIR}/other-ca.crt;}r
--- error_code eval
[502, 200]
--- response_body_like eval
[qr/exchange_failed/, qr/^\[0\]\[\]$/]
--- error_log eval
qr/token exchange with "[^"]+" failed: (SSL peer certificate or SSH remote key was not OK|Peer certificate cannot be authenticated)/



=== TEST 16: the system CA store does not trust the stand-in
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_ca_file\s+\S+;\n}{}r
--- error_code eval
[502, 200]
--- error_log
SSL peer certificate or SSH remote key was not OK



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
