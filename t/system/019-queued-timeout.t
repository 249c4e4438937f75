# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A libcurl call whose intercom_oauth_timeout ran out while it waited in
# the engine's queue is answered 504 without being sent: its code would
# be spent at Intercom for a browser that is told it failed.  120
# callbacks reach a stopped worker at once, with a 1 ms limit: the first
# batch of 16 is handed to libcurl in the iteration that read them, the
# rest wait for later iterations, by which time reading 120 requests has
# taken more than 1 ms.  The token endpoint is a listener of this test
# that counts connections and never answers.  Before, every queued call
# was handed to libcurl with 1 ms left, and connected (found by review).
#
# Ports: TEST_NGINX_SERVER_PORT + 24 (nginx), + 25 (the listener).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Socket::INET;
use Test::More;

my $base = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port = $base + 24;
my $lport = $base + 25;
my $n = 120;

my $listener = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$lport",
                                     Listen => 1024, ReuseAddr => 1)
    or die "listen on $lport: $!";

# the child accepts and keeps every connection, and reports how many
pipe(my $rd, my $wr) or die "pipe: $!";
my $child = fork() // die "fork: $!";

if ($child == 0) {
    close $rd;
    my ($count, @keep) = (0);
    local $SIG{TERM} = sub { print $wr "$count\n"; close $wr; exit 0 };
    while (my $c = $listener->accept) {
        $count++;
        push @keep, $c;
    }
    exit 0;
}

close $wr;
close $listener;

my $http = $HTTP_CONFIG;
$http =~ s{intercom_oauth_token_url\s+\S+;}
          {intercom_oauth_token_url http://127.0.0.1:$lport/token;};
$http =~ s{intercom_oauth_timeout\s+\S+;}{intercom_oauth_timeout 1ms;};

my $prefix = start_nginx('queued-timeout', $port, <<'_EOC_',
        location = /callback { intercom_oauth_callback; }
_EOC_
    http_config => $http, master => 1, worker_connections => 1024);

my $master = nginx_pid($prefix);
wait_workers($master, 1);
my ($worker) = worker_pids($master);

my @socks = map {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 10)
        or die "connect: $!";
    $s->autoflush(1);
    $s
} 1 .. $n;
select(undef, undef, undef, 0.5);

write_stopped($worker, \@socks, [callback_burst('t', $n)]);

my %statuses;
$statuses{(http_read($_))[0]}++ for @socks;
is_deeply(\%statuses, { 504 => $n }, "all $n callbacks answered 504")
    or diag(explain(\%statuses));

select(undef, undef, undef, 0.3);
kill 'TERM', $child;
my $connected = <$rd>;
waitpid($child, 0);
chomp($connected //= '');

# the first batch may connect; the calls that waited longer than their
# limit in the queue must not
cmp_ok($connected, '<=', 16,
       "at most the first batch of 16 connected ($connected)");

stop_nginx($prefix);

done_testing();
