#!/usr/bin/env bash
# Runs every Writ test: unit, API (real Kestrel/TestHost), storage contract tests on SQLite and on a
# real PostgreSQL server that the tests start themselves, and end-to-end tests of the `writ` binary.
# On Debian it installs what the tests need (the PostgreSQL server) when it is missing.
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

dotnet test Writ.slnx -c Release "$@"
