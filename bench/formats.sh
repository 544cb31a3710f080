#!/usr/bin/env bash
# Output formats: JPEG q80 vs WebP vs AVIF at the module's defaults, on the
# real photographs (plasma-workspace-wallpapers, the 2560x1600 JPEGs), fitted
# into 300x200 and 1200x800.
#
#   scripts/bench formats         → the "Output formats" section of BENCHMARKS.md
#
# Per photo and size: the pipeline's own resize written losslessly (PNG) is
# the reference; each format encodes exactly those pixels (`irs-tool encode`:
# bytes, encode time = one warm-up then the median of 5 in-process runs
# pinned to one core, as the thread's CPU time (CLOCK_THREAD_CPUTIME_ID:
# other jobs on the core do not inflate it), the process's thread count
# after encoding), is decoded back (AVIF by avifdec)
# and compared with the reference (SSIM on luma, `irs-tool ssim`).
#
# Environment:
#   BENCH_SKIP_BUILD=1   use the existing target/release/irs-tool
#   BENCH_LIMIT=N        only the first N photos
#   FORMATS_WEBP_Q, FORMATS_AVIF_Q, FORMATS_AVIF_SPEED, FORMATS_JPEG_Q
#                        override the defaults (for sweeps; the published
#                        section always uses the defaults)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
usage_on_help "$@"
cd "$ROOT"

B=$STATE/bench-formats
IRS=$ROOT/target/release/irs-tool
JPEG_Q=${FORMATS_JPEG_Q:-80}
WEBP_Q=${FORMATS_WEBP_Q:-80}       # image_resize_rs_webp_quality default
AVIF_Q=${FORMATS_AVIF_Q:-}
AVIF_SPEED=${FORMATS_AVIF_SPEED:-}
SIZES=("300 200" "1200 800")

ensure_packages plasma-workspace-wallpapers libavif-bin python3
ensure_rust
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
    log "building irs-tool (release)"
    cargo build --release --no-default-features --features gen --bin irs-tool
fi
[ -x "$IRS" ] || die "$IRS missing"
# Defaults straight from the code, so the report cannot drift from it.
defaults=$(grep -E 'pub const DEFAULT_AVIF_(QUALITY|SPEED)' src/value.rs)
AVIF_Q=${AVIF_Q:-$(echo "$defaults" | sed -n 's/.*QUALITY: u32 = \([0-9]*\);/\1/p')}
AVIF_SPEED=${AVIF_SPEED:-$(echo "$defaults" | sed -n 's/.*SPEED: u32 = \([0-9]*\);/\1/p')}
[ -n "$AVIF_Q" ] && [ -n "$AVIF_SPEED" ] || die "cannot read the AVIF defaults"

rm -rf "$B"
mkdir -p "$B/bin" "$B/work"
cp "$IRS" "$B/bin/irs-tool"; IRS=$B/bin/irs-tool
RESULTS=$B/results.tsv
: >"$RESULTS"

mapfile -t PHOTOS < <(find /usr/share/wallpapers -name '2560x1600.jpg' | sort)
[ "${#PHOTOS[@]}" -gt 0 ] || die "no 2560x1600 photos in /usr/share/wallpapers"
if [ -n "${BENCH_LIMIT:-}" ]; then PHOTOS=("${PHOTOS[@]:0:$BENCH_LIMIT}"); fi
log "${#PHOTOS[@]} photos; JPEG q$JPEG_Q, WebP q$WEBP_Q, AVIF q$AVIF_Q speed $AVIF_SPEED"

n=0
for photo in "${PHOTOS[@]}"; do
    n=$((n + 1))
    name=$(echo "$photo" | sed -n 's|^/usr/share/wallpapers/\([^/]*\)/contents/\([^/]*\)/.*|\1-\2|p')
    for size in "${SIZES[@]}"; do
        set -- $size
        w=$1 h=$2
        ref=$B/work/ref.png
        "$IRS" resize "$photo" "$w" "$h" "$ref"
        # avif: the default encoder (libaom); avif-rav1e: rav1e, the one
        # before, at the same settings, so the choice stays measured.
        for spec in "jpeg $JPEG_Q 0" "webp $WEBP_Q 0" "avif $AVIF_Q $AVIF_SPEED" "avif-rav1e $AVIF_Q $AVIF_SPEED"; do
            set -- $spec
            fmt=$1 q=$2 speed=$3
            enc=aom codec=$fmt
            [ "$fmt" = avif-rav1e ] && enc=rav1e codec=avif
            out=$B/work/out.$codec
            read -r bytes wall threads ms < <(IRS_AVIF_ENCODER=$enc taskset -c 0 "$IRS" encode "$ref" "$codec" "$q" "$speed" "$out")
            cmp=$out
            if [ "$codec" = avif ]; then
                avifdec "$out" "$B/work/avif.png" >/dev/null
                cmp=$B/work/avif.png
            fi
            ssim=$("$IRS" ssim "$ref" "$cmp")
            printf '%s\t%sx%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$w" "$h" "$fmt" "$bytes" "$ssim" "$ms" "$threads" >>"$RESULTS"
        done
    done
    printf '\r%d/%d' "$n" "${#PHOTOS[@]}" >&2
