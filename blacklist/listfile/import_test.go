package listfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// fixture is a test Redis with lists under a key prefix of the test's own.
type fixture struct {
	rdb  *redis.Client
	keys blacklist.Keys
	ctx  context.Context
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	f := &fixture{rdb: rdb, keys: blacklist.Keys{Prefix: redistest.Prefix(t, rdb)}, ctx: context.Background()}
	// Compact lists have thousands of keys: unlink them a page at a time
	// (before the prefix's own cleanup, which deletes them one by one).
	t.Cleanup(func() {
		iter := rdb.Scan(context.Background(), 0, globEscape(f.keys.Prefix)+"*", 1000).Iterator()
		var keys []string
		for iter.Next(context.Background()) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				rdb.Unlink(context.Background(), keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			rdb.Unlink(context.Background(), keys...)
		}
	})
	return f
}

// importInto runs an import of in; compact chooses the layout.
func (f *fixture) importInto(t testing.TB, in string, opt ImportOptions, compact bool) (Summary, error) {
	t.Helper()
	if opt.Keys == (blacklist.Keys{}) {
		opt.Keys = f.keys
	}
	if opt.Grace == 0 {
		opt.Grace = time.Millisecond
	}
	if compact {
		opt.List.Layout = blacklist.LayoutCompact
	}
	return Import(f.ctx, f.rdb, strings.NewReader(in), opt)
}

