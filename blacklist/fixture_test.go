package blacklist

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// countingHook counts what a client sends: pipelines, the commands in them,
// and single commands.
type countingHook struct {
	pipelines, pipelinedCmds, singleCmds atomic.Int64
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.singleCmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		h.pipelinedCmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func (h *countingHook) reset() {
	h.pipelines.Store(0)
	h.pipelinedCmds.Store(0)
	h.singleCmds.Store(0)
}

// roundTrips returns how many round trips the client made since the last
// reset: pipelines and single commands.
func (h *countingHook) roundTrips() int64 { return h.pipelines.Load() + h.singleCmds.Load() }

// testClock is a clock that tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// t0 is the time at which every fixture's clock starts: a whole second.
var t0 = time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC)

// fixture is a test Redis with lists under a key prefix of the test's own,
// a Checker and a Store that share one clock, starting at t0.
type fixture struct {
	rdb     *redis.Client
	keys    Keys
	checker *Checker
	store   *Store
	clock   *testClock
	hook    *countingHook
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	f := &fixture{rdb: rdb, keys: Keys{Prefix: redistest.Prefix(t, rdb)}, checker: NewChecker(rdb), hook: &countingHook{},
		clock: &testClock{t: t0}}
	f.checker.Now = f.clock.Now
	f.store = NewStore(rdb, f.keys)
	f.store.Now = f.clock.Now
	rdb.AddHook(f.hook)
	// go-redis may open a connection for the first pipeline (HELLO,
	// CLIENT SETINFO: seen by the hook); open it now, not during a Check.
	if _, err := rdb.Pipelined(context.Background(), func(p redis.Pipeliner) error {
		p.Ping(context.Background())
		return nil
	}); err != nil {
		t.Fatalf("warming up the connection pool: %v", err)
	}
	return f
}

func (f *fixture) add(t testing.TB, l List, members ...any) {
	t.Helper()
	if err := f.rdb.SAdd(context.Background(), l.Key, members...).Err(); err != nil {
		t.Fatalf("SADD %s: %v", l.Key, err)
	}
}

func (f *fixture) remove(t testing.TB, l List, members ...any) {
	t.Helper()
	if err := f.rdb.SRem(context.Background(), l.Key, members...).Err(); err != nil {
		t.Fatalf("SREM %s: %v", l.Key, err)
	}
}

// seedCompact writes numbers to version ver of the compact list l as an
// importer would, with redis-cli's commands, and makes ver the live
// version.
func (f *fixture) seedCompact(t testing.TB, l List, ver string, numbers ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := f.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range numbers {
			bucket, member, ok := CompactSplit(n)
			if !ok {
				t.Fatalf("CompactSplit(%q) failed", n)
			}
			p.SAdd(ctx, BucketKey(l.Key, ver, bucket), member)
		}
		p.IncrBy(ctx, CompactCountKey(l.Key, ver), int64(len(numbers)))
		p.Set(ctx, VersionKey(l.Key), ver, 0)
		return nil
	})
	if err != nil {
		t.Fatalf("seeding compact list %s version %s: %v", l.Key, ver, err)
	}
}

// sameMeta reports whether a and b are the same metadata, times compared
// as instants.
func sameMeta(a, b Meta) bool {
	return a.AddedAt.Equal(b.AddedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.Reason == b.Reason && a.Source == b.Source && a.AddedBy == b.AddedBy && a.Note == b.Note &&
		a.Channel == b.Channel && a.UniqueID == b.UniqueID
}

// sameMatch reports whether a and b are the same match.
func sameMatch(a, b Match) bool {
	return a.List == b.List && a.Entry == b.Entry && sameMeta(a.Meta, b.Meta)
}
