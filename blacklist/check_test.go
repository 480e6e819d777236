package blacklist

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

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
		{"exact", "5511912345678", []List{campaign, optOut}, Match{List: optOut, Entry: "5511912345678"}, true},
		{"prefix", "559001234567", []List{campaign, optOut, spam}, Match{List: spam, Entry: "55900*"}, true},
		{"prefix entry is its own number", "551133334444", []List{optOut}, Match{List: optOut, Entry: "551133334444*"}, true},
		{"prefix entry blocks longer numbers", "5511333344449", []List{optOut}, Match{List: optOut, Entry: "551133334444*"}, true},
		{"prefix in campaign list", "5521987654321", []List{campaign}, Match{List: campaign, Entry: "5521*"}, true},
		{"longest prefix wins", "5511987654329", []List{prefixes}, Match{List: prefixes, Entry: "551198765*"}, true},
		{"exact wins over prefix entries", "5585999999999", []List{prefixes}, Match{List: prefixes, Entry: "5585999999999"}, true},
		{"number star beats shorter prefixes", "5511987654321", []List{prefixes}, Match{List: prefixes, Entry: "5511987654321*"}, true},
		{"shorter prefix", "5531987654321", []List{prefixes}, Match{List: prefixes, Entry: "55*"}, true},
		{"list order: campaign first", "5511987654321", []List{campaign, optOut, prefixes}, Match{List: campaign, Entry: "5511987654321"}, true},
		{"list order: shared first", "5511987654321", []List{optOut, campaign, prefixes}, Match{List: optOut, Entry: "5511987654321"}, true},
		{"list order beats exactness", "5511987654321", []List{prefixes, campaign}, Match{List: prefixes, Entry: "5511987654321*"}, true},
		{"extension", "2001", []List{optOut, spam, campaign}, Match{List: campaign, Entry: "2001"}, true},
		{"extension prefix of a number is not a match", "200", []List{campaign}, Match{}, false},
		{"allowed", "5511900000000", []List{campaign, optOut, spam}, Match{}, false},
		{"longer prefix entry does not block", "5511987654321", []List{optOut, spam}, Match{List: optOut, Entry: "5511987654321"}, true},
		{"lone star blocks nothing", "123", []List{spam}, Match{}, false},
		{"empty list", "5511987654321", []List{empty}, Match{}, false},
		{"empty list first", "5511987654321", []List{empty, optOut}, Match{List: optOut, Entry: "5511987654321"}, true},
		{"no lists", "5511987654321", nil, Match{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.hook.reset()
			got, ok, err := f.checker.Check(context.Background(), tt.member, tt.lists)
			if err != nil {
				t.Fatalf("Check(%q): %v", tt.member, err)
			}
			if ok != tt.ok || !sameMatch(got, tt.want) {
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
// SMISMEMBER, ZMSCORE and HMGET per list, and no other command.
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
		if p, c, s := f.hook.pipelines.Load(), f.hook.pipelinedCmds.Load(), f.hook.singleCmds.Load(); p != 1 || c != int64(3*len(lists)) || s != 0 {
			t.Errorf("Check(%q) sent %d pipelines of %d commands and %d single commands; want 1 of %d and 0",
				member, p, c, s, 3*len(lists))
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

// TestCheckExpiry walks the clock across expiries: an entry blocks until
// its expiry and never at or after it, and an expired exact entry leaves a
// live prefix entry of the same number blocking.
func TestCheckExpiry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "opt-out")
	exp := t0.Add(time.Hour)
	add := func(entry string, meta Meta) {
		t.Helper()
		if _, err := f.store.Add(ctx, list, []string{entry}, AddOptions{Meta: meta}); err != nil {
			t.Fatal(err)
		}
	}
	add("5511900000001", Meta{ExpiresAt: exp, Reason: ReasonOptOut})       // exact, expiring
	add("5511800000002", Meta{ExpiresAt: exp})                             // exact, expiring...
	add("55118*", Meta{Reason: ReasonSpam})                                // ...under a permanent prefix
	add("5511900000003", Meta{})                                           // permanent
	add("55119000001*", Meta{ExpiresAt: exp})                              // prefix, expiring
	add("5511900000020", Meta{ExpiresAt: exp.Add(300 * time.Millisecond)}) // a fraction of a second: kept to the next second
	if err := f.rdb.ZAdd(ctx, ExpiryKey(list.Key), redis.Z{Score: float64(exp.Unix()) + 0.5, Member: "5511900000030"}).Err(); err != nil {
		t.Fatal(err)
	}
	f.add(t, list, "5511900000030") // expiry written by hand at exp + 0.5 s

	tests := []struct {
		member string
		at     time.Time
		entry  string // "" for allowed
	}{
		{"5511900000001", t0, "5511900000001"},
		{"5511900000001", exp.Add(-time.Nanosecond), "5511900000001"},
		{"5511900000001", exp, ""},
		{"5511900000001", exp.Add(time.Nanosecond), ""},
		{"5511900000001", exp.Add(24 * time.Hour), ""},
		{"5511800000002", exp.Add(-time.Nanosecond), "5511800000002"},
		{"5511800000002", exp, "55118*"},
		{"5511900000003", exp.Add(24 * time.Hour), "5511900000003"},
		{"5511900000101", exp.Add(-time.Nanosecond), "55119000001*"},
		{"5511900000101", exp, ""},
		{"5511900000020", exp.Add(300 * time.Millisecond), "5511900000020"},
		{"5511900000020", exp.Add(time.Second - time.Nanosecond), "5511900000020"},
		{"5511900000020", exp.Add(time.Second), ""},
		{"5511900000030", exp.Add(500*time.Millisecond - time.Nanosecond), "5511900000030"},
		{"5511900000030", exp.Add(500 * time.Millisecond), ""},
	}
	for _, tt := range tests {
		f.clock.Set(tt.at)
		m, ok, err := f.checker.Check(ctx, tt.member, []List{list})
		if err != nil {
			t.Fatalf("Check(%q) at %v: %v", tt.member, tt.at, err)
		}
		if ok != (tt.entry != "") || m.Entry != tt.entry {
			t.Errorf("Check(%q) at exp%+v = %q, %v; want %q", tt.member, tt.at.Sub(exp), m.Entry, ok, tt.entry)
		}
	}
}

// TestCheckMeta checks that a verdict carries the entry's metadata, with
// the expiry the server enforced.
func TestCheckMeta(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "opt-out")
	exp := t0.Add(30 * 24 * time.Hour)
	meta := Meta{Reason: ReasonOptOut, Source: "agi", AddedBy: "ivr", Note: "pressed 9",
		ExpiresAt: exp, Channel: "PJSIP/trunk-00000042", UniqueID: "1700000000.42"}
	if _, err := f.store.Add(ctx, list, []string{"5511987654321", "55900*"}, AddOptions{Meta: meta}); err != nil {
		t.Fatal(err)
	}
	f.add(t, list, "5521987654321") // by redis-cli: no metadata
	want := meta
	want.AddedAt = t0

	for _, tt := range []struct {
		member string
		want   Match
	}{
		{"5511987654321", Match{List: list, Entry: "5511987654321", Meta: want}},
		{"559001234567", Match{List: list, Entry: "55900*", Meta: want}},
		{"5521987654321", Match{List: list, Entry: "5521987654321"}},
	} {
		m, ok, err := f.checker.Check(ctx, tt.member, []List{list})
		if err != nil || !ok || !sameMatch(m, tt.want) {
			t.Errorf("Check(%q) = %+v, %v, %v; want %+v", tt.member, m, ok, err, tt.want)
		}
	}

	// The expiry index is what counts: an expiry changed by hand is the
	// one reported.
	later := exp.Add(time.Hour)
	if err := f.rdb.ZAdd(ctx, ExpiryKey(list.Key), redis.Z{Score: float64(later.Unix()), Member: "5511987654321"}).Err(); err != nil {
		t.Fatal(err)
	}
	if m, _, err := f.checker.Check(ctx, "5511987654321", []List{list}); err != nil || !m.Meta.ExpiresAt.Equal(later) {
		t.Errorf("after ZADD: ExpiresAt = %v, %v; want %v", m.Meta.ExpiresAt, err, later)
	}
}

// TestCheckCompact checks compact lists: exact numbers only, members with
// leading zeros, list order with plain lists, and the rounds trips.
func TestCheckCompact(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	nmp := SharedListLayout(f.keys, "nao-me-perturbe", LayoutCompact)
	spam := SharedList(f.keys, "spam")
	empty := SharedListLayout(f.keys, "empty", LayoutCompact)
	f.seedCompact(t, nmp, "7", "5511987654321", "5511987650042", "5511987650000", "12125550100", "55119")
	f.add(t, spam, "55119876543*")

	tests := []struct {
		name   string
		member string
		lists  []List
		entry  string
		list   List
	}{
		{"exact", "5511987654321", []List{nmp}, "5511987654321", nmp},
		{"leading zeros", "5511987650042", []List{nmp}, "5511987650042", nmp},
		{"all zeros", "5511987650000", []List{nmp}, "5511987650000", nmp},
		{"same bucket, other number", "5511987650420", []List{nmp}, "", List{}},
		{"other country", "12125550100", []List{nmp}, "12125550100", nmp},
		{"shortest number", "55119", []List{nmp}, "55119", nmp},
		{"no prefix semantics", "55119876543210", []List{nmp}, "", List{}},
		{"extension", "2001", []List{nmp}, "", List{}},
		{"plain first", "5511987654321", []List{spam, nmp}, "55119876543*", spam},
		{"compact first", "5511987654321", []List{nmp, spam}, "5511987654321", nmp},
		{"empty compact list", "5511987654321", []List{empty, spam}, "55119876543*", spam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok, err := f.checker.Check(ctx, tt.member, tt.lists)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tt.entry != "") || m.Entry != tt.entry || m.List != tt.list {
				t.Errorf("Check(%q) = %+v, %v; want %q in %s", tt.member, m, ok, tt.entry, tt.list.Key)
			}
		})
	}

	t.Run("round trips", func(t *testing.T) {
		c := NewChecker(f.rdb) // knows no version yet
		f.hook.reset()
		if _, ok, err := c.Check(ctx, "5511987654321", []List{nmp}); err != nil || !ok {
			t.Fatalf("first Check = %v, %v", ok, err)
		}
		if n := f.hook.roundTrips(); n != 2 {
			t.Errorf("first Check of a compact list: %d round trips, want 2 (its version, then the check)", n)
		}
		f.hook.reset()
		if _, ok, err := c.Check(ctx, "5511987654321", []List{nmp, spam}); err != nil || !ok {
			t.Fatalf("second Check = %v, %v", ok, err)
		}
		// SISMEMBER and GET for the compact list, three for the plain one.
		if p, n, s := f.hook.pipelines.Load(), f.hook.pipelinedCmds.Load(), f.hook.singleCmds.Load(); p != 1 || n != 5 || s != 0 {
			t.Errorf("second Check: %d pipelines of %d commands and %d single commands; want 1 of 5 and 0", p, n, s)
		}
	})
}

