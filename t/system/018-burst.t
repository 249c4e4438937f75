# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A burst of callbacks on one worker: all of them finish, and the libcurl
# engine hands their transfers to libcurl in batches, at most 16 per
# event-loop iteration, so that the worker's other requests are served
# between batches instead of after every transfer has been started
# (docs/engines.md, "The libcurl engine under a burst").
#
# The assertion is about the event loop's structure, read from the debug
# log, not about time: nginx logs "epoll timer" before each epoll_wait(),
# the module "curl opens socket" for each connection a transfer opens.
# The callbacks are written while nginx (one process, master_process off)
# is stopped, on connections it has accepted already, so that one
# epoll_wait() returns all of them; the plain request follows a moment
# after nginx runs again, while it reads them, so that it is read in a
# later iteration.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Socket::INET;
use Test::More;

my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 18;
my $n = 120;

my $http = $HTTP_CONFIG;
$http =~ s{/behave/ok/}{/behave/slow-1000/};
$http =~ s{intercom_oauth_timeout\s+3s;}{intercom_oauth_timeout 20s;};

my $prefix = start_nginx('burst', $port, <<'_EOC_', http_config => $http,
        location = /callback { intercom_oauth_callback; }
        location = /fast { return 200 "fast\n"; }
_EOC_
    worker_connections => 1024);

# the connections first, accepted while nothing else happens
my @socks = map {
    IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10)
        or die "connect: $!"
} 1 .. $n + 1;
my $fast = pop @socks;
select(undef, undef, undef, 0.5);

# then every callback at once, and a plain request behind them
write_stopped(nginx_pid($prefix), \@socks, [callback_burst('burst', $n)]);
select(undef, undef, undef, 0.002);
print $fast "GET /fast HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n\r\n";

my ($status) = http_read($fast);
is($status, 200, 'the plain request sent behind the burst was answered');

my %statuses;
$statuses{(http_read($_))[0]}++ for @socks;
is_deeply(\%statuses, { 302 => $n }, "all $n callbacks finished with 302");

my $text = error_log_of($prefix);

my @stored = $text =~ /access token stored \((\d+) ms exchange\)/g;
is(scalar @stored, $n, "$n tokens stored");
cmp_ok((sort { $a <=> $b } @stored)[0], '>=', 900,
       'each exchange took the endpoint\'s 1 s');

if ($ENGINE eq 'libcurl') {
    my ($opened, $most, $in_iteration, $before_fast) = (0, 0, 0, undef);

    for my $line (split /\n/, $text) {
        if ($line =~ /epoll timer: /) {
            $in_iteration = 0;

        } elsif ($line =~ /intercom oauth: curl opens socket /) {
            $opened++;
            $in_iteration++;
            $most = $in_iteration if $in_iteration > $most;

        } elsif (!defined $before_fast
                 && $line =~ /http request line: "GET \/fast /)
        {
            $before_fast = $opened;
        }
    }

    cmp_ok($opened, '>=', $n, 'each transfer opened a connection');
    cmp_ok($most, '<=', 16,
           'at most 16 transfers were started in one iteration')
        or diag("$most in one iteration");
    ok(defined $before_fast && $before_fast < $n,
       'the plain request was read before every transfer had started')
        or diag('connections opened before it: ' . ($before_fast // 'none'));
}

unlike($text, qr/\[(?:alert|crit|emerg)\]/, 'no alert in the error log');

stop_nginx($prefix);

done_testing();
