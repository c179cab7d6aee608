#!/usr/bin/env bash
# Tool gateway side by side, in one run: the nginx static upstream direct, nginx as a reverse proxy that
# injects a header (../shared/bench-peers/02-nginx-proxy.sh's setup), and Writ's /gw/ with every check
# (DPoP proof verified per call, token, scope, route, audit of decision and outcome, credential injected,
# response scrubbed), both on the server and through a standalone `writ gateway` that follows it (the server_cpu
# column of that row counts the gateway process only). Usage: bench/gateway/run.sh   (REPS=3 DUR=10s by default)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d /tmp/writ-bench-gateway.XXXXXX)"
. "${PEERS_DIR:-$REPO/../shared/bench-peers}/lib.sh"   # cd's into the peers folder; provides start/bench/summary
need_apt nginx wrk curl

echo "== building writ and the proof generator (Release) =="
dotnet publish "$REPO/src/Writ.Cli" -c Release -o "$WORK/writ" >/dev/null
dotnet build "$REPO/bench/Writ.Benchmarks" -c Release -o "$WORK/tools" >/dev/null
WRIT="dotnet $WORK/writ/writ.dll"

start "$WORK/nginx.log" nginx -p "$PEERS/nginx" -c "$PEERS/nginx/nginx.conf" -g 'daemon off;'
NGX=$LAST; wait_http http://127.0.0.1:18080/

ADDR=http://127.0.0.1:18430
DOTNET_TieredPGO=1 Logging__LogLevel__Default=Warning start "$WORK/writ.log" $WRIT server --dev --data "$WORK/data" --urls $ADDR --policy "$REPO/bench/gateway/policy.yaml"
WP=$LAST; wait_http $ADDR/healthz
export WRIT_ADDR=$ADDR XDG_CONFIG_HOME="$WORK/config"
export WRIT_TOKEN=$(grep -o 'WRIT_TOKEN=.*' "$WORK/writ.log" | cut -d= -f2)
echo "bench-upstream-secret" | $WRIT secret put static-token >/dev/null
CODE=$($WRIT agent enroll-code bench-bot@staging 2>/dev/null)
(cd / && $WRIT enroll --agent bench-bot@staging --code "$CODE" --server $ADDR >/dev/null)
TASK=$($WRIT task start --agent bench-bot@staging --purpose "gateway benchmark" --ttl 1h 2>/dev/null)
TOKEN=$($WRIT token --agent bench-bot@staging --task "$TASK" --scope static:read --ttl 30m 2>/dev/null)
KEY="$XDG_CONFIG_HOME/writ/keys/bench-bot@staging.json"
URL=$ADDR/gw/static/x

GADDR=http://127.0.0.1:18431
$WRIT gateway-token create bench-edge --out "$WORK/edge.token" 2>/dev/null
DOTNET_TieredPGO=1 Logging__LogLevel__Default=Warning start "$WORK/gateway.log" $WRIT gateway --server $ADDR --token-file "$WORK/edge.token" --urls $GADDR
GWP=$LAST; wait_http $GADDR/healthz
GURL=$GADDR/gw/static/x

proofs() { dotnet "$WORK/tools/Writ.Benchmarks.dll" proofs --key "$KEY" --url "$2" --method GET --token "$TOKEN" --count "$1" --out "$WORK/proofs.txt"; }
writ_bench() { # writ_bench LABEL PID URL THREADS CONNS PROOFS
  proofs "$6" "$3"
  bench "$1 -t$4 -c$5" "$2" -t"$4" -c"$5" -s "$REPO/bench/wrk/dpop.lua" "$3" -- "$WORK/proofs.txt" "$4" GET "DPoP $TOKEN" -
}
echo "check: $(proofs 1 $URL; curl -s -H "Authorization: DPoP $TOKEN" -H "DPoP: $(cat "$WORK/proofs.txt")" $URL)"
echo "check standalone: $(proofs 1 $GURL; curl -s -H "Authorization: DPoP $TOKEN" -H "DPoP: $(cat "$WORK/proofs.txt")" $GURL)"

echo "== warm-up (JIT), not reported =="
for u in $URL $GURL; do
  proofs 60000 $u; wrk -t1 -c8 -d3s -s "$REPO/bench/wrk/dpop.lua" $u -- "$WORK/proofs.txt" 1 GET "DPoP $TOKEN" - >/dev/null
done

secs=${DUR%s}
for _ in $(seq "$REPS"); do
  for tc in "1 1" "2 32"; do set -- $tc
    bench "direct upstream -t$1 -c$2" $NGX -t"$1" -c"$2" http://127.0.0.1:18081/x
    bench "nginx proxy -t$1 -c$2" $NGX -t"$1" -c"$2" -H 'Authorization: Bearer agent-token' http://127.0.0.1:18080/x
    writ_bench "writ gateway" $WP $URL "$1" "$2" $(( secs * ($2 == 1 ? 4000 : 20000) ))
    writ_bench "writ gateway standalone" $GWP $GURL "$1" "$2" $(( secs * ($2 == 1 ? 4000 : 20000) ))
  done
done
summary
echo "audit: $($WRIT audit verify)"
stop_all
rm -rf "$WORK"
