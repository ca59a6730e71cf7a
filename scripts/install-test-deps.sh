#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, and is safe to run again:
#   - PostgreSQL (Debian's `postgresql`) for the suite's second run on PostgreSQL, when no
#     /usr/lib/postgresql/*/bin/initdb exists;
#   - Node.js with npm (from Debian when the machine has none);
#   - Chromium (Debian's package) for the web UI's end-to-end tests;
#   - Caddy (Debian's `caddy`) for the cluster behind one address (scripts/cluster.sh and its
#     test);
#   - the pinned JavaScript packages of tests/js (automerge-repo clients, playwright-core) and of
#     web/ (the UI's sources, Swagger UI for the API reference, and esbuild, to check the
#     shipped bundle), from their lock files.
# `install-test-deps.sh postgres` installs only PostgreSQL (what scripts/with-postgres.sh needs);
# `install-test-deps.sh cluster` only PostgreSQL and Caddy (what scripts/cluster.sh needs).
# The test suite runs this itself when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

only=${1:-}
case "$only" in
  ""|postgres|cluster) ;;
  *) echo "usage: $0 [postgres|cluster]" >&2; exit 2 ;;
esac

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ "$only" != postgres ]; then
  command -v caddy >/dev/null 2>&1 || missing+=(caddy)
fi
if [ -z "$only" ]; then
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The tests need these Debian packages: ${missing[*]}; install them (apt-get install ${missing[*]}) or run this as root." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -z "$only" ] || exit 0
(cd tests/js && npm ci --no-audit --no-fund)
(cd web && npm ci --no-audit --no-fund)
