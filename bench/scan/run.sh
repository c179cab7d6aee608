#!/usr/bin/env bash
# writ scan vs ripgrep (20-pattern alternation, the I/O + regex floor) vs secretlint (preset-recommend), in one run
# over the same synthetic tree as ../shared/bench-peers/05-secret-scan.sh (its gen-tree.mjs, 200 MiB, 300 planted
# fake secrets). Page cache warm; rg and writ are timed REPS times each, interleaved, and the median is reported.
#   usage: bench/scan/run.sh            (MB=200 REPS=3 SECRETLINT=1 OUT=/tmp/writ-scan-bench)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
PEERS="${PEERS:-$REPO/../shared/bench-peers}"
OUT="${OUT:-/tmp/writ-scan-bench}"; MB="${MB:-200}"; REPS="${REPS:-3}"; SECRETLINT="${SECRETLINT:-1}"
mkdir -p "$OUT"; cd "$OUT"
command -v rg >/dev/null || { echo "ripgrep missing: apt-get install ripgrep" >&2; exit 2; }

stamp="$MB $(md5sum < "$PEERS/scan/gen-tree.mjs")"
[ "$(cat tree.stamp 2>/dev/null)" = "$stamp" ] || { node "$PEERS/scan/gen-tree.mjs" tree "$MB" 300 && echo "$stamp" > tree.stamp; }

# writ: the real CLI when it builds, else the scan-only harness (same command code).
if dotnet build "$REPO/src/Writ.Cli" -c Release -o "$OUT/writ-bin" -v q -nologo >"$OUT/build.log" 2>&1; then WHICH="src/Writ.Cli"
else dotnet build "$REPO/bench/scan/harness" -c Release -o "$OUT/writ-bin" -v q -nologo >"$OUT/build.log" 2>&1; WHICH="bench/scan/harness (src/Writ.Cli did not build)"; fi
WRIT=("$OUT/writ-bin/writ" scan tree --format json --output "$OUT/writ.json" --fail-on never --no-progress)
RG=(rg --no-ignore --hidden -l -j2 -f "$PEERS/scan/patterns.txt" tree)

BYTES=$(find tree -type f -printf '%s\n' | awk '{s+=$1} END {print s}'); FILES=$(find tree -type f | wc -l)
echo "tree: $FILES files, $(awk -v b="$BYTES" 'BEGIN{printf "%.1f", b/1048576}') MiB; $(nproc) cores; rg $(rg --version | sed -n 1p | cut -d' ' -f2); writ from $WHICH"
ns() { local t0; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; echo $(( $(date +%s%N) - t0 )); }
med() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
mibps() { awk -v b="$BYTES" -v ns="$1" 'BEGIN{printf "%.0f", b/1048576/(ns/1e9)}'; }

"${RG[@]}" >/dev/null || true; "${WRIT[@]}" || true          # warm the page cache and the JIT'd binary on disk
rgs=(); writs=(); pgos=()
for _ in $(seq "$REPS"); do
  rgs+=("$(ns "${RG[@]}")"); writs+=("$(ns "${WRIT[@]}")"); pgos+=("$(ns env DOTNET_TieredPGO=0 "${WRIT[@]}")")
done
RG_NS=$(med "${rgs[@]}"); WRIT_NS=$(med "${writs[@]}"); PGO_NS=$(med "${pgos[@]}")
echo "ripgrep -j2 (20 patterns):   $(awk -v n="$RG_NS" 'BEGIN{printf "%.2f s", n/1e9}')  $(mibps "$RG_NS") MiB/s   [runs: $(printf '%s ' "${rgs[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.2f ", $i/1e9}')s]"
echo "writ scan (all detectors):   $(awk -v n="$WRIT_NS" 'BEGIN{printf "%.2f s", n/1e9}')  $(mibps "$WRIT_NS") MiB/s   [runs: $(printf '%s ' "${writs[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.2f ", $i/1e9}')s]"
echo "writ scan, DOTNET_TieredPGO=0: $(awk -v n="$PGO_NS" 'BEGIN{printf "%.2f s", n/1e9}')  $(mibps "$PGO_NS") MiB/s   [runs: $(printf '%s ' "${pgos[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.2f ", $i/1e9}')s]"
"$OUT/writ-bin/writ" scan tree --format json --fail-on never --no-progress \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log([...new Set(r.findings.map(f=>f.path))].join("\n"))})' > writ.list
rg --no-ignore --hidden -l -f "$PEERS/scan/patterns.txt" tree > rg.list || true
echo -n "ripgrep:   "; node "$PEERS/scan/recall.mjs" planted.tsv rg.list
echo -n "writ scan: "; node "$PEERS/scan/recall.mjs" planted.tsv writ.list
SL_NS=""
if [ "$SECRETLINT" = 1 ]; then
  [ -f node_modules/secretlint/package.json ] || npm install --no-audit --no-fund --loglevel=error secretlint@13.0.6 @secretlint/secretlint-rule-preset-recommend@13.0.7 >/dev/null
  echo '{ "rules": [ { "id": "@secretlint/secretlint-rule-preset-recommend" } ] }' > secretlintrc.json
  SL_NS=$(ns timeout 900 node node_modules/secretlint/bin/secretlint.js --no-gitignore --secretlintrc secretlintrc.json --format json --output sl.json "tree/**/*")
  echo "secretlint preset-recommend: $(awk -v n="$SL_NS" 'BEGIN{printf "%.2f s", n/1e9}')  $(mibps "$SL_NS") MiB/s"
fi
for v in WRIT PGO; do n=${v}_NS
  echo "ratios ($v): writ/ripgrep $(awk -v a="$RG_NS" -v b="${!n}" 'BEGIN{printf "%.2f", a/b}')x$( [ -n "$SL_NS" ] && awk -v a="$SL_NS" -v b="${!n}" 'BEGIN{printf ", writ/secretlint %.1fx", a/b}')"
done
