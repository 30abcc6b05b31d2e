#!/usr/bin/env bash
# What the dump on trouble's ring costs the dashboard on a large host: `isotop -d 1` (release)
# with `[trouble] dump = false`, then with `dump = true` (the defaults otherwise: 10 minutes,
# 64 MiB, every trigger; dumps into this run's scratch dir), on bench/ns-population.sh's
# population (about 11,600 processes). The README's "Dump on trouble" cost paragraph comes from
# here.
#
# Each run is the dashboard in a detached tmux session of 160x48 on a tmux server of its own,
# given TROUBLE_BENCH_WARMUP seconds (default 10) before a window of TROUBLE_BENCH_SECONDS
# (default 60):
#   CPU %   = utime+stime delta over the window / (CLK_TCK x seconds) x 100, percent of one
#             core, of the whole process (/proc/PID/stat), of the `isotop-trouble` thread and
#             of the `isotop-sampler` thread (/proc/PID/task/TID/stat; the thread found by its
#             comm); ms/tick = the thread's CPU divided by the ticks of the window (1 s each);
#   RSS     = VmRSS once a second: the average over the window and the last (the ring fills
#             as the window goes on: the last is the most it held);
#   dumps   = dump directories made meanwhile (a trigger on the host would add the writer's
#             cost; 0 means the figures are the ring's alone).
# Before the population starts it waits until no VM test (qemu-system) and no screenshot run
# (screenshots/make.sh) is going: it would distort them and they would distort it.
# It removes what it made: the tmux server (its own socket), the dashboard (by pid), the
# population (its own teardown, by its holder's pid), the scratch dir. Also on failure or
# Ctrl-C.
#
# Usage: bench/trouble-bench.sh   (needs root, tmux, unshare, busybox-static)
# Tunables: TROUBLE_BENCH_SECONDS (60), TROUBLE_BENCH_WARMUP (10), TROUBLE_BENCH_POPULATION
# (1; 0 measures on the host as it is, without waiting).
# A benchmark, never a test: it loads the machine for about five minutes.
set -euo pipefail

cd "$(dirname "$0")/.."
window=${TROUBLE_BENCH_SECONDS:-60}
warmup=${TROUBLE_BENCH_WARMUP:-10}
die() { echo "trouble-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (the population creates namespaces)"
for tool in tmux busybox unshare; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install $tool)"
done
[[ $window =~ ^[0-9]+$ && $window -ge 10 ]] || die "TROUBLE_BENCH_SECONDS must be >= 10"
[[ $warmup =~ ^[0-9]+$ ]] || die "TROUBLE_BENCH_WARMUP must be a number of seconds"

echo "trouble-bench: building isotop (release)" >&2
cargo build --release --quiet --bin isotop
isotop="${CARGO_TARGET_DIR:-target}/release/isotop"

