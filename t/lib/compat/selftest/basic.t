# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Requests and response checks of the compat Test::Nginx::Socket.
use Test::Nginx::Socket;

# These files test the compat runner itself, not openresty's.
plan skip_all => 'compat runner not loaded'
    unless $INC{'Test/Nginx/Socket.pm'} =~ m{compat};

plan tests => repeat_each() * 45;

# Helpers for eval sections: Test::Base evaluates them in its own package,
# so test files call them as ::name (or main::name).
sub paths { map { "GET /$_" } @_ }

$ENV{TEST_NGINX_GREETING} = 'hello';

run_tests();

__DATA__

=== TEST 1: plain return, exact body
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- error_code: 200



=== TEST 2: headers, absent header, default status
--- config
    location = /t {
        add_header X-Test "foo bar";
        return 200 "x";
    }
--- request
GET /t
--- response_headers
X-Test: foo bar
Content-Type: text/plain
!X-Missing
X-Also-Missing:
--- response_body chomp
x



=== TEST 3: error_code and body_like
--- config
    location = /t { return 404; }
--- request
GET /t
--- error_code: 404
--- response_body_like: 404 Not Found



=== TEST 4: request body gets a Content-Length, more_headers are sent
--- config
    location = /t {
        return 200 "$request_method $content_length $http_x_foo $http_host\n";
    }
--- request
POST /t
hello world
--- more_headers
X-Foo: bar baz
--- response_body
POST 11 bar baz localhost



=== TEST 5: request eval with arrays of expectations
--- config
    location /a { return 200 "a\n"; }
    location /b { return 403; }
--- request eval
[::paths("a", "b")]
--- error_code eval
[200, 403]
--- response_body_like eval
["^a\n\$", "403 Forbidden"]



=== TEST 6: user_files under html/, env substitution in config and files
--- config
    location = /greet { return 200 "$TEST_NGINX_GREETING\n"; }
--- user_files
>>> index.html
index $TEST_NGINX_GREETING
>>> sub/dir/file.txt
nested
--- request eval
["GET /", "GET /sub/dir/file.txt", "GET /greet"]
--- response_body eval
["index hello\n", "nested\n", "hello\n"]



=== TEST 7: chunked response is decoded
--- config
    location = /t { ssi on; ssi_types *; root html; }
--- user_files
>>> t
<!--# echo var="request_method" -->-<!--# echo var="uri" -->
--- request
GET /t
--- response_headers
Transfer-Encoding: chunked
--- response_body
GET-/t



=== TEST 8: HTTP/1.0 request and more_headers eval
--- config
    location = /t { return 200 "$server_protocol $http_x_a\n"; }
--- request
GET /t HTTP/1.0
--- more_headers eval
"X-A: " . ("z" x 3)
--- response_body
HTTP/1.0 zzz



=== TEST 9: pipelined requests
--- config
    location /p { return 200 "$uri\n"; }
--- pipelined_requests eval
["GET /p1", "GET /p2"]
--- response_body eval
["/p1\n", "/p2\n"]
--- error_code eval
[200, 200]



=== TEST 10: http_config and proxying to ourselves with the server port
--- http_config
    upstream self { server 127.0.0.1:$TEST_NGINX_SERVER_PORT; }
--- config
    location = /t { proxy_pass http://self/back; }
    location = /back { return 200 "back $http_host\n"; }
--- request
GET /t
--- response_body
back self



=== TEST 11: config eval, response_body eval qr//
--- config eval
"location = /t { return 200 '" . "ab" x 2 . "'; }"
--- request
GET /t
--- response_body eval
qr/^(ab)+$/



=== TEST 12: raw_request is sent as is
--- config
    location = /t { return 200 "$http_x_raw\n"; }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\nX-Raw: yes\r\nConnection: close\r\n\r\n"
--- response_body
yes



=== TEST 14: timeout with abort is not a failure
--- config
    location = /slow {
        limit_rate 1;
        return 200 "0123456789";
    }
--- request
GET /slow
--- timeout: 300ms
--- abort
--- ignore_response



=== TEST 15: response_body_unlike
--- config
    location = /t { return 200 "good"; }
--- request
GET /t
--- response_body_unlike: bad



=== TEST 16: response_headers_like is anchored
--- config
    location = /t { return 200 "x"; }
--- request
GET /t
--- response_headers_like
Content-Length: \d+
Server: nginx/[\d.]+



=== TEST 17: a request sent in packets, with a delay between them
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/null;
        add_header X-Body "$request_body" always;
    }
    location = /null { return 204; }
--- request eval
[["POST /t\nhello ", {value => "world\n", delay_before => 0.2}]]
--- response_headers
X-Body: hello world
Content-Length:
--- error_code: 204
