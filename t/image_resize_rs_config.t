#!/usr/bin/perl

# Tests for image_resize_rs configuration errors: `nginx -t` names the
# directive and the reason, as nginx's own modules do.

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Nginx->new()->has(qw/http/);

my %bad = (
	'image_resize_rs resize 0 100;' =>
		qr/"image_resize_rs" directive invalid parameter "0"/,
	'image_resize_rs resize 100 abc;' =>
		qr/"image_resize_rs" directive invalid parameter "abc"/,
	'image_resize_rs rotate 45;' =>
		qr/"image_resize_rs" directive invalid parameter "45"/,
	'image_resize_rs shrink;' =>
		qr/"image_resize_rs" directive invalid parameter "shrink"/,
	'image_resize_rs resize 1 2 3;' =>
		qr/invalid number of arguments in "image_resize_rs"/,
	'image_resize_rs_jpeg_quality 0;' =>
		qr/"image_resize_rs_jpeg_quality" directive invalid value "0"/,
	'image_resize_rs_webp_quality -;' =>
		qr/"image_resize_rs_webp_quality" directive invalid value "-"/,
	'image_resize_rs_sharpen x;' =>
		qr/"image_resize_rs_sharpen" directive invalid value "x"/,
	'image_resize_rs_max_pixels lots;' =>
		qr/"image_resize_rs_max_pixels" directive invalid value "lots"/,
	'image_resize_rs_buffer 1q;' =>
		qr/"image_resize_rs_buffer" directive invalid value/,
	'image_resize_rs_transparency maybe;' =>
		qr/invalid value "maybe" in "image_resize_rs_transparency"/,
	'image_resize_rs_jpeg_quality 50; image_resize_rs_jpeg_quality 60;' =>
		qr/"image_resize_rs_jpeg_quality" directive is duplicate/,
	'image_resize_rs_s3_endpoint ftp://example.com;' =>
		qr/"image_resize_rs_s3_endpoint" directive invalid endpoint/,
	'image_resize_rs_s3_bucket Bad_Name;' =>
		qr/"image_resize_rs_s3_bucket" directive invalid bucket name/,
	'image_resize_rs_s3_addressing sideways;' =>
		qr/"image_resize_rs_s3_addressing" directive invalid addressing/,
	'image_resize_rs_s3_region "EU WEST";' =>
		qr/"image_resize_rs_s3_region" directive invalid region/,
	'image_resize_rs_s3_credentials AKID;' =>
		qr/"image_resize_rs_s3_credentials" directive takes "env" or/,
	'image_resize_rs_s3_bucket photos; image_resize_rs_s3_key $uri;' =>
		qr/"image_resize_rs_s3_bucket" directive needs credentials: .*AWS_ACCESS_KEY_ID is not set/,
	'image_resize_rs resize 10 10; image_resize_rs_thread_pool nosuch;' =>
		qr/unknown thread pool "nosuch"/,
	'image_resize_rs_thread_pool $arg_pool;' =>
		qr/"image_resize_rs_thread_pool" directive does not take variables/,
	'image_resize_rs_thread_pool off; image_resize_rs_thread_pool off;' =>
		qr/"image_resize_rs_thread_pool" directive is duplicate/,
	'image_resize_rs_s3_bucket 1.2.3.4; image_resize_rs_s3_credentials a b;' =>
		qr/"image_resize_rs_s3_bucket" directive invalid bucket name/,
	'image_resize_rs_jobs 2;' =>
		qr/"image_resize_rs_jobs" directive is not allowed here/,
	'image_resize_rs_queue length=2;' =>
		qr/"image_resize_rs_queue" directive is not allowed here/,
	'image_resize_rs_overload 404;' =>
		qr/"image_resize_rs_overload" directive invalid value "404"/,
	'image_resize_rs_overload original max=1;' =>
		qr/"image_resize_rs_overload" directive unknown parameter "max=1"/,
	'image_resize_rs_metrics on;' =>
		qr/invalid number of arguments in "image_resize_rs_metrics"/,
	http_level('image_resize_rs_metrics;') =>
		qr/"image_resize_rs_metrics" directive is not allowed here/,
	http_level('image_resize_rs_jobs 0;') =>
		qr/"image_resize_rs_jobs" directive invalid value "0"/,
	http_level('image_resize_rs_jobs 129;') =>
		qr/"image_resize_rs_jobs" directive invalid value "129"/,
	http_level('image_resize_rs_queue depth=3;') =>
		qr/"image_resize_rs_queue" directive unknown parameter "depth=3"/,
	http_level('image_resize_rs_queue timeout=0;') =>
		qr/"image_resize_rs_queue" directive invalid value "timeout=0"/,
	http_level('image_resize_rs_queue size=1x;') =>
		qr/"image_resize_rs_queue" directive invalid value "size=1x"/,
	'image_resize_rs_widths 0;' =>
		qr/"image_resize_rs_widths" directive invalid value "0"/,
	'image_resize_rs_heights 100 abc;' =>
		qr/"image_resize_rs_heights" directive invalid value "abc"/,
	'image_resize_rs_widths 100 16385;' =>
		qr/"image_resize_rs_widths" directive invalid value "16385"/,
	'image_resize_rs_widths;' =>
		qr/invalid number of arguments in "image_resize_rs_widths"/,
	'image_resize_rs_dpr $http_sec_ch_dpr $arg_dpr;' =>
		qr/invalid number of arguments in "image_resize_rs_dpr"/,
	'image_resize_rs_client_width $http_sec_ch_width;' =>
		qr/"image_resize_rs_client_width" needs "image_resize_rs_widths"/,
	'image_resize_rs_save_data $http_save_data q=10;' =>
		qr/"image_resize_rs_save_data" directive invalid parameter "q=10"/,
	'image_resize_rs_save_data $http_save_data quality=0;' =>
		qr/"image_resize_rs_save_data" directive invalid value "0"/,
	'image_resize_rs_box 10;' =>
		qr/invalid number of arguments in "image_resize_rs_box"/,
	'image_resize_rs_box 0 10;' =>
		qr/"image_resize_rs_box" directive invalid parameter "0"/,
);

