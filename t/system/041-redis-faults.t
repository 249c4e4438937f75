# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# One host and a real redis-server with a password, a database and a key
# prefix: what is written where, identity across a restart, the uninstall
# webhook, and the faults: a wrong password, a slow (stopped) Redis, and
# Redis gone while a callback's exchange runs.

use strict;
use IO::Socket::INET;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use Time::HiRes qw(time sleep);
use Test::More;

my $root  = $IntercomOAuthTest::ROOT;
my $base  = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port  = $base + 46;
my $rport = free_port($base + 45, $port, $base + 47);
my $dir   = "$root/t/servroot-redis-" . ($base + 45);

system('rm', '-rf', $dir);
mkdir $dir;

my $keyfile  = secret_file("$dir/store.key", 'a1' x 32);
my $password = 'redis-pass-' . unpack('H*', IntercomOAuthTest::nonce());
my $passfile = secret_file("$dir/store.pass", $password);
my $badpass  = secret_file("$dir/bad.pass", 'not-the-password');
my $otherkey = secret_file("$dir/other.key", 'b2' x 32);

my @redis_args = ('--requirepass', $password,
                  '--unixsocket', "$dir/redis.sock", '--unixsocketperm', 700);
$ENV{REDISCLI_AUTH} = $password;
start_redis($rport, "$dir/redis", @redis_args);

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
        location = /who { return 200 "$intercom_workspace_id|$intercom_admin_email"; }
        location = /webhook {
            intercom_oauth_uninstall_webhook unsigned;
            # Intercom refuses a token of an uninstalled workspace
            intercom_oauth_api_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/401;
        }
        location = /disconnect { intercom_oauth_disconnect; }
        location = /status { intercom_oauth_status; }
_EOC_

my %started;
END { stop_nginx($_) for values %started }

sub host {
    my (%o) = @_;
    my $http = $HTTP_CONFIG
        . "    intercom_oauth_store " . ($o{url} || "redis://127.0.0.1:$rport/2")
        . ";\n"
        . "    intercom_oauth_store_password file:" . ($o{pass} || $passfile)
        . ";\n"
        . "    intercom_oauth_store_key file:" . ($o{key} || $keyfile) . ";\n"
        . "    intercom_oauth_store_prefix t41:;\n"
        . "    intercom_oauth_store_timeout 500ms;\n";
    $http =~ s{/behave/ok/}{/behave/$o{token}/} if $o{token};
    return $started{$o{name} || 'faults'} =
        start_nginx($o{name} || 'faults', $port, $locations,
                    http_config => $http);
}

# -- where things go ---------------------------------------------------

my $prefix = host();

my $sid = new_sid();
is(flow_callback($port, $sid, flow_connect($port, $sid)), 302, 'a flow');

my $key = token_key('t41:', 'a1' x 32, $CLIENT_ID, $sid);
is(redis_cli($rport, '-n', 2, 'EXISTS', $key), "1\n",
   'the token is under the prefix in database 2');
is(redis_cli($rport, '-n', 0, 'EXISTS', $key), "0\n", 'not in database 0');
is(redis_cli($rport, '-n', 2, 'SISMEMBER',
             "t41:workspace:$CLIENT_ID:abc12def", $key), "1\n",
   'and in its workspace\'s set');

my $tok = token_of($port, $sid);
like($tok, qr/^\[1\]\[\S+\]$/, 'the token');

stop_nginx($prefix);
$prefix = host();

is(token_of($port, $sid), $tok, 'after a restart: the token, from Redis');
my (undef, undef, $who) = http_request($port, 'GET /who', session_cookie($sid));
is($who, 'abc12def|ada@example.com', 'and the identity with it');

# -- a unix socket ------------------------------------------------------

stop_nginx($prefix);
$prefix = host(url => "unix:$dir/redis.sock", name => 'unix');
my $usid = new_sid();
is(flow_callback($port, $usid, flow_connect($port, $usid)), 302,
   'through a unix socket: a flow');
