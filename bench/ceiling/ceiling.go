// Package ceiling is the yardstick of the benchmarks, not part of the
// product: minimal FastAGI handlers that read agi_extension, ask Redis
// whether a list holds it, set BLACKLIST_STATUS and close, with no
// configuration, normalization, logging or metrics. BenchmarkCeiling
// (package guard) and the ceiling-server command (driven by agi-loadtest)
// measure the product against them; docs/benchmarks.md has the figures.
package ceiling

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
)

// A Check reports whether a list holds number or a prefix entry of it.
type Check func(ctx context.Context, number string) (blocked bool, err error)

// Entries returns number and its prefix entries, longest first, as the
// product's Checker asks them: "5511987654321", "5511987654321*", ...,
// "5*".
func Entries(number string) []string {
	e := make([]string, 0, len(number)+1)
	e = append(e, number)
	for k := len(number); k >= 1; k-- {
		e = append(e, number[:k]+"*")
	}
	return e
}

// Pipeline sends, in one pipeline, the commands the product's Checker sends
// for plain lists: per list, SMISMEMBER of the entries in the set, their
// ZMSCORE in the expiry index and their HMGET in the metadata hash. Only the
// sets' answers decide.
func Pipeline(rdb redis.UniversalClient, lists []string) Check {
	return func(ctx context.Context, number string) (bool, error) {
		fields := Entries(number)
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

// SMIsMember sends the literal ceiling: one SMISMEMBER of the
// entries to one list.
func SMIsMember(rdb redis.UniversalClient, key string) Check {
	return func(ctx context.Context, number string) (bool, error) {
		fields := Entries(number)
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

// ServeAGI serves ln with package agi's Server and a handler that checks
// agi_extension and sets BLACKLIST_STATUS, until stop is called.
func ServeAGI(ln net.Listener, check Check) (stop func()) {
	srv := &agi.Server{
		Handler: agi.HandlerFunc(func(ctx context.Context, s *agi.Session) error {
			blocked, err := check(ctx, s.Env().Get("agi_extension"))
			if err != nil {
				return err
			}
			return s.SetVariable(ctx, "BLACKLIST_STATUS", status(blocked))
		}),
		Logger: slog.New(slog.DiscardHandler),
	}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

// ServeRaw serves ln with a hand-written FastAGI responder until stop is
// called: it reads the environment block up to its empty line, checks
// agi_extension, writes one SET VARIABLE, reads Asterisk's reply and
// closes. No limits, no deadlines: a session that goes wrong is closed
// without a verdict, which the caller sees.
func ServeRaw(ln net.Listener, check Check) (stop func()) {
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

func rawSession(c net.Conn, check Check) {
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
