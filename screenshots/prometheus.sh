#!/usr/bin/env bash
# Makes screenshots/prometheus.png, the README's picture of Prometheus graphing isotop's
# metrics, from a real run on this host: a busy loop in a test cgroup of its own (an `unknown`
# container to isotop: `unshare --pid --mount`, its init a copy of perl named `demo-spin`)
# whose CPU quota steps 0.25 -> 0.5 -> 0.75 -> 0.5 CPU, one step a minute; `isotop serve`
# (release, 1 s sampler) scraped every 2 s by a Prometheus of this run's own (temp config and
# data dir, loopback); after PROM_SHOT_MINUTES (4) minutes of history, headless Chromium
# takes a screenshot of Prometheus' graph page of
#   rate(container_cpu_usage_seconds_total{name="demo-spin"}[30s])  and
#   container_spec_cpu_quota / container_spec_cpu_period
# Everything it starts is killed by pid and the cgroup removed at the end, also on failure.
# Needs root, prometheus, chromium, unshare, perl, curl (apt-get install prometheus chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${PROM_SHOT_MINUTES:-4}
die() { echo "prometheus.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (it makes a cgroup)"
for tool in prometheus chromium unshare perl curl; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install it)"
done
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 3 && $minutes -le 30 ]] || die "PROM_SHOT_MINUTES: 3..30"

cargo build --release --quiet --bin isotop
isotop=${CARGO_TARGET_DIR:-target}/release/isotop

work=$(mktemp -d /tmp/isotop-prom-shot.XXXXXX)
name=isotop-prom-shot-$$
# shellcheck source=bench/lib.sh
. bench/lib.sh
list_hierarchies
pids=()
cleanup() {
    set +e
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    for h in "${hierarchies[@]}"; do
        for p in $(cat "$h/$name/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    done
    sleep 1
    for h in "${hierarchies[@]}"; do [[ -d $h/$name ]] && rmdir "$h/$name"; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The cgroup: v1 cpusets get the root's CPUs and nodes.
for h in "${hierarchies[@]}"; do
    mkdir "$h/$name"
    if [[ -e $h/cpuset.cpus && ! -e $h/cgroup.controllers ]]; then
        cat "$h/cpuset.cpus" >"$h/$name/cpuset.cpus"
        cat "$h/cpuset.mems" >"$h/$name/cpuset.mems"
    fi
done
cpu_dir=/sys/fs/cgroup/cpu/$name
[[ -e /sys/fs/cgroup/cgroup.controllers ]] && cpu_dir=/sys/fs/cgroup/$name
quota() { # $1: microseconds per 100 ms period
    if [[ -e $cpu_dir/cpu.max ]]; then echo "$1 100000" >"$cpu_dir/cpu.max"
    else echo 100000 >"$cpu_dir/cpu.cfs_period_us"; echo "$1" >"$cpu_dir/cpu.cfs_quota_us"; fi
}
quota 25000

# The busy loop: a shell moves itself into the cgroup, then execs unshare; perl spins.
cp /usr/bin/perl "$work/demo-spin"
procs=()
for h in "${hierarchies[@]}"; do procs+=("$h/$name/cgroup.procs"); done
# shellcheck disable=SC2016
sh -c 'for f in "$@"; do echo $$ >"$f"; done
       exec unshare --pid --mount --fork --kill-child --mount-proc '"$work"'/demo-spin -e "1 while 1"' \
    sh "${procs[@]}" &
pids+=($!)

"$isotop" serve --listen 127.0.0.1:0 --interval 1 2>"$work/serve.err" &
pids+=($!)
until grep -q serving "$work/serve.err" 2>/dev/null; do sleep 0.2; done
target=$(grep -o '127.0.0.1:[0-9]*' "$work/serve.err" | head -1)

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs:
  - job_name: isotop
    static_configs:
      - targets: ['$target']
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn 2>"$work/prometheus.log" &
pids+=($!)

echo "prometheus.sh: recording $minutes minutes of history" >&2
steps=(25000 50000 75000 50000)
for ((m = 0; m < minutes; m++)); do
    quota "${steps[m % 4]}"
    sleep 60
done

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
e0=$(enc 'rate(container_cpu_usage_seconds_total{name="demo-spin"}[30s])')
e1=$(enc 'container_spec_cpu_quota{name="demo-spin"} / container_spec_cpu_period{name="demo-spin"}')
range="${minutes}m"
url="http://127.0.0.1:$port/graph?g0.expr=$e0&g0.tab=0&g0.range_input=$range&g1.expr=$e1&g1.tab=0&g1.range_input=$range"
# Prometheus answers the query itself first: no picture of an empty graph.
curl -sf "http://127.0.0.1:$port/api/v1/query?query=$e0" | grep -q demo-spin \
    || die "Prometheus has no series for demo-spin: $(cat "$work/prometheus.log")"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$work/chromium" --window-size=1280,1560 --virtual-time-budget=15000 \
    --screenshot="$work/shot.png" "$url" 2>"$work/chromium.log" \
    || die "chromium failed: $(tail -5 "$work/chromium.log")"
cp "$work/shot.png" screenshots/prometheus.png
echo "prometheus.sh: wrote screenshots/prometheus.png" >&2
