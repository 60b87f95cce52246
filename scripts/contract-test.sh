#!/usr/bin/env bash
# Contract test of the management API: starts the real binary on a fresh database,
# makes an admin token, and lets schemathesis fuzz every operation of the API from
# the server's own OpenAPI document (/api/v1/openapi.json). Fails on any 5xx and on
# any response whose status, content type, headers or body the document does not
# describe. Hostile values (NUL bytes, huge numbers, overlong strings) included.
#
#   scripts/contract-test.sh                 # SQLite in a temporary directory
#   scripts/contract-test.sh postgres://…    # an empty PostgreSQL database
#
# Then the gateway endpoints with a gateway token: POST /api/v1/keys/verify with it as
# Authorization: Bearer; GET /api/v1/auth-request with it in X-Gatehouse-Token, once
# with generated client keys and once with a real key of a product limited to one
# request a second, so that its 204, 403 and 429 answers are checked too.
#
# CONTRACT_MAX_EXAMPLES (default 40) bounds the cases per operation; GATEHOUSE_BIN runs
# that binary instead of building one. One operation is left out: DELETE
# /api/v1/tokens/{id} would revoke the very token the fuzzer uses (it finds the id in
# GET /api/v1/tokens); tests/it/api_tokens.rs covers it. One worker: CPython 3.11's
# ast module is not thread-safe (gh-106905) and schemathesis's coverage phase trips over
# it with several.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
if [[ "$(schemathesis --version 2>/dev/null || true)" != *"$SCHEMATHESIS_VERSION"* ]]; then
  echo "==> installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --break-system-packages \
    "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [[ -n "${GATEHOUSE_BIN:-}" ]]; then
  bin="$GATEHOUSE_BIN"
else
  cargo build --quiet --bin gatehouse
  bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/gatehouse"
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export GATEHOUSE_DATA_DIR="$work" GATEHOUSE_BIND="127.0.0.1:$port" GATEHOUSE_LOG_FORMAT=json
if [[ -n "${1:-}" ]]; then export GATEHOUSE_DATABASE_URL="$1"; fi

echo "contract test password" | "$bin" admin create-owner --email owner@example.com \
  --org Contract --org-slug contract --password-stdin >/dev/null
token=$("$bin" admin token create --org contract --name schemathesis)

"$bin" serve >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 50); do
  curl -fs "$base/healthz" >/dev/null && break
  sleep 0.2
done

# A little data, so reads and updates also meet real resources.
api() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
api -X POST "$base/api/v1/products" -d '{"name":"Payments","slug":"payments","approval_mode":"manual"}' >/dev/null
api -X POST "$base/api/v1/teams" -d '{"name":"Platform"}' >/dev/null
api -X POST "$base/api/v1/apps" -d '{"name":"Seed app","auth_type":"api_key","products":["payments"]}' >/dev/null

fuzz() { # schemathesis with the common settings and the arguments given
  schemathesis run "$base/api/v1/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "${CONTRACT_MAX_EXAMPLES:-40}" \
    --seed "${CONTRACT_SEED:-20261123}" \
    --generation-allow-x00 true \
    --workers 1 \
    --request-timeout 30 \
    --no-color \
    --generation-database none \
    "$@"
}

status=0
echo "==> schemathesis against $base/api/v1/openapi.json"
fuzz --header "Authorization: Bearer $token" \
  --exclude-operation-id revoke_token \
  --report junit --report-dir "$work/report" || status=$?
# Made after the first pass, which may suspend, reset or delete whatever it finds.
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)'"$1"')'; }
api -X POST "$base/api/v1/products" \
  -d '{"name":"Metered","slug":"metered","approval_mode":"auto","rate_limit_per_second":1}' >/dev/null
client_key=$(api -X POST "$base/api/v1/apps" \
  -d '{"name":"Metered app","auth_type":"api_key","products":["metered"]}' |
  json_field '["credentials"]["api_key"]')
gateway_token=$(api -X POST "$base/api/v1/gateway-tokens" \
  -d '{"name":"schemathesis","default_product":"metered"}' | json_field '["token"]')
echo "==> schemathesis: the gateway endpoints with a gateway token"
fuzz --include-operation-id verify --header "Authorization: Bearer $gateway_token" \
  --report junit --report-dir "$work/report-verify" || status=$?
fuzz --include-operation-id auth_request --header "X-Gatehouse-Token: $gateway_token" \
  --report junit --report-dir "$work/report-auth-request" || status=$?
fuzz --include-operation-id auth_request --header "X-Gatehouse-Token: $gateway_token" \
  --header "Authorization: Bearer $client_key" \
  --report junit --report-dir "$work/report-auth-request-key" || status=$?
if ((status != 0)); then
  echo "==> server errors logged during the run:"
  grep -E '"level":"(ERROR|WARN)"' "$work/server.log" | tail -n 40 || true
fi
exit "$status"
