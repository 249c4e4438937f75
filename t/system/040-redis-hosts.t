# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Several hosts sharing one Redis (intercom_oauth_store): a real
# redis-server on loopback with append-only persistence and three nginx
# instances, A, B and C, with the same state secret and store key.
#
#   connect on A, callback on B, proxied API call on C;
#   a replayed state is refused on every other host;
#   the value in Redis is sealed and bound to its key;
#   every nginx restarted: tokens still usable;
#   redis-server killed and restarted (AOF): tokens still there;
#   B killed with SIGKILL under a stream of flows: no completed flow lost.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use POSIX ();
use Test::More;

my $root  = $IntercomOAuthTest::ROOT;
my $base  = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my %port  = (A => $base + 41, B => $base + 42, C => $base + 43);
my $rport = free_port($base + 40, values %port);
my $dir   = "$root/t/servroot-redis-" . ($base + 40);

system('rm', '-rf', $dir);
mkdir $dir;

my $keytext = unpack('H*', IntercomOAuthTest::nonce() . IntercomOAuthTest::nonce());
my $keyfile = secret_file("$dir/store.key", $keytext);

start_redis($rport, "$dir/redis");

my $http = $HTTP_CONFIG . store_http_config($rport, $keyfile,
                                            cache_ttl => '1s');

my $locations = <<"_EOC_";
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[\$intercom_oauth_connected][\$intercom_access_token]"; }
        location = /api {
            intercom_oauth_require;
            proxy_set_header Authorization "Bearer \$intercom_access_token";
            proxy_pass https://127.0.0.1:$ENV{TEST_NGINX_STANDIN_PORT}/me;
        }
        location = /disconnect { intercom_oauth_disconnect / forget; }
        location = /uninstall { intercom_oauth_disconnect; }
        location = /status { intercom_oauth_status; }
_EOC_

my %prefix;

sub start_host {
    my $h = shift;
    $prefix{$h} = start_nginx("host$h", $port{$h}, $locations,
                              http_config => $http);
}

sub wait_store {
    # the hosts reconnect with back-off (at most 2 s between attempts)
    my ($h, $sid) = @_;
    for (1 .. 60) {
        my $state = flow_connect($port{A}, $sid);
        my $st = flow_callback($port{$h}, $sid, $state);
        return $st if $st == 302;
        select undef, undef, undef, 0.1;
    }
    return 0;
}

END { stop_nginx($_) for values %prefix }

start_host($_) for qw(A B C);

# -- one flow across three hosts ---------------------------------------

my $sid = new_sid();
my $state = flow_connect($port{A}, $sid);
ok($state, 'A: the connect button mints a state');

is(flow_callback($port{B}, $sid, $state), 302, 'B: the callback succeeds');

my $tok = token_of($port{C}, $sid);
like($tok, qr/^\[1\]\[\S+\]$/, 'C: the token is there (read from Redis)');
is(token_of($port{A}, $sid), $tok, 'A: the same token');

my ($st, undef, $body) = http_request($port{C}, 'GET /api',
                                      session_cookie($sid));
is($st, 200, 'C: the proxied API call with the token answers 200');
like($body, qr/"type":"admin"/, 'with the admin behind the token');

my @clients = grep { !/cmd=client/ } split /\n/, redis_cli($rport, 'CLIENT', 'LIST');
is(scalar @clients, 3, 'one connection per worker: three hosts, three clients');

# -- single use across hosts -------------------------------------------

is(flow_callback($port{C}, $sid, $state), 403,
   'C: the same state again is refused');
is(flow_callback($port{A}, $sid, $state), 403, 'A: and on A');
is(flow_callback($port{B}, $sid, $state), 403, 'B: and on B');

my $replays = 0;
for my $h (qw(A C)) {
    open my $fh, '<', "$prefix{$h}/logs/error.log" or die $!;
    $replays += grep { /state refused: already used \(on another host\)/ } <$fh>;
}
is($replays, 2, 'A and C log the replay as used on another host');

