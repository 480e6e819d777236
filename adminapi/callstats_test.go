package adminapi

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// callStats is the StatsSource of the server: package callstats over Redis.
type callStats struct {
	rdb  redis.UniversalClient
	keys blacklist.Keys
}

func (s callStats) Stats(ctx context.Context, campaigns []string, since, until time.Time) (any, error) {
	return callstats.Stats(ctx, s.rdb, s.keys, campaigns, since, until)
}

func (s callStats) Blocked(ctx context.Context, q BlockedQuery) (any, string, error) {
	return callstats.Blocked(ctx, s.rdb, s.keys, callstats.Query(q))
}

func TestCallStats(t *testing.T) {
	f := newFixture(t, func(f *fixture, o *Options) { o.Stats = callStats{rdb: f.rdb, keys: f.keys} })
	rec := callstats.NewRecorder(f.rdb, callstats.Options{Keys: f.keys, Instance: "agi-1", Logger: slog.New(slog.DiscardHandler)})
	for i := range 3 {
		n := fmt.Sprintf("551198765432%d", i)
		rec.ObserveCheck(guard.Observation{Verdict: guard.Verdict{
			Status: guard.StatusBlocked, Campaign: "promo", Dialed: n, Number: number.Number{Canonical: n},
			List: "spam", Entry: n, Reason: "spam", Block: true,
		}})
	}
	rec.ObserveCheck(guard.Observation{Verdict: guard.Verdict{Status: guard.StatusAllowed, Campaign: "promo", Dialed: "5521988887777"}})
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	var stats struct {
		Campaigns []callstats.CampaignStats `json:"campaigns"`
	}
	f.call("GET", "/api/v1/stats?campaign=promo&since=1h", nil).want(t, 200).decode(t, &stats)
	if len(stats.Campaigns) != 1 {
		t.Fatalf("stats %+v", stats)
	}
	if s := stats.Campaigns[0]; s.Campaign != "promo" || s.Checked != 4 || s.Blocked != 3 || s.Allowed != 1 || s.Lists["spam"] != 3 {
		t.Errorf("promo: %+v", s)
	}

	// Page through the blocked calls two at a time, newest first.
	var numbers []string
	before := ""
	for range 3 {
		var page struct {
			Calls []callstats.BlockedCall `json:"calls"`
			Next  string                  `json:"next"`
		}
		f.call("GET", "/api/v1/blocked?campaign=promo&list=spam&count=2&before="+before, nil).want(t, 200).decode(t, &page)
		for _, c := range page.Calls {
			numbers = append(numbers, c.Number)
			if c.Instance != "agi-1" || c.List != "spam" || c.Status != callstats.StatusBlocked {
				t.Errorf("call %+v", c)
			}
		}
		if before = page.Next; before == "" {
			break
		}
	}
	if want := []string{"5511987654322", "5511987654321", "5511987654320"}; fmt.Sprint(numbers) != fmt.Sprint(want) {
		t.Errorf("blocked %v, want %v", numbers, want)
	}
	// A window longer than callstats keeps is the request's fault.
	f.call("GET", "/api/v1/stats?since=1000d", nil).want(t, 400).errorMessage(t)
}
