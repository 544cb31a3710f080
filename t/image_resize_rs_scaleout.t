#!/usr/bin/perl

# The README's scale-out tier ("Scaling past one machine") on one machine: a
# front with "hash $request_uri consistent" over three resizer+cache nodes,
# each the shape of conf/nginx.conf (proxy_cache -> image_resize_rs -> origin)
# and each a separate nginx instance on its own loopback ports, prefix, pid,
# logs and cache.  Every URL is resized on exactly one node, a repeat is a
# cache hit on that node, and removing one node from the front (a reload
# without its server line) re-resizes only that node's share.

###############################################################################

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Nginx;
use Test::Nginx::ImageResize;
use File::Path qw/ make_path /;
use Time::HiRes qw/ sleep /;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'irs-tool not built') unless irs_tool();

my $t = Test::Nginx->new()->has(qw/http proxy cache upstream_hash/);
my $d = $t->testdir();

# workers run as nobody when the tests run as root (upstream's library
# leaves the directory 0700)
chmod 0755, $d;

my @nodes = qw/ n1 n2 n3 /;
my %cache_port = (n1 => 8081, n2 => 8082, n3 => 8083);   # what the front uses
my %resizer_port = (n1 => 8086, n2 => 8087, n3 => 8088);

# the front (this library's own instance) and the shared origin, which plays
# the part of the S3 bucket: any node can fetch any original from it

sub front_conf {
	my (@servers) = @_;
	my $upstream = join '', map { "        server 127.0.0.1:$cache_port{$_};\n" }
		@servers;

	return <<"EOF";

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    upstream resizers {
        hash \$request_uri consistent;     # each node caches its own share
$upstream    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /img/ { proxy_pass http://resizers; }
    }

    server {
        listen       127.0.0.1:8089;
        server_name  origin;

        location / {
            root %%TESTDIR%%/origin;
        }
    }
}

EOF
}

$t->write_file_expand('nginx.conf', front_conf(@nodes));

# the nodes: conf/nginx.conf's front cache and resizer, with the same binary
# and globals (load_module or none) as the front, and paths of their own

my $node_conf = <<'EOF';

@@GLOBALS@@

daemon off;

events {
}

http {
    @@GLOBALS_HTTP@@

    log_format resize '$request_uri $image_resize_rs_status';

    image_resize_rs_formats avif webp;

    proxy_cache_path @@DIR@@/cache levels=1:2 keys_zone=images:1m
                     max_size=64m inactive=30d use_temp_path=off;

    upstream origin {
        server 127.0.0.1:8089;
    }

    server {
        listen       127.0.0.1:@@CACHE_PORT@@;
        server_name  localhost;

        location /img/ {
            proxy_pass http://127.0.0.1:@@RESIZER_PORT@@;
            proxy_cache images;
            proxy_cache_key "$scheme$proxy_host$request_uri $image_resize_rs_format";
            proxy_ignore_headers Vary;
            proxy_cache_valid 200 30d;
            proxy_cache_valid 404 1m;
            proxy_cache_lock on;
            proxy_cache_use_stale error timeout updating;
            add_header X-Cache-Status $upstream_cache_status always;
            add_header X-Node @@NODE@@ always;
        }
    }

    server {
        listen       127.0.0.1:@@RESIZER_PORT@@;
        server_name  resizer;

        image_resize_rs_buffer       32m;
        image_resize_rs_jpeg_quality 80;
        image_resize_rs_interlace    on;

        location ~ "^/img/(?<width>[0-9]{1,4}|-)x(?<height>[0-9]{1,4}|-)/(?<key>.+)$" {
            image_resize_rs resize $width $height;
            access_log @@DIR@@/resize.log resize;
            proxy_pass http://origin/$key;
        }

        location / {
            return 404;
        }
    }
}

EOF

for my $n (@nodes) {
	my $nd = "$d/$n";
	make_path($nd);
	chmod 0755, $nd;

	# the front's globals with this node's pid and error log; its http
	# globals (access log, temp paths) under this node's directory
	(my $globals = $t->test_globals())
		=~ s!\Q$d\E/(nginx\.pid|error\.log)!$nd/$1!g;
	(my $http = $t->test_globals_http()) =~ s!\Q$d\E/!$nd/!g;

	my $c = $node_conf;
	$c =~ s/\@\@GLOBALS\@\@/$globals/;
	$c =~ s/\@\@GLOBALS_HTTP\@\@/$http/;
	$c =~ s/\@\@DIR\@\@/$nd/g;
	$c =~ s/\@\@NODE\@\@/$n/g;
	$c =~ s/\@\@CACHE_PORT\@\@/$cache_port{$n}/g;
	$c =~ s/\@\@RESIZER_PORT\@\@/$resizer_port{$n}/g;
	$t->write_file_expand("$n/nginx.conf", $c);
}

