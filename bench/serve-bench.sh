#!/usr/bin/env bash
# What `isotop serve` costs on bench/ns-population.sh's host (about 11,600 processes in 400 pid
# namespaces: 400 containers to isotop): one scrape's time and size in both formats (the first
# of a frame, which encodes it, and a cached one), then the exporter's CPU share and resident
# memory while scraped every 15 s for SERVE_BENCH_MINUTES minutes, printed beside what
# cAdvisor's project says of its own cost. The README's figures come from here.
#
# The exporter is the release binary with its default sampler interval (5 s) unless
# SERVE_BENCH_INTERVAL says otherwise; CPU is utime+stime of its process (all its threads:
# the sampler's, the HTTP thread, the encoder) over the wall time, from /proc/PID/stat; memory
# is VmRSS at the end and VmHWM (the peak). It removes what it made: the exporter (by pid),
# the population (its own teardown), the scratch dir. Also on failure or Ctrl-C.
#
# Usage: bench/serve-bench.sh   (needs root, unshare, busybox-static, curl)
# Tunables: SERVE_BENCH_MINUTES (3), SERVE_BENCH_INTERVAL (5), SERVE_BENCH_POPULATION (1; 0
# measures on the host as it is).
# A benchmark, never a test: it loads the machine for a few minutes.
set -euo pipefail

cd "$(dirname "$0")/.."
minutes=${SERVE_BENCH_MINUTES:-3}
interval=${SERVE_BENCH_INTERVAL:-5}
die() { echo "serve-bench: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root"
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 && $minutes -le 60 ]] || die "SERVE_BENCH_MINUTES: 1..60"
command -v curl >/dev/null || die "curl not found"

echo "serve-bench: building isotop (release)" >&2
cargo build --release --quiet
isotop="${CARGO_TARGET_DIR:-target}/release/isotop"

scratch=$(mktemp -d /tmp/isotop-serve-bench.XXXXXX)
holder=
server=
cleanup() {
    trap - EXIT INT TERM
    if [[ -n $server ]]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if [[ -n $holder ]] && kill -0 "$holder" 2>/dev/null; then
        kill -TERM "$holder" 2>/dev/null || true
        wait "$holder" 2>/dev/null || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT INT TERM

if [[ ${SERVE_BENCH_POPULATION:-1} == 1 ]]; then
    command -v busybox >/dev/null || die "busybox not found (apt-get install busybox-static)"
    # shellcheck source=bench/lib.sh
    . bench/lib.sh
    start_population "$scratch/population.state"
fi
processes=$(ls /proc | grep -c '^[0-9]')
echo "serve-bench: $processes processes on the host" >&2

"$isotop" serve --listen 127.0.0.1:0 --interval "$interval" 2>"$scratch/serve.err" &
server=$!
deadline=$((SECONDS + 60))
until grep -q 'serving' "$scratch/serve.err" 2>/dev/null; do
    kill -0 "$server" 2>/dev/null || die "isotop serve exited: $(cat "$scratch/serve.err")"
    ((SECONDS < deadline)) || die "isotop serve said nothing in 60 s"
    sleep 0.2
done
url=$(grep -o 'http://[^ ]*' "$scratch/serve.err" | head -1)
base=${url%/metrics}
deadline=$((SECONDS + 300))
until [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/healthz") == 200 ]]; do
    ((SECONDS < deadline)) || die "no frame after 300 s"
    sleep 1
done
# The second frame: rates and the per-core shares are there.
sleep "$interval"

om='Accept: application/openmetrics-text; version=1.0.0'
# A scrape of a frame no one has scraped yet encodes it: wait for the next frame first.
scrape() { curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$@" "$url"; }
first_prom=() first_om=() cached=()
for _ in 1 2 3; do
    seq_before=$(curl -s "$base/healthz" | grep -o '#[0-9]*')
    until [[ $(curl -s "$base/healthz" | grep -o '#[0-9]*') != "$seq_before" ]]; do sleep 0.1; done
    first_prom+=("$(scrape)")
    first_om+=("$(scrape -H "$om")")
    cached+=("$(scrape)")
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ms() { printf '%s\n' "$@" | awk '{ print $1 * 1000 }' | median; }
size() { printf '%s\n' "$@" | awk '{ print $2 }' | median; }
samples=$(curl -s "$url" | grep -vc '^#')

ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
# utime+stime of the exporter's threads named (or not named) isotop-sampler.
thread_ticks() {
    local sum=0 t comm
    for t in /proc/"$server"/task/*; do
        comm=$(cat "$t/comm")
        if { [[ $1 == sampler ]] && [[ $comm == isotop-sampler ]]; } \
            || { [[ $1 != sampler ]] && [[ $comm != isotop-sampler ]]; }; then
            sum=$((sum + $(awk '{ print $14 + $15 }' "$t/stat")))
        fi
    done
    echo "$sum"
}
start_ticks=$(cpu_ticks)
start_sampler=$(thread_ticks sampler)
start_rest=$(thread_ticks rest)
start=$(date +%s.%N)
end_at=$((SECONDS + minutes * 60))
scrapes=0
while ((SECONDS < end_at)); do
    curl -s -o /dev/null "$url"
    scrapes=$((scrapes + 1))
    sleep 15
done
wall=$(echo "$(date +%s.%N) - $start" | bc -l)
used=$(( $(cpu_ticks) - start_ticks ))
used_sampler=$(( $(thread_ticks sampler) - start_sampler ))
used_rest=$(( $(thread_ticks rest) - start_rest ))
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server/status")
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server/status")

echo "== isotop serve on $processes processes (sampler every $interval s)"
printf 'one scrape, Prometheus 0.0.4, first of its frame: %s ms, %s bytes (%s samples)\n' \
    "$(ms "${first_prom[@]}")" "$(size "${first_prom[@]}")" "$samples"
printf 'one scrape, OpenMetrics, first of its frame:      %s ms, %s bytes\n' \
    "$(ms "${first_om[@]}")" "$(size "${first_om[@]}")"
printf 'one scrape, cached text:                          %s ms\n' "$(ms "${cached[@]}")"
printf 'scraped every 15 s for %.0f s (%d scrapes): CPU %.2f %% of one core, RSS %d KiB (peak %d KiB)\n' \
    "$wall" "$scrapes" "$(echo "$used / $ticks_per_second / $wall * 100" | bc -l)" "$rss" "$hwm"
printf '  of which the sampler thread %.2f %%, the HTTP thread and encoders %.2f %%\n' \
    "$(echo "$used_sampler / $ticks_per_second / $wall * 100" | bc -l)" \
    "$(echo "$used_rest / $ticks_per_second / $wall * 100" | bc -l)"
echo "== cAdvisor, as its project and users say"
echo "cAdvisor publishes no overhead figures: google/cadvisor#1498 (\"Document and Test Cadvisor"
echo "Overhead\") closed without any. Reported: 7 % of a CPU at a 5 s scrape and ~3 % with"
echo "--housekeeping_interval=10s at a 15 s scrape, 29 containers on a dual-core Celeron"
echo "(google/cadvisor#2523); ~8 % -> ~3 % on CoreOS with dynamic housekeeping (google/cadvisor#223);"
echo "0.2 % on average over about 1000 standalone instances (google/cadvisor#1498)."
