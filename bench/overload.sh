#!/usr/bin/env bash
# `scripts/bench overload` (issue "Overload"): one nginx worker given far more
# cache misses than it can resize. Runs on its own (scripts/bench execs it):
#
#   scripts/bench overload      → the "Overload" section of BENCHMARKS.md
#                                 (between <!-- overload: begin --> and
#                                 <!-- overload: end -->), raw outputs in
#                                 .state/bench/overload/
#
# The article's setup in ONE nginx with ONE worker (as bench/latency.sh):
#
#   wrk #1 (64 conns, every URL new) ─┐
#                                     ├─▶ front :PORT (proxy_cache) ──▶ resizer :PORT+1
#   wrk #2 (1 conn, one cached URL)  ─┘     (image_resize_rs or image_filter resize 300x200)
#                                                ──▶ origin :PORT+2 (static files:
#                                                    5120x2880 JPEG wallpapers)
#
# Burst runs (nginx restarted for each, empty cache):
#   defaults  image_resize_rs as shipped: no thread_pool line, no
#             image_resize_rs_* pool/jobs/queue directive at all
#   threads2  the same plus `thread_pool default threads=2;`
#   if        image_filter resize (inline)
# Each: the worker's idle VmRSS, then BENCH_OVL_DURATION s of wrk #1 (cache
# misses; its Lua counts the replies by status: 200, 503, 415, other) while
# wrk #2 asks for a cached URL every BENCH_OVL_INTERVAL_MS ms (cache-hit
# latency); VmRSS sampled every BENCH_OVL_SAMPLE_MS ms for the peak; the
# after-burst idle VmRSS BENCH_OVL_SETTLE s after the burst (later while the
# worker still burns CPU, up to BENCH_OVL_SETTLE_MAX s).
#
#   abandon   image_resize_rs with `thread_pool slow threads=1;` and
#             `image_resize_rs_thread_pool slow;` (AVIF output at speed 3 when
#             the module has image_resize_rs_output/_avif_speed, else JPEG),
#             straight at the resizer: time a lone job (median of 3 after a
#             warm-up), then BENCH_OVL_ABANDON_CLIENTS clients each send a new
#             URL and hang up after BENCH_OVL_ABANDON_AFTER s, then at once
#             time a fresh request. Target: fresh ≤ 3 × lone.
#
# Environment:
#   BENCH_OVL_RUNS="defaults threads2 if abandon"  which runs, in this order
#   BENCH_OVL_DURATION=20        seconds of wrk #1 (at least 5)
#   BENCH_OVL_CONNECTIONS=64     wrk #1 connections
#   BENCH_OVL_WRK_THREADS=1      wrk #1 threads
#   BENCH_OVL_INTERVAL_MS=10     wrk #2 pause between cache hits
#   BENCH_OVL_SAMPLE_MS=100      VmRSS sampling period
#   BENCH_OVL_SETTLE=5           seconds after the burst before the idle reading
#   BENCH_OVL_SETTLE_MAX=60      ... at most, while the worker is still busy
#   BENCH_OVL_SIZE=300x200       resize target (bursts)
#   BENCH_OVL_ABANDON_CLIENTS=40 clients that hang up (abandon)
#   BENCH_OVL_ABANDON_AFTER=0.3  seconds before they hang up
#   BENCH_OVL_ABANDON_SIZE=300x200  resize target (abandon)
#   BENCH_OVL_NO_REPORT=1        do not touch BENCHMARKS.md (the section is
#                                still written to .state/bench/overload/section.md)
#   BENCH_PORT=18580             front port; the resizer and origin use the next two
#   BENCH_SKIP_BUILD=1           use the existing objs/ngx_http_image_resize_rs_module.so
#                                (otherwise: PROFILE=release scripts/build)
#   BENCH_MODULE=path            load this .so instead (implies you built it)
#   BENCH_ALLOW_DEV=1            accept a dev-profile .so (numbers not for publishing)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
usage_on_help "$@"
cd "$ROOT"

