#!/usr/bin/env bash
# Input formats: what a 300x200 thumbnail costs per core when the original is
# JPEG, AVIF, HEIC or JPEG XL, and when it is a 100-frame animated GIF.
#
#   scripts/bench inputs          → the "Input formats" section of BENCHMARKS.md
#
# The stills are the same real photographs (plasma-workspace-wallpapers, the
# 2560x1600 JPEGs), each encoded once per format by that format's reference
# encoder at its default quality (avifenc, heif-enc, cjxl from a PNG of the
# decoded JPEG; the JPEG row is the original file). The animation is
# `irs-tool pan`: a 480x270 window panning across a photo, 100 full frames of
# 40 ms.
#
# Each row gets a fresh nginx with one worker and `image_resize_rs_thread_pool
# off`, so the request runs on the worker itself, and wrk with one connection
# (the worker is never idle, never shared): ms per request = 1000 / req/s is
# the cost on one core. Peak RSS is the worker's VmHWM after the run; idle is
# VmHWM before the first request. The output is JPEG q75 for the stills (curl's
# Accept), GIF for the animation kept, animated WebP for it with
# `Accept: image/webp,*/*` (Chrome's names AVIF first, and an AVIF token keeps
# an animation's own format: we write no animated AVIF), and
# the first frame as JPEG with `image_resize_rs_animation first`.
#
# Environment:
#   BENCH_SKIP_BUILD=1   use the existing objs/ module and target/release/irs-tool
#   BENCH_DURATION=N     seconds per row (default 10)
#   BENCH_LIMIT=N        only the first N photos (default 4)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
usage_on_help "$@"
cd "$ROOT"

B=$STATE/bench-inputs
SO=${BENCH_MODULE:-$ROOT/objs/$MODULE_NAME.so}
IRS=$ROOT/target/release/irs-tool
PORT=${BENCH_PORT:-18490}
DURATION=${BENCH_DURATION:-10}
LIMIT=${BENCH_LIMIT:-4}

ensure_packages nginx wrk plasma-workspace-wallpapers libavif-bin libheif-examples libjxl-tools python3 procps
ensure_rust
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
    log "building the module and irs-tool (release)"
    PROFILE=release scripts/build
    cargo build --release --no-default-features --features gen --bin irs-tool
fi
[ -f "$SO" ] || die "$SO missing"
[ -x "$IRS" ] || die "$IRS missing"
if [ "$(stat -c %s "$SO")" -gt 100000000 ] && [ -z "${BENCH_ALLOW_DEV:-}" ]; then
    die "$SO looks like a dev build; use PROFILE=release scripts/build (or BENCH_ALLOW_DEV=1)"
fi

rm -rf "$B"
mkdir -p "$B/bin" "$B/www" "$B/raw" "$B/nginx/logs" "$B/work"
cp "$SO" "$B/bin/$MODULE_NAME.so"; SO=$B/bin/$MODULE_NAME.so
cp "$IRS" "$B/bin/irs-tool"; IRS=$B/bin/irs-tool

# ---------------------------------------------------------------- corpus
mapfile -t PHOTOS < <(find /usr/share/wallpapers -path '*/images/2560x1600.jpg' | sort | head -n "$LIMIT")
[ "${#PHOTOS[@]}" -gt 0 ] || die "no 2560x1600 photos in /usr/share/wallpapers"
mkdir -p "$B/www/jpeg" "$B/www/avif" "$B/www/heic" "$B/www/jxl" "$B/www/gif"
for photo in "${PHOTOS[@]}"; do
    name=$(echo "$photo" | sed -n 's|^/usr/share/wallpapers/\([^/]*\)/.*|\1|p')
    cp "$photo" "$B/www/jpeg/$name.jpg"
    png=$B/work/$name.png
    "$IRS" reference "$photo" 2560 1600 "$png"
    avifenc -q 60 -s 6 -j 1 "$png" "$B/www/avif/$name.avif" >/dev/null
    heif-enc -q 50 "$png" -o "$B/www/heic/$name.heic" >/dev/null
    cjxl -d 1 -e 7 "$png" "$B/www/jxl/$name.jxl" >/dev/null 2>&1
