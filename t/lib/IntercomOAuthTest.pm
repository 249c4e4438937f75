# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

package IntercomOAuthTest;

# Helpers for the module's tests: fixed test secrets, states minted
# exactly as the module mints them (so that a block can send a valid,
# expired, forged or foreign state without a connect round trip), the
# configuration every block starts from and the defaults block files give
# their blocks, the exchange engine under test, and the local Intercom
# stand-in, started here when the caller has not started one (t/run-tests
# starts one for the whole suite), and more of it for a test of its own.
# t/lib/IntercomOAuthTest/System.pm adds what the plain-Perl tests of
# t/system/ share.
#
# Works the same under openresty's Test::Nginx and under t/lib/compat.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256);
use File::Basename qw(dirname);
use MIME::Base64 qw(encode_base64url);
use POSIX ();

# Exported into the test file and into Test::Base::Filter: Test::Base
# evaluates "--- x eval" sections in that package, under openresty's
# Test::Nginx as under t/lib/compat, so unqualified names work in both.
our @EXPORT = qw(make_state make_prev callback_request session_cookie nonce
                 block_defaults callback_blocks callback_http_config
                 standin stop_standin
                 $SID $OTHER_SID $CLIENT_ID $HTTP_CONFIG $SEEN_LOCATION
                 $NOTIFIED_LOCATION $ENGINE $COOKIE);

sub import { export_names(__PACKAGE__, \@EXPORT, scalar caller) }

# export_names(FROM, [names], INTO): FROM's subs and $variables named in
# INTO and in Test::Base::Filter
sub export_names {
    my ($from, $names, $into) = @_;

    no strict 'refs';

    for my $pkg ($into, 'Test::Base::Filter') {
        for my $name (@$names) {
            if ($name =~ /^\$(.*)/) {
                *{"${pkg}::$1"} = \${"${from}::$1"};
            } else {
                *{"${pkg}::$name"} = \&{"${from}::$name"};
            }
        }
    }
}

our $ROOT = abs_path(dirname(__FILE__) . '/../..');

# what the suite's nginx.conf and the stand-in agree on
our $CLIENT_ID = 'test-client';
our $SID       = 'c2Vzc2lvbi1pZC0xMjM0NQ';   # 22 base64url characters
our $OTHER_SID = 'b3RoZXItc2Vzc2lvbi0xMj';

# the session cookie's default name (src/ngx_http_intercom_oauth_session.h)
our $COOKIE    = '__Host-intercom_oauth_sid';

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
# (t/006-hostile-session.t TEST 11, t/008-sessions.t, t/system/020-flow.t,
# t/system/011-reload.t, t/system/016-sessions.t).
#
# The cookie is named: the default name, $COOKIE, starts with "__Host-",
# which no nginx variable can name ($cookie___Host-... stops at the "-"),
# and intercom_oauth_key reads it as $cookie_intercom_oauth_sid.  The
# default name is tested in t/008-sessions.t, t/system/013-no-secrets.t,
# t/system/016-sessions.t and t/system/052-subrequest-conf.t.
our $HTTP_CONFIG = <<'_EOC_';
    intercom_oauth_session_cookie intercom_oauth_sid;
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

# The stand-in's record of the requests it was sent, for blocks that check
# what reached Intercom ("GET /seen").
our $SEEN_LOCATION = <<'_EOC_';
location = /seen {
    proxy_pass https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/_standin/requests;
    proxy_ssl_trusted_certificate $TEST_NGINX_CA_FILE;
    proxy_ssl_verify on;
    proxy_ssl_name localhost;
}
_EOC_

# The uninstall notifications the stand-in sent after a POST
# /auth/uninstall (to http://127.0.0.1:PORT/webhook), and what they were
# answered ("GET /notified").
our $NOTIFIED_LOCATION = <<'_EOC_';
location = /notified {
    proxy_pass https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/_standin/notifications;
    proxy_ssl_trusted_certificate $TEST_NGINX_CA_FILE;
    proxy_ssl_verify on;
    proxy_ssl_name localhost;
}
_EOC_

# block_defaults(section => value, ...): a block preprocessor that gives
# every block these sections, in this order, unless it has its own; a code
# reference is called with the block, for a value made for each block (a
# fresh state).  Call it after "use Test::Nginx::Socket".
sub block_defaults {
    my @defaults = @_;

    require Test::Nginx::Util;

    &Test::Nginx::Util::add_block_preprocessor(sub {
        my $block = shift;

        for (my $i = 0; $i < @defaults; $i += 2) {
            my ($name, $value) = @defaults[$i, $i + 1];

            next if defined $block->$name;
            $block->set_value($name, ref $value eq 'CODE' ? $value->($block)
                                                          : $value);
        }
    });
}

# callback_blocks(locations): the defaults of a file whose blocks are
# callbacks: callback_http_config, these locations, the session cookie,
# and "GET /callback?code=abc&state=" with a fresh state
sub callback_blocks {
    my $locations = shift;

    block_defaults(
        http_config  => \&callback_http_config,
        config       => $locations,
        more_headers => session_cookie(),
        request      => sub { callback_request(code => 'abc',
                                               state => make_state()) });
}

# $HTTP_CONFIG as a callback block's sections change it:
#   --- behave: NAME        the stand-in behaviour of the token endpoint
#   --- token_url: URL      another token endpoint altogether
#   --- timeout_directive   replaces intercom_oauth_timeout
sub callback_http_config {
    my $block = shift;
    my $c = $HTTP_CONFIG;

    if (defined $block->behave) {
        (my $behave = $block->behave) =~ s/\s+$//;
        $c =~ s{/behave/ok/}{/behave/$behave/};
    }

    if (defined $block->token_url) {
        (my $url = $block->token_url) =~ s/\s+$//;
        $c =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url $url;};
    }

    if (defined $block->timeout_directive) {
        (my $t = $block->timeout_directive) =~ s/\s+$//;
        $c =~ s{intercom_oauth_timeout\s+\S+;}{$t};
    }

    return $c;
}

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
# warning the module gives for them (t/006-hostile-peers.t TEST 9) is
# about its own URL, which a location URI is not.
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

