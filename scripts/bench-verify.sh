#!/usr/bin/env bash
# The gateway-path benchmark (issue 12): seeds a SQLite instance with a million API
# keys (`gatehouse seed --keys`, many-row inserts — no HTTP), serves it with the
# release binary and measures, with wrk over loopback, requests/s and p50/p99 latency
# of /healthz, verify with a valid key (a random one per request), verify with an
# unknown well-formed key and auth-request with a valid key, in interleaved runs;
# then the server's resident memory on an empty database and with the keys loaded
# (same binary, same flags; the process's own memory and SQLite's mapped file pages
# apart) and the cold load time of the verify index (from the
# "verify index loaded" log line). The same run measures the OAuth2 paths on
# client secrets seeded on the live OAuth2 apps (`gatehouse seed --clients`):
# client_credentials tokens at /oauth/token with HTTP Basic, refreshes at
# /api/v1/login (each with the refresh token the previous one returned: a chain per
# connection), /oauth/introspect with a gateway token and verify with JWT access
# tokens. Targets: every verify figure and introspection ≥ 0.8 × /healthz
# requests/s, client_credentials ≥ 0.3 ×; ≤ 100 MB more RSS per million keys; a
# million keys load in ≤ 5 s.
#
#   scripts/bench-verify.sh                       # SQLite (a temporary directory)
#   scripts/bench-verify.sh postgres://…/postgres  # also the revocation lag across
#                                                 # two instances on one PostgreSQL
#                                                 # database (created next to the one
#                                                 # named, dropped afterwards)
#
# BENCH_KEYS (default 1000000), BENCH_APPS (default 10000), BENCH_DURATION (seconds
# per run, default 10), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 32),
# BENCH_CLIENTS (OAuth2 client secrets seeded for the token figures, default 1000),
# BENCH_THREADS (wrk threads, default 2), BENCH_LAG_KEYS (PostgreSQL: keys seeded for
# the lag, default 20000). BENCH_DATA=DIR keeps the seeded SQLite data directory in
# DIR and reuses it next time. The keys and clients files hold live API keys and
# client secrets in plain text (mode 0600) for wrk to read: they stay in the data
# directory. Runs outside CI; loopback
# only; needs wrk (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

keys=${BENCH_KEYS:-1000000}
apps=${BENCH_APPS:-10000}
clients=${BENCH_CLIENTS:-1000}
lag_keys=${BENCH_LAG_KEYS:-20000}
pg_url=${1:-}

if ! command -v wrk >/dev/null; then
  echo "==> installing wrk" >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

# BENCH_BIN=PATH runs an already built binary instead (e.g. to try the script out).
if [[ -n "${BENCH_BIN:-}" ]]; then
  bin=$BENCH_BIN
else
  cargo build --release --quiet --bin gatehouse
  bin="${CARGO_TARGET_DIR:-$PWD/target}/release/gatehouse"
