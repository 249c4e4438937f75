# Hostile input and misbehaving peers: every refusal has a defined answer,
# says what went wrong in one log line, and stores nothing (the blocks that
# show a limit from its accepting side store a token, and check it).
# A block whose title starts with DEFECT fails on purpose until the module
# is fixed.
#
# What t/003-callback.t and t/004-exchange.t already cover is not repeated
# here (repeated code and state, a code with %00 or UTF-8, the limits on
# code, state and query length, a PUT, a JSON POST, a POST over 8k by
# Content-Length, 401/500/HTML/malformed/no-token/redirect/64k+/timeout/
# refused/untrusted-CA token endpoints).  SECURITY.md maps each threat to
# its blocks.
#
# How a block shows "nothing stored": the callback location sends every
# refusal to /after through error_page (without "=", so the status stays),
# and /after prints $intercom_oauth_error and the token of this request's
# key: "invalid_request [0][]".  The log line is checked with
# grep_error_log: the module's lines at info level and above, without
# their ", client: ..." tail.  Test::Nginx checks logs after each request
# of a block, so the log-checking blocks are single requests.
#
# The certificate blocks need token endpoints that present a certificate
# from another CA, for another host, or expired: this file starts a
# stand-in for each (t/standin/mkcerts.sh makes the certificates), on
# ports the system picks.

use lib 't/lib';
use IntercomOAuthTest;
use Test::Nginx::Socket 'no_plan';

no_shuffle();

our %Hostile;   # certificate name => [pid, port]

