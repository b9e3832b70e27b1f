#!/usr/bin/env bash
# The load driver against oha and wrk, side by side in one run, on the same
# loopback target (the stub, pinned to core 0) with the same request (a
# CESS token), each generator pinned to core 1 unless said:
#   1. CPU per acquisition at a fixed 500/s and 2,000/s (tokenprobe, oha);
#   2. highest rate on one core, median of 3 (64 connections);
#   3. added latency at a fixed 1,000/s: p50 and p99 from the intended start
#      (tokenprobe; oha --latency-correction, whose own figures count from
#      its wake-up after tokio's millisecond timer, not from the intended
#      start, so its intended starts are rebuilt from its per-request log,
#      --db-url: the i-th tick is due at i/rate after its start);
#   4. highest rate with the generator given both cores;
#   5. a new TLS connection per acquisition (stub with --tls): rate and CPU
#      (tokenprobe with reuse_connections = false and insecure = true, oha
#      --disable-keepalive --insecure: neither checks the certificate).
# CPU is user + system time as /usr/bin/time reads it (the child's rusage
# from wait4), printed to the millisecond: /usr/bin/time's own output
# rounds to 10 ms, 3 % of a 500/s run's CPU. With BEFORE=/path/to/an/older
# tokenprobe, that binary runs each tokenprobe step too, as "before".
# Installs wrk (Debian) and oha (crates.io) if missing. Only 127.0.0.1 is
# ever a target.
#
#   scripts/bench-driver.sh [SECONDS]
#   STEPS="1" scripts/bench-driver.sh 30    # only step 1, 30 s runs
set -euo pipefail

secs=${1:-10}
steps=${STEPS:-1 2 3 4 5}
[[ "$steps" =~ ^\ *[1-5](\ +[1-5])*\ *$ ]] || { echo "bench-driver: STEPS is step numbers 1 to 5, space-separated: '$steps'" >&2; exit 2; }
port=${BENCH_PORT:-18555}
tls_port=$((port + 1))
url="http://127.0.0.1:$port"
tls_url="https://127.0.0.1:$tls_port"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${server:-0}" "${tls_server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; }
command -v oha >/dev/null || cargo install --locked oha >/dev/null
command -v taskset >/dev/null || { echo "bench-driver: needs taskset (util-linux)" >&2; exit 2; }

cargo build --release --quiet -p tokenprobe --manifest-path "$root/Cargo.toml"
bin="$root/target/release/tokenprobe"
declare -A bins=([tokenprobe]="$bin")
names=(tokenprobe)
if [ -n "${BEFORE:-}" ]; then bins[before]="$BEFORE"; names+=(before); fi

printf '[jwt]\nalgorithm = "ES256"\n' >"$work/stub.toml"
taskset -c 0 "$bin" serve --quiet --listen "127.0.0.1:$port" --config "$work/stub.toml" >/dev/null &
server=$!
taskset -c 0 "$bin" serve --quiet --tls --write-ca "$work/ca.pem" --listen "127.0.0.1:$tls_port" \
  --config "$work/stub.toml" >/dev/null &
tls_server=$!
for _ in $(seq 100); do curl -fs "$url/.well-known/jwks.json" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 100); do curl -fsk "$tls_url/.well-known/jwks.json" >/dev/null 2>&1 && break; sleep 0.1; done

body='{"client_id":"tokenprobe-demo","client_secret":"demo-secret","username":"12345678909","password":"123456","grant_type":"password"}'
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[%s]]\n' "$body" >"$work/cess.lua"

scenario() { # target model-lines [http-lines]
  cat >"$work/s.toml" <<TOML
name = "bench"
target = "$1"
output = "$work/reports"
[http]
${3:-}
[[flows]]
system = "cess"
client_id = "tokenprobe-demo"
client_secret = { value = "demo-secret" }
username = "12345678909"
otp = { value = "123456" }
[load]
$2
[limits]
duration = "${secs}s"
TOML
}