done
"$IRS" pan "${PHOTOS[0]}" 480 270 100 "$B/www/gif/pan-100.gif"
corpus_files() { (cd "$B/www/$1" && ls); }
corpus_bytes() { cat "$B/www/$1"/* | wc -c; }

# ---------------------------------------------------------------- nginx
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
PIDFILE=$B/nginx/nginx.pid
WORKER=
nginx_master() { [ -s "$PIDFILE" ] && cat "$PIDFILE"; }
stop_nginx() {
    local pid
    pid=$(nginx_master 2>/dev/null) || return 0
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    rm -f "$PIDFILE"
    return 0
}
trap stop_nginx EXIT
start_nginx() {
    stop_nginx
    /usr/sbin/nginx -p "$B/nginx" -c "$B/nginx/nginx.conf" -e "$B/nginx/logs/error.log" \
        || die "nginx failed to start, see $B/nginx/logs/error.log"
    local master
    for _ in $(seq 100); do master=$(nginx_master 2>/dev/null) && break; sleep 0.1; done
    WORKER=
    for _ in $(seq 100); do WORKER=$(pgrep -P "$master" | head -1) && break; sleep 0.1; done
    [ -n "$WORKER" ] || die "no nginx worker"
    sleep 0.5
}
vm_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

cat >"$B/nginx/nginx.conf" <<EOF
load_module $SO;
$USER_LINE
worker_processes 1;
pid $PIDFILE;
events { worker_connections 64; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$PORT;
        root $B/www;
        image_resize_rs_thread_pool off;
        image_resize_rs_buffer 64m;
        image_resize_rs_jpeg_quality 75;
        image_resize_rs_formats webp avif;
        location / { image_resize_rs resize 300 200; }
        location /first/ {
            alias $B/www/;
            image_resize_rs resize 300 200;
            image_resize_rs_animation first;
        }
    }
}
EOF

# row <label> <url prefix> <dir> <accept>
RESULTS=$B/results.tsv
: >"$RESULTS"
row() {
    local label=$1 prefix=$2 dir=$3 accept=$4 raw idle hwm line files
    raw=$B/raw/$(echo "$label" | tr -c 'a-zA-Z0-9\n' _).txt
    files=$(corpus_files "$dir")
    start_nginx
    idle=$(vm_kb "$WORKER" VmHWM)
    # one request per file first: every file must resize, or the row is void
    for f in $files; do
        code=$(curl -s -o "$B/work/out" -w '%{http_code} %{content_type}' -H "Accept: $accept" \
            "http://127.0.0.1:$PORT$prefix$dir/$f")
        case "$code" in 200\ image/*) ;; *) die "$label: $prefix$dir/$f answered $code (see $B/nginx/logs/error.log)" ;; esac
    done
    out_type=${code#200 }
    # shellcheck disable=SC2086
    wrk -t1 -c1 -d"${DURATION}s" --timeout 60s --latency -s bench/rotate.lua -H "Accept: $accept" \
        "http://127.0.0.1:$PORT" -- "$prefix$dir/" $files >"$raw" 2>&1
    hwm=$(vm_kb "$WORKER" VmHWM)
    line=$(grep '^BENCH ' "$raw") || die "wrk failed: $raw"
    log "$label: $line idle_hwm_kb=$idle hwm_kb=$hwm"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$(echo "$files" | wc -w)" "$(corpus_bytes "$dir")" \
        "$out_type" "$line" "$idle" "$hwm" >>"$RESULTS"
}

row "JPEG (original)" / jpeg '*/*'
row "AVIF (avifenc -q 60)" / avif '*/*'
row "HEIC (heif-enc -q 50)" / heic '*/*'
row "JPEG XL (cjxl -d 1)" / jxl '*/*'
row "GIF, 100 frames, kept" / gif '*/*'
row "GIF, 100 frames, kept, WebP out" / gif 'image/webp,*/*' 
row "GIF, 100 frames, first frame" /first/ gif '*/*'
stop_nginx

load=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$RESULTS" "$load" "$(git rev-parse --short HEAD)" "${#PHOTOS[@]}" <<'PY' | md_section BENCHMARKS.md inputs
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
load, tree, n = sys.argv[2], sys.argv[3], sys.argv[4]
def kv(line):
    return dict(p.split("=", 1) for p in line.split()[1:])
print("## Input formats: thumbnail cost per core (scripts/bench inputs)\n")
print(f"Generated by `scripts/bench inputs` (tree {tree}; load average at the end {load} on 2 cores). "
      f"The same {n} real 2560x1600 photographs in each still format, each encoded by its reference "
      "encoder at its default quality; a 100-frame 480x270 animated GIF panning across a photo. "
      "Fit into 300x200; one nginx worker, `image_resize_rs_thread_pool off`, wrk with one connection, "
      "so ms per request is the cost on one core. Peak RSS: the worker's VmHWM after the run "
      "(fresh worker per row; idle is before the first request).\n")
print("| input | files | input bytes | output | req/s | ms per request | p99 ms | errors | peak RSS MiB | idle RSS MiB | vs JPEG ms |")
print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
base = None
for label, files, nbytes, out, line, idle, hwm in rows:
    k = kv(line)
    rps = float(k["rps"])
    ms = 1000 / rps if rps else float("inf")
    if base is None:
        base = ms
    err = int(k["errors"]) + int(k["non2xx"])
    print(f"| {label} | {files} | {int(nbytes):,} | {out} | {rps:.1f} | {ms:.1f} | {float(k['p99_ms']):.1f} "
          f"| {err} | {int(hwm)/1024:.1f} | {int(idle)/1024:.1f} | {ms/base:.2f}x |")
PY
log "wrote the inputs section of BENCHMARKS.md"
