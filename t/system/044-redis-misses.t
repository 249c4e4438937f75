# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# intercom_oauth_store_miss_ttl: a key Redis has no token for is asked
# once per miss_ttl, not on every request; a token stored meanwhile on this
# host is seen at once, one stored on another host after miss_ttl at most;
# 0 asks every time.  A real redis-server on loopback, two nginx hosts.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use Time::HiRes qw(sleep);
use Test::More;

my $root  = $IntercomOAuthTest::ROOT;
my $base  = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my %port  = (A => $base + 106, B => $base + 107);
my $rport = free_port($base + 108, values %port);
my $dir   = "$root/t/servroot-redis-" . ($base + 108);

system('rm', '-rf', $dir);
mkdir $dir;

my $keyfile = secret_file("$dir/store.key", 'd4' x 32);

start_redis($rport, "$dir/redis");

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
        location = /status { intercom_oauth_status; }
_EOC_

my %started;
END { stop_nginx($_) for values %started }

sub host {
    my ($h, $miss) = @_;
    my $http = $HTTP_CONFIG . store_http_config($rport, $keyfile)
        . (defined $miss ? "    intercom_oauth_store_miss_ttl $miss;\n" : '');
    return $started{$h} = start_nginx("miss$h", $port{$h}, $locations,
                                      http_config => $http);
}

sub reads {
    my ($h) = @_;
    my (undef, undef, $body) = http_request($port{$h}, 'GET /status');
    return $body =~ /"reads":(\d+),"hits":(\d+),"misses":(\d+)/
           ? "$1/$2/$3" : $body;
}

sub gets {
    my $info = redis_cli($rport, 'INFO', 'commandstats');
    return $info =~ /cmdstat_get:calls=(\d+)/ ? $1 : 0;
}

# -- an unknown key: one GET per miss_ttl -------------------------------

host('A', '2s');
host('B');

my $sid = new_sid();
my $g0 = gets();
is(token_of($port{A}, $sid), '[0][]', 'an unknown key: not connected') for 1 .. 5;
is(reads('A'), '1/0/1', 'five requests, one read of Redis, one miss');
is(gets() - $g0, 1, 'Redis saw one GET');

# -- a token stored on another host is seen after miss_ttl at most ------

is(flow_callback($port{B}, $sid, flow_connect($port{B}, $sid)), 302,
   'the same key connects on B');
is(token_of($port{A}, $sid), '[0][]',
   'A still remembers the miss (within miss_ttl)');
sleep 2.1;
like(token_of($port{A}, $sid), qr/^\[1\]\[\S+\]$/,
     'after miss_ttl A asks Redis again and finds the token');

# -- a token stored on this host replaces the miss at once ---------------

my $sid2 = new_sid();
is(token_of($port{A}, $sid2), '[0][]', 'another unknown key on A');
is(flow_callback($port{A}, $sid2, flow_connect($port{A}, $sid2)), 302,
   'it connects on A');
like(token_of($port{A}, $sid2), qr/^\[1\]\[\S+\]$/,
     'A sees its own token at once');

# -- the default (1s), and 0: every request asks -------------------------

stop_nginx($started{A});
host('A');
my $sid3 = new_sid();
$g0 = gets();
token_of($port{A}, $sid3) for 1 .. 3;
is(gets() - $g0, 1, 'default miss_ttl: three requests within it, one GET');

stop_nginx($started{A});
host('A', 0);
$g0 = gets();
token_of($port{A}, $sid3) for 1 .. 3;
is(gets() - $g0, 3, 'miss_ttl 0: one GET per request, as before');

stop_redis($rport);

done_testing();
