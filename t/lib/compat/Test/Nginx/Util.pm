# Copyright (C) 2026 The ngx_http_intercom_oauth_module authors
# SPDX-License-Identifier: BSD-2-Clause

package Test::Nginx::Util;

# Server side of the compatible Test::Nginx runner: settings, the server
# root, the generated nginx.conf, starting and stopping nginx (optionally
# under valgrind), reading error.log, the one-connection TCP mock.
#
# Used only when openresty's Test::Nginx is not installed; it mirrors the
# behaviour of its Test::Nginx::Util 0.33 (see the project's notes on the
# test file format) without sharing its code.

use strict;
use warnings;

use Exporter 'import';
use Cwd ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use File::Temp ();
use IO::Socket::INET ();
use IO::Select ();
use List::Util qw(first);
use POSIX qw(:sys_wait_h SIGQUIT SIGTERM SIGKILL SIGHUP SIGUSR1);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Test::LongString ();
use Time::HiRes qw(sleep time);

our $VERSION = '0.33';

# ---------------------------------------------------------------------------
# Settings: environment first, then the setters a test file may call.

our $ServerAddr          = '127.0.0.1';
our $ServerName          = 'localhost';
our $ServerPort          = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                           || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $NginxBinary         = $ENV{TEST_NGINX_BINARY} || find_nginx();
our $LoadModules         = $ENV{TEST_NGINX_LOAD_MODULES} // '';
our $UseValgrind         = $ENV{TEST_NGINX_USE_VALGRIND};
our $UseHup              = $ENV{TEST_NGINX_USE_HUP};
our $Randomize           = $ENV{TEST_NGINX_RANDOMIZE};
our $NoShuffle           = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $LogLevel            = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $Timeout             = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $Verbose             = $ENV{TEST_NGINX_VERBOSE};
our $WorkerUser          = $ENV{TEST_NGINX_WORKER_USER};
our $Workers             = 1;
our $WorkerConnections   = 64;
our $RepeatEach          = 1;
our $NoLongString        = 0;
our $NoRootLocation      = 0;
our $CheckAccumErrLog    = 0;
our $ConfigPreamble      = '';
our $SleepTime           = 0.015;    # settle time after starts and requests
our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;
our @TestCleanupHandlers;

our ($NginxVersion, $NginxRawVersion);    # "1.022001", "1.22.1"
our $NoNginxManager = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;

sub gen_rand_port (;$);
sub bail_out (@);

