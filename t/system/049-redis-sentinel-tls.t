# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# A Sentinel-managed group that speaks only TLS, as production groups run:
# a primary and a replica (redis-server, port 0, tls-port, tls-replication
# yes, client certificates required, an ACL user on both) and three
# sentinels (redis-server --sentinel, TLS only, requirepass), certificates
# from the test CA; nginx with "intercom_oauth_store sentinels://...".
#
#   a flow completes (WAIT 1 met by the replica), through TLS to a
#   sentinel (its name verified, AUTH with the sentinel password) and TLS
#   to the primary it names (its address verified against the
#   certificate's IP addresses, or intercom_oauth_store_server_name), as
#   an ACL user with only the commands docs/directives.md lists; a
#   reconnect resumes the TLS session;
#   a wrong sentinel password, none, a user without the ROLE command and
#   a primary's certificate not for intercom_oauth_store_server_name: each
#   refused with one clear log line, nothing kept, no password logged;
#   the primary killed (SIGKILL): flows answer 503, then 302 again through
#   TLS to the promoted replica.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use Time::HiRes qw(sleep);
use Test::More;

my $root  = $IntercomOAuthTest::ROOT;
my $base  = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port  = $base + 132;
my $dir   = "$root/t/servroot-redis-" . ($base + 132);
my $certs = $ENV{TEST_NGINX_CERT_DIR};

my @avoid = ($port);
my @redis;
for (0 .. 1) { push @redis, free_port($base + 134 + $_, @avoid); push @avoid, $redis[-1] }
my @sentinels;
for (0 .. 2) { push @sentinels, free_port($base + 136 + $_, @avoid); push @avoid, $sentinels[-1] }

system('rm', '-rf', $dir);
mkdir $dir;

# the servers' certificate: localhost and 127.0.0.1 (what the sentinels
# announce), for serving and, to one another (replication, sentinels), as
# a client; the module's: a client certificate
sub certificate {
    my ($name, $ext) = @_;
    open my $fh, '>', "$dir/$name.ext" or die $!;
    print $fh $ext;
    close $fh;
    system("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256"
           . " -nodes -keyout $dir/$name.key -subj /CN=$name"
           . " -out $dir/$name.csr 2>/dev/null && openssl x509 -req"
           . " -in $dir/$name.csr -CA $certs/ca.crt -CAkey $certs/ca.key"
           . " -set_serial " . (4800 + length $name) . " -days 2"
           . " -extfile $dir/$name.ext -out $dir/$name.crt 2>/dev/null") == 0
        or die "the certificate $name could not be made\n";
}

certificate('node', "subjectAltName = DNS:localhost, IP:127.0.0.1\n"
                    . "extendedKeyUsage = serverAuth, clientAuth\n");
certificate('site', "extendedKeyUsage = clientAuth\n");

my @tls = ('--tls-cert-file', "$dir/node.crt",
           '--tls-key-file', "$dir/node.key",
           '--tls-ca-cert-file', "$certs/ca.crt");

my $keyfile  = secret_file("$dir/store.key", 'd4' x 32);
my $userpass = 'site-pass-' . unpack('H*', IntercomOAuthTest::nonce());
my $passfile = secret_file("$dir/user.pass", $userpass);
my $defpass  = 'default-' . unpack('H*', IntercomOAuthTest::nonce());
my $sentpass = 'sentinel-' . unpack('H*', IntercomOAuthTest::nonce());
my $sentfile = secret_file("$dir/sentinel.pass", $sentpass);
my $badfile  = secret_file("$dir/bad.pass", 'not-the-sentinel-password');

my @cli = ('--tls', '--cacert', "$certs/ca.crt", '--cert', "$dir/node.crt",
           '--key', "$dir/node.key", '--no-auth-warning');
$RedisStore::CLI{$_} = [@cli, '-a', $defpass] for @redis;
$RedisStore::CLI{$_} = [@cli, '-a', $sentpass] for @sentinels;

# the ACL users on every node (ACL users are not replicated), with the
# commands docs/directives.md lists (Redis checks the scripts' commands
# too); "norole" lacks ROLE, which sentinel[s]:// sends to what the
# sentinels name
my @acl = qw(+select +get +set +del +eval +sadd +srem +smembers +wait);
my @node = ('--port', 0, @tls, '--tls-auth-clients', 'yes',
            '--tls-replication', 'yes',
            '--requirepass', $defpass, '--masterauth', $defpass,
            '--user', 'site', 'on', ">$userpass", '~t48:*', @acl, '+role',
            '--user', 'norole', 'on', ">$userpass", '~t48:*', @acl);

