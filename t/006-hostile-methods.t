# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Hostile input at the callback and the connect button, the method:
# DELETE, OPTIONS, a method nginx does not know, WebDAV's; HEAD works
# as GET.
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

=== TEST 1: methods: DELETE on the callback
--- request
DELETE /callback?code=abc&state=x
--- error_code: 405
--- response_body
 [0][]
--- module_log
intercom oauth: callback refused: method "DELETE" is not allowed



=== TEST 2: methods: OPTIONS on the callback
--- request
OPTIONS /callback
--- error_code: 405
--- module_log
intercom oauth: callback refused: method "OPTIONS" is not allowed



=== TEST 3: methods: a method nginx does not know
--- request
FROB /callback?code=abc
--- error_code: 405
--- module_log
intercom oauth: callback refused: method "FROB" is not allowed



=== TEST 4: methods: PATCH, PROPFIND, MKCOL on the callback, PUT, DELETE, OPTIONS on the button
--- request eval
["PATCH /callback", "PROPFIND /callback", "MKCOL /callback",
 "PUT /connect\nx", "DELETE /connect", "OPTIONS /connect"]
--- error_code eval
[405, 405, 405, 405, 405, 405]



=== TEST 5: methods: HEAD on the callback works like GET (and uses the state)
--- request eval
[callback_request(code => 'abc', state => make_state()) =~ s/^GET/HEAD/r, "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/^$/, qr/^\[1\]\[\S+\]$/]