# A directive at http level, from inside conf()'s location block.
sub http_level {
	my ($directive) = @_;
	return "} } $directive server { listen 127.0.0.1:8081; location / {";
}

# credentials must not come from the caller's environment here
delete @ENV{qw/ AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN /};

$t->write_file_expand('nginx.conf', conf('image_resize_rs resize 10 10;'));
# + 5: never_larger, + 17: the image_resize_rs_sign checks, + 2 * 8 + 1:
# gravity, focus and pad, at the end
$t->try_run('no image_resize_rs')->plan(2 * keys(%bad) + 5 + 5 + 17 + 2 * 8 + 1 + 2 * 4 + 1 + 2 * 2 + 1);

###############################################################################

sub conf {
	my ($directive) = @_;
	return <<"EOF";

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location / {
            $directive
        }
    }
}

EOF
}

sub check {
	my ($t, $directive) = @_;
	my $d = $t->testdir();
	$t->write_file_expand('check.conf', conf($directive));
	my $out = `$Test::Nginx::NGINX -t -p $d/ -c check.conf -e $d/check.log 2>&1`;
	return ($? >> 8, $out);
}

for my $directive (sort keys %bad) {
	my ($rc, $out) = check($t, $directive);
	isnt($rc, 0, "rejected: $directive");
	like($out, qr/$bad{$directive}.* in .*check\.conf:\d+/,
		"message: $directive");
}

my ($rc, $out) = check($t, 'image_resize_rs resize $arg_w 10; '
	. 'image_resize_rs rotate 90; image_resize_rs_max_pixels 12m;');
is($rc, 0, 'valid configuration accepted');

($rc, $out) = check($t, 'image_resize_rs_buffer 2m; image_resize_rs size;');
is($rc, 0, 'size with buffer accepted');

($rc, $out) = check($t, 'image_resize_rs resize 10 10; '
	. 'image_resize_rs_overload original max_size=100k max_age=1m; '
	. http_level('image_resize_rs_jobs auto; '
	. 'image_resize_rs_queue length=10 size=8m timeout=500ms;'));
