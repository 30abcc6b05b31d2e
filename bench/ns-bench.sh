#!/usr/bin/env bash
# Times `isotop ns --json` against `lsns -J` on a large population of namespaces.
#
# Builds isotop in release, starts bench/ns-population.sh (about 11,600 processes in 2,800 new
# namespaces; see that script), waits until it is ready, checks both tools see it, times each
# command NS_BENCH_RUNS times (default 5, after one warm-up) with hyperfine when installed (else
# a loop over `date +%s.%N`), prints the two means side by side with the speed-up, and tears the
# population down (also on failure or Ctrl-C). The target is isotop >= 5x faster than lsns.
#
# Usage: bench/ns-bench.sh            (needs root, lsns, jq, busybox; hyperfine optional)
# A benchmark, never a test: it loads the machine for a minute or two.
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${NS_BENCH_RUNS:-5}
state=/tmp/isotop-ns-bench.$$.state
die() { echo "ns-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
for tool in lsns jq unshare busybox; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

echo "ns-bench: building isotop (release)" >&2
cargo build --release --quiet --bin isotop
isotop="${CARGO_TARGET_DIR:-target}/release/isotop"
[[ -x $isotop ]] || die "no binary at $isotop"

bench/ns-population.sh "$state" &
holder=$!
stop_population() {
    trap - EXIT INT TERM
    if kill -0 "$holder" 2>/dev/null; then
        kill -TERM "$holder" 2>/dev/null || true
    fi
    wait "$holder" 2>/dev/null || true
}
trap stop_population EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deadline=$((SECONDS + 400))
until grep -q '^ready=' "$state" 2>/dev/null; do
    kill -0 "$holder" 2>/dev/null || die "population script exited early"
    ((SECONDS < deadline)) || die "population not ready after 400 s"
    sleep 1
done

# Both tools must see the population before their times mean anything.
lsns_count=$(lsns -J | jq '[.namespaces[] | recurse(.children[]?)] | length')
isotop_count=$("$isotop" ns --json | jq '[.namespaces[] | select(.nprocs > 0)] | length')
processes=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
echo "ns-bench: $processes processes; namespaces with processes: lsns $lsns_count, isotop $isotop_count" >&2

lsns_cmd="lsns -J"
isotop_cmd="$isotop ns --json"
if command -v hyperfine >/dev/null; then
    json=/tmp/isotop-ns-bench.$$.json
    hyperfine --shell=none --warmup 1 --runs "$runs" --export-json "$json" \
        "$lsns_cmd" "$isotop_cmd" >&2
    lsns_mean=$(jq '.results[0].mean' "$json")
    isotop_mean=$(jq '.results[1].mean' "$json")
    rm -f "$json"
else
    mean_of() {
        local start end total=0 i
        "$@" >/dev/null
        for ((i = 0; i < runs; i++)); do
            start=$(date +%s.%N)
            "$@" >/dev/null
            end=$(date +%s.%N)
            total=$(awk -v t="$total" -v s="$start" -v e="$end" 'BEGIN {print t + e - s}')
        done
        awk -v t="$total" -v n="$runs" 'BEGIN {print t / n}'
    }
    lsns_mean=$(mean_of lsns -J)
    isotop_mean=$(mean_of "$isotop" ns --json)
fi

printf '\n%-22s %12s\n' "command" "mean (s)"
printf '%-22s %12.3f\n' "lsns -J" "$lsns_mean"
printf '%-22s %12.3f\n' "isotop ns --json" "$isotop_mean"
speedup=$(awk -v l="$lsns_mean" -v i="$isotop_mean" 'BEGIN {print l / i}')
printf 'speed-up: %.1fx (target >= 5x) with %s processes, %s namespaces\n' \
    "$speedup" "$processes" "$isotop_count"
