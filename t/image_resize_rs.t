#!/usr/bin/perl

# Tests for image_resize_rs: every image_filter mode and directive, on static
# files, for JPEG, GIF, PNG and WebP.

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

my $t = Test::Nginx->new()->has(qw/http rewrite/);

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

        location /off/       { alias %%TESTDIR%%/; }
        location /resize/    { alias %%TESTDIR%%/; image_resize_rs resize 100 100; }
        location /resize_w/  { alias %%TESTDIR%%/; image_resize_rs resize 100 -; }
        location /resize_h/  { alias %%TESTDIR%%/; image_resize_rs resize - 100; }
        location /crop/      { alias %%TESTDIR%%/; image_resize_rs crop 100 100; }
        location /rotate90/  { alias %%TESTDIR%%/; image_resize_rs rotate 90; }
        location /rotate180/ { alias %%TESTDIR%%/; image_resize_rs rotate 180; }
        location /rotate270/ { alias %%TESTDIR%%/; image_resize_rs rotate 270; }
        location /size/      { alias %%TESTDIR%%/; image_resize_rs size; }
        location /test/      { alias %%TESTDIR%%/; image_resize_rs test; }

        location /rotate_resize/ {
            alias %%TESTDIR%%/;
            image_resize_rs rotate 90;
            image_resize_rs resize 100 50;
        }

        location /resize_rotate/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 50;
            image_resize_rs rotate 270;
        }

        location /rotate_crop/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 50;
            image_resize_rs rotate 90;
        }

        location /var/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize $arg_w $arg_h;
            image_resize_rs rotate $arg_a;
            image_resize_rs_jpeg_quality $arg_q;
        }

        location ~ ^/img/(\d+)x(\d+)/(.+)$ {
            alias %%TESTDIR%%/$3;
            image_resize_rs resize $1 $2;
        }

        location /interlace/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_interlace on;
        }

        location /quality/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_jpeg_quality 10;
            image_resize_rs_webp_quality 10;
        }

        location /sharpen/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_sharpen 100;
        }

        location /notrans/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_transparency off;
        }

        location /nested/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_jpeg_quality 10;

            location /nested/off/ {
                alias %%TESTDIR%%/;
                image_resize_rs off;
            }

            location /nested/inherit/ {
                alias %%TESTDIR%%/;
            }
        }
    }
}

EOF

my %img;
$img{jpg} = make_image($t, 'jpeg', 400, 300, 'photo.jpg');
$img{png} = make_image($t, 'png', 300, 400, 'tall.png');
$img{gif} = make_image($t, 'gif', 400, 200, 'wide.gif');
$img{webp} = make_image($t, 'webp', 400, 300, 'photo.webp');
$img{small} = make_image($t, 'jpeg', 50, 40, 'small.jpg');
$img{trns} = make_image($t, 'png-indexed-trns', 200, 200, 'trns.png');
$img{exif} = make_image($t, 'jpeg-exif', 80, 60, 'exif.jpg');
$t->write_file('text.txt', "This is not an image, just some text.\n");

$t->try_run('no image_resize_rs')->plan(63);

###############################################################################

sub get { my ($uri) = @_; return http_get($uri); }

sub dims {
	my ($uri) = @_;
	my $r = get($uri);
	my ($type, $w, $h, $flags) = image_info(response_body($r));
	return "$type ${w}x$h";
}

# resize, each format, format kept

is(dims('/resize/photo.jpg'), 'jpeg 100x75', 'resize jpeg');
is(dims('/resize/tall.png'), 'png 75x100', 'resize png');
is(dims('/resize/wide.gif'), 'gif 100x50', 'resize gif');
is(dims('/resize/photo.webp'), 'webp 100x75', 'resize webp');

my $r = get('/resize/photo.jpg');
like($r, qr!^Content-Type: image/jpeg\x0d?$!mi, 'resize content type');
is(response_header($r, 'Content-Length'), length(response_body($r)),
	'resize content length');
