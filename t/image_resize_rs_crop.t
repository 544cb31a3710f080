#!/usr/bin/perl

# Tests for image_resize_rs crop placement and the pad fit:
# image_resize_rs_gravity (sides, corners, smart), image_resize_rs_focus
# (static and from variables), image_resize_rs pad W H and
# image_resize_rs_pad_color, judged from the output's pixels.

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

    image_resize_rs_gravity southeast;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /inherited/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
        }

        location /center/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs_gravity center;
        }

        location /north/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs_gravity north;
        }

        location /south/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs_gravity south;
        }

        location /west/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs_gravity west;
        }

        location /smart/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs_gravity smart;
        }

        location /focus/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs_gravity west;
            image_resize_rs_focus 0.75 0.8;
        }

        location /smartrot/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs rotate 180;
            image_resize_rs_gravity smart;
        }

        location /focusrot/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs rotate 180;
            image_resize_rs_focus 0.75 0.8;
        }

        location /focusvar/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs_gravity west;
            image_resize_rs_focus $arg_x $arg_y;
        }

        location /focusoff/ {
            alias %%TESTDIR%%/;
            image_resize_rs crop 100 100;
            image_resize_rs_gravity west;
            image_resize_rs_focus off;
        }

        location /pad/ {
            alias %%TESTDIR%%/;
            image_resize_rs pad 200 200;
            image_resize_rs_gravity center;
            image_resize_rs_pad_color "#3366cc";
        }

        location /padnorth/ {
            alias %%TESTDIR%%/;
            image_resize_rs pad 200 200;
            image_resize_rs_gravity north;
        }

        location /padclear/ {
            alias %%TESTDIR%%/;
            image_resize_rs pad 200 200;
            image_resize_rs_gravity center;
            image_resize_rs_pad_color transparent;
        }

        location /padodd/ {
            alias %%TESTDIR%%/;
            image_resize_rs pad 97 61;
            image_resize_rs_gravity center;
            image_resize_rs_pad_color 000000;
        }

        location /padvar/ {
            alias %%TESTDIR%%/;
            image_resize_rs pad $arg_w 100;
        }
    }
}

EOF

# The subject (saturated checkers) spans 70% to 90% of each side.
make_image($t, 'jpeg-subject', 400, 200, 'wide.jpg');
make_image($t, 'jpeg-subject', 200, 400, 'tall.jpg');
make_image($t, 'png-subject', 400, 200, 'wide.png');
make_image($t, 'jpeg-subject', 1, 400, 'thin.jpg');

$t->try_run('no image_resize_rs gravity')->plan(39);

###############################################################################

sub get {
	my ($uri) = @_;
	return http("GET $uri HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a\x0d\x0a");
}

my $probe = $t->testdir() . '/probe';

sub body_file {
	my ($r) = @_;
	open my $fh, '>:raw', $probe or die "$probe: $!";
	print $fh response_body($r) // '';
	close $fh;
	return $probe;
}

sub info {
	my ($r) = @_;
	my ($type, $w, $h) = image_info(response_body($r));
	return "$type ${w}x$h";
}

# "x y w h" of the saturated pixels of the answer, or "none".
sub subject {
	my ($uri) = @_;
	my $f = body_file(get($uri));
	my $out = `'${\ irs_tool()}' subject '$f' 2>&1`;
	chomp $out;
	return $out;
}

# The subject lies wholly inside a 100x100 answer: a margin on every side.
# (400x200 and 200x400 sources become 200x100 and 100x200 before the cut:
# the subject is 20x20 or 20x40.)
sub inside {
	my ($box) = @_;
	my ($x, $y, $w, $h) = split / /, $box;
	return 0 unless defined $h;
	# The whole subject: 20 px or more a side at this scale.
	return $x > 0 && $y > 0 && $x + $w < 100 && $y + $h < 100
		&& $w >= 18 && $h >= 18;
}

# The mean "R G B A" of a region of the answer.
sub mean {
	my ($r, @region) = @_;
	my $f = body_file($r);
	my $out = `'${\ irs_tool()}' mean '$f' @region 2>&1`;
	chomp $out;
	return $out;
}

# Within $tol of every channel of $want ("R G B" or "R G B A").
sub near {
	my ($got, $want, $tol) = @_;
	my @g = split / /, $got;
	my @w = split / /, $want;
	return 0 unless @g >= @w;
	for my $i (0 .. $#w) {
		return 0 if abs($g[$i] - $w[$i]) > $tol;
	}
	return 1;
}

# Crop: image_filter's geometry (fit the short side, cut the long one), the
# window where the gravity says. wide.jpg becomes 200x100 and the window
# slides along x; tall.jpg 100x200, along y.

