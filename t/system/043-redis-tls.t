# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The store over TLS (rediss://) with an ACL user: Debian's redis-server
# (built with TLS) on loopback with the test CA's certificates, requiring
# a client certificate, its default user on another password.
#
#   the flow across two hosts, through TLS and AUTH user password;
#   a reconnect resumes the TLS session;
#   a wrong ACL password, a CA that did not sign the server's certificate,
#   a certificate for another name, a plain-TCP port: each refused, with
#   one clear log line, and nothing kept;
#   an address in the URL: 127.0.0.1 spelled as a name in the certificate,
#   [::1] as an IP entry: both accepted.

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
my %port  = (A => $base + 100, B => $base + 101);
my @avoid = values %port;
my $plain = free_port($base + 102, @avoid);
my $tls   = free_port($base + 103, @avoid, $plain);
my $dir   = "$root/t/servroot-redis-" . ($base + 102);
my $certs = $ENV{TEST_NGINX_CERT_DIR};

system('rm', '-rf', $dir);
mkdir $dir;

# a client certificate (clientAuth) from the test CA, for mutual TLS
open my $ext, '>', "$dir/client.ext" or die $!;
print $ext "extendedKeyUsage = clientAuth\n";
close $ext;
system("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
       . " -keyout $dir/client.key -subj /CN=site -out $dir/client.csr"
       . " 2>/dev/null && openssl x509 -req -in $dir/client.csr"
       . " -CA $certs/ca.crt -CAkey $certs/ca.key -set_serial 4343 -days 2"
       . " -extfile $dir/client.ext -out $dir/client.crt 2>/dev/null") == 0
    or die "the client certificate could not be made\n";

my $keyfile  = secret_file("$dir/store.key", 'c3' x 32);
my $userpass = 'site-pass-' . unpack('H*', IntercomOAuthTest::nonce());
my $passfile = secret_file("$dir/user.pass", $userpass);
my $badpass  = secret_file("$dir/bad.pass", 'not-the-user-password');
my $defpass  = 'default-' . unpack('H*', IntercomOAuthTest::nonce());

$ENV{REDISCLI_AUTH} = $defpass;

# the ACL user may touch only its prefix; the default user has another
# password, so "AUTH password" alone would be refused
start_redis($plain, "$dir/redis",
            '--requirepass', $defpass,
            '--user', 'site', 'on', ">$userpass", '~t43:*', '+@all',
            '--tls-port', $tls,
            '--tls-cert-file', "$certs/server.crt",
            '--tls-key-file', "$certs/server.key",
            '--tls-ca-cert-file', "$certs/ca.crt",
            '--tls-auth-clients', 'yes');

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
_EOC_

my %started;
END { stop_nginx($_) for values %started }

sub host {
    my ($h, %o) = @_;
    my $url = $o{url} || "rediss://localhost:$tls/1";
    my $ca  = $o{ca} || "$certs/ca.crt";
    # the first callback also waits for the connect, the TLS handshake
    # and AUTH, which take longer under AddressSanitizer
    my $timeout = $o{timeout} || '3s';
    my $http = $HTTP_CONFIG
        . "    intercom_oauth_store $url;\n"
        . "    intercom_oauth_store_ca_file $ca;\n"
        . "    intercom_oauth_store_certificate $dir/client.crt;\n"
        . "    intercom_oauth_store_certificate_key $dir/client.key;\n"
        . "    intercom_oauth_store_user site;\n"
        . "    intercom_oauth_store_password file:"
        . ($o{pass} || $passfile) . ";\n"
        . "    intercom_oauth_store_key file:$keyfile;\n"
        . "    intercom_oauth_store_prefix t43:;\n"
        . "    intercom_oauth_store_timeout $timeout;\n"
        . "    intercom_oauth_store_connect_timeout $timeout;\n";
    my $name = $o{name} || "tls$h";
    return $started{$name} = start_nginx($name, $port{$h}, $locations,
                                         http_config => $http);
}

# -- the flow across two hosts, over TLS, as an ACL user ----------------

my $pa = host('A');
my $pb = host('B');

my $sid = new_sid();
is(flow_callback($port{B}, $sid, flow_connect($port{A}, $sid)), 302,
   'TLS + ACL user: connect on A, callback on B');
my $tok = token_of($port{A}, $sid);
like($tok, qr/^\[1\]\[\S+\]$/, 'A reads the token B stored');

my $key = token_key('t43:', 'c3' x 32, $CLIENT_ID, $sid);
is(redis_cli($plain, '-n', 1, 'EXISTS', $key), "1\n",
   'the token is in Redis, database 1, under the prefix');

like(error_log_of($pa), qr/store "rediss:\/\/localhost:\d+\/1" connected \(TLS\)/,
     'the log says the store is on TLS');
like(redis_cli($plain, 'CLIENT', 'LIST'), qr/user=site/,
     'the module is connected as the ACL user');

# -- a reconnect resumes the TLS session --------------------------------

