#!/usr/bin/env bash
# How long isotop takes to size a container layer of 100,000 files, beside `du -s` and
# `du -s --apparent-size` on the same tree, in one run.
#
# Builds examples/layer_usage in release, makes a layer-like tree in a temporary directory
# (LAYER_BENCH_FILES files, default 100,000, of 0 to 8 KiB, in 1,000 directories two levels
# deep, plus 1,000 hard links and 1,000 symlinks), then times, LAYER_BENCH_RUNS times each
# (default 5, after one warm-up, page cache warm): isotop's walk with no cap, `du -s`,
# `du -s --apparent-size`, and isotop's background worker at its default cap (20,000 entries/s,
# idle I/O class), and prints the means and each tool's figures side by side. With
# LAYER_BENCH_COLD=1 (root) the page cache is dropped before every run (slows the whole host
# for a moment). `docker ps -s` is timed only where a Docker daemon answers.
#
# Usage: bench/layer-size.sh   (any user; GNU du)
# A benchmark, never a test.
set -euo pipefail

cd "$(dirname "$0")/.."
files=${LAYER_BENCH_FILES:-100000}
runs=${LAYER_BENCH_RUNS:-5}
cold=${LAYER_BENCH_COLD:-0}
die() { echo "layer-size: $*" >&2; exit 1; }
[[ $cold == 0 || $(id -u) == 0 ]] || die "LAYER_BENCH_COLD=1 needs root"

echo "layer-size: building examples/layer_usage (release)" >&2
cargo build --release --quiet --example layer_usage
target=${CARGO_TARGET_DIR:-target}
[[ $target == /* ]] || target=$PWD/$target
sizer=$target/release/examples/layer_usage
[[ -x $sizer ]] || die "no binary at $sizer"

work=$(mktemp -d /tmp/isotop-layer-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
layer=$work/layer

echo "layer-size: making $files files under $layer" >&2
python3 - "$layer" "$files" <<'PY'
import os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(12)
dirs = [os.path.join(root, f"usr{a:02}", f"lib{b:02}") for a in range(40) for b in range(25)]
for d in dirs:
    os.makedirs(d, exist_ok=True)
made = []
for i in range(count):
    path = os.path.join(dirs[i % len(dirs)], f"f{i}")
    with open(path, "wb") as f:
        f.write(b"x" * rng.randrange(0, 8193))
    made.append(path)
for i in range(min(1000, count)):
    os.link(made[i], made[i] + ".hard")
    os.symlink(os.path.basename(made[i]), made[i] + ".sym")
PY

drop_cache() { [[ $cold == 0 ]] || { sync; echo 3 >/proc/sys/vm/drop_caches; }; }

# mean_of CMD...: runs CMD once to warm up, then $runs times; prints the mean seconds.
mean_of() {
    "$@" >/dev/null 2>&1
    local total=0 start end
    for _ in $(seq "$runs"); do
        drop_cache
        start=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        end=$(date +%s.%N)
        total=$(echo "$total + $end - $start" | bc -l)
    done
    printf "%.3f" "$(echo "$total / $runs" | bc -l)"
}

isotop_line=$("$sizer" "$layer")
isotop_alloc=$(awk '{print $4}' <<<"$isotop_line")
isotop_apparent=$(awk '{print $6}' <<<"$isotop_line")
isotop_files=$(awk '{print $8}' <<<"$isotop_line")
du_alloc=$(du -s -x -B1 "$layer" | cut -f1)
du_apparent=$(du -s -x -b "$layer" | cut -f1)

t_isotop=$(mean_of "$sizer" "$layer")
t_du=$(mean_of du -s -x "$layer")
t_du_apparent=$(mean_of du -s -x --apparent-size "$layer")
t_worker=$(mean_of "$sizer" "$layer" 20000 --worker)

echo
echo "layer: $isotop_files files (hard links once), $runs runs each, page cache $([[ $cold == 0 ]] && echo warm || echo dropped before each run)"
printf '%-44s %10s %16s %16s\n' "command" "mean s" "allocated B" "apparent B"
printf '%-44s %10s %16s %16s\n' "isotop dir_usage (no cap)" "$t_isotop" "$isotop_alloc" "$isotop_apparent"
printf '%-44s %10s %16s %16s\n' "du -s" "$t_du" "$du_alloc" "-"
printf '%-44s %10s %16s %16s\n' "du -s --apparent-size" "$t_du_apparent" "-" "$du_apparent"
printf '%-44s %10s %16s %16s\n' "isotop sizer worker (20,000/s, idle I/O)" "$t_worker" "$isotop_alloc" "$isotop_apparent"
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    printf '%-44s %10s\n' "docker ps -s (all containers)" "$(mean_of docker ps -s)"
else
    echo "docker ps -s: not available here (no Docker daemon answers)"
fi
[[ $isotop_alloc == "$du_alloc" && $isotop_apparent == "$du_apparent" ]] ||
    echo "layer-size: isotop and du disagree on the figures above" >&2
