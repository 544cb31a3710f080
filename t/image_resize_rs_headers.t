#!/usr/bin/perl

# image_resize_rs: the headers around a reply. A refusal from the header
# filter (encoded, too big, partial) carries none of the origin's headers, as
# image_filter's failure exit; conditional requests and HEADs of a location
# that negotiates formats get the format's Vary and ETag, and the origin's
# ETag never validates another format.

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

my $t = Test::Nginx->new()->has(qw/http proxy/);

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

        location /enc/ {
            proxy_pass http://127.0.0.1:8081/gz/;
            image_resize_rs resize 100 100;
        }

        location /encpage/ {
            proxy_pass http://127.0.0.1:8081/gz/;
            image_resize_rs resize 100 100;
            error_page 415 = /empty;
        }

        location /big/ {
            proxy_pass http://127.0.0.1:8081/cached/;
            image_resize_rs resize 100 100;
            image_resize_rs_buffer 1k;
        }

        location = /empty {
            empty_gif;
        }

        # static files: nginx's not-modified filter would compare the
        # file's ETag
        location /fmt/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_formats avif webp;
        }

        location /plain/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
        }

        location /fmtp/ {
            proxy_pass http://127.0.0.1:8081/cached/;
            image_resize_rs resize 100 100;
            image_resize_rs_formats avif webp;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  origin;

        location /gz/ {
            alias %%TESTDIR%%/;
            add_header Content-Encoding gzip;
            add_header Cache-Control "max-age=2592000";
        }

        location /cached/ {
            alias %%TESTDIR%%/;
            add_header Cache-Control "max-age=2592000";
        }
    }
}

EOF

make_image($t, 'jpeg', 640, 480, 'photo.jpg');

$t->try_run('no image_resize_rs')->plan(21);

###############################################################################

sub get {
	my ($uri, $extra, $method) = @_;
	$method //= 'GET';
	return http("$method $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a"
		. ($extra // '') . "\x0d\x0a");
}

# Refusals in the header filter: the origin's headers are gone.

my $r = get('/enc/photo.jpg');
is(response_status($r), 415, 'encoded: 415');
ok(!defined response_header($r, 'Content-Encoding'), 'encoded: no Content-Encoding');
ok(!defined response_header($r, 'Cache-Control'), 'encoded: no Cache-Control');

$r = get('/encpage/photo.jpg');
is(response_status($r), 200, 'error_page 415 = /empty: 200');
like(response_header($r, 'Content-Type'), qr!^image/gif!, 'error page: a gif');
ok(!defined response_header($r, 'Content-Encoding'), 'error page: no Content-Encoding');
ok(!defined response_header($r, 'Cache-Control'), 'error page: no Cache-Control');
ok(!defined response_header($r, 'ETag'), 'error page: no ETag');

$r = get('/big/photo.jpg');
is(response_status($r), 415, 'too big: 415');
ok(!defined response_header($r, 'Cache-Control'), 'too big: no Cache-Control');

# Conditional requests where the format is negotiated.

my $orig = response_header(get('/plain/photo.jpg'), 'ETag');
like($orig, qr/^W\/"/, 'the jpeg reply has the origin tag, weak');
(my $strong = $orig) =~ s!^W/!!;

$r = get('/fmt/photo.jpg', "Accept: image/avif\x0d\x0aIf-None-Match: $strong\x0d\x0a");
is(response_status($r), 200, 'origin etag does not validate avif');
my $avif = response_header($r, 'ETag');
like($avif, qr/-avif"$/, 'avif etag');

$r = get('/fmt/photo.jpg', "Accept: image/avif\x0d\x0aIf-None-Match: $avif\x0d\x0a");
is(response_status($r), 304, 'avif etag validates avif');
is(response_header($r, 'Vary'), 'Accept', '304: Vary');
is(response_header($r, 'ETag'), $avif, '304: the avif etag');

$r = get('/fmt/photo.jpg', "Accept: image/webp\x0d\x0aIf-None-Match: $avif\x0d\x0a");
is(response_status($r), 200, 'avif etag does not validate webp');

$r = get('/fmt/photo.jpg', "Accept: image/avif\x0d\x0a"
	. "If-Modified-Since: " . response_header($r, 'Last-Modified') . "\x0d\x0a");
is(response_status($r), 304, 'If-Modified-Since: 304');
is(response_header($r, 'Vary'), 'Accept', 'If-Modified-Since: Vary');

$r = get('/fmtp/photo.jpg', "Accept: image/avif\x0d\x0a", 'HEAD');
is(response_header($r, 'Vary'), 'Accept', 'proxied HEAD: Vary');
like(response_header($r, 'ETag'), qr/^W\/".*-avif"$/, 'proxied HEAD: the avif etag');

###############################################################################
