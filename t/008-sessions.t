# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Sessions: the session cookie's name and its prefix rules, a name sent
# twice, the tokens of a replaced session, the "_prev" cookie that lets a
# second tab finish, and tokens bound to their server's name (realm).
#
# The blocks run without intercom_oauth_key, so that the session cookie
# is the key and the callback replaces it, and with the default cookie
# name, $COOKIE ("__Host-intercom_oauth_sid").  A token is put under a
# session id of the block's choosing through /seed, a callback whose key
# is the X-Key header (no rotation there); the state it checks is still
# the session cookie's.  Following the cookies a callback sets, request
# after request, is t/system/016-sessions.t's.

use lib 't/lib';
use IntercomOAuthTest;
use Digest::SHA qw(hmac_sha256_hex);
use Test::Nginx::Socket 'no_plan';

no_shuffle();

# $HTTP_CONFIG without its cookie name and its key: the defaults
our $Http = $HTTP_CONFIG =~ s{\s*intercom_oauth_(?:session_cookie|key)\s+[^;]+;}{}gr;

our $Locations = <<'_EOC_';
location = /connect { intercom_connect_button; }
location = /callback { intercom_oauth_callback; intercom_oauth_success_uri /home; }
location = /seed { intercom_oauth_callback; intercom_oauth_key $http_x_key; }
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
location = /status { intercom_oauth_status; }
_EOC_

# a token under the X-Key session id, of another client id
our $Other = <<'_EOC_';
location = /seed2 {
    intercom_oauth_callback;
    intercom_oauth_key $http_x_key;
    intercom_oauth_client_id other-client;
    intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/echo/auth/eagle/token;
    intercom_oauth_fetch_identity off;
}
location = /token2 {
    intercom_oauth_client_id other-client;
    return 200 "[$intercom_oauth_connected][$intercom_access_token]\n";
}
_EOC_

# a second virtual host on the same port, sharing the zone and client id
our $HostB = <<'_EOC_';
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name hostb;
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
    }
_EOC_

# a token can be put on host B too
our $HostBSeed = $HostB =~ s{(server_name hostb;)}{$1
        location = /seed { intercom_oauth_callback; intercom_oauth_key \$http_x_key; }}r;

# the stand-in's /me says the tokens are of workspace abc12def
our $Uninstall = '{"app_id":"abc12def"}';
our $UninstallSig = hmac_sha256_hex($Uninstall, 'test-secret');

our $NEW = 'bmV3LXNlc3Npb24taWQtMA';     # the id a rotation gave the browser

# ids a browser's session replaced before
our @Replaced = qw(cmVwbGFjZWQtaWQtMS1hYg cmVwbGFjZWQtaWQtMi1hYg
                   cmVwbGFjZWQtaWQtMy1hYg);

our $S = make_state();

sub cookies { "Cookie: " . join('; ', map { "$COOKIE=$_" } @_) }

sub with_prev {
    my ($sid, %o) = @_;
    return "Cookie: $COOKIE=$sid; ${COOKIE}_prev=" . make_prev(sid => $sid, %o);
}

