package Test::Nginx;

# Minimal re-implementation of the public API of nginx-tests' lib/Test/Nginx.pm
# (https://github.com/nginx/nginx-tests), written for this project so that the
# same t/*.t files run unchanged with either library.
#
# Only core Perl modules are used.  See the POD at the end for the supported
# subset and for the (small) differences from the upstream library.

use warnings;
use strict;

use Exporter qw/ import /;

our @EXPORT = qw/ log_in log_out http http_get http_head port /;
our @EXPORT_OK = qw/
    http_gzip_request http_gzip_like http_start http_end http_content
/;
our %EXPORT_TAGS = (
    gzip => [qw/ http_gzip_request http_gzip_like /],
);

use File::Path qw/ rmtree /;
use File::Spec ();
use File::Temp qw/ tempdir /;
use IO::Socket;
use IO::Socket::INET;
use POSIX qw/ WNOHANG /;
use Socket qw/ CRLF /;
use Test::More ();

our $NGINX = $ENV{TEST_NGINX_BINARY} // '../nginx/objs/nginx';

# logical port number => { port => real port, socket => lock socket }
our %ports;

# used by Test::More/Test::Builder when reporting "no alerts" as TODO
our $TODO;

###############################################################################
# object life cycle

sub new {
    my ($class) = @_;
    $class = __PACKAGE__ if !defined $class || ref $class;

    my $dir = tempdir('nginx-test-XXXXXXXXXX', TMPDIR => 1)
        or die "Can't create temp directory: $!\n";

    # nginx worker processes run as an unprivileged user (nobody) when the
    # tests are run as root; they must be able to reach files in here
    chmod 0755, $dir;

    my $self = bless {
        _pid     => $$,
        _alerts  => 1,
        _testdir => $dir,
    }, $class;

    Test::More::BAIL_OUT("no $NGINX binary found") unless -x $NGINX;

    return $self;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@, $!);

    # forked children (daemons) must not tear down the parent's nginx
    return if !defined $self->{_pid} || $self->{_pid} != $$;

    $self->stop();
    $self->stop_daemons();

    my $builder = Test::More->builder;

    if ($builder->expected_tests) {
        local $TODO = 'alerts' unless $self->{_alerts};
        my @alerts = $self->_log_problems();
        Test::More::is(join("\n", @alerts), '', 'no alerts');
    }

    if ($builder->expected_tests) {
        local $TODO;
        my @san = $self->_error_log() =~ /.+Sanitizer.+/gm;
        Test::More::is(join("\n", @san), '', 'no sanitizer errors');
    }

    if ($ENV{TEST_NGINX_CATLOG}) {
        print $self->_error_log();
    }

    if ($ENV{TEST_NGINX_LEAVE}) {
        Test::More::diag("Leaving test directory $self->{_testdir}");
    } else {
        eval { rmtree($self->{_testdir}) };
    }
}

sub _error_log {
    my ($self) = @_;
    my $log = eval { $self->read_file('error.log') };
    return defined $log ? $log : '';
}

# error.log lines that make the "no alerts" test fail: [alert] as upstream,
# plus [crit] and [emerg], minus whatever skip_errors_check() allows
sub _log_problems {
    my ($self) = @_;

    return () if $self->{_skip_all_errors};

    my $skip = $self->{_errors_to_skip} || {};
    my @bad;

    for my $line (split /\n/, $self->_error_log()) {
        next unless $line =~ /\[(alert|crit|emerg)\]/;
        my $level = $1;

        next if exists $skip->{$level} && !@{$skip->{$level}};
        next if grep { $line =~ /$_/ } @{$skip->{$level} || []};

        push @bad, $line;
    }

    return @bad;
}

###############################################################################
# feature checks

my @default_http = qw/
    charset gzip ssi mirror userid access auth_basic autoindex geo map
    referer rewrite proxy fastcgi uwsgi scgi grpc memcached limit_conn
    limit_req empty_gif browser upstream_hash upstream_ip_hash
    upstream_least_conn upstream_least_time upstream_random
    upstream_keepalive upstream_zone split_clients tunnel
/;

my @default_stream = qw/
    access geo limit_conn map pass return set split_clients
    upstream_hash upstream_least_conn upstream_least_time
    upstream_random upstream_zone
/;

