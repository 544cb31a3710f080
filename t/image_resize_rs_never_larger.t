#!/usr/bin/perl

# Tests for image_resize_rs_never_larger: with image_resize_rs_formats, an
# image that needs no geometric change and would grow when converted (or,
# forced by its application data, re-encoded) goes out as the original
# bytes, with the original's type, $image_resize_rs_status "asis-smaller",
# and consistent Vary, ETag and Content-Length, also through a front
# proxy_cache; "off" sends the converted image; a resize always converts.

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

    log_format irs '$uri $image_resize_rs_status $image_resize_rs_format '
                   '$image_resize_rs_in $image_resize_rs_out';

    proxy_cache_path %%TESTDIR%%/cache levels=1 keys_zone=front:1m;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        access_log %%TESTDIR%%/irs.log irs;

        image_resize_rs_server_timing on;

        location /fmt/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 150 150;
            image_resize_rs_formats avif webp;
        }

        location /off/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 150 150;
            image_resize_rs_formats avif webp;
            image_resize_rs_never_larger off;
        }

        location /plain/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 150 150;
        }

        location = /metrics {
            image_resize_rs_metrics;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  front;

        location / {
            image_resize_rs_formats avif webp;
            proxy_cache front;
            proxy_cache_key "$uri $image_resize_rs_format";
            proxy_ignore_headers Vary;
            proxy_cache_valid 200 1h;
            proxy_pass http://127.0.0.1:8080/fmt/;
            add_header X-Cache $upstream_cache_status;
        }
    }
}

EOF

# Quality 10: AVIF and WebP at their default qualities are bigger.
my $low = make_image($t, 'jpeg-low', 80, 60, 'low.jpg');
make_image($t, 'jpeg-low', 400, 300, 'lowbig.jpg');
my $photo = make_image($t, 'jpeg', 80, 60, 'photo.jpg');

# image_filter's force: application data above 5% of the file makes it
# re-encode a JPEG that fits (quality 75 here, so this one grows).
my $pad = "Exif\0\0" . "\0" x 64;
my $lowexif = substr($low, 0, 2) . "\xff\xe1" . pack('n', length($pad) + 2)
	. $pad . substr($low, 2);
$t->write_file('lowexif.jpg', $lowexif);

$t->try_run('no image_resize_rs_never_larger')->plan(31);

###############################################################################

my $both = 'image/avif,image/webp,*/*';

sub get {
	my ($uri, $accept, $port, $extra) = @_;
	my $h = defined $accept ? "Accept: $accept\x0d\x0a" : '';
	$h .= $extra // '';
	return http("GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a$h\x0d\x0a",
		PeerAddr => '127.0.0.1:' . port($port // 8080));
}

sub info {
	my ($r) = @_;
	my ($type, $w, $h) = image_info(response_body($r));
	return "$type ${w}x$h";
}

sub timing_status {
	my ($r) = @_;
	my $st = response_header($r, 'Server-Timing') // '';
	return $st =~ /desc="([^"]*)"/ ? $1 : '';
}

# Fits the box, would grow as AVIF: the original, as it is.

my $r = get('/fmt/low.jpg', $both);
is(response_status($r), 200, 'avif client: 200');
ok(response_body($r) eq $low, 'avif client: the original bytes');
is(response_header($r, 'Content-Type'), 'image/jpeg', 'the original\'s type');
is(response_header($r, 'Content-Length'), length($low), 'its length');
is(response_header($r, 'Vary'), 'Accept', 'still varies by Accept');
my $etag = response_header($r, 'ETag') // '';
like($etag, qr/^W\/".*-avif"$/, 'the avif token\'s etag');
is(timing_status($r), 'asis-smaller', 'status asis-smaller');

is(response_status(get('/fmt/low.jpg', $both, 8080,
	"If-None-Match: $etag\x0d\x0a")), 304, 'its etag validates');

$r = get('/fmt/low.jpg', 'image/webp,*/*');
ok(response_body($r) eq $low, 'webp client: the original bytes');
is(timing_status($r), 'asis-smaller', 'webp client: asis-smaller');

$r = get('/fmt/low.jpg', '*/*');
ok(response_body($r) eq $low, 'no conversion asked: the original');
is(timing_status($r), 'asis', 'no conversion asked: asis');

# never_larger off: the converted image, bigger as it is.

$r = get('/off/low.jpg', $both);
is(info($r), 'avif 80x60', 'off: converted');
cmp_ok(length(response_body($r)), '>', length($low), 'off: bigger than the original');
is(response_header($r, 'Content-Type'), 'image/avif', 'off: avif type');

# A conversion that saves bytes, and a resize, are sent.

$r = get('/fmt/photo.jpg', $both);
is(info($r), 'avif 80x60', 'smaller conversion sent');
cmp_ok(length(response_body($r)), '<', length($photo), 'smaller indeed');
$r = get('/fmt/lowbig.jpg', $both);
is(info($r), 'avif 150x112', 'a resize is always converted');
is(timing_status($r), 'resized', 'resize: resized');

# image_filter's forced re-encode that grows: the original, strong etag kept.

$r = get('/plain/lowexif.jpg');
ok(response_body($r) eq $lowexif, 'force re-encode bigger: the original');
is(timing_status($r), 'asis-smaller', 'force: asis-smaller');
like(response_header($r, 'ETag') // '', qr/^"/, 'force: the origin\'s strong etag');
$r = get('/off/lowexif.jpg');
is(timing_status($r), 'resized', 'force, off: re-encoded');
cmp_ok(length(response_body($r)), '>', length($lowexif), 'force, off: bigger');

# Through a front cache keyed on the format: a HIT with the same bytes.

$r = get('/low.jpg', $both, 8081);
my $second = get('/low.jpg', $both, 8081);
is(response_header($second, 'X-Cache'), 'HIT', 'front: second request a hit');
ok(response_body($r) eq $low && response_body($second) eq $low,
	'front: the original bytes both times');
is(response_header($second, 'Content-Type'), 'image/jpeg', 'front: jpeg type');

# The shared counters: four asis-smaller replies (avif, webp, force, the
# front's miss).

like(response_body(get('/metrics')),
	qr/^image_resize_rs_replies_total\{outcome="asis-smaller",reason=""\} 4$/m,
	'metrics: asis-smaller counted');

$t->stop();

my %log;
for (split /\n/, $t->read_file('irs.log')) {
	my ($uri, @rest) = split / /;
	push @{$log{$uri}}, "@rest";
}
is($log{'/fmt/low.jpg'}[0], "asis-smaller avif ${\ length $low} ${\ length $low}",
	'log: asis-smaller, the avif token, bytes in = bytes out');
is(scalar @{$log{'/fmt/low.jpg'}}, 5, 'log: every resizer request (one from the front)');
is(scalar(error_log_lines($t, qr/\[error\].*image_resize_rs:/)), 0, 'no errors');

###############################################################################