py() { python3 -c "$1"; }
field() { py "import json; d=json.load(open('$1')); print($2)"; }
cpu_of() { awk '{printf "%.3f", $1 + $2}' "$1"; }
# Runs a command, writing its user and system CPU seconds to $work/time.
timed() {
  python3 -c 'import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, r = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write("%.6f %.6f\n" % (r.ru_utime, r.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status))' "$work/time" "$@"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
all_ok="[r for r in d['latency'] if r['flow']=='all' and r['outcome']=='ok'][0]"

# Runs tokenprobe binary $1 on cores $2; prints "rate cpu_secs p50 p99 started".
tp() {
  timed taskset -c "$2" "${bins[$1]}" load --quiet "$work/s.toml" >"$work/tp.txt" || true
  local dir
  dir=$(sed -n 's/^report: //p' "$work/tp.txt")
  echo "$dir" >"$work/last-report"
  echo "$(field "$dir/summary.json" "round(d['achieved_rate'], 1)") $(cpu_of "$work/time") \
$(field "$dir/summary.json" "$all_ok['p50_ms']") $(field "$dir/summary.json" "$all_ok['p99_ms']") \
$(field "$dir/summary.json" "d['counts']['started']")"
}

# Runs oha on cores $1 with extra flags; prints "rate cpu_secs p50 p99 count".
oha_run() {
  local cores=$1; shift
  timed taskset -c "$cores" oha -z "${secs}s" -m POST \
    -H 'Content-Type: application/json' -d "$body" --no-tui --output-format json "$@" >"$work/oha.json"
  echo "$(field "$work/oha.json" "round(d['summary']['requestsPerSec'], 1)") $(cpu_of "$work/time") \
$(field "$work/oha.json" "round(d['latencyPercentiles']['p50']*1000, 3)") \
$(field "$work/oha.json" "round(d['latencyPercentiles']['p99']*1000, 3)") \
$(field "$work/oha.json" "sum(d['statusCodeDistribution'].values())")"
}

# Runs wrk on cores $1; prints "rate cpu_secs".
wrk_run() {
  timed taskset -c "$1" wrk -t1 -c64 -d"${secs}s" -s "$work/cess.lua" "$url/oauth" >"$work/wrk.txt"
  echo "$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") $(cpu_of "$work/time")"
}

want() { [[ " $steps " == *" $1 "* ]]; } # STEPS="1 3" runs only those

per_acq() { py "print('%.1f' % ($1 * 1e6 / max($2, 1)))"; } # cpu_secs count -> µs

echo "driver benchmark: stub on core 0, generator on core 1 (both in step 4), ${secs}s each, CESS token request, steps $steps"
echo "tokenprobe: $bin${BEFORE:+; before: $BEFORE}"

if want 1; then
echo "== 1. CPU per acquisition at a fixed rate (µs of CPU per acquisition; lower is better)"
for rate in 500 2000; do
  line="  ${rate}/s:"
  for n in "${names[@]}"; do
    scenario "$url" $'model = "open"\nrate = '"$rate"
    read -r _ cpu _ _ started < <(tp "$n" 1)
    line+=" $n $(per_acq "$cpu" "$started") (${cpu} s),"
  done
  read -r _ cpu _ _ count < <(oha_run 1 -q "$rate" -c 64 --latency-correction "$url/oauth")
  echo "$line oha $(per_acq "$cpu" "$count") (${cpu} s)"
done
fi

if want 2; then
echo "== 2. Highest rate on one core (64 connections), median of 3"
declare -A best
for n in "${names[@]}"; do
  scenario "$url" $'model = "closed"\nusers = 64'
  runs=(); for _ in 1 2 3; do read -r r _ < <(tp "$n" 1); runs+=("$r"); done
  best[$n]=$(median "${runs[@]}"); echo "  $n: ${runs[*]} -> ${best[$n]}/s"
