#!/usr/bin/perl

# The bug image_resize_rs fixes, side by side in one nginx: an origin that
# writes the image in 1-byte pieces, behind proxy_buffering off. Stock
# image_filter sniffs the first buffer only and answers 415; image_resize_rs
# resizes every request. Needs Debian's image_filter module built for the
# nginx under test, so it runs against the system nginx only.

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

my $stock = '/usr/lib/nginx/modules/ngx_http_image_filter_module.so';
plan(skip_all => 'stock image_filter is for the system nginx only')
	unless -f $stock && ($Test::Nginx::NGINX // '') eq '/usr/sbin/nginx';

my $t = Test::Nginx->new()->has(qw/http proxy rewrite/);

$t->write_file_expand('nginx.conf', <<"EOF");

load_module $stock;
%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        # the article's resizer location, twice
        location ~ ^/image_filter/(\\d+)x(\\d+)/(.+)\$ {
            proxy_pass http://127.0.0.1:8082/\$3;
            proxy_buffering off;
            image_filter resize \$1 \$2;
        }

        location ~ ^/image_resize_rs/(\\d+)x(\\d+)/(.+)\$ {
            proxy_pass http://127.0.0.1:8082/\$3;
            proxy_buffering off;
            image_resize_rs resize \$1 \$2;
        }
    }
}

EOF

my $jpg = make_image($t, 'jpeg', 640, 480, 'photo.jpg');
$t->run_daemon(\&dribble_daemon, port(8082), {
	'/photo.jpg' => [200, 'image/jpeg', $jpg, 1],
});

$t->try_run('no image_resize_rs or image_filter')->plan(3);
$t->waitforsocket('127.0.0.1:' . port(8082));

###############################################################################

my ($stock415, $ours) = (0, 0);
for my $i (1 .. 100) {
	my $r = http_get("/image_filter/200x200/photo.jpg?$i");
	$stock415++ if response_status($r) == 415;
	$r = http_get("/image_resize_rs/200x200/photo.jpg?$i");
	my ($type, $w, $h) = image_info(response_body($r));
	$ours++ if response_status($r) == 200 && "$type ${w}x$h" eq 'jpeg 200x150';
}

cmp_ok($stock415, '>', 0, "stock image_filter: $stock415 of 100 answered 415");
is($ours, 100, 'image_resize_rs: 100 of 100 resized');
is(scalar(error_log_lines($t, qr/\[error\].*image_resize_rs:/)), 0,
	'image_resize_rs logged no errors');

###############################################################################
