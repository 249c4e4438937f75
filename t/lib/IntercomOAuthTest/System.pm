# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

package IntercomOAuthTest::System;

# What the plain-Perl tests in t/system/ share: they do what a Test::Nginx
# block cannot (requests at the same time, reloads, killed workers, several
# hosts), so they start nginx themselves, often with a master process, and
# talk HTTP over plain sockets.
#
#   start_nginx(NAME, PORT, SERVER_BODY, %options) -> prefix
#   stop_nginx(PREFIX)
#   nginx_pid(PREFIX), worker_pids(MASTER), wait_workers(MASTER, N)
#   http_request(PORT, "GET /x", headers...) -> (status, head, body)
#   http_send(...) -> socket, http_read(socket) -> (status, head, body)
#   error_log_of(PREFIX), slurp(FILE), secret_file(PATH, TEXT), new_sid()
#   worker_user_line(), nginx_version() -> 1025001 for 1.25.1
#
# The values of $NGINX and $MODULE come from what t/run-tests exports
# (TEST_NGINX_BINARY, TEST_NGINX_LOAD_MODULES).

use strict;
use warnings;

use IntercomOAuthTest ();
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64url);
use Time::HiRes ();

our @EXPORT = qw(start_nginx stop_nginx nginx_pid worker_pids wait_workers
                 stop_process callback_burst write_stopped
                 http_request http_send http_read error_log_of slurp
                 secret_file new_sid worker_user_line nginx_version
                 $NGINX $MODULE);

sub import {
    IntercomOAuthTest::export_names(__PACKAGE__, \@EXPORT, scalar caller);
}

my $ROOT = $IntercomOAuthTest::ROOT;

our $NGINX  = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
# TEST_NGINX_LOAD_MODULES set and empty: the module is built into nginx
# (t/run-tests --static), and no load_module line is written
our $MODULE = $ENV{TEST_NGINX_LOAD_MODULES}
              // "$ROOT/build/nginx/objs/ngx_http_intercom_oauth_module.so";

# The user the workers run as, as openresty's Test::Nginx chooses it:
# TEST_NGINX_WORKER_USER if set, else, when the suite runs as root, root.
# Without it a master started by root runs its workers as "nobody", and
# the workers read files inside the checkout at request time (the test CA
# that libcurl loads for each exchange, temporary files in the prefix):
# a checkout in /root or in a "mktemp -d" directory (mode 0700) is closed
# to "nobody", and every exchange would fail with 502.  Not running as
# root, nginx cannot change users and the line would only draw a warning.
sub worker_user_line {
    my $user = $ENV{TEST_NGINX_WORKER_USER};

    return "user $user;\n" if defined $user && length $user;
    return $> == 0 ? "user root;\n" : '';
}

# $NGINX's version as nginx_version_number counts it (1.25.1: 1025001),
# from "nginx -v" (nginx/, freenginx/ or openresty/ and its core version),
# for what differs between versions; dies when it does not say
my $version;
sub nginx_version {
    return $version if defined $version;

    my ($x, $y, $z) = `'$NGINX' -v 2>&1` =~ m{version: \w+/(\d+)\.(\d+)\.(\d+)}
        or die "$NGINX -v does not say its version\n";

    return $version = $x * 1000000 + $y * 1000 + $z;
}

# start_nginx(name, port, server_body, %o) writes
# t/servroot-NAME-PORT/conf/nginx.conf and starts nginx there; returns the
# prefix once nginx listens and has written its pid file.  The server
# block listens on 127.0.0.1:PORT and holds server_body; the http block
# holds $HTTP_CONFIG or http_config.  Both go through the exchange engine
# under test (IntercomOAuthTest::engine_config), and every $TEST_NGINX_*
# in them is replaced by its value.  Options:
#   master => 1              master_process on (default off)
#   workers => N             worker_processes (1)
#   worker_connections => N  (256)
#   log_level => LEVEL       error_log's level (debug)
#   main => TEXT             lines for the main context (env, ...)
#   http_config => TEXT      instead of $HTTP_CONFIG
sub start_nginx {
    my ($name, $port, $http, %o) = @_;

    my $prefix = "$ROOT/t/servroot-$name-$port";

    stop_nginx($prefix) if -d $prefix;
    system('rm', '-rf', $prefix);
    mkdir $prefix;
    mkdir "$prefix/$_" for qw(conf logs html);

    my $master = $o{master} ? 'on' : 'off';
    my $workers = $o{workers} || 1;
    my $connections = $o{worker_connections} || 256;
    my $level = $o{log_level} || 'debug';
    my $main = $o{main} // '';
    my $user = worker_user_line();
    my $http_config = defined $o{http_config} ? $o{http_config}
                                              : $IntercomOAuthTest::HTTP_CONFIG;
    my $ca = IntercomOAuthTest::engine_ca(join "\n", grep { defined } $http,
                                                                  $http_config);
    my $body = IntercomOAuthTest::engine_config($http, 'server', $ca);

    $http_config = IntercomOAuthTest::engine_config($http_config, 'http', $ca);

    my $load = $MODULE ? "load_module $MODULE;\n" : '';
    my $conf = <<"_EOC_";
${load}${user}worker_processes $workers;
master_process $master;
daemon on;
error_log logs/error.log $level;
pid logs/nginx.pid;
$main
events { worker_connections $connections; accept_mutex off; }
http {
    access_log logs/access.log;
    default_type text/plain;
$http_config
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
$body
    }
}
_EOC_

    $conf =~ s/\$(TEST_NGINX_[A-Z0-9_]+)/
        defined $ENV{$1} ? $ENV{$1} : die "$1 is not set\n"/ge;

    open my $fh, '>', "$prefix/conf/nginx.conf" or die $!;
    print $fh $conf;
    close $fh;

    # an nginx stopped just before (this test's, on the same port under
    # another name, or the last file's) may still hold the port: bind()
    # would fail with "Address already in use"
    for (1 .. 200) {
        last unless IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        Time::HiRes::sleep(0.05);
    }

    system($NGINX, '-p', "$prefix/", '-c', 'conf/nginx.conf') == 0
        or die "nginx did not start (see $prefix/logs/error.log): "
               . ((error_log_of($prefix) =~ /^.*\[emerg\].*$/m)[0] // '')
               . "\n";

    # nginx binds its sockets before it daemonizes; the daemon writes the
    # pid file after
    for (1 .. 200) {
        return $prefix if -s "$prefix/logs/nginx.pid"
                          && IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        Time::HiRes::sleep(0.05);
    }

    die "nginx does not listen on $port\n";
}

