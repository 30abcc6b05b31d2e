#!/usr/bin/env bash
# Builds a large, bounded population of namespaces and processes for benchmarking `isotop ns`
# against `lsns`, holds it until told to stop, then removes exactly what it made.
#
# Shape (defaults): 400 groups; each group is one `unshare --fork --kill-child` with 7 new
# namespaces (user, mnt, uts, ipc, net, pid, cgroup) running a busybox shell as PID 1 of its pid
# namespace with 27 `busybox sleep` children: 400 * (1 unshare + 1 sh + 27 sleep) = 11,600
# processes in 2,800 namespaces. busybox is static and tiny, so the whole population costs a few
# hundred MB (kernel stacks, page tables, one loopback device per net namespace).
#
# Usage: bench/ns-population.sh [STATE_FILE]
#   Builds the population, writes STATE_FILE (default /tmp/isotop-ns-population.state) with
#   `holder=<pid>` and finally `ready=<processes>`, then waits. SIGTERM or SIGINT (Ctrl-C) tears
#   it down: the shell that is PID 1 of each group's pid namespace is killed by pid (the kernel
#   then ends every process in that namespace), each unshare exits and is reaped here, and any
#   unshare still alive after 30 s is killed by pid. Nothing is killed by name.
# Tunables: NS_POP_GROUPS (1..2000), NS_POP_SLEEPERS (1..100), NS_POP_CGROUPS=1: each group in
#   a cgroup of its own (as a container runtime makes one) under a parent `isotop-pop-<pid>` —
#   cgroup v1: the cpu, cpuacct and pids hierarchies (never memory: this script's own memory
#   cgroup may not be ours to leave); cgroup v2: one cgroup with the cpu and pids controllers
#   where the root offers them. Removed at teardown. Default 0: every process stays in this
#   script's cgroups (one busy cgroup holds the whole population: the worst case for a tool
#   that skips quiet cgroups).
# Needs root, util-linux unshare, busybox (busybox-static).
set -euo pipefail

groups=${NS_POP_GROUPS:-400}
sleepers=${NS_POP_SLEEPERS:-27}
state=${1:-/tmp/isotop-ns-population.state}

die() { echo "ns-population: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (creates namespaces)"
[[ $groups =~ ^[0-9]+$ && $groups -ge 1 && $groups -le 2000 ]] || die "NS_POP_GROUPS must be 1..2000"
[[ $sleepers =~ ^[0-9]+$ && $sleepers -ge 1 && $sleepers -le 100 ]] || die "NS_POP_SLEEPERS must be 1..100"
own_cgroups=${NS_POP_CGROUPS:-0}
[[ $own_cgroups == 0 || $own_cgroups == 1 ]] || die "NS_POP_CGROUPS must be 0 or 1"
busybox=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
command -v unshare >/dev/null || die "unshare not found (util-linux)"

# Bounds: leave room in the pid space and in memory for the rest of the machine.
wanted=$((groups * (sleepers + 2)))
pid_max=$(cat /proc/sys/kernel/pid_max)
# A process that ends while find walks /proc makes it fail: the count stands anyway.
running=$({ find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null || true; } | wc -l)
((running + wanted + 4000 <= pid_max)) \
    || die "$wanted more processes would leave too few pids (pid_max $pid_max, $running running)"
avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
((avail_kib >= 4 * 1024 * 1024)) || die "less than 4 GiB available memory; not starting"

# Every process of the population carries this variable, so teardown can prove a pid is ours.
marker="ISOTOP_NS_POPULATION=$$.$(date +%s%N)"
unshares=()

# The parents of the groups' own cgroups (one per hierarchy), created below when asked.
cgroup_parents=()
if [[ $own_cgroups == 1 ]]; then
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
        bases=(/sys/fs/cgroup)
    else
        # One directory per hierarchy: `cpu` and `cpuacct` may be links to one `cpu,cpuacct`.
        bases=($(for c in cpu cpuacct pids; do
            [[ -d /sys/fs/cgroup/$c ]] && realpath "/sys/fs/cgroup/$c"
        done | sort -u))
    fi
    for base in "${bases[@]}"; do
        parent="$base/isotop-pop-$$"
        mkdir "$parent" || die "cannot create $parent"
        cgroup_parents+=("$parent")
        if [[ -f $base/cgroup.controllers ]]; then
            for c in cpu pids; do
                grep -qw "$c" "$base/cgroup.subtree_control" \
                    && { echo "+$c" >"$parent/cgroup.subtree_control" || true; }
            done
        fi
    done
fi

teardown() {
    trap - EXIT INT TERM
    echo "ns-population: tearing down ${#unshares[@]} groups" >&2
    local pid child
    for pid in "${unshares[@]}"; do
        # The group's shell: unshare's only child, PID 1 of the group's pid namespace.
        for child in $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do
            if tr '\0' '\n' <"/proc/$child/environ" 2>/dev/null | grep -qx "$marker"; then
                kill -KILL "$child" 2>/dev/null || true
            fi
        done
    done
    # unshare exits once its child is gone; it is our child, so its pid cannot be reused
    # before we reap it here.
    local deadline=$((SECONDS + 30))
    for pid in "${unshares[@]}"; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # The groups' cgroups, once their processes are gone (an exiting process leaves its cgroup
    # a moment after it is reaped: retried for up to 10 s).
    local parent dir
    shopt -s nullglob
    for parent in "${cgroup_parents[@]}"; do
        for dir in "$parent"/g*/ "$parent"/; do
            local until=$((SECONDS + 10))
            until rmdir "$dir" 2>/dev/null || ((SECONDS >= until)); do sleep 0.1; done
            [[ -d $dir ]] && echo "ns-population: could not remove $dir" >&2
        done
    done
    rm -f "$state"
    echo "ns-population: done" >&2
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "holder=$$" >"$state"
echo "ns-population: starting $groups groups of $((sleepers + 2)) processes" >&2
for ((g = 0; g < groups; g++)); do
    # The subshell joins the group's cgroups (if asked) and then becomes the group's unshare, so
    # its pid is the unshare's and everything the group starts is born in those cgroups.
    (
        for parent in "${cgroup_parents[@]}"; do
            mkdir -p "$parent/g$g" && echo "$BASHPID" >"$parent/g$g/cgroup.procs"
        done
        exec env "$marker" unshare --fork --kill-child --user --map-root-user --mount --uts --ipc --net \
        --pid --cgroup "$busybox" sh -c \
        "i=0; while [ \$i -lt $sleepers ]; do $busybox sleep 1000000 & i=\$((i + 1)); done; wait"
    ) &
    unshares+=("$!")
done

# Ready when every group's shell has all its sleepers (counted from the shells' children).
deadline=$((SECONDS + 300))
while :; do
    count=0
    for pid in "${unshares[@]}"; do
        for sh_pid in $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do
            kids=$(cat "/proc/$sh_pid/task/$sh_pid/children" 2>/dev/null || true)
            set -- $kids
            count=$((count + 2 + $#))
        done
    done
    ((count >= wanted)) && break
    ((SECONDS < deadline)) || die "population incomplete after 300 s ($count of $wanted)"
    sleep 0.5
done
total=$({ find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null || true; } | wc -l)
echo "ready=$total" >>"$state"
echo "ns-population: ready: $count processes in $((groups * 7)) new namespaces ($total on the host)" >&2
# Hold until signalled; `wait` returns early on a trapped signal, which runs the teardown.
while :; do wait || true; sleep 1; done
