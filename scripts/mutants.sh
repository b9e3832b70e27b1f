#!/usr/bin/env bash
# Mutation testing: does each test suite catch a broken line? cargo-mutants
# changes one thing at a time (a return value, an operator, a condition),
# builds, runs the tests of the package that holds it, and counts the
# mutants the tests caught and those they missed.
#
#   scripts/mutants.sh protocol          # crates/protocol (every file)
#   scripts/mutants.sh load              # the load core: schedule, recorder,
#                                        # compare, the search engine, thresholds,
#                                        # merge; judged by the crate's unit tests
#                                        # (its integration tests drive real loads
#                                        # for minutes per mutant)
#   scripts/mutants.sh protocol -f crates/protocol/src/redact.rs   # one file
#
# Installs cargo-mutants if missing (cargo install --locked). Not part of
# .ci/run: on 2 cores a whole crate takes hours. Prints caught / missed /
# timeout / unviable per file and the share caught of the viable ones;
# the missed mutants are listed in target/mutants-<target>/mutants.out/missed.txt.
# JOBS=2 runs two builds at once.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/mutants.sh protocol|load [cargo-mutants args]}
shift
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
case "$target" in
  protocol) scope=(--package tokenprobe-protocol) ;;
  load) scope=(--package tokenprobe-load
               -f crates/load/src/schedule.rs -f 'crates/load/src/recorder/*.rs'
               -f crates/load/src/compare.rs -f 'crates/load/src/search/*.rs'
               -f crates/load/src/threshold.rs -f crates/load/src/merge.rs
               --cargo-test-arg=--lib) ;;
  *) echo "unknown target $target (expected protocol or load)" >&2; exit 2 ;;
esac
out=target/mutants-$target
mkdir -p "$out"
# cargo-mutants exits 2 when a mutant survived and 3 on a timeout: those
# are results, not failures of this script.
set +e
cargo mutants "${scope[@]}" --jobs "${JOBS:-1}" --output "$out" "$@"
rc=$?
set -e
case $rc in 0|2|3) ;; *) exit "$rc" ;; esac
python3 scripts/mutants_summary.py "$out/mutants.out"
