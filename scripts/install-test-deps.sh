#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, and is safe to run again:
#   - Node.js with npm (from Debian when the machine has none);
#   - Chromium (Debian's package) for the web UI's end-to-end tests;
#   - the pinned JavaScript packages of tests/js (automerge-repo clients, playwright-core) and of
#     web/ (the UI's sources and esbuild, to check the shipped bundle), from their lock files.
# The test suite runs this itself when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The tests need these Debian packages: ${missing[*]}; install them (apt-get install ${missing[*]}) or run this as root." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

(cd tests/js && npm ci --no-audit --no-fund)
(cd web && npm ci --no-audit --no-fund)
