#!/usr/bin/perl

# An origin that fails after sending its headers: reset, FIN mid-body, a
# chunked body without its last chunk, a stall past proxy_read_timeout,
# headers and nothing else. image_resize_rs holds the headers, so it answers
# 502 (504 for the stall) at once instead of hanging until send_timeout, and
# nothing broken reaches the cache in front; once the origin heals, the same
# URL is resized. Also: more bytes than Content-Length, garbage instead of a
# status line, and a slow but complete origin.

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;

use IO::Socket::INET;
use Socket qw/ SOL_SOCKET SO_LINGER /;
use Time::HiRes qw/ time sleep /;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();

my $t = Test::Nginx->new()->has(qw/http proxy cache/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    proxy_cache_path %%TESTDIR%%/cache keys_zone=img:1m;

    # the front: the article's long-lived cache
    server {
        listen       127.0.0.1:8080;
        server_name  front;

        location /front/ {
            proxy_pass http://127.0.0.1:8081/unbuffered/;
            proxy_cache img;
            proxy_cache_valid 200 30d;
            add_header X-Cache $upstream_cache_status always;
        }

        location / {
            proxy_pass http://127.0.0.1:8081;
        }
    }

    # the resizer
    server {
        listen       127.0.0.1:8081;
        server_name  resizer;

        proxy_read_timeout 1s;

        location /unbuffered/ {
            proxy_pass http://127.0.0.1:8082/;
            proxy_buffering off;
            image_resize_rs resize 100 100;
        }

        location /buffered/ {
            proxy_pass http://127.0.0.1:8082/;
            proxy_buffering on;
            image_resize_rs resize 100 100;
        }
    }
}

EOF

my $jpg = make_image($t, 'jpeg', 640, 480, 'photo.jpg');
my $healed = $t->testdir() . '/healed';

$t->run_daemon(\&fault_origin, port(8082), $jpg, $healed);
$t->try_run('no image_resize_rs')->plan(38);
$t->waitforsocket('127.0.0.1:' . port(8082));

###############################################################################

# (status, seconds, body) of one request through the front.
sub timed {
	my ($uri) = @_;
	my $start = time();
	my $r = http_get($uri);
	return (response_status($r), time() - $start, $r);
}

my %want = (
	reset => 502,
	fin => 502,
	chunked => 502,
	stall => 504,
	headers => 502,
	headers_stall => 504,
);

for my $mode (qw/ unbuffered buffered /) {
	for my $fault (sort keys %want) {
		my $want = $want{$fault};
		# proxy_buffering on reports a read timeout as 502 (nginx's own
		# choice for buffered upstreams); either way, at once.
		my ($status, $secs) = timed("/$mode/$fault.jpg");
		if ($mode eq 'buffered' && $want == 504) {
			like($status, qr/^50[24]$/, "$mode $fault: $status");
		} else {
			is($status, $want, "$mode $fault: $status");
		}
		cmp_ok($secs, '<', 5, "$mode $fault answered in a few seconds");
	}
}

my $log = join "\n", error_log_lines($t, qr/image_resize_rs: origin/);
like($log, qr/origin failed after sending its headers: 502/, 'log line 502');
like($log, qr/origin timed out after sending its headers: 504/, 'log line 504');

# more bytes than Content-Length: nginx stops at the length; the image is whole
my ($status, $secs, $r) = timed('/unbuffered/overlong.jpg');
is($status, 200, 'overlong: 200');
is(join(' ', (image_info(response_body($r)))[0 .. 2]), 'jpeg 100 75',
	'overlong: resized');

# garbage instead of a status line: nginx would pass it on as HTTP/0.9
($status, $secs) = timed('/unbuffered/garbage.jpg');
is($status, 502, "garbage status line: $status");
cmp_ok($secs, '<', 5, 'garbage answered at once');

# a slow but complete origin still gets its 200
($status, $secs, $r) = timed('/unbuffered/slow.jpg');
is($status, 200, 'slow complete origin: 200');
is(join(' ', (image_info(response_body($r)))[0 .. 2]), 'jpeg 100 75',
	'slow complete origin: resized');

