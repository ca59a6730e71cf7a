#!/usr/bin/env bash
# Installs what the interop tests need beyond Rust: Node.js with npm (from Debian when the
# machine has none) and the pinned JavaScript packages in tests/js (from the lock file).
# The test suite runs this itself when the packages are missing; it is safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Node.js and npm are needed for the sync interop tests; install them (e.g. apt-get install nodejs npm) or run this as root." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi

cd tests/js
npm ci --no-audit --no-fund
