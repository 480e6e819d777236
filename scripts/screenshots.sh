#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: each screen of the supervisors' page
# (lists, a list, a check, an import, the monitoring) in pt-BR and en, at
# 1366x900, taken by TestWebUIScreenshots in headless chromium against the
# built server and a private redis-server that this script starts and stops.
# Usage: scripts/screenshots.sh   (then review and commit docs/screenshots/)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
  && ! command -v google-chrome >/dev/null 2>&1; then
  echo "chromium not found: installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
source scripts/redis-test-server.sh
trap stop_test_redis EXIT
start_test_redis

out="$PWD/docs/screenshots"
mkdir -p "$out"
export BLACKLIST_REQUIRE_REDIS=1 BLACKLIST_REQUIRE_BROWSER=1 BLACKLIST_SCREENSHOTS_DIR="$out"
go test -count=1 -run '^TestWebUIScreenshots$' -v ./cmd/blacklist-agi/
ls -l "$out"/*.png