# 30 URLs: three 4:3 originals, ten bounding boxes, each an exact size

make_path("$d/origin");
chmod 0755, "$d/origin";
my %orig = ('a.jpg' => [640, 480], 'b.jpg' => [800, 600],
	'c.jpg' => [1280, 960]);
make_image($t, 'jpeg', @{$orig{$_}}, "origin/$_") for sort keys %orig;

my %boxes = ('400x400' => '400x300', '200x300' => '200x150',
	'100x100' => '100x75', '320x1000' => '320x240', '160x160' => '160x120',
	'1000x300' => '400x300', '600x90' => '120x90', '500x150' => '200x150',
	'300x60' => '80x60', '999x210' => '280x210');

my (@urls, %want);
for my $file (sort keys %orig) {
	for my $box (sort keys %boxes) {
		my $u = "/img/$box/$file";
		push @urls, $u;
		$want{$u} = "jpeg $boxes{$box}";
	}
}

$t->try_run('no image_resize_rs')->plan(18);

for my $n (@nodes) {
	$t->run_daemon($Test::Nginx::NGINX, '-p', "$d/$n/", '-c', 'nginx.conf',
		'-e', 'error.log');
}
for my $n (@nodes) {
	$t->waitforfile("$d/$n/nginx.pid") or die "node $n did not start";
	$t->waitforsocket('127.0.0.1:' . port($cache_port{$n}))
		or die "node $n does not listen";
}

###############################################################################

# ($node, $cache_status, "type WxH", $body) of one reply through the front
sub get {
	my ($uri) = @_;
	my $r = http_get($uri);
	my $body = response_body($r);
	my ($type, $w, $h) = image_info($body);
	return (response_header($r, 'X-Node') // '-',
		response_header($r, 'X-Cache-Status') // '-',
		response_status($r) == 200 ? "$type ${w}x$h" : response_status($r),
		$body);
}

sub bad_sizes {
	my ($got) = @_;
	return join ', ', map { "$_: $got->{$_}" }
		grep { $got->{$_} ne $want{$_} } @urls;
}

# stop a node: graceful quit, then its master removes the pid file on exit
# (after its workers, so its logs are complete); reaped by stop_daemons()
sub stop_node {
	my ($t, $n) = @_;
	my $pidfile = "$d/$n/nginx.pid";
	my $pid = $t->read_file("$n/nginx.pid");
	$pid =~ s/\s+//g;
	kill 'QUIT', $pid;
	for (1 .. 600) {
		return 1 unless -e $pidfile;
		sleep(0.1);
	}
	return 0;
}

# URL => [ nodes that resized it ], from the nodes' resizer logs
sub resized_by {
	my ($t) = @_;
	my %by;
	for my $n (@nodes) {
		for (split /\n/, $t->read_file("$n/resize.log")) {
			my ($uri, $status) = split / /;
			push @{$by{$uri}}, $status eq 'resized' ? $n : "$n:$status";
		}
	}
	return %by;
}

# 1. every URL is resized on exactly one node

my (%owner, %size, %body, %share);
my @first;
for my $u (@urls) {
	my ($node, $cache, $size, $body) = get($u);
	$owner{$u} = $node;
	$size{$u} = $size;
	$body{$u} = $body;
	$share{$node}++;
	push @first, "$u $node $cache" unless $cache eq 'MISS';
}

