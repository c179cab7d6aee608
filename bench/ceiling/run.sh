#!/usr/bin/env bash
# What the two costs no build of Writ may skip do to its throughput: the DPoP proof's signature check (one ECDSA P-256
# verify) and the durable audit log. It builds HEAD in a throwaway worktree with checks-off.patch applied (two
# environment switches that exist only there), then runs, interleaved with a fresh server each time and the peer in every
# round: every check on, no proof signature check, no audit record, neither. The gap between the rows is what each costs on
# this box; the "neither" row is the most the rest of the pipeline could give. Never ship that build.
# Usage: bench/ceiling/run.sh gateway|issuance   (ROUNDS=2 DUR=10s by default; c=32, 2 runs per variant per round)
set -euo pipefail
WHAT="${1:-}"; [ "$WHAT" = gateway ] || [ "$WHAT" = issuance ] || { echo "usage: $0 gateway|issuance" >&2; exit 2; }
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d /tmp/writ-bench-ceiling.XXXXXX)"
. "${PEERS_DIR:-$REPO/../shared/bench-peers}/lib.sh"   # cd's into the peers folder; provides start/bench/summary
need_apt wrk curl nginx
need_npm oidc-provider@9.13.3

echo "== building HEAD with checks-off.patch in a throwaway worktree (Release) =="
git -C "$REPO" worktree add -q --detach "$WORK/src" HEAD
trap 'stop_all; git -C "$REPO" worktree remove --force "$WORK/src" 2>/dev/null; rm -rf "$WORK" "$RESULTS"' EXIT
git -C "$WORK/src" apply "$REPO/bench/ceiling/checks-off.patch"
dotnet publish "$WORK/src/src/Writ.Cli" -c Release -o "$WORK/writ" >/dev/null
dotnet build "$WORK/src/bench/Writ.Benchmarks" -c Release -o "$WORK/tools" >/dev/null
dotnet build-server shutdown >/dev/null 2>&1 || true
WRIT="dotnet $WORK/writ/writ.dll"
ADDR=http://127.0.0.1:18430
LUA="$REPO/bench/wrk/dpop.lua"

if [ "$WHAT" = gateway ]; then
  start "$WORK/nginx.log" nginx -p "$PEERS/nginx" -c "$PEERS/nginx/nginx.conf" -g 'daemon off;'
  PEER=$LAST; wait_http http://127.0.0.1:18080/
  peer_bench() { bench "nginx proxy (peer)" $PEER -t2 -c32 -H 'Authorization: Bearer agent-token' http://127.0.0.1:18080/x; }
else
  PORT=18090 start "$WORK/oidc.log" node oidc/server.mjs
  PEER=$LAST; wait_http http://127.0.0.1:18090/.well-known/openid-configuration
  wrk -t1 -c8 -d3s -s oidc/token.lua http://127.0.0.1:18090/token >/dev/null
  peer_bench() { bench "oidc-provider (peer)" $PEER -t2 -c32 -s oidc/token.lua http://127.0.0.1:18090/token; }
fi

variant() { # variant LABEL ENV... : a fresh server with ENV, set up as bench/$WHAT/run.sh does, warmed, then two runs at c=32
  local label=$1; shift
  local d; d=$(mktemp -d "$WORK/run.XXXXXX")
  local policy=(); [ "$WHAT" = gateway ] && policy=(--policy "$REPO/bench/gateway/policy.yaml")
  serve() { env "$@" DOTNET_TieredPGO=1 Logging__LogLevel__Default=Warning $WRIT server --dev --data "$d/data" --urls $ADDR "${policy[@]}" >>"$d/writ.log" 2>&1 &
    wp=$!; PIDS+=("$wp"); wait_http $ADDR/healthz; }
  # The gateway's credential must be stored (it is written with its audit record): set up on a server with the log on,
  # then restart on the same data with the variant's switches.
  local wp; if [ "$WHAT" = gateway ]; then serve; else serve "$@"; fi
  export WRIT_ADDR=$ADDR XDG_CONFIG_HOME="$d/config"
  export WRIT_TOKEN; WRIT_TOKEN=$(grep -o 'WRIT_TOKEN=.*' "$d/writ.log" | cut -d= -f2)
  local agent=support-bot@staging; [ "$WHAT" = gateway ] && agent=bench-bot@staging
  local code; code=$($WRIT agent enroll-code $agent 2>/dev/null)
  (cd / && $WRIT enroll --agent $agent --code "$code" --server $ADDR >/dev/null)
  local task; task=$($WRIT task start --agent $agent --purpose "ceiling benchmark" --ttl 1h 2>/dev/null)
  local key="$XDG_CONFIG_HOME/writ/keys/$agent.json" url method auth body
  if [ "$WHAT" = gateway ]; then
    echo "bench-upstream-secret" | $WRIT secret put static-token >/dev/null
    local token; token=$($WRIT token --agent $agent --task "$task" --scope static:read --ttl 30m 2>/dev/null)
    url=$ADDR/gw/static/x method=GET auth="DPoP $token" body=-
  else
    url=$ADDR/oauth/token method=POST auth=- body="grant_type=client_credentials&client_id=support-bot%40staging&scope=crm%3Aread&task_id=$task&target=customers%2F12345"
  fi
  [ "$WHAT" = gateway ] && { kill "$wp"; wait "$wp" 2>/dev/null || true; serve "$@"; }
  local tk=(); [ "$auth" != - ] && tk=(--token "${auth#DPoP }")
  proofs() { dotnet "$WORK/tools/Writ.Benchmarks.dll" proofs --key "$key" --url "$url" --method $method "${tk[@]}" --count "$1" --out "$d/proofs.txt"; }
  proofs 60000; wrk -t1 -c8 -d3s -s "$LUA" "$url" -- "$d/proofs.txt" 1 $method "$auth" "$body" >/dev/null
  for _ in 1 2; do
    proofs $(( ${DUR%s} * 30000 ))
    bench "$label" "$wp" -t2 -c32 -s "$LUA" "$url" -- "$d/proofs.txt" 2 $method "$auth" "$body"
  done
  kill "$wp"; wait "$wp" 2>/dev/null || true
}

for _ in $(seq "${ROUNDS:-2}"); do
  peer_bench
  variant "writ, every check"
  variant "writ, no proof signature"   WRIT_CEILING_SKIP_PROOF_SIGNATURE=1
  variant "writ, no audit"             WRIT_CEILING_SKIP_AUDIT=1
  variant "writ, neither"              WRIT_CEILING_SKIP_PROOF_SIGNATURE=1 WRIT_CEILING_SKIP_AUDIT=1
done
summary
