#!/usr/bin/env bash
# The load driver against wrk and oha, side by side in one run, on the same
# loopback target (the stub, pinned to core 0) with the same request (a
# CESS token), each generator pinned to core 1:
#   1. highest acquisition rate (64 connections, 10 s each);
#   2. added latency at a fixed 1,000 acquisitions/s (tokenprobe vs oha -q).
# Prints the figures and the ratios. Installs wrk (Debian) and oha (crates.io)
# if missing. Only 127.0.0.1 is ever a target.
#
#   scripts/bench-driver.sh [SECONDS]
set -euo pipefail

secs=${1:-10}
port=${BENCH_PORT:-18555}
url="http://127.0.0.1:$port"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; }
command -v oha >/dev/null || cargo install --locked oha >/dev/null
command -v taskset >/dev/null || { echo "bench-driver: needs taskset (util-linux)" >&2; exit 2; }

cargo build --release --quiet -p tokenprobe --manifest-path "$root/Cargo.toml"
bin="$root/target/release/tokenprobe"

printf '[jwt]\nalgorithm = "ES256"\n' >"$work/stub.toml"
taskset -c 0 "$bin" serve --quiet --listen "127.0.0.1:$port" --config "$work/stub.toml" >/dev/null &
server=$!
for _ in $(seq 100); do curl -fs "$url/.well-known/jwks.json" >/dev/null 2>&1 && break; sleep 0.1; done

body='{"client_id":"tokenprobe-demo","client_secret":"demo-secret","username":"12345678909","password":"123456","grant_type":"password"}'
cat >"$work/cess.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$body]]
LUA

scenario() { # model-lines
  cat >"$work/s.toml" <<TOML
name = "bench"
target = "$url"
output = "$work/reports"
[[flows]]
system = "cess"
client_id = "tokenprobe-demo"
client_secret = { value = "demo-secret" }
username = "12345678909"
otp = { value = "123456" }
[load]
$1
[limits]
duration = "${secs}s"
TOML
}

json_field() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }

echo "driver benchmark: stub on core 0, generator on core 1, ${secs}s each, CESS token request"

# 1. Highest rate.
wrk_rps=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" -s "$work/cess.lua" "$url/oauth" | awk '/Requests\/sec/ {print $2}')
taskset -c 1 oha -z "${secs}s" -c 64 -m POST -H 'Content-Type: application/json' -d "$body" --no-tui --output-format json "$url/oauth" >"$work/oha.json"
oha_rps=$(json_field "$work/oha.json" "round(d['summary']['requestsPerSec'], 1)")
scenario $'model = "closed"\nusers = 64'
taskset -c 1 "$bin" load --quiet "$work/s.toml" >"$work/tp.txt" || true
tp_dir=$(sed -n 's/^report: //p' "$work/tp.txt")
tp_rps=$(json_field "$tp_dir/summary.json" "round(d['achieved_rate'], 1)")
printf 'highest rate (64 connections): tokenprobe %s/s, oha %s/s, wrk %s/s\n' "$tp_rps" "$oha_rps" "$wrk_rps"
python3 -c "print('  ratios: tokenprobe/oha %.2f, tokenprobe/wrk %.2f' % ($tp_rps/$oha_rps, $tp_rps/$wrk_rps))"

# 2. Added latency at a fixed rate.
taskset -c 1 oha -z "${secs}s" -q 1000 -c 64 -m POST -H 'Content-Type: application/json' -d "$body" --no-tui --output-format json "$url/oauth" >"$work/oha-q.json"
oha_p50=$(json_field "$work/oha-q.json" "round(d['latencyPercentiles']['p50']*1000, 3)")
oha_p99=$(json_field "$work/oha-q.json" "round(d['latencyPercentiles']['p99']*1000, 3)")
scenario $'model = "open"\nrate = 1000'
taskset -c 1 "$bin" load --quiet "$work/s.toml" >"$work/tp-q.txt" || true
tp_dir=$(sed -n 's/^report: //p' "$work/tp-q.txt")
tp_p50=$(json_field "$tp_dir/summary.json" "[r for r in d['latency'] if r['flow']=='all' and r['outcome']=='ok'][0]['p50_ms']")
tp_p99=$(json_field "$tp_dir/summary.json" "[r for r in d['latency'] if r['flow']=='all' and r['outcome']=='ok'][0]['p99_ms']")
printf 'at 1000/s: tokenprobe p50 %s ms p99 %s ms (from intended start); oha p50 %s ms p99 %s ms\n' "$tp_p50" "$tp_p99" "$oha_p50" "$oha_p99"
