# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

package IntercomOAuthTest::Hostile;

# What the t/006-hostile-*.t files share.  Hostile input and misbehaving
# peers: every refusal has a defined answer, says what went wrong in one
# log line, and stores nothing (the blocks that show a limit from its
# accepting side store a token, and check it).  A block whose title starts
# with DEFECT fails on purpose until the module is fixed.
#
# What t/003-callback.t and t/004-exchange.t already cover is not repeated
# there (repeated code and state, a code with %00 or UTF-8, the limits on
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
# their ", client: ..." tail ("--- module_log").  Test::Nginx checks logs
# after each request of a block, so the log-checking blocks are single
# requests.
#
# hostile_blocks() gives every block of the file what it does not bring
# itself: callback_blocks() with the locations below, and
#   --- module_log     the expected output of that grep_error_log
#
# Exported for the blocks' "eval" sections: $CookieLocations,
# encode_all, args_of_length.

use strict;
use warnings;

use IntercomOAuthTest;

our @EXPORT = qw(hostile_blocks encode_all args_of_length $CookieLocations);

sub import {
    IntercomOAuthTest::export_names(__PACKAGE__, \@EXPORT, scalar caller);
}

# the module's own lines, info and above, without the request's context
our $ModuleLines = qr/\[(?:info|notice|warn|error|crit|alert|emerg)\] \d+#\d+: (?:\*\d+ )?\Kintercom(?:_oauth_zone| oauth:) [^,\n]*/;

our $Locations = <<'_EOC_' . $SEEN_LOCATION;
location = /callback {
    intercom_oauth_callback;
    error_page 400 403 405 413 500 502 503 504 /after;
}
location = /after {
    return 200 "$intercom_oauth_error [$intercom_oauth_connected][$intercom_access_token]\n";
}
location = /token { return 200 "[$intercom_oauth_connected][$intercom_access_token]\n"; }
location = /connect { intercom_connect_button; }
_EOC_

# the session cookie blocks: a refusal is the built-in page, so that no
# second location reads the malformed cookie again (and logs it again)
our $CookieLocations = <<'_EOC_';
location = /callback { intercom_oauth_callback; }
_EOC_

sub hostile_blocks {
    require Test::Nginx::Util;

    # added before callback_blocks' preprocessor, so it runs after it
    &Test::Nginx::Util::add_block_preprocessor(sub {
        my $block = shift;

        if (!defined $block->grep_error_log && defined $block->module_log) {
            $block->set_value('grep_error_log', $ModuleLines);
            $block->set_value('grep_error_log_out', $block->module_log);
        }
    });

    callback_blocks($Locations);
}

# a state with every character percent-encoded, once or twice
sub encode_all {
    my ($s, $times) = @_;
    for (1 .. $times) {
        $s =~ s/(.)/sprintf('%%%02X', ord $1)/ges;
    }
    return $s;
}

# "code=...&state=...&pad=xxx" of exactly $len bytes
sub args_of_length {
    my $len = shift;
    my $args = 'code=abc&state=' . make_state() . '&pad=';
    return $args . ('x' x ($len - length $args));
}

1;
