package IntercomOAuthTest;

# Helpers for the module's Test::Nginx suites: fixed test secrets, states
# minted exactly as the module mints them (so that a block can send a valid,
# expired, forged or foreign state without a connect round trip), and the
# local Intercom stand-in, started here when the caller has not started one
# (t/run-tests starts one for the whole suite).
#
# Works the same under openresty's Test::Nginx and under t/lib/compat.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256);
use File::Basename qw(dirname);
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64url);
use POSIX ();

# Exported into the test file and into Test::Base::Filter: Test::Base
# evaluates "--- x eval" sections in that package, under openresty's
# Test::Nginx as under t/lib/compat, so unqualified names work in both.
our @EXPORT = qw(make_state callback_request session_cookie nonce
                 start_nginx stop_nginx http_request
                 $SID $OTHER_SID $CLIENT_ID $HTTP_CONFIG $ENGINE);

sub import {
    my $caller = caller;

    no strict 'refs';

    for my $pkg ($caller, 'Test::Base::Filter') {
        for my $name (@EXPORT) {
            if ($name =~ /^\$(.*)/) {
                *{"${pkg}::$1"} = \${"IntercomOAuthTest::$1"};
            } else {
                *{"${pkg}::$name"} = \&{"IntercomOAuthTest::$name"};
            }
        }
    }
}

our $ROOT = abs_path(dirname(__FILE__) . '/../..');

# what the suite's nginx.conf and the stand-in agree on
our $CLIENT_ID = 'test-client';
our $SID       = 'c2Vzc2lvbi1pZC0xMjM0NQ';   # 22 base64url characters
our $OTHER_SID = 'b3RoZXItc2Vzc2lvbi0xMj';

$ENV{TEST_INTERCOM_CLIENT_SECRET} ||= 'test-secret';
$ENV{TEST_INTERCOM_STATE_SECRET}  ||= 'state-secret-for-tests-0123456789';
$ENV{TEST_NGINX_ROOT}              = $ROOT;

# The http-level configuration every block gets unless it brings its own.
#
# intercom_oauth_key is the session cookie's value: a block sends its
# requests with one fixed Cookie header, and by default the module stores
# a new token under a new session id (it rotates the session at the
# callback against session fixation), which a block could not follow.
# The rotation itself is tested where a client follows Set-Cookie
# (t/006-hostile.t TEST 70, t/system/020-flow.t, t/system/011-reload.t).
our $HTTP_CONFIG = <<'_EOC_';
    intercom_oauth_key            $cookie_intercom_oauth_sid;
    intercom_oauth_zone           intercom:1m;
    intercom_oauth_client_id      test-client;
    intercom_oauth_client_secret  env:TEST_INTERCOM_CLIENT_SECRET;
    intercom_oauth_state_secret   env:TEST_INTERCOM_STATE_SECRET;
    intercom_oauth_redirect_uri   https://localhost/callback;
    intercom_oauth_token_url      https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/ok/auth/eagle/token;
    intercom_oauth_api_url        https://127.0.0.1:$TEST_NGINX_STANDIN_PORT;
    intercom_oauth_revoke_url     https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/auth/uninstall;
    intercom_oauth_ca_file        $TEST_NGINX_CA_FILE;
    intercom_oauth_timeout        3s;
_EOC_

# The exchange engine the suite runs against: "libcurl" (the default) or
# "subrequest" (TEST_INTERCOM_ENGINE=subrequest).  With "subrequest" every
# https token, API and revoke URL that points at 127.0.0.1 or localhost
# becomes the URI of an internal location that proxies to that same URL:
# the same blocks, the same expectations, the calls made by nginx's own
# upstream code.  This is the only place that knows.
#
# What the libcurl engine takes from the module's directives the location
# takes from its own: intercom_oauth_ca_file becomes
# proxy_ssl_trusted_certificate (no ca_file: the system store), and calls
# to the suite's stand-in go through an upstream{} with keepalive, as
# libcurl keeps its connections.  Plain-http URLs stay with libcurl: the
# warning the module gives for them (t/006-hostile.t TEST 59) is about its
# own URL, which a location URI is not.
our $ENGINE = $ENV{TEST_INTERCOM_ENGINE} || 'libcurl';

die "TEST_INTERCOM_ENGINE must be libcurl or subrequest, not \"$ENGINE\"\n"
    unless $ENGINE eq 'libcurl' || $ENGINE eq 'subrequest';

our $SYSTEM_CA = '/etc/ssl/certs/ca-certificates.crt';

