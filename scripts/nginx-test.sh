#!/usr/bin/env bash
# nginx in front of an API with auth_request, checked end to end: starts the real
# binary on a fresh SQLite database (trusting 127.0.0.1 as a proxy), makes an
# organisation, products, apps and a gateway token, then runs Debian's nginx with
# docs/nginx-auth-request.conf — the documented file itself, its addresses and token
# filled in with sed — in front of a small upstream that echoes what nginx tells it.
# Every case goes through nginx and prints PASS or FAIL; any FAIL fails the script.
#
#   scripts/nginx-test.sh
#   GATEHOUSE_BIN=/path/to/gatehouse scripts/nginx-test.sh   # that binary, no build
#
# Loopback only, about thirty requests. nginx runs from a temporary prefix with its own
# pid and logs (as root its workers run as nobody; as another user, as that user).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
  echo "==> installing nginx"
  apt-get update -qq
  apt-get install -y -qq nginx >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if ! "$nginx_bin" -V 2>&1 | grep -q -- '--with-http_auth_request_module'; then
  echo "FAIL: $nginx_bin lacks the auth_request module" >&2
  exit 1
fi

if [[ -n "${GATEHOUSE_BIN:-}" ]]; then
  bin="$GATEHOUSE_BIN"
else
  cargo build --quiet --bin gatehouse
  bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/gatehouse"
fi