is(redis_cli($rport, '-n', 0, 'EXISTS', token_key('t41:', 'a1' x 32,
                                                  $CLIENT_ID, $usid)),
   "1\n", 'the token is in database 0');
stop_nginx($prefix);
$prefix = host();

# -- another store key opens nothing ------------------------------------

stop_nginx($prefix);
$prefix = host(key => $otherkey, name => 'otherkey');
is(token_of($port, $sid), '[0][]',
   'a host with another intercom_oauth_store_key finds no token');
my (undef, undef, $ostatus) = http_request($port, 'GET /status');
like($ostatus, qr/"reads":1,"hits":0,"misses":1,/,
     'key names depend on the store key: a miss');
redis_cli($rport, '-n', 2, 'COPY', $key,
          token_key('t41:', 'b2' x 32, $CLIENT_ID, $sid));
# the miss is remembered for intercom_oauth_store_miss_ttl (1s by default)
sleep 1.1;
is(token_of($port, $sid), '[0][]',
   'the value copied under the name it looks for does not open either');
like(error_log_of($prefix), qr/a token in Redis does not open with intercom_oauth_store_key/,
     'and the log says so');
stop_nginx($prefix);
$prefix = host();

# -- the uninstall webhook deletes in Redis too -------------------------

my ($wst, undef, $wbody) = http_request($port,
                         "POST /webhook\n{\"app_id\":\"abc12def\"}",
                         'Content-Type: application/json');
is($wst, 200, 'the uninstall webhook');
# this host's zone was emptied by its restart: the token to ask /me about
# comes from the store, and the store's count is the one reported
is($wbody, qq{{"deleted":1}\n}, 'it deleted the token the store held');
is(redis_cli($rport, '-n', 2, 'EXISTS', $key), "0\n",
   'the workspace\'s token is gone from Redis');
is(redis_cli($rport, '-n', 2, 'EXISTS', "t41:workspace:$CLIENT_ID:abc12def"),
   "0\n", 'and its set');


# -- a key whose token moved to another workspace ----------------------
# The key was last listed under workspace "old0ne"; its new token belongs
# to abc12def.  Uninstalling old0ne must not delete it, whether the write
# took the key out of old0ne's set or a stale member was left behind.

my $msid = new_sid();
my $mkey = token_key('t41:', 'a1' x 32, $CLIENT_ID, $msid);
my $oldset = "t41:workspace:$CLIENT_ID:old0ne";
redis_cli($rport, '-n', 2, 'SADD', $oldset, $mkey);
redis_cli($rport, '-n', 2, 'SET', "$mkey:ws", $oldset);
is(flow_callback($port, $msid, flow_connect($port, $msid)), 302,
   'a flow for a key once listed under another workspace');
is(redis_cli($rport, '-n', 2, 'SISMEMBER', $oldset, $mkey), "0\n",
   'the write takes the key out of the old workspace\'s set');
is(redis_cli($rport, '-n', 2, 'GET', "$mkey:ws"),
   "t41:workspace:$CLIENT_ID:abc12def\n", 'and names its new set');
redis_cli($rport, '-n', 2, 'SADD', $oldset, $mkey);
my ($ost, undef, $obody) = http_request($port,
                         "POST /webhook\n{\"app_id\":\"old0ne\"}",
                         'Content-Type: application/json');
is($ost, 200, 'the old workspace is uninstalled');
is($obody, qq{{"deleted":0}\n},
   'no token of it is left: nothing deleted, Intercom not asked');
is(redis_cli($rport, '-n', 2, 'EXISTS', $mkey), "1\n",
   'a stale member of its set does not delete the new token');
is(redis_cli($rport, '-n', 2, 'EXISTS', $oldset), "0\n",
   'the old set is gone');

# -- disconnect deletes the token and its workspace name ---------------

my ($dst) = http_request($port, 'POST /disconnect', session_cookie($msid),
                         'Origin: http://localhost');
