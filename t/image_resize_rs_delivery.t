#!/usr/bin/perl

# Tests for image_resize_rs delivery: the size ladder (image_resize_rs_widths,
# _heights), the device pixel ratio (image_resize_rs_dpr), the client's width
# hint (image_resize_rs_client_width), Save-Data, Vary and ETag of hinted
# answers, and $image_resize_rs_key in a front proxy_cache_key: a thousand
# made-up widths cost at most the ladder's resizes, counted at the origin.

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

my $t = Test::Nginx->new()->has(qw/http proxy cache/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    proxy_cache_path %%TESTDIR%%/cache levels=1 keys_zone=front:1m;

    # Shared by the front and the resizer, so both compute the same box.
    image_resize_rs_formats avif webp;
    image_resize_rs_widths 160 320 480 640 960 1280;
    image_resize_rs_dpr $http_sec_ch_dpr;
    image_resize_rs_save_data $http_save_data quality=20;

    log_format origin $uri;

    # resizer
    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location ~ "^/img/(?<w>[0-9]+|-)x(?<h>[0-9]+|-)/(?<f>.+)$" {
            image_resize_rs resize $w $h;
            image_resize_rs_avif_speed 10;
            proxy_pass http://127.0.0.1:8082/$f;
            add_header X-Key $image_resize_rs_key;
        }

        location ~ "^/cw/(?<w>[0-9]+|-)x(?<h>[0-9]+|-)/(?<f>.+)$" {
            image_resize_rs resize $w $h;
            image_resize_rs_client_width $http_sec_ch_width;
            proxy_pass http://127.0.0.1:8082/$f;
        }

        location ~ "^/heights/(?<w>[0-9]+|-)x(?<h>[0-9]+|-)/(?<f>.+)$" {
            image_resize_rs crop $w $h;
            image_resize_rs_heights 100 200;
            proxy_pass http://127.0.0.1:8082/$f;
        }

        location ~ "^/free/(?<w>[0-9]+|-)x(?<h>[0-9]+|-)/(?<f>.+)$" {
            image_resize_rs resize $w $h;
            image_resize_rs_widths off;
            image_resize_rs_dpr off;
            image_resize_rs_save_data off;
            proxy_pass http://127.0.0.1:8082/$f;
        }

        location ~ "^/arg/(?<w>[0-9]+|-)x(?<h>[0-9]+|-)/(?<f>.+)$" {
            image_resize_rs resize $w $h;
            image_resize_rs_formats off;
            image_resize_rs_widths off;
            image_resize_rs_dpr $arg_dpr;
            image_resize_rs_save_data off;
            proxy_pass http://127.0.0.1:8082/$f;
        }
    }

    # front
    server {
        listen       127.0.0.1:8081;
        server_name  localhost;

        location ~ "^/img/(?<w>[0-9]+|-)x(?<h>[0-9]+|-)/(?<f>.+)$" {
            image_resize_rs_box $w $h;
            proxy_cache front;
            proxy_cache_key "$image_resize_rs_key $f";
            proxy_ignore_headers Vary;
            proxy_cache_valid 200 1h;
            proxy_pass http://127.0.0.1:8080;
            add_header X-Cache $upstream_cache_status;
            add_header X-Front-Key $image_resize_rs_key;
        }
    }

    # origin
    server {
        listen       127.0.0.1:8082;
        server_name  localhost;

        location / {
            root %%TESTDIR%%;
            access_log %%TESTDIR%%/origin.log origin;
        }
    }
}

EOF

make_image($t, 'jpeg', 1600, 1200, 'photo.jpg');
make_image($t, 'jpeg', 1200, 1600, 'tall.jpg');

$t->try_run('no image_resize_rs delivery')->plan(38);

###############################################################################

