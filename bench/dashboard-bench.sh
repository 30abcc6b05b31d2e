#!/usr/bin/env bash
# Measures the dashboard's CPU and memory against htop and btop on a large host, in one run.
#
# Builds isotop in release, starts bench/ns-population.sh (about 11,600 processes in 2,800 new
# namespaces; see that script) and waits until it is ready. Then, one after the other, runs
# htop, btop and isotop for DASH_BENCH_SECONDS (default 30) each, every one in its own detached
# tmux session of 160x48 at a 1 s refresh, and measures the tool's process:
#   CPU %  = (utime + stime) delta from /proc/<pid>/stat over the window / (CLK_TCK * seconds)
#            × 100, i.e. percent of one core (threads included);
#   RSS    = /proc/<pid>/status VmRSS sampled once a second: average and peak.
# Each tool gets DASH_BENCH_WARMUP seconds (default 5) before the window opens, so start-up
# (the first full read of every process) is not counted. Prints a table of the three, then
# tears the population down (also on failure or Ctrl-C) and kills exactly the tmux sessions
# and processes it started, by name of session it made and by pid.
#
# For isotop the table also splits its CPU by thread (percent of one core each, from
# /proc/<pid>/task/<tid>/stat over the same window): `sampler` (isotop-sampler: the reads and
# the frame build), `ring` (isotop-trouble*: the dump on trouble's encoding and writing),
# `main` (the app loop: the App's rows and the drawing), `tokio` (tokio-runtime-*: the blocking
# pool, acts), `other` (every other thread: PSI triggers, sizer, netns, crossterm's reader). A
# thread that ends inside the window loses its share (none do in a steady dashboard).
#
# The isotop command is ISOTOP_CMD; by default the dashboard itself (`isotop -d 1`, release).
# ISOTOP_CMD=sampler measures only the sampling loop without a terminal
# (examples/sample_loop.rs: the sampler task plus a 10-minute History).
# DASH_BENCH_NO_TROUBLE=1 runs the dashboard with the dump on trouble off (`[trouble] dump =
# false` in the private config), for comparison with the ring's cost.
# DASH_BENCH_ONLY_ISOTOP=1 skips htop and btop (for a second isotop variant in the same
# population run; the README's table keeps all three).
# DASH_BENCH_POPULATION=running uses a population already up (started by the caller, e.g.
# /work/tmp/with-pop.sh or another bench) instead of starting bench/ns-population.sh.
#
# Usage: bench/dashboard-bench.sh   (needs root, tmux, htop, btop, busybox, unshare)
# A benchmark, never a test: it loads the machine for about three minutes.
set -euo pipefail

cd "$(dirname "$0")/.."
window=${DASH_BENCH_SECONDS:-30}
warmup=${DASH_BENCH_WARMUP:-5}
die() { echo "dashboard-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (the population creates namespaces)"
for tool in tmux htop btop busybox unshare; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install $tool)"
done
[[ $window =~ ^[0-9]+$ && $window -ge 5 ]] || die "DASH_BENCH_SECONDS must be >= 5"
[[ $warmup =~ ^[0-9]+$ ]] || die "DASH_BENCH_WARMUP must be a number of seconds"

target=${CARGO_TARGET_DIR:-target}
if [[ ${ISOTOP_CMD:-} == sampler ]]; then
    echo "dashboard-bench: building the sampling loop (release)" >&2
    cargo build --release --quiet --example sample_loop
    ISOTOP_CMD="$target/release/examples/sample_loop 1"
    isotop_label="isotop sampler"
else
    echo "dashboard-bench: building isotop (release)" >&2
    cargo build --release --quiet --bin isotop
    ISOTOP_CMD=${ISOTOP_CMD:-"$target/release/isotop -d 1"}
    isotop_label="isotop dashboard"
fi

scratch=$(mktemp -d /tmp/isotop-dash-bench.XXXXXX)
state="$scratch/population.state"
sessions=()
holder=

