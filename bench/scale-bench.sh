#!/usr/bin/env bash
# Shows how isotop's cost grows with the host: CPU per refresh and RSS of the dashboard's sampling
# at 1k, 5k, 10k and 20k processes and at 100, 1k and 5k cgroups, a table on stdout, a data file
# and a picture with straight-line fits (bench/plot-scale.sh).
#
# For each size, one population at a time (under a machine-wide lock, see SCALE_LOCK):
#   processes N: bench/ns-population.sh with NS_POP_GROUPS = N / 29 (29 processes and 7 new
#                namespaces per group), beside the host's own processes;
#   cgroups N:   bench/cgroup-population.sh N (N cgroups, one sleeper in each).
# and, while it is up, measures one after the other:
#   sampler   release `examples/sample_loop 1` (the sampler task with the dashboard's options
#             and a 10-minute History, no terminal): after SCALE_WARMUP frames, CPU per refresh =
#             (utime + stime) delta of the process (all threads, /proc/PID/stat) between two
#             frames SCALE_TICKS frames apart / SCALE_TICKS, in ms; RSS = VmRSS at each frame,
#             average, MiB;
#   dashboard release `isotop -d 1` in a detached 160x48 tmux session (as bench/dashboard-bench.sh):
#             after SCALE_WARMUP seconds, CPU per refresh = (utime + stime) delta over SCALE_TICKS
#             seconds / SCALE_TICKS (one refresh a second), ms; RSS = VmRSS each second, average.
# The x values are what the sampler itself counted on its last frame (processes and cgroups on
# the whole host, population included). utime+stime count in clock ticks (10 ms at CLK_TCK 100):
# a figure is +-10 ms / SCALE_TICKS.
#
# Usage: bench/scale-bench.sh   (needs root, tmux, busybox, unshare, flock, gnuplot for the picture)
# Environment:
#   SCALE_PROCESSES  sizes, default "1000 5000 10000 20000"; a size the pid space or the memory
#                    cannot hold here is skipped with a message (pid_max must leave 4,000 free).
#   SCALE_CGROUPS    sizes, default "100 1000 5000".
#   SCALE_TICKS      measured refreshes per run (default 20); SCALE_WARMUP refreshes before (5).
#   SCALE_LOCK       lock file taken around each population (default /tmp/isotop-population.lock;
#                    use the one every other benchmark of the machine takes).
#   SCALE_WITH_POP   optional runner for the process populations, called as
#                    `$SCALE_WITH_POP -g GROUPS CMD...` (it starts the population, runs CMD and
#                    tears it down, taking its own lock); default: this script does that itself.
#   SCALE_DATA       data file (default bench/scale.dat); SCALE_PICTURE (default
#                    screenshots/scale.png), drawn when gnuplot is installed.
# A benchmark, never a test: it loads the machine for about 15 minutes. Internal modes:
#   --population KIND N   (KIND processes|cgroups) start that population, measure, tear down;
#   --measure KIND N      measure while a population is up; both append a row to $SCALE_ROWS.
set -euo pipefail

