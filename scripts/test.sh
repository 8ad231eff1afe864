#!/usr/bin/env bash
# Runs every test of the workspace, the PostgreSQL ones included: a throwaway
# PostgreSQL server is started (and installed from Debian's packages if missing
# and permitted) unless SUQIU_TEST_DATABASE_URL already points at one.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(scripts/pg-throwaway.sh)"
if [ -n "${SUQIU_PG_STOP:-}" ]; then
  trap 'eval "$SUQIU_PG_STOP" >/dev/null 2>&1 || true' EXIT
fi
export SUQIU_TEST_DATABASE_URL
# PostgreSQL tests must run, never skip silently.
export SUQIU_REQUIRE_POSTGRES=1
scripts/browser-deps.sh && export SUQIU_REQUIRE_BROWSER=1 # the browser story (crates/pages) must run too

cargo test --workspace --locked "$@"
