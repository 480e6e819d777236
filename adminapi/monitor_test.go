package adminapi

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/guard"
)

func TestProbes(t *testing.T) {
	f := newFixture(t, nil)
	var s statusBody
	f.call("GET", "/healthz", nil).want(t, 200).decode(t, &s)
	if s.Status != "ok" {
		t.Errorf("healthz %+v", s)
	}
	f.call("GET", "/readyz", nil).want(t, 200).decode(t, &s)
	if s.Status != "ready" {
		t.Errorf("readyz %+v", s)
	}
	down := errors.New("redis 127.0.0.1:6379: connection refused")
	f.ready.Store(&down)
	if msg := f.call("GET", "/readyz", nil).want(t, 503).errorMessage(t); !strings.Contains(msg, "connection refused") {
		t.Errorf("readyz when not ready: %q", msg)
	}
	f.ready.Store(nil)
	f.call("GET", "/readyz", nil).want(t, 200)

	r := f.call("GET", "/metrics", nil).want(t, 200)
	if !strings.Contains(string(r.body), "blacklist_up 1") {
		t.Errorf("metrics %s", r.body)
	}
	f.call("POST", "/healthz", nil).want(t, 405)

	// Without a Ready function, readyz pings Redis; without metrics,
	// /metrics is not found.
	g := newFixture(t, func(_ *fixture, o *Options) { o.Ready, o.Metrics = nil, nil })
	g.call("GET", "/readyz", nil).want(t, 200)
	g.call("GET", "/metrics", nil).want(t, 404).errorMessage(t)
}

func TestCheck(t *testing.T) {
	f := newFixture(t, nil)
	f.call("POST", spam+"/entries", map[string]any{"entries": []string{"55900*"}, "note": "robocalls"}).want(t, 200)
	f.sadd(f.keys.Campaign("promo"), "5511987654321")

	tests := []struct {
		campaign, number string
		status           int
		verdict          guard.View
	}{
		{"promo", "(11) 98765-4321", 200, guard.View{Campaign: "promo", Known: true, Number: "5511987654321", Kind: "phone", Status: "BLOCKED", List: "promo", Entry: "5511987654321", Block: true}},
		{"promo", "+55 900 123 4567", 200, guard.View{Campaign: "promo", Known: true, Number: "559001234567", Status: "BLOCKED", List: "spam", Entry: "55900*", Reason: "spam", Block: true}},
		{"promo", "5521912345678", 200, guard.View{Campaign: "promo", Known: true, Number: "5521912345678", Kind: "phone", Status: "ALLOWED"}},
		{"other", "(11) 98765-4321", 200, guard.View{Campaign: "other", Number: "5511987654321", Kind: "phone", Status: "ALLOWED"}},
		{"promo", "abc", 400, guard.View{Campaign: "promo", Known: true, Status: "ERROR", Block: true}}, // on_error: block
	}
	for _, tt := range tests {
		t.Run(tt.campaign+" "+tt.number, func(t *testing.T) {
			var v guard.View
			f.call("GET", "/api/v1/check?campaign="+tt.campaign+"&number="+url.QueryEscape(tt.number), nil).want(t, tt.status).decode(t, &v)
			w := tt.verdict
			if v.Campaign != w.Campaign || v.Known != w.Known || v.Number != w.Number || v.Status != w.Status ||
				v.List != w.List || v.Entry != w.Entry || v.Block != w.Block || v.Dialed != tt.number ||
				(w.Kind != "" && v.Kind != w.Kind) || (w.Reason != "" && v.Reason != w.Reason) {
				t.Errorf("verdict %+v, want %+v", v, w)
			}
			if (tt.status != 200) != (v.Error != "") {
				t.Errorf("status %d with error %q", tt.status, v.Error)
			}
		})
	}
	var v guard.View
	f.call("GET", "/api/v1/check?campaign=promo&number=559001234567", nil).want(t, 200).decode(t, &v)
	if v.Meta == nil || v.Meta.Note != "robocalls" || v.Meta.Source != "api" {
		t.Errorf("verdict metadata %+v", v.Meta)
	}
}

