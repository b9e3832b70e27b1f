#!/usr/bin/env bash
# Measures the stub: token responses per second and latency per system, on
# loopback, with wrk (or oha) as the load generator on the same machine.
#
#   scripts/bench-stub.sh [SECONDS] [CONNECTIONS]
#
# Prints one line per system and algorithm. Only 127.0.0.1 is ever a target.
set -euo pipefail

secs=${1:-10}
conns=${2:-32}
port=${BENCH_PORT:-18443}
url="http://127.0.0.1:$port"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

if ! command -v wrk >/dev/null && ! command -v oha >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq wrk >/dev/null
  else
    echo "bench-stub: needs wrk (apt-get install wrk) or oha (cargo install oha)" >&2
    exit 2
  fi
fi

cargo build --release --quiet -p tokenprobe --manifest-path "$root/Cargo.toml"
bin="$root/target/release/tokenprobe"

# One wrk script per system: method, headers and body of a valid request.
lua() { # name method path content-type body authorization accept
  {
    printf 'wrk.method = "%s"\nwrk.path = "%s"\n' "$2" "$3"
    printf 'wrk.headers["Content-Type"] = "%s"\nwrk.headers["Accept"] = "%s"\n' "$4" "$7"
    [ -n "$6" ] && printf 'wrk.headers["Authorization"] = "%s"\n' "$6"
    printf 'wrk.body = [[%s]]\n' "$5"
  } >"$work/$1.lua"
}

start() { # algorithm
  printf '[jwt]\nalgorithm = "%s"\n' "$1" >"$work/stub.toml"
  "$bin" serve --quiet --listen "127.0.0.1:$port" --config "$work/stub.toml" >/dev/null &
  server=$!
  for _ in $(seq 100); do
    curl -fs "$url/.well-known/jwks.json" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "bench-stub: the stub did not start" >&2
  exit 1
}

stop() { kill "$server"; wait "$server" 2>/dev/null || true; }

run() { # label script
  local out
  out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$work/$2.lua" "$url")
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-16s %10s tokens/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${bad:-0}"
}

basic=$(printf 'tokenprobe-demo:demo-secret' | base64)
form=application/x-www-form-urlencoded
json=application/json
echo "stub benchmark: ${secs}s per system, $conns connections, wrk -t1, $(nproc) cores"
for alg in ES256 RS256; do
  start "$alg"
  lua cognito POST /oauth2/token $form 'grant_type=client_credentials' "Basic $basic" $json
  run "cognito $alg" cognito
  if [ "$alg" = ES256 ]; then
    token=$(curl -fs -u tokenprobe-demo:demo-secret -d grant_type=client_credentials "$url/oauth2/token" |
      sed 's/.*"access_token":"\([^"]*\)".*/\1/')
    lua cess POST /oauth $json '{"client_id":"tokenprobe-demo","client_secret":"demo-secret","username":"12345678909","password":"123456","grant_type":"password"}' "" $json
    run cess cess
    lua venafi POST /vedauth/authorize/oauth $json '{"client_id":"tokenprobe-demo","username":"local:admin","password":"demo-password","scope":"certificate:manage"}' "" $json
    run venafi venafi
    lua veeva POST /auth/oauth/session/tokenprobe-demo $json '' "Bearer $token" $json
    run "veeva (ES256)" veeva
    lua vcd POST /cloudapi/1.0.0/sessions $json '' "Bearer $token; org=Finance" 'application/*+xml;version=38.0'
    run "vcd (ES256)" vcd
  fi
  stop
done
