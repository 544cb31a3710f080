#!/usr/bin/perl

# image_resize_rs_metrics: counters and histograms summed over every
# worker in one shared-memory zone, parsed by a real Prometheus text parser
# (python3-prometheus-client); the JSON form; gauges of a running job;
# counts that survive a SIGKILLed worker and a reload (HUP).

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;

use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw/ sleep /;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();

# Debian's python3-prometheus-client is for Debian's python3.
my ($python) = grep {
	system("$_ -c 'import prometheus_client' >/dev/null 2>&1") == 0
} ('/usr/bin/python3', 'python3');
plan(skip_all => 'no python3 with prometheus_client') unless $python;

my $t = Test::Nginx->new()->has(qw/http proxy/);

$t->write_file_expand('nginx.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /img/ {
            proxy_pass http://127.0.0.1:8081/;
            image_resize_rs resize 100 100;
        }

        location /down/ {
            proxy_pass http://127.0.0.1:8082/;
            image_resize_rs resize 100 100;
        }

        location = /metrics {
            image_resize_rs_metrics;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  origin;

        location / {
            root %%TESTDIR%%;
        }

        location /missing.xml {
            default_type application/xml;
            return 404 '<Error><Code>NoSuchKey</Code></Error>';
        }
    }
}

EOF

make_image($t, 'jpeg', 640, 480, 'photo.jpg');
make_image($t, 'png', 300, 200, 'pic.png');
$t->write_file('text.jpg', 'not an image at all');
$t->write_file('parse.py', <<'EOF');
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    print("TYPE", f.name, f.type)
    for s in f.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print("S", s.name, labels, repr(float(s.value)))
EOF

# The master logs the SIGKILLed worker as an alert (skip_errors_check is
# this library's; upstream's makes alerts a TODO instead).
if ($t->can('skip_errors_check')) {
	$t->skip_errors_check('alert', 'exited on signal 9');
} else {
	$t->todo_alerts();
}

$t->try_run('no image_resize_rs')->plan(26);

###############################################################################

# (Subs take $t: a closure over it would keep nginx running past the plan.)
# Fetches /metrics and parses it with prometheus_client: name => labels => value.
sub scrape {
	my ($t) = @_;
	my $r = http_get('/metrics');
	my $file = $t->testdir() . '/scrape.txt';
	open my $fh, '>', $file or die $!;
	print $fh response_body($r) // '';
	close $fh;
	my $dir = $t->testdir();
	my $out = `$python $dir/parse.py < $file 2>&1`;
	my %m = (_status => $?, _ct => response_header($r, 'Content-Type'));
	for (split /\n/, $out) {
		if (/^TYPE (\S+) (\S+)$/) { $m{_type}{$1} = $2; next; }
		if (/^S (\S+) (\S*) (\S+)$/) { $m{$1}{$2} = $3 + 0; next; }
		$m{_status} = "unparsed line: $_";
	}
	return \%m;
}

sub workers {
	my ($t) = @_;
	my $master = $t->read_file('nginx.pid');
	chomp $master;
	my @pids = `pgrep -P $master`;
	chomp @pids;
	return sort @pids;
}

