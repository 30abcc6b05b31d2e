#!/usr/bin/env bash
# Measures what PSI pressure triggers (`sample::pressure_triggers`) cost: N leaf cgroups in the
# v2 hierarchy (the unified one on a hybrid host) with one sleeping process each, sampled by
# `examples/sample_loop --costs` (release, 1 s ticks), which watches them (at most 128: the
# budget; the rest are sampled only). Printed per N: the fds the sampler holds on pressure
# files, the CPU of its `isotop-psi` thread and of the kernel's `psimon` threads (one per
# watched cgroup) while everything is idle and while one watched cgroup stalls (four busy loops
# for the window: its trigger fires once a second), the sampler's `events` part of a tick (the
# triggers' set and what they fired are taken in there) against a run without triggers, and
# the events the run told (the stall's pressure starting: 1). CPU is counted in clock ticks
# (10 ms at the usual 100 Hz): 0 means less than one.
#
# Triggers need CAP_SYS_RESOURCE. Where the root running this lacks it (a container without
# it: the kernel then refuses isotop's 1 s triggers, see the README), the triggered run is made
# inside a user namespace of its own (`unshare -U -r`, where the kernel's check finds the
# capability in the namespace's credentials: the same `psimon` triggers), and the run without
# triggers is the plain one; where root has it, the plain run has triggers and the baseline is
# skipped. It removes everything it made (processes by pid, then the cgroups), also on failure
# or Ctrl-C.
#
# Usage: bench/psi-bench.sh   (needs root, perl, unshare)
# Tunables: PSI_BENCH_COUNTS ("30 300"), PSI_BENCH_SECONDS (10: each measuring window).
# A benchmark, never a test.
set -euo pipefail

cd "$(dirname "$0")/.."
read -r -a counts <<<"${PSI_BENCH_COUNTS:-30 300}"
seconds=${PSI_BENCH_SECONDS:-10}
parent=isotop-psib-$$
die() { echo "psi-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
command -v unshare >/dev/null || die "unshare not found"
command -v perl >/dev/null || die "perl not found"
[[ -r /proc/pressure/cpu ]] || die "no /proc/pressure/cpu: a kernel without PSI (boot with psi=1)"
for n in "${counts[@]}"; do
    [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 1000 ]] || die "PSI_BENCH_COUNTS: 1..1000 each"
done
[[ $seconds =~ ^[0-9]+$ && $seconds -ge 2 ]] || die "PSI_BENCH_SECONDS: 2 or more"
if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then
    v2=/sys/fs/cgroup
elif [[ -e /sys/fs/cgroup/unified/cgroup.procs ]]; then
    v2=/sys/fs/cgroup/unified
else
    die "no cgroup v2 hierarchy (a v1-only host has no cgroup PSI)"
