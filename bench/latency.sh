#!/usr/bin/env bash
# shellcheck shell=bash
# `scripts/bench latency`: sourced by scripts/bench after the module is built
# and the nginx helpers are defined. Run by itself (bench/latency.sh [--help])
# it hands over to `scripts/bench latency`, which builds, probes and sources it.
#
# Inputs from scripts/bench (checked below; a missing one is named):
#   ROOT B PORT SO IF_SO QUALITY HAS_POOL   paths, base port, module .so files,
#                                           JPEG quality, 1 if the module knows
#                                           image_resize_rs_thread_pool
#   USER_LINE WORKER                        "user root;" or empty; the worker pid
#                                           (set by start_nginx)
#   log die (scripts/lib.sh), start_nginx stop_nginx nginx_master vm_kb
#                                           the nginx helpers (they read this
#                                           file's NGINX_PREFIX NGINX_CONF PIDFILE)
#
# The article's setup in ONE nginx with ONE worker:
#
#   wrk #1 (4 conns, every URL new) ─┐
#                                    ├─▶ front :PORT (proxy_cache) ──▶ resizer :PORT+1
#   wrk #2 (1 conn, one cached URL) ─┘      (image_resize_rs or image_filter)
#                                                ──▶ origin :PORT+2 (static files:
#                                                    5120x2880 JPEG wallpapers)
#
# wrk #1 keeps the resizer busy with cache misses; wrk #2 asks for a URL that
# is already in the front cache and measures how long a cache hit waits. Runs
# (nginx restarted for each, so the worker's VmHWM is per run):
#   inline   image_resize_rs_thread_pool off;          (today's behaviour)
#   pool     thread_pool irs threads=N; image_resize_rs_thread_pool irs;
#   default  no directive: nginx's implicit "default" pool (32 threads)
#   if       image_filter resize (always inline)
#
# Environment:
#   BENCH_LAT_RUNS="inline pool default if"  which runs, in this order
#   BENCH_LAT_DURATION=20    seconds of wrk #1 under measurement (loaded)
#   BENCH_LAT_IDLE=10        seconds of cache hits with no load (idle)
#   BENCH_LAT_WARMUP=3       seconds of discarded cache-miss load first
#   BENCH_LAT_CONNECTIONS=4  wrk #1 connections (enough to fill the pool)
#   BENCH_LAT_INTERVAL_MS=10 wrk #2 pause between cache hits (0: back to back)
#   BENCH_POOL_THREADS=2     threads of the named pool (≈ cores)
#   BENCH_LAT_ROUNDS=1       repeat the whole set of runs, interleaved; the
#                            report gives the median of each figure
#   BENCH_PERF=0             1: perf record the worker during each loaded
#                            phase (extra overhead: numbers not for the table)
#   BENCH_POOL_NICE=         experiment: renice the worker's other threads (the
#                            pool's) by this much, so the event loop wins the CPU

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        -h | --help) sed -n '3,/^$/p' "$0" | sed -n '/^#/s/^# \{0,1\}//p'; exit 0 ;;
    esac
    exec "$(dirname "$0")/../scripts/bench" latency "$@"
fi
lat_missing=()
for v in ROOT B PORT SO IF_SO QUALITY HAS_POOL; do [ -n "${!v:-}" ] || lat_missing+=("$v"); done
for f in log die start_nginx stop_nginx nginx_master vm_kb; do
    declare -F "$f" >/dev/null || lat_missing+=("$f()")
