# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# No secret in any log: full flows run twice, once with "error_log ...
# info" and once with "error_log ... debug" (Debian's nginx is built
# --with-debug), and every secret the flows handled is looked for in
# error.log and access.log: the client secret, the state secret, every
# authorization code, every access token, every full state, and the
# session ids.
#
# At info level (what a production nginx logs) none may appear, anywhere.
#
# At debug level nginx's core prints the raw request line, the query
# string, the request headers and the response headers before and after
# the module runs, so codes, states, session ids and (through
# proxy_set_header) tokens do appear, in lines the module cannot change.
# The test proves that every such line is one of nginx core's (the list
# below, @CoreDebug), that no line the module or libcurl writes carries a
# secret, and that the client secret and the state secret appear in no
# line at all.  SECURITY.md ("Logs") lists what core prints.
#
# The flows: the button page (new session), the button's redirect form,
# a GET and a form-POST callback with exchanges, /me, a refused replay, a
# refused code with %00, a denial, an API call proxied with the token as
# Bearer, intercom_oauth_require, a disconnect (the token is revoked), a
# signed uninstall webhook, and a token endpoint that answers 401.
#
# An nginx built without --with-debug writes no debug lines (nginx.org's
# packages: "nginx", not "nginx-debug"): the debug-level part is skipped
# there, saying so; the info-level part runs on every nginx.
#
# Ports: TEST_NGINX_SERVER_PORT + 60; a private stand-in (with a client
# secret made up for this run) gets a port from the system.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use Digest::SHA qw(hmac_sha256_hex);
use MIME::Base64 qw(encode_base64url);
use Test::More;
use Time::HiRes qw(sleep);

my $port   = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 60;
my $prefix;

sub random_text { encode_base64url(join '', map { chr int rand 256 } 1 .. shift) }

# made up for this run: nothing else on the machine prints them
my $client_secret = 'cs-' . random_text(24);
my $state_secret  = 'ss-' . random_text(24);
$ENV{NO_SECRETS_CLIENT_SECRET} = $client_secret;
$ENV{NO_SECRETS_STATE_SECRET}  = $state_secret;

# nginx core's debug lines that print the request or the response: the
# only lines in which a secret may appear at debug level
my @CoreDebug = (
    qr/^http request line: /,         # GET /callback?code=..&state=..
    qr/^http args: /,                 # code=..&state=..
    qr/^http exten: /,
    qr/^http run request: /,          # "/callback?code=..&state=.."
    qr/^http finalize request: /,     # -"-
    qr/^http special response: /,     # -"-
    qr/^http request count/,
    qr/^http terminate request/,
    qr/^http header: /,               # request headers: Cookie (session id)
    qr/^http proxy header:/,          # upstream request: Authorization: Bearer
    qr/^HTTP\/1\.[01] \d{3}/,         # response header block: Location, Set-Cookie
    qr/^http client request body/,    # POST callback bodies (lengths only here)
    qr/^http body/,
    qr/^http read client request body/,
    qr/^http request body/,
    qr/^http postpone/,
    qr/^http output filter/,
    qr/^http copy filter/,
    qr/^http write filter/,
    qr/^internal redirect: /,
    qr/^rewrite phase/,
    qr/^http script/,                 # variables evaluated by "return"
    qr/^http cleanup/,
    qr/^http log handler/,
);

# ---------------------------------------------------------------------------
# a private stand-in that knows this run's client secret

(undef, $ENV{TEST_NGINX_PRIVATE_PORT}) =
    standin(client_secret => $client_secret,
            redirect_uri => 'https://localhost/callback');

# ---------------------------------------------------------------------------