# two hosts racing for one state: exactly one wins
my $race_sid = new_sid();
my $race = flow_connect($port{A}, $race_sid);
my @socks = map { http_send($port{$_},
                      callback_request(code => "race-$_", state => $race),
                      session_cookie($race_sid)) } qw(A B C);
my @race = sort map { (http_read($_))[0] } @socks;
is("@race", "302 403 403", 'three hosts given one state at once: one 302');

# -- what Redis holds --------------------------------------------------

my $key = token_key('intercom_oauth:', $keytext, $CLIENT_ID, $sid);
my $raw = redis_cli($rport, '--no-raw', 'GET', $key);
my ($plain) = $tok =~ /^\[1\]\[(\S+)\]$/;
ok(length $raw > 40, 'Redis holds a value under the token key');
unlike($raw, qr/\Q$plain\E/, 'not the token in the clear');
my $keys = redis_cli($rport, 'KEYS', '*');
like($keys, qr/^intercom_oauth:token:$CLIENT_ID:[0-9a-f]{64}$/m,
     'token keys are named by an HMAC');
unlike($keys, qr/\Q$sid\E/, 'no session id in any Redis key');

my $copy_sid = new_sid();
redis_cli($rport, 'COPY', $key,
          token_key('intercom_oauth:', $keytext, $CLIENT_ID, $copy_sid));
is(token_of($port{C}, $copy_sid), '[0][]',
   'the sealed value copied under another key does not open');

like(error_log_of($prefix{C}), qr/a token in Redis does not open/,
   'C says so in its log');

like(redis_cli($rport, 'PTTL', "intercom_oauth:state:" . '0' x 32), qr/^-2/,
     'a state key that was never claimed does not exist');
my @states = split /\n/, redis_cli($rport, 'KEYS', 'intercom_oauth:state:*');
ok(@states >= 2, 'claimed states are in Redis');
my $pttl = redis_cli($rport, 'PTTL', $states[0]);
chomp $pttl;
ok($pttl > 0 && $pttl <= 601000, "with the state's expiry ($pttl ms left)");

# -- disconnect on one host is seen by every host -----------------------
# ("forget": only this key's token; a plain disconnect uninstalls the
# whole workspace, below)

my $dsid = new_sid();
is(flow_callback($port{B}, $dsid, flow_connect($port{A}, $dsid)), 302,
   'another flow');
like(token_of($port{A}, $dsid), qr/^\[1\]/, 'A reads it (and caches it)');
my ($dst) = http_request($port{B}, 'POST /disconnect', session_cookie($dsid),
                         'Origin: http://localhost');
is($dst, 303, 'B: disconnect');
is(redis_cli($rport, 'EXISTS',
             token_key('intercom_oauth:', $keytext, $CLIENT_ID, $dsid)),
   "0\n", 'the token is deleted in Redis too');
is(token_of($port{C}, $dsid), '[0][]', 'C (which had not read it) has none');
select undef, undef, undef, 1.2;
is(token_of($port{A}, $dsid), '[0][]',
   'A, once its copy is older than intercom_oauth_store_cache_ttl, has none');

# -- every nginx restarted ---------------------------------------------

stop_nginx($prefix{$_}) for qw(A B C);
start_host($_) for qw(A B C);

is(token_of($port{$_}, $sid), $tok, "$_ after a restart: the token is there")
    for qw(A B C);

# -- redis-server crashes and comes back with its AOF -------------------

stop_redis($rport, 'KILL');

is(token_of($port{A}, $sid), $tok,
   'Redis down: A answers from its zone');
my $t0 = time;
is(token_of($port{A}, new_sid()), '[0][]',
   'Redis down, a key A never saw: not connected');
ok(time - $t0 <= 1, 'at once, no hang');
my $down_sid = new_sid();
is(flow_callback($port{B}, $down_sid, flow_connect($port{A}, $down_sid)), 503,
   'Redis down: a callback is refused with 503');

start_redis($rport, "$dir/redis");

stop_nginx($prefix{C});
start_host('C');
is(token_of($port{C}, $sid), $tok,
   'redis-server killed and restarted: a fresh C reads the token from the AOF');
