# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The store's host name follows DNS without a reload, with nginx's
# "resolver": a DNS stand-in (t/standin/dns_standin.py) answers for
# redis.intercom.test with the address in a file; two redis-servers, X on
# 127.0.0.2 and Y on 127.0.0.3, on the same port.
#
#   the name on X: a flow, its token in X;
#   the name moved to Y, X made a replica of Y (a failover): X answers
#   READONLY, the module reconnects, resolves again and writes to Y;
#   the name moved back, Y gone: the reconnect resolves again, X again.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use POSIX ();
use Time::HiRes qw(sleep);
use Test::More;

my $root  = $IntercomOAuthTest::ROOT;
my $base  = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port  = $base + 109;
my $rport = $base + 110;
my $dport = $base + 111;
my $dir   = "$root/t/servroot-redis-" . ($base + 110);

system('rm', '-rf', $dir);
mkdir $dir;

my $keyfile = secret_file("$dir/store.key", 'e5' x 32);
my $ipfile  = "$dir/redis.intercom.test";

sub point_at {
    open my $fh, '>', "$ipfile.new" or die $!;
    print $fh "$_[0]\n";
    close $fh;
    rename "$ipfile.new", $ipfile or die $!;
}

point_at('127.0.0.2');

my %pids;

sub spawn {
    my ($name, @cmd) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>>', "$dir/$name.log";
        open STDERR, '>&', \*STDOUT;
        no warnings 'exec';
        exec @cmd;
        POSIX::_exit(127);
    }
    $pids{$name} = $pid;
}

sub cli {
    my ($ip, @args) = @_;
    my $q = join ' ', map { "'$_'" } @args;
    return scalar `redis-cli -h $ip -p $rport $q 2>/dev/null`;
}

sub redis {
    my ($name, $ip) = @_;
    mkdir "$dir/$name";
    spawn($name, 'redis-server', '--port', $rport, '--bind', $ip,
          '--dir', "$dir/$name", '--save', '', '--appendonly', 'no',
          '--daemonize', 'no');
    for (1 .. 200) {
        return if cli($ip, 'PING') eq "PONG\n";
        sleep 0.05;
    }
    die "redis-server $name did not start on $ip:$rport\n";
}

sub stop {
    my $pid = delete $pids{$_[0]} or return;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

END {
    my $rc = $?;
    for my $pid (values %pids) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    $? = $rc;
}

spawn('dns', 'python3', "$root/t/standin/dns_standin.py", $dport, $ipfile);
redis('X', '127.0.0.2');
redis('Y', '127.0.0.3');

my $http = $HTTP_CONFIG . <<"_EOC_";
    resolver                      127.0.0.1:$dport valid=1s ipv6=off;
    resolver_timeout              1s;
    intercom_oauth_store          redis://redis.intercom.test:$rport;
    intercom_oauth_store_key      file:$keyfile;
    intercom_oauth_store_timeout  500ms;
    intercom_oauth_store_connect_timeout 500ms;
_EOC_

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
_EOC_

my $prefix = start_nginx('dns', $port, $locations, http_config => $http);
my $nginx = nginx_pid($prefix);

sub key_of { token_key('intercom_oauth:', 'e5' x 32, $CLIENT_ID, $_[0]) }

# a flow, retried while the store is away: (first status, final status)
sub flow_until_302 {
    my ($sid) = @_;
    my ($first, $last);
    for (1 .. 40) {
        $last = flow_callback($port, $sid, flow_connect($port, $sid));
        $first //= $last;
        last if $last == 302;
        sleep 0.1;
    }
    return ($first, $last);
}

# -- the name on X --------------------------------------------------------

sleep 0.3;
my $s1 = new_sid();
is((flow_until_302($s1))[1], 302, 'the name resolves to X: a flow');
is(cli('127.0.0.2', 'EXISTS', key_of($s1)), "1\n", 'its token is in X');

# -- failover: the name moves to Y, X becomes Y's replica ----------------

point_at('127.0.0.3');
sleep 1.2;                                  # nginx's resolver cache (valid=1s)
cli('127.0.0.2', 'REPLICAOF', '127.0.0.3', $rport);
sleep 0.3;

my $s2 = new_sid();
my ($first, $last) = flow_until_302($s2);
is($first, 503, 'the first callback after the failover: X answers READONLY, 503');
is($last, 302, 'then the module follows the name to Y, without a reload');
is(cli('127.0.0.3', 'EXISTS', key_of($s2)), "1\n", 'the token is in Y');
like(error_log_of($prefix), qr/store "redis:[^"]+": Redis answered READONLY \(a replica\); reconnecting/,
     'the log says why it reconnected');
is(nginx_pid($prefix), $nginx, 'no reload, no restart');

# -- the name moves back, Y goes away: the reconnect resolves again ------

point_at('127.0.0.2');
cli('127.0.0.2', 'REPLICAOF', 'NO', 'ONE');
sleep 1.2;
stop('Y');

my $s3 = new_sid();
is((flow_until_302($s3))[1], 302, 'Y gone, the name back on X: a flow');
is(cli('127.0.0.2', 'EXISTS', key_of($s3)), "1\n", 'its token is in X');
unlike(error_log_of($prefix), qr/\[(alert|crit|emerg)\]/, 'no alert');

stop_nginx($prefix);
stop('X');
stop('dns');

done_testing();
