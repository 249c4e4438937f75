# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A graceful shutdown while the libcurl engine holds calls in its queue
# (ngx_posted_next_events) and none is under way.
#
# nginx's worker exits once no timer that is not cancelable is left
# (ngx_event_no_timers_left(), checked before each iteration); a request
# waiting for a call has no timer of its own, and the engine's only hold
# on the worker is libcurl's timer event, made not cancelable by
# ngx_http_intercom_oauth_curl_busy().  A queued call has no libcurl
# timer: when every transfer of the last batch has already ended (the
# token endpoint refuses connections: connect() fails at once on
# loopback, so all 16 end inside the iteration that started them), the
# timer is gone and the worker exits with the rest of the burst queued:
# those callbacks are never answered (the connection just closes) and
# nginx logs "open socket ... left in connection".
#
# The engine holds the worker with a timer of its own while calls wait
# (found by review: before it, 104 of the 120 were never answered).
#
# Ports: TEST_NGINX_SERVER_PORT + 19 (nginx), + 23 (where nothing listens).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Socket::INET;
use Test::More;

my $base = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port = $base + 19;
my $closed = $base + 23;
my $n = 120;

ok(!IO::Socket::INET->new(PeerAddr => "127.0.0.1:$closed"),
   "nothing listens on $closed");

# TEST_QUEUED_SLOW=1: the stand-in's 1 s endpoint instead, which holds the
# worker (a transfer under way at every iteration's end): all answered 302
my $slow = $ENV{TEST_QUEUED_SLOW};
my $want = $slow ? 302 : 502;
my $http = $HTTP_CONFIG;
if ($slow) {
    $http =~ s{/behave/ok/}{/behave/slow-1000/};
} else {
    $http =~ s{intercom_oauth_token_url\s+\S+;}
              {intercom_oauth_token_url http://127.0.0.1:$closed/token;};
}

my $prefix = start_nginx('queued-shutdown', $port, <<'_EOC_',
        location = /callback { intercom_oauth_callback; }
_EOC_
    http_config => $http, master => 1, worker_connections => 122);

my $master = nginx_pid($prefix);
wait_workers($master, 1);
my ($worker) = worker_pids($master);
ok($worker, 'one worker');

# connections accepted first, each with its request line read (not
# reusable: nginx would close fresh connections to make room when its
# connections run short), the rest of the requests later
my @reqs = map {
    my $state = make_state();
    ["GET /callback?code=q$_&state=$state HTTP/1.1\r\n",
     "Host: localhost\r\nConnection: close\r\n" . session_cookie()
     . "\r\n\r\n"]
} 1 .. $n;

my @socks = map {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 10)
        or die "connect: $!";
    $s->autoflush(1);
    print $s $reqs[$_ - 1][0];
    select(undef, undef, undef, 0.005);
    $s
} 1 .. $n;
select(undef, undef, undef, 0.5);

# every callback and the graceful shutdown reach the worker together: the
# master passes the shutdown on the channel, which the stopped worker
# reads in the same epoll_wait() as the requests
stop_process($worker) or die "worker $worker did not stop\n";
print {$socks[$_]} $reqs[$_][1] for 0 .. $#socks;
kill 'QUIT', $master;
select(undef, undef, undef, 1);
kill 'CONT', $worker;

my %statuses;
$statuses{(http_read($_))[0]}++ for @socks;

is_deeply(\%statuses, { $want => $n },
          "all $n callbacks answered ($want) before the worker exited")
    or diag(explain(\%statuses));

for (1 .. 200) {
    last unless kill 0, $master;
    select(undef, undef, undef, 0.05);
}

my $text = error_log_of($prefix);
my @left = $text =~ /open socket #\d+ left in connection/g;
is(scalar @left, 0, 'no connection left open at the worker\'s exit')
    or diag(scalar(@left) . ' left; first: '
            . (($text =~ /^(.*open socket.*)$/m)[0] // ''));

stop_nginx($prefix);

done_testing();