# Waits until the scrape says $n live workers.
sub settle {
	my ($t, $n) = @_;
	my $m;
	for (1 .. 50) {
		$m = scrape($t);
		last if ($m->{image_resize_rs_workers}{''} // -1) == $n;
		sleep(0.1);
	}
	return $m;
}

# Each request on its own connection: both workers serve some.
http_get("/img/photo.jpg?$_") for 1 .. 3;
http_get('/img/pic.png');
like(http_get('/img/text.jpg'), qr/ 415 /, 'not an image: 415');
like(http_get('/img/missing.xml'), qr/ 404 /, 'origin 404');
like(http_get('/down/photo.jpg'), qr/ 502 /, 'origin down: 502');

my $m = settle($t, 2);
is($m->{_status}, 0, 'prometheus_client parses the text');
like($m->{_ct}, qr{^text/plain; version=0\.0\.4}, 'exposition content type');
is($m->{_type}{image_resize_rs_replies}, 'counter', 'replies: a counter');
is($m->{_type}{image_resize_rs_stage_duration_seconds}, 'histogram',
	'stages: a histogram');
is($m->{image_resize_rs_replies_total}{'outcome=resized,reason='}, 4,
	'4 resizes, summed over the workers');
is($m->{image_resize_rs_replies_total}{'outcome=refused,reason=not_image'}, 1,
	'one refusal by reason');
is($m->{image_resize_rs_origin_failures_total}{'kind=4xx'}, 1, 'origin 4xx');
is($m->{image_resize_rs_origin_failures_total}{'kind=5xx'}, 1,
	'origin 5xx (unreachable)');
is($m->{image_resize_rs_stage_duration_seconds_count}{'stage=decode'}, 4,
	'decode timed for every image job');
is($m->{image_resize_rs_stage_duration_seconds_bucket}{'le=+Inf,stage=total'}, 5,
	'+Inf bucket = count');
my $sizes = -s $t->testdir() . '/photo.jpg';
cmp_ok($m->{image_resize_rs_received_bytes_total}{''}, '>=', 3 * $sizes,
	'bytes received');
cmp_ok($m->{image_resize_rs_sent_bytes_total}{''}, '>', 0, 'bytes sent');
is($m->{image_resize_rs_workers}{''}, 2, 'both workers publish gauges');

# JSON: the same numbers

my $j = eval { decode_json(response_body(http_get('/metrics?format=json'))) };
is($j && $j->{replies}{resized}{''}, 4, 'json: resizes');
is($j && $j->{origin_failures}{'4xx'}, 1, 'json: origin 4xx');

like(http(<<EOF), qr/ 405 /, 'POST /metrics: 405');
POST /metrics HTTP/1.0
Host: localhost
Content-Length: 0

EOF

# a running job shows in the gauges

SKIP: {
skip 'built without fault-injection', 1 unless $ENV{TEST_IRS_FAULTS};

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8080))
	or die "connect: $!";
print $s "GET /img/pic.png?slow HTTP/1.0\x0d\x0aHost: localhost\x0d\x0a"
	. "X-IRS-Fault: sleep=1500\x0d\x0a\x0d\x0a";
sleep(0.5);
is(scrape($t)->{image_resize_rs_jobs_running}{''}, 1, 'a running job: jobs_running 1');
local $/;
my $reply = <$s>;
}

# a SIGKILLed worker: nginx starts another; the counts stay

my @before = workers($t);
kill 'KILL', $before[0];
my @after;
for (1 .. 50) {
	@after = workers($t);
	last if @after == 2 && !grep { $_ == $before[0] } @after;
	sleep(0.1);
}
isnt(join(',', @after), join(',', @before), 'a killed worker is replaced');
$m = settle($t, 2);
cmp_ok($m->{image_resize_rs_replies_total}{'outcome=resized,reason='}, '>=', 4,
	'resizes survive a killed worker');
is($m->{image_resize_rs_workers}{''}, 2, 'the dead worker is not counted');

# a reload: new workers, same zone

my $resized = $m->{image_resize_rs_replies_total}{'outcome=resized,reason='};
@before = workers($t);
$t->reload();
for (1 .. 50) {
	@after = workers($t);
	last if @after == 2 && !grep { my $p = $_; grep { $_ == $p } @before } @after;
	sleep(0.1);
}
ok(!grep({ my $p = $_; grep { $_ == $p } @before } @after), 'reloaded: new workers');
$m = settle($t, 2);
is($m->{image_resize_rs_replies_total}{'outcome=resized,reason='}, $resized,
	'resizes survive a reload');
http_get('/img/pic.png?after');
is(settle($t, 2)->{image_resize_rs_replies_total}{'outcome=resized,reason='}, $resized + 1,
	'and go on counting');


###############################################################################