fi
work=$(mktemp -d)
servers=()
created_dbs=()
stop_servers() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  servers=()
}
cleanup() {
  stop_servers
  for db in "${created_dbs[@]}"; do
    psql "$pg_url" -qAt -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$1" "$2"; }

# Serves GATEHOUSE_DATA_DIR (and GATEHOUSE_DATABASE_URL, if set) on a free port, the
# same flags every time; sets $port and $pid.
serve() {
  local log=$1
  port=$(free_port)
  GATEHOUSE_BIND="127.0.0.1:$port" GATEHOUSE_LOG_FORMAT=json GATEHOUSE_LOG="warn,gatehouse::startup=info" \
    "$bin" serve >"$log" 2>&1 &
  pid=$!
  servers+=("$pid")
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench: the server did not start" >&2; exit 1
}
rss_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
# Resident memory once the server has settled after start, as JSON: VmRSS, and its
# parts — RssAnon (the process's own memory: the verify index lives here) and RssFile
# (file pages mapped in, mostly SQLite's memory-mapped database: page cache the kernel
# can drop, and as large as the part of the file that was read).
settled_rss() {
  sleep 2
  printf '{"rss": %s, "anon": %s, "file": %s}' \
    "$(rss_kb "$1" VmRSS)" "$(rss_kb "$1" RssAnon)" "$(rss_kb "$1" RssFile)"
}

# 1. The empty database: the baseline resident memory.
unset GATEHOUSE_DATABASE_URL
export GATEHOUSE_DATA_DIR="$work/empty"
mkdir -p "$GATEHOUSE_DATA_DIR"
echo "==> empty database: measuring resident memory" >&2
serve "$work/empty.log"
rss_empty=$(settled_rss "$pid")
stop_servers

# 2. The million keys.
dir="$work/sqlite-$keys"
[[ -n "${BENCH_DATA:-}" ]] && dir="$BENCH_DATA/verify-$apps-$keys-$clients"
mkdir -p "$dir"
chmod 700 "$dir"
export GATEHOUSE_DATA_DIR="$dir"
if [[ -s "$dir/seed.json" ]]; then
  echo "==> reusing the seeded data in $dir" >&2
else
  echo "==> seeding $apps apps, $keys keys and $clients OAuth2 clients" >&2
  "$bin" seed --apps "$apps" --keys "$keys" --keys-out "$dir/keys.txt" \
    --clients "$clients" --clients-out "$dir/clients.txt" >"$dir/seed.json.part"
  mv "$dir/seed.json.part" "$dir/seed.json"
fi
seed_apps_s=$(json_field "$dir/seed.json" '["seconds"]')
seed_keys_s=$(json_field "$dir/seed.json" '["keys"]["seconds"]')
product=$(json_field "$dir/seed.json" '["keys"]["product"]')
client_product=$(json_field "$dir/seed.json" '["clients"]["product"]')
org=$(json_field "$dir/seed.json" '["org"]')
printf '    %s apps in %.1f s; %s keys (%s live, on %s apps approved for %s) in %.1f s\n' \
  "$(json_field "$dir/seed.json" '["apps"]')" "$seed_apps_s" "$keys" \
  "$(json_field "$dir/seed.json" '["keys"]["live"]')" "$(json_field "$dir/seed.json" '["keys"]["apps"]')" \
  "$product" "$seed_keys_s" >&2
printf '    %s client secrets on %s OAuth2 apps approved for %s\n' "$clients" \
  "$(json_field "$dir/seed.json" '["clients"]["apps"]')" "$client_product" >&2
[[ -s "$dir/unknown.txt" ]] || python3 scripts/bench_verify.py unknown "$dir/keys.txt" "$dir/unknown.txt" 100000

admin=$("$bin" admin token create --org "$org" --name bench-verify)
echo "==> serving the keys" >&2
serve "$work/full.log"
rss_full=$(settled_rss "$pid")
load=$(grep -m1 'verify index loaded' "$work/full.log")
load_millis=$(grep -o '"millis":[0-9]*' <<<"$load" | cut -d: -f2)
index_keys=$(grep -o '"keys":[0-9]*' <<<"$load" | cut -d: -f2)
index_apps=$(grep -o '"apps":[0-9]*' <<<"$load" | cut -d: -f2)
gw=$(curl -fsS -X POST "http://127.0.0.1:$port/api/v1/gateway-tokens" \
  -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d "{\"name\":\"bench-verify-$$-$(date +%s)\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
python3 scripts/bench_verify.py check "$port" "$gw" "$product" "$dir/keys.txt" "$dir/unknown.txt" \
  "$dir/clients.txt" "$client_product"
echo "==> measuring (wrk, ${BENCH_ROUNDS:-3} interleaved rounds of ${BENCH_DURATION:-10} s per figure)" >&2
python3 scripts/bench_verify.py measure "$work/results.json" "$port" "$gw" "$product" "$dir/keys.txt" "$dir/unknown.txt" \
  "$dir/clients.txt" "$client_product"
hwm_full=$(rss_kb "$pid" VmHWM)
stop_servers
cat >"$work/facts.json" <<EOF
{"keys": $keys, "apps": $apps, "clients": $clients, "rss_empty": $rss_empty, "rss_full": $rss_full,
 "hwm_full_kb": $hwm_full, "load_millis": $load_millis, "index_keys": $index_keys,
 "index_apps": $index_apps, "seed_seconds": $seed_keys_s, "seed_apps_seconds": $seed_apps_s}
EOF
python3 scripts/bench_verify.py report "$work/results.json" "$work/facts.json"

# 3. PostgreSQL: how long another instance keeps accepting a retired key.
if [[ -n "$pg_url" ]]; then
  db="gatehouse_bench_verify_$$"
  psql "$pg_url" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
  created_dbs+=("$db")
  export GATEHOUSE_DATABASE_URL="${pg_url%/*}/$db?sslmode=disable"
  export GATEHOUSE_DATA_DIR="$work/pg"
  mkdir -p "$GATEHOUSE_DATA_DIR"
  chmod 700 "$GATEHOUSE_DATA_DIR"
  echo "==> PostgreSQL: seeding 1000 apps and $lag_keys keys" >&2
  "$bin" seed --apps 1000 --keys "$lag_keys" --keys-out "$work/pg/keys.txt" >"$work/pg/seed.json"
  printf '    %s keys in %.1f s\n' "$lag_keys" "$(json_field "$work/pg/seed.json" '["keys"]["seconds"]')" >&2
  product=$(json_field "$work/pg/seed.json" '["keys"]["product"]')
  org=$(json_field "$work/pg/seed.json" '["org"]')
  admin=$("$bin" admin token create --org "$org" --name bench-verify)
  serve "$work/pg-a.log"
  port_a=$port
  serve "$work/pg-b.log"
  port_b=$port
  gw=$(curl -fsS -X POST "http://127.0.0.1:$port_a/api/v1/gateway-tokens" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench-verify-$$-$(date +%s)\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  # The second instance learns of the new gateway token from the change feed.
  for _ in $(seq 1 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port_b/api/v1/keys/verify" \
      -H "Authorization: Bearer $gw" -H 'Content-Type: application/json' -d '{"key":"x"}') == 200 ]] && break
    sleep 0.1
  done
  python3 scripts/bench_verify.py lag "$port_a" "$port_b" "$gw" "$admin" "$product" "$work/pg/keys.txt" 20
  stop_servers
fi
