# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

package Test::Nginx::Socket;

# A Test::Nginx::Socket-compatible runner for the project's t/*.t files,
# used only when openresty's Test::Nginx is not installed (the Makefile
# adds -I t/lib/compat then).  Blocks are parsed by Test::Base as in the
# original; this file runs them: it restarts nginx per block (through
# Test::Nginx::Util), sends the requests over plain sockets, and turns
# every expectation into one Test::More assertion named like the
# original's ("t/foo.t TEST 3: bad state - status code ok").

use strict;
use warnings;

use Test::Base -base;    # lower-case: no Spiffy source filter
use Test::Nginx::Util;

use Digest::MD5 ();
use Digest::SHA ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(EAGAIN EINTR EWOULDBLOCK);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Time::HiRes qw(sleep time);

our $VERSION = '0.33';

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_test_cleanup_handler
    add_cleanup_handler add_response_body_check
);

our @ResponseBodyChecks;
our $PrevBlock;           # the block run last (for shutdown_error_log)
our $NginxStarted = 0;    # an nginx was started by some earlier block
my $WarnedRequestEnv;

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

# shutdown_error_log of the block run last, once its nginx has stopped.
$Test::Nginx::Util::AfterStopHook = sub {
    my (undef, $dry_run) = @_;
    check_shutdown_error_log($PrevBlock, $dry_run) if $PrevBlock;
    undef $PrevBlock;
};

# ---------------------------------------------------------------------------
# The block loop.

sub run_tests () {
    srand($$ ^ int(time * 1000));
    get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

    # Ctrl-C, a kill or a closed output pipe still stop nginx (through
    # the END block).
    local $SIG{INT}  = $SIG{INT}  || sub { exit 130 };
    local $SIG{TERM} = $SIG{TERM} || sub { exit 143 };
    local $SIG{PIPE} = $SIG{PIPE}
                       || sub { Test::Nginx::Util::quick_exit(141) };

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @Test::Nginx::Util::BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        $_->($block) for @Test::Nginx::Util::TestCleanupHandlers;
        $PrevBlock = $block;
    }
}

sub run_test ($) {
    my $block = shift;
    my $name  = $block->name;

    return if defined $block->SKIP;

    %Test::Nginx::Util::RandPorts = ();

    if (my ($count, $why) = skip_spec($block)) {
        SKIP: { Test::More::skip("$name - $why", $count) }
        return;
    }

    my $config = expand_env_in_text($block->config, $name);

    if (defined $config && !$NoNginxManager) {
        return unless prepare_nginx($block, $config);

    } else {
        if (!$NoNginxManager && !$NginxStarted) {
            bail_out("$name - No '--- config' section specified and no "
                     . "nginx from an earlier block to use");
        }

        # Reuse the running nginx.  As in the original, the log checks
        # then see its whole error.log, earlier blocks' lines included.
        $Test::Nginx::Util::ErrLogFilePos = 0;
    }

    if (defined(my $init = $block->init)) {
        eval_in_main($init);
        bail_out("$name - init failed: $@") if $@;
    }

    for my $rep (0 .. $RepeatEach - 1) {
        my $query_file;
        $query_file = Test::Nginx::Util::start_tcp_server($block)
            if defined $block->tcp_listen;

        Test::Nginx::Util::write_user_files($block) if $rep > 0;

        run_requests($block, $rep);

        check_tcp_query($block, $query_file) if defined $query_file;
        Test::Nginx::Util::stop_tcp_server();
    }
}

# "--- skip_nginx: 2: < 1.19.0 [: reason]" or "--- skip_eval: 2: perl".
# Returns (number of tests, reason) when the block is to be skipped.
sub skip_spec ($) {
    my $block = shift;
    my $name  = $block->name;

    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?|==)\s*(\d+)\.(\d+)\.(\d+)
                  (?:\s*:\s*(.*?))?\s*$/x
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($count, $op, $reason) = ($1, $2, $6);
        my $want = get_canon_version($3, $4, $5);
        my $have = get_nginx_version();
        my $skip = $op eq '<'  ? $have <  $want
                 : $op eq '<=' ? $have <= $want
                 : $op eq '>'  ? $have >  $want
                 : $op eq '>=' ? $have >= $want
                 :               $have == $want;
        return ($count, $reason || "nginx version $op $3.$4.$5") if $skip;
    }

    if (defined(my $spec = $block->skip_eval)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)$/s
            or bail_out("$name - Invalid --- skip_eval spec: $spec");
        my ($count, $code) = ($1, $2);
        my $skip = eval_in_main($code);
        bail_out("$name - skip_eval failed: $@") if $@;
        return ($count, 'skip_eval') if $skip;
    }

    return;
}

