#!/usr/bin/env bash
# Token issuance side by side, in one run: Writ's /oauth/token (DPoP verify, policy, signing, durable
# group-committed audit) vs oidc-provider's /token (ES256 at+jwt, in-memory) vs a bare Kestrel "hello".
# Usage: bench/issuance/run.sh            (REPS=3 DUR=10s by default; REPS=1 DUR=3s for a smoke run)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d /tmp/writ-bench-issuance.XXXXXX)"
. "${PEERS_DIR:-$REPO/../shared/bench-peers}/lib.sh"   # cd's into the peers folder; provides start/bench/summary
need_apt wrk curl
need_npm oidc-provider@9.13.3

echo "== building writ and the proof generator (Release) =="
dotnet publish "$REPO/src/Writ.Cli" -c Release -o "$WORK/writ" >/dev/null
dotnet build "$REPO/bench/Writ.Benchmarks" -c Release -o "$WORK/tools" >/dev/null
WRIT="dotnet $WORK/writ/writ.dll"

ADDR=http://127.0.0.1:18430
DOTNET_TieredPGO=1 Logging__LogLevel__Default=Warning start "$WORK/writ.log" $WRIT server --dev --data "$WORK/data" --urls $ADDR
WP=$LAST; wait_http $ADDR/healthz
export WRIT_ADDR=$ADDR XDG_CONFIG_HOME="$WORK/config"
export WRIT_TOKEN=$(grep -o 'WRIT_TOKEN=.*' "$WORK/writ.log" | cut -d= -f2)
CODE=$($WRIT agent enroll-code support-bot@staging 2>/dev/null)
$WRIT enroll --agent support-bot@staging --code "$CODE" --server $ADDR >/dev/null
TASK=$($WRIT task start --agent support-bot@staging --purpose "issuance benchmark" --ttl 8h 2>/dev/null)
KEY="$XDG_CONFIG_HOME/writ/keys/support-bot@staging.json"
BODY="grant_type=client_credentials&client_id=support-bot%40staging&scope=crm%3Aread&task_id=$TASK&target=customers%2F12345"

proofs() { dotnet "$WORK/tools/Writ.Benchmarks.dll" proofs --key "$KEY" --url $ADDR/oauth/token --count "$1" --out "$WORK/proofs.txt"; }
writ_bench() { # writ_bench THREADS CONNS PROOFS
  proofs "$3"
  bench "writ /oauth/token -t$1 -c$2" $WP -t"$1" -c"$2" -s "$REPO/bench/wrk/dpop.lua" $ADDR/oauth/token -- "$WORK/proofs.txt" "$1" POST - "$BODY"
}
echo "check: $(proofs 1; curl -s -H "DPoP: $(cat "$WORK/proofs.txt")" -d "$BODY" $ADDR/oauth/token | cut -c1-70)..."

PORT=18090 start "$WORK/oidc.log" node oidc/server.mjs
OP=$LAST; wait_http http://127.0.0.1:18090/.well-known/openid-configuration

APP=/tmp/kestrel-hello
if [ ! -f $APP/out/kestrel-hello.dll ]; then
  rm -rf $APP && dotnet new web -o $APP -n kestrel-hello >/dev/null && dotnet publish $APP -c Release -o $APP/out >/dev/null
fi
Logging__LogLevel__Default=Warning start "$WORK/kestrel.log" dotnet $APP/out/kestrel-hello.dll --urls http://127.0.0.1:5080
KP=$LAST; wait_http http://127.0.0.1:5080/

echo "== warm-up (JIT), not reported =="
wrk -t1 -c8 -d3s -s oidc/token.lua http://127.0.0.1:18090/token >/dev/null
wrk -t2 -c32 -d3s http://127.0.0.1:5080/ >/dev/null
proofs 60000; wrk -t1 -c8 -d3s -s "$REPO/bench/wrk/dpop.lua" $ADDR/oauth/token -- "$WORK/proofs.txt" 1 POST - "$BODY" >/dev/null

secs=${DUR%s}
for _ in $(seq "$REPS"); do
  for tc in "1 1" "1 8" "2 32"; do set -- $tc
    writ_bench "$1" "$2" $(( secs * ($2 == 1 ? 4000 : 25000) ))
    bench "oidc-provider /token -t$1 -c$2" $OP -t"$1" -c"$2" -s oidc/token.lua http://127.0.0.1:18090/token
    bench "kestrel hello -t$1 -c$2" $KP -t"$1" -c"$2" http://127.0.0.1:5080/
  done
done
summary
echo "audit records: $($WRIT audit verify)"
stop_all
rm -rf "$WORK"