// members returns the members of a plain set, sorted.
func (f *fixture) members(t testing.TB, key string) []string {
	t.Helper()
	m, err := f.rdb.SMembers(f.ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// compactMembers returns the numbers of the live version of a compact
// list, sorted, and checks its count key.
func (f *fixture) compactMembers(t testing.TB, list string) []string {
	t.Helper()
	ver, err := f.rdb.Get(f.ctx, blacklist.VersionKey(list)).Result()
	if err != nil {
		t.Fatalf("version of %s: %v", list, err)
	}
	var out []string
	iter := f.rdb.Scan(f.ctx, 0, globEscape(blacklist.BucketKey(list, ver, ""))+"*", 1000).Iterator()
	prefix := blacklist.BucketKey(list, ver, "")
	for iter.Next(f.ctx) {
		key := iter.Val()
		bucket := strings.TrimPrefix(key, prefix)
		if bucket == "count" {
			continue
		}
		ms, err := f.rdb.SMembers(f.ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if enc, _ := f.rdb.ObjectEncoding(f.ctx, key).Result(); enc != "intset" {
			t.Errorf("bucket %s is a %s, want an intset", key, enc)
		}
		for _, m := range ms {
			n, _ := strconv.ParseInt(m, 10, 64)
			out = append(out, blacklist.CompactJoin(bucket, n))
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	count, err := f.rdb.Get(f.ctx, blacklist.CompactCountKey(list, ver)).Int()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	if count != len(out) {
		t.Errorf("count key of %s says %d, the buckets hold %d", list, count, len(out))
	}
	slices.Sort(out)
	return out
}

// keysUnder returns every key that starts with prefix, sorted.
func (f *fixture) keysUnder(t testing.TB, prefix string) []string {
	t.Helper()
	var keys []string
	iter := f.rdb.Scan(f.ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	for iter.Next(f.ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func (f *fixture) audit(t testing.TB, list string) []map[string]any {
	t.Helper()
	msgs, err := f.rdb.XRange(f.ctx, blacklist.AuditKey(list), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, m := range msgs {
		delete(m.Values, "at")
		out = append(out, m.Values)
	}
	return out
}

// mobile returns the i-th of a run of São Paulo mobile numbers.
func mobile(i int) string { return fmt.Sprintf("55119%08d", i) }

func TestImportPlainMerge(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "opt-out")
	// Already there: one permanent entry, one expiring entry with metadata.
	f.rdb.SAdd(f.ctx, l.Key, "5511987654321", "5521988887777")
	f.rdb.ZAdd(f.ctx, blacklist.ExpiryKey(l.Key), redis.Z{Score: float64(time.Now().Add(time.Hour).Unix()), Member: "5521988887777"})
	f.rdb.HSet(f.ctx, blacklist.MetaKey(l.Key), "5521988887777", blacklist.MarshalMeta(blacklist.Meta{Reason: "spam"}))

	sub := f.rdb.Subscribe(f.ctx, f.keys.Events())
	defer sub.Close()
	if _, err := sub.Receive(f.ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}

	in := "nome;Telefone;obs\r\n" +
		"Ana;(11) 98765-4321;já estava\r\n" +
		"Bia;021 98888-7777;estava, expirando\r\n" +
		"Caio;+55 31 97777-6666;\r\n" +
		"Caio de novo;31977776666;\r\n" +
		"Duda;(20) 98765-4321;DDD 20 não existe\r\n" +
		"Edu;;vazio\r\n" +
		"Fabi\r\n" +
		"Gil;2001;ramal\r\n" +
		"Hugo;55900*;prefixo\r\n" +
		"Iris;abc;\r\n" +
		"Juca;1111111111111111111111111111111111111111111111111111111111111111111111*;longo\r\n"
	var rejects bytes.Buffer
	var progress []Progress
	sum, err := f.importInto(t, in, ImportOptions{
		List: l, Column: "telefone", Rules: number.DefaultRules(), Name: "optout.csv",
		By: "ana", Reason: "opt-out", Source: "import:optout.csv", Note: "monthly",
		Rejects: &rejects, Progress: func(p Progress) { progress = append(progress, p) },
	}, false)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	want := Summary{Read: 11, Added: 3, Present: 3, Refused: 5}
	sum.Duration = 0
	if fmt.Sprint(sum) != fmt.Sprint(want) {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if got, want := f.members(t, l.Key), []string{"2001", "5511987654321", "5521988887777", "5531977776666", "55900*"}; !slices.Equal(got, want) {
		t.Errorf("members %q, want %q", got, want)
	}
	// The re-imported expiring entry blocks for good now; its metadata stays.
	if n, _ := f.rdb.ZCard(f.ctx, blacklist.ExpiryKey(l.Key)).Result(); n != 0 {
		t.Errorf("the expiry index holds %d entries, want 0", n)
	}
	if n, _ := f.rdb.HLen(f.ctx, blacklist.MetaKey(l.Key)).Result(); n != 1 {
		t.Errorf("the metadata hash holds %d entries, want 1", n)
	}
	wantRejects := "line,input,reason\n" +
		"6,(20) 98765-4321,area code 20 does not exist\n" +
		"7,,no digits\n" +
		"8,,no such column: column 2 (the row has 1)\n" +
		"11,abc,'a' is not a dialable character\n" +
		"12,1111111111111111111111111111111111111111111111111111111111111111111111*,\"entry \"\"1111111111111111111111111111111111111111111111111111111111111111111111*\"\": invalid blacklist entry: longer than 64 digits\"\n"
	if rejects.String() != wantRejects {
		t.Errorf("rejects:\n%s\nwant:\n%s", rejects.String(), wantRejects)
	}
	if len(progress) == 0 || progress[len(progress)-1].Rows != 11 || progress[len(progress)-1].Total != int64(len(in)) {
		t.Errorf("progress calls %+v: want the last to say 11 rows of %d bytes", progress, len(in))
	}
	wantAudit := []map[string]any{{"op": "import-merge", "count": "3", "by": "ana", "reason": "opt-out", "source": "import:optout.csv", "note": "monthly"}}
	if got := f.audit(t, l.Key); fmt.Sprint(got) != fmt.Sprint(wantAudit) {
		t.Errorf("audit %v, want %v", got, wantAudit)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatalf("no event: %v", err)
	}
	var ev blacklist.Event
	if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Op != "import-merge" || ev.List != "opt-out" || ev.By != "ana" || ev.Reason != "opt-out" || ev.Member != "" {
		t.Errorf("event %+v", ev)
	}
}

func TestImportMergeBatches(t *testing.T) {
	f := newFixture(t)
	l := blacklist.CampaignList(f.keys, "promo")
	// Every other number is there already; the file repeats every number.
	var in strings.Builder
	var want []string
	for i := range 5000 {
		if i%2 == 0 {
			f.rdb.SAdd(f.ctx, l.Key, mobile(i))
		}
		fmt.Fprintf(&in, "%s\n%s\n", mobile(i), mobile(i))
		want = append(want, mobile(i))
	}
	sum, err := f.importInto(t, in.String(), ImportOptions{List: l, BatchSize: 7}, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 10000 || sum.Added != 2500 || sum.Present != 7500 || sum.Refused != 0 {
		t.Errorf("summary %+v", sum)
	}
	if got := f.members(t, l.Key); !slices.Equal(got, want) {
		t.Errorf("%d members, want %d", len(got), len(want))
	}
}

func TestImportPlainReplace(t *testing.T) {
	tests := []struct {
		name     string
		existing []string
	}{
		{"over a list", []string{"5511987654321", "5599999999999", "2001"}},
		{"a list that does not exist", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			l := blacklist.SharedList(f.keys, "nao-me-perturbe")
			for _, m := range tt.existing {
				f.rdb.SAdd(f.ctx, l.Key, m)
				f.rdb.HSet(f.ctx, blacklist.MetaKey(l.Key), m, `{"reason":"x"}`)
				f.rdb.ZAdd(f.ctx, blacklist.ExpiryKey(l.Key), redis.Z{Score: 2e9, Member: m})
			}
			in := "5511987654321\n5521988887777\n5521988887777\nlixo\n"
			sum, err := f.importInto(t, in, ImportOptions{List: l, Mode: ModeReplace, By: "bob"}, false)
			if err != nil {
				t.Fatal(err)
			}
			sum.Duration = 0
			if want := (Summary{Read: 4, Added: 2, Duplicates: 1, Refused: 1}); fmt.Sprint(sum) != fmt.Sprint(want) {
				t.Errorf("summary %+v, want %+v", sum, want)
			}
			if got, want := f.members(t, l.Key), []string{"5511987654321", "5521988887777"}; !slices.Equal(got, want) {
				t.Errorf("members %q, want %q", got, want)
			}
			if ttl, _ := f.rdb.PTTL(f.ctx, l.Key).Result(); ttl != -1 {
				t.Errorf("the list has a TTL (%v) after the swap", ttl)
			}
			// Metadata and expiry are gone; no staging or trash key is left.
			if got, want := f.keysUnder(t, l.Key), []string{l.Key, blacklist.AuditKey(l.Key)}; !slices.Equal(got, want) {
				t.Errorf("keys %q, want %q", got, want)
			}
			wantAudit := []map[string]any{{"op": "import-replace", "count": "2", "by": "bob"}}
			if got := f.audit(t, l.Key); fmt.Sprint(got) != fmt.Sprint(wantAudit) {
				t.Errorf("audit %v, want %v", got, wantAudit)
			}
		})
	}
}

func TestImportReplaceWithNothingValid(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) {
			f := newFixture(t)
			l := blacklist.SharedList(f.keys, "spam")
			if compact {
				if _, err := f.importInto(t, "5511987654321\n", ImportOptions{List: l}, true); err != nil {
					t.Fatal(err)
				}
			} else {
				f.rdb.SAdd(f.ctx, l.Key, "5511987654321")
			}
			before := f.keysUnder(t, l.Key)
			sum, err := f.importInto(t, "nome,telefone\nana,x\n", ImportOptions{List: l, Mode: ModeReplace, Column: "2"}, compact)
			if !errors.Is(err, ErrEmptyReplace) {
				t.Fatalf("error %v, want ErrEmptyReplace", err)
			}
			if sum.Read != 1 || sum.Refused != 1 {
				t.Errorf("summary %+v", sum)
			}
			if after := f.keysUnder(t, l.Key); !slices.Equal(after, before) {
				t.Errorf("keys %q after, %q before", after, before)
			}
		})
	}
}

func TestImportGzip(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "spam")
	var in strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&in, "%d;%s\n", i, mobile(i))
	}
	sum, err := f.importInto(t, gz(t, "\xef\xbb\xbfid;phone\n"+in.String()), ImportOptions{List: l, Column: "phone"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 1000 || sum.Added != 1000 {
		t.Errorf("summary %+v", sum)
	}
	if n, _ := f.rdb.SCard(f.ctx, l.Key).Result(); n != 1000 {
		t.Errorf("%d members, want 1000", n)
	}
}

func TestImportFileErrors(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "spam")
	_, err := f.importInto(t, "id,name\n1,x\n", ImportOptions{List: l, Column: "phone", Name: "x.csv"}, false)
	if !errors.Is(err, ErrColumn) || !strings.Contains(err.Error(), "x.csv") {
		t.Errorf("error %v, want ErrColumn naming x.csv", err)
	}
	_, err = f.importInto(t, "1\n", ImportOptions{List: l, Mode: "append"}, false)
	if !errors.Is(err, ErrOption) {
		t.Errorf("error %v, want ErrOption", err)
	}
	// A truncated gzip file: a merge keeps what it sent, a replace nothing.
	var in strings.Builder
	for i := range 50000 {
		fmt.Fprintf(&in, "%s\n", mobile(i))
	}
	z := gz(t, in.String())
	sum, err := f.importInto(t, z[:len(z)/2], ImportOptions{List: l, Mode: ModeReplace}, false)
	var fe *Error
	if !errors.As(err, &fe) || fe.Line == 0 {
		t.Errorf("error %v, want an *Error with a line", err)
	}
	if sum.Read == 0 || sum.Read == 50000 {
		t.Errorf("summary %+v: want some rows read", sum)
	}
	if keys := f.keysUnder(t, l.Key); len(keys) != 0 {
		t.Errorf("a failed replace left %q", keys)
	}
}

func TestImportRejectWriteError(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "spam")
	boom := errors.New("disk full")
	_, err := f.importInto(t, "x\n5511987654321\n", ImportOptions{List: l, Header: ptr(false), Rejects: failingWriter{boom}}, false)
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the reject file's write error", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestImportCompact(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "nao-me-perturbe")
	in := "5511987650042\n(11) 98765-0042\n5511987659999\n5521988880000\n2001\n55900*\nlixo\n"
	var rejects bytes.Buffer
	sum, err := f.importInto(t, in, ImportOptions{List: l, Rejects: &rejects}, true)
	if err != nil {
		t.Fatal(err)
	}
	sum.Duration = 0
	if want := (Summary{Read: 7, Added: 3, Duplicates: 1, Refused: 3}); fmt.Sprint(sum) != fmt.Sprint(want) {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if v, _ := f.rdb.Get(f.ctx, blacklist.VersionKey(l.Key)).Result(); v != "1" {
		t.Errorf("version %q, want 1", v)
	}
	want := []string{"5511987650042", "5511987659999", "5521988880000"}
	if got := f.compactMembers(t, l.Key); !slices.Equal(got, want) {
		t.Errorf("numbers %q, want %q", got, want)
	}
	// The members are the last four digits as integers, under the bucket.
	if ok, _ := f.rdb.SIsMember(f.ctx, blacklist.BucketKey(l.Key, "1", "551198765"), 42).Result(); !ok {
		t.Errorf("42 is not in bucket 551198765")
	}
	wantRejects := "line,input,reason\n" +
		"5,2001,an extension: a compact list holds whole phone numbers only\n" +
		"6,55900*,a prefix entry: a compact list holds whole phone numbers only\n" +
		"7,lixo,'l' is not a dialable character\n"
	if rejects.String() != wantRejects {
		t.Errorf("rejects:\n%s\nwant:\n%s", rejects.String(), wantRejects)
	}

	// Merge again: two present, one new; the count follows.
	sum, err = f.importInto(t, "5511987650042\n5521988880000\n5531977776666\n", ImportOptions{List: l}, true)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 1 || sum.Present != 2 {
		t.Errorf("summary %+v", sum)
	}
	want = []string{"5511987650042", "5511987659999", "5521988880000", "5531977776666"}
	if got := f.compactMembers(t, l.Key); !slices.Equal(got, want) {
		t.Errorf("numbers %q, want %q", got, want)
	}

	// Replace: a new version, the old one unlinked.
	sum, err = f.importInto(t, "5511987650042\n5541999990000\n5541999990000\n", ImportOptions{List: l, Mode: ModeReplace, By: "cli"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 2 || sum.Duplicates != 1 || sum.Present != 0 {
		t.Errorf("summary %+v", sum)
	}
	ver, _ := f.rdb.Get(f.ctx, blacklist.VersionKey(l.Key)).Result()
	if ver == "1" || ver == "" {
		t.Fatalf("version %q after a replace", ver)
	}
	want = []string{"5511987650042", "5541999990000"}
	if got := f.compactMembers(t, l.Key); !slices.Equal(got, want) {
		t.Errorf("numbers %q, want %q", got, want)
	}
	if old := f.keysUnder(t, blacklist.BucketKey(l.Key, "1", "")); len(old) != 0 {
		t.Errorf("the old version is left: %q", old)
	}
	audit := f.audit(t, l.Key)
	if len(audit) != 3 || audit[2]["op"] != "import-replace" || audit[2]["count"] != "2" {
		t.Errorf("audit %v", audit)
	}
}

func TestImportCompactLarge(t *testing.T) {
	// Small chunks, to sort many and see them grow: the buckets here hold
	// about 7 numbers each.
	saved := chunkSizes
	chunkSizes.first, chunkSizes.max = 1000, 8000
	t.Cleanup(func() { chunkSizes = saved })
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "nao-me-perturbe")
	// Numbers in a few thousand buckets, out of order, crossing chunks and
	// the batch size within a bucket.
	var in strings.Builder
	seen := map[string]bool{}
	var want []string
	for i := range 60000 {
		n := fmt.Sprintf("55%d9%04d%04d", 11+i%3, (i*7919)%3000, (i*104729)%10000)
		fmt.Fprintln(&in, n)
		if i%1000 == 0 {
			fmt.Fprintln(&in, n) // a repeat within the chunk
		}
		if !seen[n] {
			seen[n] = true
			want = append(want, n)
		}
	}
	slices.Sort(want)
	sum, err := f.importInto(t, in.String(), ImportOptions{List: l, BatchSize: 100}, true)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != int64(len(want)) || sum.Read != 60060 || sum.Present+sum.Duplicates != sum.Read-sum.Added || sum.Duplicates < 60 {
		t.Errorf("summary %+v, want %d added, and the %d repeats as duplicates or present", sum, len(want), 60060-len(want))
	}
	if got := f.compactMembers(t, l.Key); !slices.Equal(got, want) {
		t.Errorf("%d numbers, want %d", len(got), len(want))
	}
}

// TestImportReplaceUnderCalls replaces a 200,000-number list while calls
// are checked: a number in both lists must be blocked by every check, and
// a number of the new list only must never be blocked while the last
// number of the file is not yet (a partial list).
func TestImportReplaceUnderCalls(t *testing.T) {
	const size = 200000
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) {
			f := newFixture(t)
			l := layout(blacklist.SharedList(f.keys, "nao-me-perturbe"), compact)
			var old, next strings.Builder
			for i := range size {
				fmt.Fprintln(&old, mobile(i))            // 0 .. size-1
				fmt.Fprintln(&next, mobile(i+size-1000)) // size-1000 .. 2*size-1001: 1,000 in common
			}
			if _, err := f.importInto(t, old.String(), ImportOptions{List: l}, compact); err != nil {
				t.Fatal(err)
			}
			common, first, last := mobile(size-500), mobile(size+10), mobile(2*size-1001)

			checker := blacklist.NewChecker(f.rdb)
			lists := []blacklist.List{l}
			done := make(chan struct{})
			var checks, before, after atomic.Int64
			sawNew, failed := make(chan struct{}), make(chan struct{})
			var sawNewOnce, failedOnce sync.Once
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for range 3 {
				wg.Go(func() {
					for {
						select {
						case <-done:
							return
						default:
						}
						_, blocked, err := checker.Check(f.ctx, common, lists)
						if err == nil && !blocked {
							err = fmt.Errorf("%s, in both lists, was allowed", common)
						}
						var firstIn, lastIn bool
						if err == nil {
							_, firstIn, err = checker.Check(f.ctx, first, lists)
						}
						if err == nil {
							_, lastIn, err = checker.Check(f.ctx, last, lists)
						}
						if err == nil && firstIn && !lastIn {
							err = fmt.Errorf("%s was blocked and then %s, later in the file, was not: a partial list", first, last)
						}
						if err != nil {
							errs <- err
							failedOnce.Do(func() { close(failed) })
							return
						}
						checks.Add(1)
						if firstIn {
							after.Add(1)
							sawNewOnce.Do(func() { close(sawNew) })
						} else {
							before.Add(1)
						}
					}
				})
			}
			sum, err := f.importInto(t, next.String(), ImportOptions{List: l, Mode: ModeReplace}, compact)
			// Keep checking until a check has seen the new list (or failed).
			if err == nil {
				select {
				case <-sawNew:
				case <-failed:
				case <-time.After(10 * time.Second):
					t.Errorf("no check saw the new list within 10 s")
				}
			}
			close(done)
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum.Added != size {
				t.Errorf("summary %+v", sum)
			}
			t.Logf("%d checks during the replace: %d saw the old list, %d the new one", checks.Load(), before.Load(), after.Load())
			if before.Load() == 0 {
				t.Errorf("no check saw the old list: the test proves nothing")
			}
		})
	}
}

func TestImportDequeue(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "opt-out")
	p := f.keys.Prefix
	queues := []blacklist.Queue{
		{Campaign: "a", Key: p + "dialer:a", Type: blacklist.QueueList, Format: blacklist.FormatNational, CountryCode: "55"},
		{Campaign: "b", Key: p + "dialer:b", Type: blacklist.QueueSet, Format: blacklist.FormatCanonical},
		{Campaign: "c", Key: p + "dialer:c", Type: blacklist.QueueZSet, Format: blacklist.FormatE164},
	}
	f.rdb.RPush(f.ctx, queues[0].Key, "11987654321", "21988887777", "11987654321", "31977776666")
	f.rdb.SAdd(f.ctx, queues[1].Key, "5511987654321", "5531977776666")
	f.rdb.ZAdd(f.ctx, queues[2].Key, redis.Z{Member: "+5511987654321"}, redis.Z{Member: "+5541999990000"})

	in := "5511987654321\n5521988887777\n"
	for _, compact := range []bool{false, true} {
		l := l
		if compact {
			l = blacklist.SharedList(f.keys, "nmp")
		}
		sum, err := f.importInto(t, in, ImportOptions{List: l, Queues: queues}, compact)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"a": 3, "b": 1, "c": 1}
		if compact {
			want = map[string]int64{"a": 0, "b": 0, "c": 0} // removed by the first import
		}
		if fmt.Sprint(sum.Dequeued) != fmt.Sprint(want) {
			t.Errorf("compact=%v: dequeued %v, want %v", compact, sum.Dequeued, want)
		}
	}
	if got, _ := f.rdb.LRange(f.ctx, queues[0].Key, 0, -1).Result(); !slices.Equal(got, []string{"31977776666"}) {
		t.Errorf("queue a holds %q", got)
	}
	if got := f.members(t, queues[1].Key); !slices.Equal(got, []string{"5531977776666"}) {
		t.Errorf("queue b holds %q", got)
	}
	if got, _ := f.rdb.ZRange(f.ctx, queues[2].Key, 0, -1).Result(); !slices.Equal(got, []string{"+5541999990000"}) {
		t.Errorf("queue c holds %q", got)
	}
}

