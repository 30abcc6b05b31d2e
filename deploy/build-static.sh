#!/usr/bin/env bash
# Builds a statically linked isotop: one file with no shared library to find, for a FROM
# scratch image (deploy/container/) or a host with another libc. Prints the binary's path.
#
#   deploy/build-static.sh          glibc, linked statically (+crt-static): needs only the
#                                   host's own target; the default
#   deploy/build-static.sh --musl   musl (x86_64-unknown-linux-musl, or ARCH-unknown-linux-musl),
#                                   when that target is installed
#                                   (`rustup target add x86_64-unknown-linux-musl`)
#
# Static glibc and isotop: isotop reads user names from the host's /etc/passwd itself
# (host::users); the one call that asks NSS, the audit log's user name of the running
# process, reads /etc/passwd through glibc's built-in `files` source and falls back to the
# number when none is there (a scratch image has none). isotop resolves no host names.
set -euo pipefail
cd "$(dirname "$0")/.."

arch=$(uname -m)
target="$arch-unknown-linux-gnu"
if [[ ${1:-} == --musl ]]; then
  target="$arch-unknown-linux-musl"
  sysroot=$(rustc --print sysroot)
  if [[ ! -d "$sysroot/lib/rustlib/$target" ]]; then
    echo "build-static: the $target target is not installed (rustup target add $target)" >&2
    exit 2
  fi
elif [[ -n ${1:-} ]]; then
  echo "usage: deploy/build-static.sh [--musl]" >&2
  exit 2
fi

# --target keeps the flag off build scripts and proc macros, which run on this host.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$target" >&2
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="${target_dir:-target}/$target/release/isotop"

# `ldd` on a static binary says so (glibc: "not a dynamic executable", or "statically linked").
if ldd "$bin" 2>&1 | grep -Eq 'not a dynamic executable|statically linked'; then
  echo "$bin"
else
  echo "build-static: $bin is not static:" >&2
  ldd "$bin" >&2
  exit 1
fi
