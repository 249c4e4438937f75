# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The system tests' start_nginx (t/lib/IntercomOAuthTest/System.pm) against
# the start/stop race: an nginx stopped just before may still hold the
# port when the next one starts on it (t/system/041-redis-faults.t restarts
# nginx on one port nine times), and bind() then fails with "Address
# already in use" (nginx itself tries bind() five times, 500 ms apart).  A
# process that holds the port and lets it go 3.5 s later stands in for it:
# start_nginx waits for the port, then for the pid file, and the nginx it
# started answers.
#
# Port: one from the system (no fixed offset).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);

my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1) or die $!;
my $port = $probe->sockport;
close $probe;

# the previous holder of the port: it listens, and exits 3.5 s later,
# after nginx's own retries
my $holder = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                                   Listen => 16, ReuseAddr => 1)
    or die "listen on $port: $!";
my $pid = fork // die;
if ($pid == 0) {
    sleep 3.5;
    exit 0;
}
close $holder;

my $t0 = time;
my $prefix = eval {
    start_nginx('harness', $port, <<'_EOC_', http_config => '');
        location = /ok { return 200 "ok"; }
_EOC_
};
my $err = $@;
waitpid $pid, 0;

ok($prefix, 'start_nginx on a port still held by a process on its way out')
    or diag $err;
cmp_ok(time - $t0, '>=', 3, 'it waited for the port to be free');
ok(-s "$prefix/logs/nginx.pid", 'and returned with the pid file written')
    if $prefix;

my ($status, undef, $body) = $prefix ? http_request($port, 'GET /ok') : (0);
is($status, 200, 'the nginx it started answers');
is($body, 'ok', 'with its own answer');

if ($prefix) {
    my $npid = nginx_pid($prefix);
    stop_nginx($prefix);
    ok(!kill(0, $npid), 'stop_nginx returns once nginx is gone');
    my $again = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Listen => 1,
                                      ReuseAddr => 1);
    ok($again, 'and the port is free at once');
}

done_testing();