done
echo >&2

python3 - "$RESULTS" "$ROOT/BENCHMARKS.md" "$JPEG_Q" "$WEBP_Q" "$AVIF_Q" "$AVIF_SPEED" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" <<'EOF'
import os, sys, statistics as st
sys.path.insert(0, "bench")  # run from $ROOT
from mdsection import markers, replace_section
res, md, jq, wq, aq, sp, ncpu, cpu = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(res) if l.strip()]
by = {}
for name, size, fmt, b, s, ms, th in rows:
    by.setdefault(size, {}).setdefault(fmt, []).append((name, int(b), float(s), float(ms), int(th)))
out = []
out.append(markers("formats")[0])
out.append("## Output formats: JPEG vs WebP vs AVIF")
out.append("")
out.append(f"{len(by[next(iter(by))]['jpeg'])} photos (plasma-workspace-wallpapers, 2560x1600 JPEG), "
           f"fitted by the pipeline's own resize; each format encodes the same pixels. "
           f"JPEG q{jq} (libjpeg-turbo 4:2:0), WebP q{wq} (libwebp, lossy), AVIF q{aq} speed {sp} "
           f"(libaom all-intra, the default, and `avif-rav1e`: rav1e at the same settings; 4:2:0 8-bit, one thread). SSIM on luma against the lossless resize. "
           f"Encode time: the encoding thread's CPU time (CLOCK_THREAD_CPUTIME_ID), one warm-up then the median of 5 in-process runs pinned to one core ({cpu}, {ncpu} cores).")
out.append("")
out.append("| size | format | bytes (mean) | bytes vs JPEG | SSIM (mean) | SSIM − JPEG | encode CPU ms (median) | encode CPU ms (p95) | threads |")
out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
verdict = []
for size in sorted(by, key=lambda s: int(s.split("x")[0])):
    j = by[size]["jpeg"]
    jb = sum(r[1] for r in j)
    js = st.mean(r[2] for r in j)
    for fmt in ("jpeg", "webp", "avif", "avif-rav1e"):
        r = by[size][fmt]
        b = sum(x[1] for x in r)
        s = st.mean(x[2] for x in r)
        ms = sorted(x[3] for x in r)
        p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
        th = max(x[4] for x in r)
        out.append(f"| {size} | {fmt} | {b / len(r):,.0f} | {100 * b / jb:.0f}% | {s:.4f} | {s - js:+.4f} | "
                   f"{st.median(ms):.1f} | {p95:.1f} | {th} |")
        if fmt != "jpeg":
            target = 75 if fmt == "webp" else 60
            ok = 100 * b / jb <= target and s >= js - 0.005
            verdict.append(f"- {size} {fmt}: {100 * b / jb:.0f}% of JPEG's bytes (target ≤ {target}%), "
                           f"SSIM {s - js:+.4f} vs JPEG (target ≥ −0.005): **{'met' if ok else 'NOT met'}**")
    if size.startswith("300x"):
        a = sorted(x[3] for x in by[size]["avif"])
        ok = st.median(a) <= 15
        verdict.append(f"- AVIF {size} encode (default encoder): median {st.median(a):.1f} ms on one core "
                       f"(target ≤ 15 ms, issue 16): **{'met' if ok else 'NOT met'}**")
out.append("")
out.append("Targets (issues 8 and 16):")
out.append("")
out += verdict
out.append("")
out.append("Reproduce: `scripts/bench formats` (raw rows: `.state/bench-formats/results.tsv`).")
out.append(markers("formats")[1])
section = "\n".join(out) + "\n"
replace_section(md, "formats", section)
print(section)
EOF
