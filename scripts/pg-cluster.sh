#!/usr/bin/env bash
# A throwaway PostgreSQL cluster in one directory, for tests and local runs:
#   pg-cluster.sh init DIR                   a new cluster in DIR/data (trust auth, UTF-8)
#   pg-cluster.sh start DIR                  listens on 127.0.0.1 (a free port the first time,
#                                            the same port on every later start) and on a unix
#                                            socket in DIR; returns once it accepts connections
#   pg-cluster.sh stop DIR [fast|immediate]  stops it (fast by default; immediate is a crash:
#                                            no checkpoint, recovery from the WAL on next start)
#   pg-cluster.sh url DIR                    postgres://postgres@127.0.0.1:PORT/postgres
#   pg-cluster.sh destroy DIR                stops it if it runs and deletes DIR
# The binaries come from the newest /usr/lib/postgresql/*/bin (Debian's layout), never from
# PATH. As root, every PostgreSQL binary runs as the `postgres` user, which then owns DIR; DIR's
# parent must let that user through.
# fsync and synchronous_commit stay on: Glossa refuses a database that would acknowledge a
# write before its WAL is on disk.
set -euo pipefail

usage() {
  echo "usage: $0 init|start|stop|url|destroy DIR [fast|immediate]" >&2
  exit 2
}

[ $# -ge 2 ] || usage
action=$1
dir=$2

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/install-test-deps.sh" >&2
  exit 1
fi

# Runs a PostgreSQL binary, as `postgres` when we are root (the server refuses to run as root).
pg() {
  local tool=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    # From /, which `postgres` can always enter (every path here is absolute).
    (cd / && runuser -u postgres -- "$bindir/$tool" "$@")
  else
    "$bindir/$tool" "$@"
  fi
}

port_file() { echo "$dir/port"; }

running() { [ -f "$dir/data/postmaster.pid" ] && pg pg_ctl status -D "$dir/data" >/dev/null 2>&1; }

. "$(dirname "${BASH_SOURCE[0]}")/lib/ports.sh"

[ "$action" != init ] || mkdir -p "$dir"
if [ -d "$dir" ]; then
  dir=$(cd "$dir" && pwd)
fi

case "$action" in
  init)
    if [ "$(id -u)" -eq 0 ]; then
      chown -R postgres: "$dir"
      if ! runuser -u postgres -- test -w "$dir"; then
        echo "the postgres user cannot reach $dir (a parent directory keeps it out); use a directory under /tmp" >&2
        exit 1
      fi
    fi
    pg initdb -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$dir/initdb.log"
    cat >>"$dir/data/postgresql.conf" <<EOF

# A throwaway cluster for tests: loopback only, one database per test desk.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
    ;;
  start)
    [ -d "$dir/data" ] || { echo "no cluster in $dir; run '$0 init $dir' first" >&2; exit 1; }
    if running; then
      exit 0
    fi
    if [ -f "$(port_file)" ]; then
      port=$(cat "$(port_file)")
      if taken "$port"; then
        echo "port $port of the cluster in $dir is taken by another process" >&2
        exit 1
      fi
    else
      port=$(free_port)
      echo "$port" >"$(port_file)"
      [ "$(id -u)" -ne 0 ] || chown postgres: "$(port_file)"
    fi
    if ! pg pg_ctl start -D "$dir/data" -l "$dir/server.log" -w -t 120 -o "-p $port" >/dev/null; then
      echo "PostgreSQL did not start; its log:" >&2
      tail -n 20 "$dir/server.log" >&2 || true
      exit 1
    fi
    for _ in $(seq 1 600); do
      if pg pg_isready -q -h 127.0.0.1 -p "$port"; then
        exit 0
      fi
      sleep 0.1
    done
    echo "PostgreSQL started but does not accept connections on 127.0.0.1:$port" >&2
    exit 1
    ;;
  stop)
    mode=${3:-fast}
    case "$mode" in fast|immediate) ;; *) usage ;; esac
    if running; then
      pg pg_ctl stop -D "$dir/data" -m "$mode" -w -t 120 >/dev/null
    fi
    ;;
  url)
    [ -f "$(port_file)" ] || { echo "the cluster in $dir has not been started" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$(cat "$(port_file)")/postgres"
    ;;
  destroy)
    if [ -d "$dir/data" ] && running; then
      pg pg_ctl stop -D "$dir/data" -m immediate -w -t 120 >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    usage
    ;;
esac