start_redis($redis[0], "$dir/r0", '--tls-port', $redis[0], @node);
start_redis($redis[1], "$dir/r1", '--tls-port', $redis[1], @node,
            '--replicaof', '127.0.0.1', $redis[0]);

for my $i (0 .. 2) {
    start_sentinel($sentinels[$i], "$dir/s$i", <<"_EOC_");
port 0
tls-port $sentinels[$i]
bind 127.0.0.1 -::1
tls-cert-file $dir/node.crt
tls-key-file $dir/node.key
tls-ca-cert-file $certs/ca.crt
tls-auth-clients yes
tls-replication yes
requirepass $sentpass
sentinel monitor mymaster 127.0.0.1 $redis[0] 2
sentinel auth-pass mymaster $defpass
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 5000
_EOC_
}

for (1 .. 200) {
    last if redis_cli($redis[1], 'INFO', 'replication')
            =~ /master_link_status:up/;
    sleep 0.1;
}
for (1 .. 200) {
    last if redis_cli($sentinels[0], 'INFO', 'sentinel')
            =~ /status=ok,address=[^,]+,slaves=1,sentinels=3/;
    sleep 0.1;
}
like(redis_cli($sentinels[0], 'INFO', 'sentinel'), qr/slaves=1,sentinels=3/,
     'the group over TLS only: a primary, a replica, three sentinels');

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
_EOC_

my $url = 'sentinels://' . join(',', map { "localhost:$_" } @sentinels)
          . '/mymaster/2';

my %started;
END { stop_nginx($_) for values %started }

sub host {
    my ($name, %o) = @_;
    my $timeout = $o{timeout} || '3s';
    my $sp = $o{sentinel_pass} // '';
    my $http = $HTTP_CONFIG
        . "    intercom_oauth_store $url;\n"
        . ($sp eq 'none' ? ''
           : "    intercom_oauth_store_sentinel_password file:"
             . ($sp || $sentfile) . ";\n")
        . ($o{server_name}
           ? "    intercom_oauth_store_server_name $o{server_name};\n" : '')
        . "    intercom_oauth_store_ca_file $certs/ca.crt;\n"
        . "    intercom_oauth_store_certificate $dir/site.crt;\n"
        . "    intercom_oauth_store_certificate_key $dir/site.key;\n"
        . "    intercom_oauth_store_user " . ($o{user} || 'site') . ";\n"
        . "    intercom_oauth_store_password file:$passfile;\n"
        . "    intercom_oauth_store_key file:$keyfile;\n"
        . "    intercom_oauth_store_prefix t48:;\n"
        . ($o{nowait} ? '' : "    intercom_oauth_store_wait 1 2s;\n")
        . "    intercom_oauth_store_timeout $timeout;\n"
        . "    intercom_oauth_store_connect_timeout $timeout;\n";
    return $started{$name} = start_nginx($name, $port, $locations,
                                         http_config => $http);
}

# -- a flow through TLS to a sentinel and to the primary it names --------

my $p = host('stls', sentinel_pass => '');
sleep 0.3;

my $sid = new_sid();
is(flow_callback($port, $sid, flow_connect($port, $sid)), 302,
   'sentinels://: a flow completes');
like(token_of($port, $sid), qr/^\[1\]\[\S+\]$/, 'the token is read back');

my $key = token_key('t48:', 'd4' x 32, $CLIENT_ID, $sid);
is(redis_cli($redis[0], '-n', 2, 'EXISTS', $key), "1\n",
   'the token is on the primary, database 2');
like(error_log_of($p),
     qr/store "sentinels:[^"]+" connected \(TLS\) \(primary 127\.0\.0\.1:$redis[0]\)/,
     'the log says: TLS, and which primary');
like(redis_cli($redis[0], 'CLIENT', 'LIST'), qr/user=site/,
     'the module is connected to the primary as the ACL user');

# -- a reconnect resumes the TLS sessions ---------------------------------

redis_cli($redis[0], 'CLIENT', 'KILL', 'USER', 'site');
sleep 0.6;
my $sid2 = new_sid();
is(flow_callback($port, $sid2, flow_connect($port, $sid2)), 302,
   'after the connection was killed: a flow');