cd "$(dirname "$0")/.."
die() { echo "scale-bench: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. bench/lib.sh

ticks=${SCALE_TICKS:-20}
warmup=${SCALE_WARMUP:-5}
lock=${SCALE_LOCK:-/tmp/isotop-population.lock}
target=${CARGO_TARGET_DIR:-target}
sampler_bin="$target/release/examples/sample_loop"
isotop_bin="$target/release/isotop"
clk_tck=$(getconf CLK_TCK)
# Processes in one ns-population group: unshare, its busybox shell and NS_POP_SLEEPERS sleepers.
group_size=29

host_processes() {
    local pids=(/proc/[0-9]*)
    echo "${#pids[@]}"
}

# ---- measuring (while a population is up) ----------------------------------------------------

measure_pid=
measure_session=
measure_scratch=
measure_cleanup() {
    # (errexit holds in traps too: every step may fail without ending the cleanup.)
    [[ -n $measure_session ]] && { tmux kill-session -t "$measure_session" 2>/dev/null || true; }
    if [[ -n $measure_pid ]]; then
        kill -TERM "$measure_pid" 2>/dev/null || true
        wait "$measure_pid" 2>/dev/null || true
    fi
    [[ -n $measure_scratch ]] && rm -rf "$measure_scratch"
    return 0
}

# frames FILE: how many frame lines sample_loop has printed.
# (Always a number: an empty answer once broke the arithmetic that waits on it.)
frames() {
    local n
    n=$(grep -c '^frame ' "$1" 2>/dev/null) || true
    echo "${n:-0}"
}

# wait_frames FILE N PID: until FILE has N frame lines (at most 10 s a frame).
wait_frames() {
    local file=$1 want=$2 pid=$3 deadline=$((SECONDS + 10 * $2 + 30))
    while (($(frames "$file") < want)); do
        kill -0 "$pid" 2>/dev/null || die "sample_loop exited: $(tail -3 "$file")"
        ((SECONDS < deadline)) || die "sample_loop too slow: $(frames "$file") of $want frames"
        sleep 0.05
    done
}

# measure_sampler: sets s_ms s_rss s_processes s_cgroups.
measure_sampler() {
    local log="$measure_scratch/sampler.log"
    "$sampler_bin" 1 2>"$log" >/dev/null &
    measure_pid=$!
    wait_frames "$log" "$warmup" "$measure_pid"
    local f0 c0 f1 c1 rss sum=0 n=0 seen
    f0=$(frames "$log")
    c0=$(proc_cpu_ticks "/proc/$measure_pid")
    seen=$f0
    while ((seen < f0 + ticks)); do
        wait_frames "$log" $((seen + 1)) "$measure_pid"
        seen=$(frames "$log")
        rss=$(rss_kib "$measure_pid")
        [[ -n $rss ]] || die "sample_loop exited during the window"
        sum=$((sum + rss))
        n=$((n + 1))
    done
    c1=$(proc_cpu_ticks "/proc/$measure_pid")
    f1=$(frames "$log")
    [[ -n $c0 && -n $c1 ]] || die "sample_loop exited during the window"
    kill -TERM "$measure_pid" 2>/dev/null || true
    wait "$measure_pid" 2>/dev/null || true
    measure_pid=
    s_ms=$(awk -v d=$((c1 - c0)) -v hz="$clk_tck" -v f=$((f1 - f0)) 'BEGIN {printf "%.1f", d * 1000 / hz / f}')
    s_rss=$(awk -v s="$sum" -v n="$n" 'BEGIN {printf "%.1f", s / n / 1024}')
    # "frame 12 interval Some(1000) ms: 11667 processes, 400 containers, 2809 namespaces, 123 cgroups, ..."
    read -r s_processes s_cgroups < <(grep '^frame ' "$log" | tail -1 |
        sed -E 's/.*: ([0-9]+) processes, .* ([0-9]+) cgroups,.*/\1 \2/')
    [[ $s_processes =~ ^[0-9]+$ && $s_cgroups =~ ^[0-9]+$ ]] \
        || die "cannot read the counts from sample_loop's frame line: $(grep '^frame ' "$log" | tail -1)"
}

# measure_dashboard: sets d_ms d_rss.
measure_dashboard() {
    measure_session="isotop-scale-$$"
    mkdir -p "$measure_scratch/home/.config"
    # `exec env` makes isotop the pane's process, so the pane pid is isotop's.
    tmux new-session -d -s "$measure_session" -x 160 -y 48 -c "$PWD" \
        "exec env HOME=$measure_scratch/home XDG_CONFIG_HOME=$measure_scratch/home/.config LANG=C.UTF-8 $isotop_bin -d 1"
    measure_pid=$(tmux list-panes -t "$measure_session" -F '#{pane_pid}') || die "the dashboard did not start"
    sleep "$warmup"
    kill -0 "$measure_pid" 2>/dev/null || die "the dashboard exited during warm-up"
    local t0 c0 t1 c1 rss sum=0 n=0 i
    t0=$(date +%s%N)
    c0=$(proc_cpu_ticks "/proc/$measure_pid")
    for ((i = 0; i < ticks; i++)); do
        sleep 1
        rss=$(rss_kib "$measure_pid")
        [[ -n $rss ]] || die "the dashboard exited during the window"
        sum=$((sum + rss))
        n=$((n + 1))
    done
    c1=$(proc_cpu_ticks "/proc/$measure_pid")
    t1=$(date +%s%N)
    [[ -n $c0 && -n $c1 ]] || die "the dashboard exited during the window"
    tmux kill-session -t "$measure_session" 2>/dev/null || true
    measure_session=
    for ((i = 0; i < 20; i++)); do kill -0 "$measure_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$measure_pid" 2>/dev/null || true
    measure_pid=
    # One refresh a second: ms of CPU per refresh = ms of CPU per second of the window.
    d_ms=$(awk -v d=$((c1 - c0)) -v hz="$clk_tck" -v s=$(((t1 - t0) / 1000000)) \
        'BEGIN {printf "%.1f", d * 1000 / hz / (s / 1000)}')
    d_rss=$(awk -v s="$sum" -v n="$n" 'BEGIN {printf "%.1f", s / n / 1024}')
}

# measure KIND N: both measurements, one row appended to $SCALE_ROWS.
measure() {
    local kind=$1 size=$2
    [[ -n ${SCALE_ROWS:-} ]] || die "--measure needs SCALE_ROWS (run bench/scale-bench.sh)"
    measure_scratch=$(mktemp -d /tmp/isotop-scale.XXXXXX)
    trap measure_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    echo "scale-bench: $kind $size: $(host_processes) processes on the host; sampler ($warmup + $ticks refreshes)" >&2
    measure_sampler
    echo "scale-bench: $kind $size: dashboard ($warmup + $ticks s)" >&2
    measure_dashboard
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$size" "$s_processes" "$s_cgroups" \
        "$s_ms" "$s_rss" "$d_ms" "$d_rss" >>"$SCALE_ROWS"
    echo "scale-bench: $kind $size: sampler $s_ms ms/refresh, $s_rss MiB; dashboard $d_ms ms/refresh, $d_rss MiB" >&2
}

pop_holder=
pop_state=
stop_population() {
    if [[ -n $pop_holder ]]; then
        kill -TERM "$pop_holder" 2>/dev/null || true
        wait "$pop_holder" 2>/dev/null || true
    fi
    [[ -n $pop_state ]] && rm -f "$pop_state"
    return 0
}

# population KIND N: starts that population, measures, tears it down (run under the lock).
population() {
    local kind=$1 size=$2
    while pgrep -x qemu-system-x86 >/dev/null; do sleep 10; done
    pop_state=$(mktemp /tmp/isotop-scale-pop.XXXXXX)
    trap stop_population EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if [[ $kind == cgroups ]]; then
        bench/cgroup-population.sh "$size" "$pop_state" &
    else
        NS_POP_GROUPS=$(groups_for "$size") bench/ns-population.sh "$pop_state" &
    fi
    pop_holder=$!
    local deadline=$((SECONDS + 400))
    until grep -q '^ready=' "$pop_state" 2>/dev/null; do
        kill -0 "$pop_holder" 2>/dev/null || die "the $kind population exited early"
        ((SECONDS < deadline)) || die "the $kind population was not ready after 400 s"
        sleep 1
    done
    # In a subshell: its own traps end the sampler and tmux, then ours end the population.
    (measure "$kind" "$size")
}

# groups_for N: ns-population groups of about N processes (at least 1); the host's own come on
# top (the x values are counted, not assumed).
groups_for() {
    local groups=$((($1 + group_size / 2) / group_size))
    ((groups >= 1)) || groups=1
    echo "$groups"
}

case ${1:-} in
--measure)
    measure "$2" "$3"
    exit 0
    ;;
