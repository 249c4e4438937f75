# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Junk codes cannot lock new users out (issue 15, item 10).  Anyone can
# mint a state at the connect location and spend it at the callback with
# a junk code: two requests.  A used state is kept until it expires, so
# before 0.2.0 such pairs filled the half of the zone that used states may
# take, and every new user then got 503 zone_full.  Now a state whose code
# the token endpoint refuses is released at once, so is a state whose
# browser hangs up while the exchange runs, and the states that stay are
# 64 bytes each.
#
#   1. 50,000 junk pairs through /connect and /callback against a 10m
#      zone: no zone_full, no used state left, a real user then connects;
#   2. a 64k zone: 400 junk pairs, and 200 browsers that hang up while
#      their exchange waits for a token endpoint that never answers: no
#      zone_full, no used state left, a real user then connects;
#   3. what the states that stay cost: a 1m zone filled with states whose
#      exchange ended in a 5xx (the code's fate unknown: kept): how many
#      fit, and the zone's bytes per state (the 64-byte slab class);
#   4. with intercom_oauth_store: the released state is gone from Redis as
#      well (refused code, and a browser that hangs up), a kept one is
#      there.
#
# The pairs run over a few keep-alive connections, pipelined: a batch of
# connect requests, then the callbacks of the states they minted.  The
# token endpoint is a server of the same nginx that answers 401 (or 500)
# at once, over TLS.  docs/security.md quotes the numbers this prints.
#
# Ports: TEST_NGINX_SERVER_PORT + 52 (nginx), + 53 (the token endpoint in
# the same nginx), + 54 (a listener that never accepts: the endpoint that
# never answers), + 55 (redis-server, or the next free port up).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOMAXCONN);
use Test::More;
use Time::HiRes qw(sleep time);

my $root  = $IntercomOAuthTest::ROOT;
my $base  = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port  = $base + 52;
my $mock  = $base + 53;
my $hole  = $base + 54;
my $certs = $ENV{TEST_NGINX_CERT_DIR};
my $ca    = $ENV{TEST_NGINX_CA_FILE};
my $sr    = $IntercomOAuthTest::ENGINE eq 'subrequest';

my $prefix;

# stops nginx; a line of level alert or worse in its log fails the test
sub stop {
    return unless $prefix;

    stop_nginx($prefix);

    my @bad = grep { /\[(?:alert|crit|emerg)\]/ }
                   split /\n/, slurp("$prefix/logs/error.log");
    ok(!@bad, "no alert in the error log") or diag($bad[0]);

    $prefix = undef;
}

END { stop_nginx($prefix) if $prefix }

# ---------------------------------------------------------------------------
# the configuration

# the token endpoint of the junk pairs: a server of this nginx over TLS;
# with the subrequest engine a location of ours that reaches it through a
# keep-alive upstream, as libcurl keeps its connections
sub token_url {
    my $path = shift;
    return $sr ? "/_mock$path" : "https://127.0.0.1:$mock$path";
}

sub http_config {
    my (%o) = @_;
    my $c = $IntercomOAuthTest::HTTP_CONFIG;

    $c =~ s{intercom_oauth_zone\s+\S+;}{intercom_oauth_zone intercom:$o{zone};};
    $c =~ s{intercom_oauth_timeout\s+\S+;}{intercom_oauth_timeout 30s;};
    $c .= $o{store} // '';

    return $c . <<"_EOC_";
    upstream mock_tls {
        server 127.0.0.1:$mock;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$mock ssl;
        server_name localhost;
        ssl_certificate $certs/server.crt;
        ssl_certificate_key $certs/server.key;
        access_log off;
        keepalive_requests 1000000;
        default_type application/json;
        location = /token-401 {
            return 401 '{"type":"error.list","errors":[{"code":"unauthorized","message":"Unauthorized Code"}]}';
        }
        location = /token-500 {
            return 500 '{"type":"error.list","errors":[{"code":"server_error","message":"Internal server error"}]}';
        }
    }
_EOC_
}

sub locations {
    my ($junk) = @_;
    my $junk_url = token_url($junk);

    return <<"_EOC_";
        access_log off;
        keepalive_requests 1000000;
        location = /connect { intercom_connect_button redirect; }
        location = /callback {
            intercom_oauth_callback;
            intercom_oauth_token_url $junk_url;
        }
        location = /callback-hang {
            intercom_oauth_callback;
            intercom_oauth_token_url https://127.0.0.1:$hole/auth/eagle/token;
        }
        location = /callback-real { intercom_oauth_callback; }
        location = /token { return 200 "[\$intercom_oauth_connected]"; }
        location = /status { intercom_oauth_status; }
        location /_mock/ {
            internal;
            proxy_pass https://mock_tls/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $ca;
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
            subrequest_output_buffer_size 64k;
        }
_EOC_
}

sub start {
    my (%o) = @_;

    stop();
    $prefix = start_nginx('junk', $port, locations($o{junk}),
                          http_config => http_config(%o),
                          master => 1, workers => 2,
                          worker_connections => 1024, log_level => 'warn');
}

# ---------------------------------------------------------------------------
# HTTP over keep-alive connections