func TestStats(t *testing.T) {
	f := newFixture(t, nil)
	var out struct {
		Since     time.Time        `json:"since"`
		Until     time.Time        `json:"until"`
		Campaigns []map[string]any `json:"campaigns"`
	}
	before := time.Now()
	f.call("GET", "/api/v1/stats?campaign=promo,vendas,-&since=2h", nil).want(t, 200).decode(t, &out)
	if len(out.Campaigns) != 1 || out.Campaigns[0]["campaign"] != "promo" {
		t.Errorf("stats %+v", out)
	}
	f.stats.mu.Lock()
	campaigns, since, until := f.stats.campaigns, f.stats.since, f.stats.until
	f.stats.mu.Unlock()
	if !slices.Equal(campaigns, []string{"promo", "vendas", "-"}) {
		t.Errorf("asked for campaigns %v", campaigns)
	}
	if d := until.Sub(since); d != 2*time.Hour || until.Before(before) || !since.Equal(out.Since) {
		t.Errorf("asked from %s to %s; answered from %s", since, until, out.Since)
	}

	f.call("GET", "/api/v1/stats", nil).want(t, 200).decode(t, &out)
	f.stats.mu.Lock()
	if f.stats.campaigns != nil || f.stats.until.Sub(f.stats.since) != 24*time.Hour {
		t.Errorf("default stats: campaigns %v, %s", f.stats.campaigns, f.stats.until.Sub(f.stats.since))
	}
	f.stats.mu.Unlock()
	f.call("GET", "/api/v1/stats?since=2026-11-01&until=2026-11-02T00:00:00Z", nil).want(t, 200).decode(t, &out)
	if out.Since.Format(time.DateOnly) != "2026-11-01" || !out.Until.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("explicit range: %s to %s", out.Since, out.Until)
	}

	tests := []struct{ query, says string }{
		{"since=yesterday", "since"},
		{"until=tomorrow", "until"},
		{"since=1h&until=2h", "not before"},
		{"campaign=bad%7Bid", "campaign"},
		{"campaign=a,,b", "campaign"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if msg := f.call("GET", "/api/v1/stats?"+tt.query, nil).want(t, 400).errorMessage(t); !strings.Contains(msg, tt.says) {
				t.Errorf("error %q does not say %q", msg, tt.says)
			}
		})
	}
	f.stats.mu.Lock()
	f.stats.err = fmt.Errorf("hourly counters kept for 35 days: %w", ErrBadQuery)
	f.stats.mu.Unlock()
	f.call("GET", "/api/v1/stats?since=1000d", nil).want(t, 400).errorMessage(t)
}

func TestBlocked(t *testing.T) {
	f := newFixture(t, nil)
	var page struct {
		Calls []map[string]any `json:"calls"`
		Next  string           `json:"next"`
	}
	r := f.call("GET", "/api/v1/blocked?campaign=promo&list=spam&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&count=50", nil).want(t, 200)
	r.decode(t, &page)
	if len(page.Calls) != 1 || page.Next != "1700000000000-0" {
		t.Errorf("page %+v", page)
	}
	f.stats.mu.Lock()
	q := f.stats.query
	f.stats.mu.Unlock()
	want := BlockedQuery{Campaign: "promo", List: "spam", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Count: 50}
	if q.Campaign != want.Campaign || q.List != want.List || !q.From.Equal(want.From) || !q.To.Equal(want.To) || q.Count != 50 || q.Before != "" {
		t.Errorf("query %+v, want %+v", q, want)
	}

	// The last page: no calls is [], never null.
	r = f.call("GET", "/api/v1/blocked?campaign=-&before="+page.Next, nil).want(t, 200)
	if !strings.Contains(string(r.body), `"calls":[]`) {
		t.Errorf("last page %s", r.body)
	}
	f.stats.mu.Lock()
	if f.stats.query.Count != defaultBlockedCount || f.stats.query.Before != page.Next || f.stats.query.Campaign != "-" {
		t.Errorf("default query %+v", f.stats.query)
	}
	f.stats.mu.Unlock()

	for _, query := range []string{"count=0", "count=1001", "from=soon", "list=a%20b", "campaign=a%7Bb", "before=abc", "from=2026-11-02&to=2026-11-01"} {
		t.Run(query, func(t *testing.T) {
			f.call("GET", "/api/v1/blocked?"+query, nil).want(t, 400).errorMessage(t)
		})
	}

	g := newFixture(t, func(_ *fixture, o *Options) { o.Stats = nil })
	g.call("GET", "/api/v1/blocked", nil).want(t, 404).errorMessage(t)
	g.call("GET", "/api/v1/stats", nil).want(t, 404).errorMessage(t)
}

func TestConfigStatus(t *testing.T) {
	f := newFixture(t, nil)
	var st struct {
		File      string   `json:"file"`
		Campaigns []string `json:"campaigns"`
	}
	f.call("GET", "/api/v1/config", nil).want(t, 200).decode(t, &st)
	if st.File != "blacklist-agi.yaml" || !slices.Equal(st.Campaigns, []string{"promo"}) {
		t.Errorf("config %+v", st)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	loc := time.FixedZone("BRT", -3*3600)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"24h", now.Add(-24 * time.Hour), true},
		{"7d", now.AddDate(0, 0, -7), true},
		{"2w", now.AddDate(0, 0, -14), true},
		{"90m", now.Add(-90 * time.Minute), true},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, loc), true},
		{"2026-11-01T10:00:00-03:00", time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC), true},
		{"yesterday", time.Time{}, false},
		{"-24h", time.Time{}, false},
		{"0s", time.Time{}, false},
		{"2026-13-01", time.Time{}, false},
		{"24", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseTime("since", tt.in, now, loc)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %s, %v; want %s (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && (statusOf(err) != 400 || !strings.Contains(err.Error(), tt.in)) {
			t.Errorf("parseTime(%q): error %q (status %d) does not name the input", tt.in, err, statusOf(err))
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "24h", "7d", "2w", "2026-11-01", "2026-11-01T10:00:00Z", "9999999999w", "1e9h", "-1h", "0d", "\x00"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime("since", s, now, time.UTC)
		if err != nil {
			if statusOf(err) != 400 {
				t.Fatalf("parseTime(%q): status %d", s, statusOf(err))
			}
			return
		}
		if s != "" && got.IsZero() {
			t.Fatalf("parseTime(%q) = the zero time with no error", s)
		}
	})
}