done
runs=(); for _ in 1 2 3; do read -r r _ < <(oha_run 1 -c 64 "$url/oauth"); runs+=("$r"); done
best[oha]=$(median "${runs[@]}"); echo "  oha: ${runs[*]} -> ${best[oha]}/s"
runs=(); for _ in 1 2 3; do read -r r _ < <(wrk_run 1); runs+=("$r"); done
best[wrk]=$(median "${runs[@]}"); echo "  wrk: ${runs[*]} -> ${best[wrk]}/s"
for n in "${names[@]}"; do
  py "print('  ratios: $n/oha %.2f, $n/wrk %.2f' % (${best[$n]}/${best[oha]}, ${best[$n]}/${best[wrk]}))"
done
fi

if want 3; then
echo "== 3. Added latency at a fixed 1,000/s (from the intended start)"
rate3=1000
for n in "${names[@]}"; do
  scenario "$url" $'model = "open"\nrate = '"$rate3"
  read -r _ cpu p50 p99 _ < <(tp "$n" 1)
  service="[r for r in d['latency'] if r['flow']=='all' and r['step']=='service' and r['outcome']=='ok'][0]"
  sent=$(field "$(cat "$work/last-report")/summary.json" "'p50 %.3f ms, p99 %.3f ms' % ($service['p50_ms'], $service['p99_ms'])")
  echo "  $n from the intended start: p50 $p50 ms, p99 $p99 ms (cpu ${cpu} s); from sending: $sent"
done
rm -f "$work/oha.db"
read -r _ cpu p50 p99 _ < <(oha_run 1 -q "$rate3" -c 64 --latency-correction --db-url "$work/oha.db" "$url/oauth")
echo "  oha --latency-correction, as it reports (from its wake-up): p50 $p50 ms, p99 $p99 ms (cpu ${cpu} s)"
py "
import json, math, sqlite3
rate = $rate3
rows = sqlite3.connect('$work/oha.db').execute(
    'select start_latency_correction, end from oha order by start_latency_correction').fetchall()
report = json.load(open('$work/oha.json'))
# The log leaves out requests that got no answer: one would shift every
# later tick.
failed = sum(report.get('errorDistribution', {}).values())
def pct(v, p):  # nearest rank, as HdrHistogram's percentiles
    v = sorted(v)
    return v[max(0, math.ceil(p * len(v)) - 1)] * 1000
since_due = [end - i / rate for i, (_, end) in enumerate(rows)]
lag = [woke - i / rate for i, (woke, _) in enumerate(rows)]
print('  oha from the intended start: p50 %.3f ms, p99 %.3f ms (its timer lag p50 %.3f ms, p99 %.3f ms; %d requests)'
      % (pct(since_due, .5), pct(since_due, .99), pct(lag, .5), pct(lag, .99), len(rows)))
if failed:
    print('  (oha had %d requests without an answer, which its log leaves out: the line above is not valid)' % failed)
"
fi

if want 4; then
echo "== 4. Highest rate, generator on both cores (the stub keeps core 0)"
for n in "${names[@]}"; do
  scenario "$url" $'model = "closed"\nusers = 64'
  read -r r cpu _ < <(tp "$n" 0,1); echo "  $n: $r/s (cpu ${cpu} s)"
done
read -r r cpu _ < <(oha_run 0,1 -c 64 "$url/oauth"); echo "  oha: $r/s (cpu ${cpu} s)"
read -r r cpu < <(wrk_run 0,1); echo "  wrk: $r/s (cpu ${cpu} s)"
fi

if want 5; then
echo "== 5. A new TLS connection per acquisition (64 at a time; no certificate check on either side, as oha --insecure)"
for n in "${names[@]}"; do
  scenario "$tls_url" $'model = "closed"\nusers = 64' "reuse_connections = false
insecure = true"
  read -r r cpu _ _ started < <(tp "$n" 1)
  echo "  $n: $r/s, $(per_acq "$cpu" "$started") µs CPU per acquisition"
done
read -r r cpu _ _ count < <(oha_run 1 -c 64 --disable-keepalive --insecure "$tls_url/oauth")
echo "  oha --disable-keepalive: $r/s, $(per_acq "$cpu" "$count") µs CPU per acquisition"
fi