is(info(get('/center/wide.jpg')), 'jpeg 100x100', 'crop size');
my $center = subject('/center/wide.jpg');
my ($x, $y, $w, $h) = split / /, $center;
ok(!inside($center) && $x + $w >= 95, 'center: the subject is cut at the right edge')
	or diag($center);
ok(inside(subject('/inherited/wide.jpg')), 'southeast from http level');
is(subject('/west/wide.jpg'), 'none', 'west: the subject is out');
is(subject('/north/tall.jpg'), 'none', 'north: the subject is out');
ok(inside(subject('/south/tall.jpg')), 'south: the subject is in');
is(subject('/north/wide.jpg'), subject('/center/wide.jpg'),
	'north on a wide image: centred in x');

# smart finds the subject either way.

ok(inside(subject('/smart/wide.jpg')), 'smart, wide: the subject is in');
ok(inside(subject('/smart/tall.jpg')), 'smart, tall: the subject is in');
is(info(get('/smart/tall.jpg')), 'jpeg 100x100', 'smart crop size');
ok(inside(subject('/smart/wide.png')), 'smart, png');
ok(inside(subject('/smartrot/wide.jpg')), 'smart, turned: the subject in the north-west');
is(info(get('/smart/thin.jpg')), 'jpeg 1x100', 'smart, 1 px wide');

# The focus point beats the gravity; from variables too; a bad value is
# the centre; "off" gives the gravity back.

ok(inside(subject('/focus/wide.jpg')), 'focus: the subject is in');
ok(inside(subject('/focusvar/wide.jpg?x=0.75&y=0.8')), 'focus from variables');
ok(inside(subject('/focusrot/wide.jpg')), 'focus on the image as displayed, turned');
is(subject('/focusvar/wide.jpg?x=0&y=0'), 'none', 'focus at the left edge');
is(subject('/focusvar/wide.jpg?x=.5&y=1'), subject('/center/wide.jpg'),
	'focus at the centre');
is(subject('/focusvar/wide.jpg?x=2&y=0.5'), subject('/center/wide.jpg'),
	'bad focus: centre');
is(response_status(get('/focusvar/wide.jpg?x=abc')), 200,
	'bad focus: still answered');
is(subject('/focusoff/wide.jpg'), 'none', 'focus off: the gravity');

# pad: fit inside (200x100), then bars to exactly 200x200 in the colour.

my $r = get('/pad/wide.jpg');
is(info($r), 'jpeg 200x200', 'pad: the exact box');
ok(near(mean($r, 0, 0, 200, 45), '51 102 204', 8), 'pad: top bar colour')
	or diag(mean($r, 0, 0, 200, 45));
ok(near(mean($r, 0, 155, 200, 45), '51 102 204', 8), 'pad: bottom bar colour');
ok(near(mean($r, 0, 55, 100, 40), '120 120 120', 15), 'pad: the image between')
	or diag(mean($r, 0, 55, 100, 40));

$r = get('/pad/tall.jpg');
is(info($r), 'jpeg 200x200', 'pad tall: the exact box');
ok(near(mean($r, 0, 0, 45, 200), '51 102 204', 8), 'pad tall: left bar');
ok(near(mean($r, 155, 0, 45, 200), '51 102 204', 8), 'pad tall: right bar');

$r = get('/padnorth/wide.jpg');
ok(near(mean($r, 0, 105, 200, 95), '255 255 255', 4), 'pad north: white below')
	or diag(mean($r, 0, 105, 200, 95));
ok(!near(mean($r, 0, 0, 200, 95), '255 255 255', 40), 'pad north: image on top');

# transparent: alpha in PNG, white in JPEG.

$r = get('/padclear/wide.png');
my ($type, $pw, $ph, $flags) = image_info(response_body($r));
is("$type ${pw}x$ph $flags", 'png 200x200 alpha', 'pad transparent png');
is((split / /, mean($r, 0, 0, 200, 50))[3], 0, 'png bars transparent');
is((split / /, mean($r, 0, 50, 200, 100))[3], 255, 'png image opaque');
$r = get('/padclear/wide.jpg');
ok(near(mean($r, 0, 0, 200, 45), '255 255 255', 4), 'pad transparent jpeg: white');

# Odd boxes and sizes; a 1 px wide image; the box from variables.

$r = get('/padodd/wide.jpg');
is(info($r), 'jpeg 97x61', 'pad odd box');
ok(near(mean($r, 0, 0, 97, 6), '0 0 0', 8), 'pad odd box: black bars');
is(info(get('/padodd/thin.jpg')), 'jpeg 97x61', 'pad 1xN');
is(info(get('/padvar/wide.jpg?w=150')), 'jpeg 150x100', 'pad from variables');
is(response_status(get('/padvar/wide.jpg?w=-')), 415, 'pad "-" from variables');

###############################################################################