my %feature_re = (
    sni           => 'TLS SNI support enabled',
    mail          => '--with-mail((?!\S)|=dynamic)',
    stream        => '--with-stream((?!\S)|=dynamic)',
    stream_ssl    => '--with-stream_ssl_module',
    control_api   => '--with-control-api',
    http          => '(?s)^(?!.*--without-http(?!\S))',
    cache         => '(?s)^(?!.*--without-http-cache)',
    pcre          => '(?s)^(?!.*--without-pcre)',
    upstream_sticky => '(?s)^(?!.*--without-http_upstream_sticky)',
    (map { $_ => "--with-http_${_}_module" }
        qw/ flv perl auth_request realip sub json /),
    (map { $_ => "(?s)^(?!.*--without-http_${_}_module)" } @default_http),
    (map { ("stream_$_" => "(?s)^(?!.*--without-stream_${_}_module)") }
        @default_stream),
    (map { $_ => "(?s)^(?!.*--without-mail_${_}_module)" }
        qw/ pop3 imap smtp /),
);

# features which may be provided by a load_module in TEST_NGINX_GLOBALS
my %dynamic_module = (
    http_geoip   => 'ngx_http_geoip_module',
    image_filter => 'ngx_http_image_filter_module',
    perl         => 'ngx_http_perl_module',
    xslt         => 'ngx_http_xslt_filter_module',
    mail         => 'ngx_mail_module',
    stream       => 'ngx_stream_module',
    stream_geoip => 'ngx_stream_geoip_module',
);

sub _nginx_v {
    my ($self) = @_;
    $self->{_configure_args} = `$NGINX -V 2>&1`
        unless defined $self->{_configure_args};
    return $self->{_configure_args};
}

sub has {
    my ($self, @features) = @_;

    for my $feature (@features) {
        next if $self->has_module($feature) || $self->has_feature($feature);
        Test::More::plan(skip_all => "no $feature available");
    }

    return $self;
}

sub has_module {
    my ($self, $feature) = @_;

    my $re = $feature_re{$feature} // $feature;
    return 1 if $self->_nginx_v() =~ $re;

    my $mod = $dynamic_module{$feature};
    if (defined $mod && defined $ENV{TEST_NGINX_GLOBALS}) {
        return 1 if $ENV{TEST_NGINX_GLOBALS}
            =~ /load_module\s+[^;]*\Q$mod\E[-\w]*\.so\s*;/;
    }

    return 0;
}

sub _version_ge {
    my ($have, $need) = @_;

    my @h = @$have;
    for my $n (@$need) {
        my $h = shift(@h) || 0;
        return 0 if $n > $h;
        return 1 if $h > $n;
    }

    return 1;
}

sub has_feature {
    my ($self, $feature) = @_;

    if ($feature eq 'symlink' || $feature eq 'unix' || $feature eq 'udp') {
        return $^O ne 'MSWin32';
    }

    if ($feature =~ /^socket_ssl/) {
        return 0 unless eval {
            require IO::Socket::SSL;
            IO::Socket::SSL::SSL_VERIFY_NONE();
            1;
        };

        return 1 if $feature eq 'socket_ssl';
        return eval { IO::Socket::SSL->can_client_sni() or die; 1 } ? 1 : 0
            if $feature eq 'socket_ssl_sni';
        return eval { IO::Socket::SSL->can_alpn() or die; 1 } ? 1 : 0
            if $feature eq 'socket_ssl_alpn';
        return IO::Socket::SSL->can('get_sslversion') ? 1 : 0
            if $feature eq 'socket_ssl_sslversion';
        return IO::Socket::SSL->can('get_session_reused') ? 1 : 0
            if $feature eq 'socket_ssl_reused';
        return 0;
    }

    if ($feature =~ /^(openssl|libressl):([0-9.]+)([a-z]*)/) {
        my ($lib, $need, $patch) = ($1, $2, $3);

        return 0 unless $self->_nginx_v() =~ /with $lib ([0-9.]+)([a-z]*)/i;

        my @have = (split(/\./, $1), unpack('C*', $2));
        my @want = (split(/\./, $need), unpack('C*', $patch));
        return _version_ge(\@have, \@want);
    }

    if ($feature eq 'cryptx') {
        return eval {
            require Crypt::Misc;
            die if $Crypt::Misc::VERSION < 0.067;
            1;
        } ? 1 : 0;
    }

    return 0;
}

sub has_version {
    my ($self, $need) = @_;

    my ($have) = $self->_nginx_v() =~ m!nginx version: nginx/([0-9.]+)!;
    return 0 unless defined $have;

    return _version_ge([split /\./, $have], [split /\./, $need]);
}

