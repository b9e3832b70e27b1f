#!/usr/bin/env bash
# Coverage-guided fuzzing of every protocol parser with cargo-fuzz (libFuzzer).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     default 60; each target stops by itself
#
# Targets (fuzz/fuzz_targets/): `responses` (every client-side decoder),
# `requests` (every server-side parser), `text` (tax ids, scopes, VCSchema,
# JWTs, URLs, Accept and Authorization values, with round-trip assertions).
# Seeds come from tests/fixtures. A crash leaves its input in
# fuzz/artifacts/<target>/ and makes this script exit non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
# cargo-fuzz passes nightly-only flags (sanitizers); the stable toolchain
# accepts them with RUSTC_BOOTSTRAP, and no other toolchain can be fetched here.
export RUSTC_BOOTSTRAP=1

seed() { mkdir -p "fuzz/corpus/$1"; cat > "fuzz/corpus/$1/$2"; }
# responses: a selector byte (status 200; 0x00 JSON, 0x28 XML with VCD token headers) then a body.
for f in tests/fixtures/veeva/*.json tests/fixtures/cess/*.json; do
  { printf '\x00'; cat "$f"; } | seed responses "$(basename "$(dirname "$f")")-$(basename "$f")"
done
{ printf '\x28'; cat tests/fixtures/vcd/session.xml; } | seed responses vcd-session.xml
printf '\x00{"access_token":"a.b.c","expires_in":3600,"token_type":"Bearer"}' | seed responses cognito.json
printf '\x01{"error":"invalid_client","error_description":"x"}' | seed responses error.json
# requests: METHOD PATH, header lines, blank line, body.
printf 'POST /oauth2/token\ncontent-type: application/x-www-form-urlencoded\nauthorization: Basic YTpi\n\ngrant_type=client_credentials&scope=a' | seed requests cognito
printf 'POST /oauth\ncontent-type: application/json\n\n{"client_id":"a","client_secret":"s","username":"52998224725","password":"1","grant_type":"password","lifetime":60}' | seed requests cess
printf 'POST /vedauth/authorize/oauth\ncontent-type: application/json\n\n{"client_id":"a","username":"u","password":"p","scope":"certificate:manage,discover;ssh"}' | seed requests venafi
printf 'POST /auth/oauth/session/_9ad0a091?client_id=x\nauthorization: Bearer t\n\n' | seed requests veeva
printf 'POST /cloudapi/1.0.0/sessions\naccept: application/*+xml;version=38.0\nauthorization: Bearer t; org=Finance\n\n' | seed requests vcd
# text
while IFS= read -r line; do printf '%s' "$line" | seed text "scope-$(printf '%s' "$line" | cksum | cut -d' ' -f1)"; done < tests/fixtures/venafi/scopes.txt
printf '52998224725' | seed text cpf
printf '12ABC34501DE35' | seed text cnpj
printf 'VCSchema U09MVVRJSE9NLXw0MTQ0MmE4YzJiYjA2MDlkMjQ4Y2M0NjczNDJjNGYxYjBhNTFjOTJj' | seed text vcschema
printf 'Bearer OAuth-token; org=Finance' | seed text vcd-auth

status=0
for target in responses requests text; do
  echo "== fuzz $target for ${secs}s"
  (cd fuzz && cargo fuzz run "$target" -- -max_total_time="$secs" -max_len=4096) || status=1
done
exit $status