is($rc, 0, 'admission directives accepted') or diag($out);

($rc, $out) = check($t, 'image_resize_rs resize $arg_w -; '
	. 'image_resize_rs_widths off; image_resize_rs_dpr off; '
	. http_level('image_resize_rs_widths 320 160; image_resize_rs_heights 100; '
	. 'image_resize_rs_dpr $http_sec_ch_dpr; image_resize_rs_save_data $http_save_data quality=30; '
	. 'image_resize_rs_client_width $http_sec_ch_width; image_resize_rs_box $arg_w $arg_h;'));
is($rc, 0, 'delivery directives accepted') or diag($out);

{
	local $ENV{AWS_ACCESS_KEY_ID} = 'AKIDENV';
	local $ENV{AWS_SECRET_ACCESS_KEY} = 'from-the-environment';
	($rc, $out) = check($t,
		'image_resize_rs_s3_bucket photos; image_resize_rs_s3_key $uri;');
	is($rc, 0, 'credentials from the environment');
}

# image_resize_rs_never_larger: a flag at every level.

($rc, $out) = check($t, 'image_resize_rs_never_larger off; '
	. http_level('image_resize_rs_never_larger on;'));
is($rc, 0, 'never_larger accepted in http and location') or diag($out);
($rc, $out) = check($t, 'image_resize_rs_never_larger maybe;');
isnt($rc, 0, 'never_larger: rejected value');
like($out, qr/invalid value "maybe" in "image_resize_rs_never_larger" directive, it must be "on" or "off" in .*check\.conf:\d+/,
	'never_larger: message');
($rc, $out) = check($t, 'image_resize_rs_never_larger on; image_resize_rs_never_larger off;');
like($out, qr/"image_resize_rs_never_larger" directive is duplicate/,
	'never_larger: duplicate');
($rc, $out) = check($t, 'image_resize_rs_never_larger;');
like($out, qr/invalid number of arguments in "image_resize_rs_never_larger"/,
	'never_larger: no argument');

###############################################################################

# signed URLs: image_resize_rs_sign_key, image_resize_rs_sign

my $d = $t->testdir();
$t->write_file('empty.key', "\n");

my @sign_bad = (
	'image_resize_rs_sign_key "";' =>
		qr/"image_resize_rs_sign_key" directive key is empty/,
	"image_resize_rs_sign_key file=$d/no-such.key;" =>
		qr/"image_resize_rs_sign_key" directive cannot read key file "[^"]*no-such\.key": No such file/,
	"image_resize_rs_sign_key file=$d/empty.key;" =>
		qr/"image_resize_rs_sign_key" directive key file "[^"]*empty\.key" is empty/,
	'image_resize_rs_sign $arg_sig;' =>
		qr/"image_resize_rs_sign" needs a key: no "image_resize_rs_sign_key" applies here/,
	'image_resize_rs_sign_key k; image_resize_rs_sign $arg_sig expiry=$arg_e;' =>
		qr/"image_resize_rs_sign" directive invalid parameter "expiry=\$arg_e"/,
	'image_resize_rs_sign_key k; image_resize_rs_sign $arg_sig expires=;' =>
		qr/"image_resize_rs_sign" directive invalid value "expires="/,
	'image_resize_rs_sign off; image_resize_rs_sign off;' =>
		qr/"image_resize_rs_sign" directive is duplicate/,
);

while (my ($directive, $re) = splice(@sign_bad, 0, 2)) {
	my ($rc, $out) = check($t, $directive);
	isnt($rc, 0, "rejected: $directive");
	like($out, qr/$re.* in .*check\.conf:\d+/, "message: $directive");
}

($rc, $out) = check($t, 'image_resize_rs_sign_key TOPSECRET1 TOPSECRET2;');
unlike($out, qr/TOPSECRET/, 'a key never reaches nginx -t');

($rc, $out) = check($t, 'image_resize_rs_sign_key k1; image_resize_rs_sign_key k2; '
	. 'image_resize_rs_sign $arg_sig expires=$arg_expires;');
