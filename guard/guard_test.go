package guard_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// fixture is a guard over the test Redis with a key prefix of its own.
type fixture struct {
	t     *testing.T
	rdb   *redis.Client
	cfg   *config.Config
	keys  blacklist.Keys
	guard *guard.Guard
}

func newFixture(t *testing.T, campaigns ...*config.Campaign) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeyPrefix = redistest.Prefix(t, rdb)
	// The test Redis is shared with other packages' bulk imports: verdicts
	// must not turn into timeouts on a loaded machine. Tests of the budget
	// set their own.
	cfg.Defaults.Timeout = 10 * time.Second
	cfg.Lists = map[string]config.SharedList{
		"nao-me-perturbe": {Reason: "nao-me-perturbe", AllCampaigns: true},
		"spam":            {Reason: "spam"},
	}
	f := &fixture{t: t, rdb: rdb, cfg: cfg, keys: blacklist.Keys{Prefix: cfg.KeyPrefix}}
	f.guard = guard.New(cfg, blacklist.NewChecker(rdb), blacklist.NewStore(rdb, blacklist.Keys{Prefix: cfg.KeyPrefix}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	set := map[string]*config.Campaign{}
	for _, c := range campaigns {
		set[c.ID] = c
	}
	f.guard.SetCampaigns(set)
	return f
}

// campaign returns a campaign resolved like a file that sets only id and lists.
func (f *fixture) campaign(id string, lists ...string) *config.Campaign {
	c := f.cfg.DefaultCampaign(id)
	c.Lists = append(lists, "nao-me-perturbe")
	return c
}

func (f *fixture) sadd(key string, members ...any) {
	f.t.Helper()
	if err := f.rdb.SAdd(context.Background(), key, members...).Err(); err != nil {
		f.t.Fatal(err)
	}
}

// call runs one emulated Asterisk call through the guard over net.Pipe.
func (f *fixture) call(url, exten string) agitest.Result {
	f.t.Helper()
	client, server := net.Pipe()
	srv := &agi.Server{Handler: f.guard}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.ServeConn(ctx, server) }()
	res, err := agitest.RunConn(ctx, client, agitest.Call{URL: url, Extension: exten})
	if err != nil {
		f.t.Fatalf("emulated call %s to %s: %v", url, exten, err)
	}
	<-done
	return res
}

