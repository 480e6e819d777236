package guard_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/redis/go-redis/v9"
)

// mux routes the guard's endpoints as the server does.
func (f *fixture) mux() *agi.ServeMux {
	mux := agi.NewServeMux()
	mux.Handle("blacklist", f.guard)
	mux.HandleFunc("optout", f.guard.ServeOptOut)
	mux.HandleFunc("spam", f.guard.ServeSpam)
	mux.HandleFunc("report", f.guard.ServeReport)
	return mux
}

// run places one emulated call to url through the mux.
func (f *fixture) run(url string, call agitest.Call) agitest.Result {
	f.t.Helper()
	client, server := net.Pipe()
	srv := &agi.Server{Handler: f.mux()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.ServeConn(ctx, server) }()
	call.URL = url
	res, err := agitest.RunConn(ctx, client, call)
	if err != nil {
		f.t.Fatalf("emulated call %s: %v", url, err)
	}
	<-done
	return res
}

func (f *fixture) status(campaign, number string) string {
	f.t.Helper()
	return f.call("agi://127.0.0.1/blacklist?campaign="+campaign, number).Vars[guard.VarStatus]
}

func TestOptOutBlocksTheNextCall(t *testing.T) {
	f := newFixture(t)
	f.cfg.Lists["opt-out"] = config.SharedList{Reason: "opt-out"}
	promo := f.campaign("promo")
	promo.ContactsKey, promo.ContactsType, promo.ContactsFormat = f.keys.Prefix+"queue", config.ContactsList, config.FormatCanonical
	company := f.campaign("company")
	company.OptOut.List = "opt-out"
	company.Lists = append(company.Lists, "opt-out")
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": promo, "company": company})
	ctx := context.Background()
	f.rdb.RPush(ctx, promo.ContactsKey, "5511987654321", "5511912345678")

	if got := f.status("promo", "5511987654321"); got != "ALLOWED" {
		t.Fatalf("before the opt-out: %s", got)
	}
	res := f.run("agi://127.0.0.1/optout?campaign=promo&number=(11)%2098765-4321&reason=consent-revoked", agitest.Call{Extension: "s"})
	if res.Vars[guard.VarStatus] != "ADDED" || res.Vars[guard.VarList] != "promo" || res.Vars[guard.VarDequeued] != "1" {
		t.Fatalf("optout: vars %v", res.Vars)
	}
	if got := f.status("promo", "5511987654321"); got != "BLOCKED" {
		t.Fatalf("after the opt-out: %s", got)
	}
	if n := f.rdb.LLen(ctx, promo.ContactsKey).Val(); n != 1 {
		t.Errorf("dialer queue holds %d contacts, want 1", n)
	}
	store := blacklist.NewStore(f.rdb, f.keys)
	e, err := store.Lookup(ctx, blacklist.CampaignList(f.keys, "promo"), "5511987654321")
	if err != nil || e.Meta.Reason != "consent-revoked" || e.Meta.UniqueID == "" || e.Meta.Channel == "" {
		t.Errorf("entry metadata: %+v, %v", e, err)
	}
	// Idempotent: the same opt-out again changes nothing.
	size := f.rdb.SCard(ctx, f.keys.Campaign("promo")).Val()
	res = f.run("agi://127.0.0.1/optout?campaign=promo&number=5511987654321", agitest.Call{})
	if res.Vars[guard.VarStatus] != "ADDED" || f.rdb.SCard(ctx, f.keys.Campaign("promo")).Val() != size {
		t.Errorf("second opt-out: vars %v, size %d -> %d", res.Vars, size, f.rdb.SCard(ctx, f.keys.Campaign("promo")).Val())
	}
	// A company-wide opt-out list, number from agi_extension.
	res = f.run("agi://127.0.0.1/optout?campaign=company", agitest.Call{Extension: "5521988887777"})
	if res.Vars[guard.VarStatus] != "ADDED" || res.Vars[guard.VarList] != "opt-out" {
		t.Fatalf("company optout: vars %v", res.Vars)
	}
	if got := f.status("company", "5521988887777"); got != "BLOCKED" {
		t.Errorf("after the company opt-out: %s", got)
	}
	// Garbage is an ERROR, and nothing is added.
	res = f.run("agi://127.0.0.1/optout?campaign=promo&number=abc", agitest.Call{})
	if res.Vars[guard.VarStatus] != "ERROR" || res.Vars[guard.VarError] != "INVALID_NUMBER" {
		t.Errorf("bad number: vars %v", res.Vars)
	}
	res = f.run("agi://127.0.0.1/optout?campaign=promo&number=5511987654321&reason=a%20b", agitest.Call{})
	if res.Vars[guard.VarStatus] != "ERROR" {
		t.Errorf("bad reason: vars %v", res.Vars)
	}
}

