# Shared helpers for scripts/*. Source it; do not run it.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# All state (built nginx trees, S3 data, logs, caches) lives under one folder.
STATE=${IRS_STATE:-$ROOT/.state}
MODULE_NAME=ngx_http_image_resize_rs_module
# nginx 1.28 from the nginx-src crate is configured with these extra modules so
# the suite sees the same neighbouring filters (sub, addition, gunzip) as Debian's.
export NGX_CONFIGURE_ARGS=${NGX_CONFIGURE_ARGS:---with-debug --with-http_sub_module --with-http_addition_module --with-http_gunzip_module --with-http_slice_module}

log() { printf '\033[1m==> %s %s\033[0m\n' "$(date +%T)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# usage_on_help "$@": on -h or --help, print the calling script's header
# comment (its usage and inputs) and exit.
usage_on_help() {
    case "${1:-}" in
        -h | --help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    esac
}

# md_section FILE NAME [AFTER] < TEXT: replace the section between
# "<!-- NAME: begin -->" and "<!-- NAME: end -->" in FILE with TEXT (or add it
# after section AFTER, or at the end). The one marker syntax of BENCHMARKS.md.
md_section() {
    python3 "$ROOT/bench/mdsection.py" "$1" "$2" ${3:+--after "$3"}
}

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

# ensure_packages pkg...: apt-get install only what is missing.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What building the module needs: bindgen (libclang), nginx headers, libjpeg-turbo's build.
BUILD_PACKAGES=(nginx nginx-dev libclang-dev clang pkg-config cmake nasm make gcc libaom-dev libheif-dev
                libpcre2-dev libssl-dev zlib1g-dev perl curl ca-certificates)
# What scripts/package adds (dh-sequence-nginx comes with nginx-dev).
PACKAGE_PACKAGES=(dpkg-dev debhelper lintian)

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        [ -x "$HOME/.cargo/bin/cargo" ] || {
            log "installing rust (rustup)"
            curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
        }
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
}

# system_nginx_tree: a configured copy of Debian's /usr/share/nginx/src, made
# with the same conf_flags Debian's nginx was built with, so the module's
# structure layout and module signature match the nginx that loads it.
system_nginx_tree() {
    local version dir
    version=$(/usr/sbin/nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')
    dir="$STATE/nginx-system-$version"
    if [ ! -f "$dir/objs/ngx_auto_config.h" ]; then
        log "configuring a copy of /usr/share/nginx/src (nginx $version)"
        rm -rf "$dir"; mkdir -p "$STATE"
        cp -a /usr/share/nginx/src "$dir"
        # shellcheck disable=SC1091
        ( cd "$dir" && . ./conf_flags && ./configure "${NGX_CONF_FLAGS[@]}" >configure.log 2>&1 ) \
            || die "configure failed, see $dir/configure.log"
    fi
    echo "$dir"
}

# The nginx 1.28 binary built by nginx-sys' vendored feature.
vendored_nginx_binary() {
    local profile=${1:-release}
    ls -t "$ROOT"/target/"$profile"/build/nginx-sys-*/out/objs/nginx 2>/dev/null | head -1
}

# install_s3s_fs: the S3 server the suite and scripts/run use (verifies
# SigV4). Built once into .state/tools with cargo; prints its path.
install_s3s_fs() {
    local bin=$STATE/tools/bin/s3s-fs
    if [ ! -x "$bin" ]; then
        log "installing s3s-fs 0.14.1 (cargo install, once)"
        cargo install s3s-fs --version 0.14.1 --features binary --locked \
            --root "$STATE/tools" >&2
    fi
    echo "$bin"
}

# install_s3_local: scripts/run's S3 server, s3s-fs's file-system bucket
# with the credentials read from the environment (s3s-fs itself takes the
# secret on its command line, visible to every user in `ps`). Built once
# into .state/tools; prints its path.
install_s3_local() {
    local bin=$STATE/tools/bin/s3-local
    if [ ! -x "$bin" ] || [ "$ROOT/tools/s3-local/src/main.rs" -nt "$bin" ]; then
        log "building s3-local (s3s-fs 0.14.1 library, cargo install, once)"
        cargo install --path "$ROOT/tools/s3-local" --locked --root "$STATE/tools" >&2
    fi
    echo "$bin"
}

# install_moto: moto's S3 server (checks session tokens once IAM auth is on),
# in a virtualenv under .state/tools/moto; prints its bin directory, or
# nothing when PyPI or venv are unavailable (the token test then skips).
install_moto() {
    local venv=$STATE/tools/moto
    if [ ! -x "$venv/bin/moto_server" ]; then
        log "installing moto[server] 5.2.5 (pip, once)"
        { python3 -m venv "$venv" && "$venv/bin/pip" install -q 'moto[server]==5.2.5'; } >&2 \
            || { log "warning: moto not installed; the session-token test will skip"; return 0; }
    fi
    echo "$venv/bin"
}

# wait_port PORT: wait until something listens on 127.0.0.1:PORT.
wait_port() {
    local _
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    die "nothing listens on port $1"
}

# smoke_resize NGINX DIR PORT IMAGE 'MAIN-CONF' 'LOCATION-CONF' [PREFIX]:
# start NGINX (prefix PREFIX, default DIR) with a configuration made of
# MAIN-CONF (load_module or include lines) and a server on 127.0.0.1:PORT
# holding LOCATION-CONF, whose /thumb/300x200/<name> must resize IMAGE
# (copied to DIR/html/<name>); check that a JPEG or PNG within 300x200 comes
# back, stop nginx.
smoke_resize() {
    local nginx=$1 dir=$2 port=$3 image=$4 main=$5 loc=$6 prefix=${7:-$2/} name out info pid
    ensure_packages file curl
    rm -rf "$dir"; mkdir -p "$dir/logs" "$dir/html"
    name=$(basename "$image"); cp "$image" "$dir/html/$name"
    cat >"$dir/nginx.conf" <<CONF
$main
daemon off;
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$port;
        root $dir/html;
$loc
    }
}
CONF
    "$nginx" -p "$prefix" -c "$dir/nginx.conf" -t -q || die "nginx -t failed for $dir/nginx.conf"
    "$nginx" -p "$prefix" -c "$dir/nginx.conf" & pid=$!
    wait_port "$port"
    out=$dir/out
    curl -sf -o "$out" "http://127.0.0.1:$port/thumb/300x200/$name" \
        || { kill "$pid"; cat "$dir/logs/error.log" >&2; die "smoke test: request failed"; }
    kill "$pid"; wait "$pid" 2>/dev/null || true
    info=$(file -b "$out")
    echo "$info" | grep -Eq '^(JPEG|PNG) image' || die "smoke test: not an image: $info"
    local w h
    read -r w h < <(echo "$info" | grep -Eo '[0-9]+ ?x ?[0-9]+' | tail -1 | tr -d ' ' | tr x ' ')
    [ -n "$w" ] && [ "$w" -le 300 ] && [ "$h" -le 200 ] \
        || die "smoke test: $name came back ${w}x$h: $info"
    log "smoke test: $(basename "$image") ($(file -bL "$image" | grep -Eo "[0-9]+ ?x ?[0-9]+" | tail -1), $(stat -Lc %s "$image") bytes) → ${w}x$h, $(stat -c %s "$out") bytes"
}

