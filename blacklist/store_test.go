package blacklist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestAddRemove adds entries with metadata, reads them back, and removes
// them: the set, the metadata hash and the expiry index move together.
func TestAddRemove(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "opt-out")
	exp := t0.Add(30 * 24 * time.Hour)
	meta := Meta{Reason: ReasonOptOut, Source: "cli", AddedBy: "ana", Note: "asked by e-mail", ExpiresAt: exp}

	res, err := f.store.Add(ctx, list, []string{"5511987654321", "55900*"}, AddOptions{Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Added, []string{"5511987654321", "55900*"}) || res.Present != nil || res.Refused != nil || res.Dequeued != nil {
		t.Fatalf("Add = %+v", res)
	}
	want := meta
	want.AddedAt = t0
	for _, entry := range []string{"5511987654321", "55900*"} {
		e, err := f.store.Lookup(ctx, list, entry)
		if err != nil || !e.Present || e.Expired || e.Member != entry || !sameMeta(e.Meta, want) {
			t.Errorf("Lookup(%q) = %+v, %v; want present with %+v", entry, e, err, want)
		}
		if score, err := f.rdb.ZScore(ctx, ExpiryKey(list.Key), entry).Result(); err != nil || score != float64(exp.Unix()) {
			t.Errorf("ZSCORE %s %s = %v, %v; want %d", ExpiryKey(list.Key), entry, score, err, exp.Unix())
		}
		raw, err := f.rdb.HGet(ctx, MetaKey(list.Key), entry).Result()
		if err != nil || !sameMeta(UnmarshalMeta(raw), want) {
			t.Errorf("HGET %s %s = %s, %v", MetaKey(list.Key), entry, raw, err)
		}
	}
	if e, err := f.store.Lookup(ctx, list, "5511987654322"); err != nil || e.Present || e.Meta != (Meta{}) {
		t.Errorf("Lookup of an absent entry = %+v, %v", e, err)
	}

	rm, err := f.store.Remove(ctx, list, []string{"5511987654321", "5511900000000", "bad"}, RemoveOptions{By: "ana", Reason: "asked again"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rm.Removed, []string{"5511987654321"}) || !slices.Equal(rm.Absent, []string{"5511900000000"}) ||
		len(rm.Refused) != 1 || rm.Refused[0].Entry != "bad" || !errors.Is(rm.Refused[0], ErrInvalidEntry) {
		t.Fatalf("Remove = %+v", rm)
	}
	for key, n := range map[string]int64{list.Key: 1, MetaKey(list.Key): 1, ExpiryKey(list.Key): 1} {
		var got int64
		switch key {
		case list.Key:
			got = f.rdb.SCard(ctx, key).Val()
		case MetaKey(list.Key):
			got = f.rdb.HLen(ctx, key).Val()
		default:
			got = f.rdb.ZCard(ctx, key).Val()
		}
		if got != n {
			t.Errorf("%s holds %d entries after the removal, want %d (55900*)", key, got, n)
		}
	}
}

// TestAddIdempotent adds the same entry again: nothing changes but its
// metadata and expiry; an add without expiry makes it permanent, and an
// add without metadata keeps the metadata it has.
func TestAddIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := CampaignList(f.keys, "vendas-sp")
	exp := t0.Add(time.Hour)
	steps := []struct {
		name    string
		meta    Meta
		present bool
		want    Meta // the metadata after the step
	}{
		{"first", Meta{Reason: ReasonSpam, ExpiresAt: exp}, false, Meta{Reason: ReasonSpam, ExpiresAt: exp, AddedAt: t0}},
		{"same again", Meta{Reason: ReasonSpam, ExpiresAt: exp}, true, Meta{Reason: ReasonSpam, ExpiresAt: exp, AddedAt: t0}},
		{"no expiry: permanent", Meta{Reason: ReasonLegal}, true, Meta{Reason: ReasonLegal, AddedAt: t0}},
		{"no metadata: kept", Meta{}, true, Meta{Reason: ReasonLegal, AddedAt: t0}},
	}
	for _, step := range steps {
		res, err := f.store.Add(ctx, list, []string{"5511987654321"}, AddOptions{Meta: step.meta})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := len(res.Present) == 1; got != step.present || len(res.Added)+len(res.Present) != 1 {
			t.Errorf("%s: Add = %+v; want present %v", step.name, res, step.present)
		}
		e, err := f.store.Lookup(ctx, list, "5511987654321")
		if err != nil || !e.Present || !sameMeta(e.Meta, step.want) {
			t.Errorf("%s: Lookup = %+v, %v; want %+v", step.name, e.Meta, err, step.want)
		}
		if n := f.rdb.SCard(ctx, list.Key).Val(); n != 1 {
			t.Errorf("%s: SCARD = %d, want 1", step.name, n)
		}
	}
	if n := f.rdb.ZCard(ctx, ExpiryKey(list.Key)).Val(); n != 0 {
		t.Errorf("the expiry index holds %d entries after a permanent add, want 0", n)
	}
}