# Restarts (or, with TEST_NGINX_USE_HUP, reloads) nginx with the block's
# configuration.  Returns true when requests can be sent.
sub prepare_nginx ($$) {
    my ($block, $config) = @_;
    my $name = $block->name;
    my $must_die = defined $block->must_die;

    if ($UseHup && !$must_die && $NginxStarted
        && $Test::Nginx::Util::NginxPid)
    {
        Test::Nginx::Util::refresh_server_root();
        Test::Nginx::Util::write_user_files($block);
        Test::Nginx::Util::gen_config_version();
        Test::Nginx::Util::write_config_file($block, $config, 'on');
        $Test::Nginx::Util::ErrLogFilePos = 0;

        # The previous block's nginx workers shut down gracefully now.
        check_shutdown_error_log($PrevBlock, 'TEST_NGINX_USE_HUP is set')
            if $PrevBlock;
        undef $PrevBlock;

        my ($ok, $why) = Test::Nginx::Util::reload_nginx($block);
        return 1 if $ok;
        return start_failed($block, $why);
    }

    Test::Nginx::Util::stop_nginx();
    Test::Nginx::Util::setup_server_root();
    Test::Nginx::Util::write_user_files($block);
    Test::Nginx::Util::gen_config_version() if $UseHup;

    # Under valgrind nginx runs in the foreground as our child; a block
    # that must die runs without valgrind, as in the original.
    my $daemon = $UseValgrind && !$must_die ? 'off' : 'on';
    Test::Nginx::Util::write_config_file($block, $config, $daemon);
    $Test::Nginx::Util::ErrLogFilePos = 0;

    if ($must_die) {
        check_must_die($block);
        return 0;
    }

    my ($ok, $why) = Test::Nginx::Util::start_nginx($block);
    return start_failed($block, $why) unless $ok;

    $NginxStarted = 1;
    return 1;
}

sub start_failed ($$) {
    my ($block, $why) = @_;

    Test::More::fail($block->name . " - nginx failed to start");
    Test::More::diag($why);
    return 0;
}

# --- must_die: nginx has to refuse the configuration (with the given exit
# code if it is a number); error_log / no_error_log then apply to what it
# logged and printed.
sub check_must_die ($) {
    my $block = shift;
    my $name = $block->name;
    my $must_die = $block->must_die;

    for my $rep (0 .. $RepeatEach - 1) {
        $Test::Nginx::Util::ErrLogFilePos = 0;
        unlink $ErrLogFile;

        my ($status, $exec_failed) = Test::Nginx::Util::run_nginx_to_die();

        if ($exec_failed) {
            Test::More::fail("$name - failed to execute the nginx command line");

        } elsif ($status & 128) {
            Test::More::fail("$name - nginx core dumped");

        } elsif ($status & 127) {
            Test::More::fail("$name - nginx was killed by signal "
                             . ($status & 127));

        } elsif (looks_like_number($must_die)) {
            Test::More::is($status >> 8, $must_die,
                           "$name - die with the expected exit code");

        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        my @lines = (@{ Test::Nginx::Util::error_log_data() },
                     split /^/m,
                           Test::Nginx::Util::slurp($Test::Nginx::Util::StderrFile));
        check_error_log($block, $rep, \@lines);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it\n";
            my $deadline = time + 2;
            sleep 0.01 until -s $PidFile || time > $deadline;
            my $pid = Test::Nginx::Util::read_pid_file();
            Test::Nginx::Util::kill_process($pid, POSIX::SIGQUIT()) if $pid;
        }
    }
}

# ---------------------------------------------------------------------------
# Requests.

