#!/usr/bin/env bash
# Glossa's replicas behind one address, on this machine: a PostgreSQL cluster
# (scripts/pg-cluster.sh), REPLICAS `glossa serve` processes on one database, each with a data
# directory of its own, and Caddy in front of them (deploy/Caddyfile: WebSockets, Server-Sent
# Events unbuffered, cookie stickiness, health checks on /healthz).
#
#   scripts/cluster.sh [--replicas N] [--port PORT] [--dir DIR] [-- SERVE-ARG…]
#
#   --replicas N   how many replicas (2 by default; 1 to 9)
#   --port PORT    Caddy's port on 127.0.0.1 (8080 by default; 0 picks a free one)
#   --dir DIR      keep the cluster's state in DIR (PostgreSQL, the replicas' data directories,
#                  the logs) and use it again on the next run; without it, a temporary
#                  directory removed on exit
#   SERVE-ARG…     passed to every `glossa serve` (e.g. --no-seed for a real desk; a new
#                  database is the demo desk otherwise)
#
# The binary is $GLOSSA_BIN, or built here (`cargo build --release`). PostgreSQL and Caddy are
# installed with scripts/install-test-deps.sh when missing. Once everything answers it prints
# `Glossa cluster is listening on http://127.0.0.1:PORT` and what runs where, then waits;
# Ctrl-C (or SIGTERM, or Caddy exiting) stops everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

replicas=2
port=8080
dir=
serve_args=()
usage() {
  echo "usage: $0 [--replicas N] [--port PORT] [--dir DIR] [-- SERVE-ARG…]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) [ $# -ge 2 ] || usage; replicas=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || usage; port=$2; shift 2 ;;
    --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --) shift; serve_args=("$@"); break ;;
    *) usage ;;
  esac
done
[[ "$replicas" =~ ^[1-9]$ ]] || { echo "--replicas must be 1 to 9, not $replicas" >&2; exit 2; }
[[ "$port" =~ ^[0-9]+$ ]] || { echo "--port must be a port number, not $port" >&2; exit 2; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v caddy >/dev/null 2>&1; then
  bash "$root/scripts/install-test-deps.sh" cluster
fi

bin=${GLOSSA_BIN:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release --bin glossa)
  bin=${CARGO_TARGET_DIR:-$root/target}/release/glossa
fi
[ -x "$bin" ] || { echo "no glossa binary at $bin" >&2; exit 1; }

keep=true
if [ -z "$dir" ]; then
  keep=false
  dir=$(mktemp -d "${TMPDIR:-/tmp}/glossa-cluster.XXXXXX")
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# As root, PostgreSQL runs as `postgres`, which must reach its directory.
chmod 755 "$dir"

pids=()
stopping=false
stop() {
  $stopping && return
  stopping=true
  trap - INT TERM
  # Caddy first (no new requests), then the replicas (a clean shutdown saves their
  # documents), then PostgreSQL.
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if $keep; then
    bash "$root/scripts/pg-cluster.sh" stop "$dir/postgres" || true
  else
    bash "$root/scripts/pg-cluster.sh" destroy "$dir/postgres" || true
    rm -rf "$dir"
  fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

. "$(dirname "${BASH_SOURCE[0]}")/lib/ports.sh"
[ "$port" -ne 0 ] || port=$(free_port)
if taken "$port"; then
  echo "port $port is taken; choose another with --port" >&2
  exit 1
fi

# PostgreSQL, and the desk's database in it.
pg_dir=$dir/postgres
[ -d "$pg_dir/data" ] || bash "$root/scripts/pg-cluster.sh" init "$pg_dir"
bash "$root/scripts/pg-cluster.sh" start "$pg_dir"
admin_url=$(bash "$root/scripts/pg-cluster.sh" url "$pg_dir")
database_url=${admin_url%/postgres}/glossa
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
exists=$("$psql" "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = 'glossa'")
[ "$exists" = 1 ] || "$psql" "$admin_url" -qc "CREATE DATABASE glossa TEMPLATE template0 ENCODING 'UTF8'"

# The replicas, started together (start-up work runs once, under an advisory lock).
public_url=http://127.0.0.1:$port
upstreams=()
logs=()
for i in $(seq 1 "$replicas"); do
  replica_port=$(free_port)
  log=$dir/replica-$i.log
  "$bin" serve --addr "127.0.0.1:$replica_port" --data-dir "$dir/replica-$i" \
    --database-url "$database_url" --public-url "$public_url" "${serve_args[@]}" \
    >"$log" 2>&1 &
  pids+=($!)
  upstreams+=("127.0.0.1:$replica_port")
  logs+=("$log")
done
for i in $(seq 0 $((replicas - 1))); do
  # A guard against a replica that never comes up (a first start seeds the desk).
  for _ in $(seq 1 1200); do
    grep -q "^Glossa is listening on " "${logs[$i]}" && break
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "replica $((i + 1)) exited; its log (${logs[$i]}):" >&2
      tail -n 20 "${logs[$i]}" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q "^Glossa is listening on " "${logs[$i]}" || {
    echo "replica $((i + 1)) did not start within 120 s; see ${logs[$i]}" >&2
    exit 1
  }
done

# Caddy in front.
admin_port=$(free_port)
mkdir -p "$dir/caddy"
GLOSSA_UPSTREAMS="${upstreams[*]}" GLOSSA_PROXY_PORT=$port GLOSSA_PROXY_BIND=127.0.0.1 \
  GLOSSA_CADDY_ADMIN=127.0.0.1:$admin_port \
  XDG_CONFIG_HOME=$dir/caddy XDG_DATA_HOME=$dir/caddy HOME=$dir/caddy \
  caddy run --config "$root/deploy/Caddyfile" --adapter caddyfile >"$dir/caddy.log" 2>&1 &
caddy_pid=$!
pids=("$caddy_pid" "${pids[@]}")
for _ in $(seq 1 300); do
  taken "$port" && break
  kill -0 "$caddy_pid" 2>/dev/null || { echo "Caddy exited; its log:" >&2; tail -n 20 "$dir/caddy.log" >&2; exit 1; }
  sleep 0.1
done
taken "$port" || { echo "Caddy did not listen on $port within 30 s; see $dir/caddy.log" >&2; exit 1; }

echo "Glossa cluster is listening on $public_url"
echo "  replicas:   ${upstreams[*]} (logs: $dir/replica-N.log)"
echo "  PostgreSQL: $database_url"
echo "  Caddy:      admin on 127.0.0.1:$admin_port, log $dir/caddy.log"
$keep && echo "  state:      $dir (kept)" || echo "  state:      $dir (removed on exit)"
echo "Ctrl-C stops everything."

# Until Caddy exits or a signal arrives (the traps run on either).
wait "$caddy_pid" || true