func TestSpamMark(t *testing.T) {
	f := newFixture(t)
	c := f.campaign("promo", "spam")
	c.Spam.List = "spam"
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": c})
	res := f.run("agi://127.0.0.1/spam?campaign=promo&number=5511955554444", agitest.Call{})
	if res.Vars[guard.VarStatus] != "ADDED" || res.Vars[guard.VarList] != "spam" {
		t.Fatalf("spam: vars %v", res.Vars)
	}
	v := f.guard.Check(context.Background(), "promo", "5511955554444")
	if v.Status != guard.StatusBlocked || v.Reason != "spam" {
		t.Errorf("after the spam mark: %+v", v)
	}
}

// report places the hangup handler's report of one call.
func (f *fixture) report(campaign, number, status string, cause int, uniqueid string) map[string]string {
	f.t.Helper()
	url := fmt.Sprintf("agi://127.0.0.1/report?campaign=%s&number=%s&status=%s&cause=%d", campaign, number, status, cause)
	return f.run(url, agitest.Call{UniqueID: uniqueid}).Vars
}

func TestReportNoAnswer(t *testing.T) {
	f := newFixture(t)
	f.cfg.Lists["no-answer"] = config.SharedList{Reason: "no-answer"}
	c := f.campaign("promo", "no-answer")
	c.NoAnswer = config.NoAnswerRule{Enabled: true, Attempts: 3, Window: time.Hour, Statuses: []string{"NOANSWER", "BUSY"}, List: "no-answer", TTL: time.Hour}
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": c})
	const n = "5511987654321"

	if v := f.report("promo", n, "NOANSWER", 19, "call-1"); v[guard.VarReport] != "COUNTED" || v[guard.VarAttempts] != "1" {
		t.Fatalf("first no-answer: %v", v)
	}
	// The same call reported twice counts once.
	if v := f.report("promo", n, "NOANSWER", 19, "call-1"); v[guard.VarAttempts] != "1" {
		t.Fatalf("the same call again: %v", v)
	}
	// An answered call resets the count.
	if v := f.report("promo", n, "ANSWER", 16, "call-2"); v[guard.VarReport] != "RESET" {
		t.Fatalf("answer: %v", v)
	}
	for i, want := range []string{"COUNTED", "COUNTED", "ADDED"} {
		v := f.report("promo", n, "BUSY", 17, fmt.Sprintf("call-%d", 3+i))
		if v[guard.VarReport] != want {
			t.Fatalf("attempt %d after the reset: %v, want %s", i+1, v, want)
		}
	}
	if got := f.status("promo", n); got != "BLOCKED" {
		t.Fatalf("after 3 unanswered attempts: %s", got)
	}
	// The block expires with the rule's ttl: move it into the past.
	key := f.keys.Shared("no-answer")
	e, _ := blacklist.NewStore(f.rdb, f.keys).Lookup(context.Background(), blacklist.SharedList(f.keys, "no-answer"), n)
	if e.Meta.Reason != "no-answer" || e.Meta.ExpiresAt.IsZero() {
		t.Errorf("no-answer entry: %+v", e)
	}
	f.rdb.ZAdd(context.Background(), blacklist.ExpiryKey(key), expiredAt(time.Now().Add(-time.Second), n))
	if got := f.status("promo", n); got != "ALLOWED" {
		t.Errorf("after the expiry: %s", got)
	}
	// The counter was reset with the addition, and lives no longer than the window.
	if ttl := f.rdb.PTTL(context.Background(), f.keys.Attempts("promo", n)).Val(); ttl > time.Hour {
		t.Errorf("counter TTL %v, longer than the window", ttl)
	}
}

