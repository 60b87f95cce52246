#!/usr/bin/env bash
# The browser end-to-end suite: Debian's Chromium driven by playwright-core (pinned in
# e2e/package-lock.json; never `playwright install`, which downloads a browser) against
# the debug binary, on a fresh SQLite data directory — and on PostgreSQL too when a URL
# of an empty database is given.
#
#   scripts/e2e.sh                    # SQLite
#   scripts/e2e.sh postgres://…       # SQLite, then that (empty) PostgreSQL database
#
# Screenshots of every step, light and dark: target/e2e-screenshots/ (PostgreSQL pass:
# target/e2e-screenshots-postgres/). Fails on any console error, unexpected 4xx/5xx,
# page without a <title> and exactly one <h1>, clipped or covered menu, axe-core WCAG
# 2.1 A/AA violation, or step a person could not complete.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "==> installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! (cd e2e && npm ls --silent >/dev/null 2>&1); then
  echo "==> npm ci (e2e)"
  (cd e2e && npm ci --silent --no-audit --no-fund)
fi

cargo build --quiet --bin gatehouse
bin="$PWD/target/debug/gatehouse"

echo "==> browser suite on SQLite"
E2E_SHOTS="$PWD/target/e2e-screenshots" node e2e/run.mjs "$bin"

if [[ -n "${1:-}" ]]; then
  echo "==> browser suite on PostgreSQL"
  E2E_SHOTS="$PWD/target/e2e-screenshots-postgres" E2E_DATABASE_URL="$1" node e2e/run.mjs "$bin"
fi
