package blacklist

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// compactWrite adds entries to, or removes them from, the live version of
// a compact list, and keeps its count exact: the count moves by what SADD
// and SREM answered, in the same atomic step. KEYS[1] is the list's
// version key; ARGV[1] is "add" or "remove", ARGV[2] the list's key, then
// come bucket and member pairs (see CompactSplit). An add to a list with no
// version creates version "1". It answers 1 or 0 per pair: added (removed)
// or already present (absent).
//
// The bucket and count keys are built by the script rather than declared:
// they carry the list's hash tag, so they live in the same Cluster slot as
// KEYS[1].
var compactWrite = redis.NewScript(`
local add = ARGV[1] == 'add'
local ver = redis.call('GET', KEYS[1])
local out = {}
if not ver then
  if not add then
    for i = 3, #ARGV, 2 do out[#out + 1] = 0 end
    return out
  end
  ver = '1'
  redis.call('SET', KEYS[1], ver)
end
local base = ARGV[2] .. ':v' .. ver .. ':'
local op = add and 'SADD' or 'SREM'
local n = 0
for i = 3, #ARGV, 2 do
  local r = redis.call(op, base .. ARGV[i], ARGV[i + 1])
  out[#out + 1] = r
  n = n + r
end
if n > 0 then
  redis.call(add and 'INCRBY' or 'DECRBY', base .. 'count', n)
end
return out
`)

// queueCompactWrite queues on pipe the compactWrite of numbers (each valid
// in the compact list with key list) as op, "add" or "remove".
func queueCompactWrite(ctx context.Context, pipe redis.Pipeliner, op, list string, numbers []string) *redis.Cmd {
	args := make([]any, 0, 2+2*len(numbers))
	args = append(args, op, list)
	for _, n := range numbers {
		bucket, _, _ := CompactSplit(n)
		args = append(args, bucket, compactMember(n))
	}
	// EVAL rather than EVALSHA: a pipeline cannot fall back on NOSCRIPT,
	// and Redis finds the compiled script by the hash of its text.
	return compactWrite.Eval(ctx, pipe, []string{VersionKey(list)}, args...)
}

// compactWriteResults reads the answer of a compactWrite of n numbers.
func compactWriteResults(cmd *redis.Cmd, list string, n int) ([]int64, error) {
	res, err := cmd.Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("writing to compact list %s: %w", list, err)
	}
	if len(res) != n {
		return nil, fmt.Errorf("writing to compact list %s: %d answers for %d numbers", list, len(res), n)
	}
	return res, nil
}

// liveVersion returns the live version of the compact list with key list,
// "" when it has none (it is empty).
func liveVersion(ctx context.Context, rdb redis.UniversalClient, list string) (string, error) {
	v, err := rdb.Get(ctx, VersionKey(list)).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the version of compact list %s: GET %s: %w", list, VersionKey(list), err)
	}
	return v, nil
}

// bucketNumbers returns the numbers of a bucket from its members, as
// SMEMBERS answers them.
func bucketNumbers(bucket string, members []string, into []string) []string {
	for _, m := range members {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil || n < 0 || n >= compactModulus {
			continue // not written by this package
		}
		into = append(into, CompactJoin(bucket, n))
	}
	return into
}

// compactModulus is 10^CompactDigits: the members of a bucket are below it.
const compactModulus = 10000
