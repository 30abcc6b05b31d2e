#!/usr/bin/env bash
# Times `isotop ns --json` against its syscall floor and against `lsns -J` on a large population
# of namespaces, and counts the syscalls of the floor and of isotop side by side.
#
# Builds isotop and examples/ns_floor.rs in release (the floor makes exactly the reads `isotop
# ns` needs, with plain syscalls and no JSON: see its header), starts bench/ns-population.sh
# (about 11,600 processes in 2,800 new namespaces) unless NS_BENCH_EXTERNAL=1 says a population
# is already up, checks the three see the same namespaces, then:
#   - hyperfine (or a `date +%s.%N` loop without it): floor and isotop NS_BENCH_RUNS times
#     (default 10, after one warm-up), lsns NS_BENCH_LSNS_RUNS times (default 3); the means of
#     wall time and of CPU time (user + system), and the two ratios: isotop / floor (goal
#     <= 1.2) and lsns / isotop (goal >= 20);
#   - `strace -c` of one run of the floor and one of isotop: calls per syscall kind, side by
#     side (the goal: the same reads; isotop's extra calls are its start-up and its output).
# The population is torn down at the end (also on failure or Ctrl-C) when this script made it.
# NS_BENCH_NO_BUILD=1 takes the release binaries as they are (already built).
#
# Usage: bench/ns-bench.sh   (needs root, lsns, jq, busybox, strace; hyperfine optional)
# A benchmark, never a test: it loads the machine for a minute or two.
set -euo pipefail

cd "$(dirname "$0")/.."
runs=${NS_BENCH_RUNS:-10}
lsns_runs=${NS_BENCH_LSNS_RUNS:-3}
state=/tmp/isotop-ns-bench.$$.state
work=$(mktemp -d /tmp/isotop-ns-bench.XXXXXX)
die() { echo "ns-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
for tool in lsns jq strace; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

if [[ ${NS_BENCH_NO_BUILD:-0} != 1 ]]; then
    echo "ns-bench: building isotop and the floor (release)" >&2
    cargo build --release --quiet --bin isotop --example ns_floor
fi
target="${CARGO_TARGET_DIR:-target}/release"
isotop="$target/isotop"
floor="$target/examples/ns_floor"
[[ -x $isotop && -x $floor ]] || die "no binaries under $target"

holder=
cleanup() {
    trap - EXIT INT TERM
    if [[ -n $holder ]] && kill -0 "$holder" 2>/dev/null; then
        kill -TERM "$holder" 2>/dev/null || true
        wait "$holder" 2>/dev/null || true
    fi
    rm -rf "$work" "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ${NS_BENCH_EXTERNAL:-0} != 1 ]]; then
    command -v busybox >/dev/null || die "busybox not found"
    bench/ns-population.sh "$state" &
    holder=$!
    deadline=$((SECONDS + 400))
    until grep -q '^ready=' "$state" 2>/dev/null; do
        kill -0 "$holder" 2>/dev/null || die "population script exited early"
        ((SECONDS < deadline)) || die "population not ready after 400 s"
        sleep 1
    done
fi

# All three must see the population before their times mean anything.
lsns_count=$(lsns -J | jq '[.namespaces[] | recurse(.children[]?)] | length')
isotop_count=$("$isotop" ns --json | jq '[.namespaces[] | select(.nprocs > 0)] | length')
floor_count=$("$floor" | awk -F'\t' '$3 > 0' | wc -l)
processes=$(find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null | wc -l || true)
echo "ns-bench: $processes processes; namespaces with processes: lsns $lsns_count," \
    "isotop $isotop_count, floor $floor_count" >&2

# Mean wall and CPU seconds of a command over N runs: "wall cpu".
measure() {
    local n=$1
    shift
    if command -v hyperfine >/dev/null; then
        hyperfine --shell=none --warmup 1 --runs "$n" --export-json "$work/hf.json" \
            --output=null "$*" >&2
        jq -r '.results[0] | "\(.mean) \(.user + .system)"' "$work/hf.json"
    else
        "$@" >/dev/null
        local i start end before after wall=0 cpu=0
        for ((i = 0; i < n; i++)); do
            before=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
            start=$(date +%s.%N)
            "$@" >/dev/null
            end=$(date +%s.%N)
            after=$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)
            wall=$(awk -v w="$wall" -v s="$start" -v e="$end" 'BEGIN {print w + e - s}')
            cpu=$(awk -v c="$cpu" -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" \
                'BEGIN {print c + (a - b) / hz}')
        done
        awk -v w="$wall" -v c="$cpu" -v n="$n" 'BEGIN {print w / n, c / n}'
    fi
}

read -r floor_wall floor_cpu < <(measure "$runs" "$floor")
read -r isotop_wall isotop_cpu < <(measure "$runs" "$isotop" ns --json)
read -r lsns_wall lsns_cpu < <(measure "$lsns_runs" lsns -J)

printf '\n%-22s %10s %10s\n' "command" "wall (s)" "CPU (s)"
printf '%-22s %10.3f %10.3f\n' "floor (ns_floor)" "$floor_wall" "$floor_cpu"
printf '%-22s %10.3f %10.3f\n' "isotop ns --json" "$isotop_wall" "$isotop_cpu"
printf '%-22s %10.3f %10.3f\n' "lsns -J" "$lsns_wall" "$lsns_cpu"
awk -v f="$floor_wall" -v i="$isotop_wall" -v l="$lsns_wall" \
    -v fc="$floor_cpu" -v ic="$isotop_cpu" -v lc="$lsns_cpu" 'BEGIN {
    printf "isotop / floor: %.2fx wall, %.2fx CPU (goal <= 1.2x)\n", i / f, ic / fc
    printf "lsns / isotop:  %.1fx wall, %.1fx CPU (goal >= 20x)\n", l / i, lc / ic
}'
echo "($processes processes, $isotop_count namespaces with processes)"

strace -c -o "$work/floor.strace" "$floor" >/dev/null
strace -c -o "$work/isotop.strace" "$isotop" ns --json >/dev/null
printf '\n%-18s %10s %10s\n' "syscall" "floor" "isotop"
awk '
    FNR == 1 { file++ }
    $1 ~ /^[0-9.]+$/ && $NF != "total" { seen[$NF] = 1; count[file, $NF] = $4 }
    END { for (n in seen) printf "%-18s %10d %10d\n", n, count[1, n], count[2, n] }
' "$work/floor.strace" "$work/isotop.strace" | sort -k3 -n -r
