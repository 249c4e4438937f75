# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A Sentinel failover while callbacks run: a primary, two replicas and
# three sentinels on loopback (Debian's redis-server), nginx with two
# workers, "intercom_oauth_store sentinel://.../mymaster" and
# "intercom_oauth_store_wait 1", and a token endpoint that takes 300 ms.
# Six clients (forked) run connect+callback flows in a loop, each with a
# fresh session, and the primary gets SIGKILL while they run, so that
# callbacks are on their way (most in their exchange, between the state's
# claim and the token's write) when it dies.  Every flow's start, end,
# status and session are recorded.
#
#   every callback answers 302 or 503 (never 500, 502, a closed
#   connection or no answer within 20 s);
#   flows answered 503 stop on their own once a replica is promoted and
#   the other one follows it (302 again, the last 503 within 15 s of the
#   kill);
#   every session whose callback answered 302 has its token on the new
#   primary, and /token of a restarted nginx (whose zone is empty)
#   answers it;
#   no write reached a replica (no READONLY in either survivor's errorstats).
#
# The figures (503s, how long, tokens acknowledged and lost) are printed
# as diag lines; docs/several-hosts.md quotes them.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use IO::Handle;
use IO::Socket::INET;
use List::Util qw(max min);
use POSIX ();
use Time::HiRes qw(sleep time);
use Time::Local qw(timelocal);
use Test::More;

my $root    = $IntercomOAuthTest::ROOT;
my $base    = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port    = free_port($base + 125);
my @ports   = ($port);
push @ports, free_port($base + 125 + @ports, @ports) for 1 .. 6;
my @redis     = @ports[1 .. 3];
my @sentinels = @ports[4 .. 6];
my $dir     = "$root/t/servroot-redis-" . ($base + 126);
my $clients = 6;

system('rm', '-rf', $dir);
mkdir $dir;

my $keyfile = secret_file("$dir/store.key", 'b8' x 32);

start_redis($redis[0], "$dir/r0");
start_redis($_->[0], "$dir/r$_->[1]", '--replicaof', '127.0.0.1', $redis[0])
    for [$redis[1], 1], [$redis[2], 2];

start_group($dir, 'mymaster', $redis[0], [@redis[1, 2]], @sentinels);

my %kids;    # the clients

END {
    my $rc = $?;
    for my $pid (values %kids) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    $? = $rc;
}

like(redis_cli($sentinels[0], 'INFO', 'sentinel'),
     qr/slaves=2,sentinels=3/,
     'the group: a primary, two replicas, three sentinels');

my $group = join ',', map { "127.0.0.1:$_" } @sentinels;
(my $http = $HTTP_CONFIG) =~ s{/behave/ok/}{/behave/slow-300/};
$http .= store_http_config("sentinel://$group/mymaster", $keyfile)
         . "    intercom_oauth_store_wait     1 500ms;\n";
my $locations = $FLOW_LOCATIONS;

my %nginx = (master => 1, workers => 2, http_config => $http);
my $prefix = start_nginx('failover', $port, $locations, %nginx);
END { stop_nginx($prefix) if $prefix }

sub key_of { token_key('intercom_oauth:', 'b8' x 32, $CLIENT_ID, $_[0]) }

# the sessions among @sids whose token the server on port holds: one
# connection, the EXISTS commands pipelined (a redis-cli per session took
# 20 s for the 503s of one run)
sub stored {
    my ($port, @sids) = @_;
    return () unless @sids;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or die "connect to $port: $!";
    print $s join '', map { 'EXISTS ' . key_of($_) . "\r\n" } @sids;
    my @kept;
    for my $sid (@sids) {
        my $line = <$s> // die "no answer from $port\n";
        push @kept, $sid if $line eq ":1\r\n";
    }
    close $s;
    return @kept;
}

# -- the clients ----------------------------------------------------------

my $stop = "$dir/stop";

