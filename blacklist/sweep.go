package blacklist

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultSweepBatch is the batch of a Sweep given none, and MaxSweepBatch
// the largest it takes.
const (
	DefaultSweepBatch = 256
	MaxSweepBatch     = 10000
)

// sweepScript removes up to ARGV[2] entries whose expiry score is at most
// ARGV[1] from a list: KEYS are the list's set, expiry index, metadata hash
// and audit stream. ARGV[3] is the time of the audit records, ARGV[4] the
// audit stream's MAXLEN (0: not trimmed). It answers how many entries it
// removed.
//
// A script runs atomically: an entry added again with a new expiry is
// either added before the script, and its new score keeps it out of the
// range, or after, and it is added back whole. Nothing re-added is lost.
var sweepScript = redis.NewScript(`
local due = redis.call('ZRANGE', KEYS[2], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  redis.call('SREM', KEYS[1], m)
  redis.call('ZREM', KEYS[2], m)
  redis.call('HDEL', KEYS[3], m)
  if ARGV[4] ~= '0' then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'op', 'expire', 'at', ARGV[3], 'member', m, 'source', 'sweep')
  else
    redis.call('XADD', KEYS[4], '*', 'op', 'expire', 'at', ARGV[3], 'member', m, 'source', 'sweep')
  end
end
return #due
`)

// Sweep removes up to batch expired entries from the list l (0 means
// DefaultSweepBatch; at most MaxSweepBatch), with their metadata and
// expiry, and writes one audit record (op "expire") for each. It returns
// how many it removed: fewer than batch means that none is left for now. A
// sweeper calls it in a loop, in the background; compact lists have no
// expiring entries, and sweep to 0.
//
// Expired entries never block, swept or not (Check compares their expiry
// with its clock): sweeping frees memory and keeps the lists tidy for
// people. It reads the expiry index, a ZSET of the expiring entries only,
// ordered by expiry: a step is ZRANGE BYSCORE -inf now LIMIT 0 batch, then
// the removal of what it found, so its cost is O(log N + batch) whatever
// the size of the list, and a step with nothing due is one lookup. A sweep
// that SSCANs the set instead would visit every entry of a 14-million-entry
// list, expiring or not, and ask each one's expiry, at every pass, to find
// the few that are due.
//
// A step is one script, atomic, so that an entry added again with a new
// expiry at the same time is never lost; it holds Redis for about
// batch × 5 µs, which the default batch keeps near a millisecond.
func (s *Store) Sweep(ctx context.Context, l List, batch int64) (removed int64, err error) {
	if err := validList(l); err != nil {
		return 0, fmt.Errorf("blacklist: sweeping %w", err)
	}
	if l.Compact() {
		return 0, nil
	}
	if batch <= 0 {
		batch = DefaultSweepBatch
	}
	batch = min(batch, MaxSweepBatch)
	now := s.now()
	// Whole seconds, rounded down: a score of at most the floor is at most
	// now, so nothing is removed before it expires.
	n, err := sweepScript.Run(ctx, s.rdb,
		[]string{l.Key, ExpiryKey(l.Key), MetaKey(l.Key), AuditKey(l.Key)},
		now.Unix(), batch, now.UTC().Format(time.RFC3339Nano), strconv.FormatInt(max(s.AuditMaxLen, 0), 10),
	).Int64()
	if err != nil {
		return 0, fmt.Errorf("blacklist: sweeping %s: %w", l.Key, err)
	}
	return n, nil
}
