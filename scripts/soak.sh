#!/usr/bin/env bash
# Soak (issue 6): agi-loadtest holds CONCURRENCY calls in flight against the
# running server (scripts/run-local.sh) for DURATION, while this script reads
# the server's goroutines, heap, RSS and open files from /metrics every
# INTERVAL. Prints a Markdown table and the load tool's report; memory and
# goroutines should stay flat.
#
#   scripts/run-local.sh &
#   DURATION=10m CONCURRENCY=200 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10m}
concurrency=${CONCURRENCY:-200}
interval=${INTERVAL:-30}
metrics=${METRICS_URL:-http://127.0.0.1:9573/metrics}
out=.tmp/loadtest
mkdir -p "$out"
go build -o "$out/agi-loadtest" ./cmd/agi-loadtest

sample() { # elapsed: one table row from /metrics
  curl -sf "$metrics" | awk -v t="$1" '
    $1 == "go_goroutines" { g = $2 }
    $1 == "go_memstats_heap_inuse_bytes" { h = $2 / 1048576 }
    $1 == "process_resident_memory_bytes" { r = $2 / 1048576 }
    $1 == "process_open_fds" { f = $2 }
    END { printf "| %s | %d | %.1f MB | %.1f MB | %d |\n", t, g, h, r, f }'
}

echo "$(date -u +'%Y-%m-%d %H:%M:%S UTC'): $concurrency calls in flight for $duration, $(nproc) cores"
echo
echo "| elapsed | goroutines | heap in use | RSS | open files |"
echo "|---|---|---|---|---|"
sample "before"
"$out/agi-loadtest" -url 'agi://127.0.0.1:4573/blacklist?campaign=promo' \
  -numbers cmd/agi-loadtest/testdata/promo-numbers.txt \
  -concurrency "$concurrency" -duration "$duration" >"$out/soak-report.txt" 2>&1 &
load=$!
trap 'kill $load 2>/dev/null || true' EXIT
start=$(date +%s)
while kill -0 "$load" 2>/dev/null; do
  sleep "$interval"
  kill -0 "$load" 2>/dev/null && sample "$(( $(date +%s) - start ))s"
done
wait "$load" || true
sample "after"
echo
cat "$out/soak-report.txt"
