package blacklist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// numbers returns n canonical numbers that start with prefix.
func numbers(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%0*d", prefix, 13-len(prefix), i*10007) // about one per bucket
	}
	return out
}

// scanAll pages through a list with Scan and returns what it saw, sorted
// and without the duplicates that SCAN allows, and the number of pages.
func scanAll(t *testing.T, s *Store, l List, match string, count int64) ([]string, int) {
	t.Helper()
	var all []string
	cursor, pages := "", 0
	for {
		page, next, err := s.Scan(context.Background(), l, cursor, match, count)
		if err != nil {
			t.Fatalf("Scan(%s, %q): %v", l.Key, cursor, err)
		}
		all = append(all, page...)
		pages++
		if next == "" {
			break
		}
		if pages > 10000 {
			t.Fatal("Scan never ends")
		}
		cursor = next
	}
	slices.Sort(all)
	return slices.Compact(all), pages
}

func TestScan(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	plain := SharedList(f.keys, "spam")
	compact := SharedListLayout(f.keys, "nao-me-perturbe", LayoutCompact)
	a, b := numbers("5511", 1500), numbers("5521", 1500)
	all := append(slices.Clone(a), b...)
	slices.Sort(all)
	f.add(t, plain, anys(all)...)
	f.seedCompact(t, compact, "3", all...)
	all = append(all, "55900*") // also makes the set a hash table, which SSCAN pages (an intset comes whole)
	f.add(t, plain, "55900*")
	f.add(t, SharedList(f.keys, "other"), "5511000000000") // another list: never seen

	for _, l := range []List{plain, compact} {
		all := all
		if l.Compact() {
			all = all[:len(all)-1]
		}
		t.Run(l.Name, func(t *testing.T) {
			got, pages := scanAll(t, f.store, l, "", 100)
			if !slices.Equal(got, all) {
				t.Errorf("Scan saw %d entries, want %d", len(got), len(all))
			}
			if pages < 2 {
				t.Errorf("Scan took %d pages: the test wants several", pages)
			}
			if got, _ := scanAll(t, f.store, l, "5521*", 100); !slices.Equal(got, b) {
				t.Errorf("Scan MATCH 5521* saw %d entries, want %d", len(got), len(b))
			}
			var each []string
			if err := f.store.Each(ctx, l, "", func(e string) error { each = append(each, e); return nil }); err != nil {
				t.Fatal(err)
			}
			slices.Sort(each)
			if !slices.Equal(slices.Compact(each), all) {
				t.Errorf("Each saw %d entries, want %d", len(each), len(all))
			}
			stop := errors.New("stop")
			calls := 0
			if err := f.store.Each(ctx, l, "", func(string) error { calls++; return stop }); err != stop || calls != 1 {
				t.Errorf("Each with a failing fn = %v after %d calls; want its error after 1", err, calls)
			}
			if _, _, err := f.store.Scan(ctx, l, "x", "", 10); !errors.Is(err, ErrInvalidCursor) {
				t.Errorf("Scan with a bad cursor = %v, want ErrInvalidCursor", err)
			}
		})
	}

	t.Run("compact replaced between pages", func(t *testing.T) {
		_, next, err := f.store.Scan(ctx, compact, "", "", 10)
		if err != nil || next == "" {
			t.Fatalf("first page: next %q, %v", next, err)
		}
		f.seedCompact(t, compact, "4", "5599999999999")
		if _, _, err := f.store.Scan(ctx, compact, next, "", 10); !errors.Is(err, ErrListReplaced) {
			t.Errorf("Scan after a replacement = %v, want ErrListReplaced", err)
		}
	})

	t.Run("empty", func(t *testing.T) {
		for _, l := range []List{SharedList(f.keys, "none"), SharedListLayout(f.keys, "none", LayoutCompact)} {
			if page, next, err := f.store.Scan(ctx, l, "", "", 10); err != nil || len(page) != 0 || next != "" {
				t.Errorf("Scan of %s (%s) = %q, %q, %v", l.Key, l.Layout, page, next, err)
			}
		}
	})
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	plain := SharedList(f.keys, "spam")
	compact := SharedListLayout(f.keys, "nao-me-perturbe", LayoutCompact)
	entries := []string{"5511987654321", "5511987650042", "5511987699999", "5511987600000", "5511988000000", "5521987654321", "551198765432100"}
	f.add(t, plain, anys(entries)...)
	f.add(t, plain, "55119876*", "5511987[*", "2001")
	if _, err := f.store.Add(ctx, plain, []string{"5511987654329"}, AddOptions{Meta: Meta{Reason: ReasonSpam, ExpiresAt: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	f.seedCompact(t, compact, "1", entries...)
	for i := range 3000 { // buckets enough for several SCAN pages
		f.seedCompact(t, compact, "1", fmt.Sprintf("553%010d", i*10000))
	}

	tests := []struct {
		list  List
		query string
		limit int
		want  []string
	}{
		{plain, "5511987654321", 0, []string{"5511987654321"}},
		{plain, "5511987654320", 0, nil},
		{plain, "55119876*", 0, []string{"55119876*", "5511987600000", "5511987650042", "5511987654321", "551198765432100", "5511987654329", "5511987699999"}},
		{plain, "55119876*", 3, nil}, // any 3 of them
		{plain, "2001", 0, []string{"2001"}},
		{plain, "5599*", 0, nil},
		{compact, "5511987654321", 0, []string{"5511987654321"}},
		{compact, "2001", 0, nil},
		{compact, "55119876*", 0, []string{"5511987600000", "5511987650042", "5511987654321", "551198765432100", "5511987699999"}},
		{compact, "55119876543*", 0, []string{"5511987654321", "551198765432100"}},   // buckets shorter than the prefix too
		{compact, "5511987654321*", 0, []string{"5511987654321", "551198765432100"}}, // the number itself, and longer ones
		{compact, "552*", 0, []string{"5521987654321"}},
		{compact, "553*", 5000, nil}, // 3000 numbers
	}
	for _, tt := range tests {
		got, err := f.store.Search(ctx, tt.list, tt.query, tt.limit)
		if err != nil {
			t.Errorf("Search(%s, %q): %v", tt.list.Layout, tt.query, err)
			continue
		}
		var members []string
		for _, e := range got {
			if !e.Present {
				t.Errorf("Search(%s, %q): %+v not present", tt.list.Layout, tt.query, e)
			}
			members = append(members, e.Member)
		}
		switch {
		case tt.limit == 3:
			if len(members) != 3 || !slices.IsSorted(members) {
				t.Errorf("Search(%s, %q, limit 3) = %q", tt.list.Layout, tt.query, members)
			}
		case tt.query == "553*":
			if len(members) != 3000 || !slices.IsSorted(members) {
				t.Errorf("Search(%s, %q) = %d numbers, want 3000 sorted", tt.list.Layout, tt.query, len(members))
			}
		case !slices.Equal(members, tt.want):
			t.Errorf("Search(%s, %q) = %q, want %q", tt.list.Layout, tt.query, members, tt.want)
		}
	}

	got, err := f.store.Search(ctx, plain, "5511987654329", 0)
	if err != nil || len(got) != 1 || got[0].Meta.Reason != ReasonSpam || !got[0].Meta.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("Search with metadata = %+v, %v", got, err)
	}
	f.clock.Set(t0.Add(time.Hour))
	if got, err := f.store.Search(ctx, plain, "551198765432*", 0); err != nil || len(got) != 3 || got[0].Expired || got[1].Expired || !got[2].Expired {
		t.Errorf("Search after the expiry = %+v, %v; want 5511987654329 expired", got, err)
	}
	for _, q := range []string{"5511987[*", "*", "55?*", ""} {
		if _, err := f.store.Search(ctx, plain, q, 0); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("Search(%q) = %v, want ErrInvalidEntry", q, err)
		}
	}
}

// TestListsAndStat checks the inventory of lists: the declared ones in
// their order, then those found in Redis, with sizes and last changes; no
// companion key taken for a list.
func TestListsAndStat(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	optOut := SharedList(f.keys, "opt-out")
	nmp := SharedListLayout(f.keys, "nao-me-perturbe", LayoutCompact)
	missing := SharedList(f.keys, "no-answer")
	declared := []List{optOut, nmp, missing}

	if _, err := f.store.Add(ctx, optOut, []string{"5511987654321", "5521987654321"}, AddOptions{Meta: Meta{AddedBy: "ana", ExpiresAt: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(time.Minute))
	if _, err := f.store.Remove(ctx, optOut, []string{"5521987654321"}, RemoveOptions{By: "bia"}); err != nil {
		t.Fatal(err)
	}
	f.seedCompact(t, nmp, "9", "5511987654321", "5511987654322", "5511900000000")
	if _, err := f.store.Add(ctx, nmp, []string{"5531987654321"}, AddOptions{Meta: Meta{AddedBy: "import"}}); err != nil {
		t.Fatal(err)
	}
	promo := CampaignList(f.keys, "promo")
	spam := SharedList(f.keys, "spam")
	other := SharedListLayout(f.keys, "national", LayoutCompact)
	f.add(t, promo, "2001")
	f.add(t, spam, "55900*", "55901*")
	f.seedCompact(t, other, "1", "12125550100")
	// Keys that are no lists: a staging set, an odd name, a key of another
	// prefix, companions of lists that do not exist.
	f.rdb.SAdd(ctx, StagingKey(spam.Key, "x"), "1")
	f.rdb.SAdd(ctx, f.keys.Prefix+"list:{a b}", "1")
	f.rdb.SAdd(ctx, "elsewhere:list:{spam}", "1")
	f.rdb.HSet(ctx, MetaKey(SharedList(f.keys, "ghost").Key), "1", "{}")

	infos, err := f.store.Lists(ctx, declared)
	if err != nil {
		t.Fatal(err)
	}
	want := []ListInfo{
		{List: optOut, Size: 1, Exists: true, LastChange: t0.Add(time.Minute), LastChangeBy: "bia", LastOp: "remove"},
		{List: nmp, Size: 4, Exists: true, LastChange: t0.Add(time.Minute), LastChangeBy: "import", LastOp: "add"},
		{List: missing},
		{List: promo, Size: 1, Exists: true},
		{List: other, Size: 1, Exists: true},
		{List: spam, Size: 2, Exists: true},
	}
	if len(infos) != len(want) {
		t.Fatalf("Lists = %+v; want %d lists", infos, len(want))
	}
	for i, w := range want {
		g := infos[i]
		if !g.LastChange.Equal(w.LastChange) {
			t.Errorf("list %d (%s): last change %v, want %v", i, g.Key, g.LastChange, w.LastChange)
		}
		g.LastChange, w.LastChange = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("list %d = %+v, want %+v", i, g, w)
		}
	}

	info, err := f.store.Stat(ctx, nmp)
	if err != nil || info.Size != 4 || !info.Exists {
		t.Errorf("Stat(%s) = %+v, %v", nmp.Key, info, err)
	}
	for _, l := range []List{optOut, nmp, missing, spam} {
		n, err := f.store.Count(ctx, l)
		if i := slices.IndexFunc(infos, func(in ListInfo) bool { return in.Key == l.Key }); err != nil || n != infos[i].Size {
			t.Errorf("Count(%s) = %d, %v; want %d", l.Key, n, err, infos[i].Size)
		}
	}
}

// TestListsManyKeys checks that Lists pages through a key space larger
// than one SCAN page.
func TestListsManyKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var want []string
	pipe := f.rdb.Pipeline()
	for i := range 2500 {
		name := fmt.Sprintf("c%04d", i)
		pipe.SAdd(ctx, f.keys.Campaign(name), "1")
		pipe.HSet(ctx, MetaKey(f.keys.Campaign(name)), "1", "{}")
		want = append(want, name)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	infos, err := f.store.Lists(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range infos {
		if !in.Campaign || in.Size != 1 || !strings.HasPrefix(in.Key, f.keys.Prefix) {
			t.Fatalf("list %+v", in)
		}
		got = append(got, in.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Lists found %d campaign lists, want %d", len(got), len(want))
	}
}

// onceBeforePipeline runs fn before the first pipeline that holds a
// command named cmd, as if another client acted at that moment.
type onceBeforePipeline struct {
	cmd  string
	once sync.Once
	fn   func()
}

func (h *onceBeforePipeline) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *onceBeforePipeline) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *onceBeforePipeline) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() == h.cmd {
				h.once.Do(h.fn)
				break
			}
		}
		return next(ctx, cmds)
	}
}

