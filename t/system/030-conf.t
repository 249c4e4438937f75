# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# Every file in conf/ passes "nginx -t" with the built module, so that the
# examples cannot rot.
#
# The examples name things that do not exist here (certificates, secret
# files, Debian's log directory, a module path).  Each one is rendered into
# a temporary prefix with stand-in values: the test certificates
# (build/certs, from t/standin/mkcerts.sh), a chmod 600 secret file, logs
# and pid in the prefix, and "load_module" pointing at the built module
# (TEST_NGINX_LOAD_MODULES).  The other files of conf/ (templates) are
# copied beside it, so relative paths work as they do next to nginx.conf.
# conf/quickstart.conf's @NAME@ values are filled in as util/run-demo does,
# once for the local stand-in and once for Intercom.
#
# A conf file must be a complete nginx.conf (with an events block).  The
# last tests check that the harness itself catches errors.
#
# The examples hold for nginx 1.22 (Debian 12) and for the current ones:
# "listen 443 ssl http2;" is the only form 1.22 knows, and nginx >= 1.25.1
# takes it with one notice, which is accepted there, exactly once per such
# line, and nowhere else.  With TEST_NGINX_LOAD_MODULES set and empty the
# module is built into nginx (make test-static): no load_module.

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Basename qw(basename dirname);
use Cwd qw(abs_path);

my $root    = abs_path(dirname(__FILE__) . '/../..');
my $nginx   = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my @modules = split ' ', ($ENV{TEST_NGINX_LOAD_MODULES}
                          // "$root/build/nginx/objs/ngx_http_intercom_oauth_module.so");
my $certs   = $ENV{TEST_NGINX_CERT_DIR} || "$root/build/certs";

-x $nginx or BAIL_OUT("no nginx binary at $nginx (TEST_NGINX_BINARY)");
-f $_ or BAIL_OUT("no module at $_ (make module, or TEST_NGINX_LOAD_MODULES)") for @modules;
my ($version) = `'$nginx' -v 2>&1` =~ m{version: \w+/(\d+\.\d+\.\d+)}
    or BAIL_OUT("$nginx -v does not say its version");
my $http2_notice = sprintf('%03d%03d%03d', split /\./, $version) ge '001025001';
system('sh', "$root/t/standin/mkcerts.sh", $certs) == 0
    or BAIL_OUT("t/standin/mkcerts.sh $certs failed");

my @confs = sort glob("$root/conf/*.conf");
my @other = grep { !/\.conf\z/ && -f } glob("$root/conf/*");
cmp_ok(scalar @confs, '>=', 3, 'conf/ has its examples: ' . join(' ', map { basename $_ } @confs));

my $load = join '', map { "load_module $_;\n" } @modules;

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($file, $text, $mode) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh or die "$file: $!";
    chmod $mode, $file if defined $mode;
}