scratch=$(mktemp -d /tmp/isotop-trouble-bench.XXXXXX)
socket="isotop-trouble-bench-$$"
holder=
dashboard=
cleanup() {
    trap - EXIT INT TERM
    tmux -L "$socket" kill-server 2>/dev/null || true
    if [[ -n $dashboard ]]; then kill -KILL "$dashboard" 2>/dev/null || true; fi
    if [[ -n $holder ]] && kill -0 "$holder" 2>/dev/null; then
        kill -TERM "$holder" 2>/dev/null || true
        wait "$holder" 2>/dev/null || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=bench/lib.sh
. bench/lib.sh
if [[ ${TROUBLE_BENCH_POPULATION:-1} == 1 ]]; then
    while pgrep -f qemu-system >/dev/null || pgrep -f screenshots/make.sh >/dev/null; do
        echo "trouble-bench: a VM test or the screenshot script runs; waiting" >&2
        sleep 20
    done
    start_population "$scratch/population.state"
fi
# (find would fail on a pid that exits while it lists /proc.)
processes=$(ls /proc | grep -c '^[0-9]')
echo "trouble-bench: $processes processes on the host" >&2

clk_tck=$(getconf CLK_TCK)
# thread_dir PID COMM: the /proc/PID/task/TID of the thread named COMM (none: empty).
thread_dir() {
    local t
    for t in /proc/"$1"/task/*; do
        if [[ $(cat "$t/comm" 2>/dev/null) == "$2" ]]; then
            echo "$t"
            return 0
        fi
    done
    return 0 # none: not a failure (set -e)
}

results=()
# measure DUMP: the dashboard with `[trouble] dump = DUMP`; appends
# "dump|cpu|trouble|trouble_ms|sampler|sampler_ms|rss_avg|rss_last|dumps" to results.
measure() {
    local dump=$1 config="$scratch/dump-$1.toml" dumps="$scratch/trouble-$1"
    printf '[trouble]\ndump = %s\ndir = "%s"\n' "$dump" "$dumps" >"$config"
    tmux -L "$socket" new-session -d -s "dump-$dump" -x 160 -y 48 \
        "exec env LANG=C.UTF-8 $isotop --config $config -d 1"
    dashboard=$(tmux -L "$socket" list-panes -t "dump-$dump" -F '#{pane_pid}') \
        || die "the dashboard did not start"
    sleep "$warmup"
    kill -0 "$dashboard" 2>/dev/null || die "the dashboard exited during the warm-up"
    local trouble sampler
    trouble=$(thread_dir "$dashboard" isotop-trouble)
    sampler=$(thread_dir "$dashboard" isotop-sampler)
    [[ -n $sampler ]] || die "no isotop-sampler thread in $dashboard"
    if [[ $dump == true ]]; then
        [[ -n $trouble ]] || die "dump = true but no isotop-trouble thread in $dashboard"
    else
        [[ -z $trouble ]] || die "dump = false but an isotop-trouble thread in $dashboard"
    fi
    local t0 c0 tr0=0 s0 rss sum=0 n=0 i
    t0=$(date +%s%N)
    c0=$(proc_cpu_ticks "/proc/$dashboard")
    [[ -n $trouble ]] && tr0=$(proc_cpu_ticks "$trouble")
    s0=$(proc_cpu_ticks "$sampler")
    for ((i = 0; i < window; i++)); do
        sleep 1
        rss=$(rss_kib "$dashboard")
        [[ -n $rss ]] || die "the dashboard exited during the window"
        sum=$((sum + rss))
        n=$((n + 1))
    done
    local c1 tr1=0 s1 t1
    c1=$(proc_cpu_ticks "/proc/$dashboard")
    [[ -n $trouble ]] && tr1=$(proc_cpu_ticks "$trouble")
    s1=$(proc_cpu_ticks "$sampler")
    t1=$(date +%s%N)
    [[ -n $c1 && -n $s1 && -n $tr1 ]] || die "the dashboard exited during the window"
    local made=0
    [[ -d $dumps ]] && made=$(find "$dumps" -mindepth 1 -maxdepth 1 -type d | wc -l)
    tmux -L "$socket" kill-session -t "dump-$dump" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$dashboard" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$dashboard" 2>/dev/null || true
    dashboard=
    results+=("$(awk -v d="$dump" -v c0="$c0" -v c1="$c1" -v r0="$tr0" -v r1="$tr1" \
        -v s0="$s0" -v s1="$s1" -v t0="$t0" -v t1="$t1" -v hz="$clk_tck" -v sum="$sum" \
        -v n="$n" -v last="$rss" -v made="$made" -v has="${trouble:+1}" 'BEGIN {
            secs = (t1 - t0) / 1e9
            pct = 100 / hz / secs
            tr = has ? sprintf("%.2f|%.1f", (r1 - r0) * pct, (r1 - r0) * 1000 / hz / secs) : "-|-"
            printf "%s|%.1f|%s|%.1f|%.1f|%.1f|%.1f|%d\n", d, (c1 - c0) * pct, tr,
                (s1 - s0) * pct, (s1 - s0) * 1000 / hz / secs, sum / n / 1024, last / 1024, made
        }')")
}

for dump in false true; do
    echo "trouble-bench: the dashboard with [trouble] dump = $dump (${warmup}s + ${window}s)" >&2
    measure "$dump"
done

printf '\n%s processes on the host, isotop -d 1 (release), %s s window after %s s warm-up, 160x48 tmux\n' \
    "$processes" "$window" "$warmup"
printf '%-6s %9s %11s %9s %11s %9s %9s %9s %6s\n' "dump" "CPU %" "trouble %" "ms/tick" \
    "sampler %" "ms/tick" "RSS avg" "RSS last" "dumps"
printf '%-6s %9s %11s %9s %11s %9s %9s %9s %6s\n' "" "(1 core)" "(thread)" "" "(thread)" "" \
    "MiB" "MiB" ""
for row in "${results[@]}"; do
    IFS='|' read -r dump cpu trouble trouble_ms sampler sampler_ms avg last made <<<"$row"
    printf '%-6s %9s %11s %9s %11s %9s %9s %9s %6s\n' "$dump" "$cpu" "$trouble" "$trouble_ms" \
        "$sampler" "$sampler_ms" "$avg" "$last" "$made"
done
