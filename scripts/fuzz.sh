#!/usr/bin/env bash
# Runs every fuzz target of the module (func FuzzXxx in a _test.go file), one
# after the other, for FUZZTIME each (default 10s), and stops at the first
# failure, naming the target and the crasher file go test wrote. A crasher is
# kept under <package>/testdata/fuzz/FuzzXxx/: fix the bug and commit the file
# as a regression seed (plain go test runs it from then on).
# A target whose body uses internal/redistest gets the private redis-server
# of scripts/redis-test-server.sh, started once; the others run without Redis.
# Usage: scripts/fuzz.sh [package...]   (default ./...)
#        FUZZTIME=30s scripts/fuzz.sh ./agi
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
source scripts/redis-test-server.sh
trap stop_test_redis EXIT

# body_uses_redis FILE NAME: whether the body of func NAME in FILE uses redistest.
body_uses_redis() {
  awk -v name="$2" '
    $0 ~ "^func " name "\\(" { in_body = 1 }
    in_body && /redistest\./ { found = 1 }
    in_body && /^}/ { in_body = 0 }
    END { exit !found }' "$1"
}

if [ $# -eq 0 ]; then set -- ./...; fi
start=$(date +%s)
count=0
# Packages with a fuzz target in a test file; go test -list then says which
# names the package really has (build tags and all).
for dir in $(go list -f '{{.Dir}}' "$@"); do
  files=$(grep -l '^func Fuzz' "$dir"/*_test.go 2>/dev/null || true)
  if [ -z "$files" ]; then continue; fi
  pkg=./$(realpath --relative-to=. "$dir")
  # A package that does not build stops the script here (set -e).
  listed=$(go test -list '^Fuzz' "$pkg")
  names=$(grep '^Fuzz' <<<"$listed" || true)
  for name in $names; do
    if [ -z "${BLACKLIST_TEST_REDIS_ADDR:-}" ]; then
      for f in $files; do
        if body_uses_redis "$f" "$name"; then
          start_test_redis
          export BLACKLIST_REQUIRE_REDIS=1
          break
        fi
      done
    fi
    # Go before 1.27 can fail a duration-bound run with a bare "context
    # deadline exceeded" and no crasher when the machine is loaded
    # (go.dev/issue/75804, a race in the fuzz coordinator): such a run is
    # tried again, twice at most. Any other failure stops the script.
    for try in 1 2 3; do
      echo "== $pkg $name ($FUZZTIME)" >&2
      log=$(mktemp /tmp/blacklist-agi-fuzz.XXXXXX)
      if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$log" >&2; then
        rm -f "$log"
        break
      fi
      crasher=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | head -n 1)
      deadline_race=false
      if [ -z "$crasher" ] && grep -qx '[[:space:]]*context deadline exceeded' "$log"; then deadline_race=true; fi
      rm -f "$log"
      if $deadline_race && [ "$try" -lt 3 ]; then
        echo "fuzz: $name stopped with the coordinator's deadline race (go.dev/issue/75804), no crasher: running it again" >&2
        continue
      fi
      echo "FAIL: fuzz target $name in $pkg" >&2
      if [ -n "$crasher" ]; then
        echo "crasher: ${pkg#./}/$crasher" >&2
        echo "run it again: go test -run '^$name/$(basename "$crasher")\$' $pkg" >&2
      else
        echo "no crasher file was written: the failure is in the seed corpus or the build (see above)" >&2
      fi
      exit 1
    done
    count=$((count + 1))
  done
done
echo "fuzz: $count targets passed, $FUZZTIME each, in $(( $(date +%s) - start ))s" >&2