// TestCompactReadsFollowReplacement replaces a compact list (new version,
// old one unlinked) between the moment a read learns the version and the
// moment it reads the buckets: the read notices, and reads the new one.
func TestCompactReadsFollowReplacement(t *testing.T) {
	for _, read := range []struct {
		name string
		cmd  string
		do   func(f *fixture, l List) (any, error)
		want any
	}{
		{"Lookup", "sismember", func(f *fixture, l List) (any, error) {
			e, err := f.store.Lookup(context.Background(), l, "5521987654321")
			return e.Present, err
		}, true},
		{"Count", "get", func(f *fixture, l List) (any, error) { return f.store.Count(context.Background(), l) }, int64(2)},
		{"Check", "sismember", func(f *fixture, l List) (any, error) {
			_, ok, err := f.checker.Check(context.Background(), "5521987654321", []List{l})
			return ok, err
		}, true},
	} {
		t.Run(read.name, func(t *testing.T) {
			f := newFixture(t)
			l := SharedListLayout(f.keys, "nmp", LayoutCompact)
			f.seedCompact(t, l, "1", "5511987654321")
			if err := f.checker.RefreshVersions(context.Background(), []List{l}); err != nil {
				t.Fatal(err)
			}
			other := redistest.Client(t)
			f.rdb.AddHook(&onceBeforePipeline{cmd: read.cmd, fn: func() {
				ctx := context.Background()
				other.SAdd(ctx, BucketKey(l.Key, "2", "552198765"), 4321)
				other.SAdd(ctx, BucketKey(l.Key, "2", "553198765"), 4321)
				other.Set(ctx, CompactCountKey(l.Key, "2"), 2, 0)
				other.Set(ctx, VersionKey(l.Key), "2", 0)
				other.Unlink(ctx, BucketKey(l.Key, "1", "551198765"), CompactCountKey(l.Key, "1"))
			}})
			got, err := read.do(f, l)
			if err != nil || got != read.want {
				t.Errorf("%s across a replacement = %v, %v; want %v", read.name, got, err, read.want)
			}
		})
	}
}