work=$(mktemp -d)
server="" nginx_pid=""
cleanup() {
  for pid in $nginx_pid $server; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
gh_port=$(free_port)
front_port=$(free_port)
up_port=$(free_port)
base="http://127.0.0.1:$gh_port"
front="http://127.0.0.1:$front_port"

wait_for() { # URL: until it answers at all, about ten seconds
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "FAIL: nothing answers at $1" >&2
  return 1
}

# --- Gatehouse ----------------------------------------------------------------------
export GATEHOUSE_DATA_DIR="$work/data" GATEHOUSE_BIND="127.0.0.1:$gh_port" \
  GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32 GATEHOUSE_LOG_FORMAT=json
unset GATEHOUSE_DATABASE_URL GATEHOUSE_CONFIG
mkdir -m 700 "$work/data"
echo "nginx test password" | "$bin" admin create-owner --email owner@example.com \
  --org Edge --org-slug edge --password-stdin >/dev/null 2>>"$work/gatehouse.log"
admin_token=$("$bin" admin token create --org edge --name nginx-test 2>>"$work/gatehouse.log")
"$bin" serve >>"$work/gatehouse.log" 2>&1 &
server=$!
wait_for "$base/healthz"

api() { curl -fsS -H "Authorization: Bearer $admin_token" -H 'content-type: application/json' "$@"; }
field() { python3 -c 'import json, sys
def find(v, name):
    if isinstance(v, dict):
        if name in v and not isinstance(v[name], (dict, list)):
            return v[name]
        v = list(v.values())
    if isinstance(v, list):
        for x in v:
            found = find(x, name)
            if found is not None:
                return found
    return None
print(find(json.load(sys.stdin), sys.argv[1]) or "")' "$1"; }
product() { api -X POST "$base/api/v1/products" -d "$1" | field id; }
new_app() { # NAME PRODUCT_ID: prints "APP_ID KEY"
  local reply
  reply=$(api -X POST "$base/api/v1/apps" \
    -d "{\"name\":\"$1\",\"auth_type\":\"api_key\",\"products\":[\"$2\"]}")
  echo "$(field id <<<"$reply") $(field api_key <<<"$reply")"
}

# payments: one request a second per app; maps: no limit.
payments=$(product '{"name":"Payments","slug":"payments","approval_mode":"auto","rate_limit_per_second":1}')
maps=$(product '{"name":"Maps","slug":"maps","approval_mode":"auto"}')
read -r maps_app maps_key < <(new_app "Maps client" "$maps")
read -r _ busy_key < <(new_app "Busy client" "$payments")
read -r reset_app old_key < <(new_app "Reset client" "$maps")
read -r paused_app paused_key < <(new_app "Paused client" "$maps")
read -r fenced_app fenced_key < <(new_app "Fenced client" "$maps")
gw_reply=$(api -X POST "$base/api/v1/gateway-tokens" -d '{"name":"nginx test"}')
gw_id=$(field id <<<"$gw_reply")
gw_token=$(field token <<<"$gw_reply")
for v in payments maps maps_app maps_key busy_key reset_app old_key paused_app paused_key \
  fenced_app fenced_key gw_id gw_token; do
  if [[ -z "${!v}" ]]; then
    echo "FAIL: setup: no $v from the management API" >&2
    exit 1
  fi
done

# --- nginx ----------------------------------------------------------------------------
# The documented file with this run's addresses and token; each replacement must hit.
conf="$work/gatehouse.conf"
sed -e "s|server 127\.0\.0\.1:8080;|server 127.0.0.1:$gh_port;|" \
  -e "s|server 127\.0\.0\.1:9000;|server 127.0.0.1:$up_port;|" \
  -e "s|listen 80;|listen 127.0.0.1:$front_port;|" \
  -e "s|gate_gw_REPLACE_WITH_YOUR_GATEWAY_TOKEN|$gw_token|" \
  docs/nginx-auth-request.conf >"$conf"
for want in "server 127.0.0.1:$gh_port;" "server 127.0.0.1:$up_port;" \
  "listen 127.0.0.1:$front_port;" "\"$gw_token\""; do
  if ! grep -qF -- "$want" "$conf"; then
    echo "FAIL: docs/nginx-auth-request.conf no longer has the line this test fills in for: $want" >&2
    exit 1
  fi
done
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log $work/nginx/logs/access.log;
    include $conf;
    # The API: answers 200 with what nginx passed on about the caller.
    server {
        listen 127.0.0.1:$up_port;
        location / {
            default_type text/plain;
            return 200 "app=\$http_x_gatehouse_app_id credential=\$http_x_gatehouse_credential_id\n";
        }
    }
}
EOF
if ! "$nginx_bin" -t -q -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log"; then
  echo "FAIL: nginx does not accept the configuration" >&2
  exit 1
fi
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" \
  -g 'daemon off;' &
nginx_pid=$!
wait_for "$front/"

# --- cases ----------------------------------------------------------------------------
passed=0 failed=0
status="" reason="" body="" hdrs="$work/headers"
# request PATH [CURL ARGS…]: sets status, reason (X-Gatehouse-Reason) and body.
request() {
  local path=$1
  shift
  status=$(curl -sS -o "$work/body" -D "$hdrs" -w '%{http_code}' "$@" "$front$path")
  body=$(cat "$work/body")
  reason=$(header X-Gatehouse-Reason)
}
header() { grep -i "^$1:" "$hdrs" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//' || true; }
check() { # NAME STATUS REASON [BODY_GLOB [HEADER REGEX]]: PASS when the answer fits
  local name=$1 want_status=$2 want_reason=$3 body_glob=${4:-*} hname=${5:-} hregex=${6:-}
  # shellcheck disable=SC2053 # the body is matched against a glob on purpose
  if [[ "$status" == "$want_status" && "$reason" =~ ^($want_reason)$ && "$body" == $body_glob ]] &&
    { [[ -z "$hname" ]] || [[ "$(header "$hname")" =~ $hregex ]]; }; then
    echo "PASS: $name"
    passed=$((passed + 1))
  else
    echo "FAIL: $name (got $status, reason '${reason}', body: ${body:0:200})"
    failed=$((failed + 1))
  fi
}

request /maps/v1/tiles -H "Authorization: Bearer $maps_key" -H "X-Gatehouse-App-Id: forged"
check "valid key (Bearer) -> 200 from the API, which sees the app id (not the client's forged one)" \
  200 "" "app=$maps_app credential=?*"

request /maps/v1/tiles -H "X-API-Key: $maps_key"
check "valid key (X-API-Key) -> 200" 200 "" "app=$maps_app *"

# nginx's check is always a GET without a body, whatever the client sends.
request /maps/v1/tiles -X POST -H "X-API-Key: $maps_key" -H 'content-type: application/json' -d '{"z":3}'
check "valid key on a POST with a body -> 200" 200 "" "app=$maps_app *"

request /maps/v1/tiles -H "Authorization: Bearer gate_key_doesnotexist0000000000000000"
check "unknown key -> 401 with WWW-Authenticate" 401 "MALFORMED|NOT_FOUND" "{*" \
  WWW-Authenticate "^Bearer"

request /maps/v1/tiles
check "no key -> 401 MISSING_KEY" 401 MISSING_KEY

api -X POST "$base/api/v1/apps/$reset_app/reset" -d '{}' >"$work/reset.json"
new_key=$(field api_key <"$work/reset.json")
request /maps/v1/tiles -H "Authorization: Bearer $old_key"
check "key replaced by a reset -> 401 REVOKED" 401 REVOKED
request /maps/v1/tiles -H "Authorization: Bearer $new_key"
check "the reset's new key -> 200" 200 "" "app=$reset_app *"

api -X POST "$base/api/v1/apps/$paused_app/suspend" -d '{"reason":"nginx test"}' >/dev/null
request /maps/v1/tiles -H "Authorization: Bearer $paused_key"
check "suspended app -> 403 SUSPENDED" 403 SUSPENDED

request /payments/v1/charges -H "Authorization: Bearer $maps_key"
check "product not subscribed -> 403 NOT_SUBSCRIBED" 403 NOT_SUBSCRIBED
request /payments/v1/charges -H "Authorization: Bearer $maps_key" -H "X-Gatehouse-Product: maps"
check "a client's own X-Gatehouse-Product changes nothing -> 403 NOT_SUBSCRIBED" 403 NOT_SUBSCRIBED

# The client calls from 127.0.0.3; nginx reaches Gatehouse from 127.0.0.1, a trusted proxy,
# so Gatehouse must judge the key by X-Real-IP, not by nginx's address.
allow() {
  api -X PATCH "$base/api/v1/apps/$fenced_app/credentials/$1" -d "{\"allowed_ips\":[\"$2\"]}" >/dev/null
}
request /maps/v1/tiles -H "Authorization: Bearer $fenced_key"
fenced_credential=${body##*credential=}
allow "$fenced_credential" 127.0.0.3/32
request /maps/v1/tiles --interface 127.0.0.3 -H "Authorization: Bearer $fenced_key"
check "key allowed for the client's address (X-Real-IP from nginx) -> 200" 200 "" "app=$fenced_app *"
allow "$fenced_credential" 127.0.0.1/32
request /maps/v1/tiles --interface 127.0.0.3 -H "Authorization: Bearer $fenced_key" \
  -H "X-Real-IP: 127.0.0.1" -H "X-Forwarded-For: 127.0.0.1"
check "key allowed only for nginx's address, client forging X-Real-IP -> 403 FORBIDDEN_IP" \
  403 FORBIDDEN_IP

request /payments/v1/charges -H "Authorization: Bearer $busy_key"
check "rate-limited product, first request -> 200" 200 ""
# One a second: the next quick request is refused (a slow machine gets three tries).
for _ in 1 2 3; do
  request /payments/v1/charges -H "Authorization: Bearer $busy_key"
  [[ "$status" == 429 ]] && break
done
check "rate-limited product, quick second request -> 429 RATE_LIMITED with Retry-After" \
  429 RATE_LIMITED "{*" Retry-After "^[0-9]+$"

api -X DELETE "$base/api/v1/gateway-tokens/$gw_id" >/dev/null
request /maps/v1/tiles -H "Authorization: Bearer $maps_key"
check "nginx's gateway token revoked -> 503, nothing reaches the API" \
  503 GATEWAY_TOKEN '{"error":"service_unavailable"}*'

kill "$server"
wait "$server" 2>/dev/null || true
server=""
request /maps/v1/tiles -H "Authorization: Bearer $maps_key"
check "Gatehouse down -> 503, nothing reaches the API" 503 "" '{"error":"service_unavailable"}*'

echo "nginx-test: $passed passed, $failed failed"
if ((failed)); then
  echo "==> nginx error log:"
  tail -n 20 "$work/nginx/logs/error.log" || true
  echo "==> Gatehouse log (warnings and errors):"
  grep -E '"level":"(ERROR|WARN)"' "$work/gatehouse.log" | tail -n 20 || true
  exit 1
fi