my $http_config = <<'_EOC_';
    intercom_oauth_zone           intercom:1m;
    intercom_oauth_client_id      test-client;
    intercom_oauth_client_secret  env:NO_SECRETS_CLIENT_SECRET;
    intercom_oauth_state_secret   env:NO_SECRETS_STATE_SECRET;
    intercom_oauth_redirect_uri   https://localhost/callback;
    intercom_oauth_authorize_url  https://127.0.0.1:$TEST_NGINX_PRIVATE_PORT/oauth;
    intercom_oauth_token_url      https://127.0.0.1:$TEST_NGINX_PRIVATE_PORT/behave/ok/auth/eagle/token;
    intercom_oauth_api_url        https://127.0.0.1:$TEST_NGINX_PRIVATE_PORT;
    intercom_oauth_revoke_url     https://127.0.0.1:$TEST_NGINX_PRIVATE_PORT/auth/uninstall;
    intercom_oauth_ca_file        $TEST_NGINX_CA_FILE;
    intercom_oauth_timeout        5s;
_EOC_

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button; }
        location = /connect-redirect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; intercom_oauth_success_uri /home; }
        location = /callback-401 {
            intercom_oauth_callback;
            intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_PRIVATE_PORT/behave/401/auth/eagle/token;
        }
        location = /token { return 200 "$intercom_access_token"; }
        location = /private { intercom_oauth_require; return 200 "private\n"; }
        location /intercom-api/ {
            proxy_set_header Authorization "Bearer $intercom_access_token";
            proxy_pass https://127.0.0.1:$TEST_NGINX_PRIVATE_PORT/;
            proxy_ssl_trusted_certificate $TEST_NGINX_CA_FILE;
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
        }
        location = /disconnect { intercom_oauth_disconnect /bye; }
        location = /webhook { intercom_oauth_uninstall_webhook; }
_EOC_

# (start_nginx puts the configuration through the exchange engine under
# test, TEST_INTERCOM_ENGINE)
sub start {
    my $level = shift;

    $prefix = start_nginx('no-secrets', $port, $locations,
                          http_config => $http_config, master => 1,
                          log_level => $level,
                          main => "env NO_SECRETS_CLIENT_SECRET;\n"
                                  . "env NO_SECRETS_STATE_SECRET;\n");
}

sub stop { stop_nginx($prefix) if $prefix }

END { stop() }

sub get { http_request($port, @_) }

