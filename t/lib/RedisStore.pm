# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

package RedisStore;

# A real redis-server (the Debian package) for the store's tests, on
# loopback, with append-only persistence in a directory of its own, and the
# pieces of nginx.conf that point the module at it.

use strict;
use warnings;

use Digest::SHA qw(sha256 hmac_sha256 hmac_sha256_hex);
use IO::Socket::INET;
use IntercomOAuthTest::System ();
use POSIX ();

our @EXPORT = qw(start_redis start_sentinel stop_redis redis_cli redis_pid
                 token_key store_http_config flow_connect flow_callback
                 token_of free_port);

sub import {
    my $caller = caller;
    no strict 'refs';
    *{"${caller}::$_"} = \&{"RedisStore::$_"} for @EXPORT;
}

my %servers;    # port -> pid

# port -> redis-cli's arguments for a server there that speaks only TLS or
# has a password of its own: [--tls, --cacert, ..., -a, password]
our %CLI;

# free_port(want, avoid...): want, or the next port up that nothing on the
# machine listens on and that is not one of "avoid" (the test's own nginx
# ports).  Some machines run their own services on ports near the suite's
# (2024 on this project's CI machines, TEST_NGINX_SERVER_PORT + 40).
sub free_port {
    my ($want, @avoid) = @_;
    my %avoid = map { $_ => 1 } @avoid;

    for my $port ($want .. $want + 200) {
        next if $avoid{$port};
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 1)
            or next;
        close $s;
        return $port;
    }

    die "no free port from $want on\n";
}

# start_redis(port, dir, extra arguments...): a fresh server, or one that
# reopens dir's AOF
sub start_redis {
    my ($port, $dir, @extra) = @_;

    mkdir $dir;

    return spawn($port, "$dir/redis.log", 'redis-server',
                 '--port', $port, '--bind', '127.0.0.1',
                 '--dir', $dir, '--appendonly', 'yes',
                 '--appendfsync', 'always', '--save', '',
                 '--daemonize', 'no', '--protected-mode', 'yes', @extra);
}

# start_sentinel(port, dir, sentinel.conf's text): a sentinel
# (redis-server --sentinel), stopped as the servers are
sub start_sentinel {
    my ($port, $dir, $conf) = @_;

    mkdir $dir;
    open my $fh, '>', "$dir/sentinel.conf" or die "$dir: $!\n";
    print $fh "dir $dir\n", $conf;
    close $fh;

    return spawn($port, "$dir/sentinel.log", 'redis-server',
                 "$dir/sentinel.conf", '--sentinel');
}

# spawn(port, log, command...): runs it, waits until it answers PING
sub spawn {
    my ($port, $log, @cmd) = @_;

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        no warnings 'exec';
        exec @cmd;
        POSIX::_exit(127);
    }

    $servers{$port} = $pid;

    for (1 .. 200) {
        return $pid if redis_cli($port, 'PING') eq "PONG\n";
        select undef, undef, undef, 0.05;
    }

    die "$cmd[0] did not start on $port (see $log)\n";
}

# the pid of the server on port (for SIGSTOP and SIGCONT)
sub redis_pid { $servers{$_[0]} }

# stop_redis(port, signal): TERM by default (a clean shutdown), KILL to crash
sub stop_redis {
    my ($port, $signal) = @_;
    my $pid = delete $servers{$port} or return;

    kill $signal || 'TERM', $pid;
    waitpid $pid, 0;
}

sub redis_cli {
    my ($port, @args) = @_;
    my $q = join ' ', map { my $a = $_; $a =~ s/'/'\\''/g; "'$a'" }
                      @{ $CLI{$port} || [] }, @args;
    return scalar `redis-cli -p $port $q 2>/dev/null`;
}

# token_key(prefix, store key file's text, client id, key, realm): the
# Redis key of a token, named as the module names it
# (src/ngx_http_intercom_oauth_store.h); the realm is by default
# "localhost", the server_name of IntercomOAuthTest::System's servers
sub token_key {
    my ($prefix, $secret, $client_id, $key, $realm) = @_;
    $realm //= 'localhost';
    $secret =~ s/\s+\z//;
    my $names = hmac_sha256('intercom_oauth_store key names', sha256($secret));
    my $what = length $realm ? "$client_id\0$realm\0$key" : "$client_id:$key";
    return "${prefix}token:$client_id:" . hmac_sha256_hex($what, $names);
}

# the http-level lines that give the module a store
sub store_http_config {
    my ($port, $keyfile, %o) = @_;
    my $timeout = $o{timeout} || '500ms';
    my $cache = $o{cache_ttl}
                ? "    intercom_oauth_store_cache_ttl $o{cache_ttl};\n" : '';

    return $cache . <<"_EOC_";
    intercom_oauth_store          redis://127.0.0.1:$port;
    intercom_oauth_store_key      file:$keyfile;
    intercom_oauth_store_timeout  $timeout;
    intercom_oauth_store_connect_timeout 500ms;
_EOC_
}

# flow_connect(port, sid): the state of a connect button's redirect
sub flow_connect {
    my ($port, $sid) = @_;
    my ($status, $head) = IntercomOAuthTest::System::http_request($port,
        'GET /connect', IntercomOAuthTest::session_cookie($sid));

    return $head =~ /^Location: \S*[?&]state=([A-Za-z0-9_-]+)/m ? $1 : undef;
}

# flow_callback(port, sid, state): the callback's status
sub flow_callback {
    my ($port, $sid, $state, $code) = @_;
    my ($status) = IntercomOAuthTest::System::http_request($port,
        IntercomOAuthTest::callback_request(code => $code || 'c-' . rand(),
                                            state => $state),
        IntercomOAuthTest::session_cookie($sid));

    return $status;
}

# token_of(port, sid): "[connected][token]" as /token shows it
sub token_of {
    my ($port, $sid) = @_;
    my (undef, undef, $body) = IntercomOAuthTest::System::http_request($port,
        'GET /token', IntercomOAuthTest::session_cookie($sid));

    return $body;
}

END {
    for my $pid (values %servers) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
}

1;