# through the front cache: the failure is not cached; healed, it is resized
($status, $secs, $r) = timed('/front/heal.jpg');
is($status, 502, 'front: broken origin 502');
cmp_ok($secs, '<', 5, 'front: at once');
$t->write_file('healed', '1');
($status, $secs, $r) = timed('/front/heal.jpg');
is($status, 200, 'front: healed origin 200');
is(response_header($r, 'X-Cache'), 'MISS', 'front: the 502 was not cached');
is(join(' ', (image_info(response_body($r)))[0 .. 2]), 'jpeg 100 75',
	'front: healed image resized');
$r = http_get('/front/heal.jpg');
is(response_header($r, 'X-Cache'), 'HIT', 'front: the good image is cached');

###############################################################################

# The origin: /<fault>.jpg. Each fault sends the headers of the whole photo,
# then misbehaves. /heal.jpg is "fin" until the file $healed exists.
sub fault_origin {
	my ($port, $body, $healed) = @_;

	my $server = IO::Socket::INET->new(
		Proto => 'tcp',
		LocalHost => "127.0.0.1:$port",
		Listen => 64,
		Reuse => 1
	) or die "Can't create listening socket: $!\n";

	local $SIG{PIPE} = 'IGNORE';
	local $SIG{CHLD} = 'IGNORE';

	my $len = length $body;
	my $half = substr($body, 0, int($len / 2));

	while (my $client = $server->accept()) {
		if (fork() == 0) {
			$client->autoflush(1);
			my $req = '';
			while (<$client>) {
				$req .= $_;
				last if /^\x0d?\x0a?$/;
			}
			my ($fault) = $req =~ m!^\w+ /(\w+)\.jpg!;
			$fault //= '';
			$fault = -e $healed ? 'good' : 'fin' if $fault eq 'heal';

			my $head = "HTTP/1.1 200 OK\x0d\x0a"
				. "Content-Type: image/jpeg\x0d\x0a"
				. "Connection: close\x0d\x0a";

			if ($fault eq 'good') {
				print $client $head . "Content-Length: $len\x0d\x0a\x0d\x0a"
					. $body;
			} elsif ($fault eq 'reset') {
				print $client $head . "Content-Length: $len\x0d\x0a\x0d\x0a"
					. $half;
				sleep(0.2);
				setsockopt($client, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
			} elsif ($fault eq 'fin') {
				print $client $head . "Content-Length: $len\x0d\x0a\x0d\x0a"
					. $half;
				sleep(0.2);
			} elsif ($fault eq 'chunked') {
				print $client $head . "Transfer-Encoding: chunked\x0d\x0a\x0d\x0a"
					. sprintf("%x\x0d\x0a", length $half) . $half . "\x0d\x0a";
				sleep(0.2);
			} elsif ($fault eq 'stall') {
				print $client $head . "Content-Length: $len\x0d\x0a\x0d\x0a"
					. $half;
				sleep(3);
			} elsif ($fault eq 'headers') {
				print $client $head . "Content-Length: $len\x0d\x0a\x0d\x0a";
				sleep(0.2);
			} elsif ($fault eq 'headers_stall') {
				print $client $head . "Content-Length: $len\x0d\x0a\x0d\x0a";
				sleep(3);
			} elsif ($fault eq 'overlong') {
				print $client $head . "Content-Length: $len\x0d\x0a\x0d\x0a"
					. $body . ("garbage" x 100);
			} elsif ($fault eq 'garbage') {
				print $client "SPAM SPAM SPAM\x0d\x0a\x0d\x0a" . ("x" x 1000);
			} elsif ($fault eq 'slow') {
				print $client $head . "Content-Length: $len\x0d\x0a\x0d\x0a";
				my $off = 0;
				while ($off < $len) {
					print $client substr($body, $off, 4096);
					$off += 4096;
					sleep(0.3) if $off % 65536 == 0;
				}
			} else {
				print $client "HTTP/1.1 404 Not Found\x0d\x0a"
					. "Content-Length: 0\x0d\x0a\x0d\x0a";
			}
			close $client;
			exit 0;
		}
		close $client;
	}
}

###############################################################################