--population)
    population "$2" "$3"
    exit 0
    ;;
"") ;;
*) die "usage: $0 (no arguments; see the header)" ;;
esac

# ---- the whole run ---------------------------------------------------------------------------

[[ $(id -u) == 0 ]] || die "needs root (the populations create namespaces and cgroups)"
for tool in tmux busybox unshare flock pgrep; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install $tool)"
done
[[ $ticks =~ ^[0-9]+$ && $ticks -ge 5 ]] || die "SCALE_TICKS must be >= 5"
[[ $warmup =~ ^[0-9]+$ && $warmup -ge 2 ]] || die "SCALE_WARMUP must be >= 2 (the first refresh reads everything)"
if [[ -n ${SCALE_WITH_POP:-} ]]; then
    [[ -x $SCALE_WITH_POP ]] || die "SCALE_WITH_POP=$SCALE_WITH_POP is not executable"
fi
data=${SCALE_DATA:-bench/scale.dat}
picture=${SCALE_PICTURE:-screenshots/scale.png}

echo "scale-bench: building the sampling loop and isotop (release)" >&2
cargo build --release --quiet --example sample_loop --bin isotop

rows=$(mktemp /tmp/isotop-scale-rows.XXXXXX)
trap 'rm -f "$rows"' EXIT
export SCALE_ROWS=$rows SCALE_TICKS=$ticks SCALE_WARMUP=$warmup
started=$SECONDS
pid_max=$(cat /proc/sys/kernel/pid_max)
skipped=()

