package callstats_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// base is a recent whole hour: EXPIREAT must not land in the past.
var base = time.Now().UTC().Truncate(time.Hour).Add(-6 * time.Hour)

type fixture struct {
	rdb   *redis.Client
	keys  blacklist.Keys
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	return &fixture{rdb: rdb, keys: blacklist.Keys{Prefix: redistest.Prefix(t, rdb)}, clock: &clock{t: base}}
}

func (f *fixture) recorder(instance string, queue int) *callstats.Recorder {
	return callstats.NewRecorder(f.rdb, callstats.Options{
		Keys: f.keys, Instance: instance, Queue: queue, Now: f.clock.Now,
		Logger: slog.New(slog.DiscardHandler),
	})
}

func (f *fixture) stats(t *testing.T, campaigns []string, since, until time.Time) []callstats.CampaignStats {
	t.Helper()
	got, err := callstats.Stats(context.Background(), f.rdb, f.keys, campaigns, since, until)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return got
}

func flush(t *testing.T, recs ...*callstats.Recorder) {
	t.Helper()
	for _, r := range recs {
		if err := r.Flush(context.Background()); err != nil {
			t.Fatalf("Flush: %v", err)
		}
	}
}

// call is one emulated check.
type call struct {
	campaign, dialed string
	status           guard.Status
	list, reason     string
	block            bool // for ERROR: on_error blocked
}

func (c call) observation(i int) guard.Observation {
	v := guard.Verdict{Status: c.status, Campaign: c.campaign, Dialed: c.dialed, Block: c.block}
	switch c.status {
	case guard.StatusBlocked:
		v.Block = true
		v.Number = number.Number{Canonical: "55" + c.dialed}
		v.List, v.Entry, v.Reason = c.list, "55"+c.dialed, c.reason
	case guard.StatusAllowed:
		v.Number = number.Number{Canonical: "55" + c.dialed}
	case guard.StatusError:
		v.Err = errors.New("redis check: i/o timeout")
	}
	return guard.Observation{Verdict: v, UniqueID: fmt.Sprintf("1700000000.%d", i), Channel: fmt.Sprintf("PJSIP/trunk-%08x", i)}
}

// mix is a known mix of calls and what it must count.
var mix = []call{
	{campaign: "promo", dialed: "11911110001", status: guard.StatusAllowed},
	{campaign: "promo", dialed: "11911110002", status: guard.StatusBlocked, list: "promo", reason: "opt-out"},
	{campaign: "promo", dialed: "11911110003", status: guard.StatusBlocked, list: "nao-me-perturbe", reason: "nao-me-perturbe"},
	{campaign: "promo", dialed: "11911110004", status: guard.StatusBlocked, list: "nao-me-perturbe", reason: "nao-me-perturbe"},
	{campaign: "promo", dialed: "11911110005", status: guard.StatusError, block: true},
	{campaign: "promo", dialed: "11911110006", status: guard.StatusError},
	{campaign: "promo", dialed: "11911110007", status: guard.StatusAllowed},
	{campaign: "cobranca", dialed: "21911110001", status: guard.StatusAllowed},
	{campaign: "cobranca", dialed: "21911110002", status: guard.StatusBlocked, list: "opt-out", reason: "opt-out"},
	{campaign: "", dialed: "31911110001", status: guard.StatusBlocked, list: "opt-out"},
	{campaign: "{bad}", dialed: "31911110002", status: guard.StatusAllowed},
}

var mixStats = []callstats.CampaignStats{
	{Campaign: "-", Counts: callstats.Counts{Checked: 2, Allowed: 1, Blocked: 1}, Lists: map[string]int64{"opt-out": 1}},
	{Campaign: "cobranca", Counts: callstats.Counts{Checked: 2, Allowed: 1, Blocked: 1}, Lists: map[string]int64{"opt-out": 1}},
	{Campaign: "promo", Counts: callstats.Counts{Checked: 7, Allowed: 2, Blocked: 3, Errors: 2}, Lists: map[string]int64{"promo": 1, "nao-me-perturbe": 2}},
}

