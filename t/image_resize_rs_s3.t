#!/usr/bin/perl

# Tests for image_resize_rs SigV4 signing against a real S3 server that
# verifies signatures (s3s-fs): private objects, wrong secret, missing keys,
# awkward keys, virtual-hosted style, session tokens, credentials from
# variables, and secrets kept out of logs.

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

my $t = Test::Nginx->new()->has(qw/http proxy map/);

my $secret = 'Sup3r+Secret/Key=ForTests';

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

    # virtual-hosted style: the bucket's host name maps to the local server
    upstream photos.localhost {
        server 127.0.0.1:%%PORT_8081%%;
    }

    map \$http_x_test_secret \$test_secret {
        default \$http_x_test_secret;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        proxy_method GET;
        proxy_pass_request_headers off;
        proxy_set_header Authorization        \$image_resize_rs_s3_authorization;
        proxy_set_header x-amz-date           \$image_resize_rs_s3_date;
        proxy_set_header x-amz-content-sha256 \$image_resize_rs_s3_content_sha256;
        proxy_set_header x-amz-security-token \$image_resize_rs_s3_security_token;

        location ~ ^/img/(\\d+)x(\\d+)/(.+)\$ {
            image_resize_rs resize \$1 \$2;
            image_resize_rs_s3_key \$3;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location ~ ^/raw/(.+)\$ {
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location ~ ^/wrong/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_credentials AKIDTEST not-the-secret;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location ~ ^/virtual/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_endpoint http://localhost;
            image_resize_rs_s3_addressing virtual;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location ~ ^/token/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_credentials AKIDTEST $secret SessionTokenValue123;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
            add_header X-Token \$image_resize_rs_s3_security_token;
        }

        location ~ ^/vars/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_credentials AKIDTEST \$test_secret;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location = /url {
            image_resize_rs_s3_key "a b/c+d";
            return 200 "\$image_resize_rs_s3_url \$image_resize_rs_s3_host";
        }
    }
}

EOF

# the bucket: a directory of s3s-fs's root

my $root = $t->testdir() . '/s3';
make_path("$root/photos/a/b");
my $photo = make_image($t, 'jpeg', 400, 300, 'photo.jpg');

my @keys = ('photo.jpg', 'with space.jpg', 'plus+sign.jpg',
	"\x{fc}n\x{ef}c\x{f8}d\x{e9}.jpg", 'tilde~name.jpg',
	q{sub!$'()*,;=@:.jpg}, 'amp&eq=.jpg', '%41.jpg', 'a/b/c.jpg');
for my $key (@keys) {
	my $file = $key;
	utf8::encode($file);
	copy($t->testdir() . '/photo.jpg', "$root/photos/$file") or die $!;
}

$t->run_daemon('/bin/sh', '-c', "exec '$s3s' --host 127.0.0.1"
	. ' --port ' . port(8081) . " --access-key AKIDTEST --secret-key '$secret'"
	. " --domain localhost '$root' >'$root.log' 2>&1");

$t->try_run('no image_resize_rs')->plan(29);
$t->waitforsocket('127.0.0.1:' . port(8081));

###############################################################################

sub dims {
	my ($uri, %extra) = @_;
	my ($type, $w, $h) = image_info(response_body(http_get($uri, %extra)));
	return "$type ${w}x$h";
}

sub uri_escape {
	my ($s) = @_;
	utf8::encode($s);
	$s =~ s/([^A-Za-z0-9\-._~\/])/sprintf('%%%02X', ord $1)/ge;
	return $s;
}

is(dims('/img/100x100/photo.jpg'), 'jpeg 100x75', 'private object resized');
my $raw = response_body(http_get('/raw/photo.jpg'));
ok(defined $raw && $raw eq $photo, 'private object, no filter');

my $r = http_get('/wrong/photo.jpg');
is(response_status($r), 403, 'wrong secret: 403 from S3');
like(response_body($r), qr/SignatureDoesNotMatch/, 'wrong secret: S3 body');

$r = http_get('/img/100x100/missing.jpg');
is(response_status($r), 404, 'missing key: 404');
like(response_body($r), qr/NoSuchKey/, 'missing key: S3 body');

for my $key (@keys) {
	my $name = $key;
	utf8::encode($name);
	is(dims('/img/100x100/' . uri_escape($key)), 'jpeg 100x75',
		"key: $name");
}

is(dims('/virtual/photo.jpg'), 'jpeg 100x75', 'virtual-hosted style');
is(dims('/virtual/a/b/c.jpg'), 'jpeg 100x75', 'virtual-hosted, nested');

$r = http_get('/token/photo.jpg');
is((image_info(response_body($r)))[0], 'jpeg', 'session token signed');
like($r, qr/^X-Token: SessionTokenValue123\x0d?$/m, 'session token sent');

is(response_status(http_get('/vars/photo.jpg')), 500,
	'variable credentials: empty secret is 500');
my @lines = error_log_lines($t, qr/\[error\].*image_resize_rs_s3_credentials/);
is(scalar @lines, 1, 'variable credentials: one log line');

# S3 keys are at most 1024 bytes: a longer one is refused before signing
my $long = 'k' x 1025;
is(response_status(http_get("/raw/$long")), 500, 'key over 1024 bytes: 500');
@lines = error_log_lines($t, qr/\[error\].*longer than 1024 bytes/);
is(scalar @lines, 1, 'key over 1024 bytes: one log line');
$r = http(<<EOF);
GET /vars/photo.jpg HTTP/1.0
Host: localhost
X-Test-Secret: $secret

EOF
is((image_info(response_body($r)))[0], 'jpeg', 'variable credentials');

$r = http(<<EOF);
HEAD /img/100x100/photo.jpg HTTP/1.0
Host: localhost

EOF
is(response_status($r), 200, 'head through S3');
is(response_body($r), '', 'head no body');

is(response_body(http_get('/url')),
	'http://127.0.0.1:' . port(8081) . '/photos/a%20b/c%2Bd 127.0.0.1:'
	. port(8081), 'url and host variables');

# nginx itself traces request headers, map and script variables at debug
# level (the /vars test sends the secret as a header); nothing else may
# show the secret.
my $log = $t->read_file('error.log');
my @leaks = grep { /\Q$secret\E/
	&& !/\[debug\].*(http header:|http script var:|http map:)/ }
	split /\n/, $log;
is(join("\n", @leaks), '', 'secret never logged');
unlike($log, qr/not-the-secret/, 'wrong secret never logged');

###############################################################################