sub has_daemon {
    my ($self, $daemon) = @_;

    my $found;
    if ($daemon =~ m!/!) {
        $found = -x $daemon;
    } else {
        for my $d (split /:/, $ENV{PATH} // '') {
            my $p = ($d eq '' ? '.' : $d) . "/$daemon";
            if (-f $p && -x _) {
                $found = 1;
                last;
            }
        }
    }

    Test::More::plan(skip_all => "$daemon not found") unless $found;

    return $self;
}

###############################################################################
# test plan and error.log checks

sub plan {
    my ($self, $n) = @_;

    # two more tests are reported on exit: "no alerts", "no sanitizer errors"
    Test::More::plan(tests => $n + 2);

    return $self;
}

sub todo_alerts {
    my ($self) = @_;
    $self->{_alerts} = 0;
    return $self;
}

# Not in nginx-tests (it comes from Angie's fork of the library):
#   skip_errors_check()                   - do not fail on any logged errors
#   skip_errors_check($level)             - ignore all lines of that level
#   skip_errors_check($level, @patterns)  - ignore matching lines of level
sub skip_errors_check {
    my ($self, $level, @patterns) = @_;

    if (!defined $level) {
        $self->{_skip_all_errors} = 1;
        return $self;
    }

    push @{$self->{_errors_to_skip}{$level} //= []}, @patterns;

    return $self;
}

###############################################################################
# starting and stopping nginx

sub _globals_args {
    my ($self) = @_;

    # when the config has no %%TEST_GLOBALS%%, pass pid/error_log via -g
    return () if $self->{_test_globals};

    my $d = $self->{_testdir};
    return ('-g', "pid $d/nginx.pid; error_log $d/error.log debug;");
}

sub args {
    my ($self, @args) = @_;
    $self->{_args} = \@args;
    return $self;
}

sub run {
    my ($self, $conf) = @_;

    my $d = $self->{_testdir};

    if (defined $conf) {
        open my $fh, '<', $conf or die "Can't open $conf: $!\n";
        my $c = do { local $/; <$fh> };
        close $fh;
        $self->write_file_expand('nginx.conf', $c);
    }

    my @cmd = ($NGINX, '-p', "$d/", '-c', 'nginx.conf', '-e', 'error.log',
        @{$self->{_args} || []}, $self->_globals_args());

    my $pid = fork();
    die "Unable to fork(): $!\n" unless defined $pid;

    if ($pid == 0) {
        exec(@cmd) or die "Unable to exec(): $!\n";
    }

    $self->waitforfile("$d/nginx.pid", $pid)
        or die "Can't start nginx";

    $self->{_started} = 1;

    return $self;
}

sub try_run {
    my ($self, $message) = @_;

    my $ok = eval {
        open(my $saved, '>&', \*STDERR) or die "Can't dup STDERR: $!\n";
        close STDERR;
        my $r = eval { $self->run(); 1 };
        my $err = $@;
        open(STDERR, '>&', $saved);
        die $err unless $r;
        1;
    };

    return $self if $ok;

    if ($ENV{TEST_NGINX_VERBOSE}) {
        log_core($_) for split /^/m, $self->_error_log();
    }

    Test::More::plan(skip_all => $message);

    return $self;
}

sub _master_pid {
    my ($self) = @_;
    my $pid = $self->read_file('nginx.pid');
    $pid =~ s/\s+//g;
    return $pid;
}

sub reload {
    my ($self) = @_;

    return $self unless $self->{_started};

    kill 'HUP', $self->_master_pid();

    return $self;
}

sub _reap {
    my ($pid, $tries) = @_;

    for (1 .. $tries) {
        return 1 if waitpid($pid, WNOHANG) != 0;
        select undef, undef, undef, 0.1;
    }

    return 0;
}

sub stop {
    my ($self) = @_;

    return $self unless $self->{_started};

    my $pid = eval { $self->_master_pid() };

    if ($pid) {
        kill 'QUIT', $pid;

        # graceful shutdown may take a while (up to 90 seconds)
        if (!_reap($pid, 900)) {
            kill 'TERM', $pid;
            waitpid($pid, 0);
        }
    }

    $self->{_started} = 0;

    return $self;
}

sub run_daemon {
    my ($self, $code, @args) = @_;

    my $pid = fork();
    die "Can't fork daemon: $!\n" unless defined $pid;

    if ($pid == 0) {
        if (ref $code eq 'CODE') {
            $code->(@args);
        } else {
            exec($code, @args);
        }
        exit 0;
    }

    push @{$self->{_daemons} //= []}, $pid;

    return $self;
}

sub stop_daemons {
    my ($self) = @_;

    while (my $pid = shift @{$self->{_daemons} || []}) {
        kill 'TERM', $pid;

        if (!_reap($pid, 50)) {
            kill 'TERM', $pid;
            waitpid($pid, 0);
        }
    }

    return $self;
}

sub dump_config {
    my ($self) = @_;

    my $d = $self->{_testdir};
    my @cmd = ($NGINX, '-T', '-p', "$d/", '-c', 'nginx.conf',
        '-e', 'error.log', $self->_globals_args());

    my $pid = open(my $fh, '-|');
    die "Can't fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec(@cmd) or exit 127;
    }

    my $out = do { local $/; <$fh> };
    close $fh;

    return $out;
}

###############################################################################
# waiting helpers

sub waitforfile {
    my ($self, $file, $pid) = @_;
    my $exited;

    # up to 5 seconds for the file, or until the given process exits

    for (1 .. 50) {
        return 1 if -e $file;
        return 0 if $exited;
        $exited = waitpid($pid, WNOHANG) != 0 if $pid;
        select undef, undef, undef, 0.1;
    }

    return undef;
}

sub waitforsocket {
    my ($self, $peer) = @_;

    for (1 .. 50) {
        my $s = IO::Socket::INET->new(Proto => 'tcp', PeerAddr => $peer);
        return 1 if defined $s;
        select undef, undef, undef, 0.1;
    }

    return undef;
}

###############################################################################
# files in the test directory

sub testdir {
    my ($self) = @_;
    return $self->{_testdir};
}

sub read_file {
    my ($self, $name) = @_;

    open my $fh, '<', "$self->{_testdir}/$name"
        or die "Can't open $name: $!";
    binmode $fh;
    my $content = do { local $/; <$fh> };
    close $fh;

    return $content;
}

sub write_file {
    my ($self, $name, $content) = @_;

    my $path = "$self->{_testdir}/$name";

    open my $fh, '>', $path or die "Can't create $name: $!";
    binmode $fh;
    print $fh $content;
    close $fh;

    # readable by nginx workers running as an unprivileged user
    chmod 0644, $path;

    return $self;
}

sub write_file_expand {
    my ($self, $name, $content) = @_;

    $content =~ s/%%TEST_GLOBALS%%/$self->test_globals()/ge;
    $content =~ s/%%TEST_GLOBALS_HTTP%%/$self->test_globals_http()/ge;
    $content =~ s/%%TEST_GLOBALS_STREAM%%/$self->test_globals_stream()/ge;
    $content =~ s/%%TESTDIR%%/$self->{_testdir}/g;

    $content =~ s/127\.0\.0\.1:(8\d\d\d)/'127.0.0.1:' . port($1)/ge;

    $content =~ s/%%PORT_(\d+)%%/port($1)/ge;
    $content =~ s/%%PORT_(\d+)_UDP%%/port($1, udp => 1)/ge;

    return $self->write_file($name, $content);
}

###############################################################################
# config snippets

sub _objs_dir {
    my ($vol, $dir) = File::Spec->splitpath($NGINX);
    return File::Spec->rel2abs(File::Spec->catpath($vol, $dir, ''));
}

sub test_globals {
    my ($self) = @_;

    return $self->{_test_globals} if defined $self->{_test_globals};

    my $d = $self->{_testdir};
    my $s = "pid $d/nginx.pid;\nerror_log $d/error.log debug;\n";

    $s .= $ENV{TEST_NGINX_GLOBALS} if $ENV{TEST_NGINX_GLOBALS};
    $s .= $self->test_globals_modules();
    $s .= $self->test_globals_perl5lib() if $s !~ /env PERL5LIB/;

    return $self->{_test_globals} = $s;
}

sub test_globals_modules {
    my ($self) = @_;

    my $dir = $ENV{TEST_NGINX_MODULES};
    $dir = File::Spec->rel2abs($dir // _objs_dir());
    $dir =~ s!/+$!!;

    my @dynamic = (
        [ 'http_geoip\S+=dynamic',   'ngx_http_geoip_module' ],
        [ 'image_filter\S+=dynamic', 'ngx_http_image_filter_module' ],
        [ 'perl\S+=dynamic',         'ngx_http_perl_module' ],
        [ 'xslt\S+=dynamic',         'ngx_http_xslt_filter_module' ],
        [ 'mail=dynamic',            'ngx_mail_module' ],
        [ 'stream=dynamic',          'ngx_stream_module' ],
        [ 'stream_geoip\S+=dynamic', 'ngx_stream_geoip_module' ],
    );

    my $s = '';

    for my $m (@dynamic) {
        my ($re, $name) = @$m;
        my $so = "$dir/$name.so";
        # upstream emits load_module unconditionally; skipping missing
        # files lets distribution builds (e.g. Debian's) start at all
        next unless $self->has_module($re) && -e $so;
        $s .= "load_module $so;\n";
    }

    return $s;
}

sub test_globals_perl5lib {
    my ($self) = @_;

    return '' unless $self->has_module('perl');

    my $objs = _objs_dir();
    $objs =~ s!/+$!!;

    return "env PERL5LIB=$objs/src/http/modules/perl:"
        . "$objs/src/http/modules/perl/blib/arch;\n";
}

sub test_globals_http {
    my ($self) = @_;

    return $self->{_test_globals_http}
        if defined $self->{_test_globals_http};

    my $d = $self->{_testdir};
    my $s = "root $d;\n"
        . "access_log $d/access.log;\n"
        . "client_body_temp_path $d/client_body_temp;\n";

    for my $m (qw/ fastcgi proxy uwsgi scgi /) {
        $s .= "${m}_temp_path $d/${m}_temp;\n" if $self->has_module($m);
    }

    $s .= $ENV{TEST_NGINX_GLOBALS_HTTP} if $ENV{TEST_NGINX_GLOBALS_HTTP};

    return $self->{_test_globals_http} = $s;
}

sub test_globals_stream {
    my ($self) = @_;

    return $self->{_test_globals_stream}
        if defined $self->{_test_globals_stream};

    my $s = '';
    $s .= $ENV{TEST_NGINX_GLOBALS_STREAM} if $ENV{TEST_NGINX_GLOBALS_STREAM};

    return $self->{_test_globals_stream} = $s;
}

###############################################################################
# ports

# port(8080) returns a port number to use instead of 8080 in this run:
# 8080 itself if free, else a random free port from the same block of 500.
# The port is kept reserved by holding a socket of the other protocol bound
# to it (returned by port($n, socket => 1)).  udp => 1 swaps the protocols.

sub port {
    my ($num, %opts) = @_;

    if (!defined $ports{$num}) {
        my $tcp = sub {
            IO::Socket::INET->new(
                Proto     => 'tcp',
                LocalAddr => '127.0.0.1:' . $_[0],
                Listen    => 1,
                ReuseAddr => 1,
            );
        };
        my $udp = sub {
            IO::Socket::INET->new(
                Proto     => 'udp',
                LocalAddr => '127.0.0.1:' . $_[0],
            );
        };

        my ($check, $hold) = $opts{udp} ? ($udp, $tcp) : ($tcp, $udp);
        my ($lock, $probe);
        my $port = $num;

        for my $try (1 .. 10) {
            $port = int($num / 500) * 500 + int(rand(500)) if $try > 1;

            $lock = $hold->($port) or next;
            $probe = $check->($port) and last;
            undef $lock;
        }

        die "Port limit exceeded" unless $lock && $probe;

        $ports{$num} = { port => $port, socket => $lock };
    }

    return $ports{$num}{socket} if $opts{socket};
    return $ports{$num}{port};
}

###############################################################################
# logging

sub log_core {
    return unless $ENV{TEST_NGINX_VERBOSE};

    my ($prefix, $msg) = @_;
    ($prefix, $msg) = ('', $prefix) unless defined $msg;
    $prefix .= ' ' if length $prefix;

    if (length($msg) > 2048) {
        $msg = substr($msg, 0, 2048)
            . "(...logged only 2048 of " . length($msg) . " bytes)";
    }

    $msg =~ s/^/# $prefix/gm;
    $msg =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1) . ($1 eq "\n" ? "\n" : '')/ge;
    $msg .= "\n" unless $msg =~ /\n\z/;

    print $msg;
}

sub log_out {
    log_core('>>', @_);
}

sub log_in {
    log_core('<<', @_);
}

###############################################################################
# HTTP client

sub http_get {
    my ($url, %extra) = @_;
    return http("GET $url HTTP/1.0\nHost: localhost\n\n", %extra);
}

sub http_head {
    my ($url, %extra) = @_;
    return http("HEAD $url HTTP/1.0\nHost: localhost\n\n", %extra);
}

sub http {
    my ($request, %extra) = @_;

    my $s = http_start($request, %extra);

    return $s if $extra{start} || !defined $s;
    return http_end($s, %extra);
}

sub http_start {
    my ($request, %extra) = @_;
    my $s;

    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        local $SIG{PIPE} = sub { die "sigpipe\n" };
        alarm(8);

        $s = $extra{socket} || IO::Socket::INET->new(
            Proto    => 'tcp',
            PeerAddr => '127.0.0.1:' . port($extra{SSL} ? 8443 : 8080),
            %extra
        ) or die "Can't connect to nginx: $!\n";

        if ($extra{SSL}) {
            require IO::Socket::SSL;
            IO::Socket::SSL->start_SSL($s,
                SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
                %extra
            ) or die do { no warnings "once"; $IO::Socket::SSL::SSL_ERROR } . "\n";

            if (!defined $extra{SSL_startHandshake}) {
                log_in('ssl cipher: ' . $s->get_cipher());
                log_in('ssl cert: ' . $s->peer_certificate('issuer'));
            }
        }

        log_out($request);
        $s->print($request);

        select undef, undef, undef, $extra{sleep} if $extra{sleep};

        # "aborted": the request body is never sent
        if ($extra{body} && !$extra{aborted}) {
            log_out($extra{body});
            $s->print($extra{body});
        }

        alarm(0);
        1;
    };
    alarm(0);

    if (!$ok) {
        log_in("died: $@");
        return undef;
    }

    return $s;
}