// TestAddRefusals checks what Add refuses: bad entries one by one, the
// rest going in; and whole calls that cannot be honored, writing nothing.
func TestAddRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	plain := SharedList(f.keys, "spam")
	compact := SharedListLayout(f.keys, "nao-me-perturbe", LayoutCompact)

	t.Run("entries", func(t *testing.T) {
		tests := []struct {
			list    List
			entries []string
			added   []string
			refused map[string]error
		}{
			{plain, []string{"5511987654321", "", "*", "abc", "55 11", "5511*9", "+5511987654321", "55900*", strings.Repeat("1", 65), "2001"},
				[]string{"5511987654321", "55900*", "2001"},
				map[string]error{"": ErrInvalidEntry, "*": ErrInvalidEntry, "abc": ErrInvalidEntry, "55 11": ErrInvalidEntry,
					"5511*9": ErrInvalidEntry, "+5511987654321": ErrInvalidEntry, strings.Repeat("1", 65): ErrInvalidEntry}},
			{compact, []string{"5511987654321", "55900*", "2001", "x", "12125550100"},
				[]string{"5511987654321", "12125550100"},
				map[string]error{"55900*": ErrCompactLayout, "2001": ErrCompactLayout, "x": ErrInvalidEntry}},
		}
		for _, tt := range tests {
			res, err := f.store.Add(ctx, tt.list, tt.entries, AddOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Added, tt.added) {
				t.Errorf("%s: added %q, want %q", tt.list.Key, res.Added, tt.added)
			}
			if len(res.Refused) != len(tt.refused) {
				t.Errorf("%s: refused %+v, want %d refusals", tt.list.Key, res.Refused, len(tt.refused))
			}
			for _, r := range res.Refused {
				want, ok := tt.refused[r.Entry]
				if !ok || !errors.Is(r, want) || !strings.Contains(r.Reason, fmt.Sprintf("%q", r.Entry)) {
					t.Errorf("%s: refusal %+v: want %v naming the entry", tt.list.Key, r, want)
				}
				if errors.Is(r, ErrCompactLayout) && !strings.Contains(r.Reason, tt.list.Key) {
					t.Errorf("%s: refusal %q does not name the list", tt.list.Key, r.Reason)
				}
			}
		}
	})

	t.Run("calls", func(t *testing.T) {
		tests := []struct {
			name string
			list List
			opt  AddOptions
			want error
		}{
			{"expiry in the past", plain, AddOptions{Meta: Meta{ExpiresAt: t0.Add(-time.Second)}}, ErrInvalidExpiry},
			{"expiry now", plain, AddOptions{Meta: Meta{ExpiresAt: t0}}, ErrInvalidExpiry},
			{"expiry in a compact list", compact, AddOptions{Meta: Meta{ExpiresAt: t0.Add(time.Hour)}}, ErrCompactLayout},
			{"unknown layout", SharedListLayout(f.keys, "x", "zip"), AddOptions{}, ErrInvalidLayout},
			{"queue of no type", plain, AddOptions{Queues: []Queue{{Campaign: "c", Key: "q"}}}, ErrInvalidQueue},
			{"queue without a key", plain, AddOptions{Queues: []Queue{{Campaign: "c", Type: QueueList}}}, ErrInvalidQueue},
			{"national queue without country", plain, AddOptions{Queues: []Queue{{Campaign: "c", Key: "q", Type: QueueSet, Format: FormatNational}}}, ErrInvalidQueue},
		}
		for _, tt := range tests {
			f.hook.reset()
			_, err := f.store.Add(ctx, tt.list, []string{"5599999999999"}, tt.opt)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.list.Key) {
				t.Errorf("%s: Add = %v; want %v naming %s", tt.name, err, tt.want, tt.list.Key)
			}
			if n := f.hook.roundTrips(); n != 0 {
				t.Errorf("%s: %d round trips, want none", tt.name, n)
			}
		}
	})
}

