# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# What the logs keep of the callback's code and state where a Test::Nginx
# block cannot look (t/007-nginx-around.t has the rest), and the run-time
# warnings over several workers:
#
#   part 1: over HTTP/2 (h2c, curl), whose request line nginx builds
#           itself: a callback refused by deny, and a callback sent to
#           another URI, as the access and error logs show them;
#   part 2: request lines of other shapes: an absolute URI, HTTP/1.0,
#           HTTP/0.9 (no protocol after the URI);
#   part 3: two workers: an http:// redirect_uri and an
#           $intercom_oauth_authorize_url in an SSI include are each
#           warned at most once per worker, whatever the number of
#           requests.
#
# Ports: TEST_NGINX_SERVER_PORT + 90 (HTTP/1.x), + 91 (h2c).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Socket::INET;
use Test::More;

my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 90;
my $h2c  = $port + 1;

my $http_config = $HTTP_CONFIG . <<'_EOC_';
    log_format  pids  '$pid';
_EOC_

my $prefix = start_nginx('logs', $port, <<"_EOC_",
        listen 127.0.0.1:$h2c http2;

        location = /callback { deny all; intercom_oauth_callback; }
        location = /t { return 200 "\$request\\n"; }
        location = /connect-http {
            intercom_oauth_redirect_uri \$scheme://\$host/callback;
            intercom_connect_button redirect;
            access_log logs/pids.log pids;
        }
        location = /page.html { ssi on; access_log logs/pids-ssi.log pids; }
        location = /url { return 200 "\$intercom_oauth_authorize_url\\n"; }
_EOC_
                         http_config => $http_config, master => 1,
                         workers => 2, log_level => 'info');

END { stop_nginx($prefix) if $prefix }

open my $fh, '>', "$prefix/html/page.html" or die $!;
print $fh qq{<!--# include virtual="/url" -->\n};
close $fh;

my @secrets;    # every code and state sent

sub code { my $c = 'c015-' . shift; push @secrets, $c; return $c }
sub state { my $s = make_state(); push @secrets, $s; return $s }

sub access_log { slurp("$prefix/logs/access.log") }

# raw(text): what nginx answered to exactly these bytes
sub raw {
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                     Timeout => 10)
        or die "connect to $port: $!";
    print $sock shift;
    local $/;
    my $out = <$sock>;
    close $sock;
    return $out // '';
}

# -- part 1: HTTP/2 ------------------------------------------------------

SKIP: {
    skip 'curl has no HTTP/2', 5
        unless system('curl --version | grep -q HTTP2') == 0;

    my $state = state();
    my $code = code('h2');
    my $st = `curl -s -o /dev/null -m 10 --http2-prior-knowledge -w '%{http_version} %{http_code}' 'http://127.0.0.1:$h2c/callback?code=$code&state=$state'`;
    is($st, '2 403', 'h2c: the callback is refused by deny');

    $code = code('h2-elsewhere');
    my $body = `curl -s -m 10 --http2-prior-knowledge 'http://127.0.0.1:$h2c/t?code=$code&state=$state&x=1'`;
    is($body, "GET /t?code=[withheld]&state=[withheld]&x=1 HTTP/2.0\n",
       'h2c: a callback sent elsewhere: $request has its values withheld');

    select undef, undef, undef, 0.2;

    like(access_log(), qr{"GET /callback\?\[oauth arguments withheld\] HTTP/2\.0" 403},
         'h2c: the access log shows the callback without its arguments');
    like(access_log(), qr{"GET /t\?code=\[withheld\]&state=\[withheld\]&x=1 HTTP/2\.0" 200},
         'h2c: and the other request without their values');
    like(error_log_of($prefix),
         qr{access forbidden by rule, .*request: "GET /callback\?\[oauth arguments withheld\] HTTP/2\.0"},
         'h2c: so does the error log');
}

# -- part 2: request lines of other shapes -------------------------------

my $state = state();
my $code = code('absolute');

like(raw("GET http://localhost:$port/callback?code=$code&state=$state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
     qr{^HTTP/1\.1 403}, 'an absolute URI: 403');

$code = code('http10');
like(raw("GET /callback?code=$code&state=$state HTTP/1.0\r\n\r\n"),
     qr{^HTTP/1\.1 403}, 'HTTP/1.0: 403');

$code = code('http09');
like(raw("GET /callback?code=$code&state=$state\r\n"),
     qr{403 Forbidden}, 'HTTP/0.9: 403');

select undef, undef, undef, 0.2;

my $acc = access_log();
like($acc, qr{"GET http://localhost:$port/callback\?\[oauth arguments withheld\] HTTP/1\.1" 403},
     'the absolute URI keeps its host, not its arguments');
like($acc, qr{"GET /callback\?\[oauth arguments withheld\] HTTP/1\.0" 403},
     'HTTP/1.0 keeps its protocol');
like($acc, qr{"GET /callback\?\[oauth arguments withheld\]" 403},
     'HTTP/0.9 has nothing after the query');

# -- part 3: warned once per worker -------------------------------------

for (1 .. 30) {
    my ($st) = http_request($port, 'GET /connect-http', session_cookie());
    die "GET /connect-http: $st\n" unless $st == 302;
    ($st) = http_request($port, 'GET /page.html', session_cookie());
    die "GET /page.html: $st\n" unless $st == 200;
}

select undef, undef, undef, 0.2;

my $log = error_log_of($prefix);

for my $case (['pids.log', qr/"intercom_oauth_redirect_uri" evaluated to an http:\/\/ URI/,
               'an http:// redirect_uri'],
              ['pids-ssi.log', qr/"\$intercom_oauth_authorize_url" evaluated in a subrequest/,
               '$intercom_oauth_authorize_url in an SSI include'])
{
    my ($file, $re, $what) = @$case;
    my %served = map { chomp; $_ => 1 } split /\n/, slurp("$prefix/logs/$file");
    my @warned = map { /\[warn\] (\d+)#/ ? $1 : () } grep { $_ =~ $re } split /\n/, $log;
    my %warned;
    $warned{$_}++ for @warned;

    ok(scalar(keys %served) >= 1, "$what: served by " . scalar(keys %served)
                                  . " worker(s)");
    is_deeply([sort keys %warned], [sort keys %served],
              "$what: every worker that served it warned");
    is(scalar(grep { $_ > 1 } values %warned), 0, "$what: each once");
}

# -- nothing of the codes and states anywhere ---------------------------

$log = error_log_of($prefix);
$acc = access_log();

for my $s (@secrets) {
    my $what = length $s > 30 ? 'state ' . substr($s, 0, 12) . '...' : $s;
    unlike($log, qr/\Q$s\E/, "error.log: no $what");
    unlike($acc, qr/\Q$s\E/, "access.log: no $what");
}
unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');

done_testing();
