# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Failing expectations must come out as failing assertions: run a test
# file full of them in a child perl (and prove) and read its TAP.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $compat = abs_path(dirname(__FILE__) . '/..');
plan skip_all => 'compat runner not found'
    unless -f "$compat/Test/Nginx/Socket.pm";

my $dir = tempdir(CLEANUP => 1);
my $t = "$dir/failing.t";

open my $out, '>', $t or die "$t: $!";
print $out <<'_EOT_';
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();
__DATA__

=== TEST 1: passes
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok

=== TEST 2: wrong status, body and header
--- config
    location = /t { add_header X-A a; return 404 "missing\n"; }
--- request
GET /t
--- response_headers
X-A: b
--- response_body
found

=== TEST 3: log patterns
--- config
    location = /t { return 200; }
--- request
GET /t
--- error_log
this line is never logged
--- no_error_log
[debug]

=== TEST 4: a bad configuration without must_die
--- config
    location = /t { bogus_directive; }
--- request
GET /t

=== TEST 5: must_die but nginx starts
--- config
    location = /t { return 200; }
--- must_die

=== TEST 6: the client times out
--- config
    location = /t { limit_rate 1; return 200 "0123456789"; }
--- request
GET /t
--- timeout: 200ms
--- response_body: 0123456789

=== TEST 7: no_access_log alone, and a line has it
--- config
    location = /t { return 200; }
--- request
GET /t?leaked=1
--- no_access_log
leaked=1
_EOT_
close $out;

local $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot";
delete local $ENV{TEST_NGINX_USE_VALGRIND};    # its reports would add up
delete local $ENV{TEST_NGINX_USE_HUP};
my $tap = `$^X -I$compat $t 2>&1`;
my $status = $? >> 8;

my @expect = (
    qr/^ok \d+ - \S+ TEST 1: passes - status code ok$/m,
    qr/^ok \d+ - \S+ TEST 1: passes - response_body - response is expected/m,
    qr/^not ok \d+ - \S+ TEST 2: wrong status, body and header - status code ok$/m,
    qr/^#\s+got: '404'\n#\s+expected: '200'$/m,
    qr/^not ok \d+ - \S+ TEST 2: .* - header X-A ok$/m,
    qr/^not ok \d+ - \S+ TEST 2: .* - response_body - response is expected/m,
    qr/^not ok \d+ - \S+ TEST 3: .* - pattern "this line is never logged" should match a line in error\.log \(req 0\)$/m,
    qr/^not ok \d+ - \S+ TEST 3: .* - pattern "\[debug\]" should not match any line in error\.log but matches line/m,
    qr/^not ok \d+ - \S+ TEST 4: .* - nginx failed to start$/m,
    qr/^# .*unknown directive "bogus_directive"/m,
    qr/^not ok \d+ - \S+ TEST 5: must_die but nginx starts - die as expected$/m,
    qr/^not ok \d+ - ERROR: client socket timed out - \S+ TEST 6: /m,
    qr/^not ok \d+ - \S+ TEST 6: .* - response_body - response is expected/m,
    qr/^not ok \d+ - \S+ TEST 7: .* - pattern "leaked=1" should not match any line in access\.log but matches line/m,
);

like($tap, $_, "TAP matches $_") for @expect;

my @not_ok = $tap =~ /^not ok/mg;
is(scalar @not_ok, 11, 'eleven failing assertions') or diag($tap);
isnt($status, 0, "the test file exits with a failure status ($status)");

my $prove = `prove -I$compat $t 2>&1`;
like($prove, qr/^Result: FAIL$/m, 'prove reports FAIL') or diag($prove);
isnt($? >> 8, 0, 'prove exits non-zero');

done_testing();
