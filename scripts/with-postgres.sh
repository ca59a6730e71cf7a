#!/usr/bin/env bash
# Runs COMMAND… with a throwaway PostgreSQL cluster:
#   scripts/with-postgres.sh cargo test
#   GLOSSA_TEST_BACKEND=postgres scripts/with-postgres.sh cargo test   (the suite on PostgreSQL)
# Installs PostgreSQL with scripts/install-test-deps.sh when it is missing, starts a new
# cluster (scripts/pg-cluster.sh), exports its admin URL as GLOSSA_TEST_DATABASE_URL
# (postgres://postgres@127.0.0.1:PORT/postgres; the tests create a database per desk on it),
# runs the command, removes the cluster whatever happens, and exits with the command's status.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG…]" >&2
  exit 2
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  bash "$root/scripts/install-test-deps.sh" postgres
fi

cluster=$(mktemp -d "${TMPDIR:-/tmp}/glossa-pg.XXXXXX")
chmod 755 "$cluster"
cleanup() { bash "$root/scripts/pg-cluster.sh" destroy "$cluster"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$root/scripts/pg-cluster.sh" init "$cluster"
bash "$root/scripts/pg-cluster.sh" start "$cluster"
GLOSSA_TEST_DATABASE_URL=$(bash "$root/scripts/pg-cluster.sh" url "$cluster")
export GLOSSA_TEST_DATABASE_URL

status=0
"$@" || status=$?
exit "$status"
