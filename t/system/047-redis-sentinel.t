# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A Sentinel-managed group on loopback: a primary, two replicas and three
# sentinels (redis-server and redis-server --sentinel, Debian's package),
# nginx with "intercom_oauth_store sentinel://.../mymaster" and
# "intercom_oauth_store_wait 1".
#
#   flows complete through the primary the sentinels name;
#   the primary is killed (SIGKILL) while callbacks run: flows answer 503
#   meanwhile and recover on their own once a replica is promoted (the
#   other replica follows it, so WAIT 1 is met again);
#   every token whose callback answered 302 is in the new primary.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Test::More;

my $root  = $IntercomOAuthTest::ROOT;
my $base  = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port  = $base + 115;
my @redis = ($base + 116, $base + 117, $base + 118);
my $dir   = "$root/t/servroot-redis-" . ($base + 116);

# the sentinels: +119 and two ports the system gives
sub system_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

my @sentinels = ($base + 119, system_port(), system_port());

system('rm', '-rf', $dir);
mkdir $dir;

my $keyfile = secret_file("$dir/store.key", 'a7' x 32);

start_redis($redis[0], "$dir/r0");
start_redis($_->[0], "$dir/r$_->[1]", '--replicaof', '127.0.0.1', $redis[0])
    for [$redis[1], 1], [$redis[2], 2];

start_group($dir, 'mymaster', $redis[0], [@redis[1, 2]], @sentinels);

like(redis_cli($sentinels[0], 'INFO', 'sentinel'),
     qr/slaves=2,sentinels=3/, 'the group: a primary, two replicas, three sentinels');

my $http = $HTTP_CONFIG . <<"_EOC_";
    intercom_oauth_store          sentinel://127.0.0.1:$sentinels[0],127.0.0.1:$sentinels[1],127.0.0.1:$sentinels[2]/mymaster;
    intercom_oauth_store_key      file:$keyfile;
    intercom_oauth_store_timeout  500ms;
    intercom_oauth_store_connect_timeout 500ms;
    intercom_oauth_store_wait     1 500ms;
_EOC_

my $locations = $FLOW_LOCATIONS;

my $prefix = start_nginx('sentinel', $port, $locations, http_config => $http);
END { stop_nginx($prefix) if $prefix }

sub key_of { token_key('intercom_oauth:', 'a7' x 32, $CLIENT_ID, $_[0]) }

sleep 0.5;

my @acked;    # sids whose callback answered 302

my $sid = new_sid();
is(flow_callback($port, $sid, flow_connect($port, $sid)), 302,
   'through the primary the sentinels name: a flow');
push @acked, $sid if redis_cli($redis[0], 'EXISTS', key_of($sid)) eq "1\n";
like(error_log_of($prefix), qr/connected \(primary 127\.0\.0\.1:$redis[0]\)/,
     'the log names the primary');

# -- the primary dies while callbacks run ---------------------------------

my ($first503, $recovered, %status);
my $killed = time;
stop_redis($redis[0], 'KILL');

while (time - $killed < 30) {
    my $s = new_sid();
    my $st = flow_callback($port, $s, flow_connect($port, $s));
    $status{$st}++;
    if ($st == 302) {
        push @acked, $s;
        if (defined $first503 && !defined $recovered) {
            $recovered = time;
        }
        last if defined $recovered && @acked >= 6;
    } else {
        $first503 //= time;
    }
    sleep 0.05;
}

ok(defined $recovered, 'flows answer 302 again after the failover, on their own');
my $down = defined $first503 && defined $recovered
           ? sprintf('%.1f', $recovered - $first503) : 'n/a';
my $others = join ',', map { "$_:$status{$_}" } grep { $_ != 302 && $_ != 503 }
                                                 keys %status;
is($others, '', 'meanwhile only 503, never another status');
diag("failover: flows answered 503 for $down s ("
     . ($status{503} || 0) . ' callbacks), then 302');

# -- every acknowledged token is on the new primary -----------------------

my $addr = redis_cli($sentinels[1], 'SENTINEL', 'get-master-addr-by-name',
                     'mymaster');
my ($newport) = $addr =~ /\n(\d+)\n/;
ok($newport && $newport != $redis[0], "a replica was promoted ($newport)");

my $lost = grep { redis_cli($newport, 'EXISTS', key_of($_)) ne "1\n" } @acked;
is($lost, 0, scalar(@acked) . ' tokens answered 302: none lost');
diag("failover: $lost of " . scalar(@acked) . ' acknowledged tokens lost');

my $other = (grep { $_ != $newport && $_ != $redis[0] } @redis)[0];
like(redis_cli($other, 'INFO', 'replication'),
     qr/master_port:$newport/, 'the other replica follows the new primary');

unlike(error_log_of($prefix), qr/\[(alert|crit|emerg)\]/, 'no alert');

stop_nginx($prefix);
undef $prefix;
stop_redis($_) for @redis;

done_testing();