sub http_end {
    my ($s) = @_;
    my $reply;

    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        local $SIG{PIPE} = sub { die "sigpipe\n" };
        alarm(8);

        local $/;
        $reply = $s->getline();
        $s->close();

        alarm(0);
        1;
    };
    alarm(0);

    if (!$ok) {
        log_in("died: $@");
        return undef;
    }

    log_in($reply);
    return $reply;
}

###############################################################################
# gzip helpers

sub http_gzip_request {
    my ($url) = @_;
    return http("GET $url HTTP/1.1\nHost: localhost\nConnection: close\n"
        . "Accept-Encoding: gzip\n\n");
}

sub http_content {
    my ($text) = @_;

    return undef unless defined $text;
    return undef unless $text =~ /(.*?)\x0d\x0a?\x0d\x0a?(.*)/ms;

    my ($headers, $body) = ($1, $2);

    return $body unless $headers =~ /Transfer-Encoding: chunked/i;

    my $content = '';
    my $len = -1;

    while ($body =~ /\G\x0d?\x0a?([0-9a-f]+)\x0d\x0a?/gcmsi) {
        $len = hex $1;
        $content .= substr($body, pos($body), $len);
        pos($body) += $len;
    }

    $content .= '[no-last-chunk]' if $len != 0;

    return $content;
}

