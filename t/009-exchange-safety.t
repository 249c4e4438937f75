# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Where the exchange meets hostile or unusual peers (issue 15, items 6, 7
# and 10):
#
#   - disconnect from a page served with "Referrer-Policy: no-referrer":
#     the browser sends "Origin: null", accepted only with
#     "Sec-Fetch-Site: same-origin" (TEST 1-8);
#   - a token endpoint whose answer is over the 64 KiB cap, by its
#     Content-Length or by a chunked body that keeps growing, and that then
#     sends nothing: 502 at once, not 504 after intercom_oauth_timeout,
#     with either call engine (TEST 9, 10);
#   - a state whose code the token endpoint refuses or did not look at (a
#     4xx, 408 and 429 included) is released, and the browser can use it
#     again; an outcome that leaves the code's fate unknown (5xx, a
#     timeout, no connection, an answer over the cap, an error list with
#     200) keeps it spent (TEST 11-18).
#
# The heavy side of the last item (50,000 junk pairs through /connect, a
# 64k zone, browsers that hang up mid-exchange, Redis) is
# t/system/017-junk-codes.t.

use lib 't/lib';
use IntercomOAuthTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();

# the module's own lines, info and above, without the request's context
our $ModuleLines = qr/\[(?:info|notice|warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?\Kintercom(?:_oauth_zone| oauth:) [^,\n]*/;

# A refused callback goes to /after through error_page (without "=", so
# the status stays), which prints the error code and the key's token.
# /callback-NAME's token endpoint is the stand-in's behaviour NAME.
our $Locations = <<'_EOC_' . $SEEN_LOCATION;
location = /callback { intercom_oauth_callback; error_page 403 502 504 /after; }
location = /callback-401 {
    intercom_oauth_callback;
    intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/401/auth/eagle/token;
    error_page 403 502 504 /after;
}
location = /callback-500 {
    intercom_oauth_callback;
    intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/500/auth/eagle/token;
    error_page 403 502 504 /after;
}
location = /callback-429 {
    intercom_oauth_callback;
    intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/429/auth/eagle/token;
    error_page 403 502 504 /after;
}
location = /callback-big {
    intercom_oauth_callback;
    intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/big/auth/eagle/token;
    error_page 403 502 504 /after;
}
location = /callback-error-list {
    intercom_oauth_callback;
    intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/error-list-200/auth/eagle/token;
    error_page 403 502 504 /after;
}
location = /callback-slow {
    intercom_oauth_callback;
    intercom_oauth_token_url https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/behave/slow-3000/auth/eagle/token;
    intercom_oauth_timeout 500ms;
    error_page 403 502 504 /after;
}
location = /callback-refused {
    intercom_oauth_callback;
    intercom_oauth_token_url https://127.0.0.1:1/auth/eagle/token;
    error_page 403 502 504 /after;
}
location = /after {
    return 200 "$intercom_oauth_error [$intercom_oauth_connected]\n";
}
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
location = /disconnect { intercom_oauth_disconnect /bye; }
location = /status { intercom_oauth_status; }
_EOC_

# every block: the callback configuration, these locations, the session
# cookie, one callback with a fresh state
callback_blocks($Locations);

# one state, spent twice: the same callback URL sent again by the same
# browser (a reload of the page, a second tab)
our $State = make_state();

sub twice {
    my ($first, $second, $code) = @_;
    return [callback_request(path => $first, code => 'junk-1', state => $State),
            callback_request(path => $second, code => $code || 'junk-2',
                             state => $State)];
}

run_tests();

__DATA__

=== TEST 1: a form on a no-referrer page (Origin: null, Sec-Fetch-Site: same-origin) disconnects
--- request eval
[callback_request(code => 'dc-null', state => make_state()),
 "POST /disconnect", "GET /token", "GET /seen"]
--- more_headers eval
session_cookie() . "\nOrigin: null\nSec-Fetch-Site: same-origin"
--- error_code eval
[302, 303, 200, 200]
--- response_body_like eval
[qr/302/, qr/303/, qr/^\[0\]\[\]$/,
 qr#"method":"POST","path":"/auth/uninstall","headers":\{[^}]*"Authorization":"Bearer dG9rO[^"]+"#]



=== TEST 2: ... and logs what a disconnect logs, nothing about the origin
--- request
POST /disconnect
--- more_headers eval
session_cookie() . "\nOrigin: null\nSec-Fetch-Site: same-origin"
--- error_code: 303
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out
intercom oauth: disconnect: this key has no token: nothing deleted



=== TEST 3: Origin: null from a sibling subdomain (Sec-Fetch-Site: same-site) is refused, one line
--- request
POST /disconnect
--- more_headers eval
session_cookie() . "\nOrigin: null\nSec-Fetch-Site: same-site"
--- error_code: 403
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out
intercom oauth: disconnect refused: Origin is "null" and Sec-Fetch-Site does not say same-origin



=== TEST 4: Origin: null from another site (Sec-Fetch-Site: cross-site) is refused
--- request
POST /disconnect
--- more_headers eval
session_cookie() . "\nOrigin: null\nSec-Fetch-Site: cross-site"
--- error_code: 403
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out
intercom oauth: disconnect refused: Origin is "null" and Sec-Fetch-Site does not say same-origin



=== TEST 5: Origin: null without Sec-Fetch-Site (an older browser, a sandboxed frame) is refused
--- request
POST /disconnect
--- more_headers eval
session_cookie() . "\nOrigin: null"
--- error_code: 403
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out
intercom oauth: disconnect refused: Origin is "null" and Sec-Fetch-Site does not say same-origin



=== TEST 6: Origin: null with Sec-Fetch-Site: none (no page sent it) is refused
--- request
POST /disconnect
--- more_headers eval
session_cookie() . "\nOrigin: null\nSec-Fetch-Site: none"
--- error_code: 403
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out
intercom oauth: disconnect refused: Origin is "null" and Sec-Fetch-Site does not say same-origin



=== TEST 7: Origin: null with two Sec-Fetch-Site headers, or a spelling a browser never sends, is refused
--- request eval
["POST /disconnect", "POST /disconnect"]
--- more_headers eval
[session_cookie() . "\nOrigin: null\nSec-Fetch-Site: same-origin\nSec-Fetch-Site: cross-site",
 session_cookie() . "\nOrigin: null\nSec-Fetch-Site: Same-Origin"]
--- error_code eval
[403, 403]
--- error_log
disconnect refused: Origin is "null" and Sec-Fetch-Site does not say same-origin



=== TEST 8: a refused disconnect deletes nothing: the token is still there
--- request eval
[callback_request(code => 'dc-kept', state => make_state()),
 "POST /disconnect", "GET /token"]
--- more_headers eval
session_cookie() . "\nOrigin: null\nSec-Fetch-Site: same-site"
--- error_code eval
[302, 403, 200]
--- response_body_like eval
[qr/302/, qr/403/, qr/^\[1\]\[dG9rO[A-Za-z0-9+\/=_-]+\]$/]



=== TEST 9: a Content-Length over the cap, then nothing: 502 when the header arrives, not 504 after 30 s
With intercom_oauth_timeout 30s and the client's timeout 5 s, only an
answer that comes when the header does passes.
--- behave: big-length-stall
--- timeout_directive: intercom_oauth_timeout 30s;
--- timeout: 5
--- error_code: 502
--- response_body
exchange_failed [0]
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out eval
qr/^intercom oauth: token exchange with "[^"]+" failed: response larger than 65536 bytes\n$/



=== TEST 10: a chunked body that grows past the cap, then nothing: 502 as soon as it does
The stand-in sends 96 KiB, less than the test's subrequest_output_buffer_size
(128k): only the module's own cap stops it.
--- behave: big-chunked-stall
--- timeout_directive: intercom_oauth_timeout 30s;
--- timeout: 5
--- error_code: 502
--- response_body
exchange_failed [0]
--- grep_error_log eval: $::ModuleLines
--- grep_error_log_out eval
qr/^intercom oauth: token exchange with "[^"]+" failed: response larger than 65536 bytes\n$/



=== TEST 11: the token endpoint refuses the code (401): the state is released, and the browser can finish with it
--- request eval
[@{ main::twice('/callback-401', '/callback', 'good-code') }, "GET /token", "GET /status"]
--- error_code eval
[502, 302, 200, 200]
--- response_body_like eval
[qr/^exchange_failed \[0\]$/, qr/302/, qr/^\[1\]\[dG9rO/,
 qr/"zone_full":0,.*"zone":\{"name":"intercom","tokens":1,"states":1,/]



=== TEST 12: the same junk code refused twice: two exchanges, no state_replayed, no used state left
--- request eval
[@{ main::twice('/callback-401', '/callback-401', 'junk-1') }, "GET /status"]
--- error_code eval
[502, 502, 200]
--- response_body_like eval
[qr/^exchange_failed \[0\]$/, qr/^exchange_failed \[0\]$/,
 qr/"exchanges":\{"ok":0,"failed":2,.*"states":0,/]



=== TEST 13: a 5xx leaves the code's fate unknown: the state stays spent
--- request eval
[@{ main::twice('/callback-500', '/callback') }, "GET /status"]
--- error_code eval
[502, 403, 200]
--- response_body_like eval
[qr/^exchange_failed \[0\]$/, qr/^state_replayed \[0\]$/, qr/"states":1,/]



=== TEST 14: a 429 says the endpoint did not look at the code, and a flood of junk codes causes it: the state is released, and the browser can finish with it
--- request eval
[@{ main::twice('/callback-429', '/callback', 'good-code') }, "GET /token", "GET /status"]
--- error_code eval
[502, 302, 200, 200]
--- response_body_like eval
[qr/^exchange_failed \[0\]$/, qr/302/, qr/^\[1\]\[dG9rO/,
 qr/"zone_full":0,.*"zone":\{"name":"intercom","tokens":1,"states":1,/]



=== TEST 15: a timeout: the state stays spent
--- request eval
main::twice('/callback-slow', '/callback')
--- error_code eval
[504, 403]
--- response_body_like eval
[qr/^exchange_timeout \[0\]$/, qr/^state_replayed \[0\]$/]



=== TEST 16: no connection to the endpoint: the state stays spent
--- request eval
main::twice('/callback-refused', '/callback')
--- error_code eval
[502, 403]
--- response_body_like eval
[qr/^exchange_failed \[0\]$/, qr/^state_replayed \[0\]$/]



=== TEST 17: an answer over the cap: the state stays spent
--- request eval
main::twice('/callback-big', '/callback')
--- error_code eval
[502, 403]
--- response_body_like eval
[qr/^exchange_failed \[0\]$/, qr/^state_replayed \[0\]$/]



=== TEST 18: an error list with status 200 is not a refusal by status: the state stays spent
--- request eval
main::twice('/callback-error-list', '/callback')
--- error_code eval
[502, 403]
--- response_body_like eval
[qr/^exchange_failed \[0\]$/, qr/^state_replayed \[0\]$/]



=== TEST 19: a refused callback sent on by error_page to a named location forwards no code nor state (a proxy_pass there would send them upstream, and log them in "upstream:")
--- config eval
$::Locations . <<'_EOC_'
location = /callback-ep {
    intercom_oauth_callback;
    intercom_oauth_success_uri /home;
    error_page 403 = @after;
}
location @after { return 200 "args=[$args] is_args=[$is_args]\n"; }
_EOC_
--- request eval
callback_request(path => '/callback-ep', code => 'ep-code-1', state => make_state(sid => $::OTHER_SID))
--- more_headers eval: session_cookie()
--- error_code: 200
--- response_body
args=[] is_args=[]