// TestAddOneRoundTrip checks that a write, with everything that goes with
// it, is one pipeline.
func TestAddOneRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	queues := []Queue{
		{Campaign: "a", Key: f.keys.Prefix + "queue:a", Type: QueueList},
		{Campaign: "b", Key: f.keys.Prefix + "queue:b", Type: QueueZSet, Format: FormatE164},
	}
	meta := Meta{Reason: ReasonOptOut, AddedBy: "ana", ExpiresAt: t0.Add(time.Hour)}
	plain := SharedList(f.keys, "opt-out")
	compact := SharedListLayout(f.keys, "nmp", LayoutCompact)
	entries := []string{"5511987654321", "5521987654321", "55900*"}
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"add to a plain list", func() error {
			_, err := f.store.Add(ctx, plain, entries, AddOptions{Meta: meta, Queues: queues})
			return err
		}},
		{"remove from a plain list", func() error { _, err := f.store.Remove(ctx, plain, entries, RemoveOptions{By: "ana"}); return err }},
		{"add to a compact list", func() error {
			_, err := f.store.Add(ctx, compact, entries[:2], AddOptions{Meta: Meta{AddedBy: "ana"}, Queues: queues})
			return err
		}},
		{"remove from a compact list", func() error { _, err := f.store.Remove(ctx, compact, entries[:2], RemoveOptions{}); return err }},
	} {
		f.hook.reset()
		if err := op.do(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if p, s := f.hook.pipelines.Load(), f.hook.singleCmds.Load(); p != 1 || s != 0 {
			t.Errorf("%s: %d pipelines and %d single commands, want 1 and 0", op.name, p, s)
		}
	}
}

// TestCompactAddRemove writes to a compact list: the buckets of its live
// version (created as "1"), the exact count, and what the Checker sees.
func TestCompactAddRemove(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	nmp := SharedListLayout(f.keys, "nao-me-perturbe", LayoutCompact)
	count := func() int64 {
		t.Helper()
		n, err := f.store.Count(ctx, nmp)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("Count of a list that does not exist = %d", n)
	}
	meta := Meta{Reason: ReasonNaoMePerturbe, AddedBy: "import", Source: "anatel"}
	res, err := f.store.Add(ctx, nmp, []string{"5511987650042", "5511987650000", "5511987654321"}, AddOptions{Meta: meta})
	if err != nil || len(res.Added) != 3 {
		t.Fatalf("Add = %+v, %v", res, err)
	}
	if v := f.rdb.Get(ctx, VersionKey(nmp.Key)).Val(); v != "1" {
		t.Fatalf("version = %q, want \"1\"", v)
	}
	members, _ := f.rdb.SMembers(ctx, BucketKey(nmp.Key, "1", "551198765")).Result()
	slices.Sort(members)
	if !slices.Equal(members, []string{"0", "42", "4321"}) {
		t.Errorf("bucket 551198765 = %q, want [0 42 4321]", members)
	}
	if enc := f.rdb.ObjectEncoding(ctx, BucketKey(nmp.Key, "1", "551198765")).Val(); enc != "intset" {
		t.Errorf("bucket encoding = %q, want intset", enc)
	}
	if n := count(); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
	res, err = f.store.Add(ctx, nmp, []string{"5511987650042", "5521900000001"}, AddOptions{})
	if err != nil || !slices.Equal(res.Present, []string{"5511987650042"}) || !slices.Equal(res.Added, []string{"5521900000001"}) {
		t.Fatalf("Add again = %+v, %v", res, err)
	}
	if n := count(); n != 4 {
		t.Errorf("Count = %d, want 4", n)
	}
	rm, err := f.store.Remove(ctx, nmp, []string{"5511987650042", "5599999999999"}, RemoveOptions{By: "ana"})
	if err != nil || !slices.Equal(rm.Removed, []string{"5511987650042"}) || !slices.Equal(rm.Absent, []string{"5599999999999"}) {
		t.Fatalf("Remove = %+v, %v", rm, err)
	}
	if n := count(); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
	for number, blocked := range map[string]bool{"5511987650000": true, "5511987650042": false, "5521900000001": true} {
		e, err := f.store.Lookup(ctx, nmp, number)
		if err != nil || e.Present != blocked {
			t.Errorf("Lookup(%q) = %+v, %v; want present %v", number, e, err, blocked)
		}
		if _, ok, err := f.checker.Check(ctx, number, []List{nmp}); err != nil || ok != blocked {
			t.Errorf("Check(%q) = %v, %v; want %v", number, ok, err, blocked)
		}
	}
	if n := f.rdb.Exists(ctx, MetaKey(nmp.Key), ExpiryKey(nmp.Key)).Val(); n != 0 {
		t.Errorf("a compact list has %d metadata or expiry keys, want none", n)
	}
	recs, err := f.store.Audit(ctx, nmp, time.Time{}, 0)
	if err != nil || len(recs) != 7 {
		t.Fatalf("Audit = %d records, %v; want 7", len(recs), err)
	}
	if r := recs[len(recs)-1]; r.Op != "add" || r.By != "import" || r.Reason != ReasonNaoMePerturbe || r.Source != "anatel" {
		t.Errorf("first audit record = %+v: want the add with its metadata", r)
	}
	if _, err := f.store.Lookup(ctx, nmp, "55900*"); !errors.Is(err, ErrCompactLayout) {
		t.Errorf("Lookup of a prefix entry in a compact list = %v, want ErrCompactLayout", err)
	}
}

