#!/usr/bin/perl

# What the filter did, for the access log ($image_resize_rs_status, _time,
# _in, _out) and for the client (image_resize_rs_server_timing).

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

    log_format irs '$uri $image_resize_rs_status $image_resize_rs_in '
                   '$image_resize_rs_out $image_resize_rs_time '
                   '$image_resize_rs_source';

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        access_log %%TESTDIR%%/irs.log irs;

        location /resize/ {
            alias %%TESTDIR%%/;
            image_resize_rs resize 100 100;
            image_resize_rs_server_timing on;
        }

        location /size/ {
            alias %%TESTDIR%%/;
            image_resize_rs size;
        }

        location /plain/ {
            alias %%TESTDIR%%/;
        }
    }
}

EOF

my $jpg = make_image($t, 'jpeg', 640, 480, 'photo.jpg');
make_image($t, 'jpeg', 80, 60, 'small.jpg');
make_image($t, 'jpeg-orient-6', 96, 64, 'o6.jpg');
$t->write_file('text.txt', 'not an image');

$t->try_run('no image_resize_rs')->plan(11);

###############################################################################

my $r = http_get('/resize/photo.jpg');
my $st = response_header($r, 'Server-Timing') // '';
my $ms = qr/\d+\.\d{3}/;
like($st, qr/^irs;dur=$ms;desc="resized", irs-decode;dur=$ms, irs-resize;dur=$ms, irs-encode;dur=$ms$/,
	'Server-Timing stages');
my ($total, @stages) = $st =~ /dur=(\d+\.\d+)/g;
ok(@stages == 3 && $stages[0] + $stages[1] + $stages[2] <= $total + 0.003,
	"stages within the total: $st");
my $out = length(response_body($r));
$r = http_get('/resize/small.jpg');
like(response_header($r, 'Server-Timing') // '',
	qr/^irs;dur=\d+\.\d{3};desc="asis"$/, 'as is: no stage ran');
http_get('/resize/o6.jpg');
http_get('/resize/text.txt');
$r = http_get('/size/photo.jpg');
ok(!defined response_header($r, 'Server-Timing'), 'no Server-Timing when off');
http_get('/plain/text.txt');

$t->stop();
my %log = map { (split / /)[0] => $_ } split /\n/, $t->read_file('irs.log');

like($log{'/resize/photo.jpg'},
	qr/^\S+ resized ${\ length $jpg} $out \d+\.\d{3} 640x480$/,
	'resized: in, out, time, source');
like($log{'/resize/small.jpg'}, qr/^\S+ asis \d+ \d+ \S+ 80x60$/, 'as is');
# stored 64x96 with orientation 6: displayed (and logged) 96x64
like($log{'/resize/o6.jpg'}, qr/ 96x64$/, 'source as displayed (orientation 6)');
like($log{'/resize/text.txt'}, qr/^\S+ refused:not_image 12 0 \S+ -$/, 'refused');
like($log{'/size/photo.jpg'}, qr/^\S+ json .* 640x480$/, 'size');
is($log{'/plain/text.txt'}, '/plain/text.txt - - - - -', 'not ours: empty');
is(scalar(error_log_lines($t, qr/\[error\].*image_resize_rs:/)), 1,
	'one error line (the refusal)');

###############################################################################
