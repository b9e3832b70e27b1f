#!/usr/bin/env bash
# Interop: `tokenprobe check` (negatives included) and a 10 s `tokenprobe
# load` against real, independently written authorization servers, each
# installed from a package registry and started on loopback, compared with
# the verdicts expected in tests/interop/<server>.toml.
#
#   scripts/interop.sh                      # every server
#   scripts/interop.sh oidc-provider        # some
#
# Needs network access to npm and PyPI (the first time), node >= 20 and
# python3 >= 3.11. Installs go to target/interop/ (reused by later runs).
# Exits non-zero on any difference; stops every server it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${INTEROP_DIR:-$ROOT/target/interop}
SERVERS=("$@")
[ ${#SERVERS[@]} -gt 0 ] || SERVERS=(oidc-provider oauth2-mock-server node-oauth2-server django-oauth-toolkit idpy-oidc)
mkdir -p "$WORK/out"
export INTEROP_OUT="$WORK/out"

PIDS=()
stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; PIDS=(); }
trap stop_all EXIT INT TERM

echo "== building tokenprobe"
cargo build --quiet --bin tokenprobe
TOKENPROBE=$ROOT/target/debug/tokenprobe

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
wait_ready() { # url, seconds
  for _ in $(seq 1 "$(( $2 * 10 ))"); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "not ready after $2 s: $1" >&2; return 1
}

install_node() {
  [ -d "$WORK/node/node_modules" ] && cmp -s tests/interop/servers/package-lock.json "$WORK/node/package-lock.json" && return
  mkdir -p "$WORK/node"
  cp tests/interop/servers/package.json tests/interop/servers/package-lock.json "$WORK/node/"
  (cd "$WORK/node" && npm ci --no-audit --no-fund --loglevel=error)
}

# A Python server's virtualenv, from tests/interop/servers/$1/requirements.txt.
install_venv() {
  local req="tests/interop/servers/$1/requirements.txt"
  [ -x "$WORK/$1/venv/bin/python" ] && cmp -s "$req" "$WORK/$1/requirements.txt" && return
  mkdir -p "$WORK/$1"
  python3 -m venv "$WORK/$1/venv"
  "$WORK/$1/venv/bin/pip" install --quiet -r "$req"
  cp "$req" "$WORK/$1/"
}

# Starts $1 on $PORT; sets ISSUER.
start_server() {
  local log="$WORK/out/$1.log"
  case "$1" in
    node-oauth2-server)
      install_node
      cp "tests/interop/servers/$1.mjs" "$WORK/node/"
      (cd "$WORK/node" && exec node "$1.mjs") >"$log" 2>&1 &
      PIDS+=($!)
      # No metadata: the flows name the token endpoint (token_path).
      ISSUER="http://127.0.0.1:$PORT"
      for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done ;;
    oidc-provider|oauth2-mock-server)
      install_node
      cp "tests/interop/servers/$1.mjs" "$WORK/node/"
      (cd "$WORK/node" && exec node "$1.mjs") >"$log" 2>&1 &
      PIDS+=($!)
      if [ "$1" = oidc-provider ]; then ISSUER="http://127.0.0.1:$PORT"; else ISSUER="http://localhost:$PORT"; fi
      wait_ready "http://127.0.0.1:$PORT/.well-known/openid-configuration" 30 ;;
    django-oauth-toolkit)
      install_venv dot
      export DOT_DB="$WORK/dot/db-$PORT.sqlite3" DOT_RSA_KEY="$WORK/dot/rsa.pem"
      export PYTHONPATH="$ROOT/tests/interop/servers/dot" DJANGO_SETTINGS_MODULE=interop_settings
      [ -f "$DOT_RSA_KEY" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DOT_RSA_KEY" 2>/dev/null
      rm -f "$DOT_DB"
      "$WORK/dot/venv/bin/python" -m django migrate -v0
      "$WORK/dot/venv/bin/python" tests/interop/servers/dot/provision.py >/dev/null
      "$WORK/dot/venv/bin/python" -m django runserver "127.0.0.1:$PORT" --noreload >"$log" 2>&1 &
      PIDS+=($!)
      ISSUER="http://127.0.0.1:$PORT/o"
      wait_ready "$ISSUER/.well-known/openid-configuration" 30 ;;
    idpy-oidc)
      install_venv idpy
      rm -rf "$WORK/idpy"/run-*
      env -u PYTHONPATH -u DJANGO_SETTINGS_MODULE IDPY_WORK="$WORK/idpy/run-$PORT" \
        "$WORK/idpy/venv/bin/python" tests/interop/servers/idpy/server.py >"$log" 2>&1 &
      PIDS+=($!)
      ISSUER="http://127.0.0.1:$PORT"
      wait_ready "$ISSUER/.well-known/openid-configuration" 30 ;;
    *) echo "unknown server $1 (expected: oidc-provider, oauth2-mock-server, node-oauth2-server, django-oauth-toolkit, idpy-oidc)" >&2; return 2 ;;
  esac
}