if (defined $WorkerUser && $WorkerUser !~ /^\w[-\w]+(?:\s+\w[-\w]+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

if ($Randomize) {
    $ServerPort = gen_rand_port()
        or die "TEST_NGINX_RANDOMIZE: no free port found\n";
    $ServerPortForClient = $ServerPort;
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $StderrFile = "$LogDir/nginx.stderr";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";

# Per-block state.
our $ErrLogFilePos = 0;    # error.log offset where the block's lines begin
our %RandPorts;            # $TEST_NGINX_RAND_PORT_N values of this block

# The nginx we run: its pid, whether it is our foreground child (valgrind),
# the block that started it (for valgrind and shutdown_error_log reports).
our ($NginxPid, $NginxIsChild, $NginxBlock);
our ($TcpServerPid, $TcpSocket);
our $ConfigVersion = '';    # TEST_NGINX_USE_HUP: marker of the loaded conf
our $HupPort;               # TEST_NGINX_USE_HUP: where that marker is served
our $AfterStopHook;         # called after nginx stopped: ($block, $dry_run)
our $InSubprocess  = 0;

our @EXPORT = qw(
    $ServerAddr $ServerName $ServerPort $ServerPortForClient
    $ServRoot $HtmlDir $LogDir $ErrLogFile $AccLogFile $ConfFile $PidFile
    $NginxBinary $NginxVersion $RepeatEach $NoLongString $UseValgrind
    $UseHup $NoShuffle $Verbose $NoNginxManager
    env_to_nginx no_long_string server_addr server_name server_port
    server_port_for_client repeat_each worker_connections workers
    log_level master_on master_off master_process_enabled no_shuffle
    no_root_location config_preamble add_block_preprocessor html_dir
    server_root timeout use_hup no_nginx_manager check_accum_error_log
    add_cleanup_handler add_test_cleanup_handler bail_out is_str
    parse_time expand_env_in_text get_nginx_version get_canon_version
    sleep_time verbose trim
);

sub env_to_nginx (@) {
    for my $v (@_) {
        die "env_to_nginx: bad argument: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub no_long_string ()        { $NoLongString = 1 }
sub no_shuffle ()            { $NoShuffle = 1 }
sub no_root_location ()      { $NoRootLocation = 1 }
sub use_hup ()               { $UseHup = 1 }
sub no_nginx_manager ()      { $NoNginxManager = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on ()             { $MasterProcessEnabled = 'on' }
sub master_off ()            { $MasterProcessEnabled = 'off' }
sub config_preamble ($)      { $ConfigPreamble = shift }
sub html_dir ()              { $HtmlDir }
sub server_root ()           { $ServRoot }
sub sleep_time ()            { $SleepTime }
sub verbose ()               { $Verbose }

# Getter when called without arguments, setter otherwise.
sub server_addr (@)            { @_ ? ($ServerAddr = shift) : $ServerAddr }
sub server_name (@)            { @_ ? ($ServerName = shift) : $ServerName }
sub server_port (@)            { @_ ? ($ServerPort = shift) : $ServerPort }
sub server_port_for_client (@) {
    @_ ? ($ServerPortForClient = shift) : $ServerPortForClient;
}
sub repeat_each (@)        { $RepeatEach = shift if @_; $RepeatEach }
sub worker_connections (@) {
    @_ ? ($WorkerConnections = shift) : $WorkerConnections;
}
sub workers (@)            { @_ ? ($Workers = shift) : $Workers }
sub log_level (@)          { @_ ? ($LogLevel = shift) : $LogLevel }
sub timeout (@)            { @_ ? ($Timeout = shift) : $Timeout }

sub master_process_enabled (@) {
    return $MasterProcessEnabled eq 'on' ? 1 : 0 unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}

# Later preprocessors run first, as in the original.
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# Compare strings; a qr// expectation means "like".
sub is_str (@) {
    my ($got, $expected, $desc) = @_;

    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }

    my $ok = $NoLongString
        ? Test::More::is($got, $expected, $desc)
        : Test::LongString::is_string($got, $expected, $desc);

    # For multi-line text a unified diff says more than the first offset.
    if (!$ok && defined $got && defined $expected
        && ($got =~ /\n./s || $expected =~ /\n./s))
    {
        require Text::Diff;
        Test::More::diag("diff (- expected, + got):\n"
            . Text::Diff::diff(\$expected, \$got, { STYLE => 'Unified' }));
    }

    return $ok;
}

# "500ms" -> 0.5, "2s" -> 2, "3" -> 3.
sub parse_time ($) {
    my $t = shift;
    return undef unless defined $t;
    $t =~ s/^\s+|\s+$//g;
    return $1 / 1000 if $t =~ /^([\d.]+)ms$/;
    return $1 if $t =~ /^([\d.]+)s?$/;
    return $t;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\s+/ /g;
    return $s;
}

# ---------------------------------------------------------------------------
# nginx binary and version.

sub find_nginx {
    for my $dir (split /:/, $ENV{PATH} // '') {
        return 'nginx' if $dir ne '' && -x "$dir/nginx" && !-d "$dir/nginx";
    }
    return -x '/usr/sbin/nginx' ? '/usr/sbin/nginx' : 'nginx';
}

sub get_canon_version (@) { sprintf '%d.%03d%03d', @_[0 .. 2] }

# Parses "nginx -V"; returns the canonical version ("1.022001").
sub get_nginx_version () {
    return $NginxVersion if defined $NginxVersion;

    my $out = `$NginxBinary -V 2>&1`;
    if ($? != 0 || !defined $out) {
        bail_out("Cannot run \"$NginxBinary -V\" (set TEST_NGINX_BINARY): "
                 . ($out // $!));
    }

    if ($out =~ m{(?:nginx|openresty)[^/\s]*/(\d+)\.(\d+)\.(\d+)}
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)})
    {
        $NginxRawVersion = "$1.$2.$3";
        $NginxVersion = get_canon_version($1, $2, $3);
        return $NginxVersion;
    }

    bail_out("Cannot parse the output of \"$NginxBinary -V\": $out");
}

my $NginxV;
sub nginx_V () { $NginxV //= `$NginxBinary -V 2>&1` // '' }

# ---------------------------------------------------------------------------
# $TEST_NGINX_* substitution.

sub gen_rand_port (;$) {
    my ($used) = @_;
    $used //= {};

    for (1 .. 1000) {
        my $port = 1988 + int rand 63000;
        next if $used->{$port} || $port == $ServerPort;
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
            LocalPort => $port, Proto => 'tcp', Listen => 1, Reuse => 1)
            or next;
        close $sock;
        return $port;
    }

    return undef;
}

# Replaces $TEST_NGINX_NAME by $ENV{TEST_NGINX_NAME} (nginx's own
# $variables are left alone); $TEST_NGINX_RAND_PORT_N gets a free port
# chosen once per block.  An undefined variable stops the run.
sub expand_env_in_text ($$;$) {
    my ($text, $name) = @_;

    return $text if !defined $text || ref $text;

    $text =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/env_value($1, $name)/ge;

    return $text;
}

sub env_value ($$) {
    my ($var, $name) = @_;

    if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
        if (!defined $RandPorts{$var}) {
            my $port = gen_rand_port({ reverse %RandPorts })
                // bail_out("$name - no free port for \$$var");
            $RandPorts{$var} = $port;
        }
        return $RandPorts{$var};
    }

    bail_out("$name - No environment $var defined.\n")
        unless defined $ENV{$var};

    return $ENV{$var};
}

# ---------------------------------------------------------------------------
# Server root, user files, nginx.conf.

# Removes what a previous run created, and only that: a mistaken
# TEST_NGINX_SERVROOT pointing at real data makes rmdir fail, not rm -rf.
sub setup_server_root () {
    if (-d $ServRoot) {
        remove_tree($ConfDir, $LogDir, $HtmlDir, "$ServRoot/cache",
                    glob("$ServRoot/*_temp"), glob("$ServRoot/*_cache"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }

    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    bail_out("Failed to create $ConfDir") unless -d $ConfDir;

    write_file("$HtmlDir/index.html", '<html><head><title>It works!</title>'
               . '</head><body>It works!</body></html>');
}

# TEST_NGINX_USE_HUP: keep the directories, the pid file and the logs the
# running nginx holds open; remove the rest.
sub refresh_server_root () {
    remove_tree($ConfDir, $HtmlDir, glob("$ServRoot/*_temp"));
    make_path($HtmlDir, $ConfDir);
    unlink $ErrLogFile, $AccLogFile, $StderrFile;
    write_file("$HtmlDir/index.html", '<html><head><title>It works!</title>'
               . '</head><body>It works!</body></html>');
}

sub write_file ($$) {
    my ($path, $data) = @_;
    open my $out, '>', $path or bail_out("Can't open $path for writing: $!");
    binmode $out;
    print $out $data;
    close $out;
}

# --- user_files: ">>> relative/path [touch -t date]" then the content;
# or, via eval, an array of [path, content, date].
sub write_user_files ($) {
    my $block = shift;
    my $name  = $block->name;
    my $files = $block->user_files;

    return unless defined $files;

    if (!ref $files) {
        my @list;
        for my $line (split /^/m, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, '', $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - --- user_files must be text or an array");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";

        (my $dir = $path) =~ s{/[^/]*$}{};
        make_path($dir) unless -d $dir;

        write_file($path, expand_env_in_text($body // '', $name));

        if ($date) {
            system("TZ=GMT touch -t '$date' '$path'") == 0
                or bail_out("$name - cannot set the date of $path");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $daemon) = @_;
    my $name = $block->name;

    my $main_config      = expand_env_in_text($block->main_config // '', $name);
    my $http_config      = expand_env_in_text($block->http_config // '', $name);
    my $post_main_config = expand_env_in_text($block->post_main_config // '',
                                              $name);
    my $log_level        = $block->log_level || $LogLevel;
    my $master           = $UseHup ? 'on' : $MasterProcessEnabled;

    my $modules = join '', map { "load_module $_;\n" }
                           grep { length } split /\s+/, $LoadModules;
    my $env = join '', map { /\s/ ? "env '$_';\n" : "env $_;\n" } @EnvToNginx;

    # Temporary files go under the server root, not the packaged paths.
    my $temp_paths = '';
    for my $kind (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $http_config =~ /\b${kind}_temp_path\b/;
        next if $kind =~ /^(?:fastcgi|scgi|uwsgi)$/
                && nginx_V() =~ /--without-http_${kind}_module/;
        $temp_paths .= "    ${kind}_temp_path $ServRoot/${kind}_temp;\n";
    }

    (my $server_name = $block->server_name // $ServerName) =~ s/(['\\])/\\$1/g;

    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    # TEST_NGINX_USE_HUP: a server that tells which configuration is live,
    # on a port of its own so that polling it leaves the test's logs alone.
    $HupPort //= gen_rand_port() // bail_out("no free port for USE_HUP")
        if $UseHup;
    my $version_server = !$UseHup ? '' : <<"_EOC_";
    server {
        listen          $ServerAddr:$HupPort;
        server_name     'Test-Nginx';
        access_log      off;
        error_log       $LogDir/hup.log;

        location = /ver {
            return 200 '$ConfigVersion';
        }
    }
_EOC_

    # TEST_NGINX_WORKER_USER, else root when running as root, as the
    # original does
    my $user = defined $WorkerUser ? "user $WorkerUser;\n"
             : $> == 0             ? "user root;\n"
             : '';

    write_file($ConfFile, <<"_EOC_");
worker_processes  $Workers;
daemon $daemon;
master_process $master;
error_log $ErrLogFile $log_level;
pid       $PidFile;
$env$modules
$main_config

http {
    access_log $AccLogFile;
$temp_paths
    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config

    server {
        listen          $ServerPort;
        server_name     '$server_name';

        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root_location    }
$version_server}

$post_main_config

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
}
$user
_EOC_
}

# ---------------------------------------------------------------------------
# Processes.

# kill 0 also succeeds on a zombie nobody reaps (PID 1 in a container).
sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    waitpid($pid, WNOHANG);
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        return 0 if $stat =~ /^\d+ \(.*\) [ZX] /s;
    }
    return kill 0, $pid;
}

# Signals $pid and waits up to $wait seconds for it to go; then TERM, KILL.
sub kill_process ($$;$) {
    my ($pid, $sig, $wait) = @_;

    return 1 unless is_running($pid);

    kill $sig, $pid;
    for my $try ([$wait // $Timeout, SIGTERM], [2, SIGKILL], [2, 0]) {
        my ($secs, $next) = @$try;
        my $deadline = time + $secs;
        while (time < $deadline) {
            return 1 unless is_running($pid);
            sleep 0.02;
        }
        last unless $next;
        warn "WARNING: nginx $pid did not exit in time, sending signal "
             . "$next\n";
        kill $next, $pid;
    }

    return !is_running($pid);
}

sub read_pid_file () {
    open my $in, '<', $PidFile or return undef;
    my $pid = <$in>;
    close $in;
    return undef unless defined $pid && $pid =~ /^\s*(\d+)/;
    return $1;
}

# An nginx left running by an earlier run (TEST_NGINX_NO_CLEAN), if the
# pid file names a process that still is nginx.
sub stale_nginx_pid () {
    my $pid = read_pid_file() or return undef;
    my $cmdline = slurp("/proc/$pid/cmdline");
    return $cmdline =~ /nginx/ ? $pid : undef;
}

# Is something listening on TCP $port?  Reading /proc, unlike connecting,
# leaves no trace in nginx's error.log.
sub is_tcp_port_listening ($) {
    my $port = shift;

    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $in, '<', $file or next;
        while (<$in>) {
            return 1 if /^\s*\d+: [0-9A-F]+:([0-9A-F]{4}) \S+ 0A /
                        && hex($1) == $port;
        }
    }

    return 0;
}

sub nginx_command () {
    my @cmd = ($NginxBinary);

    # -e (1.19.5+) sends the errors nginx logs before reading its
    # configuration to the test's error.log too.
    push @cmd, '-e', $ErrLogFile if get_nginx_version() >= 1.019005;

    return (@cmd, '-p', "$ServRoot/", '-c', $ConfFile);
}

our $CoreSuppressions = Cwd::abs_path(
    File::Spec->catfile((File::Spec->splitpath(__FILE__))[1],
                        '../../valgrind-nginx-core.supp')) // '';

sub valgrind_command () {
    my @cmd = ('valgrind', '-q', '--tool=memcheck', '--leak-check=full',
               '--show-possibly-lost=no', '--errors-for-leak-kinds=definite',
               '--num-callers=100', '--gen-suppressions=all',
               '--error-exitcode=99', "--log-file=$LogDir/valgrind.%p.log");

    if ($UseValgrind !~ /^\d+$/) {    # TEST_NGINX_USE_VALGRIND="--opts"
        push @cmd, split ' ', $UseValgrind;
    }

    # Known exit-time allocations of nginx itself, then the project's own.
    push @cmd, "--suppressions=$CoreSuppressions" if -f $CoreSuppressions;
    push @cmd, '--suppressions=' . Cwd::abs_path('valgrind.suppress')
        if -f 'valgrind.suppress';

    return @cmd;
}

# fork + exec with stdout to /dev/null and stderr to $StderrFile.
sub spawn (@) {
    my @cmd = @_;

    my $pid = fork // bail_out("fork() failed: $!");
    if ($pid == 0) {
        $InSubprocess = 1;
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $StderrFile;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    return $pid;
}

sub slurp ($) {
    my $file = shift;
    open my $in, '<', $file or return '';
    local $/;
    my $data = <$in>;
    close $in;
    return $data // '';
}

# Starts nginx for $block with the configuration already written.
# Returns (1) on success or (0, $why) with what nginx printed.
sub start_nginx ($) {
    my $block = shift;

    if ($UseValgrind) {
        my $pid = spawn(valgrind_command(), nginx_command());
        my $deadline = time + 60;    # valgrind makes nginx start slowly

        while (time < $deadline) {
            if (waitpid($pid, WNOHANG) == $pid) {
                return (0, start_failure("exited with status $?"));
            }
            if (is_tcp_port_listening($ServerPort) && -s $PidFile) {
                ($NginxPid, $NginxIsChild, $NginxBlock) = ($pid, 1, $block);
                sleep $SleepTime;
                return 1;
            }
            sleep 0.05;
        }

        kill_process($pid, SIGKILL, 1);
        return (0, start_failure('did not listen on port '
                                 . "$ServerPort within 60 seconds"));
    }

    # daemon on: nginx binds its sockets before it daemonizes, so its exit
    # status says whether it is serving.  A port still held by someone
    # else is retried for a few seconds.
    for my $try (1 .. 10) {
        my $pid = spawn(nginx_command());
        waitpid($pid, 0);
        my $status = $?;

        if ($status == 0) {
            my $deadline = time + 5;
            sleep 0.01 until defined(read_pid_file()) || time > $deadline;
            ($NginxPid, $NginxIsChild, $NginxBlock)
                = (read_pid_file(), 0, $block);
            sleep $SleepTime;

            # A module's init_process runs after nginx daemonized.
            return (0, start_failure('exited right after it started'))
                unless is_running($NginxPid);
            return 1;
        }

        my $why = start_failure("exited with status " . ($status >> 8));
        return (0, $why) unless $why =~ /Address already in use/;
        sleep 0.5;
    }

    return (0, start_failure('could not bind its port'));
}

sub start_failure ($) {
    my $status = shift;
    my $stderr = slurp($StderrFile);
    my $errlog = join '', grep { !/\[debug\]/ } split /^/m, slurp($ErrLogFile);
    my $cmd = join ' ', ($UseValgrind ? valgrind_command() : ()),
                        nginx_command();

    return "nginx $status\ncommand: $cmd\n"
           . "stderr:\n$stderr" . "error.log:\n$errlog";
}

# Runs nginx for a "--- must_die" block.  Returns (status, exec failed).
sub run_nginx_to_die () {
    my $pid = spawn(nginx_command());
    waitpid($pid, 0);
    my $status = $?;
    return ($status, ($status >> 8) == 127);
}

# Stops the nginx we started (or one left by an earlier run) and waits for
# it to exit.  Under valgrind, reports what valgrind found as a failure.
sub stop_nginx () {
    my $pid = $NginxPid // stale_nginx_pid();
    my $block = $NginxBlock;
    my $was_child = $NginxIsChild;

    ($NginxPid, $NginxIsChild, $NginxBlock) = ();

    return unless $pid;

    if (is_running($pid)) {
        # Valgrind's leak check at exit takes a while.
        kill_process($pid, SIGQUIT, $was_child ? 60 : $Timeout);
    }

    my $status;
    if ($was_child && waitpid($pid, 0) == $pid) {
        $status = $?;
    }

    check_valgrind_report($block, $status) if $was_child && $UseValgrind;
    unlink $PidFile;

    $AfterStopHook->($block, undef) if $block && $AfterStopHook;
}

sub check_valgrind_report ($$) {
    my ($block, $status) = @_;

    my $report = join '', map { slurp($_) } glob("$LogDir/valgrind.*.log");
    my $errors = $report =~ /\S/ || (defined $status && $status >> 8 == 99);

    return unless $errors;

    my $name = $block ? $block->name : 'nginx';
    Test::More::fail("$name - valgrind reported errors");
    Test::More::diag($report);
}

# TEST_NGINX_USE_HUP: reload the running nginx with the new configuration
# and wait until its /ver location answers with the new version.
sub reload_nginx ($) {
    my $block = shift;
    my $pid = $NginxPid // stale_nginx_pid();

    return (0, 'no running nginx to reload') unless is_running($pid);

    kill SIGUSR1, $pid;    # reopen the logs removed by refresh_server_root
    sleep $SleepTime;
    kill SIGHUP, $pid;

    my $deadline = time + 10;
    my $hits = 0;
    while (time < $deadline) {
        my $ver = http_get_ver();
        if (defined $ver && $ver eq $ConfigVersion) {
            if (++$hits >= 5) {
                $NginxBlock = $block;
                return 1;
            }
            next;
        }
        $hits = 0;
        sleep 0.05;
    }

    return (0, start_failure('did not load the new configuration on HUP'));
}

sub http_get_ver () {
    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
        PeerPort => $HupPort, Proto => 'tcp', Timeout => 1) or return;
    print $sock "GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n";
    local $/;
    my $resp = <$sock> // '';
    close $sock;
    return $resp =~ /\r\n\r\n(.*)$/s ? $1 : undef;
}

sub gen_config_version () {
    $ConfigVersion = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 10;
}

# ---------------------------------------------------------------------------
# error.log and access.log.

# Lines of error.log from $ErrLogFilePos on; the position then moves past
# them, so the next check of the block sees only newer lines.
sub error_log_data () {
    sleep $SleepTime * 3;    # log-phase lines come after the response

    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 unless $CheckAccumErrLog;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;

    return \@lines;
}

sub access_log_data () {
    sleep $SleepTime * 3;
    open my $in, '<', $AccLogFile or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

# ---------------------------------------------------------------------------
# --- tcp_listen: a server for one connection, in a child process.  It
# records what it received in a file (for --- tcp_query) and answers with
# --- tcp_reply (text, array of pieces, or code called with the query).

sub start_tcp_server ($) {
    my $block  = shift;
    my $name   = $block->name;
    my $target = expand_env_in_text($block->tcp_listen, $name);
    my $reply  = $block->tcp_reply;

    $target =~ s/^\s+|\s+$//g;
    bail_out("$name - --- tcp_listen needs a --- tcp_reply")
        unless defined $reply;
    bail_out("$name - bad --- tcp_listen target: $target")
        unless $target =~ /^\d+$/;

    my $sock;
    for (1 .. 30) {
        $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => $target, Proto => 'tcp', Listen => 5, Reuse => 1)
            and last;
        warn "WARNING: $name - cannot listen on $target: $!; retrying\n";
        sleep 0.5;
    }
    bail_out("$name - cannot listen on port $target: $!") unless $sock;

    my $query_len = $block->tcp_query_len;
    $query_len //= length $block->tcp_query if defined $block->tcp_query;

    my (undef, $query_file) = File::Temp::tempfile('tcp-query-XXXXXX',
                                                   TMPDIR => 1, UNLINK => 1);

    my $pid = fork // bail_out("fork() failed: $!");
    if ($pid == 0) {
        $InSubprocess = 1;
        tcp_server_child($block, $sock, $reply, $query_len, $query_file);
        POSIX::_exit(0);
    }

    ($TcpServerPid, $TcpSocket) = ($pid, $sock);
    return $query_file;
}

sub tcp_server_child {
    my ($block, $sock, $reply, $query_len, $query_file) = @_;

    my $client = $sock->accept or return;
    my $buf = '';

    # Read once, or until the expected query length is reached.
    while (1) {
        my $n = sysread $client, my $chunk, 4096;
        last unless $n;
        $buf .= $chunk;
        write_file("$query_file.tmp", $buf);
        rename "$query_file.tmp", $query_file;
        last if !$query_len || length $buf >= $query_len;
    }

    if (my $delay = parse_time($block->tcp_reply_delay)) {
        sleep $delay;
    }

    $reply = $reply->($buf) if ref $reply eq 'CODE';
    for my $piece (ref $reply eq 'ARRAY' ? @$reply : ($reply)) {
        syswrite $client, $piece if defined $piece;
    }

    sleep 1 while defined $block->tcp_no_close;
    close $client;
}

sub stop_tcp_server () {
    if ($TcpServerPid) {
        kill SIGKILL, $TcpServerPid;
        waitpid $TcpServerPid, 0;
    }
    close $TcpSocket if $TcpSocket;
    ($TcpServerPid, $TcpSocket) = ();
}

# ---------------------------------------------------------------------------
# Cleanup at exit.

sub cleanup () {
    $_->() for @CleanupHandlers;
    stop_tcp_server();
}

# Output is gone (SIGPIPE): stop our processes and leave without
# reporting anything more.
sub quick_exit ($) {
    $SIG{PIPE} = 'IGNORE';
    undef $AfterStopHook;
    cleanup();
    stop_nginx() unless $ENV{TEST_NGINX_NO_CLEAN};
    POSIX::_exit(shift);
}

END {
    return if $InSubprocess;
    local $?;    # keep Test::Builder's exit status

    cleanup();

    # Leave the server running for inspection with TEST_NGINX_NO_CLEAN,
    # except under valgrind, whose report needs nginx to exit.
    if (!$ENV{TEST_NGINX_NO_CLEAN} || $UseValgrind) {
        stop_nginx();

    } elsif ($NginxBlock && $AfterStopHook) {
        $AfterStopHook->($NginxBlock, 'TEST_NGINX_NO_CLEAN is set');
    }

    if ($Randomize && $ServRoot =~ m{/t/servroot_\d+$} && -d $ServRoot) {
        remove_tree($ServRoot);
    }
}

1;
