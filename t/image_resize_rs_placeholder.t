#!/usr/bin/perl

# Tests for image_resize_rs placeholder: a ThumbHash, the dominant colour and
# the displayed size as JSON, for JPEG (baseline, progressive, EXIF-rotated),
# PNG with alpha, GIF and WebP; bad input; through a front proxy_cache.

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

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /ph/ {
            alias %%TESTDIR%%/;
            image_resize_rs placeholder;
            image_resize_rs_max_pixels 30m;
        }

        location /small/ {
            alias %%TESTDIR%%/;
            image_resize_rs placeholder;
            image_resize_rs_max_pixels 100k;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  localhost;

        location / {
            proxy_cache front;
            proxy_cache_valid 200 1h;
            proxy_pass http://127.0.0.1:8080/ph/;
            add_header X-Cache $upstream_cache_status;
        }
    }
}

EOF

make_image($t, 'jpeg', 1600, 1200, 'photo.jpg');
make_image($t, 'jpeg-progressive', 1600, 1200, 'prog.jpg');
make_image($t, 'jpeg-orient-6', 96, 64, 'o6.jpg');
make_image($t, 'png-indexed-trns', 200, 100, 'trns.png');
make_image($t, 'gif', 120, 80, 'a.gif');
make_image($t, 'webp', 64, 48, 'a.webp');
$t->write_file('bad.jpg', "\xff\xd8\xff\xe0" . ('x' x 100));
$t->write_file('text.txt', 'not an image');

$t->try_run('no image_resize_rs placeholder')->plan(29);

###############################################################################

sub get {
	my ($uri, $port) = @_;
	return http("GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a\x0d\x0a",
		PeerAddr => '127.0.0.1:' . port($port // 8080));
}

my $json = qr/^\{ "img" : \{ "width": (\d+), "height": (\d+), "type": "(\w+)", "thumbhash": "([A-Za-z0-9+\/]+=*)", "blurhash": "([0-9A-Za-z#\$%*+,\-.:;=?\@\[\]^_{|}~]+)", "color": "(#[0-9a-f]{6})" \} \}\x0d\x0a$/;

sub fields {
	my ($r) = @_;
	my @f = response_body($r) =~ $json;
	return @f ? "$f[0]x$f[1] $f[2]" : 'no json: ' . (response_body($r) // '');
}

my $r = get('/ph/photo.jpg');
is(response_status($r), 200, 'jpeg: 200');
is(response_header($r, 'Content-Type'), 'application/json', 'json type');
is(fields($r), '1600x1200 jpeg', 'jpeg: displayed size and type');
my (undef, undef, undef, $hash, $blur, $color) = response_body($r) =~ $json;
cmp_ok(length($hash // ''), '>=', 24, 'a thumbhash');
cmp_ok(length($hash // ''), '<=', 40, 'a small one');
# 4x3 components for a landscape image: size flag "L", 28 characters.
like($blur // '', qr/^L.{27}$/, 'a 4x3 blurhash');
like((response_body(get('/ph/o6.jpg')) =~ $json)[4] // '', qr/^L.{27}$/,
	'blurhash of the displayed (turned) image');

$r = get('/ph/prog.jpg');
is(fields($r), '1600x1200 jpeg', 'progressive jpeg');

# The size as displayed: stored 64x96 with EXIF orientation 6 shows 96x64.
is(fields(get('/ph/o6.jpg')), '96x64 jpeg', 'exif orientation applied');

$r = get('/ph/trns.png');
is(fields($r), '200x100 png', 'png with transparency');
isnt(response_body($r), response_body(get('/ph/photo.jpg')), 'another hash');
is(fields(get('/ph/a.gif')), '120x80 gif', 'gif');
is(fields(get('/ph/a.webp')), '64x48 webp', 'webp');

# The same image gives the same answer.
is(response_body(get('/ph/photo.jpg')), response_body(get('/ph/photo.jpg')),
	'deterministic');

# Bad input: one status and one log line each.

is(response_status(get('/ph/text.txt')), 415, 'not an image: 415');
is(response_status(get('/ph/bad.jpg')), 415, 'corrupt: 415');
is(response_status(get('/small/photo.jpg')), 415, 'over max_pixels: 415');
is(response_status(get('/ph/none.jpg')), 404, 'missing: 404 passes');

# Through a front cache: a MISS, then a HIT with the same bytes.

$r = get('/photo.jpg', 8081);
is(response_header($r, 'X-Cache'), 'MISS', 'front: miss');
like(response_body($r), $json, 'front: json');
my $r2 = get('/photo.jpg', 8081);
is(response_header($r2, 'X-Cache'), 'HIT', 'front: hit');
is(response_body($r2), response_body($r), 'front: same json');

# HEAD and the log.

$r = http("HEAD /ph/photo.jpg HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a\x0d\x0a",
	PeerAddr => '127.0.0.1:' . port(8080));
is(response_status($r), 200, 'head: 200');
is(response_body($r), '', 'head: no body');

my @err = error_log_lines($t, qr/./);
my @refused = grep { /image_resize_rs/ && /\[error\]/ } @err;
is(scalar(grep { /text\.txt|not an image/ } @refused), 1, 'one line: not an image');
is(scalar(grep { /too many pixels|pixels/ } @refused), 1, 'one line: pixels');
ok((grep { /bad\.jpg/ } @refused) <= 1, 'at most one line: corrupt');
ok(!grep({ /\[(alert|crit|emerg)\]/ } @err), 'no alerts');
cmp_ok(scalar @refused, '<=', 3, 'three refusals, three lines');

###############################################################################
