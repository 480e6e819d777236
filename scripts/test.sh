#!/usr/bin/env bash
# Runs every test: formatting, go vet, go test -race against a private
# redis-server that this script starts and stops, and (on a full run) every
# fuzz target for FUZZTIME each (default 2s; FUZZTIME=0 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/redis-test-server.sh
trap stop_test_redis EXIT
start_test_redis

# The browser tests of the supervisors' page drive Debian's chromium.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "chromium not found: installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
# They fail rather than skip when no browser is found.
export BLACKLIST_REQUIRE_BROWSER=1

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
# Integration tests fail rather than skip when this is set.
export BLACKLIST_REQUIRE_REDIS=1
# Arguments, if any, replace the package list (e.g. ./agi/... -run Replay).
full=false
if [ $# -eq 0 ]; then set -- ./...; full=true; fi
go test -race -count=1 "$@"
fuzztime=${FUZZTIME:-2s}
if $full && [ "$fuzztime" != 0 ]; then
  FUZZTIME=$fuzztime scripts/fuzz.sh
fi