is(bad_sizes(\%size), '', 'first replies: JPEGs of the requested size');
is(join(', ', @first), '', 'first replies: a cache miss on some node');
is(join(' ', map { $_ . '=' . ($share{$_} // 0) } sort keys %share),
	join(' ', map { $_ . '=' . ($share{$_} // 0) } @nodes),
	'first replies: only the three nodes answer');
is(scalar(grep { $share{$_} } @nodes), 3, 'every node has a share: '
	. join(' ', map { $_ . '=' . ($share{$_} // 0) } @nodes));

# 2. a repeat is a hit on the same node, with the same bytes

my (@moved, @miss, @diff);
for my $u (@urls) {
	my ($node, $cache, $size, $body) = get($u);
	push @moved, "$u $owner{$u}->$node" if $node ne $owner{$u};
	push @miss, "$u $cache" if $cache ne 'HIT';
	push @diff, $u unless defined $body && defined $body{$u}
		&& $body eq $body{$u};
}

is(join(', ', @moved), '', 'repeats: the same node');
is(join(', ', @miss), '', 'repeats: cache hits');
is(join(', ', @diff), '', 'repeats: the same bytes');

# 3. remove the node with the largest share: the front is reloaded without
# its server line (the old front worker is waited for, so every request below
# is served by the new configuration), then the node itself is stopped

my ($gone) = sort { $share{$b} <=> $share{$a} || $a cmp $b } @nodes;
my @kept = grep { $_ ne $gone } @nodes;

sub front_workers {
	my ($t) = @_;
	my $master = $t->read_file('nginx.pid');
	$master =~ s/\s+//g;
	my @pids = `pgrep -P $master`;
	chomp @pids;
	return @pids;
}

my @old = front_workers($t);
$t->write_file_expand('nginx.conf', front_conf(@kept));
$t->reload();
my $reloaded = 0;
for (1 .. 600) {
	my %now = map { $_ => 1 } front_workers($t);
	$reloaded = %now && !grep { $now{$_} } @old;
	last if $reloaded;
	sleep(0.1);
}
ok($reloaded, "front reloaded without $gone");
ok(stop_node($t, $gone), "node $gone stopped");

my (@stayed, @rehomed, %new_owner);
%size = ();
for my $u (@urls) {
	my ($node, $cache, $size) = get($u);
	$size{$u} = $size;
	if ($owner{$u} ne $gone) {
		push @stayed, "$u $owner{$u}->$node $cache"
			unless $node eq $owner{$u} && $cache eq 'HIT';
	} else {
		$new_owner{$u} = $node;
		push @rehomed, "$u $node $cache"
			unless grep({ $_ eq $node } @kept) && $cache eq 'MISS';
	}
}

is(bad_sizes(\%size), '', 'after removal: JPEGs of the requested size');
is(join(', ', @stayed), '', 'after removal: the kept nodes\' URLs are hits '
	. 'on the same node');
is(join(', ', @rehomed), '', "after removal: $gone\'s URLs are misses on "
	. 'the kept nodes');
is(scalar(keys %new_owner), $share{$gone}, "after removal: $gone\'s share "
	. 'is the only one re-resized');

# and those are hits on their new node from now on

@miss = ();
for my $u (sort keys %new_owner) {
	my ($node, $cache) = get($u);
	push @miss, "$u $node $cache"
		unless $node eq $new_owner{$u} && $cache eq 'HIT';
}
is(join(', ', @miss), '', "after removal: $gone\'s URLs are hits on their "
	. 'new node');

# the nodes' own logs, complete once every node has exited: each URL was
# resized once, on its node, plus once more on a kept node for the removed
# node's share; and no node logged an alert

my @stopped = grep { stop_node($t, $_) } @kept;
is(scalar @stopped, 2, 'kept nodes stopped');

my %by = resized_by($t);
my @wrong;
for my $u (@urls) {
	my $want = join ' ', sort { $a cmp $b } $owner{$u},
		exists $new_owner{$u} ? $new_owner{$u} : ();
	my $got = join ' ', sort @{$by{$u} || []};
	push @wrong, "$u: $got (want $want)" if $got ne $want;
}
push @wrong, "$_: unexpected" for grep { !exists $want{$_} } keys %by;

is(join(', ', @wrong), '', 'node logs: each URL resized exactly once on its '
	. 'node, and the removed node\'s share once more');
is(scalar(map { @$_ } values %by), @urls + $share{$gone},
	'node logs: ' . (@urls + $share{$gone}) . ' resizes in all');

my @alerts = map { my $n = $_; map { "$n: $_" } grep { /\[(alert|crit|emerg)\]/ }
	split /\n/, $t->read_file("$n/error.log") } @nodes;
is(join("\n", @alerts), '', 'no alerts on the nodes');

###############################################################################
