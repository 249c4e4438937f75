# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Faults: what happens to flows, tokens and the zone when things break.
#
#   1. the same valid state sent many times at once, over two workers:
#      exactly one exchange, one 302, the rest 403 state_replayed;
#   2. a worker killed with SIGKILL in the middle of exchanges, again and
#      again: the master starts a new one, the zone's lock is not left
#      held, the stored tokens survive, new flows succeed; and (part 6,
#      with gdb) a worker killed while it certainly holds the zone's lock;
#   3. "nginx -s reload" (SIGHUP) over and over during a stream of flows,
#      some with exchanges in flight: no flow fails, every token survives;
#   4. the token endpoint going away (refused, then killed mid-exchange)
#      and coming back on the same port: failures while it is gone, flows
#      succeed again once it is back;
#   5. a browser that closes its connection while the exchange waits: the
#      worker carries on, and the state is released.
#
# Plain Test::More with nginx in master mode: Test::Nginx runs one request
# at a time and never kills workers.  Ports: TEST_NGINX_SERVER_PORT + 50;
# the private stand-in of part 4 gets a port from the system.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

my $root   = $IntercomOAuthTest::ROOT;
my $port   = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 50;
my $sport  = $ENV{TEST_NGINX_STANDIN_PORT};

# ---------------------------------------------------------------------------
# nginx in master mode with N workers, logging at info level

my ($prefix, $master);

sub start {
    my ($workers, $http, $locations) = @_;

    stop();
    $prefix = start_nginx('faults', $port, $locations, http_config => $http,
                          master => 1, workers => $workers,
                          log_level => 'info');
    $master = nginx_pid($prefix);
    wait_workers($master, $workers);
}

sub stop {
    return unless $master;
    stop_nginx($prefix);
    $master = undef;
}

END { stop() }

# the master's live workers (not the ones shutting down after a reload)
sub workers { worker_pids($master) }

sub error_log { error_log_of($prefix) }

# ---------------------------------------------------------------------------
# requests

sub cookie { "Cookie: intercom_oauth_sid=$_[0]" }

sub token_of {
    my ($sid, $path) = @_;
    my (undef, undef, $body) = http_request($port, 'GET ' . ($path || '/token'),
                                            cookie($sid));
    return $body // '';
}