func TestImportCanceled(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "spam")
	var in strings.Builder
	for i := range 100000 {
		fmt.Fprintln(&in, mobile(i))
	}
	ctx, cancel := context.WithCancel(f.ctx)
	f.ctx = ctx
	opt := ImportOptions{List: l, Mode: ModeReplace, Progress: func(Progress) { cancel() }}
	_, err := f.importInto(t, in.String(), opt, false)
	f.ctx = context.Background()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if keys := f.keysUnder(t, l.Key); len(keys) != 0 {
		t.Errorf("a canceled replace left %q", keys)
	}
}

// TestImportReplaceAfterSwap makes what follows the swap fail (the audit
// stream is a string): the list is replaced all the same, and the error
// says so.
func TestImportReplaceAfterSwap(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) {
			f := newFixture(t)
			l := layout(blacklist.SharedList(f.keys, "spam"), compact)
			if _, err := f.importInto(t, "5511987654321\n", ImportOptions{List: l}, compact); err != nil {
				t.Fatal(err)
			}
			f.rdb.Del(f.ctx, blacklist.AuditKey(l.Key))
			f.rdb.Set(f.ctx, blacklist.AuditKey(l.Key), "not a stream", 0)
			_, err := f.importInto(t, "5521988887777\n", ImportOptions{List: l, Mode: ModeReplace}, compact)
			if err == nil || !strings.Contains(err.Error(), "the list is replaced, but") {
				t.Fatalf("error %v, want one saying the list is replaced", err)
			}
			var got []string
			if compact {
				got = f.compactMembers(t, l.Key)
			} else {
				got = f.members(t, l.Key)
			}
			if !slices.Equal(got, []string{"5521988887777"}) {
				t.Errorf("members %q after the replace", got)
			}
			for _, k := range f.keysUnder(t, l.Key) {
				if strings.Contains(k, ":staging:") || strings.Contains(k, ":v1:") {
					t.Errorf("key %s left behind", k)
				}
			}
		})
	}
}