sub start_hostile_standin {
    my $cert = shift;
    my $dir = $ENV{TEST_NGINX_CERT_DIR};

    my $pid = open(my $out, '-|', 'python3',
                   "$IntercomOAuthTest::ROOT/t/standin/intercom_standin.py",
                   '--listen', '127.0.0.1:0',
                   '--cert', "$dir/$cert.crt", '--key', "$dir/$cert.key",
                   '--client-id', $CLIENT_ID,
                   '--client-secret', $ENV{TEST_INTERCOM_CLIENT_SECRET})
        or die "cannot start a stand-in with $cert.crt: $!\n";

    my $line = <$out>;
    die "the stand-in with $cert.crt did not start\n"
        unless defined $line && $line =~ m{listening on https://[^:]+:(\d+)};

    $Hostile{$cert} = [$pid, $1, $out];
    $ENV{'TEST_NGINX_' . uc($cert) . '_PORT'} = $1;
}

# under the compat runner and openresty's alike, Test::Nginx forks only
# for helpers of its own: the END block runs in this process
my $parent = $$;

END {
    if ($$ == $parent) {
        for my $s (values %Hostile) {
            kill 'TERM', $s->[0];
            waitpid $s->[0], 0;
        }
    }
}

start_hostile_standin($_) for qw(other wronghost expired);

# the module's own lines, info and above, without the request's context
our $ModuleLines = qr/\[(?:info|notice|warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?\Kintercom(?:_oauth_zone| oauth:) [^,\n]*/;

our $Locations = <<'_EOC_';
location = /callback {
    intercom_oauth_callback;
    error_page 400 403 405 413 500 502 503 504 /after;
}
location = /after {
    return 200 "$intercom_oauth_error [$intercom_oauth_connected][$intercom_access_token]\n";
}
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
location = /connect { intercom_connect_button; }
location = /seen {
    proxy_pass https://127.0.0.1:$TEST_NGINX_STANDIN_PORT/_standin/requests;
    proxy_ssl_trusted_certificate $TEST_NGINX_CA_FILE;
    proxy_ssl_verify on;
    proxy_ssl_name localhost;
}
_EOC_

# the session cookie blocks: a refusal is the built-in page, so that no
# second location reads the malformed cookie again (and logs it again)
our $CookieLocations = <<'_EOC_';
location = /callback { intercom_oauth_callback; }
_EOC_

# --- behave: NAME        the stand-in behaviour of the token endpoint
# --- token_url: URL      another token endpoint altogether
# --- timeout_directive   replaces intercom_oauth_timeout
add_block_preprocessor(sub {
    my $block = shift;
    my $c = $HTTP_CONFIG;

    if (defined $block->behave) {
        (my $behave = $block->behave) =~ s/\s+$//;
        $c =~ s{/behave/ok/}{/behave/$behave/};
    }

    if (defined $block->token_url) {
        (my $url = $block->token_url) =~ s/\s+$//;
        $c =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url $url;};
    }

    if (defined $block->timeout_directive) {
        (my $t = $block->timeout_directive) =~ s/\s+$//;
        $c =~ s{intercom_oauth_timeout\s+\S+;}{$t};
    }

    $block->set_value('http_config', $c) unless defined $block->http_config;
    $block->set_value('config', $Locations) unless defined $block->config;
    $block->set_value('more_headers', session_cookie())
        unless defined $block->more_headers;
    $block->set_value('request',
                      callback_request(code => 'abc', state => make_state()))
        unless defined $block->request;

    if (!defined $block->grep_error_log && defined $block->module_log) {
        $block->set_value('grep_error_log', $ModuleLines);
        $block->set_value('grep_error_log_out', $block->module_log);
    }
});

# a state with every character percent-encoded, once or twice
sub ::encode_all {
    my ($s, $times) = @_;
    for (1 .. $times) {
        $s =~ s/(.)/sprintf('%%%02X', ord $1)/ges;
    }
    return $s;
}

# "code=...&state=...&pad=xxx" of exactly $len bytes
sub ::args_of_length {
    my $len = shift;
    my $args = 'code=abc&state=' . make_state() . '&pad=';
    return $args . ('x' x ($len - length $args));
}

run_tests();

__DATA__

=== TEST 1: arguments: a code with an empty state
--- request eval
"GET /callback?code=abc&state="
--- error_code: 400
--- response_body
invalid_request [0][]
--- response_headers
Cache-Control: no-store
--- module_log
intercom oauth: callback refused: no "state"



=== TEST 2: arguments: "code" without "=" is an empty code
--- request eval
"GET /callback?code&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "code"



=== TEST 3: arguments: a repeated error
--- request eval
"GET /callback?error=access_denied&error=x&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "error" is repeated



=== TEST 4: arguments: a code repeated with the same value is refused too
--- request eval
"GET /callback?code=abc&state=" . make_state() . "&code=abc"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" is repeated



=== TEST 5: arguments: a code repeated with an empty second value
--- request eval
"GET /callback?code=abc&code=&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" is repeated



=== TEST 6: arguments: names are case-sensitive ("CODE" is not "code")
--- request eval
"GET /callback?CODE=abc&STATE=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "code"



=== TEST 7: arguments: ";" is not a separator (the state is then missing)
--- request eval
"GET /callback?code=abc;state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "state"



=== TEST 8: arguments: a NUL inside a name does not make it "code"
--- request eval
"GET /callback?co%00de=abc&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "code"



=== TEST 9: arguments: a code percent-encoded twice is decoded once, and sent as such
--- behave: echo
--- request eval
[callback_request(code => 'ab%2Bc', state => make_state()), "GET /seen"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/"body":"code=ab%252Bc&client_id=test-client&client_secret=test-secret"/]



=== TEST 10: arguments: a state percent-encoded once is accepted
--- request eval
["GET /callback?code=abc&state=" . ::encode_all(make_state(), 1), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 11: arguments: a state percent-encoded twice is malformed
--- request eval
"GET /callback?code=abc&state=" . ::encode_all(make_state(), 2)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 12: arguments: a NUL in the state
--- request eval
my $s = make_state();
"GET /callback?code=abc&state=" . substr($s, 0, 10) . "%00" . substr($s, 10)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 13: arguments: a valid state with a NUL after it
--- request eval
"GET /callback?code=abc&state=" . make_state() . "%00"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 14: arguments: UTF-8 in the state
--- request eval
"GET /callback?code=abc&state=%C3%A9" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 15: arguments: raw (unencoded) bytes above 0x7f in the code
--- request eval
"GET /callback?code=\xc3\xa9t\xc3\xa9&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" of 5 bytes is too long or not printable ASCII



=== TEST 16: arguments: a state with base64 padding after it
--- request eval
"GET /callback?code=abc&state=" . make_state() . "%3D%3D"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 17: arguments: a state with one character cut off
--- request eval
"GET /callback?code=abc&state=" . substr(make_state(), 0, -1)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 18: arguments: a state in standard base64 ("+" and "/") is not base64url
--- request eval
my $s = make_state();
$s =~ tr{-_}{+/};
$s .= "+/" unless $s =~ m{[+/]};
"GET /callback?code=abc&state=" . ::encode_all($s, 1)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 19: limits: a code of exactly 512 bytes is accepted
--- request eval
[callback_request(code => 'c' x 512, state => make_state()), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 20: limits: a code of 513 bytes is refused
--- request eval
callback_request(code => 'c' x 513, state => make_state())
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" of 513 bytes is too long or not printable ASCII



=== TEST 21: limits: 512 bytes after decoding, 1536 before: accepted
--- request eval
["GET /callback?code=" . ('%41' x 512) . "&state=" . make_state(), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 22: limits: arguments of exactly 4096 bytes are looked at
--- request eval
["GET /callback?" . ::args_of_length(4096), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 23: limits: arguments of 4097 bytes are not
--- request eval
"GET /callback?" . ::args_of_length(4097)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: arguments of 4097 bytes are longer than 4096



=== TEST 24: limits: a state of exactly 1024 characters is looked at (and malformed)
--- request eval
"GET /callback?code=abc&state=" . ('A' x 1024)
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "state" is malformed



=== TEST 25: limits: a request line over nginx's buffers is refused by nginx itself (414)
--- request eval
"GET /callback?code=abc&state=" . make_state() . "&pad=" . ('x' x 9000)
--- error_code: 414
--- response_body_like: 414 Request-URI Too Large
--- module_log



=== TEST 26: limits: a huge "error" is logged as unprintable, never echoed
--- request eval
"GET /callback?error=" . ('e' x 2000) . "&state=" . make_state()
--- error_code: 403
--- response_body
access_denied [0][]
--- module_log
intercom oauth: authorization not granted: Intercom sent error "(unprintable)"



=== TEST 27: log injection: a newline in "error" never reaches the log
--- log_level: info
--- request eval
"GET /callback?error=x%0A2020/01/01%2000:00:00%20[emerg]%20forged&state=" . make_state()
--- error_code: 403
--- response_body
access_denied [0][]
--- module_log
intercom oauth: authorization not granted: Intercom sent error "(unprintable)"
--- no_error_log
forged



=== TEST 28: session cookie: garbled (not base64url)
--- more_headers
Cookie: intercom_oauth_sid=c2Vzc2lvbi1pZC0xMjM0*Q
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 29: session cookie: oversized (4000 characters)
--- more_headers eval
"Cookie: intercom_oauth_sid=" . ('A' x 4000)
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 30: session cookie: the right session with one more character
--- more_headers eval
"Cookie: intercom_oauth_sid=${SID}A"
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 31: session cookie: empty
--- more_headers
Cookie: intercom_oauth_sid=
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 32: session cookie: in quotes
--- more_headers eval
"Cookie: intercom_oauth_sid=\"$SID\""
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is malformed
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 33: session cookie: a look-alike name is not the session
--- more_headers eval
"Cookie: xintercom_oauth_sid=$SID; intercom_oauth_sidx=$SID"
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 34: session cookie: repeated with different values in one header
--- more_headers eval
"Cookie: intercom_oauth_sid=$SID; intercom_oauth_sid=$OTHER_SID"
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is repeated with different values
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 35: session cookie: repeated with different values in two headers (planted cookie)
--- more_headers eval
"Cookie: intercom_oauth_sid=$OTHER_SID\nCookie: intercom_oauth_sid=$SID"
--- error_code: 403
--- config eval: $::CookieLocations
--- response_body_like: <code>state_invalid</code> \(403\)
--- module_log
intercom oauth: session cookie "intercom_oauth_sid" is repeated with different values
intercom oauth: state refused: no session cookie "intercom_oauth_sid" (another browser



=== TEST 36: session cookie: repeated with the same value is the same session
--- more_headers eval
"Cookie: a=1; intercom_oauth_sid=$SID; b=2\nCookie: intercom_oauth_sid=$SID"
--- request eval
[callback_request(code => 'abc', state => make_state()), "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/302 Found/, qr/^\[1\]\[\S+\]$/]



=== TEST 37: session cookie: a Cookie header over nginx's buffers is refused by nginx itself
--- more_headers eval
"Cookie: intercom_oauth_sid=$SID; pad=" . ('x' x 9000)
--- error_code: 400
--- response_body_like: Request Header Or Cookie Too Large
--- module_log



=== TEST 38: methods: DELETE on the callback
--- request
DELETE /callback?code=abc&state=x
--- error_code: 405
--- response_body
 [0][]
--- module_log
intercom oauth: callback refused: method "DELETE" is not allowed



=== TEST 39: methods: OPTIONS on the callback
--- request
OPTIONS /callback
--- error_code: 405
--- module_log
intercom oauth: callback refused: method "OPTIONS" is not allowed



=== TEST 40: methods: a method nginx does not know
--- request
FROB /callback?code=abc
--- error_code: 405
--- module_log
intercom oauth: callback refused: method "FROB" is not allowed



=== TEST 41: methods: PATCH, PROPFIND, MKCOL on the callback, PUT, DELETE, OPTIONS on the button
--- request eval
["PATCH /callback", "PROPFIND /callback", "MKCOL /callback",
 "PUT /connect\nx", "DELETE /connect", "OPTIONS /connect"]
--- error_code eval
[405, 405, 405, 405, 405, 405]



=== TEST 42: methods: HEAD on the callback works like GET (and uses the state)
--- request eval
[callback_request(code => 'abc', state => make_state()) =~ s/^GET/HEAD/r, "GET /token"]
--- error_code eval
[302, 200]
--- response_body_like eval
[qr/^$/, qr/^\[1\]\[\S+\]$/]



=== TEST 43: POST: a chunked body over 8k
--- raw_request eval
my $body = "code=abc&state=" . make_state() . "&pad=" . ("x" x 9000);
"POST /callback HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. session_cookie() . "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body)
--- error_code: 413
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: body is larger than 8192 bytes



=== TEST 44: POST: a chunked form within the limits is accepted
--- raw_request eval
my $body = "code=abc&state=" . make_state();
"POST /callback HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. session_cookie() . "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
. "Transfer-Encoding: chunked\r\n\r\n"
. sprintf("%x\r\n%s\r\n", length($body) - 5, substr($body, 0, -5))
. sprintf("5\r\n%s\r\n0\r\n\r\n", substr($body, -5))
--- error_code: 302
--- module_log eval
qr/\Aintercom oauth: access token stored \(\d+ ms exchange\)\nintercom oauth: token of admin 991267 in workspace abc12def \(email verified\)\n\z/



=== TEST 45: POST: no Content-Type
--- request eval
"POST /callback\ncode=abc&state=" . make_state()
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: a POST must be application/x-www-form-urlencoded



=== TEST 46: POST: multipart/form-data
--- request eval
"POST /callback\n--b\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\nabc\r\n--b--\r\n"
--- more_headers eval
session_cookie() . "\nContent-Type: multipart/form-data; boundary=b"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: a POST must be application/x-www-form-urlencoded



=== TEST 47: POST: the arguments in the query string of a POST are not read
--- request eval
"POST " . (callback_request(code => 'abc', state => make_state()) =~ s/^GET //r) . "\n"
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: no "code"



=== TEST 48: POST: a form of 5000 bytes (within 8k, over the 4k of arguments)
--- request eval
"POST /callback\n" . ::args_of_length(5000)
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: arguments of 5000 bytes are longer than 4096



=== TEST 49: POST: binary bytes in the form
--- request eval
"POST /callback\ncode=\x00\x01\xff&state=" . make_state()
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded"
--- error_code: 400
--- response_body
invalid_request [0][]
--- module_log
intercom oauth: callback refused: "code" of 3 bytes is too long or not printable ASCII



=== TEST 50: POST: a declared body of 2 MiB is refused before it is read
--- config
location = /callback {
    intercom_oauth_callback;
    # nginx waits lingering_timeout (5s) for the rest of the body it
    # discards before it closes; the test client reads until the close
    lingering_timeout 100ms;
}
--- request eval
"POST /callback\n" . ("x" x 100)
--- more_headers eval
session_cookie() . "\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 2097152"
--- error_code: 413
--- module_log
intercom oauth: callback refused: body of 2097152 bytes is larger than 8192



=== TEST 51: token endpoint: chunked garbage
--- behave: chunked-garbage
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+\/behave\/chunked-garbage\/[^"]+" failed: (Illegal or missing hexadecimal sequence in chunked-encoding|Failure when receiving data from the peer|Weird server reply)[^\n]*\n\z/



=== TEST 52: token endpoint: closes the connection mid-response
--- behave: close
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+\/behave\/close\/[^"]+" failed: (Transferred a partial file|Failure when receiving data from the peer)[^\n]*\n\z/



=== TEST 53: token endpoint: drips one byte a second, slower than the timeout
--- behave: drip
--- timeout_directive: intercom_oauth_timeout 2s;
--- error_code: 504
--- response_body
exchange_timeout [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+\/behave\/drip\/[^"]+" timed out after \d+ ms[^\n]*\n\z/



=== TEST 54: token endpoint: an error list with status 200
--- behave: error-list-200
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response is an error list[^\n]*\n\z/



=== TEST 55: token endpoint: a certificate from a CA nobody trusts
--- token_url: https://localhost:$TEST_NGINX_OTHER_PORT/auth/eagle/token
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
$ENGINE eq 'libcurl'
? qr/\Aintercom oauth: token exchange with "https:\/\/localhost:\d+\/auth\/eagle\/token" failed: (SSL peer certificate or SSH remote key was not OK|Peer certificate cannot be authenticated|SSL certificate problem)[^\n]*\n\z/
: qr/\Aintercom oauth: token exchange with "\/_intercom_sr\/https\/127\.0\.0\.1\/localhost\/\d+\/auth\/eagle\/token" failed: no connection to the location's upstream 127\.0\.0\.1:\d+: TCP or TLS failed \(nginx's line above says why\)\n\z/
--- error_log eval
# the subrequest engine cannot tell TCP from TLS: nginx's line says why
$ENGINE eq 'libcurl' ? qr/token exchange/ : qr/upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL handshaking to upstream/



=== TEST 56: token endpoint: a certificate for another host name
--- token_url: https://localhost:$TEST_NGINX_WRONGHOST_PORT/auth/eagle/token
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
$ENGINE eq 'libcurl'
? qr/\Aintercom oauth: token exchange with "https:\/\/localhost:\d+\/auth\/eagle\/token" failed: (SSL peer certificate or SSH remote key was not OK|Peer certificate cannot be authenticated|SSL certificate problem)[^\n]*\n\z/
: qr/\Aintercom oauth: token exchange with "\/_intercom_sr\/https\/127\.0\.0\.1\/localhost\/\d+\/auth\/eagle\/token" failed: no connection to the location's upstream 127\.0\.0\.1:\d+: TCP or TLS failed \(nginx's line above says why\)\n\z/
--- error_log eval
# the subrequest engine cannot tell TCP from TLS: nginx's line says why
$ENGINE eq 'libcurl' ? qr/token exchange/ : qr/upstream SSL certificate does not match "localhost" while SSL handshaking to upstream/



=== TEST 57: token endpoint: an expired certificate
--- token_url: https://localhost:$TEST_NGINX_EXPIRED_PORT/auth/eagle/token
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
$ENGINE eq 'libcurl'
? qr/\Aintercom oauth: token exchange with "https:\/\/localhost:\d+\/auth\/eagle\/token" failed: (SSL peer certificate or SSH remote key was not OK|Peer certificate cannot be authenticated|SSL certificate problem)[^\n]*\n\z/
: qr/\Aintercom oauth: token exchange with "\/_intercom_sr\/https\/127\.0\.0\.1\/localhost\/\d+\/auth\/eagle\/token" failed: no connection to the location's upstream 127\.0\.0\.1:\d+: TCP or TLS failed \(nginx's line above says why\)\n\z/
--- error_log eval
# the subrequest engine cannot tell TCP from TLS: nginx's line says why
$ENGINE eq 'libcurl' ? qr/token exchange/ : qr/upstream SSL certificate verify error: \(10:certificate has expired\) while SSL handshaking to upstream/



=== TEST 58: token endpoint: plain HTTP where TLS is expected
--- token_url: https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"access_token\":\"plain\"}"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: [^\n]*\n\z/



=== TEST 59: token endpoint: a token carrying CR LF (header injection) is refused (and a plain-http token URL draws a warning)
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"access_token":"tok\r\nX-Injected: 1"}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the access token has characters outside printable ASCII[^\n]*\n\z/
--- error_log eval
qr/"intercom_oauth_token_url" "http:\/\/127\.0\.0\.1:\d+\/auth\/eagle\/token" is not https: the client secret and the authorization code travel in the clear/



=== TEST 60: token endpoint: a token over 2k is refused
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"access_token":"' . ('t' x 2049) . '"}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the access token is too long[^\n]*\n\z/



=== TEST 61: token endpoint: a JSON object followed by garbage
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"access_token":"tok"} {"x":1}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response is not a JSON object[^\n]*\n\z/



=== TEST 62: token endpoint: 204 with no body
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response is not a JSON object[^\n]*\n\z/



=== TEST 63: token endpoint: a 301 to a working endpoint is not followed
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
"HTTP/1.1 301 Moved\r\nLocation: https://127.0.0.1:$ENV{TEST_NGINX_STANDIN_PORT}/behave/ok/auth/eagle/token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: status 301[^\n]*\n\z/



=== TEST 64: token endpoint: a token inside a nested object does not count
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"data":{"access_token":"nested"},"list":[{"token":"x"}]}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response has no access token[^\n]*\n\z/



=== TEST 65: token endpoint: "type":"error.list" beside a token
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"access_token":"tok","type":"error.list"}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: the response is an error list[^\n]*\n\z/



=== TEST 66: log injection: a newline in the token endpoint's error message cannot forge a log line
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"type":"error.list","errors":[{"code":"x","message":"m\n2020/01/01 00:00:00 [warn] 1#1: forged"}]}';
"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- module_log eval
qr/\Aintercom oauth: token exchange with "[^"]+" failed: status 401[^\n]*\n\z/
--- no_error_log eval
qr/^2020\/01\/01/



=== TEST 67: zone: a zone full of tokens evicts the least recently used ones, and new callbacks still succeed
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_zone\s+\S+;}{intercom_oauth_zone intercom:64k;}r
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_key $arg_u; }
location = /token { intercom_oauth_key $arg_u; return 200 "[$intercom_oauth_connected]"; }
location = /status { intercom_oauth_status; }
--- request eval
[(map { callback_request(code => "z$_", state => make_state()) . "&u=user-$_" } 1 .. 200),
 "GET /token?u=user-1", "GET /token?u=user-200", "GET /status"]