# a fresh prefix with the other files of conf/, a secret and a logs dir
sub prefix {
    my $dir = tempdir('intercom-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/logs" or die $!;
    spew("$dir/$_", slurp("$root/conf/$_")) for map { basename $_ } @other;
    spew("$dir/intercom.secret", "0123456789abcdef0123456789abcdef\n", 0600);
    return $dir;
}

# conf/quickstart.conf style: @NAME@ filled in as util/run-demo does
sub render_placeholders {
    my ($text, $dir, $standin) = @_;
    # built in: the quickstart's load_module line goes
    $text =~ s/^load_module \@MODULE\@;\n//m unless @modules;
    my %v = (
        MODULE      => $modules[-1],
        PORT        => 8443,
        CERT_DIR    => $certs,
        CLIENT_ID   => 'test-client',
        SECRET_FILE => "$dir/intercom.secret",
    );
    if ($standin) {
        my $base = 'https://127.0.0.1:9443';
        %v = (%v,
            ENDPOINTS    => "
        intercom_oauth_authorize_url  https://localhost:9443/oauth;
        intercom_oauth_token_url      $base/auth/eagle/token;
        intercom_oauth_api_url        $base;
        intercom_oauth_revoke_url     $base/auth/uninstall;
        intercom_oauth_ca_file        $certs/ca.crt;
",
            API_URL      => $base,
            API_SSL_NAME => 'localhost',
            API_CA_FILE  => "$certs/ca.crt");
    } else {
        %v = (%v,
            ENDPOINTS    => '',
            API_URL      => 'https://api.intercom.io',
            API_SSL_NAME => '$proxy_host',
            API_CA_FILE  => '/etc/ssl/certs/ca-certificates.crt');
    }
    my @missing;
    $text =~ s/\@([A-Z_]+)\@/exists $v{$1} ? $v{$1} : do { push @missing, $1; "\@$1\@" }/ge;
    return ($text, @missing);
}

# conf/production.conf style: real paths replaced by stand-in ones
sub render_paths {
    my ($text, $dir) = @_;
    my $n = $text =~ s/^\s*load_module\s+\S*ngx_http_intercom_oauth_module\.so\s*;[^\n]*\n/$load/mg;
    $text = $load . $text unless $n;
    $text =~ s/^(\s*ssl_certificate)\s+\S+;/$1  $certs\/site.crt;/mg;
    $text =~ s/^(\s*ssl_certificate_key)\s+\S+;/$1  $certs\/site.key;/mg;
    $text =~ s{^(\s*(?:\w+_trusted_certificate|ssl_client_certificate|intercom_oauth_ca_file))\s+(/\S+);}
              {-f $2 ? "$1  $2;" : "$1  $certs/ca.crt;"}mge;
    $text =~ s{(intercom_oauth_(?:client_secret|state_secret|store_key|store_password)\s+)file:\S+;}{${1}file:$dir/intercom.secret;}g;
    $text =~ s{^(\s*(?:access_log|error_log))\s+/\S+/([^/\s;]+)}{$1  $dir/logs/$2}mg;
    $text =~ s{^(\s*pid)\s+\S+;}{$1  $dir/logs/nginx.pid;}mg;
    return ($text);
}

# nginx -t on a rendered file: (exit status, output)
sub nginx_t {
    my ($dir, $name) = @_;
    my $out = `'$nginx' -t -p '$dir/' -c '$dir/$name' 2>&1`;
    return ($? >> 8, $out);
}

# the user directive is harmless when the suite does not run as root; on
# nginx >= 1.25.1 "listen ... http2" draws one notice per such line of the
# rendered file, and only those lines may draw it
sub noise {
    my ($out, $file, $text) = @_;
    my @lines = split /\n/, $text;
    return join "\n", grep {
        /\[(warn|emerg|alert|crit|error)\]/
        && !/the "user" directive makes sense only if the master process runs with super-user/
        && !($http2_notice
             && m{^nginx: \[warn\] the "listen \.\.\. http2" directive is deprecated, use the "http2" directive instead in \Q$file\E:(\d+)$}
             && ($lines[$1 - 1] // '') =~ /^\s*listen\s[^;#]*\bhttp2\b/)
    } split /\n/, $out;
}

# proxy_pass to a host name makes nginx -t resolve it, and the test must
# not depend on DNS: an upstream block of that name (pointing at 127.0.0.1)
# is what nginx finds first, so no lookup happens.
sub no_dns {
    my ($text) = @_;
    my %declared = map { $_ => 1 } $text =~ /^\s*upstream\s+(\S+)\s*\{/mg;
    my %hosts;
    for my $host ($text =~ m{^\s*proxy_pass\s+https?://([^/:;\s\$]+)[/;]}mg) {
        next if $declared{$host} || $host eq 'localhost' || $host =~ /^[\d.]+$/;
        $hosts{$host} = 1;
    }
    my $up = join '', map { "    upstream $_ { server 127.0.0.1:9; }\n" } sort keys %hosts;
    $text =~ s/^(http\s*\{[^\n]*\n)/$1$up/m if $up;
    return $text;
}

sub check {
    my ($label, $dir, $name, $text) = @_;
    $text = no_dns($text);
    spew("$dir/$name", $text);
    my ($rc, $out) = nginx_t($dir, $name);
    is($rc, 0, "$label: nginx -t passes") or diag "$out\n--- rendered $dir/$name:\n$text";
    is(noise($out, "$dir/$name", $text), '', "$label: no warning or error")
        or diag $out;
    my $listens = () = $text =~ /^\s*listen\s[^;#]*\bhttp2\b/mg;
    my $notices = () = $out =~ /"listen \.\.\. http2" directive is deprecated/g;
    is($notices, $http2_notice ? $listens : 0,
       "$label: nginx $version: a deprecation notice per \"listen ... http2\""
       . ($http2_notice ? '' : ' (none before 1.25.1)'));
}

for my $file (@confs) {
    my $name = basename $file;
    my $text = slurp($file);

    like($text, qr/^\s*events\s*\{/m, "$name is a complete nginx.conf (events block)")
        or next;

    if ($text =~ /\@[A-Z_]+\@/) {
        for my $standin (1, 0) {
            my $dir = prefix();
            my ($out, @missing) = render_placeholders($text, $dir, $standin);
            is("@missing", '', "$name: every \@NAME\@ has a value") or next;
            check("$name (" . ($standin ? 'the stand-in' : 'Intercom') . ')', $dir, $name, $out);
        }
    } else {
        my $dir = prefix();
        my ($out) = render_paths($text, $dir);
        check($name, $dir, $name, $out);
    }
}

# the harness fails on a broken example: an unknown directive ...
{
    my $dir = prefix();
    my ($out) = render_paths(slurp("$root/conf/production.conf"), $dir);
    $out = no_dns($out);
    $out =~ s/^(http\s*\{)/$1\n    intercom_oauth_no_such_directive on;/m or die;
    spew("$dir/broken.conf", $out);
    my ($rc, $msg) = nginx_t($dir, 'broken.conf');
    isnt($rc, 0, 'a conf file with an unknown directive fails');
    like($msg, qr/unknown directive "intercom_oauth_no_such_directive"/, 'and says why');
}

# ... and a template without its placeholder
{
    my $dir = prefix();
    my ($out) = render_paths(slurp("$root/conf/template.conf"), $dir);
    my ($tpl) = $out =~ /intercom_connect_button_template\s+(\S+);/;
    ok($tpl, 'conf/template.conf sets intercom_connect_button_template');
    $tpl = "$dir/$tpl" unless $tpl =~ m{^/};
    ok(-f $tpl, "the template is beside it: $tpl");
    spew($tpl, "<!DOCTYPE html>\n<title>no link</title>\n");
    spew("$dir/template.conf", no_dns($out));
    my ($rc, $msg) = nginx_t($dir, 'template.conf');
    isnt($rc, 0, 'a template without the placeholder fails');
    like($msg, qr/has no "\{\{authorize_url\}\}" placeholder/, 'and says why');
}

done_testing();