sub connect_to {
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                     Timeout => 10)
        or die "connect to $port: $!";
    return $sock;
}

sub request_text {
    my ($line, $sid) = @_;
    return "$line HTTP/1.1\r\nHost: localhost\r\n"
           . "Cookie: intercom_oauth_sid=$sid\r\n\r\n";
}

# reads n responses from a keep-alive connection: ([status, head, body]...)
sub read_responses {
    my ($sock, $n, $buf) = @_;
    my @out;

    while (@out < $n) {
        my $end = index($$buf, "\r\n\r\n");

        if ($end >= 0) {
            my $head = substr($$buf, 0, $end);
            my ($len) = $head =~ /^Content-Length: (\d+)/mi;
            $len //= 0;

            if (length($$buf) >= $end + 4 + $len) {
                my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
                push @out, [$status, $head, substr($$buf, $end + 4, $len)];
                substr($$buf, 0, $end + 4 + $len) = '';
                next;
            }
        }

        my $got = sysread($sock, $$buf, 65536, length $$buf);
        die "the connection closed after " . scalar(@out) . " of $n "
            . "responses\n" unless $got;
    }

    return @out;
}

# one connection's share of junk pairs, in pipelined batches: the
# callbacks' statuses counted
sub pairs_on_one_connection {
    my ($n, $sid, $tag) = @_;
    my $sock = connect_to();
    my $buf = '';
    my %status;
    my $batch = 100;

    for (my $done = 0; $done < $n; $done += $batch) {
        my $k = $n - $done < $batch ? $n - $done : $batch;

        print $sock join '', map { request_text('GET /connect', $sid) } 1 .. $k;

        my @states;

        for my $res (read_responses($sock, $k, \$buf)) {
            my ($state) = $res->[1] =~ /^Location: \S*[?&]state=([A-Za-z0-9_-]+)/m
                or die "no state in the connect redirect ($res->[0])\n";
            push @states, $state;
        }

        my $i = $done;
        print $sock join '', map {
            request_text(callback_request(code => 'junk-' . $tag . '-' . $i++,
                                          state => $_), $sid)
        } @states;

        $status{$_->[0]}++ for read_responses($sock, $k, \$buf);
    }

    close $sock;

    return %status;
}

# n junk pairs over c connections (one child each): the callbacks'
# statuses, and how long it took
sub junk_pairs {
    my ($n, $c) = @_;
    my (@kids, %status);
    my $t0 = time;

    for my $k (0 .. $c - 1) {
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork // die "fork: $!";

        if ($pid == 0) {
            close $r;
            my %s = eval {
                pairs_on_one_connection(int($n / $c) + ($k < $n % $c ? 1 : 0),
                                        new_sid(), $k);
            };
            print $w $@ ? "error $@" : join(' ', %s);
            close $w;
            POSIX::_exit(0);
        }

        close $w;
        push @kids, [$pid, $r];
    }

    for my $kid (@kids) {
        my $fh = $kid->[1];
        local $/;
        my $out = <$fh> // '';
        waitpid $kid->[0], 0;

        if ($out =~ /^error (.*)/s) {
            fail("a junk client failed: $1");
            next;
        }

        my %s = split ' ', $out;
        $status{$_} += $s{$_} for keys %s;
    }

    return (\%status, time - $t0);
}

sub status_json {
    my (undef, undef, $body) = http_request($port, 'GET /status');
    return $body // '';
}

sub counter {
    my ($json, $name) = @_;
    return $json =~ /"\Q$name\E":(\d+)/ ? $1 : undef;
}

