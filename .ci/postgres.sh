#!/usr/bin/env bash
# A throwaway PostgreSQL server for the coordinator's tests: `start` initializes a cluster in a
# temporary directory, listening on loopback only with trust authentication, and prints its URL;
# `stop` stops it and removes the directory. Runs the server as the `postgres` user when run as
# root (Debian's postgresql package creates it).
set -euo pipefail
DIR=${RAVDL_PG_DIR:-/tmp/ravdl-pg}
PORT=${RAVDL_PG_PORT:-54329}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/initdb" ] || { echo "postgres.sh: PostgreSQL is not installed (apt-get install -y postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
case "${1:-}" in
  start)
    if [ -f "$DIR/data/postmaster.pid" ] && as_pg "'$BIN/pg_ctl' -D '$DIR/data' status" >/dev/null 2>&1; then
      echo "postgres://postgres@127.0.0.1:$PORT/postgres"; exit 0
    fi
    rm -rf "$DIR"; mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
    as_pg "'$BIN/initdb' -D '$DIR/data' -U postgres --auth=trust -E UTF8 >'$DIR/initdb.log' 2>&1"
    as_pg "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/server.log' -w -t 60 -o \"-c listen_addresses=127.0.0.1 -p $PORT -k '$DIR' -c fsync=off -c max_connections=200\" start >/dev/null"
    echo "postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    [ -d "$DIR/data" ] && as_pg "'$BIN/pg_ctl' -D '$DIR/data' -m fast -w stop >/dev/null" || true
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
