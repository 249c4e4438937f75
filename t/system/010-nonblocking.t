# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The worker is never blocked: with one worker, a token endpoint that
# answers only after 2 s does not delay other requests on that worker.
#
# Plain Test::More: Test::Nginx blocks run their requests one after the
# other, and this needs one request left waiting while others are served.
# The assertion is about order, not time: every other request is answered
# while the callback's answer has not arrived.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Select;
use Test::More;

my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 10;

my $http = $HTTP_CONFIG;
$http =~ s{/behave/ok/}{/behave/slow-2000/};

my $prefix = start_nginx('nonblocking', $port, <<'_EOC_', http_config => $http);
        location = /callback { intercom_oauth_callback; }
        location = /fast { return 200 "fast\n"; }
        location = /connect { intercom_connect_button; }
_EOC_

my $slow = http_send($port,
    callback_request(code => 'nonblocking', state => make_state()),
    session_cookie());

my $sel = IO::Select->new($slow);
my $served = 0;

for my $i (1 .. 20) {
    my ($status, undef, $body) = http_request($port, $i % 2 ? 'GET /fast'
                                                            : 'GET /connect');
    $served++ if $status == 200;

    # the slow callback must still be waiting after each of them
    last if $sel->can_read(0);
}

is($served, 20, 'all 20 other requests were answered');
ok(!$sel->can_read(0), 'while the callback was still waiting for the token endpoint');

my ($status, $head) = http_read($slow);
is($status, 302, 'then the callback finished with its redirect');

my $text = error_log_of($prefix);
like($text, qr/intercom oauth: access token stored \((\d+) ms exchange\)/,
     'the token was stored');
my ($ms) = $text =~ /access token stored \((\d+) ms exchange\)/;
cmp_ok($ms, '>=', 1900, 'the exchange itself took the endpoint\'s 2 s');

stop_nginx($prefix);

done_testing();
