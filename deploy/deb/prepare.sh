#!/usr/bin/env bash
# Builds what `cargo deb --no-build` packages (Cargo.toml's [package.metadata.deb]): the
# release binary, and from it — the one clap definition — the bash, zsh and fish completions
# and the man pages (isotop.1 and one per subcommand, gzipped as Debian ships them) into
# target/deb-assets/. Then:  cargo deb --no-build   (target/debian/isotop_VERSION-1_ARCH.deb)
#
#   deploy/deb/prepare.sh            build the release binary, then the assets from it
#   deploy/deb/prepare.sh BINARY     the assets from an isotop already built (the tests')
#   ISOTOP_DEB_ASSETS=DIR            write the assets there instead (the tests')
#   ISOTOP_COMMIT=HASH               the commit `isotop --version` names, building outside git
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ -n ${1:-} ]]; then
  bin=$1
else
  cargo build --release --locked
  target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  bin="${target_dir:-target}/release/isotop"
fi

assets=${ISOTOP_DEB_ASSETS:-target/deb-assets}
rm -rf "$assets"
mkdir -p "$assets/completions" "$assets/man"
"$bin" completions bash >"$assets/completions/isotop"
"$bin" completions zsh >"$assets/completions/_isotop"
"$bin" completions fish >"$assets/completions/isotop.fish"
"$bin" man --dir "$assets/man" >/dev/null
# -n: no name or time stamp in the archive, so the same sources give the same package.
gzip -9n "$assets"/man/*.1
echo "$("$bin" --version): $(ls "$assets/man" | wc -l) man pages and 3 completion scripts in $assets"
