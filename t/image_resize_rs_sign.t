#!/usr/bin/perl

# Tests for signed URLs: image_resize_rs_sign and image_resize_rs_sign_key.
# A request without a good signature (missing, forged, truncated, not
# base64url, expired) is refused with 403 in the access phase: the origin
# is not asked and the front's cache is not looked up. Rotated keys, keys
# from files, expiring URLs, scripts/sign-url.

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;

use Digest::SHA qw/ hmac_sha256_base64 /;
use IO::Socket::INET;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();

my $t = Test::Nginx->new()->has(qw/http proxy cache ssi/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    # For every server below unless it says off: the front refuses before
    # its cache and its proxy, the resizer before the origin.
    image_resize_rs_sign_key k-new-2026;
    image_resize_rs_sign_key k-old-2025;
    image_resize_rs_sign $arg_sig;

    proxy_cache_path %%TESTDIR%%/cache keys_zone=img:1m;

    # the front
    server {
        listen       127.0.0.1:8080;
        server_name  front;

        access_log %%TESTDIR%%/front.log;

        location /img/ {
            proxy_pass http://127.0.0.1:8081;
            proxy_cache img;
            proxy_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status always;
        }
    }

    # the resizer
    server {
        listen       127.0.0.1:8081;
        server_name  resizer;

        access_log %%TESTDIR%%/resizer.log;

        location /img/ {
            proxy_pass http://127.0.0.1:8082/;
            image_resize_rs resize 100 100;
        }

        location /exp/ {
            image_resize_rs_sign $arg_sig expires=$arg_expires;
            proxy_pass http://127.0.0.1:8082/;
            image_resize_rs resize 100 100;
        }

        # a level with a key replaces the inherited list
        location /file/ {
            image_resize_rs_sign_key file=%%TESTDIR%%/sign.key;
            proxy_pass http://127.0.0.1:8082/;
            image_resize_rs resize 100 100;
        }

        # relative to nginx's configuration prefix
        location /relfile/ {
            image_resize_rs_sign_key file=sign.key;
            proxy_pass http://127.0.0.1:8082/;
            image_resize_rs resize 100 100;
        }

        location = /metrics {
            image_resize_rs_sign off;
            image_resize_rs_metrics;
        }

        # subrequests are not checked: the page's include passes
        location /ssi/ {
            image_resize_rs_sign off;
            alias %%TESTDIR%%/;
            ssi on;
        }

        location /txt/ {
            alias %%TESTDIR%%/;
        }

        # the error page of a refused request is not checked again
        location /ep/ {
            error_page 403 /denied.txt;
            proxy_pass http://127.0.0.1:8082/;
            image_resize_rs resize 100 100;
        }

        location = /denied.txt {
            root %%TESTDIR%%;
        }

        location /open/ {
            image_resize_rs_sign off;
            proxy_pass http://127.0.0.1:8082/;
            image_resize_rs resize 100 100;
        }
    }

    # the origin
    server {
        listen       127.0.0.1:8082;
        server_name  origin;

        image_resize_rs_sign off;
        access_log %%TESTDIR%%/origin.log;

        location / {
            root %%TESTDIR%%;
        }
    }
}

EOF

make_image($t, 'jpeg', 400, 300, 'photo.jpg');
$t->write_file('sign.key', "k-from-file\n");
$t->write_file('inner.txt', "inner text\n");
$t->write_file('page.html', 'page <!--# include virtual="/txt/inner.txt" -->');
$t->write_file('denied.txt', "denied\n");

$t->try_run('no image_resize_rs')->plan(63);

###############################################################################

# base64url without padding of HMAC-SHA256(key, path [ "\n" expires ])
sub sig {
	my ($key, $path, $expires) = @_;
	my $msg = defined $expires ? "$path\n$expires" : $path;
	(my $s = hmac_sha256_base64($msg, $key)) =~ tr{+/}{-_};
	return $s;
}

sub get8081 {
	my ($uri) = @_;
	return http_get($uri, socket => IO::Socket::INET->new(
		PeerAddr => '127.0.0.1:' . port(8081)));
}

