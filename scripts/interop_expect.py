#!/usr/bin/env python3
"""The expected-results files of scripts/interop.sh (tests/interop/*.toml).

  interop_expect.py FILE clients                  names of the file's clients
  interop_expect.py FILE scenario CLIENT [load]   the check (or load) scenario
  interop_expect.py FILE loads CLIENT             exit 0 when it has a load run
  interop_expect.py FILE compare CLIENT JSON      verdicts against expectations

A file has [server] (what it is), [expected] (check id -> outcome, for
every check), [why] (check id -> the reason for each expected outcome that
is not `pass`, with a reference to the server's documentation or source),
and [[clients]] (name, the flow's own lines, `load = RATE` for the one the
10 s load run uses at RATE per second, and `expected` / `why` overrides of
its own).
"""
import json
import os
import sys
import tomllib
from urllib.parse import urlsplit


def load(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def client(doc, name):
    for c in doc["clients"]:
        if c["name"] == name:
            return c
    sys.exit(f"no client {name}")


def scenario(doc, c, for_load):
    issuer = os.environ["ISSUER"]
    parts = urlsplit(issuer)
    out = os.environ.get("INTEROP_OUT", "target/interop/out")
    lines = [
        f'name = "interop-{doc["server"]["name"]}-{c["name"]}"',
        f'target = "{parts.scheme}://{parts.netloc}"',
        f'output = "{out}/reports"',
    ]
    if for_load:
        lines.append('thresholds = ["error_rate < 0.1%"]')
    else:
        lines += ["", "[check]", 'mode = "rfc6749"']
    # A server without metadata names its token endpoint instead.
    endpoint = doc["server"].get("token_path")
    found = f'token_path = "{endpoint}"' if endpoint else 'issuer = "${ISSUER}"'
    if c.get("http"):
        lines += ["", "[http]", c["http"].strip()]
    lines += ["", "[[flows]]", 'system = "cognito"', found, c["flow"].strip()]
    if for_load:
        rate = c["load"]
        lines += ["", "[load]", 'model = "open"', f"rate = {rate}", "", "[limits]", 'duration = "10s"']
    return "\n".join(lines) + "\n"


def compare(doc, c, path):
    expected = {**doc["expected"], **c.get("expected", {})}
    why = {**doc.get("why", {}), **c.get("why", {})}
    with open(path) as f:
        verdicts = json.load(f)["report"]["verdicts"]
    differences = []
    seen = set()
    for v in verdicts:
        seen.add(v["id"])
        want = expected.get(v["id"])
        if want is None:
            differences.append(f'{v["id"]}: {v["outcome"]}, and no expectation ({v["reason"]})')
        elif want != v["outcome"]:
            differences.append(f'{v["id"]}: expected {want}, got {v["outcome"]}: {v["reason"]}')
    for cid in sorted(set(expected) - seen):
        differences.append(f"{cid}: expected {expected[cid]}, but it did not run")
    for cid, want in sorted(expected.items()):
        if want != "pass" and not why.get(cid):
            differences.append(f"{cid}: expected {want} without a reason in [why]")
    counts = {}
    for v in verdicts:
        counts[v["outcome"]] = counts.get(v["outcome"], 0) + 1
    summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
    name = f'{doc["server"]["name"]}/{c["name"]}'
    if differences:
        print(f"   {name}: {len(differences)} difference(s) ({summary})")
        for d in differences:
            print(f"     {d}")
        return 1
    print(f"   {name}: every verdict as expected ({summary})")
    return 0


def main(argv):
    doc = load(argv[1])
    what = argv[2]
    if what == "clients":
        print(" ".join(c["name"] for c in doc["clients"]))
        return 0
    c = client(doc, argv[3])
    if what == "scenario":
        sys.stdout.write(scenario(doc, c, len(argv) > 4 and argv[4] == "load"))
        return 0
    if what == "loads":
        return 0 if c.get("load") else 1
    if what == "compare":
        return compare(doc, c, argv[4])
    sys.exit(f"unknown command {what}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
