#!/usr/bin/perl

# Tests for keeping S3 secrets secret: the internal signature variable cannot
# be named in a configuration nor read by name at run time (SSI echo), errors
# never quote a credential, and a secret containing "$" is written with
# ${dollar} (the credentials directive takes variables).

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

my $t = Test::Nginx->new()->has(qw/http proxy geo ssi/);

# A secret with a "$" in it, and what the configuration writes for it.
my $secret = 'Dollar$Secret/Key+42';
(my $written = $secret) =~ s/\$/\${dollar}/g;

sub conf {
	my ($http, $location) = @_;
	return <<"EOF";

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    image_resize_rs_s3_endpoint http://127.0.0.1:%%PORT_8081%%;
    image_resize_rs_s3_bucket   photos;

    geo \$dollar {
        default "\$";
    }

    $http

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        proxy_method GET;
        proxy_pass_request_headers off;
        proxy_set_header Authorization        \$image_resize_rs_s3_authorization;
        proxy_set_header x-amz-date           \$image_resize_rs_s3_date;
        proxy_set_header x-amz-content-sha256 \$image_resize_rs_s3_content_sha256;

        location ~ ^/img/(.+)\$ {
            image_resize_rs resize 100 100;
            image_resize_rs_s3_key \$1;
            proxy_pass \$image_resize_rs_s3_url;
            $location
        }

        location = /page.html {
            root %%TESTDIR%%;
            ssi on;
            image_resize_rs_s3_key photo.jpg;
            image_resize_rs_s3_credentials AKIDTEST '$written';
        }
    }
}

EOF
}

$t->write_file_expand('nginx.conf',
	conf('', "image_resize_rs_s3_credentials AKIDTEST '$written';"));

my $root = $t->testdir() . '/s3';
make_path("$root/photos");
make_image($t, 'jpeg', 400, 300, 'photo.jpg');
copy($t->testdir() . '/photo.jpg', "$root/photos/photo.jpg") or die $!;

# The page signs (set), which memoises the signature in the request's slot
# of the hidden variable, then asks for that variable by its name.
$t->write_file('page.html',
	'<!--# set var="auth" value="$image_resize_rs_s3_authorization" -->'
	. 'auth=<!--# echo var="auth" -->' . "\n"
	. 'memo=<!--# echo var="image_resize_rs_s3_signed:memo" default="hidden" -->'
	. "\n");

$t->run_daemon('/bin/sh', '-c', "exec '$s3s' --host 127.0.0.1"
	. ' --port ' . port(8081) . " --access-key AKIDTEST --secret-key '$secret'"
	. " '$root' >'$root.log' 2>&1");

$t->try_run('no image_resize_rs')->plan(17);
$t->waitforsocket('127.0.0.1:' . port(8081));

###############################################################################

sub check {
	my ($t, $http, $location) = @_;
	my $d = $t->testdir();
	$t->write_file_expand('check.conf', conf($http, $location));
	my $out = `$Test::Nginx::NGINX -t -p $d/ -c check.conf -e $d/check.log 2>&1`;
	return ($? >> 8, $out);
}

my $r = http_get('/img/photo.jpg');
is(join(' ', (image_info(response_body($r)))[0 .. 2]), 'jpeg 100 75',
	'secret with ${dollar} signs');

# The internal variable (image_resize_rs_s3_signed:memo) cannot be named,
# so it cannot be logged: ':' ends a variable name, and no variable is
# called what comes before it.
for my $ref ('$image_resize_rs_s3_signed:memo',
	'${image_resize_rs_s3_signed:memo}')
{
	my ($rc, $out) = check($t, "log_format leak '$ref'; "
		. 'access_log check.access.log leak;',
		"image_resize_rs_s3_credentials AKIDTEST '$written';");
	isnt($rc, 0, "log_format $ref rejected");
	like($out, $ref =~ /\{/
		? qr/closing bracket in "image_resize_rs_s3_signed" variable is missing/
		: qr/unknown "image_resize_rs_s3_signed" variable/,
		"log_format $ref: not a variable");
}

# Nor can it be read by its name once a request has signed: SSI echo looks
# variables up by name, but the memo is not in the variables hash.
$r = http_get('/page.html');
like($r, qr{^auth=AWS4-HMAC-SHA256 Credential=AKIDTEST/\S+ .*Signature=[0-9a-f]{64}$}m,
	'ssi: the page signed');
like($r, qr/^memo=hidden$/m, 'ssi: the memo cannot be echoed by name');
unlike($r, qr/Dollar|Secret/, 'ssi: no secret in the page');

# A "$" that starts no variable is an error that does not quote the value.
for my $bad ('Qz7x$', 'Qz7x$-cd', 'Qz7x${cd', 'Qz7x${}') {
	my ($rc, $out) = check($t, '', "image_resize_rs_s3_credentials AKIDTEST '$bad';");
	isnt($rc, 0, "credentials '$bad' rejected");
	like($out, qr/"image_resize_rs_s3_credentials" directive .*\$\{dollar\}/,
		"credentials '$bad': names the directive, says how to write \$")
		if $bad eq 'Qz7x$';
	unlike($out, qr/Qz7x/, "credentials '$bad': value not quoted");
}

###############################################################################
