#!/usr/bin/perl

# Tests for image_resize_rs SigV4 signing through an upstream block with
# keepalive (as conf/nginx.conf does): proxy_pass to the upstream with
# $image_resize_rs_s3_path, Host from $image_resize_rs_s3_host. A relay
# server between nginx and s3s-fs reports which connection carried each
# request, so connection reuse is visible; s3s-fs still verifies signatures.

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;
use File::Path qw/ make_path /;
use File::Copy qw/ copy /;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();

my $s3s = $ENV{TEST_S3S_FS} // '../.state/tools/bin/s3s-fs';
plan(skip_all => 's3s-fs not installed') unless -x $s3s;

my $t = Test::Nginx->new()->has(qw/http proxy upstream_keepalive/);

my $secret = 'Keepalive+Secret/Key=ForTests';

$t->write_file_expand('nginx.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    image_resize_rs_s3_endpoint http://127.0.0.1:%%PORT_8081%%;
    image_resize_rs_s3_bucket   photos;
    image_resize_rs_s3_region   us-east-1;
    image_resize_rs_s3_credentials AKIDTEST $secret;

    upstream s3_bucket {
        server 127.0.0.1:%%PORT_8082%%;
        keepalive 4;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_method GET;
        proxy_pass_request_headers off;
        proxy_set_header Host                 \$image_resize_rs_s3_host;
        proxy_set_header Authorization        \$image_resize_rs_s3_authorization;
        proxy_set_header x-amz-date           \$image_resize_rs_s3_date;
        proxy_set_header x-amz-content-sha256 \$image_resize_rs_s3_content_sha256;
        proxy_set_header x-amz-security-token \$image_resize_rs_s3_security_token;

        location ~ ^/img/(\\d+)x(\\d+)/(.+)\$ {
            image_resize_rs resize \$1 \$2;
            image_resize_rs_s3_key \$3;
            proxy_pass http://s3_bucket\$image_resize_rs_s3_path;
        }

        location ~ ^/close/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_key \$1;
            proxy_http_version 1.0;
            proxy_pass http://s3_bucket\$image_resize_rs_s3_path;
        }

        location = /path {
            image_resize_rs_s3_key "a b/c+d";
            return 200 "\$image_resize_rs_s3_path";
        }
    }

    # the relay: which connection carried the request, Host passed on as is
    server {
        listen       127.0.0.1:8082;
        server_name  relay;

        location / {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
            proxy_set_header Host \$http_host;
            add_header X-Relay-Conn "\$connection \$connection_requests";
        }
    }
}

EOF

my $root = $t->testdir() . '/s3';
make_path("$root/photos/a");
make_image($t, 'jpeg', 400, 300, 'photo.jpg');
for my $key ('photo.jpg', 'with space.jpg', 'plus+sign.jpg', 'a/c.jpg') {
	copy($t->testdir() . '/photo.jpg', "$root/photos/$key") or die $!;
}

$t->run_daemon('/bin/sh', '-c', "exec '$s3s' --host 127.0.0.1"
	. ' --port ' . port(8081) . " --access-key AKIDTEST --secret-key '$secret'"
	. " '$root' >'$root.log' 2>&1");

$t->try_run('no image_resize_rs')->plan(9);
$t->waitforsocket('127.0.0.1:' . port(8081));

###############################################################################

is(response_body(http_get('/path')), '/photos/a%20b/c%2Bd', 'path variable');

my @conn;
for my $key ('photo.jpg', 'with%20space.jpg', 'plus%2Bsign.jpg') {
	my $r = http_get("/img/100x100/$key");
	my ($type, $w, $h) = image_info(response_body($r));
	is("$type ${w}x$h", 'jpeg 100x75', "signed through upstream: $key");
	push @conn, response_header($r, 'X-Relay-Conn');
}

my ($c1, $n1) = split / /, $conn[0] // '';
my ($c3, $n3) = split / /, $conn[2] // '';
is($c3, $c1, 'one connection to the bucket');
is($n3, $n1 + 2, 'third request on it');

my $r = http_get('/img/100x100/missing.jpg');
is(response_status($r), 404, 'missing key through upstream: 404');

# without HTTP/1.1 the upstream connection is not kept
my ($ca) = split / /, response_header(http_get('/close/a/c.jpg'),
	'X-Relay-Conn') // '';
my ($cb) = split / /, response_header(http_get('/close/a/c.jpg'),
	'X-Relay-Conn') // '';
ok(defined $ca && $ca ne '', 'relay seen');
isnt($cb, $ca, 'HTTP/1.0: new connection each time');

###############################################################################