# The requests of a block: a list of requests, each a list of packets
# ({ value => bytes, delay_before => seconds }) sent on one connection.
sub requests_from_block ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        my @bits = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        return [[map { ref $_ ? $_ : { value => $_ } } @bits]];
    }

    my $more_headers = $block->more_headers // '';
    my $headers_for = sub {
        my $i = shift;
        return $more_headers unless ref $more_headers eq 'ARRAY';
        return $more_headers->[$i]
            // bail_out("$name - --- more_headers lacks data for request $i");
    };

    if (defined(my $reqs = $block->pipelined_requests)) {
        bail_out("$name - --- pipelined_requests must be an array (eval)")
            unless ref $reqs eq 'ARRAY';

        my $data = '';
        for my $i (0 .. $#$reqs) {
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            my $req = expand_env_in_text($reqs->[$i], $name);
            $data .= build_request($block, [$req], $headers_for->($i),
                                   $conn)->[0];
        }
        return [[{ value => $data }]];
    }

    my $request = $block->request;
    bail_out("$name - no --- request, raw_request or pipelined_requests")
        unless defined $request;

    my @list = ref $request eq 'ARRAY' ? @$request : ($request);
    my @out;

    for my $i (0 .. $#list) {
        my $one = $list[$i];

        # A request may be given as packets: strings or
        # { value => ..., delay_before => ... } hashes.
        my @packets = ref $one eq 'ARRAY'
            ? map { ref $_ eq 'HASH' ? {%$_} : { value => $_ } } @$one
            : ({ value => $one });

        my $built = build_request($block, [map { $_->{value} } @packets],
                                  $headers_for->($i), 'close');
        $packets[$_]{value} = $built->[$_] for 0 .. $#packets;
        push @out, \@packets;
    }

    return \@out;
}