fi
caps=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
if (((16#$caps >> 24) & 1)); then
    privileged=true
else
    privileged=false
fi

echo "psi-bench: building examples/sample_loop (release)" >&2
cargo build --release --quiet --example sample_loop
sample_loop="${CARGO_TARGET_DIR:-target}/release/examples/sample_loop"
[[ -x $sample_loop ]] || die "no binary at $sample_loop"

pids=()
loop_pid=""
cleanup() {
    [[ -n $loop_pid ]] && kill -KILL "$loop_pid" 2>/dev/null || true
    loop_pid=""
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    pids=()
    sleep 1
    [[ -d $v2/$parent ]] || return 0
    for dir in "$v2/$parent"/*/; do
        if [[ -d $dir ]]; then rmdir "$dir" 2>/dev/null || true; fi
    done
    rmdir "$v2/$parent" 2>/dev/null || echo "psi-bench: could not remove $v2/$parent" >&2
}
trap cleanup EXIT INT TERM

# The median of the numbers on stdin ("-" lines left out).
median() {
    grep -v '^-$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}

# utime + stime of /proc/$1/task/$2 (or of process $1 when $2 is empty), in clock ticks.
cpu_ticks() {
    local stat=/proc/$1/stat
    [[ -n ${2:-} ]] && stat=/proc/$1/task/$2/stat
    # Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    sed 's/.*) //' "$stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0
}

# The pids of the kernel's psimon threads.
psimons() {
    local pid
    for pid in /proc/[0-9]*; do
        [[ $(cat "$pid/comm" 2>/dev/null) == psimon ]] && echo "${pid#/proc/}"
    done
    return 0
}

# CPU ms of the watcher thread of process $1 and of all psimon threads over $seconds s.
measure_window() {
    local pid=$1 tid="" t comm hz
    hz=$(getconf CLK_TCK)
    for t in /proc/"$pid"/task/*; do
        comm=$(cat "$t/comm" 2>/dev/null || true)
        [[ $comm == isotop-psi ]] && tid=${t##*/}
    done
    local monitors before_w before_k=0 after_k=0 m
    mapfile -t monitors < <(psimons)
    before_w=$([[ -n $tid ]] && cpu_ticks "$pid" "$tid" || echo 0)
    for m in "${monitors[@]}"; do before_k=$((before_k + $(cpu_ticks "$m"))); done
    sleep "$seconds"
    local after_w
    after_w=$([[ -n $tid ]] && cpu_ticks "$pid" "$tid" || echo 0)
    for m in "${monitors[@]}"; do after_k=$((after_k + $(cpu_ticks "$m"))); done
    echo "${#monitors[@]} $(((after_w - before_w) * 1000 / hz)) $(((after_k - before_k) * 1000 / hz)) ${tid:--}"
}

# One sampler run over the bench cgroups: $1 = "plain" or "userns". Prints the figures.
run() {
    local how=$1 out
    out=$(mktemp)
    local ticks=$((2 * seconds + 15))
    if [[ $how == userns ]]; then
        unshare -U -r "$sample_loop" 1 "$ticks" --costs 2>"$out" >/dev/null &
    else
        "$sample_loop" 1 "$ticks" --costs 2>"$out" >/dev/null &
    fi
    loop_pid=$!
    sleep 5
    local fds
    fds=$(find /proc/"$loop_pid"/fd -lname '*.pressure' 2>/dev/null | wc -l)
    read -r monitors idle_w idle_k _ < <(measure_window "$loop_pid")
    # One watched cgroup stalls: four busy loops for the window (its trigger fires each second).
    local busy=() i
    for i in 1 2 3 4; do
        perl -e 'my $end = time + $ARGV[0]; 1 while time < $end' "$seconds" &
        busy+=($!)
        echo "${busy[-1]}" >"$v2/$parent/c1/cgroup.procs"
    done
    read -r _ stall_w stall_k _ < <(measure_window "$loop_pid")
    for i in "${busy[@]}"; do wait "$i" 2>/dev/null || true; done
    wait "$loop_pid" 2>/dev/null || true
    loop_pid=""
    local events told
    events=$(sed -n 's/.* events \([0-9.-]*\);.*/\1/p' "$out" | median)
    told=$(sed -n 's/.*layers sized, \([0-9]*\) events$/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }')
    rm -f "$out"
    printf '  %-22s %4s fds on pressure files, %3s psimon threads; CPU ms over %ss: watcher %s idle / %s one stalling, psimon %s idle / %s one stalling; events part of a tick, median %s ms; %s events told\n' \
        "$how$( ((fds == 0)) && echo ' (no triggers)')" "$fds" "$monitors" "$seconds" \
        "$idle_w" "$stall_w" "$idle_k" "$stall_k" "$events" "$told"
}

for n in "${counts[@]}"; do
    echo "psi-bench: making $n cgroups with a sleep each" >&2
    mkdir "$v2/$parent"
    for i in $(seq 1 "$n"); do
        mkdir "$v2/$parent/c$i"
        sleep infinity &
        pids+=($!)
        disown
        echo "${pids[-1]}" >"$v2/$parent/c$i/cgroup.procs"
    done
    echo "== $n idle leaf cgroups (at most 128 watched)"
    if $privileged; then
        run plain
    else
        run plain
        run userns
    fi
    cleanup
done