# the session after a callback: a successful one gives the browser a new
# session id (against session fixation) and keeps the token under it
sub session_after {
    my ($head, $sid) = @_;
    my ($new) = ($head // '') =~ /Set-Cookie: intercom_oauth_sid=([A-Za-z0-9_-]+)/;
    return $new // $sid;
}

# (status, head, body, the session id to use afterwards)
sub callback {
    my ($sid, %o) = @_;
    my $state = $o{state} || make_state(sid => $sid);
    my $req = callback_request(code => $o{code} || "c-$sid", state => $state,
                               path => $o{path} || '/callback');
    my ($status, $head, $body) = http_request($port, $req, cookie($sid));
    return ($status, $head, $body, session_after($head, $sid));
}

# sends and returns the socket; read later with http_read
sub callback_send {
    my ($sid, %o) = @_;
    my $state = $o{state} || make_state(sid => $sid);
    my $req = callback_request(code => $o{code} || "c-$sid", state => $state,
                               path => $o{path} || '/callback');
    return http_send($port, $req, cookie($sid));
}

sub standin_requests {
    my ($p) = @_;
    my $raw = `curl -sS --cacert $ENV{TEST_NGINX_CA_FILE} https://localhost:$p/_standin/requests`;
    return $raw;
}

my $locations = <<'_EOC_';
        location = /callback { intercom_oauth_callback; }
        location = /callback-slow {
            intercom_oauth_callback;
            intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/slow-700/auth/eagle/token;
        }
        location = /callback-slower {
            intercom_oauth_callback;
            intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/slow-3000/auth/eagle/token;
            intercom_oauth_timeout 10s;
        }
        location = /callback-private {
            intercom_oauth_callback;
            intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_PRIVATE_PORT/behave/ok/auth/eagle/token;
            intercom_oauth_fetch_identity off;
        }
        location = /callback-private-slow {
            intercom_oauth_callback;
            intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_PRIVATE_PORT/behave/slow-3000/auth/eagle/token;
            intercom_oauth_fetch_identity off;
            intercom_oauth_timeout 10s;
        }
        location = /authorize { return 200 "$intercom_oauth_authorize_url"; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
        location = /status { intercom_oauth_status; }
_EOC_

# part 4's stand-in: a port of its own, so that it can go away and come back
my $private_port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0',
                                  ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
};
$ENV{TEST_NGINX_PRIVATE_PORT} = $private_port;

my $private_pid;

sub private_standin_start {
    ($private_pid) = eval {
        standin(port => $private_port,
                log => "$root/build/standin-faults.log");
    };
    diag $@ if $@;
    return $private_pid ? 1 : 0;
}

sub private_standin_stop {
    my $sig = shift || 'TERM';
    return unless $private_pid;
    stop_standin($private_pid, $sig);
    $private_pid = undef;
}

END { private_standin_stop('KILL') }

# FAULTS_ONLY=2,4 runs those parts only (when debugging)
my %only = map { $_ => 1 } split /,/, $ENV{FAULTS_ONLY} || '';

sub part {
    my ($n, $name, $code) = @_;
    return if %only && !$only{$n};
    subtest $name => $code;
}

# ---------------------------------------------------------------------------
# 1. the same state at once

part(1, 'the same valid state sent 8 times at once: exactly one exchange', sub {
    start(2, $HTTP_CONFIG, $locations);
    is(scalar workers(), 2, 'two workers');

    my $sid = new_sid();
    my $state = make_state(sid => $sid);
    my $code = 'dup-' . int(rand 1e9);

    my @socks = map { callback_send($sid, state => $state, code => $code,
                                    path => '/callback-slow') } 1 .. 8;
    my @answers = map { [http_read($_)] } @socks;
    my @status = map { $_->[0] } @answers;
    my ($won) = grep { $_->[0] == 302 } @answers;

    is(scalar(grep { $_ == 302 } @status), 1, 'one 302')
        or diag "statuses: @status";
    is(scalar(grep { $_ == 403 } @status), 7, 'seven 403');

    my $log = error_log();
    my $replays = () = $log =~ /state refused: already used/g;
    is($replays, 7, 'seven "already used" log lines');

    my $seen = standin_requests($sport);
    my $exchanges = () = $seen =~ /"body":"code=\Q$code\E&/g;
    is($exchanges, 1, 'the token endpoint saw the code exactly once');

    like(token_of(session_after($won && $won->[1], $sid)), qr/^\[1\]\[\S+\]$/,
         'and the token is stored');
});

# ---------------------------------------------------------------------------
# 2. SIGKILL in the middle of exchanges

part(2, 'workers killed with SIGKILL mid-exchange: respawned, zone usable, tokens kept', sub {
    start(1, $HTTP_CONFIG, $locations);

    my ($status, $keep);
    ($status, undef, undef, $keep) = callback(new_sid());
    is($status, 302, 'a token stored before the kills');
    my $token = token_of($keep);
    like($token, qr/^\[1\]\[\S+\]$/, 'it is there');

    # exchanges in flight, then the worker dies under them
    my @sids = map { new_sid() } 1 .. 3;
    my @states = map { make_state(sid => $_) } @sids;
    my @slow = map { callback_send($sids[$_], state => $states[$_],
                                   path => '/callback-slower') } 0 .. 2;
    sleep 0.5;

    my ($w) = workers();
    ok(kill('KILL', $w), "SIGKILL to worker $w with 3 exchanges in flight");

    my @got = map { (http_read($_))[0] } @slow;
    is_deeply(\@got, [0, 0, 0],
              'the browsers of those exchanges see the connection closed');

    ok(wait_workers($master, 1), 'the master started a new worker');
    isnt((workers())[0], $w, 'a new one');

    # kill it again and again while two clients keep the zone busy
    # (every request below takes the zone's lock at least once)
    my $stop = "$prefix/stop-hammer";
    my @hammers;
    for my $h (1 .. 2) {
        my $pid = fork // die;
        if ($pid == 0) {
            my $i = 0;
            until (-e $stop) {
                eval {
                    if ($i++ % 3) {
                        http_request($port, 'GET /token', cookie($keep));
                    } else {
                        callback(new_sid());
                    }
                };
            }
            POSIX::_exit(0);
        }
        push @hammers, $pid;
    }

    my $kills = 1;
    for my $round (1 .. 40) {
        wait_workers($master, 1);
        my ($pid) = workers();
        next unless $pid;
        sleep 0.02 + rand 0.1;
        $kills++ if kill 'KILL', $pid;
    }

    open my $fh, '>', $stop or die;
    close $fh;
    waitpid $_, 0 for @hammers;
    note "$kills workers killed";

    ok(wait_workers($master, 1), 'a worker is running after the kills');

    # a lock left held would hang these requests (the client times out)
    my $t0 = time;
    is(token_of($keep), $token, 'the token stored before the kills survived');
    my $new;
    ($status, undef, undef, $new) = callback(new_sid());
    is($status, 302, 'a new flow succeeds');
    like(token_of($new), qr/^\[1\]\[\S+\]$/, 'and its token is stored');
    cmp_ok(time - $t0, '<', 5, 'without waiting on a lock');

    ($status) = callback($sids[0], state => $states[0]);
    is($status, 403, 'the state of a killed exchange stays used (single use)');

    my $log = error_log();
    my $signals = () = $log =~ /worker process \d+ exited on signal 9/g;
    is($signals, $kills, 'the master logged each kill');
    unlike($log, qr/exited on signal (?!9\b)\d+/, 'no worker died of anything else');
    my @locked = $log =~ /(shared memory zone "intercom" was locked by \d+)/g;
    note scalar(@locked) . ' time(s) a worker was killed holding the zone\'s'
         . ' lock, and the master released it';
});

# ---------------------------------------------------------------------------
# 2b. killed while holding the zone's lock, for certain: gdb stops the
# worker inside ngx_shmtx_unlock() (the lock is still held there) and kills
# it.  The master must release the lock (nginx logs that as an alert).

part(6, 'a worker killed while it holds the zone\'s lock', sub {
    plan skip_all => 'gdb is not installed'
        unless system('sh', '-c', 'command -v gdb >/dev/null') == 0;

    start(1, $HTTP_CONFIG, $locations);

    my ($status, undef, undef, $keep) = callback(new_sid());
    is($status, 302, 'a token stored first');
    my $token = token_of($keep);

    my ($w) = workers();
    my $gdb = open(my $g, '-|', "gdb -p $w -batch -nx -ex 'break ngx_shmtx_unlock'"
                                . " -ex continue -ex kill 2>&1")
        or die "gdb: $!";

    # attached once the worker is traced and running again
    my $attached = 0;
    for (1 .. 100) {
        my $st = do { local @ARGV = ("/proc/$w/status"); local $/; <> } // '';
        if ($st =~ /^TracerPid:\s*[1-9]/m && $st =~ /^State:\s*S/m) {
            $attached = 1;
            last;
        }
        sleep 0.1;
    }

    SKIP: {
        skip 'gdb could not attach to the worker (ptrace not allowed?)', 5
            unless $attached;

        sleep 0.5;
        my $sock = http_send($port, 'GET /token',
                                                cookie($keep));
        my $out = do { local $/; <$g> };
        close $g;
        like($out, qr/Breakpoint 1, .*ngx_shmtx_unlock/,
             'the worker stopped inside ngx_shmtx_unlock(), lock held')
            or diag $out;

        ok(wait_workers($master, 1), 'the master started a new worker');

        like(error_log(), qr/shared memory zone "intercom" was locked by $w/,
             'the master released the lock the dead worker held');

        my $t0 = time;
        is(token_of($keep), $token, 'the zone answers: the token is there');
        cmp_ok(time - $t0, '<', 5, 'at once');
    }
});

# ---------------------------------------------------------------------------
# 3. reloads during a stream of flows

part(3, 'nginx -s reload over and over during a stream of flows', sub {
    start(1, $HTTP_CONFIG, $locations);

    my $flows_per_child = 12;
    my @children;
    my $results = "$prefix/flows";
    mkdir $results;

    for my $c (1 .. 4) {
        my $pid = fork // die;
        if ($pid == 0) {
            my @out;
            for my $i (1 .. $flows_per_child) {
                my $sid = new_sid();
                my (undef, undef, $url) = http_request($port, 'GET /authorize',
                                                       cookie($sid));
                my ($state) = ($url // '') =~ /[?&]state=([A-Za-z0-9_-]+)/;
                my $path = $i % 3 ? '/callback' : '/callback-slow';
                my ($status, undef, undef, $after) = $state
                    ? callback($sid, state => $state, path => $path)
                    : (0, undef, undef, $sid);
                push @out, "$after $status $path";
                sleep 0.05;
            }
            open my $fh, '>', "$results/$c" or POSIX::_exit(1);
            print $fh map { "$_\n" } @out;
            close $fh;
            POSIX::_exit(0);
        }
        push @children, $pid;
    }

    my $reloads = 0;
    while (grep { waitpid($_, POSIX::WNOHANG()) == 0 } @children) {
        kill 'HUP', $master and $reloads++;
        sleep 0.3;
        last if $reloads > 60;
    }
    waitpid $_, 0 for @children;
    note "$reloads reloads during the flows";
    cmp_ok($reloads, '>=', 5, 'at least 5 reloads happened during the flows');

    my @flows = map { chomp; [split / /] }
                map { open my $fh, '<', $_ or die; <$fh> } glob "$results/*";
    is(scalar @flows, 4 * $flows_per_child, 'every flow ran');

    my @failed = grep { $_->[1] != 302 } @flows;
    is(scalar @failed, 0, 'no flow failed')
        or diag join "\n", map { "@$_" } @failed;

    wait_workers($master, 1);
    my @lost = grep { token_of($_->[0]) !~ /^\[1\]\[\S+\]$/ } @flows;
    is(scalar @lost, 0, 'every token survived the reloads')
        or diag join "\n", map { "@$_" } @lost;

    my $log = error_log();
    unlike($log, qr/exited on signal/, 'no worker crashed');
    unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alert');
});

# ---------------------------------------------------------------------------
# 4. the token endpoint goes away and comes back

part(4, 'the token endpoint goes away and comes back', sub {
    ok(private_standin_start(), 'a stand-in of its own');
    start(1, $HTTP_CONFIG, $locations);

    my ($status, undef, undef, $a) = callback(new_sid(),
                                              path => '/callback-private');
    is($status, 302, 'a flow succeeds (and leaves a keep-alive connection)');

    private_standin_stop('TERM');

    my $b = new_sid();
    my $t0 = time;
    ($status, undef, my $body) = callback($b, path => '/callback-private');
    is($status, 502, 'while it is gone: 502');
    like($body, qr/exchange_failed/, 'exchange_failed');
    cmp_ok(time - $t0, '<', 3, 'at once, not after the timeout');
    is(token_of($b), '[0][]', 'nothing stored');

    ok(private_standin_start(), 'it comes back on the same port');

    my $c;
    ($status, undef, undef, $c) = callback(new_sid(), path => '/callback-private');
    is($status, 302, 'flows succeed again');
    like(token_of($c), qr/^\[1\]\[\S+\]$/, 'token stored');

    # killed in the middle of an exchange
    my $d = new_sid();
    my $sock = callback_send($d, path => '/callback-private-slow');
    sleep 0.7;
    private_standin_stop('KILL');
    ($status, undef, $body) = http_read($sock);
    is($status, 502, 'an exchange whose endpoint dies under it: 502');
    is(token_of($d), '[0][]', 'nothing stored');

    ok(private_standin_start(), 'back again');
    my $e = new_sid();
    ($status) = callback($e, path => '/callback-private');
    is($status, 302, 'and flows succeed again');

    is(token_of($a), token_of($a), 'the first token is still readable');
    like(token_of($a), qr/^\[1\]\[\S+\]$/, 'and still there');

    my $log = error_log();
    unlike($log, qr/exited on signal/, 'no worker crashed');
    unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alert');

    private_standin_stop('TERM');
});

# ---------------------------------------------------------------------------
# 5. the browser goes away while the exchange waits

part(5, 'a browser that closes its connection during the exchange', sub {
    start(1, $HTTP_CONFIG, $locations);
    my ($w) = workers();

    my @sids = map { new_sid() } 1 .. 5;
    my @states = map { make_state(sid => $_) } @sids;
    for my $i (0 .. 4) {
        my $sock = callback_send($sids[$i], state => $states[$i],
                                 path => '/callback-slow');
        sleep 0.1;
        close $sock;
    }

    sleep 1.5;   # the endpoint answers the abandoned exchanges meanwhile

    is((workers())[0], $w, 'the worker is still the same (no crash)');

    my $n = new_sid();
    my ($status) = callback($n);
    is($status, 302, 'a new flow succeeds');

    # 0.2.0: the module never redeemed its code, and a state that stayed
    # used would let browsers that hang up fill the zone (issue 15, item
    # 10; t/system/017-junk-codes.t part 2)
    ($status) = callback($sids[0], state => $states[0]);
    is($status, 302, 'an abandoned state is released: its browser can '
                     . 'finish with it');

    my $log = error_log();
    unlike($log, qr/exited on signal/, 'no worker crashed');
    unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alert');
});

stop();

done_testing();
