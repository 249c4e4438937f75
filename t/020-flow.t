# The whole flow on real input: nginx terminating real TLS with
# conf/quickstart.conf (as "make run" serves it), the local Intercom
# stand-in over HTTPS with a CA made at run time, and curl walking
# connect -> authorize -> approve -> callback -> token exchange -> token
# stored -> a proxied Intercom API call carrying the token.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use Test::More;

my $root   = $IntercomOAuthTest::ROOT;
my $base   = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port   = $base + 20;
my $sport  = $base + 21;
my $run    = "$root/t/servroot-flow-$port";
my $module = $ENV{TEST_NGINX_LOAD_MODULES}
             || "$root/build/nginx/objs/ngx_http_intercom_oauth_module.so";

$ENV{PORT}         = $port;
$ENV{STANDIN_PORT} = $sport;
$ENV{RUN_DIR}      = $run;
delete $ENV{INTERCOM_CLIENT_ID};

my $out = `$root/util/run-demo $module --background 2>&1`;
is($?, 0, 'make run\'s script starts nginx and the stand-in') or diag $out;
like($out, qr{serving https://localhost:$port/}, 'it prints the URL to open');

my $walk = `$root/util/walk https://localhost:$port 2>&1`;
is($?, 0, 'the walk succeeds') or diag $walk;

like($walk, qr{the button links to https://localhost:$sport/oauth\?client_id=},
     'the button links to the authorize page');
like($walk, qr{Intercom sends the browser to https://localhost:$port/intercom/callback\?},
     'approving sends the browser to the callback');
like($walk, qr{4\. GET the callback\n   302 -> https://localhost:$port/home},
     'the callback redirects to the success URI');
like($walk, qr{"type":"admin","id":"991267","email":"ada\@example.com"},
     'the proxied /me answers with the admin, so the token was stored and sent');
like($walk, qr{\n   200\n\z}, 'with status 200');

my $deny = `$root/util/walk https://localhost:$port deny 2>&1`;
like($deny, qr{4\. GET the callback\n   403 }, 'denying: the callback answers 403');
like($deny, qr{Not connected to Intercom: open /connect\n\n   401\n\z},
     'and nothing is stored: the API location answers 401');

open my $log, '<', "$run/logs/error.log" or die $!;
my $text = do { local $/; <$log> };
like($text, qr/intercom oauth: access token stored/, 'the log says a token was stored');
like($text, qr/authorization not granted: Intercom sent error "access_denied"/,
     'and says why the denied flow stored none');
unlike($text, qr/\[(alert|crit|emerg)\]/, 'no alert');
unlike($text, qr/code=[^\[]/, 'no authorization code in the error log');

open my $acc, '<', "$run/logs/access.log" or die $!;
my $access = do { local $/; <$acc> };
like($access, qr{"GET /intercom/callback\?\[oauth arguments withheld\] HTTP/1\.1" 302},
     'the access log has the callback without its arguments');

system("$root/util/run-demo", '--stop');

done_testing();
