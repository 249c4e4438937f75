# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# intercom_oauth_store: what "nginx -t" refuses, and one host whose Redis
# is not there (nothing listens on TEST_NGINX_SERVER_PORT + 44, or the next
# port up where nothing does): reads fall back to the zone at once,
# callbacks are refused with 503.

use lib 't/lib';
use IntercomOAuthTest;
use RedisStore;
use Test::Nginx::Socket 'no_plan';

$ENV{TEST_INTERCOM_STORE_KEY}   = 'k' x 32 . '-store-key-for-tests';
$ENV{TEST_INTERCOM_SHORT_KEY}   = 'k' x 31;
$ENV{TEST_NGINX_REDIS_DOWN_PORT} =
    free_port(($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 44);

our $STORE = <<'_EOC_';
    intercom_oauth_store          redis://127.0.0.1:$TEST_NGINX_REDIS_DOWN_PORT/3;
    intercom_oauth_store_key      env:TEST_INTERCOM_STORE_KEY;
    intercom_oauth_store_timeout  300ms;
_EOC_

no_shuffle();

block_defaults(http_config => $HTTP_CONFIG . $STORE);

run_tests();

__DATA__

=== TEST 1: a store and a callback without intercom_oauth_state_secret
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s/^\s*intercom_oauth_state_secret .*\n//m;
$c;
--- config
location = /callback { intercom_oauth_callback; }
--- must_die
--- error_log
"intercom_oauth_callback" with "intercom_oauth_store" needs "intercom_oauth_state_secret": hosts that share a store must share the state secret



=== TEST 2: a store and a connect button without intercom_oauth_state_secret
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s/^\s*intercom_oauth_state_secret .*\n//m;
$c;
--- config
location = /connect { intercom_connect_button; }
--- must_die
--- error_log
"intercom_connect_button" with "intercom_oauth_store" needs "intercom_oauth_state_secret"



=== TEST 3: a store without intercom_oauth_store_key
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s/^\s*intercom_oauth_store_key .*\n//m;
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store" needs "intercom_oauth_store_key file:PATH": tokens are bearer credentials



=== TEST 4: a store key shorter than 32 bytes
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s/TEST_INTERCOM_STORE_KEY/TEST_INTERCOM_SHORT_KEY/;
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store_key" must be at least 32 bytes long



=== TEST 5: a literal store key is refused
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s/env:TEST_INTERCOM_STORE_KEY/0123456789abcdef0123456789abcdef/;
$c;
--- config
--- must_die
--- error_log
intercom_oauth_store_key



=== TEST 6: a store URL that is not redis:// or unix:
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s{redis://\S+;}{http://127.0.0.1:6379;};
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store" takes redis://HOST[:PORT][/DB], rediss://HOST[:PORT][/DB], sentinel://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB], sentinels://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB] or unix:PATH, not "http://127.0.0.1:6379"



=== TEST 7: a database that is not a number
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s{/3;}{/x;};
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store" takes redis://HOST[:PORT][/DB], rediss://HOST[:PORT][/DB], sentinel://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB], sentinels://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB] or unix:PATH



=== TEST 8: a store key without a store
--- http_config eval
$HTTP_CONFIG . "intercom_oauth_store_key env:TEST_INTERCOM_STORE_KEY;\n"
--- config
--- must_die
--- error_log
"intercom_oauth_store_key" and "intercom_oauth_store_password" need "intercom_oauth_store"



=== TEST 9: a store without a zone
--- http_config
intercom_oauth_store redis://127.0.0.1:6379;
intercom_oauth_store_key env:TEST_INTERCOM_STORE_KEY;
--- config
--- must_die
--- error_log
"intercom_oauth_store" needs "intercom_oauth_zone": the zone is the store's local cache



=== TEST 10: Redis not there: a read answers at once from the zone (nothing)
--- config
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
--- request
GET /token
--- more_headers eval
session_cookie()
--- timeout: 2
--- response_body chomp
[0][]
--- error_log eval
[qr/intercom oauth: store "redis:\/\/127\.0\.0\.1:\d+\/3" cannot be reached: .*; retrying/,
 qr/intercom oauth: store "redis:\/\/127\.0\.0\.1:\d+\/3": read failed: not connected/]



=== TEST 11: Redis not there: intercom_oauth_require answers 401 at once
--- config
location = /api { intercom_oauth_require; }
--- request
GET /api
--- more_headers eval
session_cookie()
--- timeout: 2
--- error_code: 401
--- response_body_like: not_connected



=== TEST 12: Redis not there: a callback is refused with 503 before any exchange
--- config
location = /callback { intercom_oauth_callback; }
--- request eval
callback_request(code => 'down-1', state => make_state())
--- more_headers eval
session_cookie()
--- error_code: 503
--- response_body_like: store_unavailable
--- error_log
single use of the state cannot be checked across hosts
--- no_error_log
token exchange



=== TEST 13: the status has the store's counters when a store is configured
--- config
location = /status { intercom_oauth_status; }
--- request
GET /status
--- response_body_like
,"store":\{"writes":0,"reads":0,"hits":0,"misses":0,"errors":0,"callbacks_refused":0\}\}$



=== TEST 14: and in Prometheus text
--- config
location = /status { intercom_oauth_status; }
--- request
GET /status?format=prometheus
--- response_body_like eval
qr/intercom_oauth_store_operations_total\{op="write"\} 0\n.*intercom_oauth_store_errors_total 0\n/s



=== TEST 15: a unix socket, a password from the environment, a prefix: nginx starts
--- http_config eval
my $c = $HTTP_CONFIG;
$c . "intercom_oauth_store unix:/nonexistent/redis.sock;\n"
   . "intercom_oauth_store_key env:TEST_INTERCOM_STORE_KEY;\n"
   . "intercom_oauth_store_password env:TEST_INTERCOM_STORE_KEY;\n"
   . "intercom_oauth_store_prefix app1:;\n"
   . "intercom_oauth_store_connect_timeout 200ms;\n"
--- config
location = /token { return 200 "[$intercom_oauth_connected]"; }
--- request
GET /token
--- more_headers eval
session_cookie()
--- response_body chomp
[0]
--- error_log
store "unix:/nonexistent/redis.sock" cannot be reached



=== TEST 16: a database number beyond what Redis can select
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s{/3;}{/99999999999;};
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store" takes redis://HOST[:PORT][/DB], rediss://HOST[:PORT][/DB], sentinel://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB], sentinels://HOST[:PORT][,HOST[:PORT]...]/NAME[/DB] or unix:PATH



=== TEST 17: credentials in the URL are refused, and the password is not logged
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s{redis://}{redis://user:pw-in-url-secret@};
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store" takes no credentials in the URL: use "intercom_oauth_store_password file:PATH"
--- no_error_log
pw-in-url-secret



=== TEST 18: intercom_oauth_store_user without a password
--- http_config eval
$HTTP_CONFIG . $main::STORE . "intercom_oauth_store_user site;\n"
--- config
--- must_die
--- error_log
"intercom_oauth_store_user" needs "intercom_oauth_store_password"



=== TEST 19: a CA file for a store that is not on TLS
--- http_config eval
$HTTP_CONFIG . $main::STORE
. "intercom_oauth_store_ca_file $ENV{TEST_NGINX_CA_FILE};\n"
--- config
--- must_die
--- error_log
"intercom_oauth_store_ca_file", "intercom_oauth_store_certificate" and "intercom_oauth_store_server_name" need "intercom_oauth_store rediss://" or "sentinels://"



=== TEST 20: a client certificate without its key
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE
. "intercom_oauth_store_certificate $ENV{TEST_NGINX_CERT_DIR}/site.crt;\n";
$c =~ s{redis://}{rediss://};
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store_certificate" and "intercom_oauth_store_certificate_key" go together



=== TEST 21: rediss:// with a CA file and an ACL user, Redis not there: nginx starts, reads answer from the zone
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE
. "intercom_oauth_store_ca_file $ENV{TEST_NGINX_CA_FILE};\n"
. "intercom_oauth_store_user site;\n"
. "intercom_oauth_store_password env:TEST_INTERCOM_STORE_KEY;\n"
. "intercom_oauth_store_connect_timeout 200ms;\n";
$c =~ s{redis://127.0.0.1}{rediss://localhost};
$c;
--- config
location = /token { return 200 "[$intercom_oauth_connected]"; }
--- request
GET /token
--- more_headers eval
session_cookie()
--- response_body chomp
[0]
--- error_log eval
qr/store "rediss:\/\/localhost:\d+\/3" cannot be reached: .*; retrying/



=== TEST 22: intercom_oauth_store_wait takes a number of replicas
--- http_config eval
$HTTP_CONFIG . $main::STORE . "intercom_oauth_store_wait 0;\n"
--- config
--- must_die
--- error_log
"intercom_oauth_store_wait" takes a number of replicas from 1 to 64, not "0"



=== TEST 23: a sentinel URL without the primary's name
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE;
$c =~ s{redis://127.0.0.1:(\S+?)/3}{sentinel://127.0.0.1:$1,127.0.0.1:$1/};
$c;
--- config
--- must_die
--- error_log
not "sentinel://127.0.0.1:



=== TEST 24: sentinels not there: nginx starts, reads answer from the zone
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE . "intercom_oauth_store_connect_timeout 200ms;\n";
$c =~ s{redis://127.0.0.1:(\S+?)/3}{sentinel://127.0.0.1:$1,localhost:$1/mymaster/3};
$c;
--- config
location = /token { return 200 "[$intercom_oauth_connected]"; }
--- request
GET /token
--- more_headers eval
session_cookie()
--- response_body chomp
[0]
--- error_log eval
qr/store "sentinel:\/\/[^"]+" \(sentinel 127\.0\.0\.1:\d+\) cannot be reached: .*; retrying/



=== TEST 25: sentinels:// with a CA file, a sentinel password and a server name, sentinels not there: nginx starts, says which sentinel
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE
. "intercom_oauth_store_ca_file $ENV{TEST_NGINX_CA_FILE};\n"
. "intercom_oauth_store_sentinel_user watcher;\n"
. "intercom_oauth_store_sentinel_password env:TEST_INTERCOM_STORE_KEY;\n"
. "intercom_oauth_store_server_name redis.internal;\n"
. "intercom_oauth_store_connect_timeout 200ms;\n";
$c =~ s{redis://127.0.0.1:(\S+?)/3}{sentinels://localhost:$1/mymaster/3};
$c;
--- config
location = /token { return 200 "[$intercom_oauth_connected]"; }
--- request
GET /token
--- more_headers eval
session_cookie()
--- response_body chomp
[0]
--- error_log eval
qr/store "sentinels:\/\/localhost:\d+\/mymaster\/3" \(sentinel 127\.0\.0\.1:\d+\) cannot be reached: .*; retrying/



=== TEST 26: a sentinel password for a store that is not behind Sentinel
--- http_config eval
$HTTP_CONFIG . $main::STORE
. "intercom_oauth_store_sentinel_password env:TEST_INTERCOM_STORE_KEY;\n"
--- config
--- must_die
--- error_log
"intercom_oauth_store_sentinel_password" needs "intercom_oauth_store sentinel://" or "sentinels://", not "redis://127.0.0.1:



=== TEST 27: a sentinel user without the sentinel password
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE . "intercom_oauth_store_sentinel_user watcher;\n";
$c =~ s{redis://127.0.0.1:(\S+?)/3}{sentinel://127.0.0.1:$1/mymaster};
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store_sentinel_user" needs "intercom_oauth_store_sentinel_password"



=== TEST 28: a server name for a store that is not on TLS
--- http_config eval
my $c = $HTTP_CONFIG . $main::STORE . "intercom_oauth_store_server_name redis.internal;\n";
$c =~ s{redis://127.0.0.1:(\S+?)/3}{sentinel://127.0.0.1:$1/mymaster};
$c;
--- config
--- must_die
--- error_log
"intercom_oauth_store_server_name" need "intercom_oauth_store rediss://" or "sentinels://"
