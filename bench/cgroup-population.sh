#!/usr/bin/env bash
# Builds N cgroups with one sleeping process in each for benchmarking the sampler's cgroup
# cost, holds them until told to stop, then removes exactly what it made.
#
# Shape: a uniquely named parent (`isotop-cgpop-<pid>-<ns>`) with N children `c1`..`cN`
#   - v1 or hybrid host: in every v1 hierarchy the sampler reads per cgroup (CG_POP_CONTROLLERS,
#     default `cpu cpuacct memory pids blkio freezer`; a controller that is not mounted on its
#     own or co-mounted is used once), like a runtime's cgroupfs driver makes a container's
#     cgroups;
#   - v2 host: under the v2 root, with cpu, memory and pids (those the root has) enabled in
#     the parent's cgroup.subtree_control.
#   One `busybox sleep` (or `sleep`) per child, moved into that child in every hierarchy.
#
# Usage: bench/cgroup-population.sh N [STATE_FILE]
#   Writes STATE_FILE (default /tmp/isotop-cgroup-population.state) with `holder=<pid>` and
#   `parent=<name>`, then, once every child holds its process, `ready=<N>`; then waits.
#   SIGTERM, SIGINT (Ctrl-C) or any exit tears it down: each sleeper is killed by pid (they are
#   this script's children, reaped here, so no pid is reused in between), any process still
#   found in the population's cgroups is reported, then the cgroups are removed deepest first.
#   Nothing is killed by name. Exit status: 130 after SIGINT, 143 after SIGTERM (as a shell's),
#   1 when something could not be made or removed.
# Run one population at a time on a machine: the scale benchmark takes a lock around it.
# Needs root, busybox or coreutils sleep, mkdir/rmdir.
set -euo pipefail

count=${1:-}
state=${2:-/tmp/isotop-cgroup-population.state}
controllers=${CG_POP_CONTROLLERS:-cpu cpuacct memory pids blkio freezer}

die() { echo "cgroup-population: $*" >&2; exit 1; }

[[ $count =~ ^[0-9]+$ && $count -ge 1 && $count -le 20000 ]] \
    || die "usage: $0 N [STATE_FILE] (N cgroups, 1..20000)"
[[ $(id -u) == 0 ]] || die "needs root (creates cgroups)"
if sleeper=$(command -v busybox); then
    sleeper_args=("$sleeper" sleep 1000000)
elif sleeper=$(command -v sleep); then
    sleeper_args=("$sleeper" 1000000)
else
    die "no sleep found (apt-get install busybox-static)"
fi

# Bounds: leave room in the pid space and in memory for the rest of the machine (a memory
# cgroup costs the kernel some 100s of KiB with its per-CPU statistics; 512 KiB is generous).
pid_max=$(cat /proc/sys/kernel/pid_max)
running=$({ find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null || true; } | wc -l)
((running + count + 4000 <= pid_max)) \
    || die "$count more processes would leave too few pids (pid_max $pid_max, $running running)"
avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
need_kib=$((1024 * 1024 + count * 512))
((avail_kib >= need_kib)) \
    || die "needs $((need_kib / 1024)) MiB available memory for $count cgroups, $((avail_kib / 1024)) MiB are"

# Where: the hierarchies (one directory per distinct mount) the population is made in.
hierarchies=()
if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then
    hierarchies=(/sys/fs/cgroup)
else
    declare -A seen=()
    for controller in $controllers; do
        dir=/sys/fs/cgroup/$controller
        [[ -e $dir/tasks ]] || die "cgroup v1 controller $controller is not mounted at $dir"
        real=$(readlink -f "$dir")
        [[ -n ${seen[$real]:-} ]] && continue
        seen[$real]=1
        hierarchies+=("$real")
    done
fi
((${#hierarchies[@]} > 0)) || die "no cgroup hierarchy found under /sys/fs/cgroup"

parent="isotop-cgpop-$$-$(date +%s%N)"
sleepers=()
made=()

teardown() {
    local status=$?
    trap - EXIT INT TERM
    echo "cgroup-population: tearing down ${#sleepers[@]} processes, $count cgroups" >&2
    local pid dir
    for pid in "${sleepers[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${sleepers[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    # Anything else in our cgroups (someone moved it there): not ours to kill; rmdir of its
    # cgroup fails below and says so.
    for dir in "${made[@]}"; do
        local left
        left=$(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l)
        ((left == 0)) || echo "cgroup-population: $left foreign processes left in $dir" >&2
    done
    for dir in "${made[@]}"; do
        # Deepest first: the children (one rmdir call for all), then the parent.
        find "$dir" -mindepth 1 -maxdepth 1 -type d -print0 2>/dev/null | xargs -0r rmdir \
            || status=1
        rmdir "$dir" 2>/dev/null || { echo "cgroup-population: cannot remove $dir" >&2; status=1; }
    done
    rm -f "$state"
    echo "cgroup-population: done" >&2
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

printf 'holder=%s\nparent=%s\n' "$$" "$parent" >"$state"
echo "cgroup-population: making $count cgroups in ${#hierarchies[@]} hierarchies" >&2
names=()
for ((i = 1; i <= count; i++)); do names+=("c$i"); done
for hierarchy in "${hierarchies[@]}"; do
    mkdir "$hierarchy/$parent"
    made+=("$hierarchy/$parent")
    if [[ -e $hierarchy/cgroup.controllers ]]; then
        wanted=()
        for c in cpu memory pids; do
            grep -qw "$c" "$hierarchy/$parent/cgroup.controllers" && wanted+=("+$c")
        done
        ((${#wanted[@]} == 0)) || echo "${wanted[*]}" >"$hierarchy/$parent/cgroup.subtree_control"
    fi
    (cd "$hierarchy/$parent" && mkdir -- "${names[@]}")
done

for ((i = 1; i <= count; i++)); do
    "${sleeper_args[@]}" </dev/null >/dev/null 2>&1 &
    pid=$!
    sleepers+=("$pid")
    for hierarchy in "${hierarchies[@]}"; do
        echo "$pid" >"$hierarchy/$parent/c$i/cgroup.procs"
    done
done

echo "ready=$count" >>"$state"
echo "cgroup-population: ready: $count cgroups under $parent, one process each" >&2
# Hold until signalled; `wait` returns early on a trapped signal, which runs the teardown.
while :; do wait || true; sleep 1; done