# the module's own lines, info and above, without the request's context
our $ModuleLines = qr/\[(?:info|notice|warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?\Kintercom oauth: [^,\n]*/;

block_defaults(http_config => $Http, config => $Locations);

run_tests();

__DATA__

=== TEST 1: the default session cookie is named __Host-intercom_oauth_sid
Its attributes (Secure, Path=/, no Domain) allow the prefix, with which a
browser keeps only a cookie the host itself set over HTTPS: a sibling
subdomain or a plain-HTTP answer cannot plant a session.
--- request
GET /connect
--- error_code: 200
--- response_headers_like
Set-Cookie: __Host-intercom_oauth_sid=[A-Za-z0-9_-]{22}; Path=/; Secure; HttpOnly; SameSite=Lax



=== TEST 2: the callback reads the session from the default name
--- more_headers eval: ::cookies($SID)
--- request eval: callback_request(code => 'c2', state => $::S)
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/home



=== TEST 3: the callback does not read the session from the name of 0.1.0
--- more_headers eval: "Cookie: intercom_oauth_sid=$SID"
--- request eval: callback_request(code => 'c3', state => $::S)
--- error_code: 403
--- response_body_like: <code>state_invalid</code> \(403\)
--- error_log
state refused: no session cookie "__Host-intercom_oauth_sid"



=== TEST 4: a __Host- name with another Path fails nginx -t
--- config
intercom_oauth_session_cookie __Host-sid "Path=/app; Secure; HttpOnly";
location = /connect { intercom_connect_button; }
--- must_die
--- error_log
"intercom_oauth_session_cookie" "__Host-sid": a cookie named "__Host-..." must have "Secure" and "Path=/" and no "Domain", or browsers refuse it



=== TEST 5: a __Host- name with a Domain fails nginx -t
--- config
intercom_oauth_session_cookie __Host-sid "Path=/; Secure; HttpOnly; Domain=example.com";
location = /connect { intercom_connect_button; }
--- must_die
--- error_log
"intercom_oauth_session_cookie" "__Host-sid": a cookie named "__Host-..." must have "Secure" and "Path=/" and no "Domain", or browsers refuse it



=== TEST 6: a __Host- name without Secure fails nginx -t
--- config
intercom_oauth_session_cookie __Host-sid "Path=/; HttpOnly; SameSite=Lax";
location = /connect { intercom_connect_button; }
--- must_die
--- error_log
"intercom_oauth_session_cookie" "__Host-sid": a cookie named "__Host-..." must have "Secure" and "Path=/" and no "Domain", or browsers refuse it



=== TEST 7: a __Host- name without a Path fails nginx -t (browsers default it to the request's directory)
--- config
intercom_oauth_session_cookie __Host-sid "Secure; HttpOnly";
location = /connect { intercom_connect_button; }
--- must_die
--- error_log
"intercom_oauth_session_cookie" "__Host-sid": a cookie named "__Host-..." must have "Secure" and "Path=/" and no "Domain", or browsers refuse it



=== TEST 8: the prefix is matched without regard to case, as browsers do, and the last Path counts
--- config
intercom_oauth_session_cookie __HOST-sid "path=/; secure; path=/app";
location = /connect { intercom_connect_button; }
--- must_die
--- error_log
"intercom_oauth_session_cookie" "__HOST-sid": a cookie named "__Host-..." must have "Secure" and "Path=/" and no "Domain", or browsers refuse it



=== TEST 9: a __Secure- name without Secure fails nginx -t
--- config
intercom_oauth_session_cookie __Secure-sid "Path=/; HttpOnly";
location = /connect { intercom_connect_button; }
--- must_die
--- error_log
"intercom_oauth_session_cookie" "__Secure-sid": a cookie named "__Secure-..." must be "Secure", or browsers refuse it



=== TEST 10: a __Secure- name needs only Secure: a Domain and another Path are allowed
--- config
intercom_oauth_session_cookie __Secure-sid "Domain=example.com; Path=/app; Secure";
location = /connect { intercom_connect_button; }
--- request
GET /connect
--- error_code: 200
--- response_headers_like
Set-Cookie: __Secure-sid=[A-Za-z0-9_-]{22}; Domain=example.com; Path=/app; Secure



=== TEST 11: a __Host- name without attributes gets the default ones, which satisfy it
--- config
intercom_oauth_session_cookie __Host-shop;
location = /connect { intercom_connect_button; }
--- request
GET /connect
--- error_code: 200
--- response_headers_like
Set-Cookie: __Host-shop=[A-Za-z0-9_-]{22}; Path=/; Secure; HttpOnly; SameSite=Lax



=== TEST 12: the name sent twice, neither holding a token: the first well-formed one is the session
--- more_headers eval: ::cookies($SID, $OTHER_SID)
--- request eval: callback_request(code => 'c11', state => $::S)
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/home
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out eval
qr/\Aintercom oauth: session cookie "__Host-intercom_oauth_sid" is repeated with different values\n/



=== TEST 13: the name sent twice: the one holding a token is the session, for the token and for the callback
The token is under the second value: /token reads it, and a state minted
for that session (as the connect page mints it for that browser) completes.
--- request eval
[callback_request(path => '/seed', code => 'c12', state => $::S),
 "GET /token", "GET /token",
 callback_request(code => 'c12b', state => make_state(sid => $OTHER_SID))]
--- more_headers eval
["X-Key: $OTHER_SID\n" . ::cookies($SID),
 ::cookies($SID, $OTHER_SID), ::cookies($SID),
 ::cookies($SID, $OTHER_SID)]
--- error_code eval
[302, 200, 200, 302]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/, qr/^\[0\]\[\]$/, qr/302 Found/]



=== TEST 14: a malformed value beside a well-formed one: the well-formed one is the session
--- more_headers eval
"Cookie: $COOKIE=not-a-session; $COOKIE=$SID"
--- request eval: callback_request(code => 'c13', state => $::S)
--- error_code: 302



=== TEST 15: no lock-out: a connect page given the name twice keeps the session instead of minting one the other cookie hides
--- more_headers eval: ::cookies($OTHER_SID, $SID)
--- request
GET /connect
--- error_code: 200
--- response_headers
!Set-Cookie



=== TEST 16: one browser, one token: a callback that replaces the session deletes the old session's token
--- request eval
[callback_request(path => '/seed', code => 'c15', state => make_state()),
 "GET /token",
 callback_request(code => 'c15b', state => make_state()),
 "GET /token", "GET /status"]
--- more_headers eval
["X-Key: $SID\n" . ::cookies($SID), ::cookies($SID), ::cookies($SID),
 ::cookies($SID), ""]
--- error_code eval
[302, 200, 302, 200, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/, qr/302 Found/, qr/^\[0\]\[\]$/,
 qr/"tokens":\{"stored":2,"evicted":0,"deleted":1\}/]



=== TEST 17: one browser, one token: for every client id configured
--- config eval: $::Locations . $::Other
--- request eval
[callback_request(path => '/seed', code => 'c16', state => make_state()),
 callback_request(path => '/seed2', code => 'c16b',
                  state => make_state(client_id => 'other-client')),
 "GET /token2",
 callback_request(code => 'c16c', state => make_state()),
 "GET /token", "GET /token2", "GET /status"]
--- more_headers eval
["X-Key: $SID\n" . ::cookies($SID), "X-Key: $SID\n" . ::cookies($SID),
 ::cookies($SID), ::cookies($SID), ::cookies($SID), ::cookies($SID), ""]
--- error_code eval
[302, 302, 200, 302, 200, 200, 200]
--- response_body_like eval
[qr/302 Found/, qr/302 Found/, qr/^\[1\]\[echo\]$/, qr/302 Found/,
 qr/^\[0\]\[\]$/, qr/^\[0\]\[\]$/,
 qr/"tokens":\{"stored":3,"evicted":0,"deleted":2\}/]



=== TEST 18: a replacing callback sets the new session and <name>_prev: the replaced id, bound to the new one, for the states' lifetime
--- more_headers eval: ::cookies($SID)
--- request eval: callback_request(code => 'c17', state => $::S)
--- error_code: 302
--- raw_response_headers_like eval
qr/\r\nSet-Cookie: __Host-intercom_oauth_sid=(?!\Q$SID\E)[A-Za-z0-9_-]{22}; Path=\/; Secure; HttpOnly; SameSite=Lax\r\nSet-Cookie: __Host-intercom_oauth_sid_prev=\Q$SID\E\.[A-Za-z0-9_-]{22}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=600\r\n/



=== TEST 19: two tabs: a state minted for the replaced session completes from the browser holding its successor and a valid _prev
The new _prev lists the id just replaced, then the ones before it.
--- more_headers eval: ::with_prev($::NEW, ids => [$SID])
--- request eval: callback_request(code => 'c18', state => $::S)
--- error_code: 302
--- response_headers_like
Location: http://localhost(:\d+)?/home
--- raw_response_headers_like eval
qr/\r\nSet-Cookie: __Host-intercom_oauth_sid_prev=\Q$::NEW\E\.\Q$SID\E\.[A-Za-z0-9_-]{22}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=600\r\n/
--- error_log
the state belongs to a session this browser's session replaced (another tab)



=== TEST 20: two tabs: the fourth id a _prev lists is accepted too
--- more_headers eval
::with_prev($::NEW, ids => [@::Replaced, $SID])
--- request eval: callback_request(code => 'c19', state => $::S)
--- error_code: 302



=== TEST 21: a forged _prev (not signed with the state secret) is ignored: 403 state_invalid
--- more_headers eval
::with_prev($::NEW, ids => [$SID], secret => 'not-the-state-secret-0123456789')
--- request eval: callback_request(code => 'c20', state => $::S)
--- error_code: 403
--- response_body_like: <code>state_invalid</code> \(403\)
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out
intercom oauth: cookie "__Host-intercom_oauth_sid_prev" does not belong to this browser's session
intercom oauth: state refused: signature does not match this browser session and client id



=== TEST 22: a _prev bound to another session (copied from another browser, or planted) is ignored: 403 state_invalid
--- more_headers eval
"Cookie: $COOKIE=$::NEW; ${COOKIE}_prev=" . make_prev(sid => $OTHER_SID, ids => [$SID])
--- request eval: callback_request(code => 'c21', state => $::S)
--- error_code: 403
--- response_body_like: <code>state_invalid</code> \(403\)
--- error_log
does not belong to this browser's session



=== TEST 23: a _prev whose ids are not well-formed is ignored
--- more_headers eval
::with_prev($::NEW, ids => ["$SID!"])
--- request eval: callback_request(code => 'c22', state => $::S)
--- error_code: 403
--- response_body_like: <code>state_invalid</code> \(403\)



=== TEST 24: _prev is never a key: the replaced session's token is not this browser's
--- request eval
[callback_request(path => '/seed', code => 'c23', state => $::S), "GET /token"]
--- more_headers eval
["X-Key: $SID\n" . ::cookies($SID), ::with_prev($::NEW, ids => [$SID])]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[0\]\[\]$/]



=== TEST 25: a state of a replaced session that expired is refused as expired
--- more_headers eval: ::with_prev($::NEW, ids => [$SID])
--- request eval: callback_request(code => 'c24', state => make_state(age => 601))
--- error_code: 403
--- response_body_like: <code>state_expired</code> \(403\)



=== TEST 26: the callback URL replayed by the browser that completed it: state_replayed
Its _prev names the session the state was minted for, so the state's
signature matches, and its single use refuses it.
--- request eval
my $s = make_state();
[callback_request(code => 'c25', state => $s), callback_request(code => 'c25', state => $s)]
--- more_headers eval
[::cookies($SID), ::with_prev($::NEW, ids => [$SID])]
--- error_code eval
[302, 403]
--- response_body_like eval
[qr/302 Found/, qr/<code>state_replayed<\/code> \(403\)/]



=== TEST 27: virtual hosts: a session of one server is not connected on another that shares the zone and the client id
--- http_config eval: $::Http . $::HostB
--- request eval
[callback_request(path => '/seed', code => 'c26', state => $::S), "GET /token", "GET /token"]
--- more_headers eval
["X-Key: $SID\n" . ::cookies($SID), ::cookies($SID), "Host: hostb\n" . ::cookies($SID)]
--- error_code eval
[302, 200, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/, qr/^\[0\]\[\]$/]



=== TEST 28: virtual hosts: servers that name the same intercom_oauth_realm share tokens
--- http_config eval
$::Http . ($::HostB =~ s/server_name hostb;/server_name hostb; intercom_oauth_realm shop;/r)
--- config eval: "intercom_oauth_realm shop;\n" . $::Locations
--- request eval
[callback_request(path => '/seed', code => 'c27', state => $::S), "GET /token", "GET /token"]
--- more_headers eval
["X-Key: $SID\n" . ::cookies($SID), ::cookies($SID), "Host: hostb\n" . ::cookies($SID)]
--- error_code eval
[302, 200, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[(\S+)\]$/, qr/^\[1\]\[\S+\]$/]



=== TEST 29: virtual hosts: intercom_oauth_realm at the http level: every server shares tokens
--- http_config eval: $::Http . "intercom_oauth_realm shop;\n" . $::HostB
--- request eval
[callback_request(path => '/seed', code => 'c28', state => $::S), "GET /token"]
--- more_headers eval
["X-Key: $SID\n" . ::cookies($SID), "Host: hostb\n" . ::cookies($SID)]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 30: virtual hosts: a server named otherwise, in a realm of its own, does not share them
--- http_config eval
$::Http . ($::HostB =~ s/server_name hostb;/server_name hostb; intercom_oauth_realm other;/r)
--- config eval: "intercom_oauth_realm shop;\n" . $::Locations
--- request eval
[callback_request(path => '/seed', code => 'c29', state => $::S), "GET /token"]
--- more_headers eval
["X-Key: $SID\n" . ::cookies($SID), "Host: hostb\n" . ::cookies($SID)]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[0\]\[\]$/]