for size in ${SCALE_PROCESSES-1000 5000 10000 20000}; do
    [[ $size =~ ^[0-9]+$ ]] || die "SCALE_PROCESSES: $size is not a number"
    groups=$(groups_for "$size")
    running=$(host_processes)
    if ((running + groups * group_size + 4000 > pid_max)); then
        skipped+=("processes $size: pid_max $pid_max cannot hold $((groups * group_size)) more beside $running running and 4,000 spare")
        echo "scale-bench: skipping ${skipped[-1]}" >&2
        continue
    fi
    if ((groups > 2000)); then
        skipped+=("processes $size: more than ns-population's 2,000 groups")
        echo "scale-bench: skipping ${skipped[-1]}" >&2
        continue
    fi
    echo "scale-bench: processes $size: $groups groups of $group_size" >&2
    if [[ -n ${SCALE_WITH_POP:-} ]]; then
        "$SCALE_WITH_POP" -g "$groups" "$0" --measure processes "$size" || die "processes $size failed"
    else
        flock "$lock" "$0" --population processes "$size" || die "processes $size failed"
    fi
done
for size in ${SCALE_CGROUPS-100 1000 5000}; do
    [[ $size =~ ^[0-9]+$ ]] || die "SCALE_CGROUPS: $size is not a number"
    running=$(host_processes)
    if ((running + size + 4000 > pid_max)); then
        skipped+=("cgroups $size: pid_max $pid_max cannot hold $size more beside $running running")
        echo "scale-bench: skipping ${skipped[-1]}" >&2
        continue
    fi
    flock "$lock" "$0" --population cgroups "$size" || die "cgroups $size failed"
done

{
    echo "# isotop scale benchmark (bench/scale-bench.sh), $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); kernel $(uname -r); $(nproc) CPUs: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "# $ticks refreshes at 1 s after $warmup of warm-up; CPU = utime+stime per refresh (ms), RSS = VmRSS average (MiB)"
    for s in "${skipped[@]}"; do echo "# skipped: $s"; done
    printf '# kind\tsize\tprocesses\tcgroups\tsampler_ms\tsampler_rss_mib\tdashboard_ms\tdashboard_rss_mib\n'
    cat "$rows"
} >"$data"

printf '\nisotop CPU per refresh (1 s) and RSS, by population (%s refreshes each, %d min in all)\n' \
    "$ticks" $(((SECONDS - started) / 60))
printf '%-16s %10s %8s %16s %12s %18s %14s\n' population processes cgroups "sampler ms/tick" "sampler MiB" \
    "dashboard ms/tick" "dashboard MiB"
while IFS=$'\t' read -r kind size processes cgroups s_ms s_rss d_ms d_rss; do
    printf '%-16s %10s %8s %16s %12s %18s %14s\n' "$size $kind" "$processes" "$cgroups" "$s_ms" "$s_rss" \
        "$d_ms" "$d_rss"
done <"$rows"
for s in "${skipped[@]}"; do echo "skipped: $s"; done
echo "data: $data"

if command -v gnuplot >/dev/null; then
    bench/plot-scale.sh "$data" "$picture"
else
    echo "scale-bench: gnuplot not found (apt-get install gnuplot-nox): no picture" >&2
fi
