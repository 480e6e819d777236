package guard_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// hostileValues are campaign ids and numbers that try to reach another key,
// list or AGI command: separators, quotes, line breaks, NUL, glob
// characters, hash-tag braces and a very long value. Each holds "zq", a
// marker no real key holds, so that a key built from one can be found.
var hostileValues = []string{
	"zq promo", `zq"promo`, "zq'promo", "zq\npromo", "zq\rpromo", "zq\r\nSET VARIABLE BLACKLIST_STATUS ALLOWED",
	"zq\x00promo", "zq*", "*zq", "zq?", "zq[a-z]", `zq\*`, "zq{promo}", "zq}:promo", "{zq}", "zq:promo",
	"promo:zq", "zq/../promo", "zq%00", "zq\tpromo", "zq$[1+1]${EXTEN}", strings.Repeat("zq", 2000),
}

// tcpGuard serves f's endpoints on a real TCP listener and returns its
// agi:// base URL.
func (f *fixture) tcpGuard() string {
	f.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	srv := &agi.Server{Handler: f.mux(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			f.t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return "agi://" + ln.Addr().String() + "/"
}

// keySpace returns every key under the fixture's prefix with its value's
// digest (DUMP), so that a change to any of them shows.
func (f *fixture) keySpace() map[string]string {
	f.t.Helper()
	return redistest.Dump(f.t, f.rdb, blacklist.GlobEscape(f.keys.Prefix)+"*")
}

// markedKeys returns the keys of the whole database that hold the hostile
// values' marker: none may, whatever the prefix.
func (f *fixture) markedKeys() []string {
	f.t.Helper()
	return redistest.Keys(f.t, f.rdb, "*zq*")
}

// checkOneLineCommands fails the test when the server sent anything but
// whole, known AGI commands: a line break from the input would show as a
// command Asterisk does not know, or as a usage reply.
func checkOneLineCommands(t *testing.T, what string, res agitest.Result) {
	t.Helper()
	for _, v := range res.Violations {
		t.Errorf("%s: protocol violation: %s", what, v)
	}
	for _, c := range res.Commands {
		args := agitest.ParseArgs(c)
		if len(args) < 2 || !slices.Contains([]string{"SET VARIABLE", "EXEC Hangup", "EXEC Goto"}, args[0]+" "+args[1]) {
			t.Errorf("%s: unexpected command line %q", what, c)
		}
		if strings.ContainsAny(c, "\r\x00") {
			t.Errorf("%s: command line %q holds a CR or NUL", what, c)
		}
	}
	for _, r := range res.Replies {
		if !strings.HasPrefix(r, "200 ") && r != "HANGUP" {
			t.Errorf("%s: Asterisk replied %q", what, r)
		}
	}
}

// TestHostileCampaignAndNumber sends every hostile value as campaign= and
// as number= to each endpoint over real TCP, and as agi_arg_N: nothing
// outside the intended keys changes, no key ever holds the value, every
// command the server writes is one known line, and a number on a list that
// applies to every campaign stays blocked whatever the campaign id says.
func TestHostileCampaignAndNumber(t *testing.T) {
	f := newFixture(t)
	// Every rule on, so that each endpoint would write if it accepted the input.
	f.cfg.Defaults.NoAnswer = config.NoAnswerRule{Enabled: true, Attempts: 2, Window: time.Hour, Statuses: []string{"NOANSWER"}, TTL: time.Hour}
	f.cfg.Defaults.Invalid = config.InvalidRule{Enabled: true, Causes: []int{1}, TTL: time.Hour}
	f.guard = guard.New(f.cfg, blacklist.NewChecker(f.rdb), blacklist.NewStore(f.rdb, f.keys), slog.New(slog.NewTextHandler(io.Discard, nil)))
	promo := f.campaign("promo")
	promo.NoAnswer, promo.Invalid = f.cfg.Defaults.NoAnswer, f.cfg.Defaults.Invalid
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": promo})
	const blocked = "5511911112222"
	f.sadd(f.keys.Shared("nao-me-perturbe"), blocked)
	base := f.tcpGuard()
	before := f.keySpace()

	for _, v := range hostileValues {
		q := url.QueryEscape(v)
		for _, tc := range []struct {
			url  string
			args []string
		}{
			{url: "blacklist?campaign=" + q + "&number=" + blocked},
			{url: "blacklist?campaign=promo&number=" + q},
			{url: "blacklist?campaign=promo", args: []string{strings.NewReplacer("\n", " ", "\r", " ", "\x00", " ").Replace(v)}},
			{url: "optout?campaign=" + q + "&number=5511987654321"},
			{url: "optout?campaign=promo&number=" + q},
			{url: "optout?campaign=promo&number=5511987654321&reason=" + q},
			{url: "spam?campaign=" + q + "&number=5511987654321"},
			{url: "spam?campaign=promo&number=" + q},
			{url: "report?campaign=" + q + "&number=5511987654321&status=NOANSWER"},
			{url: "report?campaign=" + q + "&number=5511987654321&status=CHANUNAVAIL&cause=1"},
			{url: "report?campaign=promo&number=" + q + "&status=NOANSWER"},
			{url: "report?campaign=promo&number=5511987654321&status=" + q},
			{url: "report?campaign=promo&number=5511987654321&status=CHANUNAVAIL&cause=" + q},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err := agitest.Run(ctx, agitest.Call{URL: base + tc.url, Args: tc.args, Extension: blocked})
			cancel()
			what := tc.url
			if len(what) > 120 {
				what = what[:120] + "..."
			}
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkOneLineCommands(t, what, res)
			vars := res.Vars
			switch endpoint, _, _ := strings.Cut(tc.url, "?"); endpoint {
			case "blacklist":
				// The number is on a list for every campaign, or not a
				// number at all: either way the call must not go out.
				if !res.HungUp || (vars[guard.VarStatus] != "BLOCKED" && vars[guard.VarStatus] != "ERROR") {
					t.Errorf("%s: vars %v, hung up %v: want a blocked call", what, vars, res.HungUp)
				}
			case "optout", "spam":
				if vars[guard.VarStatus] != "ERROR" {
					t.Errorf("%s: vars %v, want ERROR", what, vars)
				}
			case "report":
				if vars[guard.VarReport] != "IGNORED" && vars[guard.VarReport] != "ERROR" {
					t.Errorf("%s: vars %v, want IGNORED or ERROR", what, vars)
				}
			}
		}
	}
	if after := f.keySpace(); !maps.Equal(before, after) {
		t.Errorf("hostile input changed keys under the prefix:\nbefore %v\nafter  %v", keyNames(before), keyNames(after))
	}
	if marked := f.markedKeys(); len(marked) > 0 {
		t.Errorf("keys built from hostile input: %q", marked)
	}
}

// TestHostileReasonStillHangsUp stores entries whose reason (free text from
// the admin API or the CLI) holds line breaks, NUL or is longer than an AGI
// command line: the call is still blocked and hung up, and BLACKLIST_REASON
// is one line.
func TestHostileReasonStillHangsUp(t *testing.T) {
	f := newFixture(t)
	promo := f.campaign("promo")
	f.guard.SetCampaigns(map[string]*config.Campaign{"promo": promo})
	store := blacklist.NewStore(f.rdb, f.keys)
	base := f.tcpGuard()
	for i, reason := range []string{
		"legal\nEXEC Dial PJSIP/5511987654321",
		"legal\r\nSET VARIABLE BLACKLIST_STATUS ALLOWED",
		"legal\x00hidden",
		strings.Repeat("r", 5000),
		"court order \"123\" \\ $[x] ${EXTEN}",
	} {
		number := "55119876543" + string(rune('0'+i)) + "0"
		if _, err := store.Add(context.Background(), blacklist.CampaignList(f.keys, "promo"), []string{number},
			blacklist.AddOptions{Meta: blacklist.Meta{Reason: reason}}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := agitest.Run(ctx, agitest.Call{URL: base + "blacklist?campaign=promo", Extension: number})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		checkOneLineCommands(t, number, res)
		got := res.Vars[guard.VarReason]
		if res.Vars[guard.VarStatus] != "BLOCKED" || !res.HungUp || res.HangupCause != promo.HangupCause {
			t.Errorf("reason %.40q: vars %v, hung up %v (cause %d): want BLOCKED and hung up", reason, res.Vars, res.HungUp, res.HangupCause)
		}
		if strings.ContainsAny(got, "\r\n\x00") || got == "" || len(got) > guard.MaxVariableBytes {
			t.Errorf("reason %.40q: BLACKLIST_REASON %.60q (%d bytes)", reason, got, len(got))
		}
		if !strings.ContainsAny(reason, "\r\n\x00") && len(reason) <= guard.MaxVariableBytes && got != reason {
			t.Errorf("BLACKLIST_REASON %q, want %q unchanged", got, reason)
		}
	}
}

func keyNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
