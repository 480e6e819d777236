package blacklist

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
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

// fixture is a test Redis with lists under a key prefix of the test's own.
type fixture struct {
	rdb     *redis.Client
	keys    Keys
	checker *Checker
	hook    *countingHook
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	f := &fixture{rdb: rdb, keys: Keys{Prefix: redistest.Prefix(t, rdb)}, checker: NewChecker(rdb), hook: &countingHook{}}
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

func TestCheck(t *testing.T) {
	f := newFixture(t)
	campaign := CampaignList(f.keys, "vendas-sp")
	optOut := SharedList(f.keys, "nao-me-perturbe")
	spam := SharedList(f.keys, "spam")
	prefixes := SharedList(f.keys, "prefixes")
	empty := SharedList(f.keys, "empty") // never created
	f.add(t, campaign, "5511987654321", "2001", "5521*")
	f.add(t, optOut, "5511987654321", "5511912345678", "551133334444*")
	f.add(t, spam, "55900*", "*")
	f.add(t, prefixes, "55*", "5511*", "551198765*", "5511987654321*", "55119876543210*", "5585999999999")

	tests := []struct {
		name   string
		member string
		lists  []List
		want   Match
		ok     bool
	}{
		{"exact", "5511912345678", []List{campaign, optOut}, Match{optOut, "5511912345678"}, true},
		{"prefix", "559001234567", []List{campaign, optOut, spam}, Match{spam, "55900*"}, true},
		{"prefix entry is its own number", "551133334444", []List{optOut}, Match{optOut, "551133334444*"}, true},
		{"prefix entry blocks longer numbers", "5511333344449", []List{optOut}, Match{optOut, "551133334444*"}, true},
		{"prefix in campaign list", "5521987654321", []List{campaign}, Match{campaign, "5521*"}, true},
		{"longest prefix wins", "5511987654329", []List{prefixes}, Match{prefixes, "551198765*"}, true},
		{"exact wins over prefix entries", "5585999999999", []List{prefixes}, Match{prefixes, "5585999999999"}, true},
		{"number star beats shorter prefixes", "5511987654321", []List{prefixes}, Match{prefixes, "5511987654321*"}, true},
		{"shorter prefix", "5531987654321", []List{prefixes}, Match{prefixes, "55*"}, true},
		{"list order: campaign first", "5511987654321", []List{campaign, optOut, prefixes}, Match{campaign, "5511987654321"}, true},
		{"list order: shared first", "5511987654321", []List{optOut, campaign, prefixes}, Match{optOut, "5511987654321"}, true},
		{"list order beats exactness", "5511987654321", []List{prefixes, campaign}, Match{prefixes, "5511987654321*"}, true},
		{"extension", "2001", []List{optOut, spam, campaign}, Match{campaign, "2001"}, true},
		{"extension prefix of a number is not a match", "200", []List{campaign}, Match{}, false},
		{"allowed", "5511900000000", []List{campaign, optOut, spam}, Match{}, false},
		{"longer prefix entry does not block", "5511987654321", []List{optOut, spam}, Match{optOut, "5511987654321"}, true},
		{"lone star blocks nothing", "123", []List{spam}, Match{}, false},
		{"empty list", "5511987654321", []List{empty}, Match{}, false},
		{"empty list first", "5511987654321", []List{empty, optOut}, Match{optOut, "5511987654321"}, true},
		{"no lists", "5511987654321", nil, Match{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.hook.reset()
			got, ok, err := f.checker.Check(context.Background(), tt.member, tt.lists)
			if err != nil {
				t.Fatalf("Check(%q): %v", tt.member, err)
			}
			if ok != tt.ok || got != tt.want {
				t.Errorf("Check(%q) = %+v, %v; want %+v, %v", tt.member, got, ok, tt.want, tt.ok)
			}
			wantPipelines := int64(1)
			if len(tt.lists) == 0 {
				wantPipelines = 0
			}
			if p, s := f.hook.pipelines.Load(), f.hook.singleCmds.Load(); p != wantPipelines || s != 0 {
				t.Errorf("Check sent %d pipelines and %d single commands, want %d and 0", p, s, wantPipelines)
			}
		})
	}
}

// TestCheckOneRoundTrip proves that many lists cost one pipeline of one
// command per list, and no other command.
func TestCheckOneRoundTrip(t *testing.T) {
	f := newFixture(t)
	var lists []List
	for i := range 50 {
		lists = append(lists, SharedList(f.keys, fmt.Sprintf("list-%02d", i)))
	}
	f.add(t, lists[49], "5511*")
	for _, member := range []string{"5511987654321", "5521987654321"} {
		f.hook.reset()
		_, ok, err := f.checker.Check(context.Background(), member, lists)
		if err != nil {
			t.Fatal(err)
		}
		if want := member == "5511987654321"; ok != want {
			t.Errorf("Check(%q) blocked = %v, want %v", member, ok, want)
		}
		if p, c, s := f.hook.pipelines.Load(), f.hook.pipelinedCmds.Load(), f.hook.singleCmds.Load(); p != 1 || c != int64(len(lists)) || s != 0 {
			t.Errorf("Check(%q) sent %d pipelines of %d commands and %d single commands; want 1 of %d and 0",
				member, p, c, s, len(lists))
		}
	}
}

func TestCheckSeesChangesAtOnce(t *testing.T) {
	f := newFixture(t)
	list := SharedList(f.keys, "nao-me-perturbe")
	ctx := context.Background()
	for i, step := range []struct {
		change  func()
		blocked bool
	}{
		{func() {}, false},
		{func() { f.add(t, list, "5511987654321") }, true},
		{func() { f.remove(t, list, "5511987654321") }, false},
		{func() { f.add(t, list, "551198*") }, true},
		{func() { f.remove(t, list, "551198*") }, false},
	} {
		step.change()
		_, ok, err := f.checker.Check(ctx, "5511987654321", []List{list})
		if err != nil || ok != step.blocked {
			t.Fatalf("step %d: Check = %v, %v; want blocked %v", i, ok, err, step.blocked)
		}
	}
}

func TestCheckInvalidMember(t *testing.T) {
	f := newFixture(t)
	lists := []List{SharedList(f.keys, "spam")}
	for _, member := range []string{"", "55900*", "*", string(make([]byte, MaxMemberLength+1))} {
		f.hook.reset()
		_, ok, err := f.checker.Check(context.Background(), member, lists)
		if !errors.Is(err, ErrInvalidMember) || ok {
			t.Errorf("Check(%q) = %v, %v; want ErrInvalidMember", member, ok, err)
		}
		if n := f.hook.pipelines.Load() + f.hook.singleCmds.Load(); n != 0 {
			t.Errorf("Check(%q) asked Redis %d times, want 0", member, n)
		}
	}
}

// TestCheckWrongType checks that a key that is not a set (a supervisor's
// typo) is an error naming the key, not a silent "allowed".
func TestCheckWrongType(t *testing.T) {
	f := newFixture(t)
	good, bad := SharedList(f.keys, "good"), SharedList(f.keys, "bad")
	if err := f.rdb.Set(context.Background(), bad.Key, "5511987654321", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, ok, err := f.checker.Check(context.Background(), "5511987654321", []List{good, bad})
	if err == nil || ok {
		t.Fatalf("Check = %v, %v; want a WRONGTYPE error", ok, err)
	}
	var reply redis.Error
	if !errors.As(err, &reply) || !containsAll(err.Error(), bad.Key, "WRONGTYPE") {
		t.Errorf("error %q: want a Redis WRONGTYPE error naming %s", err, bad.Key)
	}
}

func TestCheckExpiredContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, ok, err := f.checker.Check(ctx, "5511987654321", []List{SharedList(f.keys, "spam")})
	if ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Check with an expired context = %v, %v; want context.DeadlineExceeded", ok, err)
	}
}

