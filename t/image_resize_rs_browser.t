#!/usr/bin/perl

# A real browser as the client: headless Chromium at a device scale factor
# of 2 loads a page that asks for Sec-CH-DPR (Accept-CH); its images come
# back at twice the box, in AVIF, and the second load is served by the front
# cache. The page reports each image's natural size into the DOM, which
# --dump-dom prints once the page has loaded.
#
# Needs chromium (TEST_CHROMIUM=/path, else chromium on PATH); scripts/test
# installs it.

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

my $chromium = $ENV{TEST_CHROMIUM}
	// (grep { -x } map { "$_/chromium" } split /:/, $ENV{PATH})[0];
plan(skip_all => 'no chromium') unless $chromium;

my $t = Test::Nginx->new()->has(qw/http proxy cache/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    proxy_cache_path %%TESTDIR%%/cache levels=1 keys_zone=front:1m;

    image_resize_rs_formats avif webp;
    image_resize_rs_widths 160 320 640 1280;
    image_resize_rs_dpr $http_sec_ch_dpr;

    log_format front '$uri $image_resize_rs_key $upstream_cache_status '
                     'dpr=$http_sec_ch_dpr';

    # front
    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location = /page.html {
            root %%TESTDIR%%;
            add_header Accept-CH "Sec-CH-DPR, Sec-CH-Width";
        }

        location ~ "^/img/(?<w>[0-9]+|-)x(?<h>[0-9]+|-)/(?<f>.+)$" {
            image_resize_rs_box $w $h;
            proxy_cache front;
            proxy_cache_key "$image_resize_rs_key $f";
            proxy_ignore_headers Vary;
            proxy_cache_valid 200 1h;
            proxy_pass http://127.0.0.1:8081;
            access_log %%TESTDIR%%/front.log front;
        }
    }

    # resizer
    server {
        listen       127.0.0.1:8081;
        server_name  localhost;

        location ~ "^/img/(?<w>[0-9]+|-)x(?<h>[0-9]+|-)/(?<f>.+)$" {
            alias %%TESTDIR%%/$f;
            image_resize_rs resize $w $h;
            image_resize_rs_avif_speed 10;
        }
    }
}

EOF

make_image($t, 'jpeg', 1600, 1200, 'photo.jpg');
make_image($t, 'jpeg', 1200, 1600, 'tall.jpg');

$t->write_file('page.html', <<'EOF');
<!doctype html>
<html><head><title>dpr</title></head><body>
<img id="a" src="/img/320x-/photo.jpg" width="320">
<img id="b" src="/img/160x-/tall.jpg" width="160">
<pre id="out"></pre>
<script>
window.addEventListener('load', function () {
    var out = [];
    document.querySelectorAll('img').forEach(function (i) {
        out.push(i.id + '=' + i.naturalWidth + 'x' + i.naturalHeight);
    });
    out.push('dpr=' + window.devicePixelRatio);
    document.getElementById('out').textContent = out.join(' ');
});
</script>
</body></html>
EOF

$t->try_run('no image_resize_rs_dpr')->plan(9);

###############################################################################

sub load {
	my ($dir, $n) = @_;
	my $profile = "$dir/profile$n";
	my $out = `'$chromium' --headless --no-sandbox --disable-gpu \\
		--no-first-run --user-data-dir='$profile' \\
		--force-device-scale-factor=2 --virtual-time-budget=10000 \\
		--dump-dom http://127.0.0.1:${\ port(8080)}/page.html 2>/dev/null`;
	my ($res) = $out =~ m{<pre id="out">([^<]*)</pre>};
	return $res // '';
}

sub front_log {
	my ($dir) = @_;
	open my $fh, '<', "$dir/front.log" or return ();
	return map { chomp; $_ } <$fh>;
}

my $first = load($t->testdir(), 1);
is($first, 'a=640x480 b=320x426 dpr=2', 'images at twice the box');

my @log = front_log($t->testdir());
is(scalar @log, 2, 'two image requests');
like($log[0] // '', qr{^/img/\S+ avif/(640|320)x- MISS dpr=2$}, 'first miss, dpr 2');
like($log[1] // '', qr{^/img/\S+ avif/(640|320)x- MISS dpr=2$}, 'second miss, dpr 2');

# A fresh browser profile (nothing in its own cache): the front answers.

my $second = load($t->testdir(), 2);
is($second, $first, 'the same on the second load');
@log = front_log($t->testdir());
is(scalar @log, 4, 'two more image requests');
like($log[2] // '', qr{ HIT dpr=2$}, 'second load from the front cache');
like($log[3] // '', qr{ HIT dpr=2$}, 'both from the front cache');
is(join(' ', sort map { (split ' ')[1] } @log[0, 1]), 'avif/320x- avif/640x-',
	'keys name the doubled box');

###############################################################################