# runs every flow; returns the secrets they handled, by kind
sub run_flows {
    my %s = (code => [], state => [], token => [], session => []);

    # 1. the button page, without a cookie: a new session and a state
    my ($status, $head, $body) = get('GET /connect');
    is($status, 200, 'the button page');
    my ($sid) = $head =~ /Set-Cookie: \Q$COOKIE\E=([A-Za-z0-9_-]+)/;
    my ($state1) = $body =~ /[?&;]state=([A-Za-z0-9_-]+)/;
    ok($sid && $state1, 'a session and a state');
    push @{ $s{session} }, $sid;
    push @{ $s{state} }, $state1;
    my $cookie = "Cookie: $COOKIE=$sid";

    # 2. the redirect form of the button (the state in Location)
    ($status, $head) = get('GET /connect-redirect?return_to=/reports', $cookie);
    is($status, 302, 'the button redirect');
    my ($state2) = $head =~ /Location: \S*[?&]state=([A-Za-z0-9_-]+)/;
    push @{ $s{state} }, $state2;

    # 3. a GET callback with the first state
    my $code1 = 'code-' . random_text(18);
    push @{ $s{code} }, $code1;
    ($status, $head) = get(callback_request(code => $code1, state => $state1),
                           $cookie);
    is($status, 302, 'a GET callback exchanges the code');

    # the callback rotates the session: the token is under the new id
    my ($sid1) = $head =~ /Set-Cookie: \Q$COOKIE\E=([A-Za-z0-9_-]+)/;
    ok($sid1 && $sid1 ne $sid, 'the callback gives a new session id');
    push @{ $s{session} }, $sid1;
    my $connected = "Cookie: $COOKIE=$sid1";
    my (undef, undef, $token1) = get('GET /token', $connected);
    like($token1, qr/^\S{20,}$/, 'a token is stored');
    push @{ $s{token} }, $token1;

    # 4. a replay of it: refused
    ($status) = get(callback_request(code => $code1, state => $state1), $cookie);
    is($status, 403, 'a replay is refused');

    # 5. a form POST callback with the second state (another session)
    my (undef, $h2) = get('GET /connect');
    my ($sid2) = $h2 =~ /Set-Cookie: \Q$COOKIE\E=([A-Za-z0-9_-]+)/;
    push @{ $s{session} }, $sid2;
    my $cookie2 = "Cookie: $COOKIE=$sid2";
    my $state3 = make_state(sid => $sid2, secret => $state_secret,
                            return_to => '/reports');
    push @{ $s{state} }, $state3;
    my $code2 = 'code-' . random_text(18) . '+/=';
    push @{ $s{code} }, $code2;
    (my $enc2 = $code2) =~ s/([^A-Za-z0-9_-])/sprintf '%%%02X', ord $1/ge;
    ($status, $head) = get("POST /callback\ncode=$enc2&state=$state3",
                           $cookie2,
                           'Content-Type: application/x-www-form-urlencoded');
    is($status, 302, 'a form POST callback exchanges the code');
    my ($sid3) = $head =~ /Set-Cookie: \Q$COOKIE\E=([A-Za-z0-9_-]+)/;
    push @{ $s{session} }, $sid3 if $sid3;
    my (undef, undef, $token2) = get('GET /token',
                                     "Cookie: $COOKIE=$sid3");
    push @{ $s{token} }, $token2;

    # 6. refused before any exchange: a code with %00, a denial
    my $code3 = 'code-' . random_text(18);
    push @{ $s{code} }, $code3;
    my $state4 = make_state(sid => $sid, secret => $state_secret);
    push @{ $s{state} }, $state4;
    ($status) = get("GET /callback?code=$code3%00&state=$state4", $cookie);
    is($status, 400, 'a code with NUL is refused');
    my $state5 = make_state(sid => $sid, secret => $state_secret);
    push @{ $s{state} }, $state5;
    ($status) = get("GET /callback?error=access_denied&state=$state5", $cookie);
    is($status, 403, 'a denial');

    # 7. a token endpoint that answers 401
    my $code4 = 'code-' . random_text(18);
    push @{ $s{code} }, $code4;
    my $state6 = make_state(sid => $sid, secret => $state_secret);
    push @{ $s{state} }, $state6;
    ($status) = get(callback_request(code => $code4, state => $state6,
                                     path => '/callback-401'), $cookie);
    is($status, 502, 'a 401 from the token endpoint');

    # 8. the token at work: require, and an API call with it as Bearer
    ($status) = get('GET /private', $connected);
    is($status, 200, 'intercom_oauth_require lets the session through');
    ($status, undef, $body) = get('GET /intercom-api/me', $connected);
    is($status, 200, 'the proxied API call with the token');
    like($body, qr/"email":"ada\@example\.com"/, 'answers with the admin');

    # 9. disconnect: the token is revoked with it as Bearer
    ($status) = get("POST /disconnect\n", $connected,
                    'Origin: http://localhost');
    is($status, 303, 'disconnect');

    # 10. a signed uninstall webhook (HMAC-SHA256 keyed by the client secret,
    # X-Body-Signature, as Intercom signs it)
    my $hook = '{"app_id":"abc12def"}';
    ($status) = get("POST /webhook\n$hook", 'Content-Type: application/json',
                    'X-Body-Signature: ' . hmac_sha256_hex($hook, $client_secret));
    is($status, 200, 'a signed webhook');

    return \%s;
}

# error.log as entries: a line with a timestamp and what follows it
# without one (the response header block is one entry over many lines)
sub entries {
    my @e;
    for my $line (split /\n/, shift) {
        if ($line =~ m{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d } || !@e) {
            push @e, $line;
        } else {
            $e[-1] .= "\n$line";
        }
    }
    return @e;
}