// TestCheckStalledRedis checks that a Redis that accepts the connection and
// never answers costs no more than the context's budget, with a client that
// applies context deadlines to the network (ContextTimeoutEnabled).
func TestCheckStalledRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-accepted
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()

	const budget = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, ok, err := NewChecker(rdb).Check(ctx, "5511987654321", []List{SharedList(Keys{}, "spam")})
	elapsed := time.Since(start)
	var netErr net.Error
	if ok || err == nil || !(errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()) {
		t.Fatalf("Check against a stalled Redis = %v, %v; want a timeout error", ok, err)
	}
	if elapsed > 10*budget {
		t.Errorf("Check took %v with a budget of %v", elapsed, budget)
	}
}

// TestCheckUnreachable checks that a Redis nobody listens for is an error
// right away with a client that does not retry, and at the latest when the
// context's budget runs out with go-redis's default retries.
func TestCheckUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	lists := []List{SharedList(Keys{}, "spam")}

	t.Run("without retries", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1})
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, ok, err := NewChecker(rdb).Check(ctx, "5511987654321", lists)
		if ok || err == nil {
			t.Fatalf("Check against a closed port = %v, %v; want an error", ok, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("Check against a closed port waited for the deadline: %v", err)
		}
		var opErr *net.OpError
		if !errors.As(err, &opErr) {
			t.Errorf("error %v (%T): want the connection's *net.OpError", err, err)
		}
	})
	t.Run("default retries", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		defer rdb.Close()
		const budget = 200 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		defer cancel()
		start := time.Now()
		_, ok, err := NewChecker(rdb).Check(ctx, "5511987654321", lists)
		if ok || err == nil {
			t.Fatalf("Check against a closed port = %v, %v; want an error", ok, err)
		}
		if elapsed := time.Since(start); elapsed > 10*budget {
			t.Errorf("Check took %v with a budget of %v", elapsed, budget)
		}
	})
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// BenchmarkCheck measures one check of a canonical number against a
// campaign list and two shared lists, the usual call.
func BenchmarkCheck(b *testing.B) {
	f := newFixture(b)
	lists := []List{CampaignList(f.keys, "vendas-sp"), SharedList(f.keys, "nao-me-perturbe"), SharedList(f.keys, "spam")}
	f.add(b, lists[0], "5511900000000")
	f.add(b, lists[1], "5521*")
	f.add(b, lists[2], "55900*")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := f.checker.Check(ctx, "5511987654321", lists); err != nil || ok {
			b.Fatal(ok, err)
		}
	}
}