sub status { return response_status(get8081($_[0])); }

sub lines {
	my ($t, $name) = @_;
	my $log = $t->read_file($name);
	return scalar(() = $log =~ /\n/g);
}

sub refusals {
	my ($t, $re) = @_;
	return scalar(error_log_lines($t, qr/\[error\].*image_resize_rs: $re/));
}

my $path = '/img/photo.jpg';
my $good = sig('k-new-2026', $path);

# the openssl vector of src/sign.rs, and Perl's HMAC agree
is(sig('secret-key', '/img/300x200/photo.jpg'),
	'WXYZYDNqLuB9K8GdysliK6rbwyRhivK5uvlEAzc06Dc', 'test vector');

# good signatures: either key of the list

my $r = get8081("$path?sig=$good");
is(response_status($r), 200, 'signed: 200');
my ($type, $w, $h) = image_info(response_body($r));
is("$type ${w}x$h", 'jpeg 100x75', 'signed: resized');
is(status("$path?sig=" . sig('k-old-2025', $path)), 200, 'rotated key');
is(status("$path?x=1&sig=$good&y=2"), 200, 'other query arguments');
is(status('/open/photo.jpg'), 200, 'signing off');

# refused, and the origin is not asked

my $origin = lines($t, 'origin.log');
my $logged = refusals($t, '');

is(status($path), 403, 'missing');
is(status("$path?sig="), 403, 'empty');
is(status("$path?sig=" . substr($good, 0, 42)), 403, 'truncated');
is(status("$path?sig=${good}A"), 403, 'too long');
is(status("$path?sig=$good="), 403, 'padded');
is(status("$path?sig=" . ('!' x 43)), 403, 'not base64url');
is(status("$path?sig=" . sig('k-new-2026', '/img/other.jpg')), 403,
	'signature of another path');
is(status("$path?sig=" . sig('k-unknown', $path)), 403, 'unknown key');
is(status("/img/photo.jpg/?sig=$good"), 403, 'path changed');
is(status("/img//photo.jpg?sig=$good"), 403, 'raw path is signed');

is(lines($t, 'origin.log'), $origin, 'origin not asked for refused requests');
is(refusals($t, 'signature missing'), 2, 'log: signature missing');
is(refusals($t, 'signature invalid'), 8, 'log: signature invalid');
is(refusals($t, '') - $logged, 10, 'log: one line per refusal');

# expiring URLs

my $exp_path = '/exp/photo.jpg';
my $later = time() + 3600;
my $past = time() - 10;

is(status("$exp_path?sig=" . sig('k-new-2026', $exp_path, $later)
	. "&expires=$later"), 200, 'not expired');
is(status("$exp_path?sig=" . sig('k-old-2025', $exp_path, $later)
	. "&expires=$later"), 200, 'not expired, rotated key');

$origin = lines($t, 'origin.log');
$logged = refusals($t, '');

is(status("$exp_path?sig=" . sig('k-new-2026', $exp_path, $past)
	. "&expires=$past"), 403, 'expired');
is(status("$exp_path?sig=" . sig('k-new-2026', $exp_path, $later)
	. "&expires=" . ($later + 1)), 403, 'expiry changed');
is(status("$exp_path?sig=" . sig('k-new-2026', $exp_path)), 403,
	'expiry required');
is(status("$exp_path?sig=" . sig('k-new-2026', $exp_path, 'soon')
	. "&expires=soon"), 403, 'expiry not a number');
is(status("$exp_path?expires=$later"), 403, 'expiry without signature');

is(lines($t, 'origin.log'), $origin, 'origin not asked for expired requests');
is(refusals($t, "URL expired at $past"), 1, 'log: expired at');
is(refusals($t, 'expires value missing'), 1, 'log: expires missing');
is(refusals($t, 'expires value invalid'), 1, 'log: expires invalid');
is(refusals($t, '') - $logged, 5, 'log: one line per expiry refusal');

