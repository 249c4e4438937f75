# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause
#
# "make NGINX_SRC=... NGINX_CONF_FLAGS=... NGINX_BIN=..." for any nginx
# (docs/building.md): util/configure-nginx, which make runs, configures a
# release tarball's tree with ./configure and a git checkout with
# auto/configure; NGINX_CONF_FLAGS replaces every other flag (Debian's
# conf_flags and the defaults), quotes as "nginx -V" prints them; the
# defaults carry --with-compat; and "make deps" asks for Debian's nginx
# packages only when the tree or the binary is Debian's.
#
# The trees here are stand-ins whose configure script writes down its
# arguments, one per line: nothing is compiled, and no port is used.

use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $root = abs_path(dirname(__FILE__) . '/../..');
my $tmp  = tempdir('intercom-build-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub spew {
    my ($file, $text, $mode) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh;
    chmod $mode, $file if defined $mode;
}

sub slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    return scalar <$fh>;
}

# a tree whose configure (at PATH inside it) writes its name and
# arguments into objs/args
sub tree {
    my ($name, $path, %o) = @_;
    my $dir = "$tmp/$name";
    mkdir $dir;
    mkdir "$dir/auto";
    spew("$dir/$path", <<'_SH_', 0755);
#!/bin/sh
mkdir -p objs
echo "$0" > objs/args
for a in "$@"; do echo "$a" >> objs/args; done
_SH_
    spew("$dir/conf_flags", $o{conf_flags}) if defined $o{conf_flags};
    if ($o{git}) {
        mkdir "$dir/.git";
        spew("$dir/.git/HEAD", "ref: refs/heads/master\n");
    }
    return $dir;
}

# runs util/configure-nginx MODE into a fresh directory with ENV; returns
# (exit status, output, configure's arguments as a list, build directory)
my $n = 0;
sub configure {
    my ($mode, %env) = @_;
    my $build = "$tmp/build-" . ++$n;
    local %ENV = %ENV;
    delete @ENV{qw(NGINX_CONF_FLAGS NGINX_CONF_FLAGS_SET CC_OPT LD_OPT)};
    $ENV{$_} = $env{$_} for keys %env;
    my $out = `$root/util/configure-nginx $mode $build 2>&1`;
    my $rc = $? >> 8;
    my @args = split /\n/, slurp("$build/objs/args");
    return ($rc, $out, \@args, $build);
}

my $tarball = tree('nginx-1.31.4', 'configure');
my $git     = tree('nginx-git', 'auto/configure', git => 1);
my $debian  = tree('debian-src', 'configure',
                   conf_flags => "NGX_CONF_FLAGS=( --prefix=/usr/share/nginx --with-compat --with-debug )\n");

# -- which configure ----------------------------------------------------

my ($rc, $out, $args, $build) = configure('dynamic', NGINX_SRC => $tarball);
is($rc, 0, 'a release tarball\'s tree configures') or diag $out;
is($args->[0], './configure', 'with ./configure');
is_deeply([@$args[1 .. $#$args]],
          ['--with-compat', '--with-debug', '--with-http_ssl_module',
           '--with-http_v2_module', "--add-dynamic-module=$root"],
          'the defaults: --with-compat, what the suite needs, the module');

($rc, $out, $args, $build) = configure('dynamic', NGINX_SRC => $git);
is($rc, 0, 'a git checkout configures') or diag $out;
is($args->[0], 'auto/configure', 'with auto/configure');
ok(!-e "$build/.git", 'its .git is not copied');

($rc, $out, $args) = configure('static', NGINX_SRC => $git);
is($args->[-1], "--add-module=$root", 'static: --add-module');

($rc, $out) = configure('dynamic', NGINX_SRC => "$tmp/nothing");
isnt($rc, 0, 'a directory that is no nginx tree fails');
like($out, qr/is not an nginx source tree: it has neither configure .* nor auto\/configure/,
     'and says what it looked for');

# -- the flags ----------------------------------------------------------

($rc, $out, $args) = configure('dynamic', NGINX_SRC => $debian);
is_deeply([@$args[1 .. $#$args]],
          ['--prefix=/usr/share/nginx', '--with-compat', '--with-debug',
           "--add-dynamic-module=$root"],
          'Debian\'s tree: its conf_flags');

($rc, $out, $args) = configure('dynamic', NGINX_SRC => $debian,
    NGINX_CONF_FLAGS_SET => 1,
    NGINX_CONF_FLAGS => q{--prefix=/etc/nginx --with-cc-opt='-g -O2 -fPIC' --with-http_ssl_module});
is_deeply([@$args[1 .. $#$args]],
          ['--prefix=/etc/nginx', '--with-cc-opt=-g -O2 -fPIC',
           '--with-http_ssl_module', "--add-dynamic-module=$root"],
          'NGINX_CONF_FLAGS replaces conf_flags, quotes as "nginx -V" prints them');

($rc, $out, $args) = configure('dynamic', NGINX_SRC => $tarball,
                               NGINX_CONF_FLAGS_SET => 1, NGINX_CONF_FLAGS => '');
is_deeply([@$args[1 .. $#$args]], ["--add-dynamic-module=$root"],
          'NGINX_CONF_FLAGS empty: no flag at all (an nginx built without --with-compat)');

($rc, $out, $args) = configure('dynamic', NGINX_SRC => $tarball,
                               CC_OPT => '-O1 -g', LD_OPT => '-fsanitize=address');
is_deeply([@$args[-3 .. -1]],
          ['--with-cc-opt=-O1 -g', '--with-ld-opt=-fsanitize=address',
           "--add-dynamic-module=$root"],
          'CC_OPT and LD_OPT come after the flags');

# -- make: which flags reach the script, which packages deps wants -------

my $make = sub {
    my $cmd = shift;
    local %ENV = %ENV;
    delete @ENV{qw(NGINX_CONF_FLAGS NGINX_CONF_FLAGS_SET TEST_NGINX_BINARY
                   NGINX_SRC NGINX_BIN MAKEFLAGS MFLAGS)};
    return scalar `cd '$root' && make --no-print-directory $cmd 2>&1`;
};

my $deps = $make->('-n deps-build');
like($deps, qr/apt-ensure build-essential nginx-dev nginx-core /,
     'make deps: Debian\'s nginx packages for Debian\'s tree and binary');
$deps = $make->("-n deps-build NGINX_SRC=$tarball NGINX_BIN=$tmp/nginx");
like($deps, qr/apt-ensure build-essential +libssl-dev /,
     'another tree and binary: none of nginx\'s packages')
    or diag $deps;
unlike($deps, qr/nginx-(?:dev|core)/, 'neither nginx-dev nor nginx-core');

# the signature make rebuilds on: NGINX_SRC and the flags, set or not
my $sig = sub {
    local %ENV = (%ENV, @_);
    return scalar `$root/util/configure-nginx --signature`;
};
isnt($sig->(NGINX_SRC => $tarball), $sig->(NGINX_SRC => $git),
     'another NGINX_SRC reconfigures');
isnt($sig->(NGINX_SRC => $tarball),
     $sig->(NGINX_SRC => $tarball, NGINX_CONF_FLAGS_SET => 1, NGINX_CONF_FLAGS => ''),
     'NGINX_CONF_FLAGS set empty reconfigures');

done_testing();
