#!/usr/bin/env bash
# Regenerates the pictures in screenshots/ from a real run on this host: starts two runc
# containers (busybox, with CPU, memory and pids limits written to their cgroups), one bare
# `unshare` container and one of isotop's own (`isotop run -d`, bridge network, limits, fetching
# from a web server on the bridge's host address and writing with O_DIRECT under an I/O limit), adds a
# named network namespace, runs isotop's views in a tmux pane of a fixed size, captures the
# pane and renders it to PNG (screenshots/render_terminal.py).
# Everything it starts is removed at the end, also on failure. Needs root, runc, busybox-static,
# tmux, jq, python3 with Pillow (installed with pip when missing) and the DejaVu fonts.
set -euo pipefail
cd "$(dirname "$0")/.."
out=screenshots
tag="isotop-demo-$$"
work=$(mktemp -d)
[[ $(id -u) == 0 ]] || { echo "make.sh: needs root (it starts containers)" >&2; exit 1; }
for tool in runc tmux jq busybox unshare ip; do
    command -v "$tool" >/dev/null || { echo "make.sh: $tool not found (apt-get install it)" >&2; exit 1; }
done
python3 -c 'import PIL' 2>/dev/null || pip install --quiet pillow
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ]] || apt-get install -y -qq fonts-dejavu-core

# A tmux server of this run's own (its own socket): nothing another tmux user or test does to
# the default server can end it between shots.
tm() { tmux -L "$tag" "$@"; }