done
if [ ${#lat_missing[@]} -gt 0 ]; then
    echo "bench/latency.sh: sourced without ${lat_missing[*]} (source it from scripts/bench, or run scripts/bench latency)" >&2
    return 1 2>/dev/null || exit 1
fi
unset lat_missing

L=$B/lat
LAT_DURATION=${BENCH_LAT_DURATION:-20}
LAT_IDLE=${BENCH_LAT_IDLE:-10}
LAT_WARMUP=${BENCH_LAT_WARMUP:-3}
LAT_CONNS=${BENCH_LAT_CONNECTIONS:-4}
LAT_INTERVAL=${BENCH_LAT_INTERVAL_MS:-10}
POOL_THREADS=${BENCH_POOL_THREADS:-2}
LAT_ROUNDS=${BENCH_LAT_ROUNDS:-1}
LAT_PERF=${BENCH_PERF:-0}
POOL_NICE=${BENCH_POOL_NICE:-}
read -r -a LAT_RUNS <<<"${BENCH_LAT_RUNS:-inline pool default if}"
RPORT=$((PORT + 1)) OPORT=$((PORT + 2))
[ "$LAT_DURATION" -ge 5 ] || die "BENCH_LAT_DURATION must be at least 5 seconds"

NGINX_PREFIX=$L/nginx
NGINX_CONF=$L/nginx/nginx.conf
PIDFILE=$L/nginx/nginx.pid
rm -rf "$L/www" "$L/raw" "$L/nginx"
mkdir -p "$L/www" "$L/raw" "$L/nginx/logs" "$L/nginx/tmp"
RESULTS=$L/results.txt
: >"$RESULTS"

# wrk processes we started: killed on any exit, before nginx is stopped.
WRK_PIDS=()
lat_cleanup() {
    local p
    # (wrk #1 runs in a subshell: its wrk is that subshell's child)
    for p in "${WRK_PIDS[@]}"; do
        pkill -TERM -P "$p" 2>/dev/null || true
        kill "$p" 2>/dev/null || true
    done
    stop_nginx
}
trap lat_cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- corpus
# Theme/contents/images[_dark]/5120x2880.jpg → Theme[-dark].jpg
while read -r f; do
    theme=$(echo "$f" | sed -n 's|^/usr/share/wallpapers/\([^/]*\)/.*|\1|p')
    case "$f" in */images_dark/*) theme=$theme-dark ;; esac
    cp "$f" "$L/www/$theme.jpg"
done < <(find /usr/share/wallpapers -name '5120x2880.jpg' | sort)
mapfile -t PHOTOS < <(cd "$L/www" && ls)
[ "${#PHOTOS[@]}" -gt 0 ] || die "no 5120x2880 JPEG in /usr/share/wallpapers (plasma-workspace-wallpapers)"
HIT_URL=/img/300x200/${PHOTOS[0]}?hit

# ---------------------------------------------------------------- nginx.conf
# write_conf <run>
write_conf() {
    local main_extra="" http_extra="" engine
    case "$1" in
        inline)
            # Before the directive existed, inline was the only behaviour.
            [ "$HAS_POOL" = 1 ] && http_extra="image_resize_rs_thread_pool off;"
            ;;
        pool)
            main_extra="thread_pool irs threads=$POOL_THREADS;"
            http_extra="image_resize_rs_thread_pool irs;"
            ;;
        default | if) ;;
        *) die "unknown run '$1' (BENCH_LAT_RUNS: inline pool default if)" ;;
    esac
    if [ "$1" = if ]; then
        engine="image_filter resize \$w \$h;
            image_filter_jpeg_quality $QUALITY;
            image_filter_interlace on;
            image_filter_buffer 64m;"
    else
        engine="image_resize_rs resize \$w \$h;
            image_resize_rs_jpeg_quality $QUALITY;
            image_resize_rs_interlace on;
            image_resize_rs_buffer 64m;"
    fi
    cat >"$NGINX_CONF" <<EOF
# scripts/bench latency, run "$1"
load_module $IF_SO;
load_module $SO;
$USER_LINE
worker_processes 1;
pid $PIDFILE;
error_log $L/nginx/logs/error.log warn;
$main_extra
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $L/nginx/tmp/body;
    proxy_temp_path $L/nginx/tmp/proxy;
    fastcgi_temp_path $L/nginx/tmp/fastcgi;
    uwsgi_temp_path $L/nginx/tmp/uwsgi;
    scgi_temp_path $L/nginx/tmp/scgi;
    proxy_cache_path $L/nginx/cache levels=1:2 keys_zone=images:10m
                     max_size=1g inactive=1d use_temp_path=off;
    $http_extra

    # front: what clients talk to (the article's caching server)
    server {
        listen 127.0.0.1:$PORT;
        location /img/ {
            proxy_pass http://127.0.0.1:$RPORT;
            proxy_cache images;
            proxy_cache_key \$uri\$is_args\$args;
            proxy_cache_valid 200 1d;
            add_header X-Cache-Status \$upstream_cache_status always;
        }
    }

    # resizer: /img/<w>x<h>/<file> (the article's resizing server)
    server {
        listen 127.0.0.1:$RPORT;
        location ~ "^/img/(?<w>[0-9]+)x(?<h>[0-9]+)/(?<file>.+)\$" {
            $engine
            proxy_pass http://127.0.0.1:$OPORT/\$file;
            proxy_http_version 1.1;
            proxy_pass_request_headers off;
            proxy_buffering off;
        }
        # image_filter's JSON, to check the corpus is what it says
        location ~ "^/size/(?<file>.+)\$" {
            image_filter size;
            image_filter_buffer 64m;
            proxy_pass http://127.0.0.1:$OPORT/\$file;
        }
    }

    # origin: the photos, as a plain static server (stands in for S3)
    server {
        listen 127.0.0.1:$OPORT;
        root $L/www;
    }
}
EOF
}

# ---------------------------------------------------------------- measuring
# cpu_ticks <pid>: user+system clock ticks of a process (all its threads).
# (<pid>/task/<tid>: one thread)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# busy_ticks: clock ticks all CPUs spent not idle since boot.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
TICK=$(getconf CLK_TCK)

# wrk_lat <out> <wrk args...>
wrk_lat() {
    local out=$1 pid; shift
    # In the background + wait, so that INT/TERM stop the run at once.
    wrk -t1 --timeout 60s -s bench/latency.lua "$@" >"$out" 2>&1 &
    pid=$!; WRK_PIDS+=("$pid")
    wait "$pid" || { cat "$out" >&2; die "wrk failed: $out"; }
    unset 'WRK_PIDS[-1]'
    grep -q '^BENCH ' "$out" || { cat "$out" >&2; die "wrk printed no result: $out"; }
}
hits() { # hits <out> <seconds>
    wrk_lat "$1" -c1 -d"$2"s "http://127.0.0.1:$PORT" -- hit "$LAT_INTERVAL" "$HIT_URL"
}
misses() { # misses <out> <seconds> <tag>
    wrk_lat "$1" -c"$LAT_CONNS" -d"$2"s "http://127.0.0.1:$PORT" -- miss "$3" /img/300x200/ "${PHOTOS[@]}"
}
# field <file> <key>: a key=value from the BENCH line.
field() { sed -n "s/^BENCH .*[ ]$2=\([^ ]*\).*/\1/p" "$1"; }
# check_wrk <file> <role>: no errors, and every answer the cache status it should be.
check_wrk() {
    local want other
    [ "$(field "$1" errors)" = 0 ] || die "socket errors or timeouts in $1"
    [ "$(field "$1" non2xx)" = 0 ] || die "non-2xx answers in $1 (see $L/nginx/logs/error.log)"
    [ "$(field "$1" requests)" -gt 0 ] || die "no request completed in $1"
    if [ "$2" = hit ]; then want=hit other=miss; else want=miss other=hit; fi
    [ "$(field "$1" "$other")" = 0 ] && [ "$(field "$1" other)" = 0 ] \
        || die "$1: expected only cache ${want}s: $(grep '^BENCH' "$1")"
}
# curl_status <url>: "<http code> <X-Cache-Status> <content type>"
curl_status() {
    curl -s -o /dev/null -D - "http://127.0.0.1:$PORT$1" \
        | tr -d '\r' | awk 'NR == 1 { c = $2 } tolower($1) == "x-cache-status:" { s = $2 }
                            tolower($1) == "content-type:" { t = $2 } END { print c, s, t }'
}

# lat_run <run> <round>
lat_run() {
    local run=$1 round=$2 id="$1.$2" master worker0 t0 t1 c0 c1 b0 b1 e0 e1 wrk1 load0 p
    log "latency: run $run (round $round): nginx restarted, empty cache"
    write_conf "$run"
    rm -rf "$L/nginx/cache"
    /usr/sbin/nginx -t -q -p "$NGINX_PREFIX" -c "$NGINX_CONF" -e "$L/nginx/logs/error.log" \
        || die "nginx -t failed for run $run"
    : >"$L/nginx/logs/error.log"
    start_nginx
    worker0=$WORKER
    sleep 0.5
    if [ -n "$POOL_NICE" ]; then
        local tid
        for tid in $(ls "/proc/$WORKER/task"); do
            [ "$tid" = "$WORKER" ] || renice -n "$POOL_NICE" -p "$tid" >/dev/null
        done
    fi
    local idle_hwm threads0
    idle_hwm=$(vm_kb "$WORKER" VmHWM)

    # The corpus is what it says, and the hit URL is in the cache.
    for p in "${PHOTOS[@]}"; do
        case "$(curl -s "http://127.0.0.1:$RPORT/size/$p" | tr -d ' \n')" in
            *'"width":5120,"height":2880,"type":"jpeg"'*) ;;
            *) die "$p is not a 5120x2880 JPEG" ;;
        esac
    done
    [ "$(curl_status "$HIT_URL")" = "200 MISS image/jpeg" ] || die "warming $HIT_URL: $(curl_status "$HIT_URL")"
    [ "$(curl_status "$HIT_URL")" = "200 HIT image/jpeg" ] || die "$HIT_URL is not cached: $(curl_status "$HIT_URL")"

    # Idle: cache hits alone.
    hits "$L/raw/$id-idle.txt" "$LAT_IDLE"
    check_wrk "$L/raw/$id-idle.txt" hit

    # Loaded: misses fill the worker, hits are measured meanwhile.
    misses "$L/raw/$id-warmup.txt" "$LAT_WARMUP" "w$round$run"
    check_wrk "$L/raw/$id-warmup.txt" miss
    load0=$(cut -d' ' -f1 /proc/loadavg)
    c0=$(cpu_ticks "$WORKER") b0=$(busy_ticks) t0=$(date +%s.%N)
    e0=$(cpu_ticks "$WORKER/task/$WORKER")
    misses "$L/raw/$id-misses.txt" "$LAT_DURATION" "m$round$run" &
    wrk1=$!; WRK_PIDS+=("$wrk1")
    if [ "$LAT_PERF" = 1 ] && command -v perf >/dev/null 2>&1; then
        perf record -q -g -p "$WORKER" -o "$L/raw/$id-perf.data" -- sleep "$((LAT_DURATION - 2))" \
            >"$L/raw/$id-perf.log" 2>&1 &
        WRK_PIDS+=("$!")
    fi
    sleep 1
    hits "$L/raw/$id-loaded.txt" "$((LAT_DURATION - 2))"
    wait "$wrk1" || die "wrk #1 failed: $L/raw/$id-misses.txt"
    t1=$(date +%s.%N) c1=$(cpu_ticks "$WORKER") b1=$(busy_ticks)
    e1=$(cpu_ticks "$WORKER/task/$WORKER")
    wait || true   # perf, if any
    WRK_PIDS=()
    if [ -f "$L/raw/$id-perf.data" ]; then
        perf report -i "$L/raw/$id-perf.data" --no-children --percent-limit 1 \
            --sort comm,dso,symbol --stdio -g none 2>/dev/null \
            | grep -v '^#' | grep -v '^$' | head -40 >"$L/raw/$id-perf.txt" || true
    fi
    check_wrk "$L/raw/$id-misses.txt" miss
    check_wrk "$L/raw/$id-loaded.txt" hit

    # Same worker all along (a crash would have respawned it), nothing alarming logged.
    master=$(nginx_master)
    [ "$(pgrep -P "$master" | head -1)" = "$worker0" ] || die "run $run: the worker was replaced (crash?), see $L/nginx/logs/error.log"
    if grep -E '\[(alert|crit|emerg)\]|exited on signal' "$L/nginx/logs/error.log" >&2; then
        die "run $run: see $L/nginx/logs/error.log"
    fi
    local warns
    warns=$(grep -c '\[warn\]' "$L/nginx/logs/error.log" || true)
    [ "$warns" = 0 ] || log "run $run: $warns warn line(s) in the error log, e.g. $(grep -m1 '\[warn\]' "$L/nginx/logs/error.log")"

    local hwm threads rss
    hwm=$(vm_kb "$WORKER" VmHWM)
    rss=$(vm_kb "$WORKER" VmRSS)
    threads=$(vm_kb "$WORKER" Threads)
    {
        printf 'RUN run=%s round=%s idle_hwm_kb=%s hwm_kb=%s rss_end_kb=%s threads=%s warns=%s pool_nice=%s' \
            "$run" "$round" "$idle_hwm" "$hwm" "$rss" "$threads" "$warns" "${POOL_NICE:-0}"
        printf ' worker_cores=%s event_loop_cores=%s machine_busy_cores=%s load1=%s' \
            "$(python3 -c "print(round(($c1 - $c0) / $TICK / ($t1 - $t0), 2))")" \
            "$(python3 -c "print(round(($e1 - $e0) / $TICK / ($t1 - $t0), 2))")" \
            "$(python3 -c "print(round(($b1 - $b0) / $TICK / ($t1 - $t0), 2))")" "$load0"
        for phase in idle misses loaded; do
            sed -n "s/^BENCH //p" "$L/raw/$id-$phase.txt" | tr ' ' '\n' \
                | grep -v '^role=' | sed "s/^/ ${phase}_/" | tr -d '\n'
        done
        echo
    } >>"$RESULTS"
    tail -1 "$RESULTS" | tr ' ' '\n' | grep -E '^(run|hwm_kb|threads|worker_cores|machine_busy_cores|idle_p50_ms|idle_p99_ms|loaded_p50_ms|loaded_p99_ms|misses_rps)=' \
        | tr '\n' ' ' | sed 's/^/   /' >&2
    echo >&2
    stop_nginx
}

