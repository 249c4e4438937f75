# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# intercom_oauth_store_wait: a primary and one replica (redis-server on
# loopback).  A callback answers 302 only once WAIT says the replica has
# the token; with the replica stalled (SIGSTOP), or asked for more
# replicas than there are, it answers 503 store_unavailable, keeps
# nothing on the host, and deletes the primary's copy.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use Time::HiRes qw(sleep time);
use Test::More;

my $root    = $IntercomOAuthTest::ROOT;
my $base    = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port    = $base + 112;
my $primary = free_port($base + 113, $port);
my $replica = free_port($base + 114, $port, $primary);
my $dir     = "$root/t/servroot-redis-" . ($base + 113);

system('rm', '-rf', $dir);
mkdir $dir;

my $keyfile = secret_file("$dir/store.key", 'f6' x 32);

start_redis($primary, "$dir/primary");
start_redis($replica, "$dir/replica", '--replicaof', '127.0.0.1', $primary);

for (1 .. 100) {
    last if redis_cli($primary, 'INFO', 'replication')
            =~ /connected_slaves:1/
            && redis_cli($replica, 'INFO', 'replication')
            =~ /master_link_status:up/;
    sleep 0.1;
}

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
_EOC_

my %started;
END { stop_nginx($_) for values %started }

sub host {
    my ($wait) = @_;
    my $http = $HTTP_CONFIG . store_http_config($primary, $keyfile)
        . "    intercom_oauth_store_wait $wait;\n";
    return $started{w} = start_nginx('wait', $port, $locations,
                                     http_config => $http);
}

sub key_of { token_key('intercom_oauth:', 'f6' x 32, $CLIENT_ID, $_[0]) }

# -- the replica acknowledges: 302, and the replica has the token --------

my $prefix = host('1 300ms');
sleep 0.3;

my $sid = new_sid();
is(flow_callback($port, $sid, flow_connect($port, $sid)), 302,
   'WAIT 1 met: 302');
is(redis_cli($replica, 'EXISTS', key_of($sid)), "1\n",
   'the replica has the token when the browser is told');

# -- the replica stalls: 503, nothing kept -------------------------------

kill 'STOP', redis_pid($replica);

my $sid2 = new_sid();
my $t0 = time;
is(flow_callback($port, $sid2, flow_connect($port, $sid2)), 503,
   'the replica stalled: 503');
my $took = time - $t0;
ok($took >= 0.25 && $took < 2, "after the WAIT timeout ($took s)");
is(token_of($port, $sid2), '[0][]', 'nothing kept on the host');
sleep 0.2;
is(redis_cli($primary, 'EXISTS', key_of($sid2)), "0\n",
   'and the primary\'s copy is deleted');
like(error_log_of($prefix),
     qr/the token reached 0 of 1 replicas in 300 ms \(intercom_oauth_store_wait\); not kept/,
     'the log says why');

kill 'CONT', redis_pid($replica);
sleep 0.3;

my $sid3 = new_sid();
is(flow_callback($port, $sid3, flow_connect($port, $sid3)), 302,
   'the replica back: 302 again');

# -- more replicas asked for than there are -------------------------------

stop_nginx($prefix);
$prefix = host(2);
sleep 0.3;

my $sid4 = new_sid();
is(flow_callback($port, $sid4, flow_connect($port, $sid4)), 503,
   'WAIT 2 with one replica: 503');
like(error_log_of($prefix), qr/the token reached 1 of 2 replicas in 1000 ms/,
     'the log counts the replica that has it');

stop_nginx($prefix);
stop_redis($replica);
stop_redis($primary);

done_testing();
