#!/usr/bin/perl

# image_resize_rs: a job that runs for more than 60 s, with another waiting
# behind it all that time, crashes nothing: the task's 60 s timer logs a
# warning (through the task's own log) and both requests are answered. An
# SSI page of 300 images (more than r->main->blocked, 8 bits wide, can
# count) is answered whole: only running jobs raise it, and at most
# image_resize_rs_jobs run. Slow jobs come from the test-only fault
# injection (X-IRS-Fault: sleep=MS).

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;

use IO::Socket::INET;
use Time::HiRes qw/ sleep /;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();
plan(skip_all => 'built without fault-injection') unless $ENV{TEST_IRS_FAULTS};

my $t = Test::Nginx->new()->has(qw/http ssi/);

$t->write_file_expand('nginx.conf', <<'EOF2');

%%TEST_GLOBALS%%

daemon off;

thread_pool slow threads=1;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    image_resize_rs_jobs 1;
    image_resize_rs_queue length=500 timeout=120s;
    image_resize_rs_thread_pool slow;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /r/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 20 20;
        }

        location /ssi/ {
            alias %%TESTDIR%%/;
            ssi on;
        }
    }
}

EOF2

make_image($t, 'png', 32, 24, 'tiny.png');
$t->write_file('page.html', join('', map {
	"[$_]<!--# include virtual=\"/r/tiny.png?$_\" -->" } 1 .. 300) . '[end]');

$t->try_run('no image_resize_rs')->plan(7);

###############################################################################

sub start_get {
	my ($uri, $sleep) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8080))
		or die "connect: $!";
	print $s "GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a"
		. ($sleep ? "X-IRS-Fault: sleep=$sleep\x0d\x0a" : '')
		. "\x0d\x0a";
	return $s;
}

sub read_all {
	my ($s, $timeout) = @_;
	local $/;
	my $r = eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		alarm($timeout);
		my $x = <$s>;
		alarm(0);
		$x;
	};
	alarm(0);
	return $r;
}

sub worker_pids {
	my ($t) = @_;
	my $master = $t->read_file('nginx.pid');
	chomp $master;
	my @pids = `pgrep -P $master`;
	chomp @pids;
	return join ',', sort @pids;
}

my $workers = worker_pids($t);

# The SSI page: 300 images.

my $r = http_get('/ssi/page.html');
my @parts = split /\[\d+\]/, response_body($r) // '';
shift @parts;
$parts[-1] =~ s/\[end\]$// if @parts;
is(scalar(grep { join(' ', (image_info($_))[0 .. 2]) eq 'png 20 15' } @parts),
	300, 'ssi: 300 images resized');
ok(!error_log_lines($t, qr/\[(error|crit|alert)\]/), 'ssi: no errors');
is(worker_pids($t), $workers, 'ssi: same worker');

# 61 s on the pool thread, a second job queued behind it.

my $long = start_get('/r/tiny.png?long', 61000);
sleep(0.5);
my $next = start_get('/r/tiny.png?next');
my ($type, $w, $h) = image_info(response_body(read_all($long, 90)));
is("$type ${w}x$h", 'png 20x15', 'a 61 s job: answered');
($type, $w, $h) = image_info(response_body(read_all($next, 30)));
is("$type ${w}x$h", 'png 20x15', 'the job queued behind it: answered');
ok(scalar(error_log_lines($t, qr/\[warn\].*image processing takes more than 60 s/)),
	'the 60 s warning');
is(worker_pids($t), $workers, 'same worker after 60 s');

###############################################################################
