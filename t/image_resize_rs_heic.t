#!/usr/bin/perl

# Tests for HEIC input: resize (an HEIC original comes back as JPEG unless
# the client takes AVIF or WebP), size and test modes, and bad input
# (truncated, corrupt, a pixel bomb in ispe, over max_pixels), each one
# status and one error-log line. The inputs are made by libheif's heif-enc
# from irs-tool's images.

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
plan(skip_all => 'heif-enc not found (libheif-examples)')
	unless system('heif-enc --version >/dev/null 2>&1') == 0;

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

# (named subs take $t as an argument: a closure over it would keep it alive
# past Test::More's end-of-run count.)
sub heif_enc {
	my ($t, $kind, $w, $h, $name) = @_;
	my $d = $t->testdir();
	make_image($t, $kind, $w, $h, "$name.src.png");
	system("heif-enc -q 60 '$d/$name.src.png' -o '$d/$name' >/dev/null 2>&1") == 0
		or die "heif-enc $kind failed";
	open my $fh, '<', "$d/$name" or die "$name: $!";
	binmode $fh;
	local $/;
	return scalar <$fh>;
}

my $heic = heif_enc($t, 'png', 80, 60, 'a.heic');

$t->write_file('trunc.heic', substr($heic, 0, length($heic) - 40));
my $corrupt = $heic;
my $mdat = index($corrupt, 'mdat');
substr($corrupt, $mdat + 8, length($corrupt) - $mdat - 8,
	"\x5a" x (length($corrupt) - $mdat - 8));
$t->write_file('corrupt.heic', $corrupt);
# every ispe: heif-enc writes a grid item and its tile, each with one
my $bomb = $heic;
for (my $i = index($bomb, 'ispe'); $i >= 0; $i = index($bomb, 'ispe', $i + 4)) {
	substr($bomb, $i + 8, 8, pack('NN', 60000, 60000));
}
$t->write_file('bomb.heic', $bomb);

$t->try_run('no image_resize_rs')->plan(14);

###############################################################################

sub get {
	my ($uri, $accept) = @_;
	my $a = defined $accept ? "Accept: $accept\x0d\x0a" : '';
	return http("GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a$a\x0d\x0a");
}

sub info {
	my ($r) = @_;
	return join(' ', (image_info(response_body($r)))[0 .. 2]);
}

my $r = get('/resize/a.heic');
is(response_status($r), 200, 'heic: 200');
is(response_header($r, 'Content-Type'), 'image/jpeg', 'heic to a plain client: jpeg');
is(info($r), 'jpeg 40 30', 'resized');
$r = get('/resize/a.heic', 'image/avif,image/webp,*/*');
is(response_header($r, 'Content-Type'), 'image/avif', 'avif client: avif');
is(info(get('/resize/a.heic', 'image/webp,*/*')), 'webp 40 30', 'webp client: webp');

like(response_body(get('/size/a.heic')),
	qr/"width": 80, "height": 60, "type": "heic"/, 'size: heic');
like(response_body(get('/size/bomb.heic')),
	qr/"width": 60000, "height": 60000/, 'size: the bomb from its ispe');
$r = get('/test/a.heic');
is(response_body($r), $heic, 'test: as is');

is(response_status(get('/resize/trunc.heic')), 415, 'truncated: 415');
is(response_status(get('/resize/corrupt.heic')), 415, 'corrupt: 415');
is(response_status(get('/resize/bomb.heic')), 415, 'pixel bomb: 415');
is(response_status(get('/small/a.heic')), 415, 'over max_pixels: 415');

my @err = error_log_lines($t, qr/./);
my @refused = grep { /image_resize_rs/ && /\[error\]/ } @err;
is(scalar @refused, 4, 'four refusals, four lines')
	or diag(join("\n", @refused));
ok(!grep({ /\[(alert|crit|emerg)\]/ } @err), 'no alerts');

###############################################################################
