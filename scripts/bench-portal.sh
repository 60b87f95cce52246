#!/usr/bin/env bash
# The portal scale benchmark (issue 10): seeds the demo organisation at 100 and at
# 100,000 apps (the demo's data generator, batched write transactions — no HTTP),
# serves both at once with the release binary and times them alternately, request by
# request (so machine noise weighs on both sides of each ratio alike), one at a time: creating an
# app, the Consumer Apps page, My Hub and the approval queue as an org admin and as a
# developer in a 1,000-app team, and GET /api/v1/apps; then prints medians, p95s and
# the large/small ratios. Targets: every ratio ≤ 1.5, every page ≤ 50 ms p95 at
# 100,000 apps, My Hub ≤ 200 KB of HTML.
#
#   scripts/bench-portal.sh                      # SQLite (temporary directories)
#   scripts/bench-portal.sh postgres://…/postgres # also PostgreSQL: a fresh database
#                                                # per size is created next to the
#                                                # one named, and dropped afterwards
#
# BENCH_SMALL (default 100), BENCH_LARGE (default 100000), BENCH_REQUESTS (default
# 200 per figure) and BENCH_BACKENDS (e.g. "postgres") change the run. Seeding 100,000
# apps takes a few minutes: BENCH_DATA=DIR keeps the seeded SQLite data directories in
# DIR and reuses them on the next run (each run adds the apps it creates). Runs outside
# CI; loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

small=${BENCH_SMALL:-100}
large=${BENCH_LARGE:-100000}
requests=${BENCH_REQUESTS:-200}
pg_url=${1:-}

cargo build --release --quiet --bin gatehouse
bin="$PWD/target/release/gatehouse"
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

# One size on one backend: seed (or reuse), make an admin token, serve; prints
# "PORT SEED_JSON TOKEN" for the measurement.
serve() {
  local backend=$1 apps=$2 dir="$work/$1-$2"
  [[ -n "${BENCH_DATA:-}" && $backend == sqlite ]] && dir="$BENCH_DATA/$1-$2"
  mkdir -p "$dir"
  export GATEHOUSE_DATA_DIR="$dir" GATEHOUSE_LOG_FORMAT=json GATEHOUSE_LOG=warn
  unset GATEHOUSE_DATABASE_URL
  if [[ $backend == postgres ]]; then
    local db="gatehouse_bench_${apps}_$$"
    psql "$pg_url" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
    created_dbs+=("$db")
    export GATEHOUSE_DATABASE_URL="${pg_url%/*}/$db?sslmode=disable"
  fi
  if [[ -s "$dir/seed.json" ]]; then
    echo "==> $backend: reusing the $apps-app data in $dir" >&2
  else
    echo "==> $backend: seeding $apps apps" >&2
    "$bin" seed --apps "$apps" >"$dir/seed.json.part"
    mv "$dir/seed.json.part" "$dir/seed.json"
  fi
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("    {:,} apps in {:.1f} s".format(d["apps"], d["seconds"]), file=sys.stderr)' "$dir/seed.json"
  local org token port
  org=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["org"])' "$dir/seed.json")
  token=$("$bin" admin token create --org "$org" --name bench)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  GATEHOUSE_BIND="127.0.0.1:$port" "$bin" serve >"$dir/server.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "$port $dir/seed.json $token" >"$work/$backend-$apps.server"
}

backends=(sqlite)
[[ -n "$pg_url" ]] && backends+=(postgres)
# BENCH_BACKENDS="postgres" runs only the named backends.
if [[ -n "${BENCH_BACKENDS:-}" ]]; then read -r -a backends <<<"$BENCH_BACKENDS"; fi
for backend in "${backends[@]}"; do
  serve "$backend" "$small"
  serve "$backend" "$large"
  # Both sizes are served at once and timed alternately, request by request.
  echo "==> $backend: measuring $small and $large apps alternately ($requests requests per figure each)" >&2
  read -r -a s_args <"$work/$backend-$small.server"
  read -r -a l_args <"$work/$backend-$large.server"
  python3 scripts/bench_portal.py measure-pair "$requests" \
    "$work/$backend-$small.json" "$work/$backend-$large.json" "${s_args[@]}" "${l_args[@]}"
  stop_servers
  python3 scripts/bench_portal.py report "$work/$backend-$small.json" "$work/$backend-$large.json" "$backend"
done
