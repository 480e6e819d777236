#!/usr/bin/env bash
# Runs benchmarks (without -race) against a private redis-server that this
# script starts and stops. Arguments go to go test, e.g.
#   scripts/bench.sh ./guard/ -bench Call -benchtime 5000x
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/redis-test-server.sh
trap stop_test_redis EXIT
start_test_redis
export BLACKLIST_REQUIRE_REDIS=1
# Without arguments: the quick benchmarks. The bulk-import ones
# (./blacklist/listfile/) take minutes and about 3 GB: name them.
if [ $# -eq 0 ]; then set -- ./agi/... ./blacklist/ ./number/ ./guard/; fi
go test -run '^$' -benchmem -bench . "$@"