is($rc, 0, 'signing accepted') or diag($out);

($rc, $out) = check($t, 'image_resize_rs_sign off;');
is($rc, 0, 'signing off needs no key') or diag($out);
# Crop placement and pad (image_resize_rs_gravity, _focus, _pad_color).

my %bad_crop = (
	'image_resize_rs_gravity up;' =>
		qr/"image_resize_rs_gravity" directive invalid value "up"/,
	'image_resize_rs_focus 1.5 0.5;' =>
		qr/"image_resize_rs_focus" directive invalid value "1.5"/,
	'image_resize_rs_focus 0.5;' =>
		qr/"image_resize_rs_focus" directive takes "off" or X and Y/,
	'image_resize_rs pad - 100;' =>
		qr/"image_resize_rs" directive invalid parameter "-": pad takes a positive number/,
	'image_resize_rs pad 100 0;' =>
		qr/"image_resize_rs" directive invalid parameter "0": pad takes a positive number/,
	'image_resize_rs_pad_color "#12345";' =>
		qr/"image_resize_rs_pad_color" directive invalid value "#12345"/,
	'image_resize_rs pad 10000 10000;' =>
		qr/"image_resize_rs" pad 10000x10000 is over image_resize_rs_max_pixels \(40000000\)/,
	'image_resize_rs_pad_color red;' =>
		qr/"image_resize_rs_pad_color" directive invalid value "red"/,
);

for my $directive (sort keys %bad_crop) {
	my ($rc, $out) = check($t, $directive);
	isnt($rc, 0, "rejected: $directive");
	like($out, qr/$bad_crop{$directive}.* in .*check\.conf:\d+/,
		"message: $directive");
}

($rc, $out) = check($t, 'image_resize_rs pad 300 $arg_h; '
	. 'image_resize_rs_gravity smart; image_resize_rs_focus $arg_x 0.25; '
	. 'image_resize_rs_pad_color "#ff000080";');
is($rc, 0, 'crop placement and pad accepted') or diag($out);

# Animation (image_resize_rs_animation, _max_frames, _max_frame_pixels).

my %bad_anim = (
	'image_resize_rs_animation on;' =>
		qr/"image_resize_rs_animation" directive invalid value "on", expected keep or first/,
	'image_resize_rs_animation keep over_limit=drop;' =>
		qr/"image_resize_rs_animation" directive invalid parameter "over_limit=drop"/,
	'image_resize_rs_max_frames 0;' =>
		qr/"image_resize_rs_max_frames" directive invalid value "0"/,
	'image_resize_rs_max_frame_pixels lots;' =>
		qr/"image_resize_rs_max_frame_pixels" directive invalid value "lots"/,
);

for my $directive (sort keys %bad_anim) {
	my ($rc, $out) = check($t, $directive);
	isnt($rc, 0, "rejected: $directive");
	like($out, qr/$bad_anim{$directive}.* in .*check\.conf:\d+/,
		"message: $directive");
}

($rc, $out) = check($t, 'image_resize_rs resize 100 100; '
	. 'image_resize_rs_animation keep over_limit=refuse; '
	. 'image_resize_rs_max_frames 50; image_resize_rs_max_frame_pixels 100m;');
is($rc, 0, 'animation directives accepted') or diag($out);

# image_resize_rs_metadata, image_resize_rs_metadata_gps.

for my $directive ('image_resize_rs_metadata some;',
	'image_resize_rs_metadata all; image_resize_rs_metadata none;')
{
	my ($rc, $out) = check($t, $directive);
	isnt($rc, 0, "rejected: $directive");
	like($out, qr/"image_resize_rs_metadata" directive (invalid value "some"|is duplicate).* in .*check\.conf:\d+/,
		"message: $directive");
}

($rc, $out) = check($t, 'image_resize_rs resize 100 100; '
	. 'image_resize_rs_metadata copyright; image_resize_rs_metadata_gps on;');
is($rc, 0, 'metadata policy accepted') or diag($out);

###############################################################################
