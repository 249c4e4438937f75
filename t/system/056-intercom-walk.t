# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Intercom as it really is, walked the way a browser walks it, hop by hop,
# against a stand-in of the test's own (t/standin) that knows this nginx
# as the app's redirect URL and uninstall URL:
#
#   1. an install from Intercom's App Store: the direct installation URL
#      (intercom_connect_button redirect appstore), Intercom's consent page,
#      Approve, the callback, and the App Store's redirect page at the
#      stand-in with install_success=true; the same with Deny ends there
#      with install_success=false and an error_message;
#   2. the uninstall path: a disconnect uninstalls the app from the
#      workspace at the stand-in, every token of the workspace stops
#      working there, and the signed notification the stand-in sends next
#      reaches the uninstall location and finds nothing left; "forget"
#      sends nothing.
#
# Port: TEST_NGINX_SERVER_PORT + 56 (the stand-in gets one from the system).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use JSON::PP qw(decode_json);
use Test::More;

my $port  = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 56;
my $certs = $ENV{TEST_NGINX_CERT_DIR};
my $site  = "http://127.0.0.1:$port";

my ($spid, $sp) = standin(redirect_uri => "$site/callback",
                          uninstall_url => "$site/webhook");
my $standin = "https://127.0.0.1:$sp";

my $http_config = <<"_EOC_";
    intercom_oauth_zone           intercom:1m;
    intercom_oauth_client_id      test-client;
    intercom_oauth_client_secret  env:TEST_INTERCOM_CLIENT_SECRET;
    intercom_oauth_state_secret   env:TEST_INTERCOM_STATE_SECRET;
    intercom_oauth_redirect_uri   $site/callback;
    intercom_oauth_authorize_url  $standin/oauth;
    intercom_oauth_token_url      $standin/auth/eagle/token;
    intercom_oauth_api_url        $standin;
    intercom_oauth_revoke_url     $standin/auth/uninstall;
    intercom_oauth_ca_file        \$TEST_NGINX_CA_FILE;
    intercom_oauth_timeout        5s;
_EOC_

my $prefix = start_nginx('walk', $port, <<'_EOC_',
        location = /install { intercom_connect_button redirect appstore; }
        location = /connect { intercom_connect_button redirect; }
        location = /callback {
            intercom_oauth_callback;
            intercom_oauth_success_uri  /home;
            intercom_oauth_error_uri    /oops;
        }
        location = /token { return 200 "$intercom_oauth_connected\n"; }
        location = /disconnect { intercom_oauth_disconnect /bye; }
        location = /forget { intercom_oauth_disconnect /bye forget; }
        location = /webhook { intercom_oauth_uninstall_webhook; }
_EOC_
    http_config => $http_config,
    main => "env TEST_INTERCOM_CLIENT_SECRET;\nenv TEST_INTERCOM_STATE_SECRET;",
    log_level => 'info');
END { stop_nginx($prefix) if $prefix }