like(response_header($r, 'ETag') // '', qr!^W/!, 'resize weak etag');
unlike($r, qr/Accept-Ranges/i, 'resize no accept-ranges');
like(get('/resize/tall.png'), qr!^Content-Type: image/png\x0d?$!mi,
	'png content type');
like(get('/resize/photo.webp'), qr!^Content-Type: image/webp\x0d?$!mi,
	'webp content type');

is(dims('/resize_w/photo.jpg'), 'jpeg 100x75', 'resize width only');
is(dims('/resize_h/photo.jpg'), 'jpeg 133x100', 'resize height only');
is(dims('/resize_h/tall.png'), 'png 75x100', 'resize height only, tall');

# never enlarge; the original bytes when nothing changes

$r = get('/resize/small.jpg');
ok(response_body($r) eq $img{small}, 'small image sent as is');
like($r, qr!^Content-Type: image/jpeg\x0d?$!mi, 'as is content type');
unlike(response_header($r, 'ETag') // '', qr!^W/!, 'as is strong etag');
is(dims('/img/1000x1000/photo.jpg'), 'jpeg 400x300', 'no enlarge');

# application data over 5% forces re-encoding, as image_filter does

$r = get('/resize/exif.jpg');
ok(response_body($r) ne $img{exif}, 'exif forces re-encode');
is(dims('/resize/exif.jpg'), 'jpeg 80x60', 'exif re-encode keeps size');

# crop

is(dims('/crop/photo.jpg'), 'jpeg 100x100', 'crop landscape');
is(dims('/crop/tall.png'), 'png 100x100', 'crop portrait');
is(dims('/crop/wide.gif'), 'gif 100x100', 'crop gif');
is(dims('/img/100x100/small.jpg'), 'jpeg 50x40', 'small not cropped');

# rotate, counter-clockwise as image_filter

is(dims('/rotate90/photo.jpg'), 'jpeg 300x400', 'rotate 90');
is(dims('/rotate180/photo.jpg'), 'jpeg 400x300', 'rotate 180');
is(dims('/rotate270/wide.gif'), 'gif 200x400', 'rotate 270');
is(dims('/rotate90/small.jpg'), 'jpeg 40x50', 'rotate small, not as is');
is(dims('/rotate_resize/photo.jpg'), 'jpeg 50x66', 'rotate then resize');
is(dims('/resize_rotate/photo.jpg'), 'jpeg 50x66', 'resize then rotate');
is(dims('/rotate_crop/photo.jpg'), 'jpeg 75x50', 'crop with rotate');

# size and test

is(response_body(get('/size/photo.jpg')),
	qq!{ "img" : { "width": 400, "height": 300, "type": "jpeg" } }\x0d\x0a!,
	'size jpeg');
is(response_body(get('/size/tall.png')),
	qq!{ "img" : { "width": 300, "height": 400, "type": "png" } }\x0d\x0a!,
	'size png');
is(response_body(get('/size/wide.gif')),
	qq!{ "img" : { "width": 400, "height": 200, "type": "gif" } }\x0d\x0a!,
	'size gif');
is(response_body(get('/size/photo.webp')),
	qq!{ "img" : { "width": 400, "height": 300, "type": "webp" } }\x0d\x0a!,
	'size webp');
$r = get('/size/text.txt');
is(response_body($r), "{}\x0d\x0a", 'size not an image');
like($r, qr!^Content-Type: application/json\x0d?$!mi, 'size content type');

$r = get('/test/photo.jpg');
ok(response_body($r) eq $img{jpg}, 'test image passes');
like($r, qr!^Content-Type: image/jpeg\x0d?$!mi, 'test content type');
is(response_status(get('/test/text.txt')), 415, 'test not an image');

# values from variables

is(dims('/var/photo.jpg?w=50&h=50&q=75'), 'jpeg 50x37', 'variables');
is(dims('/var/photo.jpg?w=-&h=30&q=75'), 'jpeg 40x30', 'variable dash');
is(dims('/var/photo.jpg?w=50&h=50&q=75&a=90'), 'jpeg 37x50',
	'variable rotate with resize');
is(response_status(get('/var/photo.jpg?w=0&h=50&q=75')), 415,
	'variable zero width');
is(response_status(get('/var/photo.jpg?w=abc&h=50&q=75')), 415,
	'variable bad width');
is(response_status(get('/var/photo.jpg?w=50&h=50')), 415,
	'variable empty quality');
is(dims('/img/60x60/photo.webp'), 'webp 60x45', 'regex captures');

# quality, interlace, sharpen, transparency

ok(length(response_body(get('/quality/photo.jpg')))
	< length(response_body(get('/resize/photo.jpg'))), 'jpeg quality');
ok(length(response_body(get('/quality/photo.webp')))
	< length(response_body(get('/resize/photo.webp'))), 'webp quality');
my (undef, undef, undef, $flags) = image_info(
	response_body(get('/interlace/photo.jpg')));
like($flags, qr/progressive/, 'interlace on: progressive jpeg');
(undef, undef, undef, $flags) = image_info(
	response_body(get('/resize/photo.jpg')));
like($flags, qr/baseline/, 'interlace off: baseline jpeg');
ok(response_body(get('/sharpen/photo.jpg'))
	ne response_body(get('/resize/photo.jpg')), 'sharpen changes pixels');
is(dims('/sharpen/photo.jpg'), 'jpeg 100x75', 'sharpen keeps size');
(undef, undef, undef, $flags) = image_info(
	response_body(get('/resize/trns.png')));
like($flags, qr/alpha/, 'transparency on keeps transparent colour');
(undef, undef, undef, $flags) = image_info(
	response_body(get('/notrans/trns.png')));
like($flags, qr/opaque/, 'transparency off drops it');

# merging into nested locations

ok(response_body(get('/nested/off/photo.jpg')) eq $img{jpg},
	'nested off');
is(dims('/nested/inherit/photo.jpg'), 'jpeg 100x75', 'nested inherits');
ok(length(response_body(get('/nested/inherit/photo.jpg')))
	< length(response_body(get('/resize/photo.jpg'))),
	'nested inherits quality');

# HTTP: HEAD, ranges, conditional requests

my $get = get('/resize/photo.jpg');
$r = http_head('/resize/photo.jpg');
is(response_status($r), 200, 'head status');
is(response_header($r, 'Content-Length'),
	response_header($get, 'Content-Length'), 'head content length');
is(response_body($r), '', 'head no body');

$r = http(<<EOF);
GET /resize/photo.jpg HTTP/1.0
Host: localhost
Range: bytes=0-9

EOF
is(response_status($r), 200, 'range ignored');
is((image_info(response_body($r)))[0], 'jpeg', 'range gets the full image');

my $lm = response_header($get, 'Last-Modified');
$r = http(<<EOF);
GET /resize/photo.jpg HTTP/1.0
Host: localhost
If-Modified-Since: $lm

EOF
is(response_status($r), 304, 'not modified passes');

###############################################################################
