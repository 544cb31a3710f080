#!/usr/bin/perl

# Tests for image_resize_rs: bad input gets 415 and one error-log line naming
# the reason; origin errors pass through; image bombs are refused unread.

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;
use Compress::Zlib qw/ crc32 /;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();

my $t = Test::Nginx->new()->has(qw/http proxy rewrite/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        image_resize_rs_buffer 64k;

        location /static/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
        }

        location /proxy/ {
            proxy_pass http://127.0.0.1:8081/;
            image_resize_rs resize 100 100;
        }

        location /test/ {
            proxy_pass http://127.0.0.1:8081/;
            image_resize_rs test;
        }

        location /small/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_buffer 1k;
        }

        location /pixels/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_max_pixels 1m;
            image_resize_rs_buffer 16m;
        }

        location /dribble/ {
            proxy_pass http://127.0.0.1:8082/;
            proxy_buffering off;
            image_resize_rs resize 100 100;
            image_resize_rs_buffer 4k;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  origin;

        location /          { root %%TESTDIR%%; }
        location = /empty   { return 200 ""; }
        location = /forbid  { return 403; }
        location = /fail    { return 500; }
        location = /gone    { return 502; }
        location = /moved   { return 302 /photo.jpg; }
        location = /gzip.jpg {
            alias %%TESTDIR%%/photo.jpg;
            add_header Content-Encoding gzip;
        }
        location = /identity.jpg {
            alias %%TESTDIR%%/photo.jpg;
            add_header Content-Encoding identity;
        }
    }
}

EOF

my $photo = make_image($t, 'jpeg', 400, 300, 'photo.jpg');
make_image($t, 'png', 1200, 1000, 'big.png');
make_image($t, 'png', 900, 900, 'under.png');
make_image($t, 'png', 8, 8, 'dot.png');
$t->write_file('text.txt', "This is not an image, just some text.\n");
$t->write_file('tiny.jpg', "\xff\xd8\xff");
$t->write_file('truncated.jpg', substr($photo, 0, length($photo) / 2));
$t->write_file('corrupt.jpg', substr($photo, 0, 200) . ("\x55" x 3000));
$t->write_file('huge.jpg', make_image($t, 'jpeg', 2000, 1500, 'huge0.jpg')
	. ("\0" x 70000));
$t->write_file('empty.jpg', '');

# a PNG whose header claims 100000x100000 pixels: refused before decoding
my $ihdr = 'IHDR' . pack('NNCCCCC', 100000, 100000, 8, 6, 0, 0, 0);
$t->write_file('bomb.png', "\x89PNG\x0d\x0a\x1a\x0a"
	. pack('N', 13) . $ihdr . pack('N', crc32($ihdr))
	. ("\0" x 64));

my $big = "\xff\xd8" . ("\0" x 6000);
$t->run_daemon(\&dribble_daemon, port(8082), {
	'/nolength' => [200, 'image/jpeg', $big, 0],
	'/length' => [200, 'image/jpeg', $big, 1],
});

$t->try_run('no image_resize_rs')->plan(47);
$t->waitforsocket('127.0.0.1:' . port(8082));

###############################################################################

# each bad response: 415, and exactly one new error-log line with the reason

sub refused {
	my ($t, $uri, $reason, $name) = @_;
	my $before = () = error_log_lines($t, qr/\[error\].*image_resize_rs:/);
	my $r = http_get($uri);
	is(response_status($r), 415, "$name: 415");
	my @lines = error_log_lines($t, qr/\[error\].*image_resize_rs:/);
	my @new = @lines[$before .. $#lines];
	is(scalar @new, 1, "$name: one log line");
	like($new[0] // '', $reason, "$name: reason logged");
}

refused($t, '/static/text.txt', qr/not a JPEG, GIF, PNG or WebP image/,
	'not an image');
refused($t, '/proxy/empty', qr/empty response body/, 'empty body');
refused($t, '/static/empty.jpg', qr/empty response body/, 'zero-byte file');
# Each JPEG case has its own message: under 16 bytes is no image at all;
# libjpeg-turbo reports the truncation; the corrupt entropy data is left to
# the image crate's decoder (zune-jpeg), which names the bad Huffman code.
refused($t, '/static/tiny.jpg',
	qr/not a JPEG, GIF, PNG or WebP image \(3 bytes starting with ff d8 ff\)/,
	'three bytes of jpeg');
refused($t, '/static/truncated.jpg',
	qr/corrupt or truncated jpeg: .*Premature end of JPEG file/,
	'truncated jpeg');
refused($t, '/static/corrupt.jpg',
	qr/corrupt or truncated jpeg: .*Bad Huffman Table/,
	'corrupt jpeg');
refused($t, '/static/huge.jpg', qr/too big response: Content-Length \d+/,
	'over buffer, content length');
refused($t, '/dribble/nolength', qr/too big response: more than/,
	'over buffer, no content length');
refused($t, '/dribble/length', qr/too big response: Content-Length/,
	'over buffer, dribbled with length');
refused($t, '/pixels/big.png', qr/1200x1000 exceeds image_resize_rs_max_pixels/,
	'max pixels');
refused($t, '/static/bomb.png', qr/100000x100000/, 'pixel bomb');
refused($t, '/proxy/gzip.jpg', qr/Content-Encoding: gzip/, 'content encoding');

is(response_status(http_get('/pixels/under.png')), 200, 'under max pixels');
my ($type, $w, $h) = image_info(response_body(http_get('/proxy/identity.jpg')));
is("$type ${w}x$h", 'jpeg 100x75', 'identity encoding is fine');
is(response_status(http_get('/small/dot.png')), 200,
	'small buffer, image under it');

# origin errors are not images and are passed through untouched

is(response_status(http_get('/proxy/missing.jpg')), 404, '404 passes');
is(response_status(http_get('/proxy/forbid')), 403, '403 passes');
is(response_status(http_get('/proxy/fail')), 500, '500 passes');
is(response_status(http_get('/proxy/gone')), 502, '502 passes');
is(response_status(http_get('/proxy/moved')), 302, '302 passes');
is(response_status(http_get('/test/missing.jpg')), 404, 'test: 404 passes');

# the worker survived all of it

($type, $w, $h) = image_info(response_body(http_get('/proxy/photo.jpg')));
is("$type ${w}x$h", 'jpeg 100x75', 'still resizing');
is(scalar(error_log_lines($t, qr/exited on signal|panic/)), 0,
	'no crash, no panic');

###############################################################################
