# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The zone across "nginx -s reload": tokens, used states and the generated
# state secret survive, so that a flow started before a reload finishes
# after it, and a state used before cannot be used again after.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use Test::More;

my $port = ($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 11;

# no intercom_oauth_state_secret: the zone's generated one is in use; no
# intercom_oauth_key: tokens are under the session, which the callback
# rotates (the new id comes back in Set-Cookie, as a browser would keep it)
my $http = $HTTP_CONFIG;
$http =~ s{^\s*intercom_oauth_state_secret .*\n}{}m;
$http =~ s{^\s*intercom_oauth_key .*\n}{}m;

my $locations = <<'_EOC_';
        location = /callback { intercom_oauth_callback; }
        location = /authorize { return 200 "$intercom_oauth_authorize_url"; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
        location = /status { intercom_oauth_status; }
_EOC_

my $prefix = start_nginx('reload', $port, $locations, http_config => $http,
                         master => 1);

sub state_from_authorize_url {
    my ($status, undef, $body) = http_request($port, 'GET /authorize',
                                              session_cookie());
    return $body =~ /[?&]state=([A-Za-z0-9_-]+)/ ? $1 : undef;
}

my $master = nginx_pid($prefix);

# the master's live workers (not one that lingers while it finishes)
sub workers { join ',', worker_pids($master) }

# a token stored before the reload
my $s1 = state_from_authorize_url();
ok($s1, 'a state minted by the connect variable');

my ($status, $head) = http_request($port,
                                   callback_request(code => 'r1', state => $s1),
                                   session_cookie());
is($status, 302, 'callback before the reload stores a token');

my ($new_sid) = $head =~ /^Set-Cookie: intercom_oauth_sid=([A-Za-z0-9_-]{22});/m;
ok($new_sid && $new_sid ne $SID, 'under a new session id (rotated)');

my (undef, undef, $old) = http_request($port, 'GET /token', session_cookie());
is($old, '[0][]', 'the session id the browser came with holds nothing');

my (undef, undef, $before) = http_request($port, 'GET /token',
                                          session_cookie($new_sid));
like($before, qr/^\[1\]\[\S+\]$/, 'the new one holds the token');

# a state minted before the reload, used after it
my $s2 = state_from_authorize_url();

my (undef, undef, $status_before) = http_request($port, 'GET /status');
like($status_before, qr/"callbacks":\{"total":1,"ok":1,/,
     'the status counts one good callback before the reload');

my $workers = workers();
like($workers, qr/^\d+$/, 'one worker before the reload');
kill 'HUP', $master;

for (1 .. 100) {
    my $now = workers();
    last if $now ne $workers && $now =~ /\d/ && $now !~ /,/;
    select undef, undef, undef, 0.1;
}
isnt(workers(), $workers, 'the reload replaced the worker');

my (undef, undef, $after) = http_request($port, 'GET /token',
                                         session_cookie($new_sid));
is($after, $before, 'the token survived the reload');

($status) = http_request($port, callback_request(code => 'r2', state => $s2),
                         session_cookie());
is($status, 302, 'a state minted before the reload is accepted after it');

($status) = http_request($port, callback_request(code => 'r3', state => $s1),
                         session_cookie());
is($status, 403, 'a state used before the reload is still refused after it');

my (undef, undef, $status_after) = http_request($port, 'GET /status');
like($status_after,
     qr/"callbacks":\{"total":3,"ok":2,.*"state_replayed":1,.*"tokens":\{"stored":2,/,
     'the counters survived the reload and went on counting');

stop_nginx($prefix);

my $text = error_log_of($prefix);
like($text, qr/\[warn\] .*intercom oauth: state refused: already used/,
     'the replay has its log line');
unlike($text, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');

done_testing();
