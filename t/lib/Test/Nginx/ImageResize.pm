package Test::Nginx::ImageResize;

# Helpers shared by the image_resize_rs suite: test images made by
# target/*/irs-tool, response parsing, error-log checks, a dribbling origin.

use warnings;
use strict;

use base qw/ Exporter /;
our @EXPORT = qw/ irs_tool make_image image_info response_body response_header
    response_status error_log_lines dribble_daemon h2_frame h2_start hpack /;

use File::Temp ();
use IO::Socket::INET;
use Time::HiRes qw/ sleep /;

sub irs_tool {
	my $tool = $ENV{TEST_IRS_TOOL};
	return $tool if defined $tool && -x $tool;
	for my $p (qw{ ../target/release/irs-tool target/release/irs-tool
			../target/debug/irs-tool target/debug/irs-tool })
	{
		return $p if -x $p;
	}
	return undef;
}

# make_image($t, $kind, $w, $h, $name): writes a generated image into the
# test dir (readable by the worker user) and returns its bytes.
sub make_image {
	my ($t, $kind, $w, $h, $name) = @_;
	my $path = $t->testdir() . '/' . $name;
	system(irs_tool(), 'gen', $kind, $w, $h, $path) == 0
		or die "irs-tool gen $kind $w $h failed";
	chmod 0644, $path;
	open my $fh, '<:raw', $path or die "$path: $!";
	local $/;
	return scalar <$fh>;
}

# image_info($bytes): ($type, $width, $height, $flags) of decoded bytes.
my $probe_dir;
sub image_info {
	my ($bytes) = @_;
	return ('none', 0, 0, '') unless defined $bytes && length $bytes;
	$probe_dir //= File::Temp::tempdir('irs-probe-XXXXXX', TMPDIR => 1,
		CLEANUP => 1);
	my $path = "$probe_dir/probe";
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $bytes;
	close $fh;
	my $out = `'${\ irs_tool()}' info '$path' 2>/dev/null`;
	chomp $out;
	return ('undecodable', 0, 0, '') unless $out;
	my ($type, $w, $h, $flags) = split / /, $out;
	return ($type, $w, $h, $flags);
}

sub response_body {
	my ($r) = @_;
	return undef unless defined $r;
	my $i = index($r, "\x0d\x0a\x0d\x0a");
	return undef if $i < 0;
	return substr($r, $i + 4);
}

sub response_header {
	my ($r, $name) = @_;
	return undef unless defined $r;
	my ($head) = split /\x0d\x0a\x0d\x0a/, $r, 2;
	return $1 if $head =~ /^\Q$name\E:\s*(.*?)\x0d?$/mi;
	return undef;
}

sub response_status {
	my ($r) = @_;
	return 0 unless defined $r;
	return $r =~ m!^HTTP/1\.[01] (\d{3})! ? $1 : 0;
}

# Lines of error.log matching a pattern (the log grows through a test file).
sub error_log_lines {
	my ($t, $re) = @_;
	my $log = $t->read_file('error.log');
	return grep { /$re/ } split /\n/, $log;
}

# A minimal HTTP/2 client's pieces: a frame, the connection preface (with a
# big window so the server never waits for WINDOW_UPDATE), and HPACK
# literals without indexing, new name, no Huffman.
sub h2_frame {
	my ($s, $type, $flags, $sid, $payload) = @_;
	my $len = length $payload;
	print $s pack('CnCCN', $len >> 16, $len & 0xffff, $type, $flags, $sid)
		. $payload;
}

sub h2_start {
	my ($s) = @_;
	print $s "PRI * HTTP/2.0\x0d\x0a\x0d\x0aSM\x0d\x0a\x0d\x0a";
	h2_frame($s, 4, 0, 0, '');                       # SETTINGS
	h2_frame($s, 8, 0, 0, pack('N', 0x3fffffff));    # WINDOW_UPDATE
}

sub hpack {
	my (@kv) = @_;
	my $out = '';
	while (my ($k, $v) = splice(@kv, 0, 2)) {
		$out .= "\x00" . chr(length $k) . $k . chr(length $v) . $v;
	}
	return $out;
}

# An origin that answers every request with a fixed body written in tiny
# pieces with pauses, the way a slow S3 connection looks to proxy_buffering
# off. Args: port, hash of path => [status, content-type, body, with_length].
sub dribble_daemon {
	my ($port, $routes) = @_;

	my $server = IO::Socket::INET->new(
		Proto => 'tcp',
		LocalHost => "127.0.0.1:$port",
		Listen => 64,
		Reuse => 1
	) or die "Can't create listening socket: $!\n";

	local $SIG{PIPE} = 'IGNORE';
	local $SIG{CHLD} = 'IGNORE';

	while (my $client = $server->accept()) {
		if (fork() == 0) {
			$client->autoflush(1);
			my $req = '';
			while (<$client>) {
				$req .= $_;
				last if /^\x0d?\x0a?$/;
			}
			my ($uri) = $req =~ m!^\w+ (\S+)!;
			my $route = $routes->{$uri // ''}
				// [404, 'text/plain', "not found\n", 1];
			my ($status, $type, $body, $with_length) = @$route;
			my $head = "HTTP/1.1 $status X\x0d\x0a"
				. "Content-Type: $type\x0d\x0a"
				. "Connection: close\x0d\x0a"
				. ($with_length ? "Content-Length: " . length($body)
					. "\x0d\x0a" : '')
				. "\x0d\x0a";
			print $client $head;
			# 1-byte pieces first (what makes image_filter answer 415),
			# then small random pieces, all with pauses.
			my $off = 0;
			my $n = 0;
			while ($off < length $body) {
				my $len = $n++ < 20 ? 1 : 1 + int(rand(300));
				print $client substr($body, $off, $len);
				$off += $len;
				sleep($n < 20 ? 0.002 : 0.0005);
			}
			close $client;
			exit 0;
		}
		close $client;
	}
}

1;
