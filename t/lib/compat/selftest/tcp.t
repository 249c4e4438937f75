# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# --- tcp_listen mock server, repeat_each, TEST_NGINX_RAND_PORT_N.
use Test::Nginx::Socket;

plan skip_all => 'compat runner not loaded'
    unless $INC{'Test/Nginx/Socket.pm'} =~ m{compat};

repeat_each(2);
plan tests => repeat_each() * 8;

our $Reply = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nX-Mock: yes\r\n\r\nmock\n";

run_tests();

__DATA__

=== TEST 1: nginx proxies to the mock server, which checks the query
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
        proxy_set_header Host mock;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_query eval
"GET /up HTTP/1.0\r\nHost: mock\r\nConnection: close\r\n\r\n"
--- tcp_reply eval
$::Reply
--- request
GET /t
--- response_headers
X-Mock: yes
--- response_body
mock
--- no_error_log
[error]



=== TEST 2: tcp_reply as pieces, tcp_query_len, upstream status
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_7;
        proxy_set_header Host x;
    }
--- tcp_listen: $TEST_NGINX_RAND_PORT_7
--- tcp_query_len: 47
--- tcp_reply eval
["HTTP/1.0 503 Busy\r\n", "Content-Length: 0\r\n\r\n"]
--- request
GET /t
--- error_code: 503
--- error_log
http proxy status 503