# /_intercom_sr/SCHEME/ADDRESS/NAME/PORT/PATH: NAME is the host name the
# certificate is checked against and the Host header; ADDRESS is where to
# connect, so that no resolver is needed
sub engine_location {
    my ($ca) = @_;

    return <<"_EOC_";
    location ^~ /_intercom_sr/ {
        internal;
        access_log off;
        location ~ ^/_intercom_sr/(?<isr_scheme>https?)/(?<isr_addr>[^/]+)/(?<isr_name>[^/]+)/(?<isr_port>\\d+)(?<isr_path>/.*)\$ {
            set \$isr_peer \$isr_addr:\$isr_port;
            if (\$isr_port = \$TEST_NGINX_STANDIN_PORT) {
                set \$isr_peer isr_standin;
            }
            proxy_pass \$isr_scheme://\$isr_peer\$isr_path\$is_args\$args;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$isr_name:\$isr_port;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $ca;
            proxy_ssl_server_name on;
            # nginx checks names only, not the certificate's IP addresses
            set \$isr_ssl_name \$isr_name;
            if (\$isr_name = 127.0.0.1) {
                set \$isr_ssl_name localhost;
            }
            proxy_ssl_name \$isr_ssl_name;
            subrequest_output_buffer_size 128k;
        }
    }
_EOC_
}

our $SR_UPSTREAM = <<'_EOC_';
    upstream isr_standin {
        server 127.0.0.1:$TEST_NGINX_STANDIN_PORT;
        keepalive 8;
    }
_EOC_

sub engine_url {
    my ($scheme, $host, $port, $path) = @_;

    my $addr = $host eq 'localhost' ? '127.0.0.1' : $host;
    $port = $scheme eq 'https' ? 443 : 80 unless defined $port;

    return "/_intercom_sr/$scheme/$addr/$host/$port$path";
}