// observe sends the calls round-robin to the recorders, one second apart
// from the clock's time, and returns the time of the last block of each
// campaign.
func (f *fixture) observe(calls []call, recs ...*callstats.Recorder) map[string]time.Time {
	last := map[string]time.Time{}
	start := f.clock.Now()
	for i, c := range calls {
		at := start.Add(time.Duration(i) * time.Second)
		f.clock.Set(at)
		recs[i%len(recs)].ObserveCheck(c.observation(i))
		if c.status == guard.StatusBlocked {
			last[callstats.FoldCampaign(c.campaign)] = at
		}
	}
	return last
}

func withLastBlock(want []callstats.CampaignStats, last map[string]time.Time) []callstats.CampaignStats {
	out := make([]callstats.CampaignStats, len(want))
	for i, s := range want {
		s.LastBlock = last[s.Campaign]
		out[i] = s
	}
	return out
}

func TestCountsExact(t *testing.T) {
	for _, instances := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d instances", instances), func(t *testing.T) {
			f := newFixture(t)
			var recs []*callstats.Recorder
			for i := range instances {
				recs = append(recs, f.recorder(fmt.Sprintf("agi-%d", i+1), 0))
			}
			last := f.observe(mix, recs...)
			flush(t, recs...)
			got := f.stats(t, nil, base, base.Add(time.Hour))
			want := withLastBlock(mixStats, last)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Stats =\n%+v\nwant\n%+v", got, want)
			}
			// The same mix again doubles every counter.
			f.clock.Set(base.Add(10 * time.Minute))
			last = f.observe(mix, recs...)
			flush(t, recs...)
			got = f.stats(t, []string{"promo"}, base, base.Add(time.Hour))
			promo := withLastBlock(mixStats[2:], last)[0]
			promo.Checked, promo.Allowed, promo.Blocked, promo.Errors = 14, 4, 6, 4
			promo.Lists = map[string]int64{"promo": 2, "nao-me-perturbe": 4}
			if len(got) != 1 || !reflect.DeepEqual(got[0], promo) {
				t.Errorf("Stats(promo) after two mixes = %+v, want %+v", got, promo)
			}
			for _, r := range recs {
				if r.Dropped() != 0 || r.WriteErrors() != 0 {
					t.Errorf("Dropped %d, WriteErrors %d, want 0", r.Dropped(), r.WriteErrors())
				}
			}
		})
	}
}

func TestKeysAndExpiry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.recorder("", 0)
	f.observe(mix[:3], r)
	flush(t, r)
	hourKey := callstats.HourKey(f.keys, "promo", base)
	if want := f.keys.Prefix + "stats:{promo}:" + base.Format("2006010215"); hourKey != want {
		t.Fatalf("HourKey = %q, want %q", hourKey, want)
	}
	fields := f.rdb.HGetAll(ctx, hourKey).Val()
	wantFields := map[string]string{"checked": "3", "allowed": "1", "blocked": "2", "blocked:promo": "1", "blocked:nao-me-perturbe": "1"}
	if !reflect.DeepEqual(fields, wantFields) {
		t.Errorf("HGETALL %s = %v, want %v", hourKey, fields, wantFields)
	}
	exp := f.rdb.ExpireTime(ctx, hourKey).Val()
	if want := base.Add(time.Hour + callstats.DefaultRetention).Unix(); int64(exp/time.Second) != want {
		t.Errorf("EXPIRETIME %s = %d, want %d (end of the hour + retention)", hourKey, exp/time.Second, want)
	}
	summary := f.rdb.HGetAll(ctx, callstats.CampaignKey(f.keys, "promo")).Val()
	if summary["last_block"] != fmt.Sprint(base.Add(2*time.Second).UnixMilli()) || summary["last_check"] == "" {
		t.Errorf("summary hash = %v, want last_block %d and last_check", summary, base.Add(2*time.Second).UnixMilli())
	}
	if ttl := f.rdb.TTL(ctx, callstats.CampaignKey(f.keys, "promo")).Val(); ttl <= 0 || ttl > callstats.DefaultRetention {
		t.Errorf("summary hash TTL %v, want up to %v", ttl, callstats.DefaultRetention)
	}
	if ml := f.rdb.XInfoStream(ctx, callstats.BlockedKey(f.keys)).Val().Length; ml != 2 {
		t.Errorf("stream length %d, want 2", ml)
	}
}

