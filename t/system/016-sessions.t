# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Sessions followed as a browser follows them, keeping what Set-Cookie
# gives it: the session is the key (no intercom_oauth_key), replaced at
# each successful callback.  The cookie keeps $HTTP_CONFIG's name,
# "intercom_oauth_sid", which 0.1.0 used by default too, so that what
# these flows show is not hidden by the new default name (tested in
# t/008-sessions.t, t/system/013-no-secrets.t and
# t/system/052-subrequest-conf.t).
#
#   two tabs, the zone alone: connect twice, finish the second flow, then
#   the first: both succeed, and the browser ends with one session holding
#   one token;
#   one browser, one token, hosts A and B sharing Redis: connecting again
#   deletes the old session's token in Redis, so that B finds nothing
#   under the old id, and the Redis key name carries the realm;
#   a callback whose token Redis refuses leaves the browser's session as
#   it was: no Set-Cookie, and its token still there.
#
# Ports: TEST_NGINX_SERVER_PORT + 48 (the zone alone), + 94 (redis-server,
# or the next free port), + 96 and + 97 (hosts A and B).

use strict;
use warnings;
use lib 't/lib';
use IntercomOAuthTest;
use IntercomOAuthTest::System;
use RedisStore;
use Test::More;

my $root = $IntercomOAuthTest::ROOT;
my $base = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $zport = $base + 48;
my %port = (A => $base + 96, B => $base + 97);

# no intercom_oauth_key: the session is the key
(my $http = $HTTP_CONFIG) =~ s{^\s*intercom_oauth_key\s.*\n}{}m;

my $NAME = 'intercom_oauth_sid';

my $locations = <<'_EOC_';
        location = /connect { intercom_connect_button redirect; }
        location = /callback { intercom_oauth_callback; intercom_oauth_success_uri /home; }
        location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]"; }
        location = /status { intercom_oauth_status; }
_EOC_

my $PREV = "${NAME}_prev";

# a browser: its cookies, name => value
sub cookie_header {
    my $jar = shift;
    return 'Cookie: ' . join '; ', map { "$_=$jar->{$_}" } sort keys %$jar;
}

sub keep_cookies {
    my ($jar, $head) = @_;
    for my $line ($head =~ /^Set-Cookie: ([^\r\n]*)/mgi) {
        my ($name, $value) = $line =~ /^([^=;\s]+)=([^;]*)/ or next;
        $jar->{$name} = $value;
    }
}

# the state of a connect button's redirect, the cookies kept
sub connect_state {
    my ($port, $jar) = @_;
    my ($status, $head) = http_request($port, 'GET /connect',
                                       %$jar ? cookie_header($jar) : ());
    keep_cookies($jar, $head);
    return $head =~ /^Location: \S*[?&]state=([A-Za-z0-9_-]+)/m ? $1 : undef;
}

# the callback's status and head, the cookies kept
sub callback {
    my ($port, $jar, $state) = @_;
    my ($status, $head) = http_request($port,
        callback_request(code => 'c-' . rand(), state => $state),
        cookie_header($jar));
    keep_cookies($jar, $head);
    return ($status, $head);
}

sub token_of_sid {
    my ($port, $sid) = @_;
    my (undef, undef, $body) = http_request($port, 'GET /token',
                                            "Cookie: $NAME=$sid");
    return $body;
}

sub status_of {
    my (undef, undef, $body) = http_request($_[0], 'GET /status');
    return $body;
}

my @prefixes;
END { stop_nginx($_) for @prefixes }

# -- two tabs, the zone alone --------------------------------------------

push @prefixes, start_nginx('sessions', $zport, $locations,
                            http_config => $http);