# the message of an entry, without time, level, pid and connection
sub message {
    my $e = shift;
    $e =~ s{^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] \d+#\d+: (?:\*\d+ )?}{};
    return $e;
}

sub all_secrets {
    my $s = shift;
    my @all = (['client secret', $client_secret],
               ['state secret', $state_secret]);
    for my $kind (qw(code state token session)) {
        push @all, map { [$kind, $_] } grep { defined && length } @{ $s->{$kind} };
    }
    # a code also travels percent-encoded
    for my $c (@{ $s->{code} }) {
        (my $enc = $c) =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
        push @all, ['code (encoded)', $enc] if $enc ne $c;
    }
    return @all;
}

# ---------------------------------------------------------------------------

subtest 'info level: no secret anywhere in error.log or access.log' => sub {
    start('info');
    my $s = run_flows();
    stop();

    my $err = error_log_of($prefix);
    my $acc = slurp("$prefix/logs/access.log");
    like($err, qr/intercom oauth: access token stored/,
         'the error log has the module\'s lines');

    for my $x (all_secrets($s)) {
        my ($kind, $v) = @$x;
        unlike($err, qr/\Q$v\E/, "error.log: no $kind");
        unlike($acc, qr/\Q$v\E/, "access.log: no $kind");
    }

    like($acc, qr{"GET /callback\?\[oauth arguments withheld\] HTTP/1\.1" 302},
         'the access log has the callback without its arguments');
    like($acc, qr{"POST /callback HTTP/1\.1" 302}, 'and the POST one');
};

subtest 'debug level: secrets only in nginx core\'s own request and response lines' => sub {
    # "nginx -V" lists the configure arguments; without --with-debug,
    # "error_log ... debug" logs what "info" does, and there is nothing
    # more to look at
    my $v = `'$NGINX' -V 2>&1`;
    plan skip_all => "$NGINX was built without --with-debug: no debug lines"
                     . ' to look at'
        unless $v =~ /--with-debug\b/;

    start('debug');
    my $s = run_flows();
    stop();

    my $err = error_log_of($prefix);
    my $acc = slurp("$prefix/logs/access.log");
    # the exchange engine's own debug lines (t/lib/IntercomOAuthTest.pm)
    my $engine_debug = $ENGINE eq 'subrequest'
                       ? qr/\[debug\] .*intercom oauth: POST subrequest to /
                       : qr/\[debug\] .*intercom oauth: curl socket/;
    like($err, $engine_debug,
         'the error log has the module\'s debug lines');

    my @entries = entries($err);
    my (%core, @bad);

    for my $x (all_secrets($s)) {
        my ($kind, $v) = @$x;

        unlike($acc, qr/\Q$v\E/, "access.log: no $kind");

        for my $e (grep { index($_, $v) >= 0 } @entries) {
            my $m = message($e);
            my ($which) = grep { $m =~ $_ } @CoreDebug;

            # the module's own lines (libcurl's errors reach the log only
            # through them) start with "intercom oauth:"
            if ($which && $m !~ /^intercom(?: oauth:|_oauth_zone)/
                && $kind ne 'client secret' && $kind ne 'state secret')
            {
                (my $label = $m) =~ s/^((?:HTTP\/1\.[01] \d{3})|[^:"]*).*/$1/s;
                $core{"$kind\t$label"}++;
            } else {
                push @bad, "$kind in: $m";
            }
        }
    }

    is(scalar @bad, 0,
       'no secret in a line of the module, of libcurl, or outside core\'s request and response lines')
        or diag join "\n", @bad;

    my @module = grep { message($_) =~ /^intercom(?: oauth:|_oauth_zone)/ } @entries;
    cmp_ok(scalar @module, '>', 10, scalar(@module) . ' module lines looked at');

    note "what nginx core prints at debug level (secret kind, message):";
    note "  $_ ($core{$_} entries)" for sort keys %core;
};

done_testing();
