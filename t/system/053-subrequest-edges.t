# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The subrequest engine's edge cases, over HTTP/1.1 (Connection: close:
# the browser's connection is freed from within the subrequest's end) and
# HTTP/2: a token location that fails at once (the subrequest ends inside
# nginx's posted-requests loop), a token that succeeds and a /me location
# that fails at once (two calls ending that way), a client that goes away
# while the token request waits (RST_STREAM / close), and
# intercom_oauth_timeout.  The worker must neither crash nor log an
# alert, and answer afterwards.
#
# Ports: TEST_NGINX_SERVER_PORT + 84 (HTTP/1.1), + 85 (h2c).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use Test::More;
use Time::HiRes ();

my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 84;
my $h2c  = $port + 1;
my $sp   = $ENV{TEST_NGINX_STANDIN_PORT};

system('curl --version | grep -q HTTP2') == 0
    or plan skip_all => 'curl has no HTTP/2';

my $http_config = $HTTP_CONFIG;
$http_config =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url /to-intercom/behave/echo/auth/eagle/token;};
$http_config =~ s{intercom_oauth_api_url\s+\S+;}{intercom_oauth_api_url /to-intercom/behave/echo;};

my $listen = nginx_version() >= 1025001
    ? "listen 127.0.0.1:$h2c;\n        http2 on;"
    : "listen 127.0.0.1:$h2c http2;";

my $prefix = start_nginx('sredges', $port, <<"_EOC_", http_config => $http_config);
        $listen

        location = /callback { intercom_oauth_callback; }
        location = /cb-nowhere {
            intercom_oauth_token_url /no-such-location/token;
            intercom_oauth_callback;
        }
        location = /cb-me-nowhere {
            intercom_oauth_token_url /to-intercom/behave/echo/auth/eagle/token;
            intercom_oauth_api_url /no-such-location;
            intercom_oauth_callback;
        }
        location = /cb-slow {
            intercom_oauth_token_url /to-intercom/behave/slow-1500/auth/eagle/token;
            intercom_oauth_callback;
        }
        location = /cb-timeout {
            intercom_oauth_token_url /to-intercom/behave/slow-3000/auth/eagle/token;
            intercom_oauth_timeout 300ms;
            intercom_oauth_callback;
        }
        location = /token { return 200 "[\$intercom_oauth_connected]"; }
        location ^~ /to-intercom/ {
            internal;
            proxy_pass https://127.0.0.1:$sp/;
        }
_EOC_

END { stop_nginx($prefix) if $prefix }

my $cookie = "intercom_oauth_sid=$SID";
my ($master) = nginx_pid($prefix);
my @workers = worker_pids($master);

sub curl {
    my ($url, @opt) = @_;
    my $out = `curl -s @opt -H 'Cookie: $cookie' -w '\\n%{http_version} %{http_code}' '$url'`;
    my ($body, $status) = $out =~ /\A(.*)\n([^\n]*)\z/s;
    return ($body // '', $status // '');
}

my $h2 = "http://127.0.0.1:$h2c";
my @h2 = ('--http2-prior-knowledge', '-m 10');

for my $round (1 .. 3) {
    my ($body, $status);

    # HTTP/1.1, Connection: close: the connection is closed from within
    # the nested posted-requests loop
    ($status) = http_request($port, 'GET /cb-nowhere?code=a&state='
                             . make_state(), "Cookie: $cookie");
    is($status, 502, "$round: HTTP/1.1, token location fails at once: 502");

    ($status) = http_request($port, 'GET /cb-me-nowhere?code=a&state='
                             . make_state(), "Cookie: $cookie");
    # /me is optional: the token is kept, the callback redirects
    is($status, 302, "$round: HTTP/1.1, /me location fails at once: 302");

    ($body, $status) = curl("$h2/cb-nowhere?code=a&state=" . make_state(),
                            @h2);
    is($status, '2 502', "$round: HTTP/2, token location fails at once");

    ($body, $status) = curl("$h2/cb-me-nowhere?code=a&state="
                            . make_state(), @h2);
    is($status, '2 302', "$round: HTTP/2, /me location fails at once: 302");

    # the client goes away while the token request waits
    curl("$h2/cb-slow?code=a&state=" . make_state(), '--http2-prior-knowledge',
         '-m 0.5');
    my $s = http_send($port, 'GET /cb-slow?code=a&state=' . make_state(),
                      "Cookie: $cookie");
    Time::HiRes::sleep(0.3);
    close $s;

    ($body, $status) = curl("$h2/cb-timeout?code=a&state=" . make_state(),
                            @h2);
    is($status, '2 504', "$round: HTTP/2, intercom_oauth_timeout: 504");
}

# the abandoned token requests end now
sleep 2;

my ($body, $status) = curl("$h2/callback?code=z&state=" . make_state(), @h2);
is($status, '2 302', 'HTTP/2: a callback after all that: 302');

is_deeply([worker_pids($master)], \@workers, 'the same worker: no crash');

my $log = error_log_of($prefix);
unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');
unlike($log, qr/exited on signal/, 'no worker exited on a signal');

done_testing();
