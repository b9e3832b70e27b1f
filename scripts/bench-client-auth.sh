#!/usr/bin/env bash
# What each client authentication costs the load driver: CPU per
# acquisition (user + system of the tokenprobe process, from its own
# summary) at a fixed rate against the stub on loopback, for
# client_secret_basic, private_key_jwt ES256 and private_key_jwt RS256
# (a fresh signed assertion per acquisition). The stub runs on core 0, the
# driver on core 1; medians of RUNS runs (default 3).
#
#   scripts/bench-client-auth.sh [RATE] [SECONDS]
set -euo pipefail
rate=${1:-500}
secs=${2:-10}
runs=${RUNS:-3}
port=${BENCH_PORT:-18565}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet -p tokenprobe --manifest-path "$root/Cargo.toml"
bin="$root/target/release/tokenprobe"
printf '[jwt]\nalgorithm = "ES256"\n' >"$work/stub.toml"
taskset -c 0 "$bin" serve --quiet --config "$work/stub.toml" --listen "127.0.0.1:$port" >/dev/null &
server=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/.well-known/jwks.json" 2>/dev/null && break; sleep 0.1; done

flow() {
  case "$1" in
    basic) printf 'client_id = "tokenprobe-demo"\nclient_secret = { value = "demo-secret" }\n' ;;
    es256) printf 'client_id = "tokenprobe-demo-key"\nauth = "private_key_jwt"\nprivate_key = { file = "%s/crates/stub/demo-keys/client-es256.pem" }\n' "$root" ;;
    rs256) printf 'client_id = "tokenprobe-demo-key"\nauth = "private_key_jwt"\nprivate_key = { file = "%s/crates/stub/demo-keys/client-rs256.pem" }\n' "$root" ;;
  esac
}

printf '%-8s %12s %14s %12s\n' auth "rate /s" "CPU/acq µs" "p99 ms"
for auth in basic es256 rs256; do
  cpus=(); p99s=(); rates=()
  for _ in $(seq "$runs"); do
    { printf 'name = "auth-%s"\ntarget = "http://127.0.0.1:%s"\noutput = "%s/reports"\n' "$auth" "$port" "$work"
      printf '[[flows]]\nsystem = "cognito"\n'; flow "$auth"
      printf '[load]\nmodel = "open"\nrate = %s\n[limits]\nduration = "%ss"\n' "$rate" "$secs"; } >"$work/$auth.toml"
    dir=$(taskset -c 1 "$bin" load --quiet "$work/$auth.toml" | sed -n 's/^report: //p')
    read -r cpu p99 achieved < <(python3 -c '
import json,sys
s=json.load(open(sys.argv[1]+"/summary.json"))
row=[r for r in s["latency"] if r["flow"]=="all" and r["outcome"]=="ok" and r["step"]=="total"][0]
print(s["cpu"]["per_acquisition_us"], row["p99_ms"], s["achieved_rate"])' "$dir")
    cpus+=("$cpu"); p99s+=("$p99"); rates+=("$achieved")
  done
  median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
  printf '%-8s %12.1f %14.1f %12.3f\n' "$auth" "$(median "${rates[@]}")" "$(median "${cpus[@]}")" "$(median "${p99s[@]}")"
done
