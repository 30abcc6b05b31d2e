#!/usr/bin/env bash
# Fuzzes isotop's readers of hostile input with cargo-fuzz (libFuzzer): the layer unpacker
# (`unpack_layer`), the image manifest/config/bundle readers (`image_manifest`) and every
# runtime state reader (`runtime_state`), each for SECONDS_PER_TARGET (default 180), one after
# the other. Targets and their input formats: fuzz/fuzz_targets/*.rs; the jail they run in
# (a private mount namespace on a tmpfs, with sentinels that must not change): fuzz/src/lib.rs.
#
# Installs what it needs when missing: the nightly toolchain (rustup) and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). Builds the targets (release, debug assertions and
# overflow checks on, AddressSanitizer), copies the committed seeds (fuzz/seeds/<target>, made
# by fuzz/make_seeds.py) into the working corpus (fuzz/corpus/<target>, kept between runs),
# runs each target with -max_total_time, -rss_limit_mb and -timeout=10, and prints a table:
# executions run, corpus size, crashes found (files written to fuzz/artifacts/<target>/ by this
# run). libFuzzer stops a target at its first crash; reproduce one with
#   cd fuzz && target/x86_64-unknown-linux-gnu/release/<target> artifacts/<target>/crash-...
# Full logs: fuzz/logs/<target>.log. Exits 1 when a crash was found.
#
# Usage: bench/fuzz.sh [SECONDS_PER_TARGET]   (as root: the jail and the root-only unpack
# paths need it; without root the targets run unjailed in a temporary directory)
# FUZZ_TARGETS="unpack_layer runtime_state" picks targets. A benchmark-like run, never part
# of CI (.ci/run does not call it): minutes per target.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
seconds=${1:-180}
targets=${FUZZ_TARGETS:-unpack_layer image_manifest runtime_state}
rss_limit_mb=${FUZZ_RSS_LIMIT_MB:-2048}
die() { echo "fuzz: $*" >&2; exit 2; }

[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || die "SECONDS_PER_TARGET must be a positive number, not '$seconds'"
[[ $(id -u) == 0 ]] || echo "fuzz: not root: running unjailed, without the root unpack paths" >&2

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz: installing the nightly toolchain" >&2
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

echo "fuzz: building the targets (nightly, release + debug assertions, ASan)" >&2
cargo +nightly fuzz build -O -a
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=target/$triple/release

mkdir -p logs
# LeakSanitizer needs /proc, which the jail does not have (and a leak is no hostile-input bug).
export ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
results=()
crashed=0
for target in $targets; do
    [[ -x $bin_dir/$target ]] || die "no fuzz target binary $bin_dir/$target"
    mkdir -p "corpus/$target" "artifacts/$target"
    cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
    stamp=$(mktemp)
    log=logs/$target.log
    echo "fuzz: $target for ${seconds}s (log: fuzz/$log)" >&2
    status=0
    # Relative corpus and artifact paths: the target jails itself with both bound in at the
    # same relative places (fuzz/src/lib.rs).
    "$bin_dir/$target" "corpus/$target" \
        -dict="dicts/$target.dict" \
        -max_total_time="$seconds" \
        -rss_limit_mb="$rss_limit_mb" \
        -timeout=10 \
        -artifact_prefix="artifacts/$target/" \
        -print_final_stats=1 \
        -detect_leaks=0 \
        >"$log" 2>&1 || status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [[ -z $executions ]]; then
        # No final stats (killed): the last status line's execution count.
        executions=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    fi
    corpus=$(find "corpus/$target" -type f | wc -l)
    crashes=$(find "artifacts/$target" -type f -newer "$stamp" | wc -l)
    rm -f "$stamp"
    if ((crashes > 0 || status != 0)); then
        crashed=1
        ((crashes > 0)) || crashes="exit $status"
        grep -m1 -E '^(==[0-9]+==ERROR|thread .* panicked)' -A3 "$log" >&2 || true
    fi
    results+=("$(printf '%-16s %8s %12s %9s %8s' "$target" "$seconds" "${executions:-?}" "$corpus" "$crashes")")
done

printf '%-16s %8s %12s %9s %8s\n' target seconds executions corpus crashes
printf '%s\n' "${results[@]}"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)   artifacts: fuzz/artifacts/<target>/"
exit "$crashed"