func TestVerdicts(t *testing.T) {
	f := newFixture(t)
	promo := f.campaign("promo", "spam")
	promo.HangupCause = 21
	cont := f.campaign("soft")
	cont.Action = config.ActionContinue
	jump := f.campaign("jump")
	jump.Action, jump.Goto = config.ActionGoto, "blacklist-blocked,s,1"
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": promo, "soft": cont, "jump": jump})

	f.sadd(f.keys.Campaign("promo"), "5511987654321", "2001")
	f.sadd(f.keys.Shared("spam"), "55900*")
	f.sadd(f.keys.Shared("nao-me-perturbe"), "5521988887777")

	const base = "agi://127.0.0.1:4573/blacklist?campaign="
	tests := []struct {
		name, url, exten            string
		status, list, match, reason string
		cause                       int
		hungUp                      bool
		gotoTarget                  string
	}{
		{name: "campaign list, formatted", url: base + "promo", exten: "(11) 98765-4321", status: "BLOCKED", list: "promo", match: "5511987654321", cause: 21, hungUp: true},
		{name: "extension verbatim", url: base + "promo", exten: "2001", status: "BLOCKED", list: "promo", match: "2001", cause: 21, hungUp: true},
		{name: "shared prefix", url: base + "promo", exten: "+55 900 123 4567", status: "BLOCKED", list: "spam", match: "55900*", reason: "spam", cause: 21, hungUp: true},
		{name: "all-campaigns list", url: base + "promo", exten: "021988887777", status: "BLOCKED", list: "nao-me-perturbe", match: "5521988887777", reason: "nao-me-perturbe", cause: 21, hungUp: true},
		{name: "allowed", url: base + "promo", exten: "5511912345678", status: "ALLOWED"},
		{name: "number in the query wins", url: base + "promo&number=5511987654321", exten: "5511912345678", status: "BLOCKED", list: "promo", match: "5511987654321", cause: 21, hungUp: true},
		{name: "continue only sets variables", url: base + "soft", exten: "5521988887777", status: "BLOCKED", list: "nao-me-perturbe", match: "5521988887777", reason: "nao-me-perturbe"},
		{name: "goto", url: base + "jump", exten: "5521988887777", status: "BLOCKED", list: "nao-me-perturbe", match: "5521988887777", reason: "nao-me-perturbe", gotoTarget: "blacklist-blocked,s,1"},
		{name: "unknown campaign still gets all-campaigns lists", url: base + "nosuch", exten: "5521988887777", status: "BLOCKED", list: "nao-me-perturbe", match: "5521988887777", reason: "nao-me-perturbe", cause: 21, hungUp: true},
		{name: "missing campaign", url: "agi://127.0.0.1/blacklist", exten: "5521988887777", status: "BLOCKED", list: "nao-me-perturbe", cause: 21, hungUp: true, match: "5521988887777", reason: "nao-me-perturbe"},
		{name: "unknown campaign does not see promo's list", url: base + "other", exten: "5511987654321", status: "ALLOWED"},
		{name: "hostile campaign id", url: base + "promo%7D%20x", exten: "5511987654321", status: "ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.call(tt.url, tt.exten)
			if got := res.Vars[guard.VarStatus]; got != tt.status {
				t.Fatalf("%s = %q, want %q (commands %q)", guard.VarStatus, got, tt.status, res.Commands)
			}
			want := map[string]string{guard.VarList: tt.list, guard.VarMatch: tt.match, guard.VarReason: tt.reason}
			for name, w := range want {
				if got := res.Vars[name]; got != w {
					t.Errorf("%s = %q, want %q", name, got, w)
				}
			}
			if res.HungUp != tt.hungUp || res.HangupCause != tt.cause && tt.hungUp {
				t.Errorf("hung up %v cause %d, want %v cause %d", res.HungUp, res.HangupCause, tt.hungUp, tt.cause)
			}
			if res.Goto != tt.gotoTarget {
				t.Errorf("goto %q, want %q", res.Goto, tt.gotoTarget)
			}
			if !res.ServerClosed {
				t.Errorf("server did not close the connection")
			}
		})
	}
}

func TestListEditsCountOnTheNextCall(t *testing.T) {
	f := newFixture(t)
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": f.campaign("promo")})
	url := "agi://127.0.0.1/blacklist?campaign=promo"
	if got := f.call(url, "5511987654321").Vars[guard.VarStatus]; got != "ALLOWED" {
		t.Fatalf("before SADD: %s", got)
	}
	f.sadd(f.keys.Campaign("promo"), "5511987654321")
	if got := f.call(url, "5511987654321").Vars[guard.VarStatus]; got != "BLOCKED" {
		t.Fatalf("after SADD: %s", got)
	}
	f.rdb.SRem(context.Background(), f.keys.Campaign("promo"), "5511987654321")
	if got := f.call(url, "5511987654321").Vars[guard.VarStatus]; got != "ALLOWED" {
		t.Fatalf("after SREM: %s", got)
	}
}

func TestInvalidNumberFollowsOnError(t *testing.T) {
	f := newFixture(t)
	closed := f.campaign("closed")
	open := f.campaign("open")
	open.OnError = config.OnErrorAllow
	f.guard.SetCampaigns(map[string]*config.Campaign{"closed": closed, "open": open})

	res := f.call("agi://127.0.0.1/blacklist?campaign=closed", "55abc")
	if res.Vars[guard.VarStatus] != "ERROR" || res.Vars[guard.VarError] != "INVALID_NUMBER" ||
		res.Vars[guard.VarOnError] != "block" || !res.HungUp {
		t.Errorf("on_error block: vars %v hung up %v", res.Vars, res.HungUp)
	}
	res = f.call("agi://127.0.0.1/blacklist?campaign=open", "55abc")
	if res.Vars[guard.VarStatus] != "ERROR" || res.Vars[guard.VarOnError] != "allow" || res.HungUp {
		t.Errorf("on_error allow: vars %v hung up %v", res.Vars, res.HungUp)
	}
}

