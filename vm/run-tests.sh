#!/usr/bin/env bash
# Runs isotop's root integration tests on a real cgroup v2 kernel: a stock Debian kernel booted
# under QEMU with a small busybox initramfs that mounts cgroup2 at /sys/fs/cgroup (cpu, memory,
# pids, io and cpuset enabled for children), shares this host's root file system read-only over
# 9p and runs the test binaries built here, at the same absolute paths, as root inside, with
# `--include-ignored` (the root-only tests are `#[ignore = "needs root"]`).
# The guest's stdout and stderr stream to this script's; its exit code is the tests' exit code.
#
# Usage: vm/run-tests.sh [--prepare] [TEST_TARGET...] [-- TEST_ARGS...]
#   TEST_TARGET   integration-test crates to run (host, act, launch, ui); default: all four,
#                 without the host-only tests listed below
#   TEST_ARGS     passed to every test binary (e.g. a name filter such as v2_kernel, --nocapture)
#   --prepare     only fetch/cache QEMU and the kernel, build nothing, boot nothing
# Environment:
#   ISOTOP_VM_CACHE    kernel cache (default /var/cache/isotop-vm, outside the repository)
#   ISOTOP_VM_TIMEOUT  seconds before a hung guest is killed (default 1500: the four test
#                      binaries took 772 s under CI's emulation on 2026-12-07)
#   ISOTOP_VM_ACCEL    kvm or tcg (default: kvm only where the CPU shows vmx/svm, else tcg)
#   ISOTOP_VM_MEMORY   guest memory (default 2G)
#   CARGO_TARGET_DIR   honoured as by cargo: the tests run from wherever cargo builds them
# Exit codes: the tests' (0 = all passed); 1 when a test failed; 2 when the VM cannot start
# (missing QEMU, kernel package unreachable, not root); 124 when the guest timed out.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ISOTOP_VM_CACHE:-/var/cache/isotop-vm}
timeout_s=${ISOTOP_VM_TIMEOUT:-1500}
memory=${ISOTOP_VM_MEMORY:-2G}
# The 9p stack of Debian's 6.1 kernel is modular: these load in this order (measured).
# The launch tests add overlay (union root file systems), veth and bridge (with its llc and stp);
# the block I/O tests loop (a loop device of their own).
# Test modules (crate::module) not run in the VM unless their crate is named: those that read
# fixtures only (no kernel state), and those whose subject does not depend on the cgroup
# version (tar unpacking, the layer cache, target names, terminal signals, crash-safety of
# timed reverts, the packaging files and the exporter's capabilities, the flight recorder's
# store, its dumps and `--at` answers on fixture frames: the same code on v1 and v2, and minutes
# under software emulation — the store cut at every byte alone took minutes there;
# act::limits and act::owned_cgroups cover the v2 writes). Each becomes a `--skip module::`
# filter for every test binary (libtest names tests without their crate; these module names
# are unique across the four crates).
host_only=(ui::snapshots act::revert_crash launch::unpack_escape launch::unpack_bounds
  launch::image_bounds launch::image_outer launch::image_reuse launch::image_cache
  act::target_hostile ui::tmux_signals host::deploy_manifests host::deploy_grafana
  host::deploy_package host::deploy_caps host::record_crash host::record_keep
  host::record_deltas host::record_store host::record_trouble host::record_cli host::cli_at
  ui::replay_app ui::replay_cli ui::trouble_config)
modules_9p=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  netfs fscache 9pnet 9pnet_virtio 9p overlay veth llc stp bridge loop)

say() { printf 'vm: %s\n' "$*" >&2; }
cannot_start() {
  say "CANNOT START THE VM: $*"
  exit 2
}

prepare_only=false
targets=()
test_args=()
while (($#)); do
  arg=$1
  shift
  case $arg in
  --)
    test_args=("$@")
    break
    ;;
  --prepare) prepare_only=true ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  -*) cannot_start "unknown option $arg (see --help)" ;;
  *) targets+=("$arg") ;;
  esac
done

[[ $(id -u) == 0 ]] || cannot_start "needs root (installs packages, the guest shares / read-only)"

apt_updated=false
apt_update() {
  if ! $apt_updated; then
    apt-get update -qq || cannot_start "apt-get update failed (is the Debian registry reachable?)"
    apt_updated=true
  fi
}

# QEMU: Debian 12's qemu-system-x86 conflicts with the qemu-utils 10.x from bookworm-backports
# these machines ship, so it comes from bookworm-backports (added when absent).
ensure_qemu() {
  command -v qemu-system-x86_64 >/dev/null && return
  say "installing qemu-system-x86 from bookworm-backports"
  export DEBIAN_FRONTEND=noninteractive
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat >/etc/apt/sources.list.d/isotop-vm-backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt_updated=false
  fi
  apt_update
  apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 >&2 ||
    cannot_start "could not install qemu-system-x86 (apt-get install -t bookworm-backports)"
  command -v qemu-system-x86_64 >/dev/null || cannot_start "qemu-system-x86_64 missing after install"
}

