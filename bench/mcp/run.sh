#!/usr/bin/env bash
# MCP gateway side by side, in one run with ../shared/bench-peers/03-mcp-proxy.sh's setup: server-everything called
# directly (stdio, and its own Streamable HTTP), through mcp-proxy (npm, HTTP -> stdio), through Writ's MCP gateway
# /mcp/everything (every check on: DPoP proof verified per call, token/task/revocation, session, tool rule and scope,
# audit of decision and outcome before the answer, secret scrub), and through `writ mcp-proxy` (stdio -> Writ -> stdio).
# 1) the official TypeScript SDK client, N sequential echo calls; 2) wrk raw tools/call POSTs at 1 and 8 connections.
# Usage: bench/mcp/run.sh   (REPS=3 DUR=10s N=2000 by default)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d /tmp/writ-bench-mcp.XXXXXX)"
. "${PEERS_DIR:-$REPO/../shared/bench-peers}/lib.sh"   # cd's into the peers folder; provides start/bench/summary
need_apt wrk curl
need_npm @modelcontextprotocol/server-everything@2026.8.31 @modelcontextprotocol/sdk@1.32.2 mcp-proxy@6.7.19
(cd "$REPO/tests/mcp-peers" && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; })
EV=$PEERS/node_modules/@modelcontextprotocol/server-everything/dist/index.js; N=${N:-2000}
CLIENT=$REPO/tests/mcp-peers/sdk-client.mjs

echo "== building writ and the proof generator (Release) =="
dotnet publish "$REPO/src/Writ.Cli" -c Release -o "$WORK/writ" >/dev/null
dotnet build "$REPO/bench/Writ.Benchmarks" -c Release -o "$WORK/tools" >/dev/null
WRIT="dotnet $WORK/writ/writ.dll"

for p in 18116 18117 18437; do # another benchmark on the box must not answer in our place
  if curl -s -o /dev/null "http://127.0.0.1:$p/"; then echo "port $p is in use; stop what listens there first" >&2; exit 2; fi
done
PORT=18117 NODE_OPTIONS="--require $PEERS/mcp/loopback.cjs" start "$WORK/everything.log" node "$EV" streamableHttp
EVP=$LAST
start "$WORK/mcp-proxy.log" node node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs --host 127.0.0.1 --port 18116 -- node "$EV" stdio
PXP=$LAST

ADDR=http://127.0.0.1:18437
sed "s|@EVERYTHING@|$EV|; s|@NODE@|$(command -v node)|" "$REPO/bench/mcp/policy.yaml" > "$WORK/policy.yaml"
DOTNET_TieredPGO=1 Logging__LogLevel__Default=Warning start "$WORK/writ.log" $WRIT server --dev --data "$WORK/data" --urls $ADDR --policy "$WORK/policy.yaml"
WP=$LAST; wait_http $ADDR/healthz
export WRIT_ADDR=$ADDR XDG_CONFIG_HOME="$WORK/config"
export WRIT_TOKEN=$(grep -o 'WRIT_TOKEN=.*' "$WORK/writ.log" | cut -d= -f2)
CODE=$($WRIT agent enroll-code bench-bot@staging 2>/dev/null)
(cd / && $WRIT enroll --agent bench-bot@staging --code "$CODE" --server $ADDR >/dev/null)
TASK=$($WRIT task start --agent bench-bot@staging --purpose "mcp benchmark" --ttl 1h 2>/dev/null)
TOKEN=$($WRIT token --agent bench-bot@staging --task "$TASK" --scope everything:read --ttl 30m 2>/dev/null)
KEY="$XDG_CONFIG_HOME/writ/keys/bench-bot@staging.json"
URL=$ADDR/mcp/everything
proofs() { dotnet "$WORK/tools/Writ.Benchmarks.dll" proofs --key "$KEY" --url $URL --method POST --token "$TOKEN" --count "$1" --out "$WORK/proofs.txt"; }

