# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Hostile input at the callback, the session cookie: garbled, oversized,
# longer by one character, empty, quoted, a look-alike name, repeated
# with different values (in one Cookie header or in two: the first
# well-formed one is the session) or with the same one, a Cookie header
# over nginx's buffers; and session fixation: a session id planted before
# the flow holds no token after it; a character beside each base64url
# range is not an id.
#
# t/lib/IntercomOAuthTest/Hostile.pm: what the t/006-hostile-*.t files
# share, and how a block shows that nothing was stored.

use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::Hostile;
use Test::Nginx::Socket 'no_plan';

no_shuffle();
hostile_blocks();
run_tests();

__DATA__

=== TEST 1: session cookie: garbled (not base64url)
--- more_headers
Cookie: intercom_oauth_sid=c2Vzc2lvbi1pZC0xMjM0*Q
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 2: session cookie: oversized (4000 characters)
--- more_headers eval
"Cookie: intercom_oauth_sid=" . ('A' x 4000)
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 3: session cookie: the right session with one more character
--- more_headers eval
"Cookie: intercom_oauth_sid=${SID}A"
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 4: session cookie: empty
--- more_headers
Cookie: intercom_oauth_sid=
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 5: session cookie: in quotes
--- more_headers eval
"Cookie: intercom_oauth_sid=\"$SID\""
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 6: session cookie: a look-alike name is not the session
--- more_headers eval
"Cookie: xintercom_oauth_sid=$SID; intercom_oauth_sidx=$SID"
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 7: session cookie: repeated with different values in one header: the first well-formed one is the session
Neither holds a token, so the first is the session (t/008-sessions.t has
the rest of the rule): the state minted for it completes.  Before 0.2.0
both were ignored, which locked such a browser out.
--- more_headers eval
"Cookie: intercom_oauth_sid=$SID; intercom_oauth_sid=$OTHER_SID"
--- error_code: 302
--- config eval: $::CookieLocations
--- response_body_like: 302 Found
--- module_log eval
qr/\Aintercom oauth: session cookie "intercom_oauth_sid" is repeated with different values\nintercom oauth: access token stored \(\d+ ms exchange\)\nintercom oauth: token of admin 991267 in workspace abc12def \(email verified\)\n\z/



=== TEST 8: session cookie: repeated with different values in two headers (planted cookie first): its session is not the state's
The first well-formed value is the session; the state was minted for the
second: refused as a state of another session.
--- more_headers eval
"Cookie: intercom_oauth_sid=$OTHER_SID\nCookie: intercom_oauth_sid=$SID"
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is repeated with different values
intercom oauth: state refused: signature does not match this browser session and client id



=== TEST 9: session cookie: repeated with the same value is the same session
--- more_headers eval
"Cookie: a=1; intercom_oauth_sid=$SID; b=2\nCookie: intercom_oauth_sid=$SID"
--- request eval
[callback_request(code => 'abc', state => make_state()), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 10: session cookie: a Cookie header over nginx's buffers is refused by nginx itself
--- more_headers eval
"Cookie: intercom_oauth_sid=$SID; pad=" . ('x' x 9000)
--- error_code: 400
--- response_body_like: Request Header Or Cookie Too Large
--- module_log



=== TEST 11: session fixation: a session id planted before the flow does not hold the token after it
A session id the server never issued ($SID here: a sibling subdomain or an
XSS elsewhere can plant one) is accepted for the flow, but a successful
callback gives the browser a new session id and keeps the token under that
one, so whoever planted the old id cannot use the token.  With
intercom_oauth_key (the site's own login) this does not apply.
--- http_config eval
$HTTP_CONFIG =~ s{\s*intercom_oauth_key\s+\S+;}{}r
--- request eval
[callback_request(code => 'abc', state => make_state()), "GET /token"]
--- error_code eval
[302, 200]
--- response_headers_like eval
["Set-Cookie: intercom_oauth_sid=(?!$SID)[A-Za-z0-9_-]{22};.*", "Content-Type: text/plain"]
--- response_body_like eval
[qr/302 Found/, qr/^\[0\]\[\]$/]



=== TEST 12: session cookie: a character beside each base64url range is not an id
The session id's 22 characters are checked by a table of the bytes a
base64url id may hold: each value here is 22 characters with one byte
just outside a range ("," "." "/" ":" "@" "[" "^" "`" "{" DEL, a byte over
127), so none is well-formed and no session is read.
--- more_headers eval
"Cookie: " . join('; ', map { 'intercom_oauth_sid=' . substr($SID, 0, 21) . $_ } (',', '.', '/', ':', '@', '[', '^', '`', '{', "\x7f", "\x80", "\xff"))
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser
