# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# What an attacker or a bad day can do to the engine and the zone, each
# found by a hostile review and fixed:
#   - a reload must not drop callbacks waiting on the token endpoint;
#   - a worker out of connections fails one transfer, not all of them;
#   - ending a transfer that is still connecting leaves no epoll alert;
#   - a flood of used states cannot push every stored token out;
#   - a state cannot be replayed at a callback location with a longer ttl,
#     nor after a reload that raised the ttl.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Select;
use IO::Socket::INET;
use Test::More;

my $base = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 30;

subtest 'a reload waits for the exchanges in flight' => sub {
    my $port = $base;
    (my $http = $HTTP_CONFIG) =~ s{/behave/ok/}{/behave/slow-1500/};

    my $prefix = start_nginx('reload-inflight', $port, <<'_EOC_',
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected]"; }
_EOC_
        http_config => $http, master => 1);

    my @socks = map {
        http_send($port,
            callback_request(code => "inflight-$_", state => make_state()),
            session_cookie());
    } 1 .. 3;

    # let the worker start all three exchanges, then reload
    select undef, undef, undef, 0.4;
    kill 'HUP', nginx_pid($prefix);

    my @status = map { (http_read($_))[0] } @socks;
    is_deeply(\@status, [302, 302, 302],
              'all three callbacks finished with their redirect');

    my (undef, undef, $body) = http_request($port, 'GET /token',
                                            session_cookie());
    is($body, '[1]', 'and the token is there after the reload');

    stop_nginx($prefix);
    unlike(error_log_of($prefix), qr/open socket #\d+ left|\[alert\]/,
           'no socket left open, no alert');
};

subtest 'out of worker connections: one transfer fails, not all' => sub {
    my $port = $base + 1;
    (my $http = $HTTP_CONFIG) =~ s{/behave/ok/}{/behave/slow-800/};

    my $prefix = start_nginx('connections', $port, <<'_EOC_',
        location = /callback { intercom_oauth_callback; }
_EOC_
        http_config => $http, worker_connections => 14);

    my @socks;
    for my $i (1 .. 8) {
        push @socks, http_send($port,
            callback_request(code => "wc-$i", state => make_state()),
            session_cookie());
        select undef, undef, undef, 0.05;
    }

    my %seen;
    $seen{(http_read($_))[0]}++ for @socks;

    cmp_ok($seen{302} || 0, '>=', 3, 'the transfers that got a connection '
                                     . 'finished (' . join(', ',
                                     map { "$_: $seen{$_}" } sort keys %seen)
                                     . ')');

    stop_nginx($prefix);
    my $log = error_log_of($prefix);
    like($log, qr/worker_connections are not enough/,
         'the worker did run out of connections');
    unlike($log, qr/Operation was aborted by an application callback/,
           'no transfer was aborted because another one failed');
};

subtest 'a transfer ended while connecting leaves no epoll alert' => sub {
    my $port = $base + 2;
    my $hole_port = $base + 3;

    # a listener that never accepts, its backlog full: connects hang
    my $hole = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$hole_port",
                                     Listen => 0, ReuseAddr => 1)
        or die "listen: $!";
    my @filler = map {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$hole_port",
                              Blocking => 0)
    } 1 .. 3;

    (my $http = $HTTP_CONFIG)
        =~ s{intercom_oauth_token_url\s+\S+;}
            {intercom_oauth_token_url https://127.0.0.1:$hole_port/token;};
    $http =~ s{intercom_oauth_timeout\s+\S+;}{intercom_oauth_timeout 700ms;};

    my $prefix = start_nginx('connecting', $port, <<'_EOC_',
        location = /callback { intercom_oauth_callback; }
_EOC_
        http_config => $http);

    # five clients give up while the exchange connects, one waits it out
    for my $i (1 .. 5) {
        my $s = http_send($port,
            callback_request(code => "hole-$i", state => make_state()),
            session_cookie());
        select undef, undef, undef, 0.2;
        close $s;
    }

    my ($status) = http_request($port,
        callback_request(code => 'hole-6', state => make_state()),
        session_cookie());
    is($status, 504, 'a connect that never completes ends in 504');

    stop_nginx($prefix);
    my $log = error_log_of($prefix);
    unlike($log, qr/\[alert\]/, 'and no alert (no event on a closed socket)');
    close $_ for grep { defined } @filler;
    close $hole;
};

