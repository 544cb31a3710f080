#!/usr/bin/perl

# Tests for AVIF input: resize (an AVIF original comes back as JPEG unless
# the client asked for AVIF or WebP), size and test modes, and bad input
# (truncated, corrupt, a pixel bomb, a wrong brand), each one status and
# one error-log line.

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
            image_resize_rs_formats avif webp;
        }

        location /size/ {
            alias %%TESTDIR%%/;
            image_resize_rs size;
        }

        location /test/ {
            alias %%TESTDIR%%/;
            image_resize_rs test;
        }

        location /small/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 40 40;
            image_resize_rs_max_pixels 1000;
        }
    }
}

EOF

my $avif = make_image($t, 'avif', 80, 60, 'a.avif');
$t->write_file('trunc.avif', substr($avif, 0, length($avif) - 20));
my $corrupt = $avif;
substr($corrupt, length($corrupt) - 40, 30, "\x5a" x 30);
$t->write_file('corrupt.avif', $corrupt);
my $bomb = $avif;
my $i = index($bomb, 'ispe');
substr($bomb, $i + 8, 8, pack('NN', 100000, 100000));
$t->write_file('bomb.avif', $bomb);
my $wrong = $avif;
substr($wrong, 8, 4, 'xxxx');
substr($wrong, 16, 16, 'xxxx' x 4);
$t->write_file('wrong.avif', $wrong);

$t->try_run('no image_resize_rs')->plan(16);

###############################################################################

sub get {
	my ($uri, $accept) = @_;
	my $a = defined $accept ? "Accept: $accept\x0d\x0a" : '';
	return http("GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a$a\x0d\x0a");
}

my $r = get('/resize/a.avif');
is(response_status($r), 200, 'avif: 200');
is(response_header($r, 'Content-Type'), 'image/jpeg', 'avif to a plain client: jpeg');
is(join(' ', (image_info(response_body($r)))[0 .. 2]), 'jpeg 40 30', 'resized');

$r = get('/resize/a.avif', 'image/avif,image/webp,*/*');
is(response_header($r, 'Content-Type'), 'image/avif', 'avif client: avif');
is(join(' ', (image_info(response_body($r)))[0 .. 2]), 'avif 40 30', 'avif resized');

$r = get('/resize/a.avif', 'image/webp,*/*');
is(response_header($r, 'Content-Type'), 'image/webp', 'webp client: webp');

like(response_body(get('/size/a.avif')),
	qr/"width": 80, "height": 60, "type": "avif"/, 'size: avif');
$r = get('/test/a.avif');
is(response_status($r), 200, 'test: 200');
is(response_body($r), $avif, 'test: as is');

is(response_status(get('/resize/trunc.avif')), 415, 'truncated: 415');
is(response_status(get('/resize/corrupt.avif')), 415, 'corrupt: 415');
is(response_status(get('/resize/bomb.avif')), 415, 'pixel bomb: 415');
is(response_status(get('/small/a.avif')), 415, 'over max_pixels: 415');
is(response_status(get('/resize/wrong.avif')), 415, 'wrong brand: 415');

my @err = error_log_lines($t, qr/./);
my @refused = grep { /image_resize_rs/ && /\[error\]/ } @err;
is(scalar @refused, 5, 'five refusals, five lines')
	or diag(join("\n", @refused));
ok(!grep({ /\[(alert|crit|emerg)\]/ } @err), 'no alerts');

###############################################################################
