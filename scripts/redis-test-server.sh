#!/usr/bin/env bash
# Starts a private redis-server for the tests, on a port and folder of its own,
# installing redis-server with apt-get when it is missing.
# Usage: source scripts/redis-test-server.sh   (exports BLACKLIST_TEST_REDIS_ADDR
# and defines stop_test_redis; the caller stops it, normally in an EXIT trap).
set -euo pipefail

ensure_redis_installed() {
  if command -v redis-server >/dev/null 2>&1; then return; fi
  echo "redis-server not found: installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
  # Debian starts its own redis on 6379; the tests never use it.
}

start_test_redis() {
  ensure_redis_installed
  TEST_REDIS_DIR=$(mktemp -d /tmp/blacklist-agi-redis.XXXXXX)
  TEST_REDIS_PORT=${BLACKLIST_TEST_REDIS_PORT:-$(( 20000 + RANDOM % 20000 ))}
  redis-server --port "$TEST_REDIS_PORT" --bind 127.0.0.1 --dir "$TEST_REDIS_DIR" \
    --save '' --appendonly no --daemonize yes --pidfile "$TEST_REDIS_DIR/redis.pid" \
    --set-max-intset-entries 10000 --lazyfree-lazy-server-del yes --lazyfree-lazy-user-del yes \
    --logfile "$TEST_REDIS_DIR/redis.log"
  for _ in $(seq 1 100); do
    if redis-cli -p "$TEST_REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
      export BLACKLIST_TEST_REDIS_ADDR="127.0.0.1:$TEST_REDIS_PORT"
      echo "test redis-server on $BLACKLIST_TEST_REDIS_ADDR (folder $TEST_REDIS_DIR)" >&2
      return
    fi
    sleep 0.1
  done
  echo "test redis-server did not start; its log:" >&2
  cat "$TEST_REDIS_DIR/redis.log" >&2
  return 1
}

stop_test_redis() {
  if [ -n "${TEST_REDIS_PORT:-}" ]; then
    redis-cli -p "$TEST_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  if [ -n "${TEST_REDIS_DIR:-}" ]; then rm -rf "$TEST_REDIS_DIR"; fi
}
