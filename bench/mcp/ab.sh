#!/usr/bin/env bash
# Added latency of `writ mcp-proxy` (stdio -> Writ -> stdio) over direct stdio, for builds run interleaved, because
# single runs of this path swing by ±0.1 ms. Each run: a fresh `writ server --dev`, 3,000 warm-up calls through
# `writ mcp-proxy`, then N sequential echo calls with the TypeScript SDK client: direct stdio, through
# `writ mcp-proxy`, direct stdio again. added = proxy p50 - mean of the two direct p50s.
# Usage: bench/mcp/ab.sh [REF[:VAR=VALUE[,VAR=VALUE...]]...]   git refs to compare (default: HEAD), each optionally
#        with environment variables for its server; ROUNDS=6 N=2000 by default
#        e.g. bench/mcp/ab.sh HEAD~3 HEAD
#             bench/mcp/ab.sh HEAD HEAD:DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
ROUNDS=${ROUNDS:-6}; N=${N:-2000}
WORK="$(mktemp -d /tmp/writ-bench-mcp-ab.XXXXXX)"
. "${PEERS_DIR:-$REPO/../shared/bench-peers}/lib.sh"   # cd's into the peers folder; provides start/stop_all/wait_http
need_npm @modelcontextprotocol/server-everything@2026.8.31 @modelcontextprotocol/sdk@1.32.2 >/dev/null
(cd "$REPO/tests/mcp-peers" && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; })
EV=$PEERS/node_modules/@modelcontextprotocol/server-everything/dist/index.js
CLIENT=$REPO/tests/mcp-peers/sdk-client.mjs
ADDR=http://127.0.0.1:18437
if curl -s -o /dev/null "$ADDR/"; then echo "port 18437 is in use; stop what listens there first" >&2; exit 2; fi

RUNS=("$@"); [ ${#RUNS[@]} -gt 0 ] || RUNS=(HEAD)
REFS=()
for run in "${RUNS[@]}"; do
  ref=${run%%:*}
  git -C "$REPO" rev-parse --verify --quiet "$ref^{commit}" >/dev/null || { echo "ab.sh: '$ref' is not a commit in $REPO (give git refs, e.g. HEAD~2 HEAD)" >&2; exit 2; }
  [[ " ${REFS[*]} " == *" $ref "* ]] || REFS+=("$ref")
done
for ref in "${REFS[@]}"; do
  echo "== building $ref (Release) =="
  dir=${ref//[^A-Za-z0-9._-]/_}
  git -C "$REPO" worktree add --detach -f "$WORK/src-$dir" "$ref" >/dev/null
  dotnet publish "$WORK/src-$dir/src/Writ.Cli" -c Release -o "$WORK/bin-$dir" >/dev/null
  git -C "$REPO" worktree remove --force "$WORK/src-$dir"
done

p50() { sed -n 's|.*p50=\([0-9]*\)us.*|\1|p'; }
for round in $(seq "$ROUNDS"); do for label in "${RUNS[@]}"; do
  ref=${label%%:*}; vars=(); [ "$ref" = "$label" ] || IFS=, read -r -a vars <<< "${label#*:}"
  run="$WORK/run"; rm -rf "$run"; mkdir -p "$run"
  WRIT="dotnet $WORK/bin-${ref//[^A-Za-z0-9._-]/_}/writ.dll"
  sed "s|@EVERYTHING@|$EV|; s|@NODE@|$(command -v node)|" "$REPO/bench/mcp/policy.yaml" > "$run/policy.yaml"
  start "$run/writ.log" env "${vars[@]}" DOTNET_TieredPGO=1 Logging__LogLevel__Default=Warning $WRIT server --dev --data "$run/data" --urls $ADDR --policy "$run/policy.yaml"
  wait_http $ADDR/healthz
  export WRIT_ADDR=$ADDR XDG_CONFIG_HOME="$run/config" WRIT_AGENT=bench-bot@staging
  export WRIT_TOKEN=$(grep -o 'WRIT_TOKEN=.*' "$run/writ.log" | cut -d= -f2)
  CODE=$($WRIT agent enroll-code bench-bot@staging 2>/dev/null)
  (cd / && $WRIT enroll --agent bench-bot@staging --code "$CODE" --server $ADDR >/dev/null)
  BENCH_N=3000 timeout 300 node "$CLIENT" stdio $WRIT mcp-proxy everything >/dev/null
  a=$(timeout 300 node mcp/bench.mjs stdio "$EV" "$N" | p50)
  p=$(BENCH_N=$N timeout 300 node "$CLIENT" stdio $WRIT mcp-proxy everything | p50)
  b=$(timeout 300 node mcp/bench.mjs stdio "$EV" "$N" | p50)
  echo "round $round  $label  direct=${a}/${b}us  writ mcp-proxy=${p}us  added=$(( p - (a + b) / 2 ))us"
  stop_all
done; done
rm -rf "$WORK"; git -C "$REPO" worktree prune
