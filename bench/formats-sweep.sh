#!/usr/bin/env bash
# Encoder settings side by side, for choosing defaults (the numbers behind
# "How the AVIF and WebP settings were chosen" in BENCHMARKS.md). Not part
# of `scripts/bench`; needs target/release/irs-tool (built with
# `cargo build --release --no-default-features --features gen --bin irs-tool`)
# and avifdec (libavif-bin).
#
#   bench/formats-sweep.sh N SPEC...
#
# N: the first N 2560x1600 wallpapers (sorted by path). SPEC:
# "label|ENV=value ...|format quality speed", e.g.
#   bench/formats-sweep.sh 10 "avif q80 s9||avif 80 9" \
#       "avif 8x8 only|IRS_AVIF_PARTITIONS=8,8|avif 80 9" \
#       "webp m4|IRS_WEBP_METHOD=4|webp 80 0"
# irs-tool reads IRS_AVIF_TUNE=psy|psnr, IRS_AVIF_PARTITIONS=min,max and
# IRS_WEBP_METHOD=0..6. Per size: total bytes against JPEG q80's, mean SSIM
# (luma) minus JPEG's, median encode CPU ms on core 0.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2
    exit 2
fi
IRS=$ROOT/target/release/irs-tool
[ -x "$IRS" ] || { echo "build irs-tool first (see the header)" >&2; exit 1; }
N=$1; shift; SPECS=("$@")
W=$ROOT/.state/formats-sweep; mkdir -p "$W"
mapfile -t PHOTOS < <(find /usr/share/wallpapers -name '2560x1600.jpg' | sort | head -n "$N")
for p in "${PHOTOS[@]}"; do
    n=$(echo "$p" | md5sum | cut -c1-8)
    for s in "300 200" "1200 800"; do
        set -- $s
        r=$W/$n-$1.png
        [ -f "$r" ] || "$IRS" resize "$p" "$1" "$2" "$r"
        if [ ! -f "$W/$n-$1.jpeg" ]; then
            read -r b _ _ ms < <(taskset -c 0 "$IRS" encode "$r" jpeg 80 0 "$W/o.jpeg")
            echo "$b $("$IRS" ssim "$r" "$W/o.jpeg") $ms" >"$W/$n-$1.jpeg"
        fi
    done
done
for spec in "${SPECS[@]}"; do
    IFS='|' read -r label envs enc <<<"$spec"
    for sz in 300 1200; do
        rows=()
        for p in "${PHOTOS[@]}"; do
            n=$(echo "$p" | md5sum | cut -c1-8) r=$W/$n-$sz.png
            set -- $enc
            read -r b _ _ ms < <(env $envs taskset -c 0 "$IRS" encode "$r" "$1" "$2" "$3" "$W/o.$1")
            c=$W/o.$1
            if [ "$1" = avif ]; then avifdec "$W/o.avif" "$W/d.png" >/dev/null; c=$W/d.png; fi
            rows+=("$b $("$IRS" ssim "$r" "$c") $ms $(cat "$W/$n-$sz.jpeg")")
        done
        printf '%s\n' "${rows[@]}" | python3 -c '
import sys, statistics as st
label, sz = sys.argv[1:]
r = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
b = sum(x[0] for x in r) / sum(x[3] for x in r)
d = st.mean(x[1] - x[4] for x in r)
print(f"{label:32s} {sz:>5s}  bytes {100 * b:5.1f}%  SSIM-JPEG {d:+.4f}  ms(median) {st.median(x[2] for x in r):.1f}")
' "$label" "$sz"
    done
done
