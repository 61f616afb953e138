#!/usr/bin/env bash
# How long `python -m runner report SUITE` takes, rendering into a scratch copy of
# reports/ (the committed reports are not touched): once with no charts there (every chart
# drawn), then RUNS times with nothing changed (every chart reused). Not a test: the
# numbers depend on the machine and its load. Usage: scripts/bench_report.sh [SUITE] [RUNS]
# PYTHON overrides the interpreter command (default: the project's, through uv).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-default}
runs=${2:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python=${PYTHON:-uv run --frozen --quiet python}
report() { $python -m runner report "$suite" --out "$out" >/dev/null 2>&1; }
seconds() { local start=$EPOCHREALTIME; "$@"; echo "$EPOCHREALTIME - $start" | bc; }
$python -c "" # the environment is synced before timing
printf 'cold (every chart drawn):   %.2f s\n' "$(seconds report)"
for i in $(seq "$runs"); do
  printf 'warm %d (nothing changed): %.2f s\n' "$i" "$(seconds report)"
done
