#!/usr/bin/env bash
# CPU per acquisition of each client-authentication method, and of DPoP
# (client_secret_basic plus a proof per request), at a fixed rate, the
# generator alone; mutual TLS against a second stub that serves TLS, beside
# client_secret_basic over the same TLS (`tls:` rows): the stub (`tokenprobe serve`) pinned to core 0,
# `tokenprobe load` pinned to core 1, user + system time from /usr/bin/time
# over the acquisitions started; median of 3 runs per method, the methods
# taking turns, and each method's cost over client_secret_basic's. The
# scenarios are `tokenprobe new cognito --auth METHOD` against the stub's
# demo clients. Only 127.0.0.1 is ever a target.
#
#   scripts/bench-auth.sh [RATE] [SECONDS]
set -euo pipefail

rate=${1:-500}
secs=${2:-10}
port=${BENCH_PORT:-18575}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${server:-0}" "${tls_server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$root"
cargo build --release -q -p tokenprobe
bin="$root/target/release/tokenprobe"

tls_port=$((port + 1))
taskset -c 0 "$bin" serve --listen "127.0.0.1:$port" --quiet >"$work/serve.log" 2>&1 &
server=$!
taskset -c 0 "$bin" serve --listen "127.0.0.1:$tls_port" --tls --write-ca "$work/ca.pem" --quiet \
  >"$work/serve-tls.log" 2>&1 &
tls_server=$!
for p in "$port" "$tls_port"; do
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break
    sleep 0.1
  done
done

methods=(client_secret_basic client_secret_post client_secret_jwt private_key_jwt:ES256
  private_key_jwt:RS256 private_key_jwt:EdDSA dpop:ES256 dpop:EdDSA
  tls:client_secret_basic tls:tls_client_auth)
for m in "${methods[@]}"; do
  auth=${m%%:*}
  target="http://127.0.0.1:$port"
  case $m in
    dpop:*) auth=client_secret_basic ;;
    tls:*) auth=${m#tls:}; target="https://127.0.0.1:$tls_port" ;;
  esac
  "$bin" new cognito --auth "$auth" | sed "s#^target = \"stub\".*#target = \"$target\"#" >"$work/$m.toml"
  # The TLS stub's CA, made at its start.
  [ "${m%%:*}" = tls ] && sed -i "s|^\[http\]|[http]\nca_file = \"$work/ca.pem\"|" "$work/$m.toml"
  case $m in
    private_key_jwt:RS256) sed -i 's#client-es256.pem#client-rs256.pem#' "$work/$m.toml" ;;
    private_key_jwt:EdDSA) sed -i 's#client-es256.pem#client-ed25519.pem#' "$work/$m.toml" ;;
    dpop:*)
      # The stub's DPoP-bound demo client, a key made for the run.
      sed -i "s#^client_id = \"tokenprobe-demo\"#client_id = \"tokenprobe-demo-dpop\"\ndpop = { algorithm = \"${m#dpop:}\", bound = true }#" "$work/$m.toml"
      ;;
  esac
done

declare -A cpu
for run in 1 2 3; do
  for m in "${methods[@]}"; do
    out="$work/out-$run-${m//:/-}"
    /usr/bin/time -f "%U %S" -o "$work/time" taskset -c 1 "$bin" load "$work/$m.toml" \
      --rate "$rate" --duration "${secs}s" -q --output "$out" >/dev/null
    started=$(python3 -c "import json,glob; print(json.load(open(glob.glob('$out/*/summary.json')[0]))['counts']['started'])")
    us=$(awk -v n="$started" '{printf "%.1f", ($1 + $2) * 1e6 / n}' "$work/time")
    cpu[$m]="${cpu[$m]:-} $us"
  done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | sed -n 2p; }
base=$(echo "${cpu[client_secret_basic]}" | median)
printf '%s/s for %s s, generator on core 1, stub on core 0; CPU per acquisition (3 runs, median)\n' "$rate" "$secs"
printf '%-24s %10s %8s   %s\n' method "µs/acq" "× basic" "runs"
for m in "${methods[@]}"; do
  med=$(echo "${cpu[$m]}" | median)
  printf '%-24s %10s %8.2f  %s\n' "$m" "$med" "$(awk -v a="$med" -v b="$base" 'BEGIN {print a / b}')" "${cpu[$m]}"
done