# busybox-static is the initramfs's whole toolbox (and the guest's poweroff); xz unpacks the
# kernel.
ensure_tools() {
  local missing=()
  [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
  command -v xz >/dev/null || missing+=(xz-utils)
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    cannot_start "could not install ${missing[*]}"
}

# The kernel: Debian's linux-image-6.1.0-*-amd64 (the one linux-image-amd64 depends on),
# unpacked with dpkg-deb into the cache. QEMU boots the uncompressed ELF vmlinux through its
# PVH entry: under software emulation that skips ~3.8 s of self-decompression.
ensure_kernel() {
  if [[ -s $cache/kernel/vmlinux && -s $cache/kernel/version ]]; then
    kver=$(<"$cache/kernel/version")
    [[ -d $cache/kernel/root/lib/modules/$kver ]] && return
  fi
  say "fetching the Debian kernel into $cache/kernel"
  local pkg work
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}') || true
  if [[ -z $pkg ]]; then
    apt_update
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}') || true
  fi
  [[ -n $pkg ]] || cannot_start "no linux-image-*-amd64 package known to apt (Debian registry unreachable?)"
  work=$(mktemp -d "$cache.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$cache")" && mktemp -d "$cache.XXXXXX"; })
  if ! (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2); then
    apt_update
    (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2) || { rm -rf "$work"; cannot_start "apt-get download $pkg failed"; }
  fi
  mkdir "$work/root"
  dpkg-deb -x "$work"/"$pkg"_*.deb "$work/root"
  kver=${pkg#linux-image-}
  local vmlinuz=$work/root/boot/vmlinuz-$kver offset
  [[ -f $vmlinuz ]] || { rm -rf "$work"; cannot_start "$pkg has no /boot/vmlinuz-$kver"; }
  # The xz stream inside the bzImage holds vmlinux; trailing bytes after it make xz complain.
  offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | awk -F: 'NR == 1 {print $1}' || true)
  [[ -n $offset ]] || { rm -rf "$work"; cannot_start "no xz stream in $vmlinuz"; }
  tail -c +"$((offset + 1))" "$vmlinuz" | xz -dc 2>/dev/null >"$work/vmlinux" || true
  [[ $(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' ') == 7f454c46 ]] ||
    { rm -rf "$work"; cannot_start "could not extract vmlinux from $vmlinuz"; }
  rm -f "$work"/*.deb
  echo "$kver" >"$work/version"
  rm -rf "$cache/kernel"
  mkdir -p "$cache"
  mv "$work" "$cache/kernel"
  say "kernel $kver cached"
}

# KVM only where the CPU exposes hardware virtualisation: these machines' /dev/kvm is a
# paravirtual nested hypervisor (kvm_pvm, no vmx/svm) that does not boot stock kernels.
choose_accel() {
  case ${ISOTOP_VM_ACCEL:-} in
  kvm | tcg) accel=$ISOTOP_VM_ACCEL ;;
  "")
    if [[ -r /dev/kvm && -w /dev/kvm ]] && grep -Eqw 'vmx|svm' /proc/cpuinfo; then
      accel=kvm
    else
      accel=tcg
    fi
    ;;
  *) cannot_start "ISOTOP_VM_ACCEL must be kvm or tcg" ;;
  esac
}

# The initramfs: static busybox, the 9p modules, and vm/init as /init.
build_initramfs() {
  local dir=$run/initramfs m file
  mkdir -p "$dir"/{bin,dev,proc,sys,newroot,modules}
  cp /bin/busybox "$dir/bin/busybox"
  ln -s busybox "$dir/bin/sh"
  for m in "${modules_9p[@]}"; do
    file=$(find "$cache/kernel/root/lib/modules/$kver" -name "$m.ko*" -print -quit)
    [[ -n $file ]] || cannot_start "module $m.ko missing from the kernel package"
    case $file in
    *.xz) xz -dc "$file" >"$dir/modules/$m.ko" ;;
    *.zst) zstd -dcq "$file" >"$dir/modules/$m.ko" ;;
    *) cp "$file" "$dir/modules/$m.ko" ;;
    esac
  done
  printf '%s\n' "${modules_9p[@]}" >"$dir/modules/order"
  cp "$repo/vm/init" "$dir/init"
  chmod +x "$dir/init"
  (cd "$dir" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$run/initramfs.cpio.gz")
}

# Builds the integration-test binaries here (as `cargo test --locked` would, so CI reuses its
# build), lists their absolute paths for the guest, and writes the arguments every binary gets.
build_tests() {
  local args=(test --no-run --locked --message-format=json) t
  for t in "${targets[@]}"; do args+=(--test "$t"); done
  [[ ${#targets[@]} -gt 0 ]] || args+=(--tests)
  say "building the test binaries: cargo ${args[*]}"
  (cd "$repo" && cargo "${args[@]}") >"$run/cargo.json" ||
    { say "cargo build of the tests failed"; exit 1; }
  jq -r 'select(.reason == "compiler-artifact" and .executable != null
      and (.target.kind | index("test"))) | "\(.target.name) \(.executable)"' \
    "$run/cargo.json" | sort -u >"$run/share/tests.list"
  # Without named targets, tests that touch no kernel state are left to the host run: the
  # snapshot tests render fixture frames only and take ~20 s under software emulation.
  local skips=() m
  if ((${#targets[@]} == 0)); then
    for m in "${host_only[@]}"; do skips+=(--skip "${m#*::}::"); done
  fi
  printf '%s\n' --test-threads 2 --include-ignored "${skips[@]}" "${test_args[@]}" >"$run/share/test-args"
  [[ -s $run/share/tests.list ]] || { say "no integration-test binary was built"; exit 1; }
  # The guest mounts fresh tmpfs on /tmp, /var/tmp and /run: these stay visible through them.
  {
    echo "$repo"
    (cd "$repo" && cargo metadata --format-version 1 --no-deps --locked) | jq -r .target_directory
  } >"$run/share/keep"
  say "$(wc -l <"$run/share/tests.list") test binaries, $((${#skips[@]} / 2)) host-only test modules skipped"
}

ensure_qemu
ensure_tools
ensure_kernel
$prepare_only && { say "prepared: QEMU $(qemu-system-x86_64 --version | head -n1), kernel $kver"; exit 0; }
command -v jq >/dev/null || cannot_start "jq is missing (apt-get install jq)"
command -v cargo >/dev/null || cannot_start "cargo is missing"

run=$(mktemp -d /tmp/isotop-vm.XXXXXX)
trap 'rm -rf "$run"' EXIT
mkdir -p "$run/share"
# The guest mounts a tmpfs here (the shared root is read-only): the mount point must exist.
mkdir -p /var/lib/isotop
build_tests
build_initramfs
choose_accel
cp "$repo/vm/guest.sh" "$run/share/guest.sh"
echo "$repo" >"$run/share/repo"

say "booting Debian kernel $kver ($accel, 2 vCPUs, $memory), timeout ${timeout_s}s"
start=$(date +%s)
qemu_args=(
  -name isotop-v2 -machine q35 -accel "$accel" -smp 2 -m "$memory"
  -cpu max -nodefaults -no-reboot -display none -monitor none
  -kernel "$cache/kernel/vmlinux" -initrd "$run/initramfs.cpio.gz"
  -append "console=ttyS0 loglevel=4 panic=-1 rdinit=/init cgroup_no_v1=all psi=1 tsc=reliable"
  # Serial ports: ttyS0 the kernel's console (to a log), ttyS1 the tests' stdout, ttyS2 their
  # stderr. Handed over as fd sets of copies of our fds 1 and 2 (QEMU refuses those numbers):
  # the same open files as this script's own output, so nothing overwrites anything when both
  # go to one file; append=on: QEMU would otherwise truncate a file behind them.
  -chardev "file,id=console,path=$run/console.log"
  -add-fd "fd=3,set=1" -add-fd "fd=4,set=2"
  -chardev "file,id=out,path=/dev/fdset/1,append=on"
  -chardev "file,id=err,path=/dev/fdset/2,append=on"
  -serial chardev:console -serial chardev:out -serial chardev:err
  # The host's root, read-only, at the same paths: test binaries, isotop, runc, lsns, ...
  -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap"
  # The run's own folder, writable: the test list in, the exit code out.
  -virtfs "local,path=$run/share,mount_tag=isotoprun,security_model=passthrough"
)
set +e
timeout -k 10 "$timeout_s" qemu-system-x86_64 "${qemu_args[@]}" 3>&1 4>&2
qemu_status=$?
set -e
elapsed=$(($(date +%s) - start))
if [[ $qemu_status == 124 || $qemu_status == 137 ]]; then
  say "the guest did not finish within ${timeout_s}s; last console lines:"
  tail -n 30 "$run/console.log" >&2 || true
  exit 124
fi
if [[ ! -s $run/share/exit-code ]]; then
  say "the guest stopped without reporting a result (QEMU exit $qemu_status); last console lines:"
  tail -n 40 "$run/console.log" >&2 || true
  exit 2
fi
status=$(<"$run/share/exit-code")
say "VM finished in ${elapsed}s: test exit code $status"
exit "$status"
