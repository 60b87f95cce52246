#!/usr/bin/env bash
# Stock OAuth2 clients against the real binary, unchanged: starts Gatehouse on a fresh
# database on loopback, makes an owner, an organisation and an admin token with the
# CLI, then runs scripts/oauth_clients.py in a Python virtual environment with Authlib
# and requests-oauthlib. The script makes two products, an OAuth2 app subscribed to
# both and a gateway token through the management API, fetches client-credentials
# tokens with each library (HTTP Basic and credentials in the body), introspects them
# with the gateway token, verifies them offline against the JWKS with authlib.jose,
# reads the RFC 8414 metadata, and checks that a wrong secret is a 401 invalid_client
# with WWW-Authenticate: Basic. Every check prints PASS or FAIL; any FAIL fails this.
#
#   scripts/oauth-clients.sh                  # SQLite in a temporary directory
#   scripts/oauth-clients.sh postgres://…     # an empty PostgreSQL database
#   GATEHOUSE_BIN=/path/to/gatehouse scripts/oauth-clients.sh   # that binary, no build
#
# The public URL is http://localhost:PORT while the script talks to 127.0.0.1:PORT, so
# the issuer is seen to come from --public-url, not from the request's Host; the
# clients call the token endpoint the metadata names. The virtual environment lives in
# the target directory (OAUTH_CLIENTS_VENV overrides) and is reused while its pinned
# versions match; on Debian without python3-venv, that package is installed first.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# Pinned so that a new release cannot change the verdict unnoticed.
requirements=(Authlib==1.9.10 requests-oauthlib==2.0.0 oauthlib==4.0.1 requests==2.34.2
  cryptography==50.0.2)

target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="${OAUTH_CLIENTS_VENV:-$target/oauth-clients-venv}"
stamp="$venv/.gatehouse-requirements"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "${requirements[*]}" ]] ||
  ! "$venv/bin/python" -c 'import authlib, requests_oauthlib' >/dev/null 2>&1; then
  echo "==> Python virtual environment for the OAuth2 clients: $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 has the venv module but not ensurepip without python3-venv.
    echo "==> installing python3-venv"
    rm -rf "$venv"
    apt-get update -qq
    apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "${requirements[@]}"
  echo "${requirements[*]}" >"$stamp"
fi

if [[ -n "${GATEHOUSE_BIN:-}" ]]; then
  bin="$GATEHOUSE_BIN"
else
  cargo build --quiet --bin gatehouse
  bin="$target/debug/gatehouse"
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
public="http://localhost:$port"
export GATEHOUSE_DATA_DIR="$work/data" GATEHOUSE_BIND="127.0.0.1:$port" \
  GATEHOUSE_PUBLIC_URL="$public" GATEHOUSE_LOG_FORMAT=json
unset GATEHOUSE_DATABASE_URL GATEHOUSE_CONFIG
if [[ -n "${1:-}" ]]; then export GATEHOUSE_DATABASE_URL="$1"; fi
mkdir -m 700 "$work/data"

echo "oauth clients test password" | "$bin" admin create-owner --email owner@example.com \
  --org Clients --org-slug clients --password-stdin >/dev/null 2>>"$work/gatehouse.log"
admin_token=$("$bin" admin token create --org clients --name oauth-clients 2>>"$work/gatehouse.log")
"$bin" serve >>"$work/gatehouse.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do
  curl -s -o /dev/null "$base/healthz" && break
  sleep 0.2
done
if ! curl -fs -o /dev/null "$base/healthz"; then
  echo "FAIL: nothing answers at $base/healthz" >&2
  tail -n 20 "$work/gatehouse.log" >&2 || true
  exit 1
fi

status=0
"$venv/bin/python" scripts/oauth_clients.py --base "$base" --public-url "$public" \
  --admin-token "$admin_token" || status=$?
if ((status != 0)); then
  echo "==> Gatehouse log (warnings and errors):"
  grep -E '"level":"(ERROR|WARN)"' "$work/gatehouse.log" | tail -n 20 || true
fi
exit "$status"
