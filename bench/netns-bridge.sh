# Sourced by bench/net-bench.sh and bench/sample-net-bench.sh (not run by itself): N named
# network namespaces on one bench bridge, each with `lo` up, a veth pair to the bridge (its
# host end up on the bridge, `eth0` inside with an address of 10.<octet>.0.0/16; no address on
# the bridge: nothing is routed, and no packet is sent) and one process started inside with
# `nsenter --net`; and removing exactly what was made.
#
# The sourcing script sets `tag` (namespace names: <tag>-<i>), `bridge` (the bridge's name),
# `veth` (host ends: <veth><i>, 15 characters at most) and `octet`, then calls
# `populate N COMMAND...` (the process each namespace holds) and `cleanup` (also installed on
# EXIT, INT and TERM): the holders killed by pid and reaped (nothing by name), the namespaces
# deleted by the names given them (which deletes the veths), the bridge deleted.

made=()    # namespace names added
holders=() # pids of the processes started

cleanup() {
    local pid name
    for pid in "${holders[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${holders[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    holders=()
    for name in "${made[@]}"; do
        ip netns delete "$name" 2>/dev/null || true
    done
    made=()
    ip link delete "$bridge" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

populate() {
    local n=$1 i name batch
    shift
    ip link add "$bridge" type bridge
    ip link set "$bridge" up
    batch=$(mktemp)
    for ((i = 0; i < n; i++)); do
        name=$tag-$i
        ip netns add "$name"
        made+=("$name")
        echo "link add $veth$i type veth peer name eth0 netns $name" >>"$batch"
        echo "link set $veth$i master $bridge up" >>"$batch"
    done
    ip -batch "$batch"
    for ((i = 0; i < n; i++)); do
        name=$tag-$i
        printf 'link set lo up\nlink set eth0 up\naddress add 10.%d.%d.%d/16 dev eth0\n' \
            "$octet" $((i / 250)) $((i % 250 + 2)) >"$batch"
        ip -n "$name" -batch "$batch"
        nsenter --net="/run/netns/$name" "$@" </dev/null &
        holders+=("$!")
    done
    rm -f "$batch"
}