failed=0
for server in "${SERVERS[@]}"; do
  expected="tests/interop/$server.toml"
  [ -f "$expected" ] || { echo "no $expected" >&2; failed=1; continue; }
  echo "== $server"
  PORT=$(free_port)
  export PORT MTLS_PORT BASIC_SECRET POST_SECRET JWT_SECRET DPOP_SECRET
  MTLS_PORT=$(free_port)
  BASIC_SECRET=$(secret); POST_SECRET=$(secret); JWT_SECRET=$(secret); DPOP_SECRET=$(secret)
  export ES256_PUB=$ROOT/crates/stub/demo-keys/client-es256.pub.pem RS256_PUB=$ROOT/crates/stub/demo-keys/client-rs256.pub.pem
  export ES256_KEY=$ROOT/crates/stub/demo-keys/client-es256.pem RS256_KEY=$ROOT/crates/stub/demo-keys/client-rs256.pem
  # Mutual TLS: the demo client CA and certificate, and a server
  # certificate for 127.0.0.1 made once (the flows trust it as their CA).
  export CLIENT_CA=$ROOT/crates/stub/demo-keys/client-ca.pem MTLS_CERT=$ROOT/crates/stub/demo-keys/client-mtls.pem
  export MTLS_KEY=$ROOT/crates/stub/demo-keys/client-mtls.key.pem SERVER_CERT=$WORK/server.pem SERVER_KEY=$WORK/server.key
  [ -f "$SERVER_CERT" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" -keyout "$SERVER_KEY" -out "$SERVER_CERT" 2>/dev/null
  start_server "$server" || { failed=1; stop_all; continue; }
  export ISSUER
  for client in $(python3 scripts/interop_expect.py "$expected" clients); do
    scenario="$WORK/out/$server-$client.toml"
    python3 scripts/interop_expect.py "$expected" scenario "$client" >"$scenario"
    json="$WORK/out/$server-$client.json"
    "$TOKENPROBE" check "$scenario" --include-negative --spacing 0s --json "$json" >"$WORK/out/$server-$client.txt" 2>&1 || true
    if ! python3 scripts/interop_expect.py "$expected" compare "$client" "$json"; then
      failed=1
    fi
    if python3 scripts/interop_expect.py "$expected" loads "$client"; then
      python3 scripts/interop_expect.py "$expected" scenario "$client" load >"$WORK/out/$server-$client-load.toml"
      if "$TOKENPROBE" load "$WORK/out/$server-$client-load.toml" --quiet >"$WORK/out/$server-$client-load.txt" 2>&1; then
        echo "   load $client: $(grep -E '^accounting' "$WORK/out/$server-$client-load.txt")"
      else
        echo "   load $client FAILED:"; tail -5 "$WORK/out/$server-$client-load.txt"; failed=1
      fi
    fi
  done
  stop_all
done
[ $failed -eq 0 ] && echo "== interop: every verdict as expected" || echo "== interop: differences (see above; outputs in $WORK/out)"
exit $failed
