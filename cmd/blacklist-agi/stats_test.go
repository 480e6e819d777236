package main_test

// stats as a supervisor runs it: over figures a Recorder wrote, and over
// the figures two real servers wrote while answering emulated calls.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// statsOutput is stats --json.
type statsOutput struct {
	Since     time.Time                 `json:"since"`
	Until     time.Time                 `json:"until"`
	Campaigns []callstats.CampaignStats `json:"campaigns"`
	Blocked   []callstats.BlockedCall   `json:"blocked"`
}

func (c *cli) stats(args ...string) statsOutput {
	c.t.Helper()
	out := c.must(0, append([]string{"stats", "--json"}, args...)...)
	var s statsOutput
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		c.t.Fatalf("stats --json: %v\n%s", err, out)
	}
	return s
}

func TestCLIStats(t *testing.T) {
	c := newCLI(t, nil)
	now := time.Now()
	at := now.Add(-2 * time.Hour)
	clock := func() time.Time { return at }
	rec := callstats.NewRecorder(c.rdb, callstats.Options{Keys: c.keys, Instance: "agi-1", Now: clock, Logger: slog.New(slog.DiscardHandler)})
	observe := func(campaign string, status guard.Status, list, entry, reason string) {
		v := guard.Verdict{Status: status, Campaign: campaign, Dialed: entry, Block: status != guard.StatusAllowed,
			Number: number.Number{Canonical: entry}, List: list, Entry: entry, Reason: reason}
		if status == guard.StatusError {
			v.Number, v.List, v.Entry, v.Err = number.Number{}, "", "", errors.New("redis check:\ti/o timeout")
		}
		rec.ObserveCheck(guard.Observation{Verdict: v, UniqueID: "1700000000.1", Channel: "PJSIP/trunk-0001"})
	}
	// Three days ago: outside --since 24h, inside --since 7d.
	at = now.Add(-72 * time.Hour)
	observe("promo", guard.StatusBlocked, "spam", "5511900000001", "spam")
	at = now.Add(-2 * time.Hour)
	observe("promo", guard.StatusAllowed, "", "5511900000002", "")
	observe("promo", guard.StatusBlocked, "nao-me-perturbe", "5511900000003", "nao-me-perturbe")
	at = now.Add(-time.Hour)
	observe("promo", guard.StatusBlocked, "promo", "5511900000004", "opt-out")
	observe("promo", guard.StatusError, "", "", "")
	observe("cobranca", guard.StatusAllowed, "", "5521900000001", "")
	observe("bad id", guard.StatusBlocked, "opt-out", "5521900000002", "opt-out")
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	hourAgo := now.Add(-time.Hour).Truncate(time.Millisecond).UTC()

	got := c.stats()
	want := []callstats.CampaignStats{
		{Campaign: "-", Counts: callstats.Counts{Checked: 1, Blocked: 1, LastBlock: hourAgo}, Lists: map[string]int64{"opt-out": 1}},
		{Campaign: "cobranca", Counts: callstats.Counts{Checked: 1, Allowed: 1}, Lists: map[string]int64{}},
		{Campaign: "promo", Counts: callstats.Counts{Checked: 4, Allowed: 1, Blocked: 2, Errors: 1, LastBlock: hourAgo},
			Lists: map[string]int64{"nao-me-perturbe": 1, "promo": 1}},
	}
	if !reflect.DeepEqual(got.Campaigns, want) {
		t.Errorf("stats --json campaigns =\n%+v\nwant\n%+v", got.Campaigns, want)
	}
	if len(got.Blocked) != 4 || got.Blocked[0].Campaign != "-" || got.Blocked[1].Status != "ERROR" ||
		got.Blocked[2].Entry != "5511900000004" || got.Blocked[3].List != "nao-me-perturbe" {
		t.Errorf("stats --json blocked = %+v, want the 4 blocks of the last 24h, newest first", got.Blocked)
	}
	if d := got.Until.Sub(got.Since); d < 24*time.Hour || d > 25*time.Hour {
		t.Errorf("since %v until %v: want 24h back from the start of the hour", got.Since, got.Until)
	}

	got = c.stats("--campaign", "promo", "--since", "7d", "--last", "2")
	want = []callstats.CampaignStats{{Campaign: "promo", Counts: callstats.Counts{Checked: 5, Allowed: 1, Blocked: 3, Errors: 1, LastBlock: hourAgo},
		Lists: map[string]int64{"nao-me-perturbe": 1, "promo": 1, "spam": 1}}}
	if !reflect.DeepEqual(got.Campaigns, want) {
		t.Errorf("stats --campaign promo --since 7d =\n%+v\nwant\n%+v", got.Campaigns, want)
	}
	if len(got.Blocked) != 2 || got.Blocked[0].Status != "ERROR" || got.Blocked[1].Entry != "5511900000004" {
		t.Errorf("stats --campaign promo --last 2: blocked = %+v", got.Blocked)
	}

	out := c.must(0, "stats", "--since", "7d")
	contains(t, "stats table", out,
		"CAMPAIGN  CHECKED  ALLOWED  BLOCKED  ERRORS  LAST BLOCK",
		"promo     5        1        3        1       ",
		"cobranca  1        1        0        0       -\n",
		"CAMPAIGN  LIST             BLOCKED",
		"promo     nao-me-perturbe  1",
		"last 5 blocked calls",
		"  promo     -              -                -              ERROR    redis check:?i/o timeout\n",
		"  promo     5511900000004  promo            5511900000004  BLOCKED  opt-out\n")

	out = c.must(0, "stats", "--campaign", "nobody", "--last", "0")
	contains(t, "stats of a campaign with no calls", out, "nobody    0        0        0        0       -")
	if strings.Contains(out, "blocked calls") {
		t.Errorf("--last 0 listed blocked calls:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "yesterday"}, `--since "yesterday"`},
		{[]string{"--since", "-1h"}, `--since "-1h"`},
		{[]string{"--campaign", "a b"}, `campaign id "a b"`},
		{[]string{"--last", "5000"}, "--last 5000"},
	} {
		_, errOut, code := c.run("", append([]string{"stats"}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("stats %v: exit %d, stderr %q; want 1 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestEndToEndStats runs a known mix of calls through two servers sharing
// one Redis, stops them (which writes what they queued) and reads the
// figures back with stats --json.
func TestEndToEndStats(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	keys := blacklist.Keys{Prefix: prefix}
	ctx := context.Background()
	rdb.SAdd(ctx, keys.Campaign("promo"), "5511911110002")
	rdb.SAdd(ctx, keys.Shared("opt-out"), "5511911110003")
	rdb.SAdd(ctx, keys.Shared("spam"), "5511911110004")
	rdb.SAdd(ctx, keys.Shared("nao-me-perturbe"), "5511911110009")
	campaigns := map[string]string{"promo.yaml": "lists: [spam]\nnumber: { area_code: \"11\" }\n"}

	var servers []*server
	for _, name := range []string{"agi-a", "agi-b"} {
		t.Setenv("BLACKLIST_MONITORING_INSTANCE", name)
		servers = append(servers, startServer(t, prefix, redistest.Addr(t), campaigns))
	}
	type call struct {
		server          int
		campaign, exten string
		status          string
	}
	calls := []call{
		{0, "promo", "11911110001", "ALLOWED"},
		{0, "promo", "11911110002", "BLOCKED"}, // promo
		{1, "promo", "911110003", "BLOCKED"},   // opt-out
		{0, "promo", "not-a-number", "ERROR"},  // on_error: block
		{1, "promo", "11911110004", "BLOCKED"}, // spam
		{1, "cobranca", "11911110001", "ALLOWED"},
		{0, "cobranca", "11911110003", "BLOCKED"}, // opt-out
		{1, "", "11911110009", "BLOCKED"},         // nao-me-perturbe, no campaign
	}
	for _, c := range calls {
		res := servers[c.server].call(t, c.campaign, c.exten)
		if got := res.Vars["BLACKLIST_STATUS"]; got != c.status {
			t.Fatalf("%s %s: BLACKLIST_STATUS %q, want %q", c.campaign, c.exten, got, c.status)
		}
	}
	for _, s := range servers { // a server writes what it queued before it exits
		s.cmd.Process.Signal(os.Interrupt)
		if err := s.cmd.Wait(); err != nil {
			t.Fatalf("server exit: %v", err)
		}
	}

	c := &cli{t: t, config: filepath.Join(servers[0].dir, "blacklist-agi.yaml"), dir: servers[0].dir, rdb: rdb, keys: keys}
	got := c.stats("--since", "1h")
	for i := range got.Campaigns { // the time of the last block is the servers' to know
		if got.Campaigns[i].Blocked > 0 && time.Since(got.Campaigns[i].LastBlock) > time.Minute {
			t.Errorf("campaign %s: last block %v, want within the last minute", got.Campaigns[i].Campaign, got.Campaigns[i].LastBlock)
		}
		got.Campaigns[i].LastBlock = time.Time{}
	}
	want := []callstats.CampaignStats{
		{Campaign: "-", Counts: callstats.Counts{Checked: 1, Blocked: 1}, Lists: map[string]int64{"nao-me-perturbe": 1}},
		{Campaign: "cobranca", Counts: callstats.Counts{Checked: 2, Allowed: 1, Blocked: 1}, Lists: map[string]int64{"opt-out": 1}},
		{Campaign: "promo", Counts: callstats.Counts{Checked: 5, Allowed: 1, Blocked: 3, Errors: 1},
			Lists: map[string]int64{"promo": 1, "opt-out": 1, "spam": 1}},
	}
	if !reflect.DeepEqual(got.Campaigns, want) {
		t.Errorf("stats --json campaigns =\n%+v\nwant\n%+v", got.Campaigns, want)
	}

	// One log entry per blocked call, with the server that checked it.
	var wantLog []string
	for _, c := range calls {
		if c.status != "ALLOWED" {
			wantLog = append(wantLog, fmt.Sprintf("%s %s agi-%c", callstats.FoldCampaign(c.campaign), c.status, "ab"[c.server]))
		}
	}
	var gotLog []string
	for i := len(got.Blocked) - 1; i >= 0; i-- {
		b := got.Blocked[i]
		gotLog = append(gotLog, fmt.Sprintf("%s %s %s", b.Campaign, b.Status, b.Instance))
		if b.Status == "BLOCKED" && (b.Number == "" || b.Number != b.Entry || b.List == "" || b.UniqueID == "" || b.Channel == "") {
			t.Errorf("log entry %+v: want number, entry, list, uniqueid and channel", b)
		}
	}
	// The two servers wrote in their own order: compare as sets.
	if !sameElements(gotLog, wantLog) {
		t.Errorf("blocked-call log %q, want %q", gotLog, wantLog)
	}
}

func sameElements(a, b []string) bool {
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		count[s]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}
