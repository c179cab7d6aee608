#!/usr/bin/env bash
# Replays the incident against a real Writ server: a staging coding agent, stuck on a credential
# mismatch, tries to delete production; then asks a human for a time-limited elevation to delete a
# staging volume. Usage: examples/incident.sh   (needs only the .NET SDK)
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

say "It asks to delete the staging volume: a delete needs a justification and a time-limited elevation approved by a human"
(unset WRIT_TOKEN; run writ token --task "$TASK" --scope volumes:delete --target vol-staging-db)
(unset WRIT_TOKEN; run writ token --task "$TASK" --scope volumes:delete --target vol-staging-db \
  --justification "vol-staging-db is corrupt after the OPS-1234 migration; recreate it from the seed")

say "The token, copied to another process without the agent's key, is refused"
echo "\$ curl -H \"Authorization: DPoP ${TOKEN:0:24}…\" $WRIT_ADDR/api/agent/credential"
curl -s -H "Authorization: DPoP $TOKEN" "$WRIT_ADDR/api/agent/credential"; echo

say "Act 2. The operator adds alice (on call, an approver); alice logs in and sees the request"
echo "correct horse battery staple" | writ user add alice --role approver
ALICE=(env -u WRIT_TOKEN XDG_CONFIG_HOME="$WORK/alice")
echo "correct horse battery staple" | "${ALICE[@]}" dotnet "$WORK/bin/writ.dll" login --user alice --addr "$WRIT_ADDR" 2>/dev/null
alice() { printf '$ writ %s\n' "$*"; "${ALICE[@]}" dotnet "$WORK/bin/writ.dll" "$@" || printf '(exit %s)\n' "$?"; }
ID="$("${ALICE[@]}" dotnet "$WORK/bin/writ.dll" approvals list -o json | grep -o 'apr_[A-Za-z0-9_-]*' | head -1)"
alice approvals show "$ID"

say "alice (on call; not the agent's owner, who may not approve it) approves a short window"
WINDOW="${WINDOW:-20s}"   # 10m in real life; short here so the script does not wait ten minutes
echo "\$ writ approvals approve $ID --reason \"confirmed with dana: recreate from the seed, nothing else on it\" --window $WINDOW"
echo "correct horse battery staple" | "${ALICE[@]}" dotnet "$WORK/bin/writ.dll" approvals approve "$ID" \
  --reason "confirmed with dana: recreate from the seed, nothing else on it" --window "$WINDOW"   # asks alice's password again

say "The agent redeems the elevation: a delete credential for that one volume, dying with the window"
(unset WRIT_TOKEN; writ token --task "$TASK" --scope volumes:delete --target vol-staging-db --approval "$ID" | cut -c1-40)
(unset WRIT_TOKEN; run writ token --task "$TASK" --scope volumes:delete --target vol-prod-db --approval "$ID")

say "After the window the same request is refused (and the credential it produced is revoked)"
for _ in $(seq 60); do "${ALICE[@]}" dotnet "$WORK/bin/writ.dll" approvals show "$ID" | grep -q closed && break; sleep 1; done
(unset WRIT_TOKEN; run writ token --task "$TASK" --scope volumes:delete --target vol-staging-db --approval "$ID")

say "Who did what"
run writ audit tail -n 12

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