func TestStreamEntries(t *testing.T) {
	f := newFixture(t)
	r1, r2 := f.recorder("agi-1", 0), f.recorder("agi-2", 0)
	f.observe(mix, r1, r2)
	flush(t, r1, r2)
	msgs := f.rdb.XRange(context.Background(), callstats.BlockedKey(f.keys), "-", "+").Val()
	var want []map[string]any
	for i, c := range mix {
		if !(c.status == guard.StatusBlocked || c.block) {
			continue
		}
		e := map[string]any{
			"time":     base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano),
			"campaign": callstats.FoldCampaign(c.campaign),
			"dialed":   c.dialed,
			"uniqueid": fmt.Sprintf("1700000000.%d", i),
			"channel":  fmt.Sprintf("PJSIP/trunk-%08x", i),
			"instance": fmt.Sprintf("agi-%d", i%2+1),
			"status":   "BLOCKED",
		}
		if c.status == guard.StatusBlocked {
			e["number"], e["entry"], e["list"] = "55"+c.dialed, "55"+c.dialed, c.list
			if c.reason != "" {
				e["reason"] = c.reason
			}
		} else {
			e["status"], e["reason"] = "ERROR", "redis check: i/o timeout"
		}
		want = append(want, e)
	}
	if len(msgs) != len(want) {
		t.Fatalf("stream holds %d entries, want %d (one per blocked call)", len(msgs), len(want))
	}
	// Two writers: the order of the stream is the order of their flushes.
	byUniqueID := map[any]map[string]any{}
	for _, m := range msgs {
		byUniqueID[m.Values["uniqueid"]] = m.Values
	}
	for _, e := range want {
		if got := byUniqueID[e["uniqueid"]]; !reflect.DeepEqual(got, e) {
			t.Errorf("entry of %s =\n%v\nwant\n%v", e["uniqueid"], got, e)
		}
	}
}

func TestStatsWindows(t *testing.T) {
	f := newFixture(t)
	r := f.recorder("", 0)
	// Hour h holds h+1 allowed calls and one block by list "l<h>".
	for h := range 4 {
		f.clock.Set(base.Add(time.Duration(h)*time.Hour + 30*time.Minute))
		calls := []call{{campaign: "promo", dialed: "11900000000", status: guard.StatusBlocked, list: fmt.Sprintf("l%d", h)}}
		for range h + 1 {
			calls = append(calls, call{campaign: "promo", dialed: "11911111111", status: guard.StatusAllowed})
		}
		f.observe(calls, r)
	}
	flush(t, r)
	lastBlock := base.Add(3*time.Hour + 30*time.Minute)
	for _, tc := range []struct {
		name         string
		since, until time.Duration // from base
		hours        []int
	}{
		{"every hour", 0, 4 * time.Hour, []int{0, 1, 2, 3}},
		{"one hour", time.Hour, time.Hour + 59*time.Minute, []int{1}},
		{"whole hours around a window", time.Hour + 45*time.Minute, 2*time.Hour + 5*time.Minute, []int{1, 2}},
		{"the last two", 2 * time.Hour, 10 * time.Hour, []int{2, 3}},
		{"before any", -5 * time.Hour, -time.Hour, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := callstats.CampaignStats{Campaign: "promo", Lists: map[string]int64{}}
			want.LastBlock = lastBlock
			for _, h := range tc.hours {
				want.Checked += int64(h + 2)
				want.Allowed += int64(h + 1)
				want.Blocked++
				want.Lists[fmt.Sprintf("l%d", h)] = 1
			}
			got := f.stats(t, []string{"promo"}, base.Add(tc.since), base.Add(tc.until))
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Errorf("Stats = %+v, want %+v", got, want)
			}
			all := f.stats(t, []string{}, base.Add(tc.since), base.Add(tc.until))
			if len(tc.hours) == 0 && len(all) != 0 || len(tc.hours) > 0 && (len(all) != 1 || !reflect.DeepEqual(all[0], want)) {
				t.Errorf("Stats(every campaign) = %+v, want only %+v when it has checks", all, want)
			}
		})
	}
}

func TestStatsRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		campaigns    []string
		since, until time.Time
		want         error
	}{
		{"no since", nil, time.Time{}, base, callstats.ErrInvalidWindow},
		{"since after until", nil, base.Add(time.Hour), base, callstats.ErrInvalidWindow},
		{"too long", nil, base.Add(-callstats.MaxWindow - time.Hour), base, callstats.ErrInvalidWindow},
		{"hostile campaign", []string{"a*"}, base, base, blacklist.ErrInvalidName},
		{"empty campaign", []string{""}, base, base, blacklist.ErrInvalidName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := callstats.Stats(ctx, f.rdb, f.keys, tc.campaigns, tc.since, tc.until); !errors.Is(err, tc.want) {
				t.Errorf("Stats = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHostileCampaignsFold(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.recorder("", 0)
	hostile := []string{"", "-", "*", "a b", "{x}", "x}:y", "../etc", "a\r\nb", "ação", strings.Repeat("a", 65), "-leading", "promo\x00"}
	var calls []call
	for _, c := range hostile {
		calls = append(calls, call{campaign: c, dialed: "11911112222", status: guard.StatusBlocked, list: "opt-out"})
	}
	f.observe(calls, r)
	flush(t, r)
	got := f.stats(t, nil, base, base.Add(time.Hour))
	if len(got) != 1 || got[0].Campaign != callstats.NoCampaign || got[0].Blocked != int64(len(hostile)) {
		t.Fatalf("Stats = %+v, want every call under %q", got, callstats.NoCampaign)
	}
	want := map[string]bool{
		callstats.HourKey(f.keys, "-", base): true,
		callstats.CampaignKey(f.keys, "-"):   true,
		callstats.BlockedKey(f.keys):         true,
	}
	keys := f.rdb.Keys(ctx, f.keys.Prefix+"*").Val() // a test's own prefix: a handful of keys
	if len(keys) != len(want) {
		t.Errorf("keys %q, want only %d", keys, len(want))
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("unexpected key %q", k)
		}
	}
}

func TestQueueOverflowDrops(t *testing.T) {
	f := newFixture(t)
	r := f.recorder("", 3)
	done := make(chan struct{})
	go func() { // no writer runs: the queue fills, and ObserveCheck must not block
		defer close(done)
		f.observe(mix, r)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ObserveCheck blocked on a full queue")
	}
	if d := r.Dropped(); d != uint64(len(mix)-3) {
		t.Errorf("Dropped = %d, want %d", d, len(mix)-3)
	}
	flush(t, r)
	got := f.stats(t, []string{"promo"}, base, base)
	if got[0].Checked != 3 {
		t.Errorf("checked %d after overflow, want the 3 queued", got[0].Checked)
	}
}

func TestRunWritesAndStops(t *testing.T) {
	f := newFixture(t)
	r := f.recorder("", 0)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		r.Run(ctx)
		close(stopped)
	}()
	// While Run writes, concurrent observers and Flushes.
	const workers, each = 4, 700
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.ObserveCheck(call{campaign: "promo", dialed: "11911112222", status: guard.StatusBlocked, list: "promo"}.observation(w*each + i))
				if i%250 == 0 {
					if err := r.Flush(context.Background()); err != nil {
						t.Errorf("Flush: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	// Run writes without a Flush: wait for it through Redis.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := f.stats(t, []string{"promo"}, base, base)
		if got[0].Checked == workers*each {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run wrote %d of %d observations within 10s", got[0].Checked, workers*each)
		}
	}
	// Observations queued when ctx ends are written before Run returns.
	r.ObserveCheck(call{campaign: "cobranca", status: guard.StatusAllowed}.observation(0))
	cancel()
	<-stopped
	if got := f.stats(t, []string{"cobranca"}, base, base); got[0].Checked != 1 {
		t.Errorf("after Run returned: checked %d, want 1 (flushed on stop)", got[0].Checked)
	}
	if n := f.rdb.XLen(context.Background(), callstats.BlockedKey(f.keys)).Val(); n != workers*each {
		t.Errorf("stream holds %d entries, want %d", n, workers*each)
	}
	if r.Dropped() != 0 || r.WriteErrors() != 0 {
		t.Errorf("Dropped %d, WriteErrors %d, want 0", r.Dropped(), r.WriteErrors())
	}
}

func TestWriteErrorsAreCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	defer rdb.Close()
	var logs bytes.Buffer
	var mu sync.Mutex
	r := callstats.NewRecorder(rdb, callstats.Options{Logger: slog.New(slog.NewTextHandler(&lockedWriter{&mu, &logs}, nil))})
	for i := range 2 * 512 {
		r.ObserveCheck(call{campaign: "promo", status: guard.StatusAllowed}.observation(i))
	}
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("Flush to a closed port succeeded")
	}
	if n := r.WriteErrors(); n != 2 {
		t.Errorf("WriteErrors = %d, want 2 (two batches of 512)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "writing call statistics to Redis failed"); n != 1 {
		t.Errorf("logged %d times, want once (rate-limited):\n%s", n, logs.String())
	}
	// Nothing is retried: the queue is empty.
	if err := r.Flush(context.Background()); err != nil {
		t.Errorf("second Flush = %v, want nil (nothing queued)", err)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestBlockedPagingAndFilters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.recorder("agi-1", 0)
	// 30 blocks in the last 30 seconds, one a second: campaign c<i%3>,
	// list l<i%2>. The log's IDs are Redis's clock when it was written:
	// the calls' times must be recent for the windows to find them.
	start := time.Now().Add(-30 * time.Second).Truncate(time.Millisecond)
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
	for i := range 30 {
		f.clock.Set(at(i))
		r.ObserveCheck(call{campaign: fmt.Sprintf("c%d", i%3), dialed: fmt.Sprintf("119000000%02d", i), status: guard.StatusBlocked, list: fmt.Sprintf("l%d", i%2)}.observation(i))
	}
	flush(t, r)

	// pages reads every page of q and returns the indexes of the calls seen.
	pages := func(t *testing.T, q callstats.Query) (seen []int, n int) {
		t.Helper()
		for {
			got, next, err := callstats.Blocked(ctx, f.rdb, f.keys, q)
			if err != nil {
				t.Fatalf("Blocked(%+v): %v", q, err)
			}
			n++
			for _, c := range got {
				var i int
				fmt.Sscanf(c.Dialed, "119000000%02d", &i)
				if !c.At.Equal(at(i)) || c.Campaign != fmt.Sprintf("c%d", i%3) || c.List != fmt.Sprintf("l%d", i%2) ||
					c.Instance != "agi-1" || c.Status != callstats.StatusBlocked || c.Number != "55"+c.Dialed || c.ID == "" {
					t.Errorf("call %d = %+v", i, c)
				}
				seen = append(seen, i)
			}
			if next == "" {
				return seen, n
			}
			if n > 100 {
				t.Fatal("paging never ends")
			}
			q.Before = next
		}
	}
	desc := func(keep func(int) bool) []int {
		var out []int
		for i := 29; i >= 0; i-- {
			if keep(i) {
				out = append(out, i)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		q     callstats.Query
		want  []int
		pages int
	}{
		{"all, default count", callstats.Query{}, desc(func(int) bool { return true }), 2},
		{"pages of 7", callstats.Query{Count: 7}, desc(func(int) bool { return true }), 5},
		{"exact pages end without an empty one", callstats.Query{Count: 10}, desc(func(int) bool { return true }), 3},
		{"campaign", callstats.Query{Campaign: "c1", Count: 4}, desc(func(i int) bool { return i%3 == 1 }), 3},
		{"list", callstats.Query{List: "l0"}, desc(func(i int) bool { return i%2 == 0 }), 1},
		{"campaign and list", callstats.Query{Campaign: "c0", List: "l1"}, desc(func(i int) bool { return i%3 == 0 && i%2 == 1 }), 1},
		{"window", callstats.Query{From: at(5), To: at(12), Count: 3}, desc(func(i int) bool { return i >= 5 && i <= 12 }), 3},
		{"from", callstats.Query{From: at(25)}, desc(func(i int) bool { return i >= 25 }), 1},
		{"to", callstats.Query{To: at(2)}, desc(func(i int) bool { return i <= 2 }), 1},
		{"nothing", callstats.Query{Campaign: "c9"}, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen, n := pages(t, tc.q)
			if !reflect.DeepEqual(seen, tc.want) {
				t.Errorf("calls %v, want %v (newest first, each once)", seen, tc.want)
			}
			if n > tc.pages {
				t.Errorf("%d pages, want at most %d", n, tc.pages)
			}
		})
	}

	for _, tc := range []struct {
		name string
		q    callstats.Query
		want error
	}{
		{"bad cursor", callstats.Query{Before: "abc"}, callstats.ErrInvalidCursor},
		{"incomplete cursor", callstats.Query{Before: "1700000000000"}, callstats.ErrInvalidCursor},
		{"exclusive cursor", callstats.Query{Before: "(1-0"}, callstats.ErrInvalidCursor},
		{"from after to", callstats.Query{From: at(3), To: at(1)}, callstats.ErrInvalidWindow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := callstats.Blocked(ctx, f.rdb, f.keys, tc.q); !errors.Is(err, tc.want) {
				t.Errorf("Blocked = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBlockedEmptyLog(t *testing.T) {
	f := newFixture(t)
	calls, next, err := callstats.Blocked(context.Background(), f.rdb, f.keys, callstats.Query{})
	if err != nil || len(calls) != 0 || next != "" {
		t.Errorf("Blocked on no log = %v, %q, %v; want nothing", calls, next, err)
	}
}

func TestFoldCampaign(t *testing.T) {
	for in, want := range map[string]string{
		"promo": "promo", "Promo_2.b-c": "Promo_2.b-c", "": "-", "-": "-", "a b": "-", "{x}": "-",
		strings.Repeat("a", 64): strings.Repeat("a", 64), strings.Repeat("a", 65): "-",
	} {
		if got := callstats.FoldCampaign(in); got != want {
			t.Errorf("FoldCampaign(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzValidCursor(f *testing.F) {
	for _, s := range []string{"1700000000000-0", "0-0", "18446744073709551615-18446744073709551615", "18446744073709551616-0", "1-", "-1", "(1-0", "1-0-0", "+", "", " 1-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, seq, ok := strings.Cut(s, "-")
		var a, b uint64
		want := ok && len(ms) > 0 && len(seq) > 0 && !strings.ContainsAny(ms+seq, "+ \t\n") &&
			scanUint(ms, &a) && scanUint(seq, &b)
		if got := callstats.ValidCursor(s); got != want {
			t.Errorf("ValidCursor(%q) = %v, want %v", s, got, want)
		}
	})
}

// scanUint is a reference: s is decimal digits only and fits a uint64.
func scanUint(s string, v *uint64) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || !n.IsUint64() {
		return false
	}
	*v = n.Uint64()
	return true
}

// BenchmarkObserveCheck is the cost a blocked call pays on its session
// goroutine, with a writer draining the queue.
func BenchmarkObserveCheck(b *testing.B) {
	rdb := redistest.Client(b)
	r := callstats.NewRecorder(rdb, callstats.Options{Keys: blacklist.Keys{Prefix: redistest.Prefix(b, rdb)}, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	o := call{campaign: "promo", dialed: "11911112222", status: guard.StatusBlocked, list: "promo", reason: "opt-out"}.observation(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.ObserveCheck(o)
		}
	})
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(r.Dropped()), "dropped")
}

// BenchmarkFlush is the writer's throughput: observations per second it
// takes to Redis (a mix of campaigns, a quarter blocked).
func BenchmarkFlush(b *testing.B) {
	rdb := redistest.Client(b)
	r := callstats.NewRecorder(rdb, callstats.Options{Keys: blacklist.Keys{Prefix: redistest.Prefix(b, rdb)}, Queue: 4096, Logger: slog.New(slog.DiscardHandler)})
	var obs []guard.Observation
	for i := range 64 {
		c := call{campaign: fmt.Sprintf("c%d", i%8), dialed: "11911112222", status: guard.StatusAllowed}
		if i%4 == 0 {
			c.status, c.list = guard.StatusBlocked, "opt-out"
		}
		obs = append(obs, c.observation(i))
	}
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		r.ObserveCheck(obs[i%len(obs)])
		if i%4096 == 4095 {
			if err := r.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := r.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}
