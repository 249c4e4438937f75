# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The uninstall notification and disconnect with a store that does not
# delete (issue 12 follow-up): a real redis-server, stopped before the
# notification.  The webhook answers 503, so that Intercom retries, and
# deletes once Redis is back; disconnect logs and counts that Redis still
# holds the tokens.

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use Digest::SHA qw(hmac_sha256_hex);
use Time::HiRes qw(sleep);
use Test::More;

my $root  = $IntercomOAuthTest::ROOT;
my $base  = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $port  = $base + 121;
my $rport = free_port($base + 120, $port, $base + 122, $base + 123,
                      $base + 124);
my $dir   = "$root/t/servroot-redis-" . ($base + 120);

system('rm', '-rf', $dir);
mkdir $dir;

my $keyfile = secret_file("$dir/store.key", 'c3' x 32);
my $secret  = $ENV{TEST_INTERCOM_CLIENT_SECRET} || 'test-secret';

start_redis($rport, "$dir/redis");

my $http = $HTTP_CONFIG . store_http_config($rport, $keyfile);

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
        location = /webhook {
            intercom_oauth_uninstall_webhook;
            # Intercom refuses a token of an uninstalled workspace
            intercom_oauth_api_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/401;
        }
        location = /forget { intercom_oauth_disconnect / forget; }
        location = /status { intercom_oauth_status; }
_EOC_

my $prefix = start_nginx('webhook-store', $port, $locations,
                         http_config => $http);
END { stop_nginx($prefix) if $prefix }

my $hook = '{"app_id":"abc12def"}';

sub notify {
    return http_request($port, "POST /webhook\n$hook",
                        'Content-Type: application/json',
                        'X-Body-Signature: ' . hmac_sha256_hex($hook, $secret));
}

# -- the webhook: Redis stopped before the notification ------------------

my $sid = new_sid();
is(flow_callback($port, $sid, flow_connect($port, $sid)), 302, 'a flow');
my $key = token_key('intercom_oauth:', 'c3' x 32, $CLIENT_ID, $sid);
is(redis_cli($rport, 'EXISTS', $key), "1\n", 'its token is in Redis');

stop_redis($rport);

my ($st, $head, $body) = notify();
is($st, 503, 'the store did not delete: 503, for Intercom to retry');
is($body, qq{{"error":"store_unavailable"}\n}, 'with the JSON of a refusal');
like(error_log_of($prefix),
     qr/uninstall webhook: workspace "abc12def" removed the app, 1 token\(s\) deleted here but the store did not delete them: answered 503 for Intercom to retry/,
     'the log says what was left');

start_redis($rport, "$dir/redis");
is(redis_cli($rport, 'EXISTS', $key), "1\n",
   'Redis still holds the token');

# Intercom retries; the worker reconnects to Redis on its own
for (1 .. 40) {
    ($st, $head, $body) = notify();
    last if $st == 200;
    sleep 0.25;
}
is($st, 200, 'the retry is answered 200');
is($body, qq{{"deleted":1}\n}, 'and counts the token the store deleted');
is(redis_cli($rport, 'EXISTS', $key), "0\n", 'the token is gone from Redis');
is(token_of($port, $sid), '[0][]', 'and from this host');

# -- disconnect: Redis stopped before it --------------------------------

my $fsid = new_sid();
is(flow_callback($port, $fsid, flow_connect($port, $fsid)), 302,
   'another flow');
my $fkey = token_key('intercom_oauth:', 'c3' x 32, $CLIENT_ID, $fsid);
is(redis_cli($rport, 'EXISTS', $fkey), "1\n", 'its token is in Redis');

my (undef, undef, $before) = http_request($port, 'GET /status');
my ($errors_before) = $before =~ /"errors":(\d+)/;

stop_redis($rport);

my ($dst) = http_request($port, 'POST /forget',
                         IntercomOAuthTest::session_cookie($fsid),
                         'Origin: http://localhost');
is($dst, 303, 'the browser is still sent on (the token left this host)');
like(error_log_of($prefix),
     qr/Redis still holds the token\(s\), every host can read them again/,
     'the log says Redis still holds the token');
my (undef, undef, $after) = http_request($port, 'GET /status');
my ($errors_after) = $after =~ /"errors":(\d+)/;
ok(defined $errors_after && $errors_after > ($errors_before // 0),
   'and the store\'s error counter grew');

start_redis($rport, "$dir/redis");
is(redis_cli($rport, 'EXISTS', $fkey), "1\n",
   'Redis holds it still: what the log line warns of');

stop_redis($rport);

done_testing();
