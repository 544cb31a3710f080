#!/usr/bin/perl

# Tests for image_resize_rs_metadata and image_resize_rs_metadata_gps: what
# a re-encoded image keeps of its source's EXIF and XMP, read back with
# exiftool from JPEG, PNG, WebP and AVIF output; "none" (the default) keeps
# nothing, GIF never carries any, and an image sent as is keeps everything.

###############################################################################

use warnings;
use strict;

use Test::More;
use File::Temp;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();
plan(skip_all => 'exiftool not installed')
	unless system('exiftool -ver >/dev/null 2>&1') == 0;

my $t = Test::Nginx->new()->has(qw/http map/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    map $arg_f $irs_fmt {
        default  original;
        jpeg     jpeg;
        png      png;
        webp     webp;
        avif     avif;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        image_resize_rs_output $irs_fmt;
        image_resize_rs_avif_speed 10;

        location /none/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
        }

        location /copyright/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_metadata copyright;
        }

        location /all/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_metadata all;

            location /all/gps/ {
                alias %%TESTDIR%%/;
                image_resize_rs_metadata_gps on;
            }
        }

        location /asis/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 2000 2000;
            image_resize_rs_auto_orient off;
            image_resize_rs_metadata none;
        }
    }
}

EOF

make_image($t, 'jpeg-rights', 400, 300, 'rights.jpg');
# Big enough that the metadata is under image_filter's 5% (no forced re-encode).
my $big = make_image($t, 'jpeg-rights', 1200, 900, 'big.jpg');

$t->try_run('no image_resize_rs_metadata')->plan(53);

###############################################################################

my $dir = File::Temp::tempdir('irs-meta-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub get {
	my ($uri) = @_;
	return http("GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a\x0d\x0a");
}

# The tags exiftool reads from a reply's body, "Group:Tag: value" lines.
sub tags {
	my ($uri) = @_;
	my $body = response_body(get($uri)) // '';
	my $path = "$dir/probe";
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $body;
	close $fh;
	return scalar `exiftool -a -s -G0 -Artist -Copyright -ImageDescription -Orientation -GPS:all -XMP:all '$path' 2>/dev/null`;
}

for my $f (qw/jpeg png webp avif/) {
	my $none = tags("/none/rights.jpg?f=$f");
	unlike($none, qr/Artist|Copyright|GPS|XMP|IRS/, "$f none: nothing kept");

	my $c = tags("/copyright/rights.jpg?f=$f");
	like($c, qr/^\[EXIF\]\s+Artist\s+: IRS Test Artist$/m, "$f copyright: artist");
	like($c, qr/^\[EXIF\]\s+Copyright\s+: \(c\) IRS Test Owner$/m,
		"$f copyright: copyright");
	unlike($c, qr/ImageDescription|GPS|Orientation/, "$f copyright: nothing else");

	my $a = tags("/all/rights.jpg?f=$f");
	like($a, qr/^\[EXIF\]\s+ImageDescription\s+: image_resize_rs test$/m,
		"$f all: description kept");
	like($a, qr/^\[EXIF\]\s+Orientation\s+: Horizontal \(normal\)$/m,
		"$f all: orientation applied, written as 1");
	like($a, qr/^\[EXIF\]\s+Copyright\s+: \(c\) IRS Test Owner$/m,
		"$f all: copyright");
	unlike($a, qr/GPS|private/, "$f all: no GPS, no XMP that had GPS");

	my $g = tags("/all/gps/rights.jpg?f=$f");
	like($g, qr/^\[EXIF\]\s+GPSLatitudeRef\s+: North$/m, "$f gps on: GPS kept");

	next if $f eq 'avif';

	like($c, qr/^\[XMP\]\s+Rights\s+: \(c\) IRS Test Owner XMP$/m,
		"$f copyright: xmp rights");
	like($c, qr/^\[XMP\]\s+Creator\s+: IRS Test Creator$/m,
		"$f copyright: xmp creator");
	like($c, qr/^\[XMP\]\s+Marked\s+: True$/m, "$f copyright: xmp marked");
	unlike($c, qr/private/, "$f copyright: no xmp description");
	like($g, qr/^\[XMP\]\s+Description\s+: IRS private description$/m,
		"$f gps on: the xmp packet as it is");
}

# AVIF: the EXIF item only, no XMP (avif-serialize writes none).

unlike(tags('/copyright/rights.jpg?f=avif'), qr/\[XMP\]/, 'avif: no xmp');

# Sent as is: every byte of the original, metadata and all.

ok(response_body(get('/asis/big.jpg')) eq $big, 'as is: the original bytes');

###############################################################################