# the trust the module's directives give libcurl in this configuration
sub engine_ca {
    my ($text) = @_;
    my @ca = ($text // '') =~ /intercom_oauth_ca_file\s+(\S+?)\s*;/g;
    return @ca ? $ca[-1] : $SYSTEM_CA;
}

# nginx configuration text for the engine under test: $kind "server"
# (inside server{}) or "http" (inside http{}, with any server{} in it)
sub engine_config {
    my ($text, $kind, $ca) = @_;

    return $text if $ENGINE eq 'libcurl' || !defined $text;

    $ca = engine_ca($text) unless defined $ca;

    $text =~ s{(intercom_oauth_(?:token|api|revoke)_url\s+)(https)://(127\.0\.0\.1|localhost)(?::(\d+|\$[A-Z_][A-Z0-9_]*))?(/[^;\s]*)?(\s*;)}
              {$1 . engine_url($2, $3, $4, defined $5 ? $5 : '') . $6}ge;

    my $location = engine_location($ca);

    if ($kind eq 'server') {
        return $location . $text;
    }

    $text =~ s{(\bserver\s*\{)}{$1\n$location}g;

    return $SR_UPSTREAM . $text;
}

sub engine_block {
    my $block = shift;

    my $http = $block->can('http_config') ? $block->http_config : undef;
    my $server = $block->can('config') ? $block->config : undef;

    return unless defined $server;

    my $ca = engine_ca(join "\n", grep { defined } $http, $server);

    $block->set_value('http_config', engine_config($http // '', 'http', $ca));
    $block->set_value('config', engine_config($server, 'server', $ca));
}

if ($ENGINE eq 'subrequest') {
    require Test::Nginx::Util;

    # added first, so it runs after the test file's own preprocessors
    &Test::Nginx::Util::add_block_preprocessor(\&engine_block);
}

my $standin_pid;

sub start_standin {
    return if $ENV{TEST_NGINX_STANDIN_PORT};

    my $port  = $ENV{TEST_INTERCOM_STANDIN_PORT} || 1985;
    my $certs = "$ROOT/build/certs";

    system('sh', "$ROOT/t/standin/mkcerts.sh", $certs) == 0
        or die "mkcerts.sh failed\n";

    my $pidfile = "$ROOT/build/standin-$$.pid";
    unlink $pidfile;

    $standin_pid = fork();
    die "fork: $!" unless defined $standin_pid;

    if ($standin_pid == 0) {
        open STDOUT, '>>', "$ROOT/build/standin.log";
        open STDERR, '>&', \*STDOUT;
        no warnings 'exec';
        exec 'python3', "$ROOT/t/standin/intercom_standin.py",
            '--listen', "127.0.0.1:$port",
            '--cert', "$certs/server.crt", '--key', "$certs/server.key",
            '--client-id', $CLIENT_ID,
            '--client-secret', $ENV{TEST_INTERCOM_CLIENT_SECRET},
            '--redirect-uri', "https://localhost/callback",
            '--pidfile', $pidfile;
        POSIX::_exit(127);
    }

    for (1 .. 100) {
        last if -s $pidfile;
        select undef, undef, undef, 0.05;
    }

    die "the Intercom stand-in did not start (see build/standin.log)\n"
        unless -s $pidfile;

    $ENV{TEST_NGINX_STANDIN_PORT} = $port;
    $ENV{TEST_NGINX_CERT_DIR}     = $certs;
    $ENV{TEST_NGINX_CA_FILE}      = "$certs/ca.crt";
}

END {
    if ($standin_pid) {
        kill 'TERM', $standin_pid;
        waitpid $standin_pid, 0;
    }
}

start_standin();

$ENV{TEST_NGINX_CERT_DIR} ||= "$ROOT/build/certs";
$ENV{TEST_NGINX_CA_FILE}  ||= "$ENV{TEST_NGINX_CERT_DIR}/ca.crt";

sub nonce {
    open my $fh, '<', '/dev/urandom' or die "/dev/urandom: $!";
    read $fh, my $buf, 16;
    return $buf;
}

# make_state(sid => .., client_id => .., secret => .., age => seconds,
#            nonce => 16 bytes, return_to => '/path', version => 1)
# The layout is the module's (src/ngx_http_intercom_oauth_state.h).
sub make_state {
    my %o = @_;

    my $sid       = exists $o{sid} ? $o{sid} : $SID;
    my $client_id = exists $o{client_id} ? $o{client_id} : $CLIENT_ID;
    my $secret    = exists $o{secret} ? $o{secret}
                                      : $ENV{TEST_INTERCOM_STATE_SECRET};
    my $issued    = time() - ($o{age} || 0);
    my $nonce     = $o{nonce} || nonce();
    my $return_to = defined $o{return_to} ? $o{return_to} : '';
    my $version   = defined $o{version} ? $o{version} : 1;

    my $blob = pack('C', $version)
             . pack('N', int($issued / 2**32)) . pack('N', $issued % 2**32)
             . $nonce
             . pack('n', length $return_to) . $return_to;

    my $mac = substr(hmac_sha256($blob . pack('C', length $sid) . $sid
                                 . $client_id, $secret), 0, 16);

    return encode_base64url($blob . $mac);
}

# "GET /callback?code=..&state=.." with the values percent-encoded
sub callback_request {
    my %o = @_;
    my $path = $o{path} || '/callback';
    my @args;

    push @args, 'code=' . _escape($o{code}) if defined $o{code};
    push @args, 'state=' . _escape($o{state}) if defined $o{state};

    return "GET $path?" . join('&', @args);
}

sub session_cookie {
    my $sid = shift || $SID;
    return "Cookie: intercom_oauth_sid=$sid";
}

# For the plain-Perl tests that need what a Test::Nginx block cannot do
# (concurrent requests, reloads): start_nginx(name, port, http_block_body,
# master => 1) writes t/servroot-NAME/conf/nginx.conf and starts nginx
# there; returns the prefix.  The module is TEST_NGINX_LOAD_MODULES.
sub start_nginx {
    my ($name, $port, $http, %o) = @_;

    my $prefix = "$ROOT/t/servroot-$name-$port";
    my $nginx  = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    my $module = $ENV{TEST_NGINX_LOAD_MODULES}
                 || "$ROOT/build/nginx/objs/ngx_http_intercom_oauth_module.so";

    stop_nginx($prefix) if -d $prefix;
    system('rm', '-rf', $prefix);
    mkdir $prefix;
    mkdir "$prefix/$_" for qw(conf logs html);

    my $master = $o{master} ? 'on' : 'off';
    my $connections = $o{worker_connections} || 256;
    my $http_config = defined $o{http_config} ? $o{http_config}
                                              : $HTTP_CONFIG;
    my $ca = engine_ca(join "\n", grep { defined } $http, $http_config);
    my $body = engine_config($http, 'server', $ca);

    $http_config = engine_config($http_config, 'http', $ca);

    my $conf = <<"_EOC_";
load_module $module;
worker_processes 1;
master_process $master;
daemon on;
error_log logs/error.log debug;
pid logs/nginx.pid;
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

    system($nginx, '-p', "$prefix/", '-c', 'conf/nginx.conf') == 0
        or die "nginx did not start (see $prefix/logs/error.log)\n";

    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        return $prefix if $s;
        select undef, undef, undef, 0.05;
    }

    die "nginx does not listen on $port\n";
}

sub stop_nginx {
    my $prefix = shift;
    my $pidfile = "$prefix/logs/nginx.pid";

    return unless -s $pidfile;

    open my $fh, '<', $pidfile or return;
    chomp(my $pid = <$fh>);
    close $fh;

    kill 'QUIT', $pid;

    for (1 .. 200) {
        return unless kill 0, $pid;
        select undef, undef, undef, 0.05;
    }

    kill 'KILL', $pid;
}

# http_request(port, "GET /x", headers...) -> (status, headers, body),
# over one connection that is closed after the answer
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

sub _escape {
    my $s = shift;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

1;
