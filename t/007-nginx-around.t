# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Where the module meets the rest of nginx (issue 15, items 1, 3 and 8):
#
#   - the callback's code and state reach no log line, whoever answers
#     the request: deny, limit_req (refusing or delaying), auth_request,
#     a guard, nginx itself while it reads the headers (the access log);
#     other requests keep their arguments;
#   - intercom_oauth_require: never on the module's own locations, "off",
#     after the access modules (auth_request_set), "satisfy any", error
#     pages, unsafe methods from another site, the token loaded from the
#     store for a key set in the access phase;
#   - intercom_oauth_check for auth_request;
#   - run-time warnings: $intercom_oauth_authorize_url where no cookie
#     can be set, a redirect_uri that turns out http://.
#
# Blocks without "--- config" reuse the previous block's nginx, and their
# log checks see its whole error.log: that is how a line logged once per
# worker is counted over two requests.  Test::Nginx checks the logs after
# each request of a block, on the lines logged since the previous check,
# and the access log whole: blocks with several requests assert lines
# only where every request logs them.
#
# The store's blocks use a redis-server of their own, on
# TEST_NGINX_SERVER_PORT + 93 (or the next free port up).

use lib 't/lib';
use IntercomOAuthTest;
use RedisStore qw(free_port redis_cli);
use POSIX ();
use Test::Nginx::Socket 'no_plan';

no_shuffle();

our $HTTP = $HTTP_CONFIG;

