#!/usr/bin/perl

# Tests for image_resize_rs SigV4 with temporary credentials: a session token
# must be signed and sent. moto (with IAM auth on) checks the token, unlike
# s3s-fs.

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

my $moto = $ENV{TEST_MOTO} // '../.state/tools/moto/bin';
plan(skip_all => 'moto not installed')
	unless -x "$moto/moto_server" && -x "$moto/python";

my $t = Test::Nginx->new()->has(qw/http proxy/);

# moto with IAM auth: the first 5 calls (IAM setup) are free, then every
# request must be signed with known credentials.

my $port = port(8081);
$t->run_daemon('/bin/sh', '-c', "INITIAL_NO_AUTH_ACTION_COUNT=5 exec "
	. "'$moto/moto_server' -H 127.0.0.1 -p $port >/dev/null 2>&1");
$t->waitforsocket("127.0.0.1:$port") or die "moto did not start";

make_image($t, 'jpeg', 400, 300, 'photo.jpg');
my $photo = $t->testdir() . '/photo.jpg';
my $creds = `'$moto/python' moto_setup.py http://127.0.0.1:$port '$photo'`;
my ($id, $secret, $token) = split ' ', $creds;
die "moto setup failed: $creds" unless $token;
my $bad = substr($token, 0, -4) . 'AAAA';

$t->write_file_expand('nginx.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    image_resize_rs_s3_endpoint http://127.0.0.1:$port;
    image_resize_rs_s3_bucket   photos;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        proxy_method GET;
        proxy_pass_request_headers off;
        proxy_set_header Authorization        \$image_resize_rs_s3_authorization;
        proxy_set_header x-amz-date           \$image_resize_rs_s3_date;
        proxy_set_header x-amz-content-sha256 \$image_resize_rs_s3_content_sha256;
        proxy_set_header x-amz-security-token \$image_resize_rs_s3_security_token;

        location ~ ^/token/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_credentials $id $secret $token;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location ~ ^/bad/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_credentials $id $secret $bad;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location ~ ^/none/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_credentials $id $secret;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
        }
    }
}

EOF

$t->try_run('no image_resize_rs')->plan(4);

###############################################################################

my $r = http_get('/token/photo.jpg');
my ($type, $w, $h) = image_info(response_body($r));
is("$type ${w}x$h", 'jpeg 100x75', 'session token accepted');

cmp_ok(response_status(http_get('/bad/photo.jpg')), '>=', 400,
	'wrong session token refused');
is(response_status(http_get('/none/photo.jpg')), 403,
	'temporary credentials without token refused');
is(response_status(http_get('/token/missing.jpg')), 404, 'missing key');

###############################################################################