// TestCheckCompactReplaced replaces a compact list under a Checker that
// knows the old version: the very next check sees the new version, even
// with the old one already deleted, and RefreshVersions spares the extra
// round trip.
func TestCheckCompactReplaced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	nmp := SharedListLayout(f.keys, "nao-me-perturbe", LayoutCompact)
	check := func(member string) (bool, int64) {
		t.Helper()
		f.hook.reset()
		_, ok, err := f.checker.Check(ctx, member, []List{nmp})
		if err != nil {
			t.Fatalf("Check(%q): %v", member, err)
		}
		return ok, f.hook.roundTrips()
	}
	replace := func(old, ver string, numbers ...string) {
		t.Helper()
		f.seedCompact(t, nmp, ver, numbers...)
		if old != "" {
			iter := f.rdb.Scan(ctx, 0, BucketKey(nmp.Key, old, "*"), 100).Iterator()
			for iter.Next(ctx) {
				f.rdb.Unlink(ctx, iter.Val())
			}
			if err := iter.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}

	if ok, _ := check("5511987654321"); ok {
		t.Fatal("blocked by a list that does not exist")
	}
	replace("", "1", "5511987654321")
	if ok, trips := check("5511987654321"); !ok || trips != 2 {
		t.Errorf("after the first version: blocked %v in %d round trips; want true in 2", ok, trips)
	}
	if ok, trips := check("5511987654321"); !ok || trips != 1 {
		t.Errorf("again: blocked %v in %d round trips; want true in 1", ok, trips)
	}
	replace("1", "2", "5521987654321")
	if ok, trips := check("5511987654321"); ok || trips != 2 {
		t.Errorf("number gone with version 1: blocked %v in %d round trips; want false in 2", ok, trips)
	}
	if ok, trips := check("5521987654321"); !ok || trips != 1 {
		t.Errorf("number of version 2: blocked %v in %d round trips; want true in 1", ok, trips)
	}
	replace("2", "3", "5531987654321")
	f.hook.reset()
	if err := f.checker.RefreshVersions(ctx, []List{nmp, SharedList(f.keys, "plain")}); err != nil {
		t.Fatal(err)
	}
	if p, c := f.hook.pipelines.Load(), f.hook.pipelinedCmds.Load(); p != 1 || c != 1 {
		t.Errorf("RefreshVersions: %d pipelines of %d commands, want 1 of 1", p, c)
	}
	if ok, trips := check("5531987654321"); !ok || trips != 1 {
		t.Errorf("after RefreshVersions: blocked %v in %d round trips; want true in 1", ok, trips)
	}
}