--- error_code eval
[(302) x 200, 200, 200, 200]
--- response_body_like eval
[(qr/302 Found/) x 200, qr/^\[0\]$/, qr/^\[1\]$/, qr/"evicted":[1-9]/]
--- no_error_log
[error]



=== TEST 68: zone: used states fill their half of the zone: 503 zone_full, never a 500
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_zone\s+\S+;}{intercom_oauth_zone intercom:32k;}r
             =~ s{intercom_oauth_token_url\s+\S+;}{intercom_oauth_token_url https://127.0.0.1:1/auth/eagle/token;}r
--- config
location = /callback { intercom_oauth_callback; }
location = /status { intercom_oauth_status; }
--- more_headers eval: session_cookie()
--- request eval
[(map { callback_request(code => "s$_", state => make_state()) } 1 .. 200), "GET /status"]
--- error_code_like eval
[(qr/^50[23]$/) x 199, qr/^503$/, qr/^200$/]
--- response_body_like eval
[(qr/<code>(exchange_failed|zone_full)<\/code>/) x 200, qr/"zone_full":[1-9]/]



=== TEST 69: log injection: a newline in /me's admin id cannot forge a log line
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_api_url\s+\S+;}{intercom_oauth_api_url http://127.0.0.1:\$TEST_NGINX_RAND_PORT_1;}r
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"type":"admin","id":"1\n2020/01/01 00:00:00 [warn] 1#1: forged","email":"a@b","app":{"id_code":"w"}}';
"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 302
--- error_log eval
qr/intercom oauth: token of admin 1/
--- no_error_log eval
qr/^2020\/01\/01/