sub http_gzip_like {
    my ($text, $re, $name) = @_;

    SKIP: {
        eval { require IO::Uncompress::Gunzip; };
        Test::More::skip('IO::Uncompress::Gunzip not installed', 1) if $@;

        my $in = http_content($text);
        my $out;

        IO::Uncompress::Gunzip::gunzip(\$in => \$out);

        Test::More->builder->like($out, $re, $name);
    }
}

1;

__END__

=head1 NAME

Test::Nginx - subset of nginx-tests' Test::Nginx for this project's t/*.t

=head1 SYNOPSIS

    use lib 'lib';
    use Test::Nginx;

    my $t = Test::Nginx->new()->has(qw/http proxy/)->plan(2)
        ->write_file_expand('nginx.conf', $conf);
    $t->run();
    like(http_get('/'), qr/200 OK/, 'get');

=head1 ENVIRONMENT

TEST_NGINX_BINARY (default ../nginx/objs/nginx), TEST_NGINX_GLOBALS,
TEST_NGINX_GLOBALS_HTTP, TEST_NGINX_GLOBALS_STREAM, TEST_NGINX_MODULES,
TEST_NGINX_LEAVE, TEST_NGINX_VERBOSE, TEST_NGINX_CATLOG.  As upstream,
TEST_NGINX_UNSAFE is not read by the library itself; tests check it.

=head1 DIFFERENCES FROM UPSTREAM

The test directory is made 0755 and written files 0644, so that tests can
run as root (workers run as nobody).  The "no alerts" check also counts
[crit] and [emerg] lines; skip_errors_check() (from Angie's fork) can relax
it.  test_globals_modules() only emits load_module for .so files that
exist.  No Windows/Solaris special cases.

=cut
