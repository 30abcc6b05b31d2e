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
# The isotop command is ISOTOP_CMD; by default the dashboard itself (`isotop -d 1`, release).
# ISOTOP_CMD=sampler measures only the sampling loop without a terminal
# (examples/sample_loop.rs: the sampler task plus a 10-minute History).
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

# shellcheck source=bench/lib.sh
. bench/lib.sh
start_population "$state"
# (find would fail on a pid that exits while it lists /proc.)
processes=$(ls /proc | grep -c '^[0-9]')
echo "dashboard-bench: population ready, $processes processes on the host" >&2

clk_tck=$(getconf CLK_TCK)

results=()
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
    for ((i = 0; i < window; i++)); do
        sleep 1
        rss=$(rss_kib "$pid") || die "$label exited during the window"
        [[ -n $rss ]] || die "$label exited during the window"
        sum=$((sum + rss))
        n=$((n + 1))
        ((rss > peak)) && peak=$rss
    done
    c1=$(proc_cpu_ticks "/proc/$pid")
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
}

htop_version=$(htop --version | awk 'NR == 1 {print $2}')
btop_version=$(btop --version 2>/dev/null | awk '{print $NF}' | tail -1)
echo "dashboard-bench: measuring htop $htop_version (${window}s)" >&2
measure "htop $htop_version" "htop -d 10"
echo "dashboard-bench: measuring btop $btop_version (${window}s)" >&2
measure "btop $btop_version" "btop --utf-force"
echo "dashboard-bench: measuring $isotop_label: $ISOTOP_CMD (${window}s)" >&2
measure "$isotop_label" "$ISOTOP_CMD"

printf '\n%s processes on the host, 1 s refresh, %s s window after %s s warm-up, 160x48 tmux\n' \
    "$processes" "$window" "$warmup"
printf '%-22s %14s %14s %14s\n' "tool" "CPU % (1 core)" "RSS avg MiB" "RSS peak MiB"
for row in "${results[@]}"; do
    IFS='|' read -r label cpu avg peak <<<"$row"
    printf '%-22s %14s %14s %14s\n' "$label" "$cpu" "$avg" "$peak"
done