is(wait_store('B', new_sid()), 302,
   'B reconnects by itself and completes flows again');

# -- B killed with SIGKILL under a stream of flows ---------------------

my $results = "$dir/stream.txt";
my $stop = "$dir/stream.stop";
my $child = fork();
die "fork: $!" unless defined $child;

if ($child == 0) {
    # flows one after another, callbacks on B, until told to stop
    open my $out, '>', $results or die $!;
    select((select($out), $| = 1)[0]);
    until (-e $stop) {
        my $s = new_sid();
        my $state = flow_connect($port{A}, $s);
        my $cb = eval { flow_callback($port{B}, $s, $state) } || 0;
        print $out "$s $cb\n";
        select undef, undef, undef, 0.02;
    }
    close $out;
    POSIX::_exit(0);
}

select undef, undef, undef, 1;
kill 'KILL', nginx_pid($prefix{B});
select undef, undef, undef, 0.5;
start_host('B');
select undef, undef, undef, 1.5;
open my $sf, '>', $stop or die $!;
close $sf;
waitpid $child, 0;

open my $rf, '<', $results or die $!;
my @stream = map { [split] } <$rf>;
my @done = grep { $_->[1] == 302 } @stream;
my @lost = grep { token_of($port{C}, $_->[0]) !~ /^\[1\]/ } @done;
my @lost_b = grep { token_of($port{B}, $_->[0]) !~ /^\[1\]/ } @done;

my @after = grep { $_->[1] == 302 } @stream[-5 .. -1];
ok(@stream >= 20, scalar(@stream) . ' flows ran');
ok(@done >= 10 && @done < @stream,
   scalar(@done) . ' completed, the others hit the dead host');
is(scalar @after, 5, 'the restarted B completes flows again');
is(scalar @lost, 0, 'no completed flow is lost (read on C)');
is(scalar @lost_b, 0, 'nor on the restarted B');

# -- a disconnect uninstalls the workspace: every host loses its tokens ----

my $usid = new_sid();
is(flow_callback($port{B}, $usid, flow_connect($port{A}, $usid)), 302,
   'a flow of the workspace abc12def');
my $older = $done[-1][0];
like(token_of($port{A}, $older), qr/^\[1\]/,
     'A reads an older token of the same workspace (and caches it)');
my ($ust) = http_request($port{B}, 'POST /uninstall', session_cookie($usid),
                         'Origin: http://localhost');
is($ust, 303, 'B: a disconnect (no "forget")');
is(redis_cli($rport, 'EXISTS',
             token_key('intercom_oauth:', $keytext, $CLIENT_ID, $older)),
   "0\n", 'the workspace\'s other tokens are deleted in Redis too');
is(token_of($port{C}, $usid), '[0][]', 'C has none for the one who disconnected');
select undef, undef, undef, 1.2;
is(token_of($port{A}, $older), '[0][]',
   'A, once its copy is older than intercom_oauth_store_cache_ttl, has none of the others');

my (undef, undef, $status) = http_request($port{C}, 'GET /status');
like($status, qr/"store":\{"writes":\d+,"reads":\d+,"hits":\d+,"misses":\d+,"errors":\d+,"callbacks_refused":\d+\}/,
     'the status shows the store counters');

diag sprintf 'figure: %d flows crossing hosts, %d completed, %d refused while '
           . 'B was dead, %d lost', scalar @stream, scalar @done,
           @stream - @done, scalar @lost;

stop_nginx($prefix{$_}) for qw(A B C);
stop_redis($rport);

for my $h (qw(A B C)) {
    open my $fh, '<', "$prefix{$h}/logs/error.log" or die $!;
    my @lines = <$fh>;
    my $text = join '', @lines;
    unlike($text, qr/\[(alert|crit|emerg)\]/, "$h: no alert in the error log");

    # nginx's own debug lines show what "proxy_set_header" sends
    my @ours = grep { !/\[debug\]/ || /intercom oauth/ } @lines;
    ok(!(grep { /\Q$plain\E/ } @ours),
       "$h: the token is in no line of the module and no non-debug line");
}

done_testing();
