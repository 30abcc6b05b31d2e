#!/usr/bin/env bash
# Measures what reading network namespaces costs, per namespace, at 100 and 1,000 namespaces:
# the three counter sources isotop could use each tick (/proc/<pid>/net/dev; netlink
# RTM_GETSTATS or RTM_GETLINK from inside each namespace) and the full read (links,
# addresses, routes) with veth peers resolved. The README's figures come from here.
#
# For each count N it makes N named network namespaces (`ip netns add isotop-bench-<pid>-<i>`),
# each with one process in it (`nsenter --net=... sleep`), `lo` up and a veth pair to one bench
# bridge (`ibr<pid>`, no address: nothing is routed, and no packet is sent by the bench;
# bench/netns-bridge.sh makes and removes them), runs
# `examples/net_cost.rs` on them, and removes everything it made: the sleepers (by pid), the
# namespaces (by the names it gave them, which deletes the veths), the bridge. Also on failure
# or Ctrl-C.
#
# Usage: bench/net-bench.sh   (needs root, iproute2, nsenter)
# Tunables: NET_BENCH_COUNTS ("100 1000"), NET_BENCH_ROUNDS (5).
# A benchmark, never a test: it loads the machine for a minute or two.
set -euo pipefail

cd "$(dirname "$0")/.."
read -r -a counts <<<"${NET_BENCH_COUNTS:-100 1000}"
rounds=${NET_BENCH_ROUNDS:-5}
tag=isotop-bench-$$
bridge=ibr$$
die() { echo "net-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
for tool in ip nsenter; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
for n in "${counts[@]}"; do
    [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 5000 ]] || die "NET_BENCH_COUNTS: 1..5000 each"
done

echo "net-bench: building examples/net_cost (release)" >&2
cargo build --release --quiet --example net_cost
net_cost="${CARGO_TARGET_DIR:-target}/release/examples/net_cost"
[[ -x $net_cost ]] || die "no binary at $net_cost"

# The veth's host ends are named ib<pid>-<i> (15 characters at most).
veth=ib$$-
octet=200
# shellcheck source=bench/netns-bridge.sh
source bench/netns-bridge.sh

for n in "${counts[@]}"; do
    echo "net-bench: making $n namespaces" >&2
    populate "$n" sleep infinity
    # The sleepers must be in their namespaces before the read counts them.
    sleep 1
    echo "== $n namespaces"
    "$net_cost" "/run/netns/$tag-" "$rounds"
    cleanup
done
