package guard_test

import (
	"bufio"
	"bytes"
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
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkCeiling is the ceiling BenchmarkCall is measured against (issue
// 6): the same emulated Asterisk, the same sequential loop, the same metrics
// and the same three lists' data in the same redis-server, but the server's
// handler is a minimal one written here, with no config, no normalization,
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
		serve func(ln net.Listener, check ceilingCheck) (stop func())
		check func(rdb *redis.Client, keys []string) ceilingCheck
	}{
		{"agi-server", serveAGI, pipelineCheck},
		{"raw-tcp", serveRaw, pipelineCheck},
		{"agi-server-smismember", serveAGI, smismemberCheck},
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

// A ceilingCheck reports whether a list holds number or a prefix entry of it.
type ceilingCheck func(ctx context.Context, number string) (blocked bool, err error)

// entries returns number and its prefix entries, longest first, as the
// product's Checker asks them: "5511987654321", "5511987654321*", ...,
// "5*".
func entries(number string) []string {
	e := make([]string, 0, len(number)+1)
	e = append(e, number)
	for k := len(number); k >= 1; k-- {
		e = append(e, number[:k]+"*")
	}
	return e
}

// pipelineCheck sends, in one pipeline, the commands the product's Checker
// sends for plain lists: per list, SMISMEMBER of the entries in the set,
// their ZMSCORE in the expiry index and their HMGET in the metadata hash.
// Only the set's answer decides.
func pipelineCheck(rdb *redis.Client, lists []string) ceilingCheck {
	return func(ctx context.Context, number string) (bool, error) {
		fields := entries(number)
		members := make([]any, len(fields))
		for i, f := range fields {
			members[i] = f
		}
		pipe := rdb.Pipeline()
		found := make([]*redis.BoolSliceCmd, len(lists))
		for i, key := range lists {
			found[i] = pipe.SMIsMember(ctx, key, members...)
			pipe.ZMScore(ctx, blacklist.ExpiryKey(key), fields...)
			pipe.HMGet(ctx, blacklist.MetaKey(key), fields...)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return false, err
		}
		for _, cmd := range found {
			if slices.Contains(cmd.Val(), true) {
				return true, nil
			}
		}
		return false, nil
	}
}

// smismemberCheck sends one SMISMEMBER of the entries to the last list, the
// one that holds a number.
func smismemberCheck(rdb *redis.Client, lists []string) ceilingCheck {
	key := lists[len(lists)-1]
	return func(ctx context.Context, number string) (bool, error) {
		fields := entries(number)
		members := make([]any, len(fields))
		for i, f := range fields {
			members[i] = f
		}
		found, err := rdb.SMIsMember(ctx, key, members...).Result()
		return slices.Contains(found, true), err
	}
}

// status is the BLACKLIST_STATUS of a verdict.
func status(blocked bool) string {
	if blocked {
		return "BLOCKED"
	}
	return "ALLOWED"
}

// serveAGI serves ln with package agi's Server and a handler that checks
// agi_extension and sets BLACKLIST_STATUS.
func serveAGI(ln net.Listener, check ceilingCheck) (stop func()) {
	srv := &agi.Server{
		Handler: agi.HandlerFunc(func(ctx context.Context, s *agi.Session) error {
			blocked, err := check(ctx, s.Env().Get("agi_extension"))
			if err != nil {
				return err
			}
			return s.SetVariable(ctx, "BLACKLIST_STATUS", status(blocked))
		}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

// serveRaw serves ln with a hand-written FastAGI responder: it reads the
// environment block up to its empty line, checks agi_extension, writes one
// SET VARIABLE, reads Asterisk's reply and closes. A session that goes wrong
// is closed without a verdict, which the benchmark sees.
func serveRaw(ln net.Listener, check ceilingCheck) (stop func()) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go rawSession(c, check)
		}
	}()
	return func() { ln.Close() }
}

func rawSession(c net.Conn, check ceilingCheck) {
	defer c.Close()
	r := bufio.NewReader(c)
	var number string
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if len(line) == 1 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("agi_extension: ")); ok {
			number = string(bytes.TrimSuffix(v, []byte("\n")))
		}
	}
	blocked, err := check(context.Background(), number)
	if err != nil {
		return
	}
	if _, err := io.WriteString(c, "SET VARIABLE BLACKLIST_STATUS "+status(blocked)+"\n"); err != nil {
		return
	}
	r.ReadSlice('\n') // "200 result=1"
}
