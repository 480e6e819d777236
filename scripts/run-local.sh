#!/usr/bin/env bash
# Quick start: runs the server with a local Redis and the example config.
# Uses the Redis on 127.0.0.1:6379 when one answers; otherwise installs
# redis-server with apt-get when it is missing and starts one on 6379 with its
# data in .tmp/redis (stopped again when the server stops).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "installing redis-server with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
fi

started_redis=""
if ! redis-cli -p 6379 ping 2>/dev/null | grep -q PONG; then
  mkdir -p .tmp/redis
  redis-server --port 6379 --bind 127.0.0.1 --dir "$PWD/.tmp/redis" --daemonize yes \
    --set-max-intset-entries 10000 --lazyfree-lazy-server-del yes --lazyfree-lazy-user-del yes \
    --pidfile "$PWD/.tmp/redis/redis.pid" --logfile "$PWD/.tmp/redis/redis.log"
  for _ in $(seq 1 50); do
    redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  started_redis=1
  echo "started redis-server on 127.0.0.1:6379 (data in .tmp/redis)" >&2
fi
cleanup() {
  if [ -n "$started_redis" ]; then redis-cli -p 6379 shutdown >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

mkdir -p bin
go build -o bin/blacklist-agi ./cmd/blacklist-agi
bin/blacklist-agi serve --config config/blacklist-agi.yaml "$@"
