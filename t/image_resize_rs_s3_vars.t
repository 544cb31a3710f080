#!/usr/bin/perl

# Tests for the S3 signature variables across internal redirects and
# subrequests (nginx keeps r->variables across an error_page redirect and
# shares it with subrequests), and for locations with a bucket but no key.

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

my $t = Test::Nginx->new()->has(qw/http proxy ssi/);

my $secret = 'Vars+Secret/Key=ForTests';

$t->write_file_expand('nginx.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    image_resize_rs_s3_endpoint http://127.0.0.1:%%PORT_8081%%;
    image_resize_rs_s3_bucket   photos;
    image_resize_rs_s3_credentials AKIDTEST $secret;

    log_format s3 '\$request_uri url=\$image_resize_rs_s3_url '
                  'auth=\$image_resize_rs_s3_authorization '
                  'date=\$image_resize_rs_s3_date';
    access_log %%TESTDIR%%/s3.log s3;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;
        root         %%TESTDIR%%;

        proxy_method GET;
        proxy_pass_request_headers off;
        proxy_set_header Authorization        \$image_resize_rs_s3_authorization;
        proxy_set_header x-amz-date           \$image_resize_rs_s3_date;
        proxy_set_header x-amz-content-sha256 \$image_resize_rs_s3_content_sha256;

        location ~ ^/raw/(.+)\$ {
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location ~ ^/img/(\\d+)/(.+)\$ {
            image_resize_rs resize \$1 \$1;
            image_resize_rs_s3_key \$2;
            proxy_pass \$image_resize_rs_s3_url;
        }

        # A missing object falls back to a placeholder with another key.
        location ~ ^/fallback/(.+)\$ {
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
            proxy_intercept_errors on;
            error_page 404 = \@placeholder;
        }

        location \@placeholder {
            image_resize_rs_s3_key placeholder.jpg;
            proxy_pass \$image_resize_rs_s3_url;
        }

        # The same, through a resizing location.
        location ~ ^/fallback-img/(.+)\$ {
            image_resize_rs resize 50 50;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
            proxy_intercept_errors on;
            error_page 404 = \@placeholder-img;
        }

        location \@placeholder-img {
            image_resize_rs resize 50 50;
            image_resize_rs_s3_key placeholder.jpg;
            proxy_pass \$image_resize_rs_s3_url;
        }

        location ~ \\.html\$ {
            ssi on;
            ssi_types *;
        }

        # A bucket applies here (http level) but no key: the variables are
        # simply not found, and nothing is logged.
        location = /nokey {
            return 200 "url=[\$image_resize_rs_s3_url]";
        }
    }
}

EOF

my $root = $t->testdir() . '/s3';
make_path("$root/photos");
my %img;
for (['photo.jpg', 400, 300], ['other.jpg', 120, 160],
	['placeholder.jpg', 64, 48])
{
	my ($name, $w, $h) = @$_;
	$img{$name} = make_image($t, 'jpeg', $w, $h, $name);
	copy($t->testdir() . "/$name", "$root/photos/$name") or die $!;
}

$t->write_file('raw.html', '<!--# include virtual="/raw/photo.jpg" -->'
	. '--SEP--<!--# include virtual="/raw/other.jpg" -->');
$t->write_file('img.html', '<!--# include virtual="/img/40/photo.jpg" -->'
	. '--SEP--<!--# include virtual="/img/40/other.jpg" -->');

$t->run_daemon('/bin/sh', '-c', "exec '$s3s' --host 127.0.0.1"
	. ' --port ' . port(8081) . " --access-key AKIDTEST --secret-key '$secret'"
	. " '$root' >'$root.log' 2>&1");

$t->try_run('no image_resize_rs')->plan(13);
$t->waitforsocket('127.0.0.1:' . port(8081));

###############################################################################

my $r = http_get('/raw/photo.jpg');
ok(response_body($r) eq $img{'photo.jpg'}, 'private object');

# error_page 404 = @placeholder: the redirect signs the placeholder's key
$r = http_get('/fallback/missing.jpg');
is(response_status($r), 200, 'error_page fallback: status');
ok(response_body($r) eq $img{'placeholder.jpg'},
	'error_page fallback: the placeholder object');

$r = http_get('/fallback-img/missing.jpg');
like(join(' ', (image_info(response_body($r)))[0 .. 2]), qr/^jpeg 50 3[78]$/,
	'error_page fallback, resized placeholder');

# SSI: two subrequests share the parent's variables, each gets its object
my $body = response_body(http_get('/raw.html')) // '';
my @parts = split /--SEP--/, $body, 2;
ok(@parts == 2 && $parts[0] eq $img{'photo.jpg'}, 'ssi: first object');
ok(@parts == 2 && $parts[1] eq $img{'other.jpg'}, 'ssi: second object');

$body = response_body(http_get('/img.html')) // '';
@parts = split /--SEP--/, $body, 2;
is(join(' ', (image_info($parts[0]))[0 .. 2]), 'jpeg 40 30',
	'ssi resized: first image');
is(join(' ', (image_info($parts[1] // ''))[0 .. 2]), 'jpeg 30 40',
	'ssi resized: second image');

# no key: empty, silent
$r = http_get('/nokey');
is(response_body($r), 'url=[]', 'no key: variable not found');

$t->stop();

my @errors = error_log_lines($t, qr/\[(error|crit|alert|emerg)\]/);
is(join("\n", @errors), '', 'no errors logged');

my $log = $t->read_file('s3.log');
like($log, qr{^/nokey url=- auth=- date=-$}m, 'no key: logged as not found');
like($log, qr{^/fallback/missing\.jpg url=\S+/photos/placeholder\.jpg }m,
	'log: the placeholder is what was signed last');
unlike($log, qr/\Q$secret\E/, 'secret never in the access log');

###############################################################################