mcp_session() { # mcp_session URL [writ] : initialize a 2025-06-18 session, print its Mcp-Session-Id
  local h=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream') a=() b=()
  if [ "${2:-}" = writ ]; then proofs 2; a=(-H "Authorization: DPoP $TOKEN" -H "DPoP: $(sed -n 1p "$WORK/proofs.txt")"); b=(-H "Authorization: DPoP $TOKEN" -H "DPoP: $(sed -n 2p "$WORK/proofs.txt")"); fi
  local sid; sid=$(curl -s -D - -o /dev/null "${h[@]}" "${a[@]}" -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}' "$1" \
    | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}' | tr -d '\r')
  curl -s -o /dev/null "${h[@]}" "${b[@]}" -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-06-18' -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$1"
  echo "$sid"
}
for u in http://127.0.0.1:18117/mcp http://127.0.0.1:18116/mcp; do
  for _ in $(seq 100); do [ -n "$(mcp_session $u 2>/dev/null)" ] && break; sleep 0.2; done
done
SID=$(mcp_session $URL writ); proofs 1
echo "check via writ: $(curl -s -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -H "Authorization: DPoP $TOKEN" -H "DPoP: $(cat "$WORK/proofs.txt")" \
  -H "Mcp-Session-Id: $SID" -d '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}' $URL | grep -o '"text":"[^"]*"')"
echo "server-everything $(node -p "require('@modelcontextprotocol/server-everything/package.json').version"), mcp-proxy $(node -p "require('mcp-proxy/package.json').version"), SDK $(node -p "require('./node_modules/@modelcontextprotocol/sdk/package.json').version"), node $(node -v)"

echo "== SDK client, $N sequential echo calls =="
timeout 300 node mcp/bench.mjs stdio "$EV" "$N"
timeout 300 node mcp/bench.mjs http http://127.0.0.1:18117/mcp "$N"
timeout 300 node mcp/bench.mjs http http://127.0.0.1:18116/mcp "$N"
# The Writ client gets a fresh credential per run; the proxy opens and closes its own task.
T2=$($WRIT task start --agent bench-bot@staging --purpose "sdk bench" --ttl 1h 2>/dev/null)
SDK_TOKEN=$($WRIT token --agent bench-bot@staging --task "$T2" --scope everything:read --ttl 30m 2>/dev/null)
BENCH_N=$N WRIT_MCP_TOKEN=$SDK_TOKEN WRIT_MCP_KEY_FILE=$KEY timeout 300 node "$CLIENT" http $URL
BENCH_N=$N timeout 300 node "$CLIENT" stdio $WRIT mcp-proxy everything

echo "== warm-up (JIT), not reported =="
proofs 40000; SID=$SID wrk -t1 -c8 -d3s -s "$REPO/bench/mcp/call.lua" $URL -- "$WORK/proofs.txt" 1 "DPoP $TOKEN" >/dev/null

echo "== wrk raw tools/call POSTs (one session each, unique ids), $DUR each =="
secs=${DUR%s}
for tc in "1 1" "1 8"; do set -- $tc; for _ in $(seq "$REPS"); do
  SID=$(mcp_session http://127.0.0.1:18117/mcp) bench "everything native HTTP -t$1 -c$2" $EVP -t$1 -c$2 -s mcp/call.lua http://127.0.0.1:18117/mcp
  SID=$(mcp_session http://127.0.0.1:18116/mcp) bench "mcp-proxy -> stdio     -t$1 -c$2" $PXP -t$1 -c$2 -s mcp/call.lua http://127.0.0.1:18116/mcp
  S=$(mcp_session $URL writ); proofs $(( secs * ($2 == 1 ? 3000 : 8000) ))
  SID=$S bench "writ /mcp -> stdio     -t$1 -c$2" $WP -t$1 -c$2 -s "$REPO/bench/mcp/call.lua" $URL -- "$WORK/proofs.txt" 1 "DPoP $TOKEN"
done; done
summary
echo "audit: $($WRIT audit verify)"
stop_all
rm -rf "$WORK"
