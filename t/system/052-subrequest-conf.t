# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# conf/subrequest.conf does what README "Exchange engines" says: run as
# it is written, with only what exists on a real server replaced, a
# callback exchanges its code through the example's internal token
# location, asks /me through its API location, and a disconnect revokes
# through it; the stand-in sees only the module's headers.
#
# Replaced: ports, certificates, the secret file, logs and pid (as in
# t/system/030-conf.t), the workers' user (the suite's, see
# t/lib/IntercomOAuthTest/System.pm); api.intercom.io becomes an
# upstream{} of that name pointing at the stand-in (nginx looks for one
# before it asks the resolver, so no DNS is needed), trusted through the
# test CA under the name "localhost" (proxy_ssl_name), and the client id
# is the stand-in's.
#
# Port: TEST_NGINX_SERVER_PORT + 80.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use File::Temp qw(tempdir);
use Test::More;

my $root   = $IntercomOAuthTest::ROOT;
my $certs  = $ENV{TEST_NGINX_CERT_DIR};
my $sp     = $ENV{TEST_NGINX_STANDIN_PORT};
my $port   = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 80;

my $dir = tempdir('intercom-srconf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$dir/logs";
secret_file("$dir/intercom.secret", $ENV{TEST_INTERCOM_CLIENT_SECRET});

my $conf = slurp("$root/conf/subrequest.conf");
my $n = 0;

# no load_module when the module is built in (make test-static)
$n += $conf =~ s{^load_module\s+\S+;\n}{$MODULE ? "load_module $MODULE;\n" : ''}me;
# the workers' user: the suite's (IntercomOAuthTest::System)
$n += $conf =~ s{^user\s+\S+;\n}{worker_user_line()}me;
$n += $conf =~ s{^pid\s+\S+;}{pid $dir/logs/nginx.pid;}m;
$n += $conf =~ s{^(\s*access_log)\s+/\S+;}{$1 $dir/logs/access.log;}m;
$n += $conf =~ s{^(\s*error_log)\s+/\S+\s+\w+;}{$1 $dir/logs/error.log info;}m;
$n += $conf =~ s{listen\s+443 ssl http2;}{listen 127.0.0.1:$port ssl http2;};
$n += $conf =~ s{(ssl_certificate)\s+\S+;}{$1 $certs/server.crt;};
$n += $conf =~ s{(ssl_certificate_key)\s+\S+;}{$1 $certs/server.key;};
$n += $conf =~ s{YOUR_CLIENT_ID}{$CLIENT_ID};
$n += $conf =~ s{file:/etc/nginx/intercom.secret}{file:$dir/intercom.secret};
$n += $conf =~ s{(\bhttp \{\n)}{$1    upstream api.intercom.io { server 127.0.0.1:$sp; }\n};
$conf =~ s{proxy_ssl_trusted_certificate\s+\S+;}{proxy_ssl_trusted_certificate $certs/ca.crt;\n            proxy_ssl_name localhost;}g;
is($n, 11, 'conf/subrequest.conf has every line the test replaces');

# the example's own token and API locations, unchanged
like($conf, qr{intercom_oauth_token_url\s+/_intercom/token;}, 'token URL is a location URI');
like($conf, qr{location = /_intercom/token \{\s*internal;}, 'the token location is internal');
like($conf, qr{proxy_ssl_verify\s+on;}, 'with proxy_ssl_verify on');

open my $cf, '>', "$dir/nginx.conf" or die $!;
print $cf $conf;
close $cf;

system($NGINX, '-p', "$dir/", '-c', "$dir/nginx.conf") == 0
    or BAIL_OUT('nginx did not start with conf/subrequest.conf: '
                . slurp("$dir/logs/error.log"));
END { stop_nginx($dir) if $dir }

for (1 .. 100) {
    last if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
    select undef, undef, undef, 0.05;
}

# curl over TLS to the example's server: (status, headers and body)
sub curl {
    my ($url, @h) = @_;
    my $hdr = join ' ', map { "-H '$_'" } @h;
    my $out = `curl -s -i -m 10 --cacert $certs/ca.crt $hdr '$url'`;
    my ($status) = $out =~ m{^HTTP/\S+ (\d+)};
    return ($status // 0, $out);
}

my $site = "https://localhost:$port";
my $standin = "https://localhost:$sp";

`curl -s -m 10 --cacert $certs/ca.crt -X POST '$standin/_standin/reset'`;

# 1. the connect page: a session and a state
my ($status, $out) = curl("$site/connect");
is($status, 200, 'the connect page');
my ($sid) = $out =~ /^Set-Cookie: \Q$COOKIE\E=([A-Za-z0-9_-]+)/mi;
my ($state) = $out =~ /[?&;]state=([A-Za-z0-9_-]+)/;
ok($sid && $state, 'a session and a state');

# 2. the stand-in approves (as Intercom's consent page would) and issues a
#    code its token endpoint accepts once
($status, $out) = curl("$standin/oauth/approve?client_id=$CLIENT_ID&state=$state");
my ($code) = $out =~ /^Location: \S*[?&]code=([^&\s]+)/mi;
ok($code, 'the stand-in issued a code');

# 3. the callback exchanges it through /_intercom/token, then asks /me
#    through /_intercom/api/me; the browser sends cookies and a Basic
#    Authorization that must not reach Intercom
($status, $out) = curl("$site/intercom/callback?code=$code&state=$state",
                       "Cookie: $COOKIE=$sid; other=browser-cookie",
                       'Authorization: Basic YnJvd3Nlcjpwdw==');
is($status, 302, 'the callback succeeds through the example\'s locations');
like($out, qr{^Location: \S*/settings/integrations}mi, 'to the success URI');

my $seen = `curl -s -m 10 --cacert $certs/ca.crt '$standin/_standin/requests'`;
like($seen, qr#"method":"POST","path":"/auth/eagle/token","headers":\{"Host":"api\.intercom\.io"[^}]*"Content-Type":"application/x-www-form-urlencoded"\}.*"body":"code=\Q$code\E&client_id=$CLIENT_ID&client_secret=[^"]+","body_length":\d+,[^}]*"status":200#s,
     'the token POST reached the token endpoint with the module\'s form');
like($seen, qr#"method":"GET","path":"/me","headers":\{"Host":"api\.intercom\.io"[^}]*"Authorization":"Bearer [^"]+"\}[^}]*"status":200#s,
     'and /me, rewritten from /_intercom/api/me, with the Bearer token');
unlike($seen, qr{browser-cookie|YnJvd3Nlcjpwdw|Cookie},
       'nothing of the browser\'s headers reached Intercom');

my $log = slurp("$dir/logs/error.log");
like($log, qr{intercom oauth: access token stored}, 'the token is stored');
like($log, qr{intercom oauth: token of admin \S+ in workspace \S+},
     'with the identity from /me');
unlike($log, qr{\[(alert|crit|emerg)\]}, 'no alert');

done_testing();