like(error_log_of($p), qr/connected again \(TLS, session resumed\) \(primary/,
     'the reconnect resumed the TLS session with the primary');

unlike(error_log_of($p), qr/\[(alert|crit|emerg)\]|\Q$sentpass\E|\Q$userpass\E/,
       'no alert, no password in the log');
stop_nginx($p);

# -- the primary's certificate checked against a configured name ---------

$p = host('sname', server_name => 'localhost', sentinel_pass => '');
sleep 0.3;
my $sid3 = new_sid();
is(flow_callback($port, $sid3, flow_connect($port, $sid3)), 302,
   'intercom_oauth_store_server_name localhost: a flow completes');
stop_nginx($p);

# -- refusals -------------------------------------------------------------

sub refused {
    my ($what, $re, %o) = @_;
    my $p = host($o{name}, timeout => '500ms', sentinel_pass => '', %o);
    sleep 1.5;
    my $s = new_sid();
    is(flow_callback($port, $s, flow_connect($port, $s)), 503,
       "$what: the callback answers 503");
    is(token_of($port, $s), '[0][]', "$what: nothing kept");
    my $log = error_log_of($p);
    my @lines = grep { /intercom oauth: store/ && /\[error\]/ && !/client:/ }
                split /\n/, $log;
    like($lines[0] // '', $re, "$what: the log says why");
    is(scalar(@lines), 1, "$what: in one line") or diag(join "\n", @lines);
    unlike($log, qr/\Q$sentpass\E|\Q$userpass\E|not-the-sentinel-password/,
           "$what: no password in the log");
    stop_nginx($p);
}

refused('a wrong sentinel password',
        qr/store "sentinels:[^"]+" \(sentinel 127\.0\.0\.1:\d+\) refused AUTH: WRONGPASS[^;]*; retrying$/,
        sentinel_pass => $badfile, name => 'badsent');

refused('no sentinel password',
        qr/store "sentinels:[^"]+" \(sentinel 127\.0\.0\.1:\d+\) refused SENTINEL: NOAUTH; retrying$/,
        sentinel_pass => 'none', name => 'nosent');

refused('a user without the ROLE command',
        qr/store "sentinels:[^"]+" \(primary 127\.0\.0\.1:$redis[0]\) refused ROLE: NOPERM \(the ACL user needs the ROLE command with sentinel:\/\/\); retrying$/,
        user => 'norole', name => 'norole');

refused('a primary whose certificate is not for the server name',
        qr/store "sentinels:[^"]+" \(primary 127\.0\.0\.1:$redis[0]\): its certificate is not for "redis\.example"; retrying$/,
        server_name => 'redis.example', name => 'wrongname');

# -- the primary dies: the sentinels promote the replica, over TLS -------

# without WAIT: the promoted replica is alone, and WAIT 1 could not be met
$p = host('sfail', sentinel_pass => '', nowait => 1, timeout => '500ms');
sleep 0.5;
my $sid4 = new_sid();
is(flow_callback($port, $sid4, flow_connect($port, $sid4)), 302,
   'before the failover: a flow');

stop_redis($redis[0], 'KILL');
my ($recovered, %status);
for (1 .. 300) {
    my $s = new_sid();
    my $st = flow_callback($port, $s, flow_connect($port, $s));
    $status{$st}++;
    if ($st == 302) { $recovered = $s; last }
    sleep 0.1;
}
ok($recovered, 'after SIGKILL of the primary, flows complete again on '
               . 'their own (' . join(',', map { "$_:$status{$_}" }
                                         sort keys %status) . ')');
is(join(',', grep { $_ != 302 && $_ != 503 } keys %status), '',
   'meanwhile only 503');
like(error_log_of($p),
     qr/connected again \(TLS[^)]*\) \(primary 127\.0\.0\.1:$redis[1]\)/,
     'connected over TLS to the promoted replica');
is(redis_cli($redis[1], '-n', 2, 'EXISTS',
             token_key('t48:', 'd4' x 32, $CLIENT_ID, $recovered // '')),
   "1\n", 'the token is on the new primary');
unlike(error_log_of($p), qr/\[(alert|crit|emerg)\]/, 'no alert');
stop_nginx($p);

stop_redis($_) for @sentinels, reverse @redis;

done_testing();