func TestReportConcurrentCountsExactly(t *testing.T) {
	f := newFixture(t)
	c := f.campaign("promo")
	c.NoAnswer = config.NoAnswerRule{Enabled: true, Attempts: 1000, Window: time.Hour, Statuses: []string{"NOANSWER"}, TTL: time.Hour}
	// The test Redis is shared with other packages' bulk imports: a budget
	// that a loaded machine cannot miss, since this test counts, not times.
	c.Timeout = 15 * time.Second
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": c})
	const calls = 50
	var wg sync.WaitGroup
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.report("promo", "5511987654321", "NOANSWER", 19, fmt.Sprintf("c%d", i))
		}()
	}
	wg.Wait()
	if n := f.rdb.ZCard(context.Background(), f.keys.Attempts("promo", "5511987654321")).Val(); n != calls {
		t.Errorf("counter holds %d attempts after %d concurrent reports", n, calls)
	}
}

func TestReportInvalidAndBadInput(t *testing.T) {
	f := newFixture(t)
	c := f.campaign("promo", "spam")
	c.Invalid = config.InvalidRule{Enabled: true, Causes: []int{1}, List: "spam", TTL: 24 * time.Hour}
	c.NoAnswer = config.NoAnswerRule{Enabled: true, Attempts: 3, Window: time.Hour, Statuses: []string{"NOANSWER"}, TTL: time.Hour}
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": c})
	if v := f.report("promo", "5511911112222", "CHANUNAVAIL", 1, "x1"); v[guard.VarReport] != "ADDED" || v[guard.VarList] != "spam" {
		t.Fatalf("unallocated number: %v", v)
	}
	if got := f.status("promo", "5511911112222"); got != "BLOCKED" {
		t.Errorf("after cause 1: %s", got)
	}
	before := f.keyCount()
	for _, url := range []string{
		"agi://127.0.0.1/report?campaign=promo&number=5511987654321&status=",
		"agi://127.0.0.1/report?campaign=promo&number=5511987654321&status=MAYBE",
		"agi://127.0.0.1/report?campaign=promo&number=5511987654321&status=NOANSWER&cause=x",
		"agi://127.0.0.1/report?campaign=promo&number=abc&status=NOANSWER",
		"agi://127.0.0.1/report?campaign=promo&number=5511987654321&status=CANCEL",
	} {
		if v := f.run(url, agitest.Call{}).Vars; v[guard.VarReport] != "IGNORED" {
			t.Errorf("%s: %v, want IGNORED", url, v)
		}
	}
	if after := f.keyCount(); after != before {
		t.Errorf("ignored reports changed Redis: %d keys -> %d", before, after)
	}
}

func expiredAt(at time.Time, member string) redis.Z {
	return redis.Z{Score: float64(at.Unix()), Member: member}
}

// keyCount counts the keys under the fixture's prefix.
func (f *fixture) keyCount() int {
	ctx := context.Background()
	n := 0
	iter := f.rdb.Scan(ctx, 0, f.keys.Prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if err := iter.Err(); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestOptOutRefusedByTheListIsAnInvalidNumber(t *testing.T) {
	f := newFixture(t)
	f.cfg.Lists["national"] = config.SharedList{Reason: "nao-me-perturbe", Layout: config.LayoutCompact}
	c := f.campaign("promo")
	c.OptOut.List = "national"
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": c})
	// An extension cannot go into a compact list.
	res := f.run("agi://127.0.0.1/optout?campaign=promo&number=2001", agitest.Call{})
	if res.Vars[guard.VarStatus] != "ERROR" || res.Vars[guard.VarError] != "INVALID_NUMBER" {
		t.Errorf("extension into a compact list: vars %v", res.Vars)

	}
}