is($dst, 303, 'disconnect');
sleep 0.2;
is(redis_cli($rport, '-n', 2, 'EXISTS', $mkey, "$mkey:ws"), "0\n",
   'the token and its workspace name are gone from Redis');

stop_nginx($prefix);

# -- a wrong password --------------------------------------------------

$prefix = host(pass => $badpass, name => 'badpass');
sleep 0.3;
my $bsid = new_sid();
is(flow_callback($port, $bsid, flow_connect($port, $bsid)), 503,
   'wrong password: the callback is refused with 503');
is(token_of($port, $bsid), '[0][]', 'nothing kept');
like(error_log_of($prefix), qr/store "redis:[^"]+" refused AUTH: /,
     'the log says Redis refused AUTH');
unlike(error_log_of($prefix), qr/\Q$password\E|not-the-password/,
       'and shows no password');
stop_nginx($prefix);

# -- a slow Redis (stopped with SIGSTOP) ---------------------------------

$prefix = host(name => 'slow');
my $ssid = new_sid();
is(flow_callback($port, $ssid, flow_connect($port, $ssid)), 302,
   'a flow before Redis stalls');
my $stok = token_of($port, $ssid);

kill 'STOP', redis_pid($rport);

my $t0 = time;
my $waiting = http_send($port, 'GET /token',
                                           session_cookie(new_sid()));
sleep 0.1;
my $t1 = time;
my ($sst) = http_request($port, 'GET /status');
my $st_dt = time - $t1;
is($sst, 200, 'while a request waits for the stalled Redis, the worker serves others');
ok($st_dt < 0.2, sprintf('at once (%.3f s): no blocking call', $st_dt));
my (undef, undef, $wbody) = http_read($waiting);
is($wbody, '[0][]', 'Redis stalled, a key not in the zone: not connected');
my $dt = time - $t0;
ok($dt >= 0.4 && $dt < 1.5,
   sprintf('after the command timeout (500ms), not later (%.2f s)', $dt));
is(token_of($port, $ssid), $stok, 'a key in the zone: answered by the zone');

$t0 = time;
my $csid = new_sid();
my $cst = flow_callback($port, $csid, flow_connect($port, $csid));
$dt = time - $t0;
is($cst, 503, 'Redis stalled: a callback is refused with 503');
ok($dt < 1.5, sprintf('within the command timeout (%.2f s)', $dt));

kill 'CONT', redis_pid($rport);

my $ok = 0;
for (1 .. 40) {
    my $s = new_sid();
    if (flow_callback($port, $s, flow_connect($port, $s)) == 302) {
        $ok = 1;
        last;
    }
    sleep 0.1;
}
ok($ok, 'Redis back: the host reconnects and flows complete again');
# a browser leaving while its callback waits for Redis: the request is
# freed first, the late answer finds nobody
my $lsid = new_sid();
my $lstate = flow_connect($port, $lsid);
kill 'STOP', redis_pid($rport);
my $leaver = http_send($port,
                 callback_request(code => 'leave-1', state => $lstate),
                 session_cookie($lsid));
sleep 0.15;
close $leaver;
sleep 0.15;
kill 'CONT', redis_pid($rport);
sleep 0.3;
my $after_sid = new_sid();
is(flow_callback($port, $after_sid, flow_connect($port, $after_sid)), 302,
   'a browser left while its state claim waited: the worker carries on');
open my $acc, '<', "$prefix/logs/access.log" or die $!;
ok((grep { m{"GET /callback\?\[oauth arguments withheld\] HTTP/1\.1" 499} } <$acc>),
   'the request that lost its browser ended with 499');

like(error_log_of($prefix), qr/a command timed out \(intercom_oauth_store_timeout\); reconnecting/,
     'the log says a command timed out');
like(error_log_of($prefix), qr/store "redis:[^"]+" connected again/,
     'and that the store is connected again');
stop_nginx($prefix);

# -- Redis gone while the exchange runs ----------------------------------