// TestAudit checks the audit records of adds, removals and expiries, newest
// first, and the since and limit of Audit.
func TestAudit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "opt-out")
	exp := t0.Add(time.Hour)
	if _, err := f.store.Add(ctx, list, []string{"5511987654321"}, AddOptions{Meta: Meta{
		Reason: ReasonOptOut, Source: "agi", AddedBy: "ivr", Note: "pressed 9", ExpiresAt: exp,
		Channel: "PJSIP/trunk-0000002a", UniqueID: "1700000000.42"}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(time.Minute))
	if _, err := f.store.Add(ctx, list, []string{"5521987654321"}, AddOptions{Meta: Meta{AddedBy: "ana", ExpiresAt: exp}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(2 * time.Minute))
	if _, err := f.store.Remove(ctx, list, []string{"5521987654321"}, RemoveOptions{By: "bia", Reason: "mistake", Source: "api", Note: "ticket 7"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(exp)
	if n, err := f.store.Sweep(ctx, list, 0); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}

	recs, err := f.store.Audit(ctx, list, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []AuditRecord{
		{Op: "expire", Member: "5511987654321", Source: "sweep", At: exp},
		{Op: "remove", Member: "5521987654321", By: "bia", Reason: "mistake", Source: "api", Note: "ticket 7", At: t0.Add(2 * time.Minute)},
		{Op: "add", Member: "5521987654321", By: "ana", At: t0.Add(time.Minute), ExpiresAt: exp},
		{Op: "add", Member: "5511987654321", By: "ivr", Reason: ReasonOptOut, Source: "agi", Note: "pressed 9", At: t0, ExpiresAt: exp,
			Channel: "PJSIP/trunk-0000002a", UniqueID: "1700000000.42"},
	}
	if len(recs) != len(want) {
		t.Fatalf("Audit = %+v; want %d records", recs, len(want))
	}
	for i := range want {
		g, w := recs[i], want[i]
		if !g.At.Equal(w.At) || !g.ExpiresAt.Equal(w.ExpiresAt) {
			t.Errorf("record %d: at %v, expires %v; want %v, %v", i, g.At, g.ExpiresAt, w.At, w.ExpiresAt)
		}
		g.At, g.ExpiresAt, w.At, w.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if g != w {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
	}
	if recs, err := f.store.Audit(ctx, list, time.Time{}, 1); err != nil || len(recs) != 1 || recs[0].Op != "expire" {
		t.Errorf("Audit with limit 1 = %+v, %v", recs, err)
	}
	// since is the time Redis stored the record.
	if recs, err := f.store.Audit(ctx, list, time.Now().Add(time.Hour), 0); err != nil || len(recs) != 0 {
		t.Errorf("Audit since an hour from now = %+v, %v; want none", recs, err)
	}
	if recs, err := f.store.Audit(ctx, list, time.Now().Add(-time.Hour), 0); err != nil || len(recs) != 4 {
		t.Errorf("Audit since an hour ago = %d records, %v; want 4", len(recs), err)
	}
}

// TestEvents listens on the events channel, as a dialer does, while
// entries are added and removed.
func TestEvents(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub := f.rdb.Subscribe(ctx, f.keys.Events())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	list := CampaignList(f.keys, "vendas-sp")
	exp := t0.Add(time.Hour)
	if _, err := f.store.Add(ctx, list, []string{"5511987654321", "55900*"}, AddOptions{
		Meta:   Meta{Reason: ReasonOptOut, AddedBy: "ana", ExpiresAt: exp},
		Queues: []Queue{{Campaign: "vendas-sp", Key: f.keys.Prefix + "q", Type: QueueSet}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Remove(ctx, list, []string{"55900*"}, RemoveOptions{By: "bia", Reason: "mistake"}); err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Op: "add", List: "vendas-sp", Campaign: true, Member: "5511987654321", Reason: ReasonOptOut, By: "ana", At: t0, ExpiresAt: exp},
		{Op: "add", List: "vendas-sp", Campaign: true, Member: "55900*", Reason: ReasonOptOut, By: "ana", At: t0, ExpiresAt: exp},
		{Op: "remove", List: "vendas-sp", Campaign: true, Member: "55900*", Reason: "mistake", By: "bia", At: t0},
	}
	for i, w := range want {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if msg.Channel != f.keys.Events() {
			t.Errorf("event %d on %q, want %q", i, msg.Channel, f.keys.Events())
		}
		var ev Event
		if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, msg.Payload)
		}
		if !ev.At.Equal(w.At) || !ev.ExpiresAt.Equal(w.ExpiresAt) {
			t.Errorf("event %d: at %v, expires %v; want %v, %v", i, ev.At, ev.ExpiresAt, w.At, w.ExpiresAt)
		}
		ev.At, ev.ExpiresAt, w.At, w.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if fmt.Sprint(ev) != fmt.Sprint(w) {
			t.Errorf("event %d = %+v, want %+v", i, ev, w)
		}
	}
}

// TestAddDequeues adds numbers to a list that campaigns use, and checks
// that they leave the campaigns' contacts queues, of each type and in each
// format, and nothing else does.
func TestAddDequeues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "opt-out")
	added := []string{"5511987654321", "5521988887777", "55900*", "2001"}
	kept := []string{"5531977776666", "2002"}
	for _, typ := range []string{QueueList, QueueSet, QueueZSet} {
		for _, format := range []string{FormatCanonical, FormatE164, FormatNational, ""} {
			t.Run(typ+"/"+format, func(t *testing.T) {
				q := Queue{Campaign: "c-" + typ + format, Key: f.keys.Prefix + "queue:" + typ + ":" + format, Type: typ, Format: format, CountryCode: "55"}
				other := Queue{Campaign: "other", Key: q.Key + ":other", Type: QueueSet, Format: FormatE164}
				var queued []string
				for _, n := range append([]string{"5511987654321", "5521988887777", "2001"}, kept...) {
					queued = append(queued, q.Formatted(n))
				}
				queued = append(queued, q.Formatted("55900123")) // a prefix entry removes no number it covers
				wantRemoved := int64(3)                          // 5511987654321, 5521988887777 and 2001
				switch typ {
				case QueueList:
					queued = append(queued, q.Formatted("5511987654321")) // queued twice
					wantRemoved++
					f.rdb.RPush(ctx, q.Key, anys(queued)...)
				case QueueSet:
					f.rdb.SAdd(ctx, q.Key, anys(queued)...)
				case QueueZSet:
					for i, m := range queued {
						f.rdb.ZAdd(ctx, q.Key, redis.Z{Score: float64(i), Member: m})
					}
				}
				f.rdb.SAdd(ctx, other.Key, "+5531977776666", "+5511987654321")

				res, err := f.store.Add(ctx, list, added, AddOptions{Queues: []Queue{q, other}})
				if err != nil {
					t.Fatal(err)
				}
				if res.Dequeued[q.Campaign] != wantRemoved || res.Dequeued["other"] != 1 || len(res.Dequeued) != 2 {
					t.Errorf("Dequeued = %v; want %d for %s and 1 for other", res.Dequeued, wantRemoved, q.Campaign)
				}
				var left []string
				switch typ {
				case QueueList:
					left = f.rdb.LRange(ctx, q.Key, 0, -1).Val()
				case QueueSet:
					left = f.rdb.SMembers(ctx, q.Key).Val()
				case QueueZSet:
					left = f.rdb.ZRange(ctx, q.Key, 0, -1).Val()
				}
				var want []string
				for _, n := range append(slices.Clone(kept), "55900123") {
					want = append(want, q.Formatted(n))
				}
				slices.Sort(left)
				slices.Sort(want)
				if !slices.Equal(left, want) {
					t.Errorf("queue left with %q, want %q", left, want)
				}
				f.rdb.Del(ctx, q.Key, other.Key)
			})
		}
	}
}

// TestAddQueueWrongType checks that a queue that is not what the campaign
// says is an error naming it, after the list was written.
func TestAddQueueWrongType(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	list := SharedList(f.keys, "opt-out")
	q := Queue{Campaign: "vendas", Key: f.keys.Prefix + "queue", Type: QueueZSet}
	f.rdb.RPush(ctx, q.Key, "5511987654321")
	res, err := f.store.Add(ctx, list, []string{"5511987654321"}, AddOptions{Queues: []Queue{q}})
	if err == nil || !strings.Contains(err.Error(), q.Key) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("Add = %v; want WRONGTYPE naming %s", err, q.Key)
	}
	if !slices.Equal(res.Added, []string{"5511987654321"}) {
		t.Errorf("Add = %+v: want the entry added all the same", res)
	}
}
