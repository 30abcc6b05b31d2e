#!/usr/bin/env bash
# Start-to-exit latency of a container running /bin/true: `isotop run --rm` beside `runc run`
# and `crun run`, on the same root file system, in one run.
#
# Builds isotop in release, makes a busybox root file system in a temporary directory (from
# the busybox-static package's /bin/busybox: no download), writes one OCI bundle for runc and
# crun (`runc spec`, command /bin/true, no terminal) and times each tool LAUNCH_BENCH_RUNS times
# (default 30, after 3 warm-ups) with hyperfine when installed (else a loop over `date +%s.%N`).
# All three get new pid, mount, uts, ipc and net namespaces and a cgroup of their own; isotop
# also stacks an overlay (the rootfs as the lower layer, a fresh writable layer) and removes it
# all again (--rm), so it does strictly more work per run than runc on a plain directory.
# Prints the three means side by side; the target is isotop faster than runc.
#
# Usage: bench/launch-bench.sh   (needs root, busybox-static, runc; crun and hyperfine optional)
# A benchmark, never a test.
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${LAUNCH_BENCH_RUNS:-30}
die() { echo "launch-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
command -v runc >/dev/null || die "runc not found (apt-get install runc)"
busybox=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
file -L "$busybox" 2>/dev/null | grep -q "statically linked" ||
    [[ ! -x /usr/bin/file ]] || die "$busybox is not static (apt-get install busybox-static)"

echo "launch-bench: building isotop (release)" >&2
cargo build --release --quiet --bin isotop
target=${CARGO_TARGET_DIR:-target}
[[ $target == /* ]] || target=$PWD/$target
isotop=$target/release/isotop
[[ -x $isotop ]] || die "no binary at $isotop"

work=$(mktemp -d /tmp/isotop-launch-bench.XXXXXX)
cleanup() {
    for tool in runc crun; do
        command -v "$tool" >/dev/null && "$tool" delete -f "lb-$tool-$$" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

rootfs=$work/bundle/rootfs
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc}
cp "$busybox" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/true"
ln -s busybox "$rootfs/bin/sh"
(cd "$work/bundle" && runc spec)
jq '.process.args = ["/bin/true"] | .process.terminal = false' \
    "$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"

commands=(
    "$isotop run --rm --image $rootfs -- /bin/true"
    "runc run --bundle $work/bundle lb-runc-$$"
)
names=("isotop run --rm" "runc run")
if command -v crun >/dev/null; then
    if grep -q " /sys/fs/cgroup/unified .* - cgroup2 " /proc/self/mountinfo; then
        # crun refuses hybrid hosts ("cgroups in hybrid mode not supported"): it runs in a
        # private mount namespace without the empty v2 mount, which adds an unshare and a sh.
        commands+=("unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec crun --cgroup-manager=cgroupfs run --bundle $work/bundle lb-crun-$$'")
        names+=("crun run (*)")
        note="(*) hybrid host: crun runs under 'unshare -m sh -c umount /sys/fs/cgroup/unified'"
    else
        commands+=("crun run --bundle $work/bundle lb-crun-$$")
        names+=("crun run")
    fi
fi

echo "launch-bench: $runs runs each; rootfs $rootfs (busybox $(du -sh "$rootfs" | cut -f1))" >&2
declare -A mean
if command -v hyperfine >/dev/null; then
    args=(--warmup 3 --runs "$runs" --export-json "$work/times.json" -N)
    hyperfine "${args[@]}" "${commands[@]}" >&2
    for i in "${!commands[@]}"; do
        mean[$i]=$(jq -r ".results[$i].mean * 1000" "$work/times.json")
        sd=$(jq -r ".results[$i].stddev * 1000" "$work/times.json")
        mean[$i]=$(printf '%.1f ms ± %.1f' "${mean[$i]}" "$sd")
    done
else
    for i in "${!commands[@]}"; do
        read -ra cmd <<<"${commands[$i]}"
        for _ in 1 2 3; do "${cmd[@]}" >/dev/null; done
        start=$(date +%s.%N)
        for ((r = 0; r < runs; r++)); do "${cmd[@]}" >/dev/null; done
        end=$(date +%s.%N)
        mean[$i]=$(echo "($end - $start) * 1000 / $runs" | bc -l | xargs printf '%.1f ms')
    done
fi

echo
printf '%-22s %s\n' "tool" "start-to-exit (mean of $runs)"
for i in "${!commands[@]}"; do
    printf '%-22s %s\n' "${names[$i]}" "${mean[$i]}"
done
[[ -z ${note:-} ]] || echo "$note"
