# Shared helpers for scripts/*. Source it; do not run it.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# All state (built nginx trees, S3 data, logs, caches) lives under one folder.
STATE=${IRS_STATE:-$ROOT/.state}
MODULE_NAME=ngx_http_image_resize_rs_module
# nginx 1.28 from the nginx-src crate is configured with these extra modules so
# the suite sees the same neighbouring filters (sub, addition, gunzip) as Debian's.
export NGX_CONFIGURE_ARGS=${NGX_CONFIGURE_ARGS:---with-debug --with-http_sub_module --with-http_addition_module --with-http_gunzip_module --with-http_slice_module}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

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
BUILD_PACKAGES=(nginx nginx-dev libclang-dev clang pkg-config cmake nasm make gcc
                libpcre2-dev libssl-dev zlib1g-dev perl curl ca-certificates)

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
