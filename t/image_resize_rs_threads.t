#!/usr/bin/perl

# image_resize_rs on nginx thread pools: the event loop keeps serving while a
# resize runs; the request survives (or dies cleanly) however it ends while
# its job runs: client abort, HTTP/2 RST_STREAM, send_timeout, reload, quit;
# SSI subrequests; jobs wait when the pool's own queue is full; a panic on
# the pool thread costs one request.

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
use Time::HiRes qw/ sleep /;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();

my $t = Test::Nginx->new()->has(qw/http proxy ssi http_v2/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

thread_pool irs threads=2;
thread_pool tiny threads=1 max_queue=1;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    image_resize_rs_max_pixels 60m;
    image_resize_rs_buffer 64m;

    server {
        listen       127.0.0.1:8080;
        listen       127.0.0.1:8082 http2;
        server_name  localhost;

        # default: nginx's "default" pool
        location ~ ^/default/(\d+)x(\d+)/(.+)$ {
            alias %%TESTDIR%%/$3;
            image_resize_rs resize $1 $2;
        }

        location ~ ^/pool/(\d+)x(\d+)/(.+)$ {
            alias %%TESTDIR%%/$3;
            image_resize_rs resize $1 $2;
            image_resize_rs_thread_pool irs;
        }

        location ~ ^/inline/(\d+)x(\d+)/(.+)$ {
            alias %%TESTDIR%%/$3;
            image_resize_rs resize $1 $2;
            image_resize_rs_thread_pool off;
        }

        location ~ ^/tiny/(\d+)x(\d+)/(.+)$ {
            alias %%TESTDIR%%/$3;
            image_resize_rs resize $1 $2;
            image_resize_rs_thread_pool tiny;
        }

        location ~ ^/proxied/(\d+)x(\d+)/(.+)$ {
            proxy_pass http://127.0.0.1:8081/$3;
            proxy_buffering off;
            image_resize_rs resize $1 $2;
            image_resize_rs_thread_pool irs;
        }


        location /ssi/ {
            alias %%TESTDIR%%/;
            ssi on;
        }

        location /static/ {
            alias %%TESTDIR%%/;
        }
    }

    # a client that never reads: tiny socket buffers, a short send_timeout
    server {
        listen       127.0.0.1:8083 sndbuf=4k;
        server_name  slow;

        location / {
            alias %%TESTDIR%%/;
            image_resize_rs rotate 90;
            send_timeout 1s;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  origin;
        location / { root %%TESTDIR%%; }
    }
}

EOF

my $jpg = make_image($t, 'jpeg', 640, 480, 'photo.jpg');
make_image($t, 'png', 320, 240, 'small.png');
# slow enough to decode (a few hundred ms) to see the loop stay free
make_image($t, 'png', 7000, 5000, 'big.png');
$t->write_file('page.html', '[[one]]<!--# include virtual="/pool/100x100/photo.jpg" -->'
	. '[[two]]<!--# include virtual="/pool/60x60/small.png" -->[[end]]');
$t->write_file('hello.txt', 'hello');

$t->try_run('no image_resize_rs')->plan(27);

###############################################################################

sub dims {
	my ($r) = @_;
	my ($type, $w, $h) = image_info(response_body($r));
	return "$type ${w}x$h";
}

sub start_get {
	my ($uri, $port) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port($port // 8080))
		or die "connect: $!";
	print $s "GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a\x0d\x0a";
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

sub worker_pids {
	my ($t) = @_;
	my $master = $t->read_file('nginx.pid');
	chomp $master;
	my @pids = `pgrep -P $master`;
	chomp @pids;
	return sort @pids;
}

# every location resizes

is(dims(http_get('/default/100x100/photo.jpg')), 'jpeg 100x75', 'default pool');
is(dims(http_get('/pool/100x100/photo.jpg')), 'jpeg 100x75', 'named pool');
is(dims(http_get('/inline/100x100/photo.jpg')), 'jpeg 100x75', 'inline');
is(dims(http_get('/proxied/100x100/photo.jpg')), 'jpeg 100x75', 'proxied, pool');
my $r = http_head('/pool/100x100/photo.jpg');
is(response_status($r), 200, 'HEAD with pool');
like(response_header($r, 'Content-Length'), qr/^\d+$/, 'HEAD has the length');

# the loop stays free: a static file is answered while the big resize runs

my $big = start_get('/pool/300x300/big.png');
sleep(0.2);
$r = http_get('/static/hello.txt');
is(response_body($r), 'hello', 'static answered during a resize');
ok(!IO::Select->new($big)->can_read(0), 'the resize was still running');
is(dims(read_all($big)), 'png 300x214', 'big resize done');

# an SSI page including two resized images (subrequests on the pool)

$r = http_get('/ssi/page.html');
my $body = response_body($r) // '';
my ($one, $two) = $body =~ /^\[\[one\]\](.*)\[\[two\]\](.*)\[\[end\]\]$/s;
is(join(' ', (image_info($one))[0 .. 2]), 'jpeg 100 75', 'ssi: first image');
is(join(' ', (image_info($two))[0 .. 2]), 'png 60 45', 'ssi: second image');

# the client goes away while its job runs

my @before = worker_pids($t);
for (1 .. 3) {
	my $s = start_get('/pool/300x300/big.png');
	sleep(0.1);
	close $s;
}
sleep(1.5);
is(dims(http_get('/pool/100x100/photo.jpg')), 'jpeg 100x75',
	'serving after aborted clients');
is(join(',', worker_pids($t)), join(',', @before), 'same worker after aborts');

# send_timeout: a client that never reads a big reply

my $lazy = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8083))
	or die "connect: $!";
setsockopt($lazy, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 4096);
print $lazy "GET /photo.jpg HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a\x0d\x0a";
sleep(4);
is(dims(http_get('/pool/100x100/photo.jpg')), 'jpeg 100x75',
	'serving after send_timeout');
close $lazy;
is(join(',', worker_pids($t)), join(',', @before), 'same worker after timeout');

# a pool whose own queue is full (max_queue=1): the jobs wait in the
# module's queue, none is processed on the event loop

my @s = map { start_get("/tiny/200x200/big.png?$_") } 1 .. 5;
my $ok = grep { dims(read_all($_)) eq 'png 200x142' } @s;
is($ok, 5, 'pool queue full: all five resized');
ok(!error_log_lines($t, qr/processing inline|: 503/),
	'pool queue full: none inline, none refused');

# a panic on the pool thread costs one request, not the worker

SKIP: {
	skip 'built without fault-injection', 4 unless $ENV{TEST_IRS_FAULTS};

	$r = http("GET /pool/100x100/photo.jpg HTTP/1.0\x0d\x0aHost: localhost"
		. "\x0d\x0aX-IRS-Fault: thread_panic\x0d\x0a\x0d\x0a");
	is(response_status($r), 500, 'thread panic: 500');
	$r = http("GET /pool/100x100/photo.jpg HTTP/1.0\x0d\x0aHost: localhost"
		. "\x0d\x0aX-IRS-Fault: panic\x0d\x0a\x0d\x0a");
	is(response_status($r), 500, 'filter panic: 500');
	$r = http("GET /pool/100x100/photo.jpg HTTP/1.0\x0d\x0aHost: localhost"
		. "\x0d\x0aX-IRS-Fault: alloc\x0d\x0a\x0d\x0a");
	is(response_status($r), 500, 'allocation failure: 500');
	is(join(',', worker_pids($t)), join(',', @before), 'same worker after faults');
}

# HTTP/2: a stream reset while its job runs; the connection lives on

my $h2 = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8082))
	or die "connect: $!";