# Builds an HTTP request from "METHOD URI [HTTP/x]" plus body lines, as the
# original does: Host and Connection are added unless given, --- more_headers
# follow, and a body gets a Content-Length (the body is then trimmed).  The
# request may be split in packets; the split points are kept.
sub build_request ($$$$) {
    my ($block, $pieces, $more_headers, $conn) = @_;
    my $name = $block->name;

    my $text = join '', @$pieces;
    my @cuts;    # split points in $text
    my $pos = 0;
    push @cuts, $pos += length $_ for @$pieces[0 .. $#$pieces - 1];

    # Not substituted by the original in --- request / more_headers.
    for my $s ($text, $more_headers) {
        next unless $s =~ /\$TEST_NGINX_/;
        warn "WARNING: $name - \$TEST_NGINX_* in --- request or "
             . "more_headers is substituted here but not by openresty's "
             . "Test::Nginx\n" unless $WarnedRequestEnv++;
        $s = expand_env_in_text($s, $name);
    }

    # Leading comment lines and blank space are dropped.
    my $lead = 0;
    $lead = length $1 if $text =~ /^((?:\s*#[^\n]*\n|\s+)*)/;
    $text = substr $text, $lead;

    my ($line, $body) = $text =~ /^([^\n]*\n?)(.*)$/s;
    $line =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or bail_out("$name - bad request line: $line");
    my ($method, $uri, $version) = ($1, $2 // '/', $3 // 'HTTP/1.1');

    my ($headers, $chunked) = format_more_headers($more_headers);

    my $body_start = $lead + length $line;    # offset of $body in the input
    if ($body ne '' && !$chunked && $headers !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^(\s*)//;
        $body_start += length $1;
        $body =~ s/\s+$//;
        $headers .= 'Content-Length: ' . length($body) . "\r\n";
    }

    my $head = "$method $uri $version\r\n";
    $head .= "Host: $ServerName\r\n" if $headers !~ /(?:^|\n)Host:/i;
    $head .= "Connection: $conn\r\n" if $headers !~ /(?:^|\n)Connection/i;
    $head .= "$headers\r\n";

    my $out = $head . $body;

    # Map the split points: inside the request line they stay where they
    # were, inside the body they move with it.
    my @packets;
    my $from = 0;
    for my $cut (@cuts) {
        my $to = $cut < $body_start
            ? ($cut - $lead < length($line) - 1 ? $cut - $lead : length $head)
            : length($head) + $cut - $body_start;
        $to = length $out if $to > length $out;
        $to = $from if $to < $from;
        push @packets, substr $out, $from, $to - $from;
        $from = $to;
    }
    push @packets, substr $out, $from;

    return \@packets;
}

# "Key: value" lines (# comments skipped) -> CRLF header text, chunked?
sub format_more_headers ($) {
    my $text = shift // '';
    my ($out, $chunked) = ('', 0);

    for my $line (split /\n+/, $text) {
        next if $line =~ /^\s*#/ || $line !~ /\S/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $val =~ s/\r$//;
        $chunked = 1 if lc $key eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }

    return ($out, $chunked);
}

# Sends one request (its packets) on a new connection and reads the
# response until the server closes.  --- timeout bounds each wait.
sub send_request ($$$) {
    my ($block, $packets, $timeout) = @_;
    my $name = $block->name;

    my $sock;
    for my $try (1 .. 10) {
        $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
            PeerPort => $ServerPortForClient, Proto => 'tcp',
            Timeout => $timeout) and last;
        sleep 0.05 * $try;
    }

    if (!$sock) {
        Test::More::fail("$name - Can't connect to "
                         . "$ServerAddr:$ServerPortForClient: $! (aborted)");
        return '';
    }

    # A server closing early (413, ...) must not kill us with SIGPIPE.
    local $SIG{PIPE} = 'IGNORE';

    $sock->blocking(0);
    my $select = IO::Select->new($sock);
    my @queue = @$packets;
    my ($buf, $off) = ((shift @queue)->{value} // '', 0);
    my $writing = 1;
    my $resp = '';
    my $middle_delay = $block->raw_request_middle_delay;

    while (1) {
        my ($readable, $writable) = IO::Select->select($select,
            $writing ? $select : undef, undef, $timeout);

        if (!$readable && !$writable) {
            if (!defined $block->abort) {
                Test::More::fail("ERROR: client socket timed out - $name\n");
            }
            last;
        }

        if ($writable && @$writable) {
            my $n = syswrite $sock, $buf, length($buf) - $off, $off;
            if (!defined $n) {
                if ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
                    warn "WARNING: $name - write failed: $!\n";
                    $writing = 0;
                }

            } elsif (($off += $n) >= length $buf) {
                if (my $next = shift @queue) {
                    my $delay = $next->{delay_before} // $middle_delay;
                    sleep $delay if $delay;
                    ($buf, $off) = ($next->{value} // '', 0);

                } else {
                    $writing = 0;
                    if (defined(my $how = $block->shutdown)) {
                        shutdown $sock, $how =~ /^\d+$/ ? $how : 1;
                    }
                }
            }
        }

        if ($readable && @$readable) {
            my $n = sysread $sock, my $chunk, 65536;
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                warn "WARNING: $name - HTTP response read failure: $!\n";
                last;
            }
            last if $n == 0;
            $resp .= $chunk;
        }
    }

    close $sock;
    return $resp;
}

# Splits a raw response: (HTTP::Response, raw header text, bytes left over
# after the body, for pipelined responses).
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /^(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw);
    my $left;

    my $code = $res->code;
    if (defined $code && $code !~ /^\d+$/) {
        $res->code(undef);
        undef $code;
    }

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $te  = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    my $content = $res->content // '';

    if (defined $te && $te eq 'chunked') {
        my ($body, $rest, $err) = decode_chunked($content,
                                                 [$res->header('Trailer')]);
        if (defined $err) {
            Test::More::fail("$name - invalid chunked body received: $err");
        }
        $res->content($body);
        $left = $rest;

    } elsif (defined $len && $len =~ /^\d+$/ && !$head_req) {
        if (length $content < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got " . length($content) . "\n";

        } elsif (length $content > $len) {
            $left = substr $content, $len;
            $res->content(substr $content, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

# Returns (decoded body, bytes after the last chunk, error or undef).
sub decode_chunked ($$) {
    my ($raw, $trailers) = @_;
    my $body = '';
    my $pos = 0;

    while (1) {
        pos($raw) = $pos;
        $raw =~ /\G[ \t]*([0-9A-Fa-f]+)[^\r\n]*\r\n/gc
            or return ($body, undef, $pos < length $raw
                       ? "bad chunk size at offset $pos"
                       : 'no last chunk found');
        my $size = hex $1;
        $pos = pos $raw;

        if ($size == 0) {
            # Trailer fields, then the final CRLF.
            while ($raw =~ /\G([^\r\n]+)\r\n/gc) { }
            $raw =~ /\G\r\n/gc
                or return ($body, undef, 'expected CRLF after the last chunk');
            my $rest = substr $raw, pos $raw;
            return ($body, length $rest ? $rest : undef, undef);
        }

        return ($body, undef, 'not enough octets for the data section')
            if length($raw) < $pos + $size + 2;
        $body .= substr $raw, $pos, $size;
        $pos += $size;
        return ($body, undef, 'expected CRLF after chunk data')
            if substr($raw, $pos, 2) ne "\r\n";
        $pos += 2;
    }
}

# Sends the block's requests and checks each response; then the logs.
sub run_requests ($$) {
    my ($block, $rep) = @_;
    my $name = $block->name;

    my $reqs = requests_from_block($block);
    my $timeout = parse_time($block->timeout) // timeout();

    my $pipelined = $block->pipelined_requests;
    my $need_array = $pipelined ? 1 : @$reqs > 1;
    my $idx = 0;

    for my $i (0 .. $#$reqs) {
        my $packets = $reqs->[$i];
        my $head_req = (join '', map { $_->{value} } @$packets)
                       =~ /^\s*HEAD\s+/;
        my $raw = send_request($block, $packets, $timeout);
        my $pending = $pipelined ? scalar @$pipelined : 0;

        while (1) {
            my ($res, $raw_headers, $left);

            if (!defined $block->ignore_response) {
                ($res, $raw_headers, $left) = defined $block->http09
                    ? (HTTP::Response->new(200, 'OK', [], $raw), '')
                    : parse_response($name, $raw, $head_req);
            }

            if ($pending) {
                $raw = $left // '';
                $pending--;

            } elsif (defined $left && length $left) {
                (my $shown = $left) =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
                warn "WARNING: $name - unexpected extra bytes after the "
                     . "response: \"$shown\"\n";
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $idx,
                                           $need_array);
                check_response_headers($block, $res, $raw_headers, $idx,
                                       $need_array);
                filter_response_body($block, $res, $idx);
                check_response_body($block, $res, $idx, $rep, $need_array);
            }

            # Between requests the logs are checked too, each time only
            # the lines logged since the previous check.
            if ($pending || $i < $#$reqs) {
                sleep $block->wait if $block->wait;
                check_error_log($block, $rep);
                check_access_log($block, $rep)
                    unless defined $block->ignore_response;
            }

            $idx++;
            last unless $pending;
        }
    }

    sleep $block->wait if $block->wait;
    check_error_log($block, $rep);
    check_access_log($block, $rep) unless defined $block->ignore_response;
}

# ---------------------------------------------------------------------------
# Checks.

# The expectation for request $idx: arrays when a block sends several.
sub indexed ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;

    return $value unless ref $value eq 'ARRAY';
    return $value->[$idx] if $need_array;
    return $value->[0];
}

sub check_error_code ($$$$) {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';

    if (defined $block->error_code_like) {
        my $pat = indexed($name, $block->error_code_like, $idx, $need_array);
        Test::More::like($got, qr/$pat/sm, "$name - status code ok");

    } else {
        my $want = defined $block->error_code
            ? indexed($name, $block->error_code, $idx, $need_array)
            : 200;
        $want =~ s/^\s+|\s+$//g if defined $want;
        Test::More::is($got, $want, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined(my $pat = $block->raw_response_headers_like)) {
        $pat = indexed($name, $pat, $idx, $need_array);
        Test::More::like($raw_headers, qr/$pat/s,
                         "$name - raw resp headers like");
    }

    if (defined(my $pat = $block->raw_response_headers_unlike)) {
        $pat = indexed($name, $pat, $idx, $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s,
                           "$name - raw resp headers unlike");
    }
}

# "Key: value" lines; "!Key" means absent (value undef).  Order is kept.
sub parse_headers ($) {
    my $text = shift // '';
    my @pairs;

    for my $line (split /\n/, $text) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        if ($line =~ s/^!\s*//) {
            push @pairs, [$line, undef];
        } else {
            my ($key, $val) = split /\s*:\s*/, $line, 2;
            push @pairs, [$key, $val // ''];
        }
    }

    return @pairs;
}

sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined(my $spec = $block->response_headers)) {
        for my $pair (parse_headers(indexed($name, $spec, $idx, $need_array))) {
            my ($key, $want) = @$pair;

            if (!defined $want) {
                Test::More::unlike($raw_headers // '', qr/^\s*\Q$key\E\s*:/mi,
                    "$name - header $key not present in the raw headers");
                next;
            }

            $want =~ s/\$ServerPort\b/$ServerPort/g;
            $want =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $got = $res ? scalar $res->header($key) : undef;
            Test::More::is($got // '', $want, "$name - header $key ok");
        }

    } elsif (defined(my $like = $block->response_headers_like)) {
        for my $pair (parse_headers(indexed($name, $like, $idx, $need_array))) {
            my ($key, $pat) = @$pair;
            my $got = $res ? scalar $res->header($key) : undef;
            $pat //= '';
            Test::More::like($got // '', qr/^$pat$/,
                             "$name - header $key like ok");
        }
    }
}

# --- response_body_filters: uc, lc, length, md5_hex, ... or code refs.
my %BodyFilters = (
    uc => sub { uc $_[0] },  lc => sub { lc $_[0] },
    ucfirst => sub { ucfirst $_[0] },  lcfirst => sub { lcfirst $_[0] },
    length => sub { length $_[0] },
    md5_hex => \&Digest::MD5::md5_hex,  sha1_hex => \&Digest::SHA::sha1_hex,
);

sub filter_response_body ($$$) {
    my ($block, $res, $idx) = @_;
    my $filters = $block->response_body_filters;

    return unless defined $filters && $res && defined $res->content;

    $filters = [split ' ', $filters] unless ref $filters;
    $filters = [$filters] unless ref $filters eq 'ARRAY';
    $filters = $filters->[$idx] // [] if ref $filters->[0] eq 'ARRAY';

    my $body = $res->content;
    for my $f (@$filters) {
        my $code = ref $f eq 'CODE' ? $f : $BodyFilters{$f}
            or bail_out($block->name . " - unknown response_body_filters: $f");
        $body = $code->($body);
    }
    $res->content($body);
}

sub check_response_body ($$$$$) {
    my ($block, $res, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $body = $res ? $res->content : undef;

    if (defined $block->response_body) {
        my $want = indexed($name, $block->response_body, $idx, $need_array);

        if (!ref $want && defined $want) {
            $want =~ s/\$ServerPort\b/$ServerPort/g;
            $want =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $want = expand_env_in_text($want, $name);
        }

        if (ref $want) {
            Test::More::like($body, $want,
                "$name - response_body - like (repeated req $rep, req $idx)");
        } else {
            is_str($body, $want, "$name - response_body - response is "
                   . "expected (repeated req $rep, req $idx)");
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $pat = indexed($name, $block->${\"response_body_$type"}, $idx,
                          $need_array);

        if (!ref $pat) {
            $pat =~ s/\$ServerPort\b/$ServerPort/g;
            $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }

        my $summary = trim($body) // '';
        $summary = substr($summary, 0, 100) . '...' if length $summary > 100;

        my $check = $type eq 'like' ? \&Test::More::like : \&Test::More::unlike;
        $check->($body, qr/$pat/s,
                 "$name - response_body_$type - response is expected "
                 . "($summary)");
    }

    $_->($block, $body, $idx, $rep, 0) for @ResponseBodyChecks;
}

# A log expectation as a list of patterns: text (one per line, matched as
# a substring), a qr//, or an array of both.
sub patterns ($) {
    my $pats = shift;

    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats] if ref $pats eq 'ARRAY';

    chomp(my $text = $pats);
    return [grep { length } split /\n+/, $text];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# One assertion per pattern: each of --- error_log must match some line,
# none of --- no_error_log may.  $what is "error.log" or "access.log".
sub check_patterns {
    my ($name, $lines, $must, $must_not, $what, $suffix) = @_;

    for my $pat (@{ patterns($must // []) }) {
        next unless defined $pat;
        if (grep { line_matches($_, $pat) } @$lines) {
            Test::More::pass("$name - pattern \"$pat\" matches a line in "
                             . "$what$suffix");
        } else {
            Test::More::fail("$name - pattern \"$pat\" should match a line "
                             . "in $what$suffix");
        }
    }

    for my $pat (@{ patterns($must_not // []) }) {
        next unless defined $pat;
        my $p = fmt_str($pat);
        my ($at) = grep { line_matches($lines->[$_], $pat) } 0 .. $#$lines;

        if (!defined $at) {
            Test::More::pass("$name - pattern \"$p\" does not match a line "
                             . "in $what$suffix");
            next;
        }

        my $ln = fmt_str($lines->[$at]);
        my $last = $at + 10 < $#$lines ? $at + 10 : $#$lines;
        Test::More::fail("$name - pattern \"$p\" should not match any line "
                         . "in $what but matches line \"$ln\"$suffix\n"
                         . join '', @$lines[$at + 1 .. $last]);
    }
}

# Note-worthy log levels nobody expected are shown as warnings.
sub value_contains {
    my ($val, $str) = @_;
    return 0 unless defined $val;
    return grep { value_contains($_, $str) } @$val if ref $val eq 'ARRAY';
    return index("$val", $str) >= 0;
}

sub check_error_log ($$;$) {
    my ($block, $rep, $lines) = @_;
    my $name = $block->name;
    my $suffix = " (req $rep)";

    my $data = sub { $lines //= Test::Nginx::Util::error_log_data() };

    my $grep = $block->grep_error_log;
    if (defined $grep) {
        $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
        my $want = $block->grep_error_log_out;
        bail_out("$name - --- grep_error_log needs --- grep_error_log_out")
            unless defined $want;
        $want = $want->[$rep] if ref $want eq 'ARRAY';
        $want = expand_env_in_text($want, $name);

        my $matched = '';
        for my $line (@{ $data->() }) {
            my $hit = ref $grep ? ($line =~ $grep ? $& : undef)
                    : index($line, $grep) >= 0 ? $grep : undef;
            $matched .= "$hit\n" if defined $hit && $hit !~ /\n/;
        }

        is_str($matched, $want, "$name - grep_error_log_out$suffix");
    }

    my $must = $block->error_log;
    my $must_not = $block->no_error_log;

    check_patterns($name, $data->(), $must, $must_not, 'error.log', $suffix)
        if defined $must || defined $must_not;

    for my $level (qw(alert crit emerg)) {
        next if value_contains($must, "[$level")
                || value_contains($must_not, "[$level");
        warn "WARNING: $name - " . fmt_str($_) . "\n"
            for grep { /\[$level\]/ } @{ $data->() };
    }

    for my $line (grep { /\bAssertion .*?failed\b/ } @{ $data->() }) {
        Test::More::fail("$name - " . fmt_str($line));
    }
}

sub check_access_log ($$) {
    my ($block, $rep) = @_;
    # scalar(): Test::Base's accessor of an absent section returns an
    # empty list, which would shift --- no_access_log into $must
    my $must = scalar $block->access_log;
    my $must_not = scalar $block->no_access_log;

    return unless defined $must || defined $must_not;

    check_patterns($block->name, Test::Nginx::Util::access_log_data(),
                   $must, $must_not, 'access.log', " (req $rep)");
}

# --- shutdown_error_log / no_shutdown_error_log: lines nginx logged while
# stopping after the block.
sub check_shutdown_error_log ($$) {
    my ($block, $dry_run) = @_;
    my $must = scalar $block->shutdown_error_log;
    my $must_not = scalar $block->no_shutdown_error_log;

    return unless defined $must || defined $must_not;

    if ($dry_run) {
        my $n = @{ patterns($must // []) } + @{ patterns($must_not // []) };
        SKIP: {
            Test::More::skip($block->name . " - shutdown_error_log - tests "
                             . "skipped due to $dry_run", $n);
        }
        return;
    }

    check_patterns($block->name, Test::Nginx::Util::error_log_data(),
                   $must, $must_not, 'error.log', '');
}

# --- tcp_query / tcp_query_len: what the mock server received.
sub check_tcp_query ($$) {
    my ($block, $file) = @_;
    my $name = $block->name;
    my $got = Test::Nginx::Util::slurp($file);

    is_str($got, $block->tcp_query, "$name - tcp_query ok")
        if defined $block->tcp_query;
    Test::More::is(length $got, $block->tcp_query_len,
                   "$name - TCP query length ok")
        if defined $block->tcp_query_len;
}

# Perl from a section (init, skip_eval) runs in the test file's package.
sub eval_in_main ($) {
    package main;
    no strict;
    return eval $_[0];
}

1;