$prefix = host(name => 'gone', token => 'slow-1500');
my $gsid = new_sid();
my $gstate = flow_connect($port, $gsid);
sleep 0.3;
my $sock = http_send($port,
               callback_request(code => 'gone-1', state => $gstate),
               session_cookie($gsid));
sleep 0.5;
stop_redis($rport);
my ($gst, undef, $gbody) = http_read($sock);
is($gst, 503, 'Redis gone during the exchange: the callback answers 503');
like($gbody, qr/store_unavailable/, 'with store_unavailable');
is(token_of($port, $gsid), '[0][]', 'and the token is not kept on this host');
like(error_log_of($prefix), qr/the access token could not be written to the store; it was not kept/,
     'the log says why');

start_redis($rport, "$dir/redis", @redis_args);
is(redis_cli($rport, '-n', 2, 'EXISTS',
             token_key('t41:', 'a1' x 32, $CLIENT_ID, $gsid)), "0\n",
   'nor in Redis');

my (undef, undef, $status) = http_request($port, 'GET /status');
like($status, qr/"callbacks_refused":1\}/, 'the status counts the refusal');

# -- the connection drops while a read waits ----------------------------

sleep 2.5;    # the longest back-off: connected again
kill 'STOP', redis_pid($rport);
my $dropped = http_send($port, 'GET /token',
                                           session_cookie(new_sid()));
sleep 0.1;
$t0 = time;
stop_redis($rport, 'KILL');
my (undef, undef, $dbody) = http_read($dropped);
$dt = time - $t0;
is($dbody, '[0][]', 'Redis killed while a read waits: "not connected"');
ok($dt < 0.3, sprintf('at once, not after the command timeout (%.2f s)', $dt));
like(error_log_of($prefix), qr/read failed: connection lost/,
     'the waiting request was told the connection was lost');

stop_nginx($prefix);

# -- a "Redis" that answers one command with three replies --------------
# hiredis 0.14 asserts (SIGABRT) on a reply nobody waits for; the module
# must drop the connection as a protocol error and keep the worker.

my $fport = free_port($base + 47, $port, $rport);
my $fake = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $fport,
                                 Listen => 16, ReuseAddr => 1)
    or die "fake redis: $!";
my $fpid = fork // die;
if ($fpid == 0) {
    while (my $c = $fake->accept) {
        my $buf = '';
        while (sysread($c, $buf, 65536, length $buf)) {
            # one reply per complete command, then two more unasked
            while ($buf =~ s/\A\*(\d+)\r\n((?:\$\d+\r\n[^\r]*\r\n)*)//) {
                syswrite($c, "+OK\r\n+OK\r\n+OK\r\n");
            }
        }
    }
    exit 0;
}
close $fake;
$prefix = host(url => "redis://127.0.0.1:$fport/0", name => 'unasked');
sleep 0.5;
my ($ust, undef, $ubody) = http_request($port, 'GET /token',
                                        session_cookie(new_sid()));
is($ust, 200, 'replies nobody asked for: the request is still answered');
is($ubody, '[0][]', 'as "not connected"');
sleep 0.3;
my $ulog = error_log_of($prefix);
like($ulog, qr/store "redis:[^"]+": a reply that no command asked for \(a protocol error\); reconnecting/,
     'the log names the protocol error');
unlike($ulog, qr/exited on signal|Assertion/, 'no worker died');
my ($ust2) = http_request($port, 'GET /status');
is($ust2, 200, 'the worker serves the next request');
kill 'KILL', $fpid;
waitpid $fpid, 0;
stop_nginx($prefix);

start_redis($rport, "$dir/redis", @redis_args);

for my $p (glob "$root/t/servroot-{faults,unix,otherkey,badpass,slow,gone,unasked}-$port") {
    my $log = error_log_of($p);
    unlike($log, qr/\[(alert|crit|emerg)\]/, "$p: no alert");
    ok($log !~ /\Q$password\E/ && $log !~ /a1a1a1a1|b2b2b2b2/,
       "$p: neither the Redis password nor a store key in the log");
}

stop_redis($rport);

done_testing();
