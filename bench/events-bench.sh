#!/usr/bin/env bash
# Measures what events cost the dashboard's sampler per tick: N containers, each in a cgroup of
# its own (every v1 hierarchy, or v2) with a few processes, sampled by `examples/sample_loop
# --costs` (release); the `events` part is the detector's comparison of the tick with the
# previous one (`sample::events`), the kernel and audit logs read only when a counter or a
# limit moved. The README's figures come from here.
#
# Each container is `unshare --pid --mount --fork --kill-child --mount-proc sh` running
# EVENTS_BENCH_SLEEPS sleeps (an `unknown` container to isotop), started by a shell that first
# moves itself into the container's cgroup `/isotop-evb-<pid>/c<i>`. It removes everything it
# made: the unshares (by pid; their processes die with them), then the cgroups. Also on
# failure or Ctrl-C.
#
# With EVENTS_BENCH_POPULATION=1 it measures instead on bench/ns-population.sh's host (about
# 11,600 processes in 400 pid namespaces: 400 containers to isotop), the population issue 17's
# dashboard figures are taken on, and also says what the events part is as a share of one core
# at a 1 s refresh (ms per tick / 1000 ms × 100).
#
# Usage: bench/events-bench.sh   (needs root, unshare; busybox for the population)
# Tunables: EVENTS_BENCH_COUNTS ("30 100"), EVENTS_BENCH_SLEEPS (5), EVENTS_BENCH_TICKS (20),
# EVENTS_BENCH_POPULATION (0).
# A benchmark, never a test: it loads the machine for a minute.
set -euo pipefail

cd "$(dirname "$0")/.."
read -r -a counts <<<"${EVENTS_BENCH_COUNTS:-30 100}"
sleeps=${EVENTS_BENCH_SLEEPS:-5}
ticks=${EVENTS_BENCH_TICKS:-20}
parent=isotop-evb-$$
die() { echo "events-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
command -v unshare >/dev/null || die "unshare not found"
for n in "${counts[@]}"; do
    [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 1000 ]] || die "EVENTS_BENCH_COUNTS: 1..1000 each"
done
[[ $sleeps =~ ^[0-9]+$ && $sleeps -le 100 ]] || die "EVENTS_BENCH_SLEEPS: 0..100"
[[ $ticks =~ ^[0-9]+$ && $ticks -ge 2 ]] || die "EVENTS_BENCH_TICKS: 2 or more"

echo "events-bench: building examples/sample_loop (release)" >&2
cargo build --release --quiet --example sample_loop
sample_loop="${CARGO_TARGET_DIR:-target}/release/examples/sample_loop"
[[ -x $sample_loop ]] || die "no binary at $sample_loop"

# The hierarchies: each v1 controller mount (not the empty unified one of a hybrid host), or
# the v2 root.
# shellcheck source=bench/lib.sh
. bench/lib.sh
list_hierarchies

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    pids=()
    sleep 1
    for h in "${hierarchies[@]}"; do
        [[ -d $h/$parent ]] || continue
        for box in "$h/$parent"/c*/; do
            if [[ -d $box ]]; then rmdir "$box" 2>/dev/null || true; fi
        done
        rmdir "$h/$parent" 2>/dev/null || echo "events-bench: could not remove $h/$parent" >&2
    done
}
trap cleanup EXIT INT TERM

# Makes cgroup $1 (relative) in every hierarchy: v1 cpusets get their parent's CPUs and nodes;
# on v2 the parent passes its controllers down.
make_cgroup() {
    for h in "${hierarchies[@]}"; do
        local dir=$h/$1 up
        up=$(dirname "$dir")
        if [[ -e $up/cgroup.subtree_control ]]; then
            local wanted=""
            for c in $(cat "$up/cgroup.controllers"); do
                case $c in cpu|memory|pids|io) wanted+=" +$c" ;; esac
            done
            if [[ -n $wanted ]]; then
                echo "$wanted" >"$up/cgroup.subtree_control" 2>/dev/null || true
            fi
        fi
        mkdir -p "$dir"
        for f in cpuset.cpus cpuset.mems; do
            if [[ -e $dir/$f && -z $(cat "$dir/$f") ]]; then
                cat "$up/$f" >"$dir/$f"
            fi
        done
    done
}

# The median of the numbers on stdin ("-" lines left out).
median() {
    grep -v '^-$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

# Prints the parts of the ticks in $1 (sample_loop --costs lines): median and max ms.
report() {
    local out=$1 part values
    echo "$out" | tail -n 1
    for part in total containers cgroups events; do
        values=$(echo "$out" | sed -n "s/.* $part \([0-9.-]*\).*/\1/p")
        printf '  %-10s median %s ms, max %s ms\n' "$part" "$(echo "$values" | median)" \
            "$(echo "$values" | grep -v '^-$' | sort -g | tail -n 1)"
    done
    values=$(echo "$out" | sed -n "s/.* events \([0-9.-]*\).*/\1/p")
    printf '  events as a share of one core at a 1 s refresh: median %s %%, mean %s %%\n' \
        "$(echo "$values" | median | awk '{ if ($1 == "-") print "-"; else printf "%.3f", $1 / 10 }')" \
        "$(echo "$values" | grep -v '^-$' | awk '{ s += $1 } END { if (NR) printf "%.3f", s / NR / 10; else print "-" }')"
}

if [[ ${EVENTS_BENCH_POPULATION:-0} == 1 ]]; then
    command -v busybox >/dev/null || die "busybox not found (apt-get install busybox-static)"
    scratch=$(mktemp -d /tmp/isotop-evb.XXXXXX)
    holder=
    stop_population() {
        trap - EXIT INT TERM
        if [[ -n $holder ]] && kill -0 "$holder" 2>/dev/null; then
            kill -TERM "$holder" 2>/dev/null || true
            wait "$holder" 2>/dev/null || true
        fi
        rm -rf "$scratch"
    }
    trap stop_population EXIT INT TERM
    start_population "$scratch/population.state"
    processes=$(ls /proc | grep -c '^[0-9]')
    echo "events-bench: population ready, $processes processes on the host" >&2
    out=$("$sample_loop" 1 "$ticks" --costs 2>&1 >/dev/null | tail -n +3)
    echo "== the ns-population: $processes processes"
    report "$out"
    exit 0
fi

for n in "${counts[@]}"; do
    echo "events-bench: making $n containers with $sleeps sleeps each" >&2
    make_cgroup "$parent"
    for i in $(seq 1 "$n"); do
        make_cgroup "$parent/c$i"
        procs=()
        for h in "${hierarchies[@]}"; do procs+=("$h/$parent/c$i/cgroup.procs"); done
        # shellcheck disable=SC2016
        sh -c 'for f in "$@"; do echo $$ >"$f"; done
               exec unshare --pid --mount --fork --kill-child --mount-proc sh -c \
                 "for i in \$(seq 1 '"$sleeps"'); do sleep infinity & done; wait"' sh "${procs[@]}" &
        pids+=($!)
        disown
    done
    sleep 2
    out=$("$sample_loop" 1 "$ticks" --costs 2>&1 >/dev/null | tail -n +3)
    echo "== $n containers with a cgroup of their own"
    report "$out"
    cleanup
done