// TestCheckInvalidLayout checks that a list with an unknown layout is an
// error, not a plain list by accident.
func TestCheckInvalidLayout(t *testing.T) {
	f := newFixture(t)
	bad := SharedListLayout(f.keys, "nmp", "compressed")
	_, _, err := f.checker.Check(context.Background(), "5511987654321", []List{bad})
	if !errors.Is(err, ErrInvalidLayout) || !strings.Contains(err.Error(), bad.Key) {
		t.Errorf("Check with layout %q = %v; want ErrInvalidLayout naming %s", bad.Layout, err, bad.Key)
	}
}

// TestCheckBatch checks that CheckBatch gives every member the verdict
// Check gives it, in one pipeline, over enough members to split the
// commands.
func TestCheckBatch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	campaign := CampaignList(f.keys, "vendas-sp")
	optOut := SharedList(f.keys, "opt-out")
	nmp := SharedListLayout(f.keys, "nao-me-perturbe", LayoutCompact)
	lists := []List{campaign, optOut, nmp}
	exp := t0.Add(time.Hour)

	var members []string
	for i := range 600 {
		members = append(members, fmt.Sprintf("55119%08d", i*7919))
	}
	members = append(members, "2001", "", "55900*", "5511900000001", "5511900000002", "559001234567")
	f.add(t, campaign, "2001", "55119000*")
	for _, a := range []struct {
		entries []string
		meta    Meta
	}{
		{[]string{members[10], members[500], "55900*"}, Meta{Reason: ReasonOptOut}},
		{[]string{members[20], "5511900000001"}, Meta{ExpiresAt: exp}},
	} {
		if _, err := f.store.Add(ctx, optOut, a.entries, AddOptions{Meta: a.meta}); err != nil {
			t.Fatal(err)
		}
	}
	var compact []string
	for i := 0; i < 600; i += 3 {
		compact = append(compact, members[i])
	}
	f.seedCompact(t, nmp, "1", compact...)
	if err := f.checker.RefreshVersions(ctx, lists); err != nil {
		t.Fatal(err)
	}

	for _, at := range []time.Time{t0, exp} {
		f.clock.Set(at)
		f.hook.reset()
		results, err := f.checker.CheckBatch(ctx, members, lists)
		if err != nil {
			t.Fatal(err)
		}
		// The membership, then the expiries and metadata of the entries found.
		if p, s := f.hook.pipelines.Load(), f.hook.singleCmds.Load(); p != 2 || s != 0 {
			t.Errorf("CheckBatch: %d pipelines and %d single commands, want 2 and 0", p, s)
		}
		if len(results) != len(members) {
			t.Fatalf("CheckBatch: %d results for %d members", len(results), len(members))
		}
		blocked := 0
		for i, member := range members {
			m, ok, err := f.checker.Check(ctx, member, lists)
			got := results[i]
			if (err == nil) != (got.Err == nil) || ok != got.Blocked || !sameMatch(m, got.Match) {
				t.Errorf("at %v, member %q: CheckBatch = %+v; Check = %+v, %v, %v", at, member, got, m, ok, err)
			}
			if got.Err != nil && !errors.Is(got.Err, ErrInvalidMember) {
				t.Errorf("member %q: Err = %v, want ErrInvalidMember", member, got.Err)
			}
			if got.Blocked {
				blocked++
			}
		}
		if blocked < 200 {
			t.Errorf("only %d members blocked: the test blocks more", blocked)
		}
	}

	// Nothing found in a plain list: one round trip.
	f.hook.reset()
	results, err := f.checker.CheckBatch(ctx, []string{"5599999999999", members[3]}, []List{optOut, nmp})
	if err != nil || results[0].Blocked || !results[1].Blocked || results[1].List != nmp {
		t.Fatalf("CheckBatch = %+v, %v; want allowed, then blocked by %s", results, err, nmp.Key)
	}
	if p, s := f.hook.pipelines.Load(), f.hook.singleCmds.Load(); p != 1 || s != 0 {
		t.Errorf("CheckBatch without plain hits: %d pipelines and %d single commands, want 1 and 0", p, s)
	}
}

