#!/usr/bin/env bash
# What the flight recorder (`isotop record`) costs on bench/ns-population.sh's host (about
# 11,600 processes in 400 pid namespaces: 400 containers to isotop): bytes per hour at a frame
# every 10 s and every 1 s, the recorder's CPU at 10 s, and the time to open a 24-hour store
# and read the frame at any time in it. The README's "Flight recorder" figures come from here.
#
# Bytes per hour: the store's growth (segments and indexes) over the run, scaled to an hour
# (the first frame, a keyframe, counted once like any segment's). CPU: utime+stime of the
# recorder's process (all threads; the sampler's thread apart) over the wall time, from
# /proc/PID/stat. Seek: a 24-hour store at 10 s (8,640 frames, 24 segments) made by
# examples/record_store.rs from the real frames the 10 s run recorded, times shifted; then
# opened afresh and read at 20 times spread over the day (page cache warm: the store was just
# written).
# It removes what it made: the recorder (by pid), the population (its own teardown), the
# scratch dir. Also on failure or Ctrl-C.
#
# Usage: bench/record-bench.sh   (needs root, unshare, busybox-static)
# Tunables: RECORD_BENCH_MINUTES (4: the 10 s run; the 1 s run is a quarter of it),
# RECORD_BENCH_POPULATION (1; 0 measures on the host as it is), RECORD_BENCH_HOURS (24).
# A benchmark, never a test: it loads the machine for about half an hour.
set -euo pipefail

cd "$(dirname "$0")/.."
minutes=${RECORD_BENCH_MINUTES:-4}
hours=${RECORD_BENCH_HOURS:-24}
die() { echo "record-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 && $minutes -le 60 ]] || die "RECORD_BENCH_MINUTES: 1..60"

echo "record-bench: building isotop and examples/record_store (release)" >&2
cargo build --release --quiet --bin isotop --example record_store
target="${CARGO_TARGET_DIR:-target}/release"
isotop="$target/isotop"

scratch=$(mktemp -d /tmp/isotop-record-bench.XXXXXX)
holder=
recorder=
cleanup() {
    trap - EXIT INT TERM
    if [[ -n $recorder ]]; then kill -TERM "$recorder" 2>/dev/null || true; wait "$recorder" 2>/dev/null || true; fi
    if [[ -n $holder ]] && kill -0 "$holder" 2>/dev/null; then
        kill -TERM "$holder" 2>/dev/null || true
        wait "$holder" 2>/dev/null || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT INT TERM

if [[ ${RECORD_BENCH_POPULATION:-1} == 1 ]]; then
    command -v busybox >/dev/null || die "busybox not found (apt-get install busybox-static)"
    # shellcheck source=bench/lib.sh
    . bench/lib.sh
    start_population "$scratch/population.state"
fi
processes=$(ls /proc | grep -c '^[0-9]')
echo "record-bench: $processes processes on the host" >&2

store_bytes() { du -sb "$1" | awk '{ print $1 }'; }
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sampler_ticks() {
    local t sum=0
    for t in /proc/"$1"/task/*; do
        [[ $(cat "$t/comm") == isotop-sampler ]] && sum=$((sum + $(awk '{ print $14 + $15 }' "$t/stat")))
    done
    echo "$sum"
}

# record INTERVAL SECONDS DIR: runs the recorder, prints "bytes_per_hour cpu% sampler% frames".
record() {
    local interval=$1 seconds=$2 dir=$3 start wall used used_sampler bytes
    "$isotop" record -o "$dir" --interval "$interval" 2>"$scratch/record.err" &
    recorder=$!
    # The first frame (the sampler's slowest: every part read) before measuring.
    until ls "$dir"/*.isorec >/dev/null 2>&1 && [[ $(store_bytes "$dir") -gt 100000 ]]; do
        kill -0 "$recorder" 2>/dev/null || die "isotop record exited: $(cat "$scratch/record.err")"
        sleep 0.5
    done
    local bytes0 ticks0 sampler0
    bytes0=$(store_bytes "$dir")
    ticks0=$(cpu_ticks "$recorder")
    sampler0=$(sampler_ticks "$recorder")
    start=$(date +%s.%N)
    sleep "$seconds"
    wall=$(echo "$(date +%s.%N) - $start" | bc -l)
    used=$(( $(cpu_ticks "$recorder") - ticks0 ))
    used_sampler=$(( $(sampler_ticks "$recorder") - sampler0 ))
    kill -TERM "$recorder"
    wait "$recorder" || die "isotop record failed: $(cat "$scratch/record.err")"
    recorder=
    bytes=$(( $(store_bytes "$dir") - bytes0 ))
    printf '%.0f %.2f %.2f\n' "$(echo "$bytes / $wall * 3600" | bc -l)" \
        "$(echo "$used / $ticks_per_second / $wall * 100" | bc -l)" \
        "$(echo "$used_sampler / $ticks_per_second / $wall * 100" | bc -l)"
}

echo "record-bench: a frame every 10 s for $minutes minutes" >&2
# In this shell (not a process substitution), so the cleanup knows the recorder's pid.
record 10 $((minutes * 60)) "$scratch/ten" >"$scratch/ten.figures"
read -r per_hour_10 cpu_10 sampler_10 <"$scratch/ten.figures"
echo "record-bench: a frame every 1 s for $((minutes * 15)) s" >&2
record 1 $((minutes * 15)) "$scratch/one" >"$scratch/one.figures"
read -r per_hour_1 cpu_1 sampler_1 <"$scratch/one.figures"
largest=$(ls -S "$scratch"/ten/*.isorec | head -1)

echo "record-bench: stretching the 10 s frames to a $hours-hour store" >&2
nice "$target/examples/record_store" stretch "$scratch/ten" "$scratch/day" "$hours" 10
day_bytes=$(store_bytes "$scratch/day")
seek=$("$target/examples/record_store" seek "$scratch/day" 20)

mb() { echo "$1 / 1000000" | bc -l | xargs printf '%.1f'; }
echo "== isotop record on $processes processes"
printf 'a frame every 10 s: %s MB an hour; CPU %s %% of one core (the sampler thread %s %%)\n' \
    "$(mb "$per_hour_10")" "$cpu_10" "$sampler_10"
printf 'a frame every 1 s:  %s MB an hour; CPU %s %% of one core (the sampler thread %s %%)\n' \
    "$(mb "$per_hour_1")" "$cpu_1" "$sampler_1"
printf '%s-hour store at 10 s: %s MB; %s\n' "$hours" "$(mb "$day_bytes")" "$seek"
echo "(the 10 s run's largest segment: $(stat -c %s "$largest") bytes)"
echo "== below and atop, as their projects say"
echo "below (facebookincubator/below) and atop publish no bytes-per-hour figure for a host like"
echo "this one that this script could check; none is quoted here."
