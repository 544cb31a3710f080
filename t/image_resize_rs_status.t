#!/usr/bin/perl

# Statuses and headers around the image: an error_page placeholder that is
# an image is resized and keeps its status (image_filter's behaviour) while an
# S3-style 404 with an XML body stays as it is; a proxied HEAD without
# `proxy_method GET`; no Accept-Ranges on our replies; a quality from a
# missing variable only matters when that encoder runs.

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

        location /img/ {
            proxy_pass http://127.0.0.1:8081/;
            image_resize_rs resize 100 100;
            proxy_intercept_errors on;
            error_page 404 /placeholder.jpg;
        }

        location /xml/ {
            proxy_pass http://127.0.0.1:8081/;
            image_resize_rs resize 100 100;
        }

        location = /placeholder.jpg {
            root %%TESTDIR%%;
            image_resize_rs resize 50 50;
        }

        location /head/ {
            proxy_pass http://127.0.0.1:8081/;
            image_resize_rs resize 100 100;
        }

        location /q/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_jpeg_quality $arg_q;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  origin;

        location / {
            root %%TESTDIR%%;
            add_header Accept-Ranges bytes;
        }

        location /missing.xml {
            default_type application/xml;
            return 404 '<Error><Code>NoSuchKey</Code></Error>';
        }
    }
}

EOF

make_image($t, 'jpeg', 640, 480, 'photo.jpg');
make_image($t, 'jpeg', 400, 400, 'placeholder.jpg');
make_image($t, 'jpeg', 80, 60, 'small.jpg');

$t->try_run('no image_resize_rs')->plan(15);

###############################################################################

sub dims {
	my ($r) = @_;
	my ($type, $w, $h) = image_info(response_body($r));
	return "$type ${w}x$h";
}

# error_page 404 /placeholder.jpg: the placeholder is resized, status 404

my $r = http_get('/img/nosuch.jpg');
is(response_status($r), 404, 'placeholder keeps 404');
is(dims($r), 'jpeg 50x50', 'placeholder resized');

# an S3 404 with an XML body stays as it is

$r = http_get('/xml/missing.xml');
is(response_status($r), 404, 'xml 404 stays 404');
like(response_body($r), qr/NoSuchKey/, 'xml body untouched');

# a resized reply: no Accept-Ranges, a weak ETag, the right length

$r = http_get('/img/photo.jpg');
is(response_status($r), 200, 'resized');
is(dims($r), 'jpeg 100x75', 'resized dims');
ok(!defined response_header($r, 'Accept-Ranges'), 'no Accept-Ranges');
is(response_header($r, 'Content-Length'), length(response_body($r)),
	'Content-Length of the new image');

# a proxied HEAD without proxy_method GET: headers, no error

$r = http_head('/head/photo.jpg');
is(response_status($r), 200, 'proxied HEAD: 200');
is(response_header($r, 'Content-Type'), 'image/jpeg', 'proxied HEAD: type');
ok(!defined response_header($r, 'Content-Length'), 'proxied HEAD: no length');

# jpeg_quality $arg_q without ?q=: an image that fits is passed as is,
# one that needs encoding is refused

$r = http_get('/q/small.jpg');
is(response_status($r), 200, 'no quality, as is: 200');
is(dims($r), 'jpeg 80x60', 'no quality, as is: original');
$r = http_get('/q/photo.jpg');
is(response_status($r), 415, 'no quality, resize: 415');
is(scalar(error_log_lines($t, qr/\[error\].*image_resize_rs:/)), 1,
	'one error line (the invalid quality)');

###############################################################################
