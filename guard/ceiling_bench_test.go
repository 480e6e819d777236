package guard_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/bench/ceiling"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// BenchmarkCeiling is the ceiling BenchmarkCall is measured against (issue
// 6): the same emulated Asterisk, the same sequential loop, the same metrics
// and the same three lists' data in the same redis-server, but the server's
// handler is package ceiling's minimal one, with no config, no normalization,
// no logging and no metrics. It reads agi_extension, asks Redis, sets
// BLACKLIST_STATUS and closes.
//
//   - agi-server: package agi's Server runs the handler, which sends the
//     pipeline the product sends for an allowed call (SMISMEMBER, ZMSCORE
//     and HMGET of the number and its 13 prefix entries, for each of the
//     three lists). Call/allowed minus this is the guard's own cost.
//   - raw-tcp: the same handler and pipeline behind a hand-written FastAGI
//     responder (a bufio.Reader over the connection, no limits, no
//     deadlines). agi-server minus this is the agi package's own cost.
//   - agi-server-smismember: package agi's Server with the literal
//     ceiling, one SMISMEMBER of the same 14 entries on one list.
//
// Every call dials 5511987654321, which no list holds: the product's
// Call/allowed does the same work.
//
//	scripts/bench.sh ./guard/ -bench 'Call|Ceiling' -benchtime 20000x
func BenchmarkCeiling(b *testing.B) {
	for _, bench := range []struct {
		name  string
		serve func(ln net.Listener, check ceiling.Check) (stop func())
		check func(rdb *redis.Client, keys []string) ceiling.Check
	}{
		{"agi-server", ceiling.ServeAGI, pipelineCheck},
		{"raw-tcp", ceiling.ServeRaw, pipelineCheck},
		{"agi-server-smismember", ceiling.ServeAGI, smismemberCheck},
	} {
		b.Run(bench.name, func(b *testing.B) {
			rdb := redistest.Client(b)
			keys := blacklist.Keys{Prefix: redistest.Prefix(b, rdb)}
			// BenchmarkCall's campaign "promo" checks its own list, then
			// "spam", then "nao-me-perturbe", which holds one number.
			lists := []string{keys.Campaign("promo"), keys.Shared("spam"), keys.Shared("nao-me-perturbe")}
			if err := rdb.SAdd(context.Background(), keys.Shared("nao-me-perturbe"), "5521988887777").Err(); err != nil {
				b.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			stop := bench.serve(ln, bench.check(rdb, lists))
			defer stop()

			call := agitest.Call{
				URL:       "agi://" + ln.Addr().String() + "/blacklist?campaign=promo",
				Extension: "5511987654321",
			}
			ctx := context.Background()
			latencies := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				res, err := agitest.Run(ctx, call)
				latencies = append(latencies, time.Since(start))
				if err != nil || !res.ServerClosed || res.Vars["BLACKLIST_STATUS"] != "ALLOWED" {
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

// pipelineCheck sends the product's pipeline for the three lists.
func pipelineCheck(rdb *redis.Client, lists []string) ceiling.Check {
	return ceiling.Pipeline(rdb, lists)
}

// smismemberCheck asks the last list, the one that holds a number.
func smismemberCheck(rdb *redis.Client, lists []string) ceiling.Check {
	return ceiling.SMIsMember(rdb, lists[len(lists)-1])
}