# keys from files; a level with keys replaces the inherited list

is(status('/file/photo.jpg?sig=' . sig('k-from-file', '/file/photo.jpg')),
	200, 'key from file');
is(status('/file/photo.jpg?sig=' . sig('k-new-2026', '/file/photo.jpg')),
	403, 'inherited key replaced');
is(status('/relfile/photo.jpg?sig=' . sig('k-from-file', '/relfile/photo.jpg')),
	200, 'key from file relative to the prefix');

# scripts/sign-url

my $script = '../scripts/sign-url';
SKIP: {
	skip 'no scripts/sign-url', 8 unless -x $script;

	chomp(my $url = `$script k-new-2026 http://127.0.0.1/img/photo.jpg`);
	is($url, "http://127.0.0.1/img/photo.jpg?sig=$good", 'sign-url: url');
	(my $uri = $url) =~ s!^http://[^/]+!!;
	is(status($uri), 200, 'sign-url: accepted');

	chomp($uri = `$script k-new-2026 '/img/photo.jpg?x=1'`);
	is($uri, "/img/photo.jpg?x=1&sig=$good", 'sign-url: query kept');
	is(status($uri), 200, 'sign-url: query kept, accepted');

	chomp($uri = `$script file=${\ $t->testdir()}/sign.key /file/photo.jpg`);
	is(status($uri), 200, 'sign-url: key from file');

	chomp($uri = `$script k-new-2026 $exp_path $later`);
	is($uri, "$exp_path?sig=" . sig('k-new-2026', $exp_path, $later)
		. "&expires=$later", 'sign-url: expires');

	chomp($uri = `$script k-new-2026 $exp_path +60`);
	is(status($uri), 200, 'sign-url: +60 accepted');

	chomp($uri = `$script k-new-2026 $exp_path 1`);
	is(status($uri), 403, 'sign-url: long expired');
}

# the front: refused before its cache and its proxy

my $resizer = lines($t, 'resizer.log');

$r = http_get("$path?sig=$good");
is(response_status($r), 200, 'front: signed');
is(response_header($r, 'X-Cache'), 'MISS', 'front: miss');
$r = http_get("$path?sig=$good");
is(response_header($r, 'X-Cache'), 'HIT', 'front: hit');
is(lines($t, 'resizer.log'), $resizer + 1, 'front: resizer asked once');

$r = http_get($path);
is(response_status($r), 403, 'front: unsigned');
is(response_header($r, 'X-Cache'), undef, 'front: no cache lookup');
is(response_status(http_get("$path?sig=" . substr($good, 1))), 403,
	'front: forged');
is(lines($t, 'resizer.log'), $resizer + 1, 'front: resizer not asked');

# subrequests pass; an error page is not checked again

like(get8081('/ssi/page.html'), qr/page inner text/, 'subrequest not checked');
is(status('/txt/inner.txt'), 403, 'subrequest target is signed');

$logged = refusals($t, '');
$r = get8081('/ep/photo.jpg');
is(response_status($r), 403, 'error page: status');
is(response_body($r), "denied\n", 'error page: served');
is(refusals($t, '') - $logged, 1, 'error page: one log line');

# the metrics count each refusal, by reason, as the log says it

my $metrics = response_body(get8081('/metrics'));
for my $m (['missing', 'signature missing'], ['invalid', 'signature invalid'],
	['expires_missing', 'expires value missing'],
	['expires_invalid', 'expires value invalid'],
	['expired', 'URL expired at'])
{
	my ($reason, $said) = @$m;
	my ($n) = $metrics =~ /^image_resize_rs_signature_refusals_total\{reason="$reason"\} (\d+)$/m;
	is($n, refusals($t, $said), "metrics: $reason");
}

# the keys never reach the log

my $log = $t->read_file('error.log');
unlike($log, qr/k-new-2026|k-old-2025|k-from-file/, 'no key in the log');
is(scalar(error_log_lines($t, qr/panic|exited on signal|\[alert\]|\[crit\]/)),
	0, 'no crash');

###############################################################################