my %jar;
my $state1 = connect_state($zport, \%jar);
ok($state1, 'tab 1: the connect page redirects with a state');
my $s0 = $jar{$NAME};
like($s0 // '', qr/^[A-Za-z0-9_-]{22}$/, 'and gives the browser a session');

my $state2 = connect_state($zport, \%jar);
ok($state2 && $state2 ne $state1, 'tab 2: another state');
is($jar{$NAME}, $s0, 'for the same session');

my ($st, $head) = callback($zport, \%jar, $state2);
is($st, 302, 'tab 2 finishes first: 302');
like($head, qr{^Location: \S*/home\r?$}m, 'to the success page');
my $s1 = $jar{$NAME};
isnt($s1, $s0, 'the session is replaced');
like($jar{$PREV} // '', qr/^\Q$s0\E\.[A-Za-z0-9_-]{22}$/,
     "$PREV names the replaced id, with its MAC");
like(token_of_sid($zport, $s1), qr/^\[1\]\[\S+\]$/, 'connected');

($st, $head) = callback($zport, \%jar, $state1);
is($st, 302, "tab 1 finishes too: 302 (its state is of the replaced id, "
             . "the browser holds the successor and $PREV)");
like($head, qr{^Location: \S*/home\r?$}m, 'to the success page');
my $s2 = $jar{$NAME};
ok($s2 && $s2 ne $s1 && $s2 ne $s0, 'the session is replaced again');
like($jar{$PREV} // '', qr/^\Q$s1\E\.\Q$s0\E\.[A-Za-z0-9_-]{22}$/,
     "$PREV names both replaced ids, the latest first");

like(token_of_sid($zport, $s2), qr/^\[1\]\[\S+\]$/,
     'the browser is connected under its session');
is(token_of_sid($zport, $s1), '[0][]',
   'one browser, one token: the session tab 1 replaced holds nothing');
is(token_of_sid($zport, $s0), '[0][]', 'nor the first one');
like(status_of($zport), qr/"tokens":\{"stored":2,"evicted":0,"deleted":1\}/,
     'two tokens stored, one deleted with its session');

($st) = callback($zport, \%jar, $state1);
is($st, 403, "tab 1's callback URL again, from this browser: 403");
like(error_log_of($prefixes[0]), qr/state refused: already used/,
     'as a state used already');

# -- one browser, one token, two hosts sharing Redis ----------------------

my $rport = free_port($base + 94, values %port);
my $dir = "$root/t/servroot-redis-" . ($base + 94);

system('rm', '-rf', $dir);
mkdir $dir;

my $keytext = unpack('H*', IntercomOAuthTest::nonce()
                           . IntercomOAuthTest::nonce());
my $keyfile = secret_file("$dir/store.key", $keytext);

start_redis($rport, "$dir/redis");

my $rhttp = $http . store_http_config($rport, $keyfile, cache_ttl => '1s');

push @prefixes, map { start_nginx("sessions$_", $port{$_}, $locations,
                                  http_config => $rhttp) } qw(A B);

sub name_of {
    my ($sid, $realm) = @_;
    return token_key('intercom_oauth:', $keytext, $CLIENT_ID, $sid, $realm);
}

sub exists_in_redis { redis_cli($rport, 'EXISTS', name_of(@_)) }

my %b;
($st) = callback($port{A}, \%b, connect_state($port{A}, \%b));
is($st, 302, 'A: a browser connects');
my $old = $b{$NAME};
is(exists_in_redis($old), "1\n", 'its token is in Redis');
is(exists_in_redis($old, ''), "0\n",
   'under a name that carries the realm (the server name "localhost")');

($st) = callback($port{A}, \%b, connect_state($port{A}, \%b));
is($st, 302, 'A: the same browser connects again');
my $new = $b{$NAME};
isnt($new, $old, 'under a new session');
is(exists_in_redis($old), "0\n", 'the old session holds nothing in Redis');
is(token_of_sid($port{B}, $old), '[0][]', 'B finds nothing under the old id');
is(token_of_sid($port{A}, $old), '[0][]', 'nor A');
like(token_of_sid($port{B}, $new), qr/^\[1\]\[\S+\]$/,
     'B finds the token under the new one (and keeps a copy)');
like(status_of($port{A}), qr/"tokens":\{"stored":2,"evicted":0,"deleted":1\}/,
     'A counts the old token as deleted');

($st) = callback($port{A}, \%b, connect_state($port{A}, \%b));
is($st, 302, 'A: the browser connects a third time');
is(exists_in_redis($new), "0\n", 'the session before holds nothing in Redis');
select undef, undef, undef, 1.2;
is(token_of_sid($port{B}, $new), '[0][]',
   'B, which had a copy, drops it once older than '
   . 'intercom_oauth_store_cache_ttl');

# -- a callback whose token Redis refuses --------------------------------

my $kept = $b{$NAME};
my $state = connect_state($port{A}, \%b);
is(redis_cli($rport, 'ACL', 'SETUSER', 'default', '-eval'), "OK\n",
   'Redis now refuses the write script (the state claim still works)');
($st, $head) = callback($port{A}, \%b, $state);
is($st, 503, 'A: the callback fails with 503');
unlike($head, qr/^Set-Cookie:/mi, 'and sets no cookie');
is($b{$NAME}, $kept, 'the browser keeps its session');
redis_cli($rport, 'ACL', 'SETUSER', 'default', '+eval');
like(token_of_sid($port{A}, $kept), qr/^\[1\]\[\S+\]$/,
     'A: which still holds its token (read back from Redis)');
is(exists_in_redis($kept), "1\n", 'in Redis');
like(error_log_of($prefixes[1]),
     qr/callback failed: the access token could not be written to the store/,
     'A logs the failed write');

stop_redis($rport);

done_testing();