# what must never be in a log line: a code, a state (a state is 40 or more
# base64url characters), a session id
our @Secrets = (qr/code=(?!\[withheld\])[^&\s"]/i,
                qr/state=(?!\[withheld\])[^&\s"]/i,
                qr/[A-Za-z0-9_-]{40,}/);

# the documented way to keep $request_uri in a custom log_format
our $LogMap = <<'_EOC_';
    map $request_uri $request_uri_loggable {
        "~*^(?<loggable_path>[^?]*)\?(.*&)?(code|state|error)="  "$loggable_path?[withheld]";
        default                                                  $request_uri;
    }
    log_format leaky  'leaky $request_uri $args';
    log_format safe   'safe $request_uri_loggable';
_EOC_

# -- the store's redis-server -------------------------------------------

our $RedisPort = free_port(($ENV{TEST_NGINX_SERVER_PORT} || 1984) + 93);
our $RedisDir = "$IntercomOAuthTest::ROOT/t/servroot-redis-$RedisPort";
our $RedisPid;
our $Parent = $$;

$ENV{TEST_INTERCOM_STORE_KEY} = 's' x 32 . '-store-key-for-007';

sub start_store {
    system('rm', '-rf', $RedisDir);
    mkdir $RedisDir or die "$RedisDir: $!";

    $RedisPid = fork() // die "fork: $!";

    if ($RedisPid == 0) {
        open STDOUT, '>>', "$RedisDir/redis.log";
        open STDERR, '>&', \*STDOUT;
        no warnings 'exec';
        exec 'redis-server', '--port', $RedisPort, '--bind', '127.0.0.1',
            '--dir', $RedisDir, '--save', '', '--appendonly', 'no',
            '--daemonize', 'no';
        POSIX::_exit(127);
    }

    for (1 .. 200) {
        return if redis_cli($RedisPort, 'PING') eq "PONG\n";
        select undef, undef, undef, 0.05;
    }

    die "redis-server did not start on $RedisPort\n";
}

END {
    if ($RedisPid && $$ == $Parent) {
        kill 'TERM', $RedisPid;
        waitpid $RedisPid, 0;
    }
}

start_store();

our $STORE = <<"_EOC_";
    intercom_oauth_store          redis://127.0.0.1:$RedisPort/0;
    intercom_oauth_store_key      env:TEST_INTERCOM_STORE_KEY;
    intercom_oauth_store_timeout  1s;
_EOC_

env_to_nginx('TEST_INTERCOM_STORE_KEY');

run_tests();

__DATA__

=== TEST 1: a callback refused by deny: no code nor state in error.log or the combined access log
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /callback { deny all; intercom_oauth_callback; }
--- request eval
callback_request(code => 'code-t1-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 403
--- response_headers
Referrer-Policy: no-referrer
--- error_log
access forbidden by rule
request: "GET /callback?[oauth arguments withheld] HTTP/1.1"
--- no_error_log eval
["code-t1-secret", @::Secrets]
--- access_log
"GET /callback?[oauth arguments withheld] HTTP/1.1" 403
--- no_access_log eval
["code-t1-secret", @::Secrets]



=== TEST 2: limit_req lets the first callback through
--- log_level: info
--- http_config eval
$::HTTP . "    limit_req_zone \$binary_remote_addr zone=cb:1m rate=1r/m;\n"
--- config
location = /callback { limit_req zone=cb; intercom_oauth_callback; }
--- request eval
callback_request(code => 'code-t2-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 302
--- no_error_log eval
["code-t2-secret", @::Secrets]



=== TEST 3: ... and refuses the second: 503, and neither log shows its code or state
--- request eval
callback_request(code => 'code-t3-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 503
--- response_headers
Referrer-Policy: no-referrer
--- error_log eval
[qr/limiting requests, excess: [01]\.\d+ by zone "cb"/,
 'request: "GET /callback?[oauth arguments withheld] HTTP/1.1"']
--- no_error_log eval
["code-t2-secret", "code-t3-secret", @::Secrets]
--- access_log
"GET /callback?[oauth arguments withheld] HTTP/1.1" 302
"GET /callback?[oauth arguments withheld] HTTP/1.1" 503
--- no_access_log eval
["code-t2-secret", "code-t3-secret", @::Secrets]



=== TEST 4: limit_req in delay mode: the first callback goes through at once
--- log_level: info
--- http_config eval
$::HTTP . "    limit_req_zone \$binary_remote_addr zone=cb:1m rate=2r/s;\n"
--- config
location = /callback { limit_req zone=cb burst=5; intercom_oauth_callback; }
--- request eval
callback_request(code => 'code-t4-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 302



=== TEST 5: ... the second is delayed, then succeeds: "delaying request" shows no code
--- request eval
callback_request(code => 'code-t5-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 302
--- error_log eval
[qr/delaying request, excess: [01]\.\d+, by zone "cb"/,
 'request: "GET /callback?[oauth arguments withheld] HTTP/1.1"']
--- no_error_log eval
["code-t4-secret", "code-t5-secret", @::Secrets]
--- no_access_log eval
["code-t4-secret", "code-t5-secret", @::Secrets]



=== TEST 6: auth_request in front of the callback fails: its error line shows no code
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /callback { auth_request /_auth; intercom_oauth_callback; }
location = /_auth { internal; return 404; }
--- request eval
callback_request(code => 'code-t6-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 500
--- response_headers
Referrer-Policy: no-referrer
--- error_log
auth request unexpected status: 404
request: "GET /callback?[oauth arguments withheld] HTTP/1.1"
--- no_error_log eval
["code-t6-secret", @::Secrets]
--- no_access_log eval
["code-t6-secret", @::Secrets]



=== TEST 7: auth_request refuses the callback: the access log shows no code
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /callback { auth_request /_auth; intercom_oauth_callback; }
location = /_auth { internal; return 403; }
--- request eval
callback_request(code => 'code-t7-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 403
--- access_log
"GET /callback?[oauth arguments withheld] HTTP/1.1" 403
--- no_access_log eval
["code-t7-secret", @::Secrets]
--- no_error_log eval
["code-t7-secret", @::Secrets]



=== TEST 8: a callback in a regular expression location, refused by deny
--- log_level: info
--- http_config eval: $::HTTP
--- config
location ~ ^/oauth/(cb|callback)$ { deny all; intercom_oauth_callback; }
--- request eval
callback_request(path => '/oauth/cb', code => 'code-t8-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 403
--- error_log
request: "GET /oauth/cb?[oauth arguments withheld] HTTP/1.1"
--- no_error_log eval
["code-t8-secret", @::Secrets]
--- access_log
"GET /oauth/cb?[oauth arguments withheld] HTTP/1.1" 403



=== TEST 9: a callback in a prefix location: any URI under it
--- log_level: info
--- http_config eval: $::HTTP
--- config
location /oauth/ { deny all; intercom_oauth_callback; }
--- request eval
callback_request(path => '/oauth/back/here', code => 'code-t9-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 403
--- error_log
request: "GET /oauth/back/here?[oauth arguments withheld] HTTP/1.1"
--- no_access_log eval
["code-t9-secret", @::Secrets]



=== TEST 10: a refused callback shown with the site's error_page carries Referrer-Policy
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; error_page 403 /oops.html; }
location = /oops.html { internal; }
--- user_files
>>> oops.html
<img src="https://tracker.example/pixel.gif">
--- request eval
callback_request(code => 'code-t10-secret', state => make_state(sid => $OTHER_SID))
--- more_headers eval: session_cookie()
--- error_code: 403
--- response_headers
Referrer-Policy: no-referrer
--- response_body
<img src="https://tracker.example/pixel.gif">
--- no_access_log eval
["code-t10-secret", @::Secrets]



=== TEST 11: the happy path: token stored, 302, Referrer-Policy, the query withheld in the log
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; }
location = /token { return 200 "[$intercom_oauth_connected]\n"; }
--- request eval
[callback_request(code => 'code-t11-secret', state => make_state()), "GET /token"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_headers eval
["Referrer-Policy: no-referrer", "!Referrer-Policy"]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]$/]
--- access_log
"GET /callback?[oauth arguments withheld] HTTP/1.1" 302
--- no_access_log eval
["code-t11-secret", @::Secrets]
--- no_error_log eval
["code-t11-secret", @::Secrets]



=== TEST 12: code and state elsewhere: their values withheld in $request, the other arguments kept, $args untouched
--- http_config eval: $::HTTP
--- config
location = /t { return 200 "$args|$request\n"; }
--- request
GET /t?foo=1&code=abc&State=xyz&bar=%41
--- error_code: 200
--- response_headers
Referrer-Policy: no-referrer
--- response_body
foo=1&code=abc&State=xyz&bar=%41|GET /t?foo=1&code=[withheld]&State=[withheld]&bar=%41 HTTP/1.1
--- access_log
"GET /t?foo=1&code=[withheld]&State=[withheld]&bar=%41 HTTP/1.1" 200



=== TEST 13: Intercom's "error" with a state elsewhere: the state withheld, the error kept
--- http_config eval: $::HTTP
--- config
location = /t { return 200 "$request\n"; }
--- request
GET /t?error=access_denied&state=xyz
--- response_body
GET /t?error=access_denied&state=[withheld] HTTP/1.1



=== TEST 14: other requests keep their arguments: a code without a state, a state without a code
--- http_config eval: $::HTTP
--- config
location = /t { return 200 "$args|$request\n"; }
--- request eval
["GET /t?code=1&x=2", "GET /t?state=abc&codes=1"]
--- error_code eval
[200, 200]
--- response_headers eval
["!Referrer-Policy", "!Referrer-Policy"]
--- response_body eval
["code=1&x=2|GET /t?code=1&x=2 HTTP/1.1\n",
 "state=abc&codes=1|GET /t?state=abc&codes=1 HTTP/1.1\n"]



=== TEST 15: a custom log_format with $request_uri and $args shows them; the documented map does not
--- http_config eval: $::HTTP . $::LogMap
--- config
location = /callback {
    deny all;
    intercom_oauth_callback;
    access_log logs/access.log leaky;
    access_log logs/access.log safe;
}
--- request eval
callback_request(code => 'code-t15-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 403
--- access_log eval
[qr/^leaky \/callback\?code=code-t15-secret&state=\S+ code=code-t15-secret&state=\S+$/,
 qr/^safe \/callback\?\[withheld\]$/]



=== TEST 16: the documented map keeps other requests' URIs
--- http_config eval: $::HTTP . $::LogMap
--- config
location = /t { return 204; access_log logs/access.log safe; }
--- request
GET /t?page=2&codes=1
--- error_code: 204
--- access_log
safe /t?page=2&codes=1



=== TEST 17: intercom_oauth_require at server level: the connect page is served, not redirected to itself
--- http_config eval: $::HTTP
--- config
intercom_oauth_require /connect;
location = /connect { intercom_connect_button; }
--- request
GET /connect
--- more_headers eval: session_cookie()
--- error_code: 200
--- response_body_like: >Connect with Intercom</a>



=== TEST 18: intercom_oauth_require at server level: the callback completes, and goes to the success URI
--- log_level: info
--- http_config eval: $::HTTP
--- config
intercom_oauth_require /connect;
location = /connect { intercom_connect_button; }
location = /callback { intercom_oauth_callback; intercom_oauth_success_uri /home; }
--- request eval
callback_request(code => 'code-t18-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/home
--- no_error_log eval
["code-t18-secret", "requires a connection", @::Secrets]
--- no_access_log eval
["code-t18-secret", @::Secrets]



=== TEST 19: a callback sent elsewhere, under a server-level guard: redirected to the connect page without its code
--- log_level: info
--- http_config eval: $::HTTP
--- config
intercom_oauth_require /connect;
location = /connect { intercom_connect_button; }
location = /callback { intercom_oauth_callback; }
--- request eval
callback_request(path => '/elsewhere', code => 'code-t19-secret', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/connect\?return_to=%2Felsewhere
Referrer-Policy: no-referrer
--- error_log
"/elsewhere" requires a connection to Intercom
request: "GET /elsewhere?code=[withheld]&state=[withheld] HTTP/1.1"
--- no_error_log eval
["code-t19-secret", @::Secrets]
--- access_log
"GET /elsewhere?code=[withheld]&state=[withheld] HTTP/1.1" 302
--- no_access_log eval
["code-t19-secret", @::Secrets]



=== TEST 20: a server-level guard leaves status, disconnect and check alone
--- http_config eval: $::HTTP
--- config
intercom_oauth_require;
location = /status { intercom_oauth_status; }
location = /disconnect { intercom_oauth_disconnect /bye; }
location = /check { intercom_oauth_check; }
location = /other { }
--- request eval
["GET /status", "POST /disconnect", "GET /check", "GET /other"]
--- more_headers eval
session_cookie() . "\nOrigin: http://localhost"
--- error_code eval
[200, 303, 401, 401]
--- response_body_like eval
[qr/"callbacks"/, qr/303/, qr/not_connected/, qr/not_connected/]



=== TEST 21: intercom_oauth_require off turns an inherited guard off
--- http_config eval: $::HTTP . "    intercom_oauth_require;\n"
--- config
location = /public { intercom_oauth_require off; }
location = /private { }
--- user_files
>>> public
public
>>> private
private
--- request eval
["GET /public", "GET /private"]
--- more_headers eval: session_cookie()
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/^public$/, qr/not_connected/]



=== TEST 22: intercom_oauth_require in a location with a handler of the module is an error
--- http_config eval: $::HTTP
--- config
location = /connect { intercom_connect_button; intercom_oauth_require /connect; }
--- must_die
--- error_log
"intercom_oauth_require" cannot guard a location with "intercom_connect_button"



=== TEST 23: an error page is not guarded
--- http_config eval: $::HTTP
--- config
intercom_oauth_require;
location = /denied { deny all; error_page 403 /forbidden.html; }
--- user_files
>>> forbidden.html
forbidden page
--- request
GET /denied
--- more_headers eval: session_cookie()
--- error_code: 403
--- response_body
forbidden page



=== TEST 24: the guard runs after auth_request: the key its auth_request_set gives is the one checked
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; }
location = /_auth { internal; return 204; }
location = /app {
    auth_request /_auth;
    auth_request_set $user_key $cookie_intercom_oauth_sid;
    intercom_oauth_key $user_key;
    intercom_oauth_require;
}
--- user_files
>>> app
app
--- request eval
[callback_request(code => 'code-t24', state => make_state()), "GET /app"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^app$/]



=== TEST 25: ... and a key without a token is refused there
--- http_config eval: $::HTTP
--- config
location = /_auth { internal; return 204; }
location = /app {
    auth_request /_auth;
    auth_request_set $user_key $cookie_intercom_oauth_sid;
    intercom_oauth_key $user_key;
    intercom_oauth_require;
}
--- user_files
>>> app
app
--- request
GET /app
--- more_headers eval: session_cookie()
--- error_code: 401
--- response_body_like: ^\{"error":"not_connected"



=== TEST 26: satisfy any: allow 127.0.0.1 lets a browser without a token through
--- http_config eval: $::HTTP
--- config
location = /app { satisfy any; allow 127.0.0.1; deny all; intercom_oauth_require /connect; }
--- user_files
>>> app
app
--- request
GET /app
--- more_headers eval: session_cookie()
--- error_code: 200
--- response_body
app



=== TEST 27: satisfy any with deny all: a connected browser gets through
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; }
location = /app { satisfy any; deny all; intercom_oauth_require /connect; }
--- user_files
>>> app
app
--- request eval
[callback_request(code => 'code-t27', state => make_state()), "GET /app"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^app$/]



=== TEST 28: satisfy any with deny all: a browser without a token gets the guard's answer
--- http_config eval: $::HTTP
--- config
location = /app { satisfy any; deny all; intercom_oauth_require /connect; }
location = /api { satisfy any; deny all; intercom_oauth_require; }
--- request eval
["GET /app?x=1", "GET /api"]
--- more_headers eval: session_cookie()
--- error_code eval
[302, 401]
--- response_headers_like eval
["Location: http://localhost(:\\d+)?/connect\\?return_to=%2Fapp%3Fx%3D1\nCache-Control: no-store",
 "Content-Type: application/json\nCache-Control: no-store"]
--- response_body_like eval
[qr/302 Found/, qr/^\{"error":"not_connected"/]



=== TEST 29: satisfy any with auth_basic: without a token nor a password, 401 with the challenge kept
--- http_config eval: $::HTTP
--- config
location = /app {
    satisfy any;
    auth_basic "site";
    auth_basic_user_file ../html/htpasswd;
    intercom_oauth_require /connect;
}
--- user_files
>>> app
app
>>> htpasswd
alice:{PLAIN}secret
--- request
GET /app
--- more_headers eval: session_cookie()
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="site"
Content-Type: application/json
--- response_body_like: ^\{"error":"not_connected"



=== TEST 30: satisfy any with auth_basic: the password is enough
--- http_config eval: $::HTTP
--- config
location = /app {
    satisfy any;
    auth_basic "site";
    auth_basic_user_file ../html/htpasswd;
    intercom_oauth_require /connect;
}
--- user_files
>>> app
app
>>> htpasswd
alice:{PLAIN}secret
--- request
GET /app
--- more_headers eval
session_cookie() . "\nAuthorization: Basic " . MIME::Base64::encode_base64('alice:secret', '')
--- error_code: 200
--- response_body
app



=== TEST 31: intercom_oauth_check behind auth_request: 401 without a token, through with one
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; }
location = /_check { internal; intercom_oauth_check; }
location = /app { auth_request /_check; }
--- user_files
>>> app
app
--- request eval
["GET /app", callback_request(code => 'code-t31', state => make_state()), "GET /app"]
--- more_headers eval: session_cookie()
--- error_code eval
[401, 302, 200]
--- response_body_like eval
[qr/401 Authorization Required/, qr/302 Found/, qr/^app$/]



=== TEST 32: intercom_oauth_check asked directly: 401 JSON, then 204
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; }
location = /check { intercom_oauth_check; }
--- request eval
["GET /check", callback_request(code => 'code-t32', state => make_state()), "GET /check"]
--- more_headers eval: session_cookie()
--- error_code eval
[401, 302, 204]
--- response_headers eval
["Content-Type: application/json\nCache-Control: no-store", "", "Cache-Control: no-store"]
--- response_body eval
[qq{{"error":"not_connected","message":"Connect with Intercom first"}\n}, qr/302 Found/, ""]



=== TEST 33: intercom_oauth_check needs a client id
--- http_config eval
(my $c = $::HTTP) =~ s/^\s*intercom_oauth_client_id .*\n//m;
$c;
--- config
location = /check { intercom_oauth_check; }
--- must_die
--- error_log
"intercom_oauth_check" needs "intercom_oauth_client_id"



=== TEST 34: a POST from another site (Sec-Fetch-Site) to a guarded location is refused, connected or not
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; }
location = /form { intercom_oauth_require; proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/posted; }
location = /posted { return 200 "posted\n"; }
--- request eval
["POST /form\na=1", callback_request(code => 'code-t34', state => make_state()), "POST /form\na=1", "GET /form"]
--- more_headers eval
session_cookie() . "\nSec-Fetch-Site: cross-site"
--- error_code eval
[403, 302, 403, 200]
--- response_body_like eval
[qr/403 Forbidden/, qr/302 Found/, qr/403 Forbidden/, qr/^posted$/]



=== TEST 35: ... and logs why, once
--- request
DELETE /form
--- more_headers eval
session_cookie() . "\nSec-Fetch-Site: same-site"
--- error_code: 403
--- grep_error_log eval
qr/intercom oauth: DELETE "\/form" refused: sent from another site \(Sec-Fetch-Site: same-site\)/
--- grep_error_log_out
intercom oauth: DELETE "/form" refused: sent from another site (Sec-Fetch-Site: same-site)



=== TEST 36: a same-origin POST of a connected browser goes through
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; }
location = /form { intercom_oauth_require; proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/posted; }
location = /posted { return 200 "posted\n"; }
--- request eval
[callback_request(code => 'code-t36', state => make_state()), "POST /form\na=1"]
--- more_headers eval
session_cookie() . "\nSec-Fetch-Site: same-origin\nOrigin: https://elsewhere.example"
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^posted$/]



=== TEST 37: without Sec-Fetch-Site, an Origin of another host, or "null", is refused; this host's, or none, is not
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /callback { intercom_oauth_callback; }
location = /form { intercom_oauth_require; proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/posted; }
location = /posted { return 200 "posted\n"; }
--- request eval
[callback_request(code => 'code-t37', state => make_state()),
 "POST /form\na=1", "POST /form\na=1", "POST /form\na=1", "POST /form\na=1"]
--- more_headers eval
[session_cookie(),
 session_cookie() . "\nOrigin: https://evil.example",
 session_cookie() . "\nOrigin: null",
 session_cookie() . "\nOrigin: http://localhost",
 session_cookie()]
--- error_code eval
[302, 403, 403, 200, 200]



=== TEST 38: $intercom_oauth_authorize_url in an SSI include: warned once per worker
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /page.html { ssi on; }
location = /url { return 200 "$intercom_oauth_authorize_url\n"; }
--- user_files
>>> page.html
<!--# include virtual="/url" --><!--# include virtual="/url" -->
--- request
GET /page.html
--- error_code: 200
--- response_body_like: ^https://app\.intercom\.com/oauth\?client_id=test-client&state=\S+\nhttps://app\.intercom\.com/oauth\?client_id=test-client&state=
--- grep_error_log eval
qr/"\$intercom_oauth_authorize_url" evaluated in a subrequest/
--- grep_error_log_out
"$intercom_oauth_authorize_url" evaluated in a subrequest



=== TEST 39: the documented fix: evaluated with "set" in the page's location, the cookie is set and nothing is warned
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /page.html { ssi on; set $authorize_url $intercom_oauth_authorize_url; }
--- user_files
>>> page.html
<a href="<!--# echo var="authorize_url" -->">Connect</a>
--- request
GET /page.html
--- error_code: 200
--- response_headers_like
Set-Cookie: intercom_oauth_sid=[A-Za-z0-9_-]{22}; Path=/; Secure; HttpOnly; SameSite=Lax
--- response_body_like: ^<a href="https://app\.intercom\.com/oauth\?client_id=test-client&amp;state=
--- no_error_log
evaluated in a subrequest



=== TEST 40: a redirect_uri that turns out http:// at run time is warned, naming the directive and X-Forwarded-Proto
--- log_level: info
--- http_config eval
(my $c = $::HTTP) =~ s{intercom_oauth_redirect_uri\s+\S+;}{intercom_oauth_redirect_uri \$scheme://\$host/callback;};
$c;
--- config
location = /connect { intercom_connect_button redirect; }
--- request
GET /connect
--- more_headers eval: session_cookie()
--- error_code: 302
--- response_headers_like
Location: https://app\.intercom\.com/oauth\?client_id=test-client&state=\S+&redirect_uri=http%3A%2F%2Flocalhost%2Fcallback
--- error_log eval
[qr/\[warn\] .*"intercom_oauth_redirect_uri" evaluated to an http:\/\/ URI, which Intercom does not accept: .*X-Forwarded-Proto \(a map on \$http_x_forwarded_proto\)/]



=== TEST 41: ... once per worker, not per request
--- request
GET /connect
--- more_headers eval: session_cookie()
--- error_code: 302
--- grep_error_log eval
qr/"intercom_oauth_redirect_uri" evaluated to an http:\/\/ URI/
--- grep_error_log_out
"intercom_oauth_redirect_uri" evaluated to an http:// URI



=== TEST 42: the documented fix: the scheme from X-Forwarded-Proto
--- log_level: info
--- http_config eval
(my $c = $::HTTP) =~ s{intercom_oauth_redirect_uri\s+\S+;}{intercom_oauth_redirect_uri \$redirect_scheme://\$host/callback;};
$c . <<'_EOC_';
    map $http_x_forwarded_proto $redirect_scheme {
        default  $scheme;
        https    https;
    }
_EOC_
--- config
location = /connect { intercom_connect_button redirect; }
--- request
GET /connect
--- more_headers eval
session_cookie() . "\nX-Forwarded-Proto: https"
--- error_code: 302
--- response_headers_like
Location: https://app\.intercom\.com/oauth\?client_id=test-client&state=\S+&redirect_uri=https%3A%2F%2Flocalhost%2Fcallback
--- no_error_log
evaluated to an http://



=== TEST 43: with a store: the callback keeps the token in Redis
--- http_config eval: $::HTTP . $::STORE
--- config
location = /callback { intercom_oauth_callback; }
--- request eval
callback_request(code => 'code-t43', state => make_state())
--- more_headers eval: session_cookie()
--- error_code: 302



=== TEST 44: with a store, a new nginx: the token is loaded for the key auth_request_set gives, before the guard
--- http_config eval: $::HTTP . $::STORE
--- config
location = /_auth { internal; return 204; }
location = /app {
    auth_request /_auth;
    auth_request_set $user_key $cookie_intercom_oauth_sid;
    intercom_oauth_key $user_key;
    intercom_oauth_require;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/token;
}
location = /token { return 200 "[$intercom_oauth_connected]\n"; }
--- request
GET /app
--- more_headers eval: session_cookie()
--- error_code: 200
--- response_body
[1]



=== TEST 45: with a store, satisfy any: the access phase loads the token for the key auth_request_set gives
--- http_config eval: $::HTTP . $::STORE
--- config
location = /_auth { internal; return 401; }
location = /app {
    satisfy any;
    auth_request /_auth;
    auth_request_set $user_key $cookie_intercom_oauth_sid;
    intercom_oauth_key $user_key;
    intercom_oauth_require;
}
--- user_files
>>> app
app
--- request eval
["GET /app", "GET /app"]
--- more_headers eval
[session_cookie(), session_cookie($OTHER_SID)]
--- error_code eval
[200, 401]



=== TEST 46: under satisfy any too, a POST from another site is refused; OPTIONS is not checked
--- log_level: info
--- http_config eval: $::HTTP
--- config
location = /form {
    satisfy any;
    allow 127.0.0.1;
    deny all;
    intercom_oauth_require /connect;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/posted;
}
location = /posted { return 200 "posted\n"; }
--- request eval
["POST /form\na=1", "OPTIONS /form", "POST /form\na=1"]
--- more_headers eval
[session_cookie() . "\nSec-Fetch-Site: cross-site",
 session_cookie() . "\nSec-Fetch-Site: cross-site",
 session_cookie() . "\nSec-Fetch-Site: same-origin"]
--- error_code eval
[403, 200, 200]
--- response_body_like eval
[qr/403 Forbidden/, qr/^posted$/, qr/^posted$/]



=== TEST 47: a callback nginx refuses while reading its headers (a cookie too large): the access log shows no code
--- http_config eval: $::HTTP
--- config
large_client_header_buffers 4 1k;
location = /callback { intercom_oauth_callback; }
--- request eval
callback_request(code => 'code-t47-secret', state => make_state())
--- more_headers eval
"Cookie: bomb=" . ('x' x 1500)
--- error_code: 400
--- response_body_like: Request Header Or Cookie Too Large
--- access_log
"GET /callback?[oauth arguments withheld] HTTP/1.1" 400
--- no_access_log eval
["code-t47-secret", @::Secrets]



=== TEST 48: ... nor the values of a callback sent elsewhere
--- http_config eval: $::HTTP
--- config
large_client_header_buffers 4 1k;
--- request eval
callback_request(path => '/elsewhere', code => 'code-t48-secret', state => make_state())
--- more_headers eval
"Cookie: bomb=" . ('x' x 1500)
--- error_code: 400
--- access_log
"GET /elsewhere?code=[withheld]&state=[withheld] HTTP/1.1" 400
--- no_access_log eval
["code-t48-secret", @::Secrets]
