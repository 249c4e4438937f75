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
                 token_of free_port start_group $FLOW_LOCATIONS);

sub import {
    my $caller = caller;
    no strict 'refs';
    for (@EXPORT) {
        if (/^\$(.*)/) {
            *{"${caller}::$1"} = \${"RedisStore::$1"};
        } else {
            *{"${caller}::$_"} = \&{"RedisStore::$_"};
        }
    }
}

my %servers;    # port -> pid

# port -> redis-cli's arguments for a server there that speaks only TLS or
# has a password of its own: [--tls, --cacert, ..., -a, password]
our %CLI;
# the locations of the store's flow tests: the connect button, the
# callback, and what a session's token is
our $FLOW_LOCATIONS = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
_EOC_

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

# start_group(dir, group, primary, [replicas], sentinel ports...): once
# the replicas are in sync with the primary, a sentinel on each port
# monitoring the group (quorum 2, down after 500 ms); returns once every
# sentinel knows the replicas and the other sentinels, or after 20 s
sub start_group {
    my ($dir, $group, $primary, $replicas, @ports) = @_;

    for (1 .. 200) {
        last if @$replicas == grep { redis_cli($_, 'INFO', 'replication')
                                     =~ /master_link_status:up/ } @$replicas;
        select undef, undef, undef, 0.1;
    }

    start_sentinel($_, "$dir/s$_", <<"_EOC_") for @ports;
port $_
bind 127.0.0.1
sentinel monitor $group 127.0.0.1 $primary 2
sentinel down-after-milliseconds $group 500
sentinel failover-timeout $group 3000
sentinel parallel-syncs $group 2
_EOC_

    my ($n, $m) = (scalar @$replicas, scalar @ports);

    for (1 .. 200) {
        return if @ports == grep {
            redis_cli($_, 'INFO', 'sentinel')
            =~ /status=ok,address=[^,]+,slaves=$n,sentinels=$m/ } @ports;
        select undef, undef, undef, 0.1;
    }
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

# the http-level lines that give the module a store: redis-server on
# loopback port, or the store's URL
sub store_http_config {
    my ($port, $keyfile, %o) = @_;
    my $url = $port =~ /^\d+$/ ? "redis://127.0.0.1:$port" : $port;
    my $timeout = $o{timeout} || '500ms';
    my $cache = $o{cache_ttl}
                ? "    intercom_oauth_store_cache_ttl $o{cache_ttl};\n" : '';

    return $cache . <<"_EOC_";
    intercom_oauth_store          $url;
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
    my $rc = $?;    # waitpid sets $?, the test's exit status
    for my $pid (values %servers) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    $? = $rc;
}

1;