subtest 'used states are capped at half the zone: stored tokens survive a flood' => sub {
    my $port = $base + 4;

    # a 32k zone: its used states may take half of what is free in it
    (my $http = $HTTP_CONFIG) =~ s{intercom:1m}{intercom:32k};

    my $prefix = start_nginx('zone-states', $port, <<'_EOC_',
        location = /callback { intercom_oauth_callback; }
        location = /bad {
            intercom_oauth_token_url https://127.0.0.1:1/refused;
            intercom_oauth_callback;
        }
        location = /token { return 200 "[$intercom_oauth_connected]"; }
_EOC_
        http_config => $http);

    my @victims = map { sprintf 'victim%016d', $_ } 1 .. 12;
    my $connected = 0;

    for my $sid (@victims) {
        my ($status) = http_request($port,
            callback_request(code => "v-$sid", state => make_state(sid => $sid)),
            session_cookie($sid));
        $connected++ if $status == 302;
    }

    is($connected, 12, '12 victims connect');

    # an attacker spends states with codes that fail at the token endpoint
    my %seen;
    my $first503;
    for my $i (1 .. 300) {
        my ($st) = http_request($port,
            callback_request(path => '/bad', code => "x$i",
                             state => make_state(sid => $OTHER_SID)),
            session_cookie($OTHER_SID));
        $seen{$st}++;
        $first503 //= $i if $st == 503;
    }

    cmp_ok($seen{502} || 0, '>=', 30,
           "states are accepted until their half is full ($seen{502})");
    ok($first503, "then the callback answers 503 zone_full (from $first503 on)");
    is(($seen{502} || 0) + ($seen{503} || 0), 300, 'and never anything else');

    my $kept = grep {
        (http_request($port, 'GET /token', session_cookie($_)))[2] eq '[1]'
    } @victims;
    is($kept, 12, 'every victim\'s token is still there');

    stop_nginx($prefix);
    like(error_log_of($prefix), qr/has no room for another used state/,
         'the log says why');
};

subtest 'a state used at a short-ttl location is not replayable at a long one' => sub {
    my $port = $base + 5;

    my $prefix = start_nginx('ttl', $port, <<'_EOC_');
        location = /cb-short { intercom_oauth_state_ttl 1s; intercom_oauth_callback; }
        location = /cb-long { intercom_oauth_state_ttl 10m; intercom_oauth_callback; }
_EOC_

    my $s = make_state();
    my ($status) = http_request($port,
        callback_request(path => '/cb-short', code => 'ttl-1', state => $s),
        session_cookie());
    is($status, 302, 'the state is used at the short-ttl location');

    sleep 3;

    # another callback makes the zone expire what it considers old
    http_request($port, callback_request(path => '/cb-long', code => 'ttl-2',
                                         state => make_state()),
                 session_cookie());

    ($status) = http_request($port,
        callback_request(path => '/cb-long', code => 'ttl-3', state => $s),
        session_cookie());
    is($status, 403, 'and refused as replayed at the long-ttl one');

    stop_nginx($prefix);
};

subtest 'raising the state ttl by a reload does not reopen a used state' => sub {
    my $port = $base + 6;

    my $prefix = start_nginx('ttl-reload', $port, <<'_EOC_', master => 1);
        intercom_oauth_state_ttl 2s;
        location = /callback { intercom_oauth_callback; }
_EOC_

    my $s = make_state();
    my ($status) = http_request($port,
        callback_request(code => 'ttl-r1', state => $s), session_cookie());
    is($status, 302, 'the state is used under a 2 s ttl');

    # the same configuration with a 10 minute ttl, then a reload
    my $conf = "$prefix/conf/nginx.conf";
    open my $in, '<', $conf or die $!;
    my $text = do { local $/; <$in> };
    close $in;
    $text =~ s/intercom_oauth_state_ttl 2s;/intercom_oauth_state_ttl 10m;/;
    open my $out, '>', $conf or die $!;
    print $out $text;
    close $out;

    kill 'HUP', nginx_pid($prefix);
    sleep 4;

    http_request($port, callback_request(code => 'ttl-r2', state => make_state()),
                 session_cookie());

    ($status) = http_request($port,
        callback_request(code => 'ttl-r3', state => $s), session_cookie());
    is($status, 403, 'after the reload and the old ttl, it is still used');

    stop_nginx($prefix);
};

done_testing();
