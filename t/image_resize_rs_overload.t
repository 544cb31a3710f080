#!/usr/bin/perl

# image_resize_rs under overload: one job at a time (image_resize_rs_jobs 1),
# a queue of three with a 2 s deadline. A full queue answers 503 with
# Retry-After at once, a job that waits past the deadline too, and nothing is
# processed on the event loop instead; a request that ends while its job
# waits drops the job; send_timeout does not fire while a job waits;
# image_resize_rs_overload original sends the original bytes with a short
# Cache-Control. Slow jobs come from the test-only fault injection
# (X-IRS-Fault: sleep=MS).

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw/ sleep time /;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();
plan(skip_all => 'built without fault-injection') unless $ENV{TEST_IRS_FAULTS};

my $t = Test::Nginx->new()->has(qw/http proxy http_v2/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

thread_pool irs threads=2;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    image_resize_rs_jobs 1;
    image_resize_rs_queue length=3 timeout=2s;
    image_resize_rs_thread_pool irs;

    log_format irs '$request_uri $status $image_resize_rs_status';
    access_log %%TESTDIR%%/irs.log irs;

    server {
        listen       127.0.0.1:8080;
        listen       127.0.0.1:8082 http2;
        server_name  localhost;

        location /r/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
        }

        location /orig/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_overload original max_size=1m max_age=5s;
        }

        location /p/ {
            proxy_pass http://127.0.0.1:8081/;
            image_resize_rs resize 100 100;
        }

        location /slow/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            send_timeout 1s;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  origin;
        access_log %%TESTDIR%%/origin.log irs;
        location / { root %%TESTDIR%%; }
    }
}

EOF

my $jpg = make_image($t, 'jpeg', 640, 480, 'photo.jpg');

$t->try_run('no image_resize_rs')->plan(26);

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
	my ($s) = @_;
	local $/;
	my $r = eval {
		local $SIG{ALRM} = sub { die "timeout\n" };
		alarm(20);
		my $x = <$s>;
		alarm(0);
		$x;
	};
	alarm(0);
	return $r;
}

sub dims {
	my ($r) = @_;
	my ($type, $w, $h) = image_info(response_body($r));
	return "$type ${w}x$h";
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

# One job runs (1.5 s), three wait; the fifth request is shed at once.

my $running = start_get('/r/photo.jpg?a', 1500);
sleep(0.3);
my @waiting = map { start_get("/r/photo.jpg?w$_") } 1 .. 3;
sleep(0.3);
my $t0 = time();
my $r = http_get('/r/photo.jpg?shed');
my $took = time() - $t0;
is(response_status($r), 503, 'queue full: 503');
is(response_header($r, 'Retry-After'), '1', 'queue full: Retry-After');
ok($took < 1, 'queue full: answered without waiting for a job');
# the origin is not even asked
my $early = http_get('/p/photo.jpg?early');
is(dims(read_all($running)), 'jpeg 100x75', 'the running job finished');
is(scalar(grep { dims(read_all($_)) eq 'jpeg 100x75' } @waiting), 3,
	'the queued jobs ran');
is(response_status($early), 503, 'queue full, proxied: 503');
unlike($t->read_file('origin.log'), qr/early/, 'queue full: the origin was not asked');
is(scalar(error_log_lines($t, qr/image_resize_rs_queue length reached: 503/)), 2,
	'queue full: one log line each');
ok(!error_log_lines($t, qr/processing inline/), 'nothing processed inline');

# The queue's deadline: a job that waits 2 s gets 503.

$running = start_get('/r/photo.jpg?b', 3500);
sleep(0.3);
my $late = start_get('/r/photo.jpg?late');
$r = read_all($late);
is(response_status($r), 503, 'deadline: 503');
is(response_header($r, 'Retry-After'), '1', 'deadline: Retry-After');
ok(scalar(error_log_lines($t, qr/waited image_resize_rs_queue timeout/)),
	'deadline: logged');
is(dims(read_all($running)), 'jpeg 100x75', 'deadline: the running job finished');

# Clients that go away while their jobs wait: the jobs never run.

$running = start_get('/r/photo.jpg?c', 1500);
sleep(0.3);
my @gone = map { start_get("/r/photo.jpg?gone$_", 5000) } 1 .. 3;
sleep(0.3);
close $_ for @gone;
is(dims(read_all($running)), 'jpeg 100x75', 'abandoned: the running job finished');
$t0 = time();
is(dims(http_get('/r/photo.jpg?fresh')), 'jpeg 100x75', 'abandoned: a fresh request');
# each abandoned job would have slept 5 s
ok(time() - $t0 < 4, 'abandoned: their jobs did not run');
is(scalar(grep { /gone\d \S+ -$/ } split /\n/, $t->read_file('irs.log')), 3,
	'abandoned: no outcome for the dropped jobs');

# HTTP/2: streams whose jobs wait are reset; the jobs never run.

$running = start_get('/r/photo.jpg?h2run', 1500);
sleep(0.3);
my $h2 = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8082))
	or die "connect: $!";