# one flow: (status, sid); status "hang" when there is no answer in 20 s,
# "connect" when /connect gave no state
sub flow {
    my $sid = new_sid();
    my $status = eval {
        local $SIG{ALRM} = sub { die "hang\n" };
        alarm 20;
        my $state = flow_connect($port, $sid);
        my $st = defined $state ? flow_callback($port, $sid, $state)
                                : 'connect';
        alarm 0;
        $st;
    };
    alarm 0;
    return ($status // ($@ =~ /^hang/ ? 'hang' : 'died'), $sid);
}

for my $i (1 .. $clients) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        srand();    # codes of their own (flow_callback's rand)
        open my $out, '>', "$dir/flows.$i" or POSIX::_exit(1);
        $out->autoflush(1);
        until (-e $stop) {
            my $t0 = time;
            my ($status, $sid) = flow();
            printf $out "%.4f %.4f %s %s\n", $t0, time, $status, $sid;
            sleep $status eq '302' ? 0.02 : 0.1;    # less noise while down
        }
        close $out;
        POSIX::_exit(0);    # none of the parent's END blocks
    }
    $kids{$i} = $pid;
}

# [start, end, status, sid] of every flow so far
sub flows {
    my @f;
    for my $i (1 .. $clients) {
        open my $fh, '<', "$dir/flows.$i" or next;
        while (<$fh>) {
            push @f, [split] if /^\S+ \S+ \S+ \S+$/;
        }
    }
    return sort { $a->[0] <=> $b->[0] } @f;
}

# two flows a client, as many as that, complete through the old primary
for (1 .. 300) {
    last if grep({ $_->[2] eq '302' } flows()) >= 2 * $clients;
    sleep 0.1;
}
cmp_ok(scalar(grep { $_->[2] eq '302' } flows()), '>=', 2 * $clients,
       'flows complete through the primary the sentinels name');

# -- the primary dies while callbacks run ---------------------------------

my $killed = time;
stop_redis($redis[0], 'KILL');

# until the 503s have stopped for 3 s and 10 flows started after the last
# one answered 302, or 60 s
while (time - $killed < 60) {
    sleep 0.2;
    my @after = grep { $_->[1] > $killed } flows();
    my @bad = grep { $_->[2] ne '302' } @after;
    my $last = max($killed, map { $_->[1] } @bad);
    my $ok = grep { $_->[0] > $last && $_->[2] eq '302' } @after;
    last if @bad && $ok >= 10 && time - $last > 3;
}

open my $fh, '>', $stop or die $!;
close $fh;
for my $pid (values %kids) {
    waitpid $pid, 0;
}
%kids = ();

my @flows = flows();
my @after = grep { $_->[1] > $killed } @flows;
my @s503  = grep { $_->[2] eq '503' } @after;
my @other = grep { $_->[2] ne '302' && $_->[2] ne '503' } @flows;
my @inflight = grep { $_->[0] < $killed && $_->[1] > $killed } @flows;
my $inflight = @inflight;
my %inflight;
$inflight{$_->[2]}++ for @inflight;
my ($back) = sort { $a <=> $b } map { $_->[1] }
             grep { $_->[0] > $killed && $_->[2] eq '302' } @after;
my $first503 = @s503 ? min(map { $_->[1] } @s503) : undef;
my $last503  = @s503 ? max(map { $_->[1] } @s503) : undef;

is(join(',', map { $_->[2] } @other), '',
   scalar(@flows) . ' flows: every callback answered 302 or 503');
