# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The subrequest engine under a parent request served over HTTP/2, in
# clear text (h2c, prior knowledge) and over TLS (ALPN): the callback
# exchanges the code, /me is asked, the token is stored and the browser
# gets its redirect; the stand-in sees no browser header.  curl is the
# HTTP/2 client (Test::Nginx speaks HTTP/1.x only).
#
# Ports: TEST_NGINX_SERVER_PORT + 70 (HTTP/1.1), + 71 (h2c), + 72 (h2).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use Test::More;

my $root  = $IntercomOAuthTest::ROOT;
my $port  = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 70;
my $h2c   = $port + 1;
my $h2    = $port + 2;
my $certs = $ENV{TEST_NGINX_CERT_DIR};
my $sp    = $ENV{TEST_NGINX_STANDIN_PORT};

system('curl --version | grep -q HTTP2') == 0
    or plan skip_all => 'curl has no HTTP/2';

my $http_config = $HTTP_CONFIG;
$http_config =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url /to-intercom/behave/echo/auth/eagle/token;};
$http_config =~ s{intercom_oauth_api_url\s+\S+;}{intercom_oauth_api_url /to-intercom/behave/echo;};

my $upstream = <<"_EOC_";
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $certs/ca.crt;
            proxy_ssl_server_name on;
            proxy_ssl_name localhost;
_EOC_

# nginx >= 1.25.1 turns HTTP/2 on with "http2 on;" ("listen ... http2",
# the only form of 1.22, draws a deprecation notice there)
my $listen = nginx_version() >= 1025001
    ? "listen 127.0.0.1:$h2c;\n        listen 127.0.0.1:$h2 ssl;\n        http2 on;"
    : "listen 127.0.0.1:$h2c http2;\n        listen 127.0.0.1:$h2 ssl http2;";

my $prefix = start_nginx('http2', $port, <<"_EOC_", http_config => $http_config);
        $listen
        ssl_certificate     $certs/server.crt;
        ssl_certificate_key $certs/server.key;

        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[\$intercom_oauth_connected][\$intercom_access_token]"; }
        location = /who { return 200 "\$intercom_admin_id"; }
        location ^~ /to-intercom/ {
            internal;
            proxy_pass https://127.0.0.1:$sp/;
$upstream
        }
        location = /seen {
            proxy_pass https://127.0.0.1:$sp/_standin/requests;
$upstream
        }
        location = /reset {
            proxy_method POST;
            proxy_pass https://127.0.0.1:$sp/_standin/reset;
$upstream
        }
_EOC_

END { stop_nginx($prefix) if $prefix }

my $cookie = "intercom_oauth_sid=$SID; other=browser-cookie";

# curl: (body, "http_version status")
sub curl {
    my ($url, @opt) = @_;
    my $out = `curl -s -m 10 @opt -H 'Cookie: $cookie' -H 'Authorization: Basic YnJvd3Nlcjpwdw==' -w '\\n%{http_version} %{http_code}' '$url'`;
    my ($body, $status) = $out =~ /\A(.*)\n([^\n]*)\z/s;
    return ($body // '', $status // '');
}

my %via = (
    h2c => ["http://127.0.0.1:$h2c", '--http2-prior-knowledge'],
    h2  => ["https://localhost:$h2", '--http2', "--cacert $certs/ca.crt"],
);

for my $name (qw(h2c h2)) {
    my ($base, @opt) = @{ $via{$name} };

    http_request($port, 'GET /reset');

    my $state = make_state();
    my ($body, $status) = curl("$base/callback?code=$name-1&state=$state",
                               @opt);
    is($status, '2 302', "$name: the callback answers 302 over HTTP/2");

    ($body, $status) = curl("$base/token", @opt);
    is($status, '2 200', "$name: /token over HTTP/2");
    is($body, '[1][echo]', "$name: the token is stored");

    ($body, $status) = curl("$base/who", @opt);
    isnt($body, '', "$name: and the identity from /me");

    my (undef, undef, $seen) = http_request($port,
                                                              'GET /seen');
    like($seen, qr/"path":"\/behave\/echo\/auth\/eagle\/token".*"body":"code=$name-1&client_id=test-client&client_secret=test-secret"/s,
         "$name: the stand-in got the module's form");
    like($seen, qr/"path":"\/behave\/echo\/me","headers":\{[^}]*"Authorization":"Bearer echo"/,
         "$name: and /me with the Bearer token");
    unlike($seen, qr/browser-cookie|Basic|YnJvd3Nlcjpwdw|Cookie/,
           "$name: and nothing of the browser's headers");
}

my $log = error_log_of($prefix);
unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');

done_testing();
