"""Caught, missed, timeout and unviable mutants per file, from a
cargo-mutants output directory (its caught.txt, missed.txt, timeout.txt and
unviable.txt, one mutant a line: `path:line:col: what`). Works on a run
still going too: each file is appended to as mutants finish.

    python3 scripts/mutants_summary.py target/mutants-protocol/mutants.out
"""
import collections
import os
import sys

out = sys.argv[1]
kinds = ["caught", "missed", "timeout", "unviable"]
per_file = collections.defaultdict(collections.Counter)
for kind in kinds:
    path = os.path.join(out, f"{kind}.txt")
    if not os.path.exists(path):
        continue
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                per_file[line.split(":", 1)[0]][kind] += 1

def share(c):
    viable = c["caught"] + c["missed"] + c["timeout"]
    # A timeout counts as caught: the mutant hung the tests, which noticed.
    return (c["caught"] + c["timeout"]) / viable if viable else 1.0

total = collections.Counter()
print(f"{'file':<48} {'caught':>7} {'missed':>7} {'timeout':>8} {'unviable':>9} {'caught %':>9}")
for name in sorted(per_file):
    c = per_file[name]
    total.update(c)
    print(f"{name:<48} {c['caught']:>7} {c['missed']:>7} {c['timeout']:>8} {c['unviable']:>9} {100 * share(c):>8.1f}%")
print(f"{'all':<48} {total['caught']:>7} {total['missed']:>7} {total['timeout']:>8} {total['unviable']:>9} {100 * share(total):>8.1f}%")