// TestCheckBatchConcurrent runs batches concurrently (go test -race).
func TestCheckBatchConcurrent(t *testing.T) {
	f := newFixture(t)
	list := SharedList(f.keys, "spam")
	nmp := SharedListLayout(f.keys, "nmp", LayoutCompact)
	f.add(t, list, "5511*")
	f.seedCompact(t, nmp, "1", "5521987654321")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			r, err := f.checker.CheckBatch(context.Background(), []string{"5511987654321", "5521987654321", "5531987654321"}, []List{list, nmp})
			if err == nil && (!r[0].Blocked || !r[1].Blocked || r[2].Blocked) {
				err = fmt.Errorf("verdicts %+v", r)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkCheck measures one check of a canonical number against a
// campaign list and two shared lists, the usual call: all plain, and with
// a compact national list.
func BenchmarkCheck(b *testing.B) {
	for _, layout := range []string{LayoutPlain, LayoutCompact} {
		b.Run(layout, func(b *testing.B) {
			f := newFixture(b)
			lists := benchLists(b, f, layout)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := f.checker.Check(ctx, "5511987654321", lists); err != nil || ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// BenchmarkCheckBatch measures a batch of 1000 members against the same
// lists; ns/op is per batch.
func BenchmarkCheckBatch(b *testing.B) {
	for _, layout := range []string{LayoutPlain, LayoutCompact} {
		b.Run(layout, func(b *testing.B) {
			f := newFixture(b)
			lists := benchLists(b, f, layout)
			members := make([]string, 1000)
			for i := range members {
				members[i] = fmt.Sprintf("551198%07d", i*9973)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.checker.CheckBatch(ctx, members, lists); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(members)), "ns/member")
		})
	}
}

func benchLists(b *testing.B, f *fixture, layout string) []List {
	lists := []List{CampaignList(f.keys, "vendas-sp"), SharedListLayout(f.keys, "nao-me-perturbe", layout), SharedList(f.keys, "spam")}
	f.add(b, lists[0], "5511900000000")
	if layout == LayoutCompact {
		f.seedCompact(b, lists[1], "1", "5521987654321")
	} else {
		f.add(b, lists[1], "5521*")
	}
	f.add(b, lists[2], "55900*")
	if err := f.checker.RefreshVersions(context.Background(), lists); err != nil {
		b.Fatal(err)
	}
	return lists
}