UPTIME_START=$(uptime)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
read -r -a RUNS <<<"${BENCH_OVL_RUNS:-defaults threads2 if abandon}"
DURATION=${BENCH_OVL_DURATION:-20}
CONNS=${BENCH_OVL_CONNECTIONS:-64}
WRK_THREADS=${BENCH_OVL_WRK_THREADS:-1}
INTERVAL=${BENCH_OVL_INTERVAL_MS:-10}
SAMPLE_MS=${BENCH_OVL_SAMPLE_MS:-100}
SETTLE=${BENCH_OVL_SETTLE:-5}
SETTLE_MAX=${BENCH_OVL_SETTLE_MAX:-60}
SIZE=${BENCH_OVL_SIZE:-300x200}
AB_CLIENTS=${BENCH_OVL_ABANDON_CLIENTS:-40}
AB_AFTER=${BENCH_OVL_ABANDON_AFTER:-0.3}
AB_SIZE=${BENCH_OVL_ABANDON_SIZE:-300x200}
PORT=${BENCH_PORT:-18580}
RPORT=$((PORT + 1)) OPORT=$((PORT + 2))
QUALITY=75
O=$STATE/bench/overload
SO=${BENCH_MODULE:-$ROOT/objs/$MODULE_NAME.so}
IF_SO=/usr/lib/nginx/modules/ngx_http_image_filter_module.so

[ "$DURATION" -ge 5 ] 2>/dev/null || die "BENCH_OVL_DURATION must be an integer ≥ 5"
[ "$CONNS" -ge "$WRK_THREADS" ] 2>/dev/null || die "BENCH_OVL_CONNECTIONS must be ≥ BENCH_OVL_WRK_THREADS"
[ "$SETTLE" -ge 1 ] 2>/dev/null || die "BENCH_OVL_SETTLE must be an integer ≥ 1"
[[ "$SIZE" =~ ^[0-9]+x[0-9]+$ && "$AB_SIZE" =~ ^[0-9]+x[0-9]+$ ]] || die "sizes are WxH"
for run in "${RUNS[@]}"; do
    case "$run" in
        defaults | threads2 | if | abandon) ;;
        *) die "unknown run '$run' in BENCH_OVL_RUNS (defaults threads2 if abandon)" ;;
    esac
done

# ---------------------------------------------------------------- setup
ensure_packages nginx libnginx-mod-http-image-filter wrk plasma-workspace-wallpapers curl python3 procps
if [ -z "${BENCH_SKIP_BUILD:-}" ] && [ -z "${BENCH_MODULE:-}" ]; then
    ensure_rust
    log "building the module (release)"
    PROFILE=release scripts/build
fi
[ -f "$SO" ] || die "$SO missing"
[ -f "$IF_SO" ] || die "$IF_SO missing (libnginx-mod-http-image-filter)"

rm -rf "$O/www" "$O/raw" "$O/nginx" "$O/probe"
mkdir -p "$O/bin" "$O/www" "$O/raw" "$O/nginx/logs" "$O/nginx/tmp" "$O/probe/logs"
# A private copy: other builds in the tree must not swap it mid-run.
cp "$SO" "$O/bin/$MODULE_NAME.so"; SO=$O/bin/$MODULE_NAME.so
if [ "$(stat -c %s "$SO")" -gt 100000000 ] && [ -z "${BENCH_ALLOW_DEV:-}" ]; then
    die "$SO looks like a dev build ($(stat -c %s "$SO") bytes); use PROFILE=release scripts/build (or BENCH_ALLOW_DEV=1)"
fi
RESULTS=$O/results.txt
: >"$RESULTS"