=== TEST 31: intercom_oauth_realm is for http and server: a location cannot name its own
--- config
location = /token { intercom_oauth_realm shop; return 200; }
--- must_die
--- error_log
"intercom_oauth_realm" directive is not allowed here



=== TEST 32: a realm longer than 256 bytes fails nginx -t
--- config eval: "intercom_oauth_realm " . ('r' x 257) . ";\n" . $::Locations
--- must_die
--- error_log
is longer than 256 bytes: set a shorter "intercom_oauth_realm"



=== TEST 33: the uninstall webhook deletes the workspace's tokens in every realm
The workspace removed the app: none of its tokens is any good, whichever
server keeps it.  (Intercom's /me answers 401 here, as after an uninstall:
the webhook asks it before it deletes.)
--- http_config eval: $::Http . $::HostBSeed
--- config eval: $::Locations . "location = /webhook { intercom_oauth_uninstall_webhook; intercom_oauth_api_url https://127.0.0.1:\$TEST_NGINX_STANDIN_PORT/behave/401; }\n"
--- request eval
[callback_request(path => '/seed', code => 'c33', state => $::S),
 callback_request(path => '/seed', code => 'c33b', state => make_state()),
 "GET /token", "POST /webhook\n$::Uninstall", "GET /token", "GET /token"]
