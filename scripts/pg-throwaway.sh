#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for tests and benchmarks, unless one is
# already reachable at $SUQIU_TEST_DATABASE_URL. Prints `export` lines for the
# caller to eval. Installs Debian's postgresql package when the server binaries
# are missing and we are allowed to (root, or SUQIU_INSTALL_POSTGRES=1 with sudo).
set -euo pipefail

log() { echo "pg-throwaway: $*" >&2; }

if [ -n "${SUQIU_TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null && psql "$SUQIU_TEST_DATABASE_URL" -Atc 'select 1' >/dev/null 2>&1; then
  log "using the server at $SUQIU_TEST_DATABASE_URL"
  echo "export SUQIU_TEST_DATABASE_URL='$SUQIU_TEST_DATABASE_URL'"
  exit 0
fi

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

BIN=$(find_bin || true)
if [ -z "$BIN" ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  elif [ "${SUQIU_INSTALL_POSTGRES:-0}" = 1 ]; then
    sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  else
    log "PostgreSQL server binaries not found; install Debian's 'postgresql' or set SUQIU_INSTALL_POSTGRES=1"
    exit 1
  fi
  BIN=$(find_bin)
fi

PORT=${SUQIU_PG_PORT:-54329}
DIR=${SUQIU_PG_DIR:-/tmp/suqiu-pg-$PORT}

# initdb and postgres refuse to run as root: use the postgres system user then.
RUN=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  RUN=(runuser -u postgres --)
fi

if "${RUN[@]}" "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  log "a server is already running on port $PORT"
else
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  "${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1 \
    || "${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
    -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=on -c max_connections=300 -c shared_buffers=256MB" start >&2
  log "started PostgreSQL ($BIN) on 127.0.0.1:$PORT, data in $DIR"
  echo "export SUQIU_PG_STOP='${RUN[*]} $BIN/pg_ctl -D $DIR/data -m fast stop'"
fi
echo "export SUQIU_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:$PORT/postgres'"