# standin(%o): an Intercom stand-in (t/standin/intercom_standin.py) of the
# test's own; returns (pid, port) once it listens.  Options: port (0, the
# default, lets the system pick one), cert (a certificate of
# TEST_NGINX_CERT_DIR made by mkcerts.sh: "server" by default, "other",
# "wronghost", "expired"), client_secret (TEST_INTERCOM_CLIENT_SECRET),
# redirect_uri, uninstall_url (where a POST /auth/uninstall sends the
# signed uninstall notification), log (a file that gets what it prints on
# stderr).
# stop_standin(pid, signal) stops one (TERM by default); the ones still
# running when the test ends are stopped then.
my %Standins;   # pid => [its stdout, the pid of the process that started it]

sub standin {
    my %o = @_;
    my $dir = $ENV{TEST_NGINX_CERT_DIR} || "$ROOT/build/certs";
    my $cert = $o{cert} || 'server';

    pipe(my $out, my $in) or die "pipe: $!";

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        close $out;
        open STDOUT, '>&', $in or POSIX::_exit(127);
        if ($o{log}) {
            open STDERR, '>>', $o{log} or POSIX::_exit(127);
        }
        no warnings 'exec';
        exec 'python3', "$ROOT/t/standin/intercom_standin.py",
            '--listen', '127.0.0.1:' . ($o{port} || 0),
            '--cert', "$dir/$cert.crt", '--key', "$dir/$cert.key",
            '--client-id', $CLIENT_ID,
            '--client-secret', $o{client_secret}
                               // $ENV{TEST_INTERCOM_CLIENT_SECRET},
            defined $o{redirect_uri} ? ('--redirect-uri', $o{redirect_uri})
                                     : (),
            defined $o{uninstall_url}
                ? ('--uninstall-url', $o{uninstall_url}) : ();
        POSIX::_exit(127);
    }

    close $in;

    # its first line: "intercom-standin listening on https://HOST:PORT ..."
    my $line = <$out>;

    unless (defined $line && $line =~ m{listening on https://[^:]+:(\d+)}) {
        waitpid $pid, 0;
        die "a stand-in with $cert.crt did not start"
            . ($o{log} ? " (see $o{log})" : '') . "\n";
    }

    $Standins{$pid} = [$out, $$];

    return ($pid, $1);
}

sub stop_standin {
    my ($pid, $signal) = @_;

    delete $Standins{$pid} or return;
    kill $signal || 'TERM', $pid;
    waitpid $pid, 0;
}

END {
    local $?;    # the test's exit status
    for my $pid (keys %Standins) {
        stop_standin($pid) if $Standins{$pid}[1] == $$;
    }
}

# the suite's stand-in, when no t/run-tests started one (prove t/x.t)
sub start_standin {
    return if $ENV{TEST_NGINX_STANDIN_PORT};

    my $certs = "$ROOT/build/certs";

    system('sh', "$ROOT/t/standin/mkcerts.sh", $certs) == 0
        or die "mkcerts.sh failed\n";

    $ENV{TEST_NGINX_CERT_DIR} = $certs;
    $ENV{TEST_NGINX_CA_FILE}  = "$certs/ca.crt";

    my (undef, $port) = standin(port => $ENV{TEST_INTERCOM_STANDIN_PORT} || 1985,
                                redirect_uri => 'https://localhost/callback',
                                uninstall_url => 'http://127.0.0.1:'
                                    . ($ENV{TEST_NGINX_SERVER_PORT} || 1984)
                                    . '/webhook',
                                log => "$ROOT/build/standin.log");

    $ENV{TEST_NGINX_STANDIN_PORT} = $port;
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
#            nonce => 16 bytes, return_to => '/path', version => 1,
#            appstore => 1)
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

    # the App Store mark is the version byte's high bit
    $version |= 0x80 if $o{appstore};

    my $blob = pack('C', $version)
             . pack('N', int($issued / 2**32)) . pack('N', $issued % 2**32)
             . $nonce
             . pack('n', length $return_to) . $return_to;

    my $mac = substr(hmac_sha256($blob . pack('C', length $sid) . $sid
                                 . $client_id, $secret), 0, 16);

    return encode_base64url($blob . $mac);
}

# make_prev(sid => the session id now, ids => [the ids it replaced],
#           secret => ..): the value of the "<name>_prev" cookie that a
# callback sets when it replaces a session, computed as the module computes
# it (src/ngx_http_intercom_oauth_session.c)
sub make_prev {
    my %o = @_;

    my $secret = exists $o{secret} ? $o{secret}
                                   : $ENV{TEST_INTERCOM_STATE_SECRET};
    my $ids = join '.', @{$o{ids}};
    my $mac = substr(hmac_sha256("intercom_oauth_prev\0$o{sid}\0$ids",
                                 $secret), 0, 16);

    return "$ids." . encode_base64url($mac);
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

# session_cookie(sid, name): the Cookie header of a session, by default
# $SID under the name $HTTP_CONFIG gives it
sub session_cookie {
    my $sid = shift || $SID;
    my $name = shift || 'intercom_oauth_sid';
    return "Cookie: $name=$sid";
}

sub _escape {
    my $s = shift;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

1;