--- more_headers eval
["X-Key: $SID\n" . ::cookies($SID), "Host: hostb\nX-Key: $SID\n" . ::cookies($SID),
 "Host: hostb\n" . ::cookies($SID),
 "Content-Type: application/json\nX-Body-Signature: $::UninstallSig",
 ::cookies($SID), "Host: hostb\n" . ::cookies($SID)]
--- error_code eval
[302, 302, 200, 200, 200, 200]
--- response_body_like eval
[qr/302 Found/, qr/302 Found/, qr/^\[1\]\[\S+\]$/, qr/^\{"deleted":2\}$/,
 qr/^\[0\]\[\]$/, qr/^\[0\]\[\]$/]



=== TEST 34: no lock-out: malformed values take no room, however many precede the site's own
--- more_headers eval
"Cookie: " . CORE::join('; ', map({ "$COOKIE=junk-$_" } 1 .. 40), "$COOKIE=$SID")
--- request eval: callback_request(code => 'c34', state => $::S)
--- error_code: 302
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out eval
qr/\Aintercom oauth: session cookie "__Host-intercom_oauth_sid" is repeated with different values\n/



=== TEST 35: intercom_oauth_key under a regular-expression server_name: one realm for many hosts, said at start
Every tenant host of such a server shares one realm: equal keys of two
tenants ($remote_user "admin" on each) would share a token.
--- http_config eval
$::Http . <<'_EOC_'
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name ~^(?<tenant>[a-z0-9]+)\.tenants\.test$;
        location = /cb { intercom_oauth_callback; intercom_oauth_key $http_x_user; }
    }
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name *.wild.test;
        location = /cb { intercom_oauth_callback; intercom_oauth_key $http_x_user; }
    }
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name ~^(?<t2>[a-z0-9]+)\.named\.test$;
        intercom_oauth_realm named.test;
        location = /cb { intercom_oauth_callback; intercom_oauth_key $http_x_user; }
    }
_EOC_
--- config eval: $::Locations
--- request
GET /connect
--- error_code: 200
--- error_log eval
[qr/"intercom_oauth_key" in a server whose first "server_name" "~\^\(\?<tenant>\[a-z0-9\]\+\)\\\.tenants\\\.test\$" matches many hosts: they share one realm/,
 qr/"intercom_oauth_key" in a server whose first "server_name" "\*\.wild\.test" matches many hosts/]
--- no_error_log
named\.test\$" matches many hosts