func TestRedisDownFollowsOnError(t *testing.T) {
	f := newFixture(t)
	// A client to a port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dead := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	defer dead.Close()
	g := guard.New(f.cfg, blacklist.NewChecker(dead), blacklist.NewStore(dead, f.keys), slog.New(slog.NewTextHandler(io.Discard, nil)))
	c := f.campaign("promo")
	c.Timeout = 200 * time.Millisecond
	g.SetCampaigns(map[string]*config.Campaign{"promo": c})
	v := g.Check(context.Background(), "promo", "5511987654321")
	if v.Status != guard.StatusError || !v.Block || v.Err == nil {
		t.Fatalf("verdict %+v, want ERROR that blocks", v)
	}
	if !strings.Contains(v.Err.Error(), "5511987654321") {
		t.Errorf("error %q does not name the number", v.Err)
	}
}

func TestEntryReasonAndExpiry(t *testing.T) {
	f := newFixture(t)
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": f.campaign("promo", "spam")})
	store := blacklist.NewStore(f.rdb, f.keys)
	ctx := context.Background()
	if _, err := store.Add(ctx, blacklist.CampaignList(f.keys, "promo"), []string{"5511987654321"},
		blacklist.AddOptions{Meta: blacklist.Meta{Reason: "consent-revoked"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Add(ctx, blacklist.SharedList(f.keys, "spam"), []string{"5511955554444"},
		blacklist.AddOptions{Meta: blacklist.Meta{ExpiresAt: time.Now().Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	url := "agi://127.0.0.1/blacklist?campaign=promo"
	res := f.call(url, "5511987654321")
	if res.Vars[guard.VarStatus] != "BLOCKED" || res.Vars[guard.VarReason] != "consent-revoked" {
		t.Errorf("entry with a reason: vars %v", res.Vars)
	}
	res = f.call(url, "5511955554444")
	if res.Vars[guard.VarStatus] != "BLOCKED" || res.Vars[guard.VarReason] != "spam" {
		t.Errorf("entry that has not expired, no reason of its own: vars %v", res.Vars)
	}
	// The expiry passes (moved into the past): the entry stops blocking
	// before any sweeper runs.
	f.rdb.ZAdd(ctx, blacklist.ExpiryKey(f.keys.Shared("spam")), redis.Z{Score: float64(time.Now().Add(-time.Second).Unix()), Member: "5511955554444"})
	if got := f.call(url, "5511955554444").Vars[guard.VarStatus]; got != "ALLOWED" {
		t.Errorf("expired entry: %s", got)
	}
}

// observations collects what an Observer is given.
type observations chan guard.Observation

func (o observations) ObserveCheck(ob guard.Observation) { o <- ob }

func TestObserverSeesEachCheckAfterTheVerdict(t *testing.T) {
	f := newFixture(t)
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": f.campaign("promo")})
	f.sadd(f.keys.Campaign("promo"), "5511987654321")
	seen := make(observations, 2)
	f.guard.SetObservers(seen)
	res := f.call("agi://127.0.0.1/blacklist?campaign=promo", "5511987654321")
	if !res.HungUp {
		t.Fatalf("call not hung up: %+v", res)
	}
	ob := <-seen
	if ob.Verdict.Status != guard.StatusBlocked || ob.Verdict.List != "promo" || !ob.Known || ob.UniqueID == "" || ob.Took <= 0 {
		t.Errorf("observation %+v", ob)
	}
	f.call("agi://127.0.0.1/blacklist?campaign=other", "5511912345678")
	if ob := <-seen; ob.Verdict.Status != guard.StatusAllowed || ob.Known || ob.Verdict.Campaign != "other" {
		t.Errorf("observation of an unknown campaign's call %+v", ob)
	}
}