h2_start($h2);
h2_get($h2, $_, "/r/photo.jpg?h2q$_", 'sleep=5000') for 1, 3, 5;
sleep(0.3);
h2_frame($h2, 3, 0, $_, pack('N', 8)) for 1, 3, 5;    # RST_STREAM, CANCEL
h2_frame($h2, 6, 0, 0, 'irs-ping');                  # PING
ok(h2_ping_ack($h2), 'h2: connection alive after the resets');
is(dims(read_all($running)), 'jpeg 100x75', 'h2: the running job finished');
close $h2;
$t0 = time();
is(dims(http_get('/r/photo.jpg?h2fresh')), 'jpeg 100x75', 'h2: a fresh request');
ok(time() - $t0 < 4, 'h2: the reset streams\' jobs did not run');

# A client that goes away while its job runs: the job stops at its next
# stage (here: right after the injected sleep, before decoding).

my $c = start_get('/r/photo.jpg?cancel', 1000);
sleep(0.3);
close $c;
sleep(1.2);
like($t->read_file('irs.log'), qr/\?cancel 499 cancelled$/m,
	'running job of a gone request: cancelled');

# send_timeout does not end a request while its job runs.

$r = http("GET /slow/photo.jpg HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a"
	. "X-IRS-Fault: sleep=2500\x0d\x0a\x0d\x0a");
is(dims($r), 'jpeg 100x75', 'send_timeout 1s, a 2.5 s job: resized');

# image_resize_rs_overload original: the original, briefly cacheable.

$running = start_get('/r/photo.jpg?d', 1500);
sleep(0.3);
@waiting = map { start_get("/r/photo.jpg?x$_") } 1 .. 3;
sleep(0.3);
$r = http_get('/orig/photo.jpg');
is(dims($r), 'jpeg 640x480', 'overload original: the original');
is(response_header($r, 'Cache-Control'), 'max-age=5', 'overload original: max-age');
read_all($_) for $running, @waiting;

is(worker_pids($t), $workers, 'same worker throughout');
###############################################################################

# HTTP/2 (h2_frame, h2_start, hpack from Test::Nginx::ImageResize): a GET
# with the fault header, and a reader for the PING ack.

sub h2_get {
	my ($s, $sid, $path, $fault) = @_;
	h2_frame($s, 1, 0x4 | 0x1, $sid, hpack(':method' => 'GET',
		':scheme' => 'http', ':path' => $path, ':authority' => 'localhost',
		'x-irs-fault' => $fault));
}

# Reads frames for up to 10 s until a PING ack.
sub h2_ping_ack {
	my ($s) = @_;
	my $buf = '';
	my $sel = IO::Select->new($s);
	my $until = time() + 10;
	while (time() < $until) {
		last unless $sel->can_read(1);
		my $n = sysread($s, $buf, 65536, length $buf);
		last unless $n;
		while (length $buf >= 9) {
			my ($l1, $l2, $type, $flags) = unpack('CnCC', $buf);
			my $len = ($l1 << 16) | $l2;
			last if length $buf < 9 + $len;
			substr($buf, 0, 9 + $len) = '';
			return 1 if $type == 6 && $flags & 1;
			h2_frame($s, 4, 1, 0, '') if $type == 4 && !($flags & 1);
		}
	}
	return 0;
}

###############################################################################