h2_start($h2);
h2_get($h2, 1, '/pool/300x300/big.png');
sleep(0.2);
h2_frame($h2, 3, 0, 1, pack('N', 8));               # RST_STREAM, CANCEL
h2_frame($h2, 6, 0, 0, 'irs-ping');                  # PING
my %got = h2_read($h2, sub { $_[0]{ping_ack} });
ok($got{ping_ack}, 'h2: connection alive after RST_STREAM');
h2_get($h2, 3, '/pool/100x100/photo.jpg');
%got = h2_read($h2, sub { $_[0]{end}{3} });
is($got{status}{3}, 200, 'h2: next stream answered');
is(join(' ', (image_info($got{data}{3}))[0 .. 2]), 'jpeg 100 75',
	'h2: next stream resized');
close $h2;

# reload while jobs run: the jobs finish, the old worker exits

@s = map { start_get("/pool/300x300/big.png?r$_") } 1 .. 2;
sleep(0.2);
$t->reload();
$ok = grep { dims(read_all($_)) eq 'png 300x214' } @s;
is($ok, 2, 'reload: running jobs finished');
my $gone = 0;
for (1 .. 50) {
	my %now = map { $_ => 1 } worker_pids($t);
	$gone = !grep { $now{$_} } @before;
	last if $gone;
	sleep(0.2);
}
ok($gone, 'reload: the old worker exited');

# quit while a job runs: it is answered before nginx exits

my $last = start_get('/pool/300x300/big.png?quit');
sleep(0.2);
$t->stop();
is(dims(read_all($last)), 'png 300x214', 'quit: the running job finished');

###############################################################################

# HTTP/2 (h2_frame, h2_start, hpack from Test::Nginx::ImageResize): a GET
# and a reader.

sub h2_get {
	my ($s, $sid, $path) = @_;
	h2_frame($s, 1, 0x4 | 0x1, $sid, hpack(':method' => 'GET',
		':scheme' => 'http', ':path' => $path, ':authority' => 'localhost'));
	h2_frame($s, 8, 0, $sid, pack('N', 0x3fffffff));
}

# Reads frames until $done->(\%got) or 10 s: status (from an indexed
# ":status 200", 0x88), data and END_STREAM per stream, PING ack.
sub h2_read {
	my ($s, $done) = @_;
	my %got;
	my $buf = '';
	my $sel = IO::Select->new($s);
	my $until = time() + 10;
	while (time() < $until && !$done->(\%got)) {
		last unless $sel->can_read(1);
		my $n = sysread($s, $buf, 65536, length $buf);
		last unless $n;
		while (length $buf >= 9) {
			my ($l1, $l2, $type, $flags, $sid) = unpack('CnCCN', $buf);
			my $len = ($l1 << 16) | $l2;
			last if length $buf < 9 + $len;
			my $payload = substr($buf, 9, $len);
			substr($buf, 0, 9 + $len) = '';
			$sid &= 0x7fffffff;
			if ($type == 1) {
				$got{status}{$sid} = 200 if $payload =~ /^(?:.{5})?\x88/s;
			} elsif ($type == 0) {
				$got{data}{$sid} .= $payload;
			} elsif ($type == 6 && $flags & 1) {
				$got{ping_ack} = 1;
			} elsif ($type == 4 && !($flags & 1)) {
				h2_frame($s, 4, 1, 0, '');           # SETTINGS ack
			}
			$got{end}{$sid} = 1 if ($type == 0 || $type == 1) && $flags & 1;
		}
	}
	return %got;
}

###############################################################################
