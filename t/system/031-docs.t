# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# The docs are the reference: every directive and variable the module
# registers has its entry in docs/directives.md and its row in README.md,
# and neither names one the module does not have.  Every relative link in
# README.md and docs/ leads to a file that exists.

use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $root = abs_path(dirname(__FILE__) . '/../..');

sub slurp {
    open my $fh, '<', "$root/$_[0]" or die "$_[0]: $!";
    local $/;
    return <$fh>;
}

my $module = slurp('ngx_http_intercom_oauth_module.c');

# the directive table and the variable table of the module file
my ($commands) = $module =~ /ngx_command_t\s+ngx_http_intercom_oauth_commands\[\]\s*=\s*\{(.*?)\n\};/s;
my ($vars) = $module =~ /ngx_http_variable_t\s+ngx_http_intercom_oauth_vars\[\]\s*=\s*\{(.*?)\n\};/s;
ok($commands && $vars, 'the module file has its directive and variable tables');

my %directive = map { $_ => 1 } ($commands // '') =~ /\{ ngx_string\("([a-z_]+)"\)/g;
my %variable = map { $_ => 1 } ($vars // '') =~ /\{ ngx_string\("([a-z_]+)"\)/g;
ok(keys %directive >= 30, scalar(keys %directive) . ' directives registered');
ok(keys %variable >= 8, scalar(keys %variable) . ' variables registered');

my $ref = slurp('docs/directives.md');
my $readme = slurp('README.md');

my %ref_directive = map { $_ => 1 } $ref =~ /^### (intercom_[a-z_]+)$/mg;
my %ref_variable = map { $_ => 1 } $ref =~ /^### \$(intercom_[a-z_]+)$/mg;
my %readme_directive = map { $_ => 1 }
    $readme =~ /^\| \[`(intercom_[a-z_]+)`\]\(docs\/directives\.md#/mg;

is_deeply([sort keys %ref_directive], [sort keys %directive],
          'docs/directives.md has an entry for each directive, and no other');
is_deeply([sort keys %ref_variable], [sort keys %variable],
          'docs/directives.md has an entry for each variable, and no other');
is_deeply([sort keys %readme_directive], [sort keys %directive],
          'README.md\'s directive table has a row for each directive, and no other');
is_deeply([grep { $readme !~ /\$\Q$_\E\b/ } sort keys %variable], [],
          'README.md names every variable');

# relative links: [text](path) and [text](path#anchor)
my @bad;
for my $file ('README.md', 'SECURITY.md', map { "docs/$_" } do {
                  opendir my $d, "$root/docs" or die $!;
                  grep { /\.md$/ } readdir $d }) {
    my $text = slurp($file);
    my $dir = dirname($file);
    for my $link ($text =~ /\]\(([^)\s]+)\)/g) {
        next if $link =~ m{^(?:[a-z]+:|#)};
        (my $path = $link) =~ s/#.*//;
        push @bad, "$file: $link" unless -e "$root/$dir/$path";
    }
}
is_deeply(\@bad, [], 'every relative link in README.md, SECURITY.md and docs/ leads to a file');

done_testing();