cleanup() {
    trap - EXIT INT TERM
    local s
    for s in "${sessions[@]}"; do
        tmux kill-session -t "$s" 2>/dev/null || true
    done
    if [[ -n $holder ]] && kill -0 "$holder" 2>/dev/null; then
        kill -TERM "$holder" 2>/dev/null || true
    fi
    [[ -n $holder ]] && wait "$holder" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Private homes so no tool reads or writes the user's configuration. btop's update interval is
# only settable in its config file; htop takes -d in tenths of a second.
mkdir -p "$scratch/home/.config/btop" "$scratch/home/.config/htop"
printf 'update_ms = 1000\n' >"$scratch/home/.config/btop/btop.conf"
mkdir -p "$scratch/home/.config/isotop"
if [[ ${DASH_BENCH_NO_TROUBLE:-} == 1 ]]; then
    printf '[trouble]\ndump = false\n' >"$scratch/home/.config/isotop/config.toml"
    isotop_label="$isotop_label (ring off)"
fi

# shellcheck source=bench/lib.sh
. bench/lib.sh
if [[ ${DASH_BENCH_POPULATION:-} == running ]]; then
    echo "dashboard-bench: using the population already running" >&2
else
    start_population "$state"
fi
# (find would fail on a pid that exits while it lists /proc.)
processes=$(ls /proc | grep -c '^[0-9]')
echo "dashboard-bench: population ready, $processes processes on the host" >&2

clk_tck=$(getconf CLK_TCK)

results=()
threads=()
# thread_ticks PID: "TID CLASS TICKS" per thread of PID (classes as in the header).
thread_ticks() {
    local pid=$1 task tid comm class ticks
    for task in /proc/"$pid"/task/*; do
        tid=${task##*/}
        comm=$(cat "$task/comm" 2>/dev/null) || continue
        ticks=$(proc_cpu_ticks "$task") || continue
        [[ -n $ticks ]] || continue
        case $comm in
            isotop-sampler) class=sampler ;;
            isotop-trouble*) class=ring ;;
            tokio-runtime*) class=tokio ;;
            *) class=other ;;
        esac
        [[ $tid == "$pid" ]] && class=main
        echo "$tid $class $ticks"
    done
}
# measure LABEL COMMAND: runs COMMAND in a new tmux session; appends "LABEL|cpu|avg|peak" to
# results (not run in a subshell, so `sessions` stays known to the cleanup).
measure() {
    local label=$1 cmd=$2
    local session="isotop-bench-$$-${#sessions[@]}"
    sessions+=("$session")
    # `exec env` makes the tool the pane's process (env execs it), so the pane pid is the tool's.
    tmux new-session -d -s "$session" -x 160 -y 48 -c "$PWD" \
        "exec env HOME=$scratch/home XDG_CONFIG_HOME=$scratch/home/.config LANG=C.UTF-8 $cmd"
    local pid
    pid=$(tmux list-panes -t "$session" -F '#{pane_pid}' 2>/dev/null) || die "$label did not start ($cmd)"
    sleep "$warmup"
    kill -0 "$pid" 2>/dev/null || die "$label exited during warm-up ($cmd)"
    local t0 c0 t1 c1 rss sum=0 n=0 peak=0 i
    t0=$(date +%s%N)
    c0=$(proc_cpu_ticks "/proc/$pid")
    thread_ticks "$pid" >"$scratch/threads0"
    for ((i = 0; i < window; i++)); do
        sleep 1
        rss=$(rss_kib "$pid") || die "$label exited during the window"
        [[ -n $rss ]] || die "$label exited during the window"
        sum=$((sum + rss))
        n=$((n + 1))
        ((rss > peak)) && peak=$rss
    done
    c1=$(proc_cpu_ticks "/proc/$pid")
    thread_ticks "$pid" >"$scratch/threads1"
    t1=$(date +%s%N)
    [[ -n $c1 ]] || die "$label exited during the window"
    tmux kill-session -t "$session" 2>/dev/null || true
    # The tool is the session's child: give it a moment to exit, then make sure, by pid.
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    results+=("$(awk -v l="$label" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$clk_tck" \
        -v sum="$sum" -v n="$n" -v peak="$peak" 'BEGIN {
            secs = (t1 - t0) / 1e9
            printf "%s|%.1f|%.1f|%.1f\n", l, (c1 - c0) / hz / secs * 100, sum / n / 1024, peak / 1024
        }')")
    # Per class: the ticks each thread used in the window (a thread new in it from 0).
    threads+=("$(awk -v hz="$clk_tck" -v t0="$t0" -v t1="$t1" '
        NR == FNR { start[$1] = $3; next }
        { used[$2] += $3 - ($1 in start ? start[$1] : 0) }
        END {
            secs = (t1 - t0) / 1e9
            split("sampler ring main tokio other", order, " ")
            for (i = 1; i <= 5; i++) printf "%s%.1f", (i > 1 ? "|" : ""), used[order[i]] / hz / secs * 100
            printf "\n"
        }' "$scratch/threads0" "$scratch/threads1")")
}

htop_version=$(htop --version | awk 'NR == 1 {print $2}')
btop_version=$(btop --version 2>/dev/null | awk '{print $NF}' | tail -1)
if [[ ${DASH_BENCH_ONLY_ISOTOP:-} != 1 ]]; then
    echo "dashboard-bench: measuring htop $htop_version (${window}s)" >&2
    measure "htop $htop_version" "htop -d 10"
    echo "dashboard-bench: measuring btop $btop_version (${window}s)" >&2
    measure "btop $btop_version" "btop --utf-force"
fi
echo "dashboard-bench: measuring $isotop_label: $ISOTOP_CMD (${window}s)" >&2
measure "$isotop_label" "$ISOTOP_CMD"

printf '\n%s processes on the host, 1 s refresh, %s s window after %s s warm-up, 160x48 tmux\n' \
    "$processes" "$window" "$warmup"
printf '%-22s %14s %14s %14s\n' "tool" "CPU % (1 core)" "RSS avg MiB" "RSS peak MiB"
for row in "${results[@]}"; do
    IFS='|' read -r label cpu avg peak <<<"$row"
    printf '%-22s %14s %14s %14s\n' "$label" "$cpu" "$avg" "$peak"
done
printf '\n%s, CPU %% of one core by thread\n' "$isotop_label"
printf '%10s %10s %10s %10s %10s\n' sampler ring main tokio other
IFS='|' read -r sampler ring main tokio other <<<"${threads[-1]}"
printf '%10s %10s %10s %10s %10s\n' "$sampler" "$ring" "$main" "$tokio" "$other"
