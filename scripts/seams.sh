#!/usr/bin/env bash
# The seams' measures (docs/extending.md): how many production files name
# each system in code (comments left out), how many `Result<_, String>`
# the crates' sources hold, the JWS algorithm enums, and whether anything
# in the load crate's data layer imports its HTML.
set -euo pipefail
cd "$(dirname "$0")/.."
src=(':(glob)crates/*/src/**/*.rs' ':(exclude,glob)crates/*/src/**/tests.rs' ':(exclude)crates/load/src/testdata.rs')
# Production code only: a file's text up to its `#[cfg(test)]` module,
# without comment lines.
code() { awk '/^#\[cfg\(test\)\]/{exit} !/^[[:space:]]*\/\//' "$1"; }
echo "files naming a system in code (the issue's measure: \`git grep -lw SYSTEM\`, comments and test modules left out):"
for system in veeva cess venafi cognito vcd; do
  n=0
  for f in $(git grep -lw "$system" -- "${src[@]}"); do
    [ "$(code "$f" | grep -cw "$system")" -gt 0 ] && n=$((n + 1))
  done
  printf '  %-8s %3d\n' "$system" "$n"
done
echo "files naming a system in code, any case and inside identifiers (CessConfig, cess_body):"
for system in veeva cess venafi cognito vcd; do
  n=0
  # The name at the start of a word or identifier: `Cess`, `cess_account`,
  # `CessConfig`, not `access`.
  for f in $(git grep -liE "(^|[^a-z])$system" -- "${src[@]}"); do
    # grep -c reads to the end: -q would stop early, and with pipefail
    # awk's broken pipe would count as no match.
    [ "$(code "$f" | grep -ciE "(^|[^a-z])$system")" -gt 0 ] && n=$((n + 1))
  done
  printf '  %-8s %3d\n' "$system" "$n"
done
strings=0
for f in $(git ls-files -- "${src[@]}"); do
  strings=$((strings + $(code "$f" | grep -cE 'Result<[^;{]*, String>' || true)))
done
echo "Result<_, String> in crates/*/src: $strings"
echo "JWS algorithm enums: $(for f in $(git ls-files -- "${src[@]}"); do code "$f" | grep -cE 'enum [A-Za-z]*Algorithm\b' || true; done | paste -sd+ | bc)"
echo "load data files importing html: $(git grep -lE 'crate::html|use super::html' -- crates/load/src/report.rs crates/load/src/compare.rs crates/load/src/merge.rs 'crates/load/src/search*' | wc -l)"