redis_cli($plain, 'CLIENT', 'KILL', 'USER', 'site');
sleep 0.6;
my $sid2 = new_sid();
is(flow_callback($port{A}, $sid2, flow_connect($port{A}, $sid2)), 302,
   'after the connection was killed: a flow');
like(error_log_of($pa), qr/connected again \(TLS, session resumed\)/,
     'the reconnect resumed the TLS session');

stop_nginx($pa);
stop_nginx($pb);

# -- refusals -------------------------------------------------------------

sub refused {
    my ($what, $re, %o) = @_;
    my $p = host('A', timeout => '500ms', %o);
    sleep($o{wait} || 0.3);
    my $s = new_sid();
    is(flow_callback($port{A}, $s, flow_connect($port{A}, $s)), 503,
       "$what: the callback answers 503");
    is(token_of($port{A}, $s), '[0][]', "$what: nothing kept");
    my $log = error_log_of($p);
    my @lines = grep { /intercom oauth: store/ && /\[error\]/ && !/client:/ }
                split /\n/, $log;
    like($lines[0] // '', $re, "$what: the log says why");
    is(scalar(grep { $_ eq ($lines[0] // '') } @lines), 1,
       "$what: in one line");
    unlike($log, qr/\Q$userpass\E|not-the-user-password/,
           "$what: no password in the log");
    stop_nginx($p);
}

refused('a wrong ACL password',
        qr/store "rediss:[^"]+" refused AUTH: WRONGPASS/,
        pass => $badpass, name => 'badpass');

refused('a CA that did not sign the certificate',
        qr/its certificate is not trusted \(\d+: [^)]+\); retrying/,
        ca => "$certs/other-ca.crt", name => 'otherca');

my $wplain = free_port($base + 104, @avoid, $plain, $tls);
my $wtls   = free_port($base + 105, @avoid, $plain, $tls, $wplain);
start_redis($wplain, "$dir/redis-wronghost",
            '--tls-port', $wtls,
            '--tls-cert-file', "$certs/wronghost.crt",
            '--tls-key-file', "$certs/wronghost.key",
            '--tls-ca-cert-file', "$certs/ca.crt",
            '--tls-auth-clients', 'no');

refused('a certificate for another name',
        qr/its certificate is not for "localhost"; retrying/,
        url => "rediss://localhost:$wtls", name => 'wronghost');

# Redis reads the ClientHello as the start of a command, and waits
refused('a plain-TCP port',
        qr/the TLS handshake (failed|did not complete in 500 ms) \(is it a TLS port\?\); retrying/,
        url => "rediss://localhost:$plain", name => 'plain', wait => 0.8);

# -- an address in the URL -------------------------------------------------
# rediss://127.0.0.1 against a certificate that spells the address as a
# name (DNS:127.0.0.1, no IP entry: many self-made certificates do), as
# nginx's upstream accepts it; rediss://[::1] against an IPv6 IP entry,
# checked without the URL's brackets

open $ext, '>', "$dir/addr.ext" or die $!;
print $ext "subjectAltName = DNS:127.0.0.1, IP:::1\n";
close $ext;
system("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
       . " -keyout $dir/addr.key -subj /CN=127.0.0.1 -out $dir/addr.csr"
       . " 2>/dev/null && openssl x509 -req -in $dir/addr.csr"
       . " -CA $certs/ca.crt -CAkey $certs/ca.key -set_serial 4344 -days 2"
       . " -extfile $dir/addr.ext -out $dir/addr.crt 2>/dev/null") == 0
    or die "the address certificate could not be made\n";

my $aplain = free_port($base + 141, @avoid, $plain, $tls, $wplain, $wtls);
my $atls   = free_port($base + 142, @avoid, $plain, $tls, $wplain, $wtls,
                       $aplain);
start_redis($aplain, "$dir/redis-addr",
            '--bind', '127.0.0.1', '::1',
            '--user', 'site', 'on', ">$userpass", '~t43:*', '+@all',
            '--tls-port', $atls,
            '--tls-cert-file', "$dir/addr.crt",
            '--tls-key-file', "$dir/addr.key",
            '--tls-ca-cert-file', "$certs/ca.crt",
            '--tls-auth-clients', 'yes');

for my $url ("rediss://127.0.0.1:$atls/1", "rediss://[::1]:$atls/1") {
    my $p = host('A', url => $url, name => 'addr');
    my $s = new_sid();
    is(flow_callback($port{A}, $s, flow_connect($port{A}, $s)), 302,
       "$url: a flow, the certificate matching the address");
    like(token_of($port{A}, $s), qr/^\[1\]\[\S+\]$/,
         "$url: the token kept");
    unlike(error_log_of($p), qr/its certificate is not for/,
           "$url: no certificate refusal");
    stop_nginx($p);
    delete $started{addr};
}

stop_redis($aplain);
stop_redis($wplain);
stop_redis($plain);

done_testing();
