#!/usr/bin/env bash
# Replays the incident against a real Writ server: a staging coding agent, stuck on a credential
# mismatch, tries to delete production. Usage: examples/incident.sh   (needs only the .NET SDK)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/writ-incident.XXXXXX)"
PORT="${PORT:-8431}"
export WRIT_ADDR="http://127.0.0.1:$PORT" XDG_CONFIG_HOME="$WORK/config"
say() { printf '\n\033[1m## %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@" || printf '(exit %s)\n' "$?"; }

dotnet build "$REPO/src/Writ.Cli" -c Release -o "$WORK/bin" >/dev/null
writ() { dotnet "$WORK/bin/writ.dll" "$@"; }

say "An operator starts Writ (dev mode: SQLite, demo policy, one-time admin token)"
writ server --dev --data "$WORK/data" --urls "$WRIT_ADDR" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'rc=$?; kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"; exit $rc' EXIT
for _ in $(seq 100); do grep -q WRIT_TOKEN "$WORK/server.log" 2>/dev/null && break; sleep 0.2; done
export WRIT_TOKEN="$(grep -o 'WRIT_TOKEN=.*' "$WORK/server.log" | cut -d= -f2)"
run writ agent list

say "The operator hands coding-agent@staging a one-time enrollment code; the agent enrolls its own key"
CODE="$(writ agent enroll-code coding-agent@staging 2>/dev/null)"
(unset WRIT_TOKEN; run writ enroll --agent coding-agent@staging --code "$CODE")

say "The agent opens a task and reads in staging: granted, a 5-minute token bound to its key"
TASK="$(WRIT_TOKEN= writ task start --purpose "fix the staging credential mismatch" --ticket OPS-1234 --on-behalf-of dana@example.com 2>/dev/null)"
echo "task: $TASK"
TOKEN="$(WRIT_TOKEN= writ token --task "$TASK" --scope volumes:read --target vol-staging-db)"
echo "${TOKEN:0:40}…"

say "Stuck, it asks to delete the production volume: denied, wrong environment"
(unset WRIT_TOKEN; run writ token --task "$TASK" --scope volumes:delete --target vol-prod-db --env production)

say "It asks to delete the staging volume: a delete needs a time-limited elevation approved by a human"
(unset WRIT_TOKEN; run writ token --task "$TASK" --scope volumes:delete --target vol-staging-db)

say "The token, copied to another process without the agent's key, is refused"
echo "\$ curl -H \"Authorization: DPoP ${TOKEN:0:24}…\" $WRIT_ADDR/api/agent/credential"
curl -s -H "Authorization: DPoP $TOKEN" "$WRIT_ADDR/api/agent/credential"; echo

say "Who did what"
run writ audit tail -n 8

say "The chain verifies"
run writ audit verify

say "Someone edits one row in the database (turns the production denial into an allow)…"
DB="$WORK/data/writ.db"
SQL="UPDATE audit_events SET decision = 'allow' WHERE reason = 'policy.environment_mismatch'"
if command -v sqlite3 >/dev/null; then sqlite3 "$DB" "$SQL"
elif command -v python3 >/dev/null; then python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()" "$DB" "$SQL"
else echo "(needs sqlite3 or python3 to play the attacker; skipped)"; fi
say "…and verify names the row"
run writ audit verify
