package guard_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// BenchmarkCall measures one whole FastAGI session, from connect to close,
// through a real TCP listener, the guard and the real redis-server: the
// campaign checks its own list and two shared lists. Sequential calls; it
// reports the p50 and p99 of the per-call latency as seen by the emulated
// Asterisk.
//
//	scripts/test.sh ./guard/ -run '^$' -bench Call -benchmem
func BenchmarkCall(b *testing.B) {
	for _, verdict := range []string{"allowed", "blocked"} {
		b.Run(verdict, func(b *testing.B) {
			rdb := redistest.Client(b)
			cfg, err := config.Load("")
			if err != nil {
				b.Fatal(err)
			}
			cfg.KeyPrefix = redistest.Prefix(b, rdb)
			cfg.Lists = map[string]config.SharedList{
				"nao-me-perturbe": {Reason: "nao-me-perturbe", AllCampaigns: true},
				"spam":            {Reason: "spam"},
			}
			keys := blacklist.Keys{Prefix: cfg.KeyPrefix}
			rdb.SAdd(context.Background(), keys.Shared("nao-me-perturbe"), "5521988887777")
			g := guard.New(cfg, blacklist.NewChecker(rdb), blacklist.NewStore(rdb, keys), slog.New(slog.NewTextHandler(io.Discard, nil)))
			c := cfg.DefaultCampaign("promo")
			c.Lists = []string{"spam", "nao-me-perturbe"}
			g.SetCampaigns(map[string]*config.Campaign{"promo": c})

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &agi.Server{Handler: g, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			go srv.Serve(ln)
			defer srv.Close()

			call := agitest.Call{
				URL:       "agi://" + ln.Addr().String() + "/blacklist?campaign=promo",
				Extension: "5511987654321",
			}
			if verdict == "blocked" {
				call.Extension = "5521988887777"
			}
			ctx := context.Background()
			latencies := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				res, err := agitest.Run(ctx, call)
				latencies = append(latencies, time.Since(start))
				if err != nil || !res.ServerClosed {
					b.Fatalf("call: %v %+v", err, res)
				}
			}
			b.StopTimer()
			slices.Sort(latencies)
			b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
