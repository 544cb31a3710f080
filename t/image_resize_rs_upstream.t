#!/usr/bin/perl

# Tests for image_resize_rs behind proxy_pass: the fix for image_filter's
# random 415s (an origin writing the image in 1-byte pieces with
# proxy_buffering off), file-backed buffers (proxy temp files, static files
# read in small pieces), and the article's cache-in-front setup.

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();

my $t = Test::Nginx->new()->has(qw/http proxy cache rewrite/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    proxy_cache_path %%TESTDIR%%/cache keys_zone=img:1m;

    # the front: a long-lived cache in front of the resizer
    server {
        listen       127.0.0.1:8080;
        server_name  front;

        location /img/ {
            proxy_pass http://127.0.0.1:8081;
            proxy_cache img;
            proxy_cache_valid 200 30d;
            proxy_cache_lock on;
            add_header X-Cache $upstream_cache_status;
        }

        location ~ ^/buffered/(\d+)x(\d+)/(.+)$ {
            proxy_pass http://127.0.0.1:8083/$3;
            proxy_buffering on;
            proxy_buffer_size 1k;
            proxy_buffers 2 1k;
            proxy_busy_buffers_size 1k;
            proxy_temp_path %%TESTDIR%%/proxy_temp;
            proxy_cache img;
            proxy_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
            image_resize_rs resize $1 $2;
        }

        location ~ ^/pieces/(\d+)x(\d+)/(.+)$ {
            alias %%TESTDIR%%/$3;
            output_buffers 1 512;
            image_resize_rs resize $1 $2;
        }

        location ~ ^/sendfile/(\d+)x(\d+)/(.+)$ {
            alias %%TESTDIR%%/$3;
            sendfile on;
            image_resize_rs resize $1 $2;
        }
    }

    # the resizer, the article's location with image_resize_rs
    server {
        listen       127.0.0.1:8081;
        server_name  resizer;

        location ~ ^/img/(\d+)x(\d+)/(.+)$ {
            proxy_pass http://127.0.0.1:8082/$3;
            proxy_buffering off;
            proxy_pass_request_headers off;
            image_resize_rs resize $1 $2;
        }

    }

    # a plain origin for the buffered case
    server {
        listen       127.0.0.1:8083;
        server_name  origin;

        location / { root %%TESTDIR%%; }
    }
}

EOF

my $jpg = make_image($t, 'jpeg', 640, 480, 'photo.jpg');
my $png = make_image($t, 'png', 480, 640, 'tall.png');

$t->run_daemon(\&dribble_daemon, port(8082), {
	'/photo.jpg' => [200, 'image/jpeg', $jpg, 1],
	'/chunky.jpg' => [200, 'image/jpeg', $jpg, 0],
	'/tall.png' => [200, 'image/png', $png, 1],
	'/missing.jpg' => [404, 'application/xml',
		'<Error><Code>NoSuchKey</Code></Error>', 1],
});

$t->try_run('no image_resize_rs')->plan(16);
$t->waitforsocket('127.0.0.1:' . port(8082));

###############################################################################

sub dims {
	my ($uri) = @_;
	my ($type, $w, $h) = image_info(response_body(http_get($uri)));
	return "$type ${w}x$h";
}

# the dribbling origin: every request resized, never 415

my $ok = 0;
for my $i (1 .. 20) {
	$ok++ if dims("/img/200x200/photo.jpg?$i") eq 'jpeg 200x150';
}
is($ok, 20, 'dribbled jpeg resized every time');

$ok = 0;
for my $i (1 .. 10) {
	$ok++ if dims("/img/100x100/chunky.jpg?$i") eq 'jpeg 100x75';
}
is($ok, 10, 'dribbled, no content length');

is(dims('/img/100x100/tall.png'), 'png 75x100', 'dribbled png');

my $r = http_get('/img/100x100/missing.jpg');
is(response_status($r), 404, 'S3 404 stays 404');
like(response_body($r), qr/NoSuchKey/, 'S3 404 body untouched');

# through the cache: second request is a hit, same bytes

my $first = http_get('/img/300x300/photo.jpg');
my $second = http_get('/img/300x300/photo.jpg');
is(response_header($first, 'X-Cache'), 'MISS', 'cache miss first');
is(response_header($second, 'X-Cache'), 'HIT', 'cache hit second');
ok(response_body($first) eq response_body($second), 'cached bytes same');
is(dims('/img/300x300/photo.jpg'), 'jpeg 300x225', 'cached image resized');

# file-backed buffers: proxy temp file, static files in small pieces

is(dims('/buffered/100x100/photo.jpg'), 'jpeg 100x75', 'proxy temp file');
is(dims('/buffered/100x100/tall.png'), 'png 75x100', 'proxy temp file png');
$r = http_get('/buffered/100x100/photo.jpg');
is(response_header($r, 'X-Cache'), 'HIT', 'original served from cache file');
is(join(' ', (image_info(response_body($r)))[0 .. 2]), 'jpeg 100 75',
	'resized from cache file');
is(dims('/pieces/100x100/photo.jpg'), 'jpeg 100x75', 'static, small buffers');
is(dims('/sendfile/100x100/photo.jpg'), 'jpeg 100x75', 'static, sendfile');
is(scalar(error_log_lines($t, qr/\[error\].*image_resize_rs:/)), 0, 'no errors logged');

###############################################################################
