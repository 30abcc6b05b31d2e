#!/usr/bin/env bash
# Measures what the network side costs the dashboard's sampler per tick: N containers, each in
# a network namespace of its own, sampled by `examples/sample_loop --costs` (release) — the
# `net` part every tick (each container's namespace's counters and rates), then with
# `--net-map` (as the Network view asks: every namespace's counters each tick, and the `map`
# part, the full read with peers resolved, on its cadence). The README's figures come from
# here.
#
# For each count N it makes N named network namespaces (`ip netns add isotop-snb-<pid>-<i>`),
# each with `lo` up and a veth pair to one bench bridge (`isb<pid>`; bench/netns-bridge.sh,
# shared with bench/net-bench.sh) and a container in it: `unshare --pid --mount --fork
# --kill-child --mount-proc sleep` entered there with `nsenter --net` (an `unknown` container
# to isotop, its own namespace its init's). It removes everything it made: the unshares (by
# pid; their sleeps die with them), the namespaces (by the names it gave them, which deletes
# the veths), the bridge. Also on failure or Ctrl-C.
#
# Usage: bench/sample-net-bench.sh   (needs root, iproute2, nsenter, unshare)
# Tunables: SAMPLE_NET_COUNTS ("30 300"), SAMPLE_NET_TICKS (20).
# A benchmark, never a test: it loads the machine for a minute or two.
set -euo pipefail

cd "$(dirname "$0")/.."
read -r -a counts <<<"${SAMPLE_NET_COUNTS:-30 300}"
ticks=${SAMPLE_NET_TICKS:-20}
tag=isotop-snb-$$
bridge=isb$$
die() { echo "sample-net-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
for tool in ip nsenter unshare; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
for n in "${counts[@]}"; do
    [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 2000 ]] || die "SAMPLE_NET_COUNTS: 1..2000 each"
done
[[ $ticks =~ ^[0-9]+$ && $ticks -ge 2 ]] || die "SAMPLE_NET_TICKS: 2 or more"

echo "sample-net-bench: building examples/sample_loop (release)" >&2
cargo build --release --quiet --example sample_loop
sample_loop="${CARGO_TARGET_DIR:-target}/release/examples/sample_loop"
[[ -x $sample_loop ]] || die "no binary at $sample_loop"

veth=sb$$-
octet=201
# shellcheck source=bench/netns-bridge.sh
source bench/netns-bridge.sh

# The median of the numbers on stdin ("-" lines left out).
median() {
    grep -v '^-$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

# Runs the sampler for $ticks ticks with the given flags and prints the median cost of each
# network part, leaving out the first tick (the grouping's first run).
measure() {
    local out
    out=$("$sample_loop" 1 "$ticks" --costs "$@" 2>&1 >/dev/null | tail -n +2)
    echo "$out" | tail -n 1
    for part in total net map; do
        printf '  %-5s median %s ms\n' "$part" \
            "$(echo "$out" | sed -n "s/.* $part \([0-9.-]*\).*/\1/p" | median)"
    done
}

for n in "${counts[@]}"; do
    echo "sample-net-bench: making $n containers in namespaces of their own" >&2
    populate "$n" unshare --pid --mount --fork --kill-child --mount-proc sleep infinity
    # The containers must be in their namespaces before the sampler groups them.
    sleep 2
    echo "== $n containers, each in a network namespace of its own"
    measure
    echo "== $n containers, the network map asked for"
    measure --net-map
    cleanup
done
