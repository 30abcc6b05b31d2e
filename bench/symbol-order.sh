#!/usr/bin/env bash
# Regenerates assets/symbol-order.txt: the functions a dashboard run executes, hottest first,
# which build.rs hands the linker (lld's --symbol-ordering-file) in release builds.
#
# Why: the kernel maps a binary's code 64 KiB around each page a process touches
# (fault-around), so the ~3 MB of code a dashboard runs, scattered through a 12 MB `.text`,
# kept ~7 MiB of it resident. Laid side by side at the front, it keeps about what it is.
#
# How: builds isotop in release, starts bench/ns-population.sh (plain, then with a cgroup per
# container: both code paths), and runs `isotop -d 1` under valgrind's callgrind in a 160x48
# tmux pane for SYMBOL_ORDER_SECONDS (default 180) each, pressing every view's key (and help,
# a detail pane, a sort) SYMBOL_ORDER_KEY_SECONDS apart (default 25: valgrind runs ~50x slower),
# then q. Every function of the binary callgrind saw run (self cost > 0) is listed, by
# instructions summed over both runs, descending. The names are the mangled ones the linker
# sees; they hold while the code and the toolchain do — a name that no longer exists is skipped
# by the linker (laid out as before), so a stale list costs memory, never a build. Run it again
# after large changes or a toolchain update (bench/dashboard-bench.sh shows RSS).
#
# Usage: bench/symbol-order.sh   (needs root, valgrind, tmux, busybox, unshare, python3)
# A tool, never a test: it loads the machine for about fifteen minutes.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${SYMBOL_ORDER_SECONDS:-180}
key_seconds=${SYMBOL_ORDER_KEY_SECONDS:-25}
die() { echo "symbol-order: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (the population creates namespaces)"
for tool in valgrind tmux busybox unshare python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install $tool)"
done
[[ $seconds =~ ^[0-9]+$ && $key_seconds =~ ^[0-9]+$ ]] || die "seconds must be whole numbers"

echo "symbol-order: building isotop (release)" >&2
cargo build --release --quiet --bin isotop
binary=${CARGO_TARGET_DIR:-target}/release/isotop

scratch=$(mktemp -d /tmp/isotop-symbol-order.XXXXXX)
session=
holder=
cleanup() {
    trap - EXIT INT TERM
    [[ -n $session ]] && tmux kill-session -t "$session" 2>/dev/null || true
    if [[ -n $holder ]] && kill -0 "$holder" 2>/dev/null; then
        kill -TERM "$holder" 2>/dev/null || true
    fi
    [[ -n $holder ]] && wait "$holder" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$scratch/home/.config/isotop"

# shellcheck source=bench/lib.sh
. bench/lib.sh

# profile NAME CGROUPS: one callgrind run of the dashboard on a fresh population.
profile() {
    local name=$1 cgroups=$2
    NS_POP_CGROUPS=$cgroups start_population "$scratch/$name.state"
    session="isotop-symbol-order-$$-$name"
    tmux new-session -d -s "$session" -x 160 -y 48 \
        "exec env HOME=$scratch/home XDG_CONFIG_HOME=$scratch/home/.config LANG=C.UTF-8 \
         valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
         --callgrind-out-file=$scratch/$name.out --log-file=$scratch/$name.log $binary -d 1"
    local pid
    pid=$(tmux list-panes -t "$session" -F '#{pane_pid}') || die "the dashboard did not start"
    echo "symbol-order: $name: callgrind on pid $pid for ${seconds} s and the views" >&2
    sleep "$seconds"
    local key
    for key in 2 3 4 Enter Escape 5 6 1 Enter Escape '?' Escape s; do
        tmux send-keys -t "$session" "$key"
        sleep "$key_seconds"
    done
    tmux send-keys -t "$session" q
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 300)); do
        sleep 1
        waited=$((waited + 1))
    done
    kill -0 "$pid" 2>/dev/null && die "$name: the dashboard did not quit on q"
    tmux kill-session -t "$session" 2>/dev/null || true
    session=
    grep -q 'terminating with default action' "$scratch/$name.log" &&
        die "$name: the dashboard died under valgrind (see $scratch/$name.log)"
    kill -TERM "$holder"
    wait "$holder" 2>/dev/null || true
    holder=
}
profile plain 0
profile cgroups 1

python3 - "$binary" "$scratch/plain.out" "$scratch/cgroups.out" >assets/symbol-order.txt <<'EOF'
import collections, sys
binary, outputs = sys.argv[1], sys.argv[2:]
cost = collections.Counter()
name = binary.rsplit("/", 1)[-1]
ours = lambda ob: ob == name or ob.endswith("/" + name)  # callgrind names objects by path
for path in outputs:
    ob = fn = fn_ob = None
    call_cost_next = False
    for line in open(path, errors="replace"):
        if line.startswith("ob="):
            ob = line[3:].strip()
        elif line.startswith("fn="):
            fn, fn_ob = line[3:].strip(), ob
        elif line.startswith("calls="):
            call_cost_next = True  # the next cost line is the call's inclusive cost
        elif line[:1].isdigit() or line[:1] in "+-*":
            if call_cost_next:
                call_cost_next = False
                continue
            parts = line.split()
            if len(parts) >= 2 and fn and fn_ob and ours(fn_ob):
                cost[fn] += int(parts[1])
print("# The functions a dashboard run executes, hottest first (bench/symbol-order.sh made it;")
print("# build.rs hands it to the linker). Mangled names, one a line.")
for name, _ in cost.most_common():
    print(name)
EOF
count=$(grep -vc '^#' assets/symbol-order.txt)
((count > 100)) || die "only $count functions seen: callgrind did not see the dashboard run"
echo "symbol-order: wrote assets/symbol-order.txt ($count functions)" >&2
