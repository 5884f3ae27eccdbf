#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ in turn, one fuzzer process at a time, each from a
# scratch copy of its seeds (fuzz/corpus/<target>, gitignored). Not part of CI.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET]        (default 60)
#
# Environment:
#   TARGETS="kv templar"   only these targets (default: all of `cargo fuzz list`)
#   SANITIZER=address|none (default address; stable Rust needs RUSTC_BOOTSTRAP=1, set here)
#   FORK=1                 libFuzzer -fork=1 with -ignore_crashes/-ignore_ooms/-ignore_timeouts:
#                          keeps fuzzing past a finding (one worker) instead of stopping
#   NO_BUILD=1             skip `cargo fuzz build`
#   FUZZ_ARGS="..."        extra libFuzzer flags
# Prints per target: executions, exec/s, and the artifacts (crash-/timeout-/oom-) it wrote
# under fuzz/artifacts/<target>/. Logs go to fuzz/logs/<target>.log. Exits 0 unless the
# build fails; findings are reported, not failures.
set -uo pipefail

SECS=${1:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
FUZZ=$(cd "$HERE/../fuzz" && pwd)
SANITIZER=${SANITIZER:-address}
export RUSTC_BOOTSTRAP=1 CARGO_BUILD_JOBS=1

die() { printf 'fuzz.sh: %s\n' "$*" >&2; exit 1; }
command -v cargo-fuzz >/dev/null || die "cargo-fuzz not installed: cargo install cargo-fuzz --locked"
cd "$FUZZ" || die "no fuzz/ dir"

TARGETS=${TARGETS:-$(cargo fuzz list)}
if [[ -z ${NO_BUILD:-} ]]; then
    echo "building fuzz targets (sanitizer=$SANITIZER, -j1) ..."
    # `cargo fuzz build` takes one target or none (= all); build all: they share one compile.
    cargo fuzz build --sanitizer "$SANITIZER" >/dev/null 2>"$FUZZ/build.log" \
        || { tail -20 "$FUZZ/build.log"; die "cargo fuzz build failed (log: fuzz/build.log)"; }
fi
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
BIN=$FUZZ/target/$TRIPLE/release
mkdir -p "$FUZZ/logs"

printf '%-16s %12s %9s  %s\n' target execs exec/s findings
for t in $TARGETS; do
    [[ -x $BIN/$t ]] || die "$BIN/$t not built"
    corpus=$FUZZ/corpus/$t
    art=$FUZZ/artifacts/$t
    mkdir -p "$corpus" "$art"
    [[ -d $FUZZ/seeds/$t ]] && cp -n "$FUZZ/seeds/$t"/* "$corpus"/ 2>/dev/null
    before=$(ls "$art" | sort)
    log=$FUZZ/logs/$t.log
    flags=(-max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
           -artifact_prefix="$art/")
    [[ -n ${FORK:-} ]] && flags+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    # shellcheck disable=SC2086
    "$BIN/$t" "$corpus" "${flags[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
    if [[ -n ${FORK:-} ]]; then
        last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
        execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
        time=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last")
        eps=$(( ${time:-0} > 0 ? ${execs:-0} / time : 0 ))
    else
        execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -1)
        eps=$(sed -n 's/^stat::average_exec_per_sec: //p' "$log" | tail -1)
    fi
    new=$(comm -13 <(echo "$before") <(ls "$art" | sort) | sed "s|^|fuzz/artifacts/$t/|")
    count=$(grep -c . <<<"$new")
    printf '%-16s %12s %9s  %s\n' "$t" "${execs:-?}" "${eps:-?}" \
        "$( ((count)) && echo "$count new artifact(s):" || echo none)"
    ((count)) && sed 's/^/    /' <<<"$new"
done