cargo build --release --quiet --bin isotop
target=${CARGO_TARGET_DIR:-target}
[[ $target == /* ]] || target=$PWD/$target
isotop=$target/release/isotop

unshare_pid=""
demo_pid=""
httpd_pid=""
record_pid=""
cleanup() {
    set +e
    [[ -n $record_pid ]] && kill "$record_pid" 2>/dev/null && wait "$record_pid" 2>/dev/null
    [[ -n $httpd_pid ]] && kill "$httpd_pid" 2>/dev/null && wait "$httpd_pid" 2>/dev/null
    tm kill-session -t "$tag" 2>/dev/null
    tm kill-session -t "$tag-dash" 2>/dev/null
    tm kill-session -t "$tag-hold" 2>/dev/null
    tm kill-server 2>/dev/null
    for id in web db; do
        runc kill "$tag-$id" KILL 2>/dev/null
        runc delete -f "$tag-$id" 2>/dev/null
    done
    # unshare ignores TERM while it waits for its child; KILL it, and --kill-child ends the rest.
    [[ -n $unshare_pid ]] && kill -KILL "$unshare_pid" 2>/dev/null && wait "$unshare_pid" 2>/dev/null
    [[ -n $demo_pid ]] && kill -KILL "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
    ip netns delete "$tag" 2>/dev/null
    "$isotop" rm -f demo-api >/dev/null 2>&1
    "$isotop" rm -f demo-batch >/dev/null 2>&1
    for dir in /sys/fs/cgroup/*/"$tag" /sys/fs/cgroup/"$tag"; do
        [[ -d $dir ]] || continue
        find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

# A busybox bundle shared by both containers (read-only root).
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in sh sleep yes cat; do ln -s busybox "$work/rootfs/bin/$applet"; done

start_container() { # id, command..., cgroup limits follow via set_limits
    local id=$1; shift
    local bundle="$work/$id"
    mkdir -p "$bundle"
    runc spec --bundle "$bundle"
    jq --arg root "$work/rootfs" --arg cg "/$tag/$id" --argjson args "$(printf '%s\n' "$@" | jq -R . | jq -s .)" \
        '.root.path = $root | .process.args = $args | .process.terminal = false | .linux.cgroupsPath = $cg
         | .hostname = "'"$id"'"' "$bundle/config.json" > "$bundle/c.json"
    mv "$bundle/c.json" "$bundle/config.json"
    runc run -d --bundle "$bundle" "$tag-$id" </dev/null >/dev/null 2>"$work/$id.err" \
        || { cat "$work/$id.err" >&2; exit 1; }
}
v1=/sys/fs/cgroup
start_container web sh -c 'yes > /dev/null & yes > /dev/null & sleep 100000'
start_container db sh -c 'sleep 100000 & sleep 100000'
if [[ -d $v1/cpu/$tag ]]; then
    echo 50000 > "$v1/cpu/$tag/web/cpu.cfs_quota_us"
    echo $((256 << 20)) > "$v1/memory/$tag/web/memory.limit_in_bytes"
    echo 64 > "$v1/pids/$tag/web/pids.max"
    echo $((128 << 20)) > "$v1/memory/$tag/db/memory.limit_in_bytes"
else
    echo "50000 100000" > "$v1/$tag/web/cpu.max"
    echo $((256 << 20)) > "$v1/$tag/web/memory.max"
    echo 64 > "$v1/$tag/web/pids.max"
    echo $((128 << 20)) > "$v1/$tag/db/memory.max"
fi
unshare --fork --pid --mount-proc --mount --uts --net --kill-child sh -c 'sleep 100000 & sleep 100000' &
unshare_pid=$!
ip netns add "$tag"
"$isotop" rm -f demo-api >/dev/null 2>&1 || true
"$isotop" run -d --name demo-api --net bridge --cpus 0.3 --memory 64M --pids 32 -- \
    sh -c 'echo "api up on $(ip -4 -br addr show eth0)"; mkdir -p /var/cache/api
           (n=0; while :; do head -c 1048576 /dev/urandom > /var/cache/api/chunk-$n; echo "cached chunk-$n"; n=$((n+1)); sleep 4; done) &
           (while :; do dd if=/dev/zero of=/var/cache/api/direct bs=1M count=8 oflag=direct 2>&1 | tail -n 1 >&2; sleep 4; done) &
           gw=$(ip -4 route show default | cut -d" " -f3)
           (while :; do wget -q --limit-rate=2m -O /dev/null "http://$gw:18080/blob"; done) &
           while :; do :; done' >/dev/null
sleep 1
# demo-api's network traffic: it fetches at 2 MiB a second (wget --limit-rate) from a web server on the host's end of
# isotop's bridge (the bridge's own address; nothing leaves the host). Its disk I/O: 8 MiB
# written with O_DIRECT every 4 s, held to 4 MiB/s by an I/O limit (the limit is also what makes
# v1 blk-throttle count the disk's I/O at all: see README, block I/O).
gateway=$(ip -4 -br addr show isotop0 | awk '{print $3}' | cut -d/ -f1)
mkdir -p "$work/www" && head -c $((2 << 20)) /dev/urandom > "$work/www/blob"
busybox httpd -f -p "$gateway:18080" -h "$work/www" &
httpd_pid=$!
root_dev=$(findmnt -n -o SOURCE --target /var/lib/isotop)
"$isotop" limit demo-api --device-write-bps "$root_dev=4M" >/dev/null

# One idle session keeps the tmux server up between shots (a new session racing the exit of
# the server's last one fails with "server exited unexpectedly").
tm new-session -d -s "$tag-hold" "sleep 100000"
shot() { # name, columns, rows, isotop args...
    local name=$1 cols=$2 rows=$3; shift 3
    tm kill-session -t "$tag" 2>/dev/null || true
    # The command is the pane's program: no shell prompt in the picture.
    tm new-session -d -s "$tag" -x "$cols" -y "$rows" \
        "$isotop $* 2>/dev/null | head -$((rows - 1)); sleep 60"
    sleep "${shot_wait:-2.5}"
    tm capture-pane -t "$tag" -p -e > "$work/$name.txt"
    python3 screenshots/render_terminal.py "$work/$name.txt" "$out/$name.png" --title "\$ isotop $*"
    echo "wrote $out/$name.png"
}
# One section of a long output: the lines from the one starting with `from` to the one before
# the line starting with `to`.
shot_part() { # name, columns, rows, from, to, isotop args...
    local name=$1 cols=$2 rows=$3 from=$4 to=$5; shift 5
    tm kill-session -t "$tag" 2>/dev/null || true
    tm new-session -d -s "$tag" -x "$cols" -y "$rows" \
        "$isotop $* 2>/dev/null | sed -n '/^$from/,/^$to/p' | sed '\$d' | head -$((rows - 1)); sleep 60"
    sleep 2.5
    tm capture-pane -t "$tag" -p -e > "$work/$name.txt"
    python3 screenshots/render_terminal.py "$work/$name.txt" "$out/$name.png" \
        --title "\$ isotop $*   ($from … $to)"
    echo "wrote $out/$name.png"
}
# The dashboard: one session, keys sent between captures (colours kept with -e).
dash() { # name, keys...
    local name=$1; shift
    for key in "$@"; do tm send-keys -t "$tag-dash" "$key"; sleep 0.6; done
    sleep 1.5
    tm capture-pane -t "$tag-dash" -p -e > "$work/$name.txt"
    python3 screenshots/render_terminal.py "$work/$name.txt" "$out/$name.png"
    echo "wrote $out/$name.png"
}
# A hand-made cgroup, as operators make them, with a busy loop in it: `isotop limit /path`
# throttles it (the Cgroups view acts on it the same way).
if [[ -d $v1/cpu ]]; then
    mkdir -p "$v1/cpu/$tag/cpudemo" "$v1/cpuacct/$tag/cpudemo"
    sh -c 'while :; do :; done' &
    demo_pid=$!
    echo "$demo_pid" > "$v1/cpu/$tag/cpudemo/cgroup.procs"
    echo "$demo_pid" > "$v1/cpuacct/$tag/cpudemo/cgroup.procs"
else
    mkdir -p "$v1/$tag/cpudemo"
    sh -c 'while :; do :; done' &
    demo_pid=$!
    echo "$demo_pid" > "$v1/$tag/cpudemo/cgroup.procs"
fi
"$isotop" limit "/$tag/cpudemo" --cpus 0.2 >/dev/null

# The demo's config: the writable layers re-walked every 5 s (60 s by default) so demo-api's
# writable layer, which grows by 1 MiB every 4 s, draws its growth within the history shown.
mkdir -p "$work/config/isotop"
# Its dumps on trouble (the batch job's OOM kill, the throttled cgroup) go to the run's own
# directory, not the host's state directory.
sed -e 's/^writable_every = 60$/writable_every = 5/' \
    -e "s|^\[trouble\]\$|[trouble]\ndir = \"$work/trouble\"|" \
    assets/config.toml > "$work/config/isotop/config.toml"
tm new-session -d -s "$tag-dash" -x 200 -y 50 "XDG_CONFIG_HOME=$work/config $isotop -d 1"
# The flight recorder beside it, every second, for the replay's pictures.
"$isotop" record -o "$work/record" --interval 1 2>/dev/null &
record_pid=$!
# Minutes of real history for the charts (ISOTOP_SHOT_HISTORY seconds; the detail shot zooms
# the span to 2 minutes so the charts are full).
# Things happen while it watches (the Events view's rows): isotop raises demo-api's memory
# limit, someone raises db's behind isotop's back, and a batch job in a 16M container has a
# child OOM-killed and exits with code 3.
history=${ISOTOP_SHOT_HISTORY:-150}
(
    sleep $((history / 4))
    "$isotop" limit demo-api --memory 80M >/dev/null
    sleep 10
    if [[ -d $v1/memory/$tag ]]; then
        echo $((192 << 20)) > "$v1/memory/$tag/db/memory.limit_in_bytes"
    else
        echo $((192 << 20)) > "$v1/$tag/db/memory.max"
    fi
    sleep 10
    "$isotop" run -d --name demo-batch --memory 16M -- \
        sh -c 'echo batch starts; sleep 3; head -c 64M /dev/zero | tail > /dev/null; echo tail was killed >&2; sleep 3; exit 3' >/dev/null
) &
sleep "$history"
dash dashboard-containers 1
dash dashboard-detail / web Enter Enter + +
# demo-api's network and disk charts, the disk's with its I/O limit line.
dash dashboard-traffic Escape Escape / demo-api Enter Enter
# The charts' time cursor (<) 40 samples back, then the log pane opened at its time (l).
# shellcheck disable=SC2046
dash dashboard-cursor $(printf '< %.0s' $(seq 40))
dash dashboard-cursor-log l
tm send-keys -t "$tag-dash" Escape
# demo-api's overlay root (isotop's own layers): `v` on its row opens the Layers pane, again
# the Mounts.
dash dashboard-layers Escape Escape / demo-api Enter v
dash dashboard-mounts v
dash dashboard-cgroups Escape Escape 2
dash dashboard-copy y
tm send-keys -t "$tag-dash" Escape
dash dashboard-namespaces 3
dash dashboard-processes 4
dash dashboard-network 5
dash dashboard-events 6
# demo-api's log pane: its stdout (the cached chunks) and stderr (dd's figures), following.
dash dashboard-logs 1 / demo-api Enter l
tm send-keys -t "$tag-dash" Escape
dash dashboard-help '?'
dash dashboard-launch '?' n
tm send-keys -t "$tag-dash" Escape
tm kill-session -t "$tag-dash"

# The replay of what the recorder wrote meanwhile (the whole run, ~4 minutes), at its newest
# frame: the time bar, the Containers view as it was, web's charts with their recorded history
# (the span zoomed to 2 minutes, as live), the Events view up to that frame — the batch job's
# OOM kill and exit among them.
kill "$record_pid" && wait "$record_pid"
record_pid=""
tm new-session -d -s "$tag-dash" -x 200 -y 50 \
    "XDG_CONFIG_HOME=$work/config $isotop replay $work/record"
sleep 2
dash dashboard-replay 1
dash dashboard-replay-detail / web Enter Enter + +
dash dashboard-replay-events Escape Escape 6
tm kill-session -t "$tag-dash"

shot ls 132 8 ls
# Rates over 3 s: demo-api's disk writes come in bursts.
shot_wait=5 shot ls-wide 210 8 ls --wide --interval 3
shot ls-size 150 8 ls --size
shot ps 110 8 ps "$tag-web"
shot inspect 132 56 inspect "$tag-web"
shot_part inspect-layers 170 12 Root Mounts inspect --size demo-api
shot ns 150 30 ns
shot ns-tree 150 40 ns --tree
shot cgroups 150 10 cgroups "/$tag"
shot logs 100 4 logs demo-api
shot events 200 24 events --since 5m
# A foreground run: the pane's program is a script, so the picture shows the command line.
cat > "$work/run.sh" <<RUN
echo '\$ isotop run --rm --net bridge --memory 32M -- sh -c "hostname; ip -br addr; ps"'
$isotop run --rm --net bridge --memory 32M -- sh -c 'hostname; ip -br addr; ps'
sleep 60
RUN
tm kill-session -t "$tag" 2>/dev/null || true
tm new-session -d -s "$tag" -x 100 -y 12 "bash $work/run.sh"
sleep 2.5
tm capture-pane -t "$tag" -p -e > "$work/run.txt"
python3 screenshots/render_terminal.py "$work/run.txt" "$out/run.png"
echo "wrote $out/run.png"