# a request to the stand-in, over TLS: (status, headers and body)
sub standin_get {
    my ($url, @h) = @_;
    my $hdr = join ' ', map { "-H '$_'" } @h;
    my $out = `curl -s -i -m 10 --cacert $certs/ca.crt $hdr '$url'`;
    my ($status) = $out =~ m{^HTTP/\S+ (\d+)};
    return ($status // 0, $out);
}

sub standin_post {
    my ($path, @h) = @_;
    my $hdr = join ' ', map { "-H '$_'" } @h;
    my $out = `curl -s -i -m 10 -X POST --cacert $certs/ca.crt $hdr '$standin$path'`;
    my ($status) = $out =~ m{^HTTP/\S+ (\d+)};
    my (undef, $body) = split /\r\n\r\n/, $out, 2;
    return ($status // 0, $body);
}

sub location_of { my ($head) = @_; return $head =~ /^Location: (\S+)\r?$/mi ? $1 : '' }

# starts at "where" on the site, consents at the stand-in ("approve" or
# "deny"), and brings Intercom's redirect back to the callback; returns the
# callback's answer and the session cookie
sub walk {
    my ($where, $answer) = @_;

    my ($st, $head) = http_request($port, "GET $where");
    is($st, 302, "$where: 302 to Intercom");
    my $authorize = location_of($head);
    like($authorize, qr{^\Q$standin\E/oauth\?client_id=test-client&state=}, "$where: to the stand-in's consent page");
    my ($sid) = $head =~ /Set-Cookie: \Q$COOKIE\E=([^;]+)/;
    ok($sid, "$where: a session cookie");

    my ($cst, $page) = standin_get($authorize);
    is($cst, 200, "$where: the consent page");
    like($page, qr{id="$answer"}, "$where: with its $answer link");

    (my $consent = $authorize) =~ s{/oauth\?}{/oauth/$answer?};
    my ($ast, $aout) = standin_get($consent);
    is($ast, 302, "$where: $answer sends the browser back");
    my $back = location_of($aout);
    like($back, qr{^\Q$site\E/callback\?}, "$where: to the callback");
    $back =~ s{^\Q$site\E}{};

    my ($cbst, $cbhead) = http_request($port, "GET $back",
                                       "Cookie: $COOKIE=$sid");
    my ($newsid) = $cbhead =~ /Set-Cookie: \Q$COOKIE\E=([^;]+)/;
    return ($cbst, location_of($cbhead), $newsid || $sid);
}

# 1. an App Store install, approved
standin_post('/_standin/reset');
my ($st, $to, $sid) = walk('/install', 'approve');
is($st, 302, 'approved App Store install: the callback answers 302');
is($to, "$standin/appstore/redirect?install_success=true",
   '... to the App Store redirect on the authorize URL\'s host, not /home');
my ($pst, $page) = standin_get($to);
is($pst, 200, 'the stand-in serves the App Store redirect page');
like($page, qr{The app is installed in your workspace}, '... saying installed');
my (undef, undef, $conn) = http_request($port, 'GET /token', "Cookie: $COOKIE=$sid");
is($conn, "1\n", 'the token is stored');

# ... denied
($st, $to) = walk('/install', 'deny');
is($st, 302, 'denied App Store install: the callback answers 302');
is($to, "$standin/appstore/redirect?install_success=false&error_message=Installation%20failed%3A%20access_denied",
   '... to the App Store redirect with install_success=false and an error_message');
($pst, $page) = standin_get($to);
is($pst, 200, 'the stand-in serves it');
like($page, qr{<span id="error_message">Installation failed: access_denied</span>}, '... with the message');

# the site's own button is not an App Store install
($st, $to) = walk('/connect', 'approve');
like($to, qr{^http://localhost(:\d+)?/home$},
     'the plain button ends at intercom_oauth_success_uri');

# 2. the uninstall path: two users of the workspace, one disconnects
standin_post('/_standin/reset');
my (undef, undef, $a) = walk('/connect', 'approve');
my (undef, undef, $b) = walk('/connect', 'approve');
isnt($a, $b, 'two browsers, two sessions');
my ($dst, $dhead) = http_request($port, 'POST /disconnect',
                                 "Cookie: $COOKIE=$a",
                                 'Origin: http://localhost');
is($dst, 303, 'disconnect: 303');
for ([$a, 'the one who disconnected'], [$b, 'the other user of the workspace']) {
    my (undef, undef, $c) = http_request($port, 'GET /token', "Cookie: $COOKIE=$_->[0]");
    is($c, "0\n", "disconnect: no token left for $_->[1]");
}
my ($nst, $nout) = standin_get("$standin/_standin/notifications");
my (undef, $njson) = split /\r\n\r\n/, $nout, 2;
my $sent = decode_json($njson);
is(scalar @$sent, 1, 'the stand-in sent one uninstall notification');
is($sent->[0]{body}, '{"app_id":"abc12def"}', '... {"app_id"} of the workspace');
is($sent->[0]{status}, 200, '... the uninstall location answered 200');
is($sent->[0]{answer}, qq{{"deleted":0}\n}, '... and found nothing left to delete');
my $err = error_log_of($prefix);
like($err, qr/uninstall webhook: workspace "abc12def": no token of it is stored, 0 token\(s\) deleted, Intercom not asked/,
     'the signed notification reached the uninstall location and found nothing left');
# the App Store install, the plain connect, and the two users: all of
# the workspace abc12def
like($err, qr/disconnect: 4 token\(s\) of workspace "abc12def" deleted/,
     'the disconnect deleted every token of the workspace at once');
like($err, qr/disconnect: the app is uninstalled from the workspace at Intercom/,
     'the stand-in uninstalled the app');

# every token of the workspace stopped working at the stand-in: a new
# connect gets a fresh one that works
my (undef, undef, $c) = walk('/connect', 'approve');
my (undef, undef, $conn2) = http_request($port, 'GET /token', "Cookie: $COOKIE=$c");
is($conn2, "1\n", 'a new install works');

# "forget" sends nothing to Intercom
standin_post('/_standin/reset');
my ($fst) = http_request($port, 'POST /forget', "Cookie: $COOKIE=$c",
                         'Origin: http://localhost');
is($fst, 303, 'forget: 303');
my ($rst, $rout) = standin_get("$standin/_standin/requests");
unlike($rout, qr{/auth/uninstall}, 'forget: nothing was sent to Intercom');
my (undef, undef, $conn3) = http_request($port, 'GET /token', "Cookie: $COOKIE=$c");
is($conn3, "0\n", 'forget: the token is gone here');

done_testing();