# nginx_src_dir: nginx 1.28's source as shipped in the nginx-src crate
# (the version Cargo.lock pins), fetched by cargo if needed.
nginx_src_dir() {
    local version dir
    version=$(awk '/^name = "nginx-src"$/ {getline; gsub(/"/, "", $3); print $3; exit}' "$ROOT/Cargo.lock")
    [ -n "$version" ] || die "nginx-src is not in Cargo.lock"
    dir=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"nginx-src-$version"/nginx 2>/dev/null | head -1)
    if [ -z "$dir" ]; then
        cargo fetch --manifest-path "$ROOT/Cargo.toml" >&2
        dir=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"nginx-src-$version"/nginx | head -1)
    fi
    echo "$dir"
}

# nginx_config_build static|dynamic [PROFILE]: nginx 1.28 (nginx-src) built the
# nginx way, ./configure --add-module (or --add-dynamic-module) =nginx/, with
# the flags the nginx-src crate uses plus NGX_CONFIGURE_ARGS (and the cargo
# features in IRS_FEATURES, as scripts/build). The Rust code is
# built by nginx/config's cargo rule into target/ (shared with scripts/build).
# Prints the build's objs directory (objs/nginx; objs/*.so when dynamic).
nginx_config_build() {
    local mode=$1 profile=${2:-release} dir src add stamp
    case $mode in
        static) add=--add-module ;;
        dynamic) add=--add-dynamic-module ;;
        *) die "nginx_config_build static|dynamic" ;;
    esac
    src=$(nginx_src_dir)
    dir=$STATE/nginx-config-$mode
    # Configure again when what configure reads changes.
    stamp="$profile ${IRS_FEATURES:-} $NGX_CONFIGURE_ARGS $(cat "$ROOT"/nginx/config "$ROOT"/nginx/config.make \
        "$ROOT"/nginx/auto/rust | md5sum)"
    if [ ! -f "$dir/objs/Makefile" ] || [ "$(cat "$dir/.irs-stamp" 2>/dev/null)" != "$stamp" ]; then
        log "configuring nginx $(basename "$(dirname "$src")" | sed 's/nginx-src-//') $add=nginx/ (in $dir)"
        rm -rf "$dir"; mkdir -p "$STATE"; cp -a "$src" "$dir"
        # shellcheck disable=SC2086
        ( cd "$dir" && NGX_CARGO_PROFILE=$profile NGX_RUST_TARGET_DIR=$ROOT/target \
            NGX_RUST_FEATURES=${IRS_FEATURES:-} \
            "$( [ -x configure ] && echo ./configure || echo auto/configure )" --with-compat --with-http_realip_module --with-http_ssl_module \
                --with-http_v2_module --with-stream --with-stream_realip_module \
                --with-stream_ssl_module --with-threads $NGX_CONFIGURE_ARGS \
                "$add=$ROOT/nginx" >configure.log 2>&1 ) \
            || die "configure failed, see $dir/configure.log"
        echo "$stamp" >"$dir/.irs-stamp"
    fi
    log "make (nginx $mode build through nginx/config, cargo profile $profile)"
    make -C "$dir" -j"$(nproc)" >"$dir/make.log" 2>&1 \
        || { tail -30 "$dir/make.log" >&2; die "make failed, see $dir/make.log"; }
    echo "$dir/objs"
}

# split_debug FILE.so: move FILE.so's debug info to FILE.so.debug (kept next
# to it, found by gdb through .gnu_debuglink) and strip FILE.so.
split_debug() {
    objcopy --only-keep-debug --compress-debug-sections "$1" "$1.debug"
    objcopy --strip-debug --strip-unneeded --remove-section=.gnu_debuglink \
        --add-gnu-debuglink="$1.debug" "$1"
}
