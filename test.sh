#!/usr/bin/env bash
# Runs every Writ test: unit, API (real Kestrel/TestHost), storage contract tests on SQLite and on a
# real PostgreSQL server that the tests start themselves, and end-to-end tests of the `writ` binary.
# On Debian it installs what the tests need (the PostgreSQL server, Node.js for the MCP peers) when it is missing.
set -euo pipefail
cd "$(dirname "$0")"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing PostgreSQL (Debian package) for the storage tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "test.sh: the PostgreSQL server is missing; install it (Debian: apt-get install postgresql) and run again" >&2
    exit 2
  fi
fi

# The MCP gateway tests run real MCP servers and clients from npm (tests/mcp-peers); they need Node.js 18+.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing Node.js and npm (Debian packages) for the MCP gateway tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "test.sh: node and npm are missing; install them (Debian: apt-get install nodejs npm) and run again" >&2
    exit 2
  fi
fi
peers=tests/mcp-peers
if [ ! -d "$peers/node_modules" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
  echo "test.sh: installing the MCP test peers (npm ci in $peers)"
  (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Writ.slnx -c Release "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole run, summed over the test projects.
awk '/(Passed|Failed)!  - Failed:/ { gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
