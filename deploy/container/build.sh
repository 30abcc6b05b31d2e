#!/usr/bin/env bash
# Builds isotop's exporter image (deploy/container/Containerfile) from a statically linked
# binary (deploy/build-static.sh; pass --musl to use the musl target), with podman or
# buildah, whichever is installed — offline: the image is FROM scratch, nothing is pulled.
#
#   deploy/container/build.sh [--musl]          image tag: isotop:VERSION (and isotop:latest)
#   IMAGE=registry.example/isotop:1 deploy/container/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=$(deploy/build-static.sh "$@")
version=$("$bin" --version | sed -n 's/^isotop \([^ ]*\).*/\1/p')
image=${IMAGE:-isotop:$version}

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$bin" "$context/isotop"
cp deploy/container/Containerfile "$context/Containerfile"

if command -v podman >/dev/null; then
  podman build --pull=never -f "$context/Containerfile" -t "$image" -t isotop:latest "$context" >&2
elif command -v buildah >/dev/null; then
  buildah bud --pull-never -f "$context/Containerfile" -t "$image" -t isotop:latest "$context" >&2
else
  echo "container/build.sh: neither podman nor buildah is installed; the binary is $bin" >&2
  exit 2
fi
echo "$image"