for run in "${LAT_RUNS[@]}"; do
    case "$run" in
        inline | if) ;;
        pool | default)
            [ "$HAS_POOL" = 1 ] || die "this build has no image_resize_rs_thread_pool (issue 7 not in yet): BENCH_LAT_RUNS='inline if'" ;;
        *) die "unknown run '$run' in BENCH_LAT_RUNS (inline pool default if)" ;;
    esac
done
for round in $(seq "$LAT_ROUNDS"); do
    for run in "${LAT_RUNS[@]}"; do lat_run "$run" "$round"; done
done

# ---------------------------------------------------------------- report
{
    echo "nproc=$(nproc)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "nginx=$(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //')"
    echo "image_filter=$(dpkg-query -W -f='${Version}' libnginx-mod-http-image-filter)"
    echo "wrk=$(dpkg-query -W -f='${Version}' wrk)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo +changes)"
    echo "has_pool=$HAS_POOL"
    echo "pool_threads=$POOL_THREADS"
    echo "pool_nice=${POOL_NICE:-0}"
    echo "duration=$LAT_DURATION idle=$LAT_IDLE warmup=$LAT_WARMUP conns=$LAT_CONNS interval_ms=$LAT_INTERVAL rounds=$LAT_ROUNDS"
    echo "photos=${PHOTOS[*]}"
    echo "command=$(env | grep -E '^BENCH_' | grep -v '^BENCH_SKIP_BUILD=' | sort | tr '\n' ' ')scripts/bench latency"
} >"$L/machine.txt"
python3 bench/latency_report.py "$L" "$ROOT/BENCHMARKS.md"
log "latency: BENCHMARKS.md updated (raw logs in $L/raw)"