# waits up to 5 s for the zone to hold n used states; the status then
sub wait_states {
    my $n = shift;
    my $json;

    for (1 .. 100) {
        $json = status_json();
        last if (counter($json, 'states') // -1) == $n;
        sleep 0.05;
    }

    return $json;
}

# a new browser: connect, approve at the stand-in (behave/ok takes any
# code), callback; (callback status, "[connected]" afterwards)
sub real_user {
    my $sid = new_sid();
    my $state = flow_connect($port, $sid);
    my ($status) = http_request($port,
        callback_request(path => '/callback-real', code => 'real-code',
                         state => $state // ''),
        "Cookie: intercom_oauth_sid=$sid");
    my (undef, undef, $token) = http_request($port, 'GET /token',
                                             "Cookie: intercom_oauth_sid=$sid");
    return ($status, $token);
}

sub statuses { join ', ', map { "$_: $_[0]{$_}" } sort keys %{ $_[0] } }

# ---------------------------------------------------------------------------
# 1. 50,000 junk pairs against a 10m zone

start(zone => '10m', junk => '/token-401');

my ($st, $secs) = junk_pairs(50000, 8);

is($st->{502} // 0, 50000,
   'part 1: 50,000 junk pairs: every callback 502 (the endpoint refused '
   . 'the code)') or diag(statuses($st));

my $json = wait_states(0);

is(counter($json, 'zone_full'), 0, 'part 1: no zone_full');
is(counter($json, 'states'), 0, 'part 1: no used state left in the zone');
is(counter($json, 'failed'), 50000, 'part 1: 50,000 exchanges refused');

my ($status, $token) = real_user();
is($status, 302, 'part 1: a new user then connects');
is($token, '[1]', 'part 1: ... and has a token');

diag(sprintf "part 1: 50,000 junk pairs in %.1f s (%s engine), %s bytes "
     . "of the 10m zone in use after them", $secs,
     $IntercomOAuthTest::ENGINE, counter($json, 'bytes_used') // '?');

# ---------------------------------------------------------------------------
# 2. a 64k zone: junk pairs and browsers that hang up mid-exchange

my $listener = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$hole",
                                     Listen => SOMAXCONN, ReuseAddr => 1)
    or die "listen on $hole: $!";

start(zone => '64k', junk => '/token-401');

($st) = junk_pairs(400, 4);
is($st->{502} // 0, 400, 'part 2: 400 junk pairs refused by the endpoint')
    or diag(statuses($st));

# 200 browsers whose exchange waits for an endpoint that never answers
my @hung;

for my $i (1 .. 200) {
    my $sid = new_sid();
    my $state = flow_connect($port, $sid) // die "no state\n";
    my $sock = connect_to();
    print $sock request_text(callback_request(path => '/callback-hang',
                                              code => "hang-$i",
                                              state => $state), $sid);
    push @hung, $sock;
}

$json = wait_states(200);
is(counter($json, 'states'), 200,
   'part 2: 200 exchanges under way hold their states');

close $_ for @hung;

$json = wait_states(0);
is(counter($json, 'states'), 0,
   'part 2: the browsers hung up: their states are released');
is(counter($json, 'zone_full'), 0, 'part 2: no zone_full');

($status, $token) = real_user();
is($status, 302, 'part 2: a new user then connects');
is($token, '[1]', 'part 2: ... and has a token');

close $listener;

# ---------------------------------------------------------------------------
# 3. the states that stay: a 1m zone filled by exchanges that end in a 5xx

start(zone => '1m', junk => '/token-500');

my $before = counter(status_json(), 'bytes_used');

($st) = junk_pairs(9000, 4);
$json = status_json();

my $held = counter($json, 'states');
my $full = counter($json, 'zone_full');
my $per_state = (counter($json, 'bytes_used') - $before) / ($held || 1);

is(($st->{502} // 0) + ($st->{503} // 0), 9000,
   'part 3: 9,000 pairs: 502 while the zone had room, then 503')
    or diag(statuses($st));
is($st->{502}, $held, 'part 3: every 502 left its state in the zone');
cmp_ok($held, '>=', 7900, 'part 3: a 1m zone holds 7,900 kept states or more');
cmp_ok($full, '>', 0, 'part 3: ... and then says zone_full');
cmp_ok($per_state, '<=', 65, 'part 3: a kept state takes 64 bytes of the zone');

diag(sprintf "part 3: a 1m zone holds %d kept states, %.1f bytes each",
     $held, $per_state);

# ---------------------------------------------------------------------------
# 4. Redis: the released state is gone there too

SKIP: {
    skip 'redis-server is not installed', 5
        unless `sh -c 'command -v redis-server'`;

    my $rport = free_port($base + 55, $port, $mock, $hole);
    my $rdir = "$root/t/servroot-redis-junk-$rport";
    system('rm', '-rf', $rdir);
    start_redis($rport, $rdir);

    my $keyfile = secret_file("$rdir/store.key", 'a' x 64);
    my $store = store_http_config($rport, $keyfile);
    my $states = sub {
        my @k = grep { length } split /\n/,
                    redis_cli($rport, 'KEYS', 'intercom_oauth:state:*');
        return scalar @k;
    };
    my $wait_keys = sub {
        my $n = shift;
        for (1 .. 100) { last if $states->() == $n; sleep 0.05 }
        return $states->();
    };

    $listener = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$hole",
                                      Listen => SOMAXCONN, ReuseAddr => 1)
        or die "listen on $hole: $!";

    start(zone => '1m', junk => '/token-401', store => $store);
    sleep 0.3;    # the workers connect to Redis

    my $sid = new_sid();
    my $state = flow_connect($port, $sid);
    is(flow_callback($port, $sid, $state, 'junk-redis'), 502,
       'part 4: a junk code with the store: 502');
    is($wait_keys->(0), 0, 'part 4: its state is released in Redis too');

    $state = flow_connect($port, $sid);
    my $sock = connect_to();
    print $sock request_text(callback_request(path => '/callback-hang',
                                              code => 'hang-redis',
                                              state => $state), $sid);
    is($wait_keys->(1), 1, 'part 4: an exchange under way holds its state '
                           . 'in Redis');
    close $sock;
    is($wait_keys->(0), 0, 'part 4: the browser hung up: released in Redis');

    stop();
    start(zone => '1m', junk => '/token-500', store => $store);
    sleep 0.3;

    $state = flow_connect($port, $sid);
    flow_callback($port, $sid, $state, 'junk-500');
    is($wait_keys->(1), 1, 'part 4: a 5xx keeps the state in Redis');

    stop();
    stop_redis($rport);
    close $listener;
}

stop();

done_testing();