# ---------------------------------------------------------------- nginx helpers
NGINX_PREFIX=$O/nginx
NGINX_CONF=$O/nginx/nginx.conf
PIDFILE=$O/nginx/nginx.pid
ERRLOG=$O/nginx/logs/error.log
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
nginx_master() { [ -s "$PIDFILE" ] && cat "$PIDFILE"; }
WORKER=
stop_nginx() {
    local pid
    pid=$(nginx_master 2>/dev/null) || return 0
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    # A worker still finishing a job outlives a KILLed master: it is ours too.
    [ -n "$WORKER" ] && kill -0 "$WORKER" 2>/dev/null && kill -KILL "$WORKER" 2>/dev/null
    rm -f "$PIDFILE"
    return 0
}
start_nginx() {
    stop_nginx
    /usr/sbin/nginx -p "$NGINX_PREFIX" -c "$NGINX_CONF" -e "$ERRLOG" \
        || die "nginx failed to start, see $ERRLOG"
    local master
    for _ in $(seq 100); do master=$(nginx_master 2>/dev/null) && break; sleep 0.1; done
    [ -n "${master:-}" ] || die "nginx did not write $PIDFILE"
    WORKER=
    for _ in $(seq 100); do WORKER=$(pgrep -P "$master" | head -1) && break; sleep 0.1; done
    [ -n "$WORKER" ] || die "no nginx worker"
}
# vm_kb <pid> <field>: a /proc/<pid>/status value in kB ("-" if gone).
vm_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo -; }
# cpu_ticks <pid>: user+system clock ticks of a process, all its threads (0 if gone).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)
# calc <python expression>
calc() { python3 -c "print($1)"; }

# Everything we start in the background: stopped on any exit, before nginx.
BG_PIDS=()
cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do
        pkill -TERM -P "$p" 2>/dev/null || true
        kill -TERM "$p" 2>/dev/null || true
    done
    stop_nginx
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# probe <main directives> <http directives>: does nginx -t accept them with this module?
probe() {
    printf '%s\n' "load_module $SO;" "pid $O/probe/nginx.pid;" "error_log $O/probe/logs/error.log;" \
        "$1" "events {}" "http { $2 }" >"$O/probe/nginx.conf"
    /usr/sbin/nginx -t -q -p "$O/probe" -c "$O/probe/nginx.conf" -e "$O/probe/logs/error.log" \
        >"$O/probe/out.txt" 2>&1
}
probe "" "" || { cat "$O/probe/out.txt" >&2; die "nginx -t fails with just load_module $SO"; }
HAS_POOL=0
probe "thread_pool slow threads=1;" "image_resize_rs_thread_pool slow;" && HAS_POOL=1
HAS_AVIF=0
probe "" "image_resize_rs_output avif; image_resize_rs_avif_speed 3;" && HAS_AVIF=1
for run in "${RUNS[@]}"; do
    [ "$run" != abandon ] || [ "$HAS_POOL" = 1 ] \
        || die "this module has no image_resize_rs_thread_pool: the abandon run needs it (BENCH_OVL_RUNS)"
done