=== TEST 70: session fixation: a session id planted before the flow does not hold the token after it
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



=== TEST 71: log injection: an error message with a newline in a body that is not valid JSON to the end
The message is read before the parser meets the syntax error; the token
parser once returned before it replaced control characters, and the
callback logged the message all the same (found by fuzz/fuzz_token.c; its
input is the seed fuzz/corpus/token/regress-error-code-clean-after-syntax-error).
--- token_url: http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/auth/eagle/token
--- tcp_listen: $TEST_NGINX_RAND_PORT_1
--- tcp_reply eval
my $b = '{"type":"error.list","errors":[{"code":"x","message":"m\n2020/01/01 00:00:00 [warn] 1#1: forged"}] garbage';
"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n$b"
--- error_code: 502
--- response_body
exchange_failed [0][]
--- error_log eval
qr/token exchange with "[^"]+" failed: status 401/
--- no_error_log eval
qr/^2020\/01\/01/



=== TEST 72: zone: a token that is read keeps its place while a flood of unread ones is evicted
Eviction approximates least-recently-used with a second chance (CLOCK): a
token read since it was queued goes back to the head.  user-keep is stored
first, so it is the oldest, and read after each of the 150 callbacks that
follow (a 64k zone holds about 130 tokens beside their used states); it
must outlive user-1, stored after it and never read.
--- http_config eval
$HTTP_CONFIG =~ s{intercom_oauth_zone\s+\S+;}{intercom_oauth_zone intercom:64k;}r
--- config
location = /callback { intercom_oauth_callback; intercom_oauth_key $arg_u; }
location = /token { intercom_oauth_key $arg_u; return 200 "[$intercom_oauth_connected]"; }
location = /status { intercom_oauth_status; }
--- request eval
[callback_request(code => "keep", state => make_state()) . "&u=user-keep",
 (map { (callback_request(code => "z$_", state => make_state()) . "&u=user-$_",
         "GET /token?u=user-keep") } 1 .. 150),
 "GET /token?u=user-1", "GET /token?u=user-150", "GET /status"]
--- error_code eval
[302, (302, 200) x 150, 200, 200, 200]
--- response_body_like eval
[qr/302 Found/, (qr/302 Found/, qr/^\[1\]$/) x 150, qr/^\[0\]$/, qr/^\[1\]$/,
 qr/"evicted":[1-9]/]
--- no_error_log
[error]