sub get {
	my ($uri, $port, %h) = @_;
	my $extra = join '', map { "$_: $h{$_}\x0d\x0a" } sort keys %h;
	return http("GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a$extra\x0d\x0a",
		PeerAddr => '127.0.0.1:' . port($port // 8080));
}

sub size {
	my ($r) = @_;
	my ($type, $w, $h) = image_info(response_body($r));
	return defined $w ? "$type ${w}x$h" : 'none';
}

sub origin_hits {
	my ($dir) = @_;
	open my $fh, '<', "$dir/origin.log" or return 0;
	my @l = <$fh>;
	return scalar @l;
}

# The ladder: a made-up width is answered with the next step up, the top caps.

is(size(get('/img/250x-/photo.jpg')), 'jpeg 320x240', 'snapped up');
is(size(get('/img/320x-/photo.jpg')), 'jpeg 320x240', 'on the ladder');
is(size(get('/img/9999x-/photo.jpg')), 'jpeg 1280x960', 'capped at the top');
is(size(get('/img/1x-/photo.jpg')), 'jpeg 160x120', 'the bottom');
is(size(get('/img/-x100/photo.jpg')), 'jpeg 133x100', 'no height ladder here');
is(size(get('/heights/500x150/photo.jpg')), 'jpeg 640x200',
	'a height ladder, crop');

# The DPR multiplies the box, then snaps; capped at 3.

my $r = get('/img/300x-/photo.jpg', 8080, 'Sec-CH-DPR' => '2');
is(size($r), 'jpeg 640x480', 'dpr 2');
is(response_header($r, 'X-Key'), 'orig/640x-', 'key of dpr 2');
is(size(get('/img/300x-/photo.jpg', 8080, 'Sec-CH-DPR' => '1.5')),
	'jpeg 480x360', 'dpr 1.5');
is(size(get('/img/300x-/photo.jpg', 8080, 'Sec-CH-DPR' => '7')),
	'jpeg 960x720', 'dpr capped at 3');
is(size(get('/img/300x-/photo.jpg', 8080, 'Sec-CH-DPR' => 'bogus')),
	'jpeg 320x240', 'unusable dpr is 1');
is(size(get('/arg/300x-/photo.jpg?dpr=2')), 'jpeg 600x450',
	'dpr from an argument, no ladder');

# Vary names exactly the headers read; the ETag names the box.

$r = get('/img/300x-/photo.jpg', 8080, 'Accept' => 'image/webp');
is(response_header($r, 'Vary'), 'Accept, Sec-CH-DPR, Save-Data', 'vary');
like(response_header($r, 'ETag') // '', qr/-webp-320x-"$/, 'etag names the box');
my $etag1 = response_header($r, 'ETag');
$r = get('/img/300x-/photo.jpg', 8080, 'Accept' => 'image/webp',
	'Sec-CH-DPR' => 2);
like(response_header($r, 'ETag') // '', qr/-webp-640x-"$/, 'etag of dpr 2');
$r = get('/img/300x-/photo.jpg', 8080, 'Accept' => 'image/webp',
	'Sec-CH-DPR' => 2, 'If-None-Match' => $etag1);
is(response_status($r), 200, 'no 304 for the other dpr');
$r = get('/img/300x-/photo.jpg', 8080, 'Accept' => 'image/webp',
	'If-None-Match' => $etag1);
is(response_status($r), 304, '304 for the same answer');
$r = get('/free/300x-/photo.jpg', 8080, 'Accept' => 'image/webp');
is(response_header($r, 'Vary'), 'Accept', 'no hints, vary accept only');
is(size($r), 'webp 300x225', 'no ladder, no dpr');
$r = get('/arg/300x-/photo.jpg?dpr=2');
ok(!defined response_header($r, 'Vary'), 'dpr from an argument: no vary');

# Sec-CH-Width fills an open width (physical pixels: no DPR on top).

$r = get('/cw/-x-/photo.jpg', 8080, 'Sec-CH-Width' => '500',
	'Sec-CH-DPR' => '2');
is(size($r), 'jpeg 640x480', 'client width, snapped');
is(response_header($r, 'Vary'), 'Accept, Sec-CH-DPR, Sec-CH-Width, Save-Data',
	'vary names the width hint');
is(size(get('/cw/200x-/photo.jpg', 8080, 'Sec-CH-Width' => '900')),
	'jpeg 320x240', 'a width in the URL wins');
is(size(get('/cw/-x-/tall.jpg', 8080, 'Sec-CH-Width' => 'x')),
	'jpeg 1200x1600', 'unusable width: open');

# Save-Data caps the quality.

my $full = length response_body(get('/img/640x-/photo.jpg'));
$r = get('/img/640x-/photo.jpg', 8080, 'Save-Data' => 'on');
my $saved = length response_body($r);
is(size($r), 'jpeg 640x480', 'save-data, same box');
cmp_ok($saved, '<', $full * 0.8, "save-data smaller ($saved < $full)");
is(response_header($r, 'X-Key'), 'orig/640x-/save-data', 'save-data key');

# The front: one cache entry per answer, whatever the URL said.

$r = get('/img/250x-/photo.jpg', 8081, 'Accept' => 'image/avif');
is(response_header($r, 'X-Front-Key'), 'avif/320x-', 'front key');
is(response_header($r, 'X-Cache'), 'MISS', 'front miss');
is(size($r), 'avif 320x240', 'front avif');
$r = get('/img/301x-/photo.jpg', 8081, 'Accept' => 'image/avif');
is(response_header($r, 'X-Cache'), 'HIT', 'another width, same entry');
$r = get('/img/150x-/photo.jpg', 8081, 'Accept' => 'image/avif',
	'Sec-CH-DPR' => '2');
is(response_header($r, 'X-Cache'), 'HIT', 'half the box at dpr 2, same entry');
$r = get('/img/300x-/photo.jpg', 8081, 'Accept' => 'image/avif',
	'Sec-CH-DPR' => '2');
is(response_header($r, 'X-Cache'), 'MISS', 'dpr 2: its own entry');
is(size($r), 'avif 640x480', 'dpr 2 through the front');

# A thousand random widths and DPRs: at most six resizes, counted at the
# origin (sources fetched by the resizer for the front's misses).

my $before = origin_hits($t->testdir());
my (%keys, $misses);
srand(18);
for (1 .. 1000) {
	my $w = 1 + int(rand(3000));
	my $dpr = (qw/1 1.5 2 2.625 3 4 x/)[int(rand(7))];
	$r = get("/img/${w}x-/photo.jpg", 8081, 'Accept' => 'image/webp',
		'Sec-CH-DPR' => $dpr);
	$keys{response_header($r, 'X-Front-Key') // 'none'}++;
	$misses++ if (response_header($r, 'X-Cache') // '') ne 'HIT';
}
my $resizes = origin_hits($t->testdir()) - $before;
cmp_ok(scalar keys %keys, '<=', 6, 'at most six keys: '
	. join(' ', sort keys %keys));
cmp_ok($misses, '<=', 6, "at most six misses ($misses)");
cmp_ok($resizes, '<=', 6, "at most six origin fetches ($resizes)");
cmp_ok($resizes, '>=', 1, 'the origin was asked');

###############################################################################