# ---------------------------------------------------------------- corpus
# Theme/contents/images[_dark]/5120x2880.jpg → Theme[-dark].jpg
while read -r f; do
    theme=$(echo "$f" | sed -n 's|^/usr/share/wallpapers/\([^/]*\)/.*|\1|p')
    case "$f" in */images_dark/*) theme=$theme-dark ;; esac
    cp "$f" "$O/www/$theme.jpg"
done < <(find /usr/share/wallpapers -name '5120x2880.jpg' | sort)
mapfile -t PHOTOS < <(cd "$O/www" && ls)
[ "${#PHOTOS[@]}" -gt 0 ] || die "no 5120x2880 JPEG in /usr/share/wallpapers (plasma-workspace-wallpapers)"
HIT_URL=/img/$SIZE/${PHOTOS[0]}?hit

# ---------------------------------------------------------------- nginx.conf
WC=$((CONNS * 6 + 256))
[ "$WC" -ge 1024 ] || WC=1024
RLIMIT=
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge $((WC * 2)) ]; then
    RLIMIT="worker_rlimit_nofile $((WC * 2));"
fi

# write_conf <run>
write_conf() {
    local main_extra="" http_extra="" engine out_extra=""
    case "$1" in
        defaults | if) ;;
        threads2) main_extra="thread_pool default threads=2;" ;;
        abandon)
            main_extra="thread_pool slow threads=1;"
            http_extra="image_resize_rs_thread_pool slow;"
            [ "$HAS_AVIF" = 1 ] && out_extra="image_resize_rs_output avif;
            image_resize_rs_avif_speed 3;"
            ;;
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
            image_resize_rs_buffer 64m;
            $out_extra"
    fi
    cat >"$NGINX_CONF" <<EOF
# scripts/bench overload, run "$1"
load_module $IF_SO;
load_module $SO;
$USER_LINE
worker_processes 1;
$RLIMIT
pid $PIDFILE;
error_log $ERRLOG warn;
$main_extra
events { worker_connections $WC; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $O/nginx/tmp/body;
    proxy_temp_path $O/nginx/tmp/proxy;
    fastcgi_temp_path $O/nginx/tmp/fastcgi;
    uwsgi_temp_path $O/nginx/tmp/uwsgi;
    scgi_temp_path $O/nginx/tmp/scgi;
    proxy_cache_path $O/nginx/cache levels=1:2 keys_zone=images:10m
                     max_size=1g inactive=1d use_temp_path=off;
    $http_extra

    # front: what clients talk to (the article's caching server)
    server {
        listen 127.0.0.1:$PORT backlog=4096;
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
        listen 127.0.0.1:$RPORT backlog=4096;
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
        listen 127.0.0.1:$OPORT backlog=4096;
        root $O/www;
    }
}
EOF
}

# fresh_nginx <run>: the run's nginx.conf, an empty cache and log, a new worker.
fresh_nginx() {
    write_conf "$1"
    rm -rf "$O/nginx/cache"
    /usr/sbin/nginx -t -q -p "$NGINX_PREFIX" -c "$NGINX_CONF" -e "$ERRLOG" \
        || die "nginx -t failed for run $1 ($NGINX_CONF)"
    cp "$NGINX_CONF" "$O/raw/$1-nginx.conf"
    : >"$ERRLOG"
    start_nginx
    sleep 0.5   # let the fresh worker finish its init
}

# worker_health <worker0> → "replaced=0|1 alerts=N warns=N"
worker_health() {
    local master now replaced=0 alerts warns
    master=$(nginx_master 2>/dev/null || true)
    now=$( [ -n "$master" ] && pgrep -P "$master" | head -1 || true)
    [ "$now" = "$1" ] || replaced=1
    alerts=$(grep -cE '\[(alert|crit|emerg)\]|exited on signal' "$ERRLOG" || true)
    warns=$(grep -c '\[warn\]' "$ERRLOG" || true)
    echo "replaced=$replaced alerts=$alerts warns=$warns"
}

# curl_status <url>: "<http code> <X-Cache-Status> <content type>"
curl_status() {
    curl -s -o /dev/null -D - --max-time 120 "http://127.0.0.1:$PORT$1" \
        | tr -d '\r' | awk 'NR == 1 { c = $2 } tolower($1) == "x-cache-status:" { s = $2 }
                            tolower($1) == "content-type:" { t = $2 } END { print c, s, t }'
}
# bench_line <file>: the BENCH line's fields, without "BENCH role=…", prefixed.
bench_fields() { sed -n 's/^BENCH role=[^ ]* //p' "$1" | tr ' ' '\n' | sed "s/^/$2_/" | tr '\n' ' '; }

# wrk_bg <out> <wrk args...>: start wrk in the background; its pid in BG_LAST.
wrk_bg() {
    local out=$1; shift
    wrk --timeout 60s -s bench/overload.lua "$@" >"$out" 2>&1 &
    BG_LAST=$!; BG_PIDS+=("$BG_LAST")
}
# wrk_wait <pid> <out>
wrk_wait() {
    wait "$1" || { cat "$2" >&2; die "wrk failed: $2"; }
    grep -q '^BENCH ' "$2" || { cat "$2" >&2; die "wrk printed no result: $2"; }
}

# sampler <pid> <out>: "epoch_s VmRSS_kB threads" every SAMPLE_MS ms until
# TERMed or the process is gone. Its pid in BG_LAST.
sampler() {
    python3 - "$1" "$SAMPLE_MS" "$2" <<'PY' &
import signal, sys, time
pid, ms, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open(out, "w") as f:
    while True:
        try:
            rss = thr = None
            for line in open("/proc/%s/status" % pid):
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    thr = int(line.split()[1])
        except OSError:
            break
        f.write("%.3f %s %s\n" % (time.time(), rss, thr))
        f.flush()
        time.sleep(ms / 1000)
PY
    BG_LAST=$!; BG_PIDS+=("$BG_LAST")
}
bg_stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# nap <seconds>: a sleep that INT/TERM interrupt at once (bash runs traps
# only between foreground commands, but during `wait`).
nap() { sleep "$1" & BG_PIDS+=("$!"); wait "$!" || true; unset 'BG_PIDS[-1]'; }

# ---------------------------------------------------------------- burst runs
burst_run() {
    local run=$1 worker0 fresh idle t0 t1 c0 c1 miss_pid samp_pid health
    log "overload: run $run: nginx restarted, empty cache"
    fresh_nginx "$run"
    worker0=$WORKER
    fresh=$(vm_kb "$WORKER" VmRSS)

    # The corpus is what it says, and the hit URL is in the cache.
    for p in "${PHOTOS[@]}"; do
        case "$(curl -s --max-time 60 "http://127.0.0.1:$RPORT/size/$p" | tr -d ' \n')" in
            *'"width":5120,"height":2880,"type":"jpeg"'*) ;;
            *) die "$p is not a 5120x2880 JPEG" ;;
        esac
    done
    [ "$(curl_status "$HIT_URL")" = "200 MISS image/jpeg" ] || die "warming $HIT_URL: $(curl_status "$HIT_URL")"
    [ "$(curl_status "$HIT_URL")" = "200 HIT image/jpeg" ] || die "$HIT_URL is not cached: $(curl_status "$HIT_URL")"
    sleep 1
    idle=$(vm_kb "$WORKER" VmRSS)

    local load0
    load0=$(cut -d' ' -f1 /proc/loadavg)
    sampler "$WORKER" "$O/raw/$run-rss.txt"; samp_pid=$BG_LAST
    t0=$(date +%s.%N) c0=$(cpu_ticks "$WORKER")
    wrk_bg "$O/raw/$run-misses.txt" -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION"s \
        "http://127.0.0.1:$PORT" -- miss "$run" "/img/$SIZE/" "${PHOTOS[@]}"
    miss_pid=$BG_LAST
    sleep 1
    wrk_bg "$O/raw/$run-hits.txt" -t1 -c1 -d"$((DURATION - 2))"s \
        "http://127.0.0.1:$PORT" -- hit "$INTERVAL" "$HIT_URL"
    wrk_wait "$BG_LAST" "$O/raw/$run-hits.txt"
    wrk_wait "$miss_pid" "$O/raw/$run-misses.txt"
    t1=$(date +%s.%N) c1=$(cpu_ticks "$WORKER")
    BG_PIDS=("$samp_pid")

    # After the burst: SETTLE s, longer while the worker still uses > 5% of a
    # core (finishing what the burst left), at most SETTLE_MAX s.
    local waited=0 busy=1 a b
    nap "$((SETTLE - 1))"; waited=$((SETTLE - 1))
    while :; do
        a=$(cpu_ticks "$WORKER"); sleep 1; b=$(cpu_ticks "$WORKER"); waited=$((waited + 1))
        busy=$(calc "round(($b - $a) / $TICK, 3)")
        [ "$(calc "int($busy > 0.05)")" = 1 ] && [ "$waited" -lt "$SETTLE_MAX" ] || break
    done
    local after hwm threads peak peak_at
    after=$(vm_kb "$WORKER" VmRSS)
    hwm=$(vm_kb "$WORKER" VmHWM)
    threads=$(vm_kb "$WORKER" Threads)
    bg_stop "$samp_pid"; BG_PIDS=()
    read -r peak peak_at < <(awk -v t0="$t0" '$2 != "None" && $2 + 0 > m { m = $2 + 0; t = $1 - t0 }
                                               END { printf "%d %.1f\n", m, t }' "$O/raw/$run-rss.txt")
    health=$(worker_health "$worker0")
    {
        printf 'RUN run=%s fresh_kb=%s idle_kb=%s peak_kb=%s peak_at_s=%s hwm_kb=%s after_kb=%s' \
            "$run" "$fresh" "$idle" "$peak" "$peak_at" "$hwm" "$after"
        printf ' settle_s=%s settle_busy_cores=%s threads=%s %s load1=%s worker_cores=%s samples=%s ' \
            "$waited" "$busy" "$threads" "$health" "$load0" \
            "$(calc "round(($c1 - $c0) / $TICK / ($t1 - $t0), 2)")" "$(wc -l <"$O/raw/$run-rss.txt")"
        bench_fields "$O/raw/$run-misses.txt" miss
        bench_fields "$O/raw/$run-hits.txt" hit
        echo
    } >>"$RESULTS"
    tail -1 "$RESULTS" | tr ' ' '\n' | grep -E '^(run|idle_kb|peak_kb|after_kb|settle_s|replaced|alerts|miss_s200|miss_s503|miss_s415|miss_sother|miss_errors|hit_p50_ms|hit_p99_ms)=' \
        | tr '\n' ' ' | sed 's/^/   /' >&2
    echo >&2
    stop_nginx
}

# ---------------------------------------------------------------- abandon
# curl_time <url>: "<code> <seconds> <content type> <bytes>"
curl_time() {
    curl -s -o /dev/null --max-time 300 -w '%{http_code} %{time_total} %{content_type} %{size_download}' "$1"
}
abandon_run() {
    local worker0 base n=${#PHOTOS[@]} i r code t ctype bytes lone=() lone_med fresh health ab
    log "overload: run abandon: one pool thread, $AB_CLIENTS clients hang up after ${AB_AFTER}s"
    fresh_nginx abandon
    worker0=$WORKER
    base="http://127.0.0.1:$RPORT/img/$AB_SIZE"
    r=$(curl_time "$base/${PHOTOS[0]}?abandon=warm")
    echo "warm $r" >"$O/raw/abandon-curl.txt"
    [ "${r%% *}" = 200 ] || die "abandon warm-up: $r (see $ERRLOG)"
    for i in 1 2 3; do
        r=$(curl_time "$base/${PHOTOS[$((i % n))]}?abandon=lone$i")
        echo "lone$i $r" >>"$O/raw/abandon-curl.txt"
        read -r code t ctype bytes <<<"$r"
        [ "$code" = 200 ] || die "abandon lone job $i: $r (see $ERRLOG)"
        lone+=("$t")
    done
    lone_med=$(printf '%s\n' "${lone[@]}" | sort -g | sed -n 2p)
    # The hang-ups: all connect and send, wait, close (no answer read).
    ab=$(python3 - "$RPORT" "$AB_CLIENTS" "$AB_AFTER" "/img/$AB_SIZE/" "${PHOTOS[@]}" <<'PY'
import select, socket, sys, time
port, clients, after, prefix, photos = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5:]
socks = []
for i in range(clients):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("GET %s%s?abandon=gone%d HTTP/1.1\r\nHost: overload\r\n\r\n"
               % (prefix, photos[i % len(photos)], i)).encode())
    socks.append(s)
time.sleep(after)
readable, _, _ = select.select(socks, [], [], 0)
codes = {}
for s in readable:
    try:
        head = s.recv(64).split(b"\r\n", 1)[0].split()
        code = head[1].decode() if len(head) > 1 else "closed"
    except OSError:
        code = "reset"
    codes[code] = codes.get(code, 0) + 1
for s in socks:
    s.close()
print("sent=%d answered_before_hangup=%d answered_codes=%s" % (len(socks), len(readable),
      ",".join("%s:%d" % kv for kv in sorted(codes.items())) or "-"))
PY
)
    r=$(curl_time "$base/${PHOTOS[0]}?abandon=fresh")
    echo "$ab" >>"$O/raw/abandon-curl.txt"
    echo "fresh $r" >>"$O/raw/abandon-curl.txt"
    read -r code fresh ctype bytes <<<"$r"
    [ "$code" = 200 ] || die "abandon fresh request: $r (see $ERRLOG)"
    health=$(worker_health "$worker0")
    printf 'ABANDON lone_s=%s lone_all=%s fresh_s=%s ratio=%s clients=%s after_s=%s %s output=%s content_type=%s bytes=%s size=%s %s\n' \
        "$lone_med" "$(IFS=,; echo "${lone[*]}")" "$fresh" "$(calc "round($fresh / $lone_med, 2)")" \
        "$AB_CLIENTS" "$AB_AFTER" "$ab" "$([ "$HAS_AVIF" = 1 ] && echo avif-speed3 || echo jpeg)" \
        "$ctype" "$bytes" "$AB_SIZE" "$health" >>"$RESULTS"
    tail -1 "$RESULTS" | sed 's/^/   /' >&2
    stop_nginx
}

for run in "${RUNS[@]}"; do
    if [ "$run" = abandon ]; then abandon_run; else burst_run "$run"; fi
done

# ---------------------------------------------------------------- report
{
    echo "uptime_start=$UPTIME_START"
    echo "load_start=$LOAD_START"
    echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "nproc=$(nproc)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "nginx=$(/usr/sbin/nginx -v 2>&1 | sed 's/^nginx version: //')"
    echo "image_filter=$(dpkg-query -W -f='${Version}' libnginx-mod-http-image-filter)"
    echo "wrk=$(dpkg-query -W -f='${Version}' wrk)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo +changes)"
    echo "module_bytes=$(stat -c %s "$SO")"
    echo "has_avif=$HAS_AVIF"
    echo "duration=$DURATION"
    echo "conns=$CONNS"
    echo "wrk_threads=$WRK_THREADS"
    echo "interval_ms=$INTERVAL"
    echo "sample_ms=$SAMPLE_MS"
    echo "settle=$SETTLE"
    echo "size=$SIZE"
    echo "quality=$QUALITY"
    echo "photos=${PHOTOS[*]}"
    echo "command=$(env | grep -E '^BENCH_' | grep -vE '^BENCH_(SKIP_BUILD|MODULE|OVL_NO_REPORT|ALLOW_DEV)=' | sort | tr '\n' ' ')scripts/bench overload"
} >"$O/machine.txt"
if [ -n "${BENCH_OVL_NO_REPORT:-}" ]; then
    python3 bench/overload_report.py "$O" -
    log "overload: section in $O/section.md (BENCHMARKS.md untouched: BENCH_OVL_NO_REPORT); raw outputs in $O/raw"
else
    python3 bench/overload_report.py "$O" "$ROOT/BENCHMARKS.md"
    log "overload: BENCHMARKS.md updated (section also in $O/section.md; raw outputs in $O/raw)"
fi