# the pid in PREFIX/logs/nginx.pid (the master's, or the single process's)
sub nginx_pid {
    my $prefix = shift;

    open my $fh, '<', "$prefix/logs/nginx.pid" or return;
    chomp(my $pid = <$fh> // '');
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# QUIT, and KILL after 10 s; returns once the process is gone (kill()
# only sends: a killed nginx holds its sockets until it has exited)
sub stop_nginx {
    my $prefix = shift;
    my $pid = nginx_pid($prefix) or return;

    kill 'QUIT', $pid;

    for (1 .. 200) {
        return unless kill 0, $pid;
        Time::HiRes::sleep(0.05);
    }

    kill 'KILL', $pid;

    for (1 .. 100) {
        return unless kill 0, $pid;
        Time::HiRes::sleep(0.05);
    }
}

# The master's live workers, in pid order: not the ones still shutting
# down after a reload, not zombies.  ps is procps's.
sub worker_pids {
    my $master = shift;
    my @pids;

    for (`ps -o pid=,stat=,args= --ppid $master 2>/dev/null`) {
        my ($pid, $stat, $args) = /^\s*(\d+)\s+(\S+)\s+(.*)$/ or next;
        next if $stat =~ /Z/ || $args =~ /shutting down/;
        push @pids, $pid if $args =~ /worker process/;
    }

    @pids = sort { $a <=> $b } @pids;

    return @pids;    # in scalar context, how many
}

# waits up to 10 s for the master to have n live workers
sub wait_workers {
    my ($master, $n) = @_;

    for (1 .. 200) {
        return 1 if scalar(my @w = worker_pids($master)) == $n;
        Time::HiRes::sleep(0.05);
    }

    return 0;
}

# stop_process(pid): SIGSTOP, then wait (up to 5 s) until the process is
# stopped (state T): kill() only sends the signal, and a process still
# running would read what the caller writes next piecemeal
sub stop_process {
    my $pid = shift;

    kill 'STOP', $pid;

    for (1 .. 500) {
        open my $fh, '<', "/proc/$pid/stat" or return 0;
        my $stat = <$fh>;
        return 1 if $stat =~ /^\d+ \(.*\) T /;
        Time::HiRes::sleep(0.01);
    }

    return 0;
}

# callback_burst(tag, n) -> n callback requests, each with a fresh state,
# the session cookie and "Connection: close"
sub callback_burst {
    my ($tag, $n) = @_;

    return map {
        "GET /callback?code=$tag$_&state=" . IntercomOAuthTest::make_state()
        . " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . IntercomOAuthTest::session_cookie() . "\r\n\r\n"
    } 1 .. $n;
}

# write_stopped(pid, [sockets], [requests]): each request written to its
# socket while nginx's process pid is stopped, so that it reads them all
# in one epoll_wait() when it runs again
sub write_stopped {
    my ($pid, $socks, $reqs) = @_;

    stop_process($pid) or die "process $pid did not stop\n";
    print {$socks->[$_]} $reqs->[$_] for 0 .. $#$socks;
    kill 'CONT', $pid;
}

# http_request(port, "GET /x", headers...) -> (status, headers, body),
# over one connection that is closed after the answer; a second line in
# the request is its body
sub http_request {
    my ($port, $line, @headers) = @_;
    my $sock = http_send($port, $line, @headers);
    return http_read($sock);
}

sub http_send {
    my ($port, $line, @headers) = @_;
    my ($req, $body) = split /\n/, $line, 2;

    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                     Timeout => 10)
        or die "connect to $port: $!";

    my $msg = "$req HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    $msg .= "$_\r\n" for @headers;
    $msg .= "Content-Length: " . length($body) . "\r\n" if defined $body;
    $msg .= "\r\n";
    $msg .= $body if defined $body;

    print $sock $msg;

    return $sock;
}

# (0, '', '') when the connection closed without an answer
sub http_read {
    my $sock = shift;
    local $/;
    my $raw = <$sock>;
    close $sock;

    return (0, '', '') unless defined $raw && length $raw;

    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($status) = $head =~ m{^HTTP/\d\.\d (\d+)};

    return ($status, $head, $body);
}

sub slurp {
    my $file = shift;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar(<$fh>) // '';
}

# PREFIX/logs/error.log; a test that looks for it where there is none
# dies rather than find nothing in it
sub error_log_of {
    my $file = "$_[0]/logs/error.log";
    -e $file or die "no $file\n";
    return slurp($file);
}

# a file only its owner can read, holding TEXT and a newline (the form
# "file:" directives read); returns its path
sub secret_file {
    my ($path, $text) = @_;

    open my $fh, '>', $path or die "$path: $!";
    print $fh "$text\n";
    close $fh;
    chmod 0600, $path;

    return $path;
}

# a session id of the form the module gives out: 16 random bytes, base64url
sub new_sid { encode_base64url(IntercomOAuthTest::nonce()) }

1;
