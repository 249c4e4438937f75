# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Clients that go away while their calls wait in the
# libcurl engine's queue (or have just been handed to libcurl).  Half of
# a burst of 120 closes at once after nginx runs again: their requests
# are freed with their calls queued; the other half must finish, the
# worker must stay up, and a callback after the burst must work.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Socket::INET;
use Test::More;

my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 22;
my $n = 120;

my $http = $HTTP_CONFIG;
$http =~ s{/behave/ok/}{/behave/slow-500/};
$http =~ s{intercom_oauth_timeout\s+3s;}{intercom_oauth_timeout 20s;};

my $prefix = start_nginx('queued-close', $port, <<'_EOC_', http_config => $http,
        location = /callback { intercom_oauth_callback; }
_EOC_
    worker_connections => 1024, master => 1);

my $master = nginx_pid($prefix);
wait_workers($master, 1);
my ($worker) = worker_pids($master);

for my $round (1 .. 3) {
    my @socks = map {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10)
            or die "connect: $!"
    } 1 .. $n;
    select(undef, undef, undef, 0.3);

    write_stopped($worker, \@socks, [callback_burst("c$round-", $n)]);
    select(undef, undef, undef, 0.001 * $round);

    # every odd one goes away, its call queued or just started
    for (my $i = 1; $i < @socks; $i += 2) {
        close $socks[$i];
    }

    my %statuses;
    for (my $i = 0; $i < @socks; $i += 2) {
        $statuses{(http_read($socks[$i]))[0]}++;
    }

    is_deeply(\%statuses, { 302 => $n / 2 },
              "round $round: the callbacks still there all finished")
        or diag(explain(\%statuses));
}

my ($status) = http_request($port,
                            callback_request(code => 'after',
                                             state => make_state()),
                            session_cookie());
is($status, 302, 'a callback after the bursts');
is(join(',', worker_pids($master)), $worker, 'the same worker throughout');

my $text = error_log_of($prefix);
unlike($text, qr/\[(?:alert|crit|emerg)\]/, 'no alert in the error log')
    or diag(($text =~ /^(.*\[(?:alert|crit|emerg)\].*)$/m)[0]);
my $abandoned = () = $text =~ /transfer abandoned by its request/g;
diag("$abandoned transfers abandoned");

stop_nginx($prefix);

done_testing();
