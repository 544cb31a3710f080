#!/usr/bin/perl

# Tests for JPEG XL input: resize (a JPEG XL original comes back as JPEG, or
# PNG with alpha, unless the client takes AVIF or WebP), the codestream's
# orientation, size and test modes, and bad input (truncated, corrupt, a
# pixel bomb in the size header, over max_pixels), each one status and one
# error-log line. The inputs are made by libjxl's cjxl from irs-tool's images.

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
plan(skip_all => 'cjxl not found (libjxl-tools)')
	unless system('cjxl --version >/dev/null 2>&1') == 0;

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
sub slurp {
	my ($d, $name) = @_;
	open my $fh, '<', "$d/$name" or die "$name: $!";
	binmode $fh;
	local $/;
	return scalar <$fh>;
}

sub cjxl {
	my ($t, $kind, $w, $h, $name, @opts) = @_;
	my $d = $t->testdir();
	my $src = $kind =~ /^jpeg/ ? "$name.src.jpg" : "$name.src.png";
	make_image($t, $kind, $w, $h, $src);
	system("cjxl '$d/$src' '$d/$name' @opts >/dev/null 2>&1") == 0
		or die "cjxl $kind failed";
	return slurp($d, $name);
}

my $jxl = cjxl($t, 'png', 80, 60, 'a.jxl', '-d', '1');
cjxl($t, 'png', 80, 60, 'box.jxl', '-d', '1', '--container=1');
cjxl($t, 'png-indexed-trns', 80, 60, 'alpha.jxl', '-d', '1');
# A JPEG turned by EXIF orientation 6, recompressed: cjxl moves the
# orientation into the codestream.
cjxl($t, 'jpeg-orient-6', 80, 60, 'o6.jxl');

$t->write_file('trunc.jxl', substr($jxl, 0, length($jxl) - 20));
my $corrupt = $jxl;
substr($corrupt, 12, length($corrupt) - 12, "\x00" x (length($corrupt) - 12));
$t->write_file('corrupt.jxl', $corrupt);

# The size header (the bits after FF 0A, least significant first): 80x60's
# small form takes 9 bits; a 65536x65536 one (not small, U32 selector 3,
# 30 bits of 65535, ratio 1:1) replaces them.
my $body = substr($jxl, 2);
my @bits = map { vec($body, $_, 1) } 0 .. 8 * length($body) - 1;
my @all = (0, 1, 1, (map { (65535 >> $_) & 1 } 0 .. 29), 1, 0, 0,
	@bits[9 .. $#bits]);
my $stream = '';
vec($stream, $_, 1) = $all[$_] for 0 .. $#all;
$t->write_file('bomb.jxl', "\xff\x0a" . $stream);

$t->try_run('no image_resize_rs')->plan(19);

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

my $r = get('/resize/a.jxl');
is(response_status($r), 200, 'jxl: 200');
is(response_header($r, 'Content-Type'), 'image/jpeg', 'jxl to a plain client: jpeg');
is(info($r), 'jpeg 40 30', 'resized');
is(info(get('/resize/box.jxl')), 'jpeg 40 30', 'container: resized');

$r = get('/resize/a.jxl', 'image/avif,image/webp,*/*');
is(response_header($r, 'Content-Type'), 'image/avif', 'avif client: avif');
$r = get('/resize/a.jxl', 'image/webp,*/*');
is(info($r), 'webp 40 30', 'webp client: webp');

$r = get('/resize/alpha.jxl');
is(response_header($r, 'Content-Type'), 'image/png', 'alpha to a plain client: png');
like((image_info(response_body($r)))[3] // '', qr/alpha/, 'alpha kept');

is(info(get('/resize/o6.jxl')), 'jpeg 40 30', 'orientation: displayed shape');
like(response_body(get('/size/o6.jxl')),
	qr/"width": 80, "height": 60, "type": "jxl"/, 'size: displayed');

$r = get('/test/a.jxl');
is(response_status($r), 200, 'test: 200');
is(response_body($r), $jxl, 'test: as is');
like(response_body(get('/size/bomb.jxl')),
	qr/"width": 65536, "height": 65536/, 'size: the bomb from its header');

is(response_status(get('/resize/trunc.jxl')), 415, 'truncated: 415');
is(response_status(get('/resize/corrupt.jxl')), 415, 'corrupt: 415');
is(response_status(get('/resize/bomb.jxl')), 415, 'pixel bomb: 415');
is(response_status(get('/small/a.jxl')), 415, 'over max_pixels: 415');

my @err = error_log_lines($t, qr/./);
my @refused = grep { /image_resize_rs/ && /\[error\]/ } @err;
is(scalar @refused, 4, 'four refusals, four lines')
	or diag(join("\n", @refused));
ok(!grep({ /\[(alert|crit|emerg)\]/ } @err), 'no alerts');

###############################################################################