cmp_ok($inflight, '>=', 1, "$inflight flows were in flight at the kill");
ok(@s503 > 0, scalar(@s503) . ' callbacks answered 503 meanwhile');
ok($back, 'flows answer 302 again after the failover, on their own');
cmp_ok(($last503 // $killed) - $killed, '<', 15,
       'the last 503 within 15 s of the kill');

my %status;
$status{$_->[2]}++ for @flows;
my @acked = map { $_->[3] } grep { $_->[2] eq '302' } @flows;

my $fmt = sub { defined $_[0] ? sprintf('%.2f s', $_[0]) : 'n/a' };
diag(sprintf('failover: %d flows (%s), %d in flight at the kill (%s)',
             scalar(@flows),
             join(', ', map { "$_: $status{$_}" } sort keys %status),
             $inflight,
             join(', ', map { "$_: $inflight{$_}" } sort keys %inflight)));
diag('failover: flows answered 503 from '
     . $fmt->(@s503 ? $first503 - $killed : undef) . ' to '
     . $fmt->(@s503 ? $last503 - $killed : undef)
     . ' after the kill (first to last 503: '
     . $fmt->(@s503 ? $last503 - $first503 : undef)
     . '); kill to the first 302 of a flow started after it: '
     . $fmt->($back ? $back - $killed : undef));

# when the sentinels' leader promoted a replica, from its log (local time,
# to the millisecond)
sub promoted_at {
    my %mon;
    @mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = 0 .. 11;
    for my $p (@sentinels) {
        my ($d, $m, $y, $hh, $mm, $ss, $ms) = slurp("$dir/s$p/sentinel.log")
            =~ /(\d+)\ (\w{3})\ (\d{4})\ (\d\d):(\d\d):(\d\d)\.(\d{3})
                \ \#\ \+promoted-slave/x or next;
        return timelocal($ss, $mm, $hh, $d, $mon{$m}, $y) + $ms / 1000;
    }
    return undef;
}
my $promoted = promoted_at();
diag('failover: the sentinels promoted a replica '
     . $fmt->(defined $promoted ? $promoted - $killed : undef)
     . ' after the kill');

# -- every acknowledged token is on the new primary ------------------------

my $addr = redis_cli($sentinels[1], 'SENTINEL', 'get-master-addr-by-name',
                     'mymaster');
my ($newport) = $addr =~ /\n(\d+)\n/;
ok($newport && $newport != $redis[0], 'a replica was promoted ('
                                      . ($newport // 'none') . ')');
$newport //= $redis[1];

my %kept = map { $_ => 1 } stored($newport, @acked);
my @lost = grep { !$kept{$_} } @acked;
is(scalar(@lost), 0, scalar(@acked) . ' tokens answered 302: none lost');

my $kept503 = stored($newport, map { $_->[3] } @s503);
diag(sprintf('failover: %d 503s, %d acknowledged tokens, %d lost; %d of '
             . 'the 503s left a token on the new primary',
             scalar(@s503), scalar(@acked), scalar(@lost), $kept503));

like(error_log_of($prefix),
     qr/connected again \(primary 127\.0\.0\.1:$newport\)/,
     'the log names the new primary');

my $other = (grep { $_ != $newport && $_ != $redis[0] } @redis)[0];
for (1 .. 100) {
    last if redis_cli($other, 'INFO', 'replication')
            =~ /master_port:$newport\r?\n.*master_link_status:up/s;
    sleep 0.1;
}
like(redis_cli($other, 'INFO', 'replication'),
     qr/master_port:$newport\r?\n.*master_link_status:up/s,
     'the other replica follows the new primary');

for my $p ($newport, $other) {
    unlike(redis_cli($p, 'INFO', 'errorstats'), qr/errorstat_READONLY/,
           "no write reached a replica ($p)");
}

unlike(error_log_of($prefix), qr/\[(alert|crit|emerg)\]/, 'no alert');

# -- through nginx, from Redis alone ---------------------------------------

stop_nginx($prefix);
# the failover's log, kept for a look after a failure (a restart empties
# the prefix)
system('cp', "$prefix/logs/error.log", "$dir/failover-error.log");
$prefix = start_nginx('failover', $port, $locations, %nginx);

# both workers asked the sentinels and connected (a read before that
# finds only the empty zone)
for (1 .. 200) {
    my @up = error_log_of($prefix)
             =~ /connected \(primary 127\.0\.0\.1:$newport\)/g;
    last if @up >= 2;
    sleep 0.05;
}

my @unread = grep { token_of($port, $_) !~ /^\[1\]\[dG9rO\S+_w==\]$/ }
                  @acked;
is(scalar(@unread), 0, 'a restarted nginx answers /token for all '
                       . scalar(@acked) . ' acknowledged sessions');

stop_nginx($prefix);
undef $prefix;
stop_redis($_) for @redis;

done_testing();
