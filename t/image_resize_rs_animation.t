#!/usr/bin/perl

# Tests for animated GIF and WebP: resize, crop, rotate and pad keep every
# frame, its delay and the loop count (read back with irs-tool frames);
# animated WebP where the token is webp (Accept with image_resize_rs_formats,
# or image_resize_rs_output webp), GIF stays GIF otherwise; over
# image_resize_rs_max_frames or _max_frame_pixels the first frame only, or
# 415 with over_limit=refuse; image_resize_rs_animation first; size reports
# the frame count.

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

my $t = Test::Nginx->new()->has(qw/http/);

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

        location /resize/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
        }

        location /crop/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 30 30;
        }

        location /rotate/ {
            alias %%TESTDIR%%/;
            image_resize_rs rotate 90;
        }

        location /pad/ {
            alias %%TESTDIR%%/;
            image_resize_rs pad 50 50;
        }

        location /fmt/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_formats webp;
        }

        location /webp/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_output webp;
        }

        location /both/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_formats avif webp;
        }

        location /avifonly/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_formats avif;
        }

        location /jpeg/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_output jpeg;
        }

        location /few/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_max_frames 3;
        }

        location /small/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_max_frame_pixels 10k;
        }

        location /refuse/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_max_frames 3;
            image_resize_rs_animation keep over_limit=refuse;
        }

        location /first/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_animation first;
        }

        location /size/ {
            alias %%TESTDIR%%/;
            image_resize_rs size;
        }
    }
}

EOF

make_image($t, 'gif-animated', 80, 60, 'a.gif');
make_image($t, 'webp-animated', 80, 60, 'a.webp');
make_image($t, 'gif', 80, 60, 'still.gif');

$t->try_run('no image_resize_rs_animation')->plan(28);

###############################################################################

sub get {
	my ($uri, $accept) = @_;
	my $h = defined $accept ? "Accept: $accept\x0d\x0a" : '';
	return http("GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a$h\x0d\x0a");
}

my $dir = $t->testdir();
my $n = 0;

# irs-tool frames on a response's body.
sub frames {
	my ($r) = @_;
	my $path = "$dir/out" . $n++;
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh response_body($r) // '';
	close $fh;
	my $out = `'${\ irs_tool()}' frames '$path' 2>&1`;
	chomp $out;
	return $out;
}

my $delays = 'delays=100,200,300,400';

like(frames(get('/resize/a.gif')),
	qr/^gif frames=4 decoded=4 loop=0 $delays size=40x30$/, 'gif resize');
like(frames(get('/crop/a.gif')),
	qr/^gif frames=4 decoded=4 loop=0 $delays size=30x30$/, 'gif crop');
like(frames(get('/rotate/a.gif')),
	qr/^gif frames=4 decoded=4 loop=0 $delays size=60x80$/, 'gif rotate');
like(frames(get('/pad/a.gif')),
	qr/^gif frames=4 decoded=4 loop=0 $delays size=50x50$/, 'gif pad');
like(frames(get('/resize/a.webp')),
	qr/^webp frames=4 decoded=4 loop=0 $delays size=40x30$/, 'webp resize');

# The format: WebP where the token is webp, GIF otherwise.

my $r = get('/fmt/a.gif', 'image/webp,*/*');
is(response_header($r, 'Content-Type'), 'image/webp', 'accepts webp: webp');
like(frames($r), qr/^webp frames=4 decoded=4 loop=0 $delays size=40x30$/,
	'accepts webp: animated webp');
is(response_header($r, 'Vary'), 'Accept', 'varies by Accept');
$r = get('/fmt/a.gif', 'image/gif,*/*');
is(response_header($r, 'Content-Type'), 'image/gif', 'no webp: gif');
like(frames($r), qr/^gif frames=4 decoded=4 /, 'no webp: animated gif');
like(frames(get('/webp/a.gif')), qr/^webp frames=4 decoded=4 loop=0 $delays/,
	'output webp: animated webp');

# Chrome's Accept negotiates avif; we write no animated AVIF, so where webp
# is negotiable too the animation goes out as WebP, else in its own format.

my $chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
$r = get('/both/a.gif', $chrome);
is(response_header($r, 'Content-Type'), 'image/webp', 'avif token, webp negotiable: webp');
like(frames($r), qr/^webp frames=4 decoded=4 loop=0 $delays size=40x30$/,
	'avif token, webp negotiable: animated webp');
like(response_header($r, 'ETag') // '', qr/-avif"$/, 'avif token: etag names the token');
$r = get('/avifonly/a.gif', $chrome);
is(response_header($r, 'Content-Type'), 'image/gif', 'avif token, no webp: gif');
like(frames($r), qr/^gif frames=4 decoded=4 /, 'avif token, no webp: animated gif');
$r = get('/jpeg/a.gif');
is(response_header($r, 'Content-Type'), 'image/jpeg', 'output jpeg: jpeg');
like(frames($r), qr/^jpeg frames=1 .* size=40x30$/, 'output jpeg: first frame');

# Limits: the first frame, or 415 and one error-log line.

like(frames(get('/few/a.gif')), qr/^gif frames=1 .* size=40x30$/,
	'over max_frames: first frame');
like(frames(get('/small/a.gif')), qr/^gif frames=1 .* size=40x30$/,
	'over max_frame_pixels: first frame');
like(frames(get('/few/a.webp')), qr/^webp frames=1 .* size=40x30$/,
	'webp over max_frames: first frame');
is(response_status(get('/refuse/a.gif')), 415, 'over_limit=refuse: 415');
is(scalar error_log_lines($t, qr/exceeds image_resize_rs_max_frames 3/), 1,
	'one error-log line says why');
like(frames(get('/first/a.gif')), qr/^gif frames=1 .* size=40x30$/,
	'animation first');
like(frames(get('/resize/still.gif')), qr/^gif frames=1 .* size=40x30$/,
	'a still gif stays a still');

# size: frames only for animations.

is(response_body(get('/size/a.gif')),
	qq({ "img" : { "width": 80, "height": 60, "type": "gif", "frames": 4 } }\x0d\x0a),
	'size: gif frames');
is(response_body(get('/size/a.webp')),
	qq({ "img" : { "width": 80, "height": 60, "type": "webp", "frames": 4 } }\x0d\x0a),
	'size: webp frames');
is(response_body(get('/size/still.gif')),
	qq({ "img" : { "width": 80, "height": 60, "type": "gif" } }\x0d\x0a),
	'size: a still as image_filter');

###############################################################################
