#!/bin/bash
# PID 1 of the isotop test VM after switch_root, running inside the host's (read-only) tree:
# runs each integration-test binary listed in /run/isotop-vm/tests.list as root with the
# arguments in /run/isotop-vm/test-args (two test threads, --include-ignored, the host-only
# --skip filters, and what the caller added), stdout to the second serial port and stderr to
# the third (the host streams both), writes the overall exit code to
# /run/isotop-vm/exit-code and powers the VM off.
# As PID 1, bash also reaps orphans (containers' inits killed by tests) while it waits.
share=/run/isotop-vm

# Raw ports: no CR added to every LF.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
stty -F /dev/ttyS2 raw -echo 2>/dev/null
exec >/dev/ttyS1 2>/dev/ttyS2

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp USER=root LANG=C.UTF-8 RUST_BACKTRACE=1 TERM=dumb

finish() {
	echo "$1" >"$share/exit-code"
	sync
	/bin/busybox poweroff -f
	sleep 60
}

# Loopback up, as on any booted host: the exporter's and the remote dashboard's tests talk over
# 127.0.0.1 (a new network namespace, this VM's first, starts with `lo` down).
ip link set lo up || echo "isotop-vm: cannot bring lo up"

cd "$(cat "$share/repo")" || finish 2
echo "isotop-vm: kernel $(uname -r), $(nproc) CPUs; cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

mapfile -t test_args <"$share/test-args"
# A failing binary's libtest "failures:" section (each failed test's panic and output) is told
# again after the last binary: a CI log cut to its start and end still shows why.
set -o pipefail
passed=0
failed=()
while read -r name exe; do
	echo "isotop-vm: running $name"
	"$exe" "${test_args[@]}" </dev/null | tee "/tmp/isotop-vm-$name.out" &
	wait $!
	rc=$?
	if [[ $rc == 0 ]]; then
		passed=$((passed + 1))
	else
		failed+=("$name")
		echo "isotop-vm: $name FAILED (exit $rc)"
	fi
done <"$share/tests.list"

# The tests' drop guards remove every cgroup they made: a leftover is a cleanup bug.
leftovers=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 1 -type d -name 'isotop-test-*')
if [[ -n $leftovers ]]; then
	echo "isotop-vm: test cgroups left behind: ${leftovers//$'\n'/ }"
	failed+=("(cleanup)")
fi
for name in "${failed[@]}"; do
	[[ -f /tmp/isotop-vm-$name.out ]] || continue
	echo "isotop-vm: why $name failed (its first 200 lines of failures):"
	sed -n '/^failures:$/,/^test result:/p' "/tmp/isotop-vm-$name.out" | head -200
done
if ((${#failed[@]})); then
	echo "isotop-vm: ${#failed[@]} of $((passed + ${#failed[@]})) test binaries failed: ${failed[*]}"
	finish 1
fi
echo "isotop-vm: every test binary passed ($passed)"
finish 0
