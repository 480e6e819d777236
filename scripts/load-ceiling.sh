#!/usr/bin/env bash
# The product against the ceiling under load (issue 6): agi-loadtest drives,
# at each concurrency, the running server (scripts/run-local.sh: the example
# config, Redis on 127.0.0.1:6379) and bench/ceiling-server with the same
# Redis and lists, one after the other, then redis-benchmark sends the
# ceiling's SMISMEMBER at the same concurrency. Prints a Markdown table.
#
#   scripts/run-local.sh &            # in another terminal, or backgrounded
#   scripts/load-ceiling.sh           # DURATION=10s LEVELS="1 100 1000" by default
#   NUMBERS=cmd/agi-loadtest/testdata/promo-allowed.txt scripts/load-ceiling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
set -f # the prefix entries end in *
duration=${DURATION:-10s}
levels=${LEVELS:-1 100 1000}
out=.tmp/loadtest
mkdir -p "$out"
go build -o "$out/agi-loadtest" ./cmd/agi-loadtest
go build -o "$out/ceiling-server" ./bench/ceiling-server
go build -o bin/blacklist-agi ./cmd/blacklist-agi

numbers=${NUMBERS:-cmd/agi-loadtest/testdata/promo-numbers.txt}
blocked=$(grep -v '^#' "$numbers" | grep ',BLOCKED' | cut -d, -f1 || true)
if [ -n "$blocked" ]; then
  # shellcheck disable=SC2086
  bin/blacklist-agi --config config/blacklist-agi.yaml add --campaign promo $blocked >/dev/null
fi

# Campaign promo's plain lists, as the example config gives them (its
# compact nao-me-perturbe is one more SISMEMBER in the product's pipeline).
campaign='blacklist:campaign:{promo}'
plain="$campaign,blacklist:list:{opt-out},blacklist:list:{spam},blacklist:list:{no-answer}"
"$out/ceiling-server" -listen 127.0.0.1:4574 -keys "$campaign" -check smismember 2>"$out/ceiling-smismember.log" &
smismember=$!
"$out/ceiling-server" -listen 127.0.0.1:4575 -keys "$plain" -check pipeline 2>"$out/ceiling-pipeline.log" &
pipeline=$!
trap 'kill $smismember $pipeline 2>/dev/null || true' EXIT
for port in 4573 4574 4575; do
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

# entries are the 14 members the checks ask for 5511987650001.
entries="5511987650001"; n=5511987650001
for k in $(seq 13 -1 1); do entries="$entries ${n:0:$k}*"; done

row() { # target concurrency: runs agi-loadtest and prints one row
  local url=$1 name=$2 c=$3
  "$out/agi-loadtest" -url "$url" -numbers "$numbers" -concurrency "$c" -duration "$duration" -json >"$out/$name-$c.json" || true
  jq -r --arg name "$name" '[$name, .concurrency, (.sessions_per_second|floor),
      (.latency_ns.p50/1e6*100|round/100), (.latency_ns.p99/1e6*100|round/100),
      .mismatches, (.failures|add)] | "| \(.[0]) | \(.[1]) | \(.[2]) | \(.[3]) ms | \(.[4]) ms | \(.[5]) | \(.[6]) |"' "$out/$name-$c.json"
}

date -u +"%Y-%m-%d %H:%M:%S UTC, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| target | concurrency | sessions/s | p50 | p99 | mismatches | failures |"
echo "|---|---|---|---|---|---|---|"
for c in $levels; do
  row 'agi://127.0.0.1:4573/blacklist?campaign=promo' product "$c"
  row 'agi://127.0.0.1:4574/ceiling' ceiling-smismember "$c"
  row 'agi://127.0.0.1:4575/ceiling' ceiling-pipeline "$c"
  # shellcheck disable=SC2086
  rps=$(redis-benchmark -p 6379 -c "$c" -n $((c < 100 ? 50000 : 200000)) -q SMISMEMBER "$campaign" $entries | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1)
  echo "| redis-benchmark SMISMEMBER | $c | ${rps%% *} | | | | |"
done
