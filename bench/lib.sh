# Sourced by the benchmarks and picture scripts (not run on its own).
#
# list_hierarchies: fills `hierarchies` with each v1 controller mount (not the empty unified
# one of a hybrid host), or the v2 root — where a script makes its cgroups.
list_hierarchies() {
    hierarchies=()
    if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then
        hierarchies=(/sys/fs/cgroup)
        return
    fi
    local dir
    for dir in /sys/fs/cgroup/*/; do
        dir=${dir%/}
        if [[ -e $dir/tasks && $(basename "$dir") != unified ]]; then
            hierarchies+=("$dir")
        fi
    done
}

# start_population STATE: starts the population in the background (its pid in `holder`) and
# waits until it says it is ready (STATE gets `ready=`), at most 400 s; `die` (the caller's)
# when it exits early or takes longer. The caller stops it (SIGTERM to $holder) on its exit.
start_population() {
    local state=$1 deadline=$((SECONDS + 400))
    bench/ns-population.sh "$state" &
    holder=$!
    until grep -q '^ready=' "$state" 2>/dev/null; do
        kill -0 "$holder" 2>/dev/null || die "population script exited early"
        ((SECONDS < deadline)) || die "population not ready after 400 s"
        sleep 1
    done
}

# proc_cpu_ticks DIR: utime + stime, in clock ticks (getconf CLK_TCK), of /proc/PID (the whole
# process) or /proc/PID/task/TID (one thread); empty once it is gone.
proc_cpu_ticks() { awk '{ print $14 + $15 }' "$1/stat" 2>/dev/null; }

# rss_kib PID: its resident set (VmRSS), KiB; empty once it is gone.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
