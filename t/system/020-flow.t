# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The whole flow on real input: nginx terminating real TLS with
# conf/quickstart.conf (as "make run" serves it), the local Intercom
# stand-in over HTTPS with a CA made at run time, and curl walking
# connect -> authorize -> approve -> callback -> token exchange -> token
# stored -> a proxied Intercom API call carrying the token.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use IO::Socket::INET;
use JSON::PP ();
use Test::More;

my $root   = $IntercomOAuthTest::ROOT;
my $base   = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port   = $base + 20;
my $sport  = $base + 21;
my $run    = "$root/t/servroot-flow-$port";

$ENV{PORT}         = $port;
$ENV{STANDIN_PORT} = $sport;
$ENV{RUN_DIR}      = $run;
delete $ENV{INTERCOM_CLIENT_ID};

# whatever happens below, nothing started here outlives the test
END { local $?; system("$root/util/run-demo", '--stop') if $root; }

# the module to load, or none when it is built in (make test-static)
my $demo = $MODULE || '--static';

# util/run-demo starts TEST_NGINX_BINARY, the nginx the suite runs, and
# when that nginx does not start it stops the stand-in it started
{
    local $ENV{TEST_NGINX_BINARY} = '/bin/false';
    my $fail = `$root/util/run-demo $demo --background 2>&1`;
    isnt($?, 0, 'util/run-demo runs TEST_NGINX_BINARY, and fails when it fails');
    like($fail, qr{/bin/false did not start: stopping the stand-in},
         'and says so');
    ok(!-e "$run/standin.pid", 'the stand-in it started is gone');
    ok(!IO::Socket::INET->new(PeerAddr => "127.0.0.1:$sport"),
       "nothing listens on the stand-in's port $sport");
}
$ENV{TEST_NGINX_BINARY} = $NGINX;

my $out = `$root/util/run-demo $demo --background 2>&1`;
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

# the token lifecycle: identity, disconnect, revoke, counters
my $life = `$root/util/walk https://localhost:$port disconnect 2>&1`;
is($?, 0, 'the disconnect walk succeeds') or diag $life;
like($life, qr{<strong id="workspace">abc12def</strong>},
     'the success page shows $intercom_workspace_id from /me');
like($life, qr{<strong id="admin">ada\@example\.com</strong>},
     'and $intercom_admin_email');
like($life, qr{7\. POST [^\n]*\n   303 -> https://localhost:$port/\n},
     'the disconnect form answers 303');
like($life, qr{8\. GET [^\n]*\nNot connected to Intercom: open /connect\n   401\n},
     'and the token is gone');

my $seen = `curl -s --cacert $ENV{TEST_NGINX_CA_FILE} https://127.0.0.1:$sport/_standin/requests`;
my $requests = JSON::PP::decode_json($seen);
my @me = grep { $_->{path} eq '/me' } @$requests;
my ($revoke) = grep { $_->{path} eq '/auth/uninstall' } @$requests;
ok($revoke, 'the stand-in saw POST /auth/uninstall');
is($revoke->{method}, 'POST', 'a POST');
is($revoke->{headers}{Authorization}, $me[-1]{headers}{Authorization},
   'with the token the site had used for /me');

my ($status_json) = $life =~ /9\. GET [^\n]*\n(\{.*\})\n/;
my $st = JSON::PP::decode_json($status_json);
is_deeply([@{$st->{callbacks}}{qw(total ok access_denied)}], [3, 2, 1],
          'status: 3 callbacks, 2 ok, 1 denied');
is_deeply($st->{identity}, { ok => 2, failed => 0 }, 'status: 2 identities');
is_deeply($st->{disconnects}, { total => 1, revoked => 1, revoke_failed => 0 },
          'status: 1 disconnect, revoked');
# a disconnect uninstalls the app from the workspace: both tokens were of
# the stand-in's one workspace, and the stand-in's signed notification to
# the quickstart's uninstall location then found none left
is_deeply([@{$st->{tokens}}{qw(stored deleted)}, $st->{zone}{tokens}],
          [2, 2, 0], 'status: 2 tokens stored, both of the workspace deleted, none left');
is_deeply($st->{webhooks}, { accepted => 1, refused => 0 },
          'status: the uninstall notification accepted');

my $text = error_log_of($run);
like($text, qr/intercom oauth: access token stored/, 'the log says a token was stored');
like($text, qr/authorization not granted: Intercom sent error "access_denied"/,
     'and says why the denied flow stored none');
unlike($text, qr/\[(alert|crit|emerg)\]/, 'no alert');
unlike($text, qr/code=[^\[]/, 'no authorization code in the error log');

my $access = slurp("$run/logs/access.log");
like($access, qr{"GET /intercom/callback\?\[oauth arguments withheld\] HTTP/1\.1" 302},
     'the access log has the callback without its arguments');

system("$root/util/run-demo", '--stop');

done_testing();
