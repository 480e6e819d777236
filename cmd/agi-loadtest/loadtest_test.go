package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
)

// verdictOf is the test server's rule: numbers ending in 0 are blocked,
// in 9 answer ERROR, the others are allowed.
func verdictOf(number string) string {
	switch {
	case strings.HasSuffix(number, "0"):
		return VerdictBlocked
	case strings.HasSuffix(number, "9"):
		return VerdictError
	}
	return VerdictAllowed
}

// startServer starts a FastAGI server on loopback that sets
// BLACKLIST_STATUS by verdictOf and hangs blocked calls up. It returns the
// AGI URL and the count of sessions served.
func startServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var sessions atomic.Int64
	srv := &agi.Server{
		Handler: agi.HandlerFunc(func(ctx context.Context, s *agi.Session) error {
			sessions.Add(1)
			v := verdictOf(s.Env().Get("agi_extension"))
			if err := s.SetVariable(ctx, "BLACKLIST_STATUS", v); err != nil {
				return err
			}
			if v == VerdictBlocked {
				return s.Hangup(ctx)
			}
			return nil
		}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, agi.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "agi://" + l.Addr().String() + "/blacklist?campaign=promo", &sessions
}

var mixedTargets = []Target{
	{Number: "5511987654321", Expected: VerdictAllowed},
	{Number: "5511987654320", Expected: VerdictBlocked},
	{Number: "5511987654329", Expected: VerdictError},
	{Number: "5511987654322"},
}

func TestRunCountsExactly(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"closed loop, 1 worker", Config{Concurrency: 1, Calls: 40}},
		{"closed loop, 8 workers", Config{Concurrency: 8, Calls: 200}},
		{"closed loop, more workers than calls", Config{Concurrency: 50, Calls: 20}},
		{"open loop", Config{Rate: 5000, Calls: 200}},
		{"open loop, in-flight cap 1", Config{Rate: 100000, MaxInFlight: 1, Calls: 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, served := startServer(t)
			cfg := tt.cfg
			cfg.URL = url
			cfg.Targets = mixedTargets
			cfg.Duration = time.Minute // the call bound must stop it
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := cfg.Calls
			if rep.Sessions != n || rep.Completed != n || served.Load() != int64(n) {
				t.Fatalf("sessions %d, completed %d, served %d; want %d each", rep.Sessions, rep.Completed, served.Load(), n)
			}
			want := map[string]int{VerdictAllowed: n / 2, VerdictBlocked: n / 4, VerdictError: n / 4}
			for v, c := range want {
				if rep.Verdicts[v] != c {
					t.Errorf("verdicts %v, want %v", rep.Verdicts, want)
				}
			}
			if rep.Mismatches != 0 || rep.Failures.Total() != 0 || rep.Failed() {
				t.Errorf("mismatches %d, failures %+v", rep.Mismatches, rep.Failures)
			}
			l := rep.Latency
			if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
				t.Errorf("latency percentiles out of order: %+v", l)
			}
			if rep.SessionsPerSecond <= 0 {
				t.Errorf("sessions/s %v", rep.SessionsPerSecond)
			}
			if cfg.MaxInFlight == 1 && rep.LateStarts == 0 {
				t.Errorf("open loop at 100000/s with 1 call in flight: no late starts")
			}
		})
	}
}

func TestRunCountsMismatches(t *testing.T) {
	url, _ := startServer(t)
	rep, err := Run(context.Background(), Config{
		URL: url,
		Targets: []Target{
			{Number: "5511987654321", Expected: VerdictBlocked}, // allowed: mismatch
			{Number: "5511987654320", Expected: VerdictBlocked},
			{Number: "5511987654329", Expected: VerdictAllowed}, // error: mismatch
		},
		Concurrency: 4,
		Calls:       30,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mismatches != 20 || !rep.Failed() {
		t.Errorf("mismatches %d, want 20", rep.Mismatches)
	}
	if rep.Failures.Total() != 0 {
		t.Errorf("failures %+v", rep.Failures)
	}
}

// startStuckServer accepts connections and reads them without ever
// answering or closing, until the test ends.
func startStuckServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	return "agi://" + l.Addr().String() + "/blacklist"
}

// refusedURL returns an agi:// URL on a loopback port nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "agi://" + addr + "/blacklist"
}

func TestRunCountsFailures(t *testing.T) {
	tests := []struct {
		name string
		url  string
		cfg  Config
		want Failures
	}{
		{"stuck server, closed loop", startStuckServer(t), Config{Concurrency: 3, Calls: 6}, Failures{Timeout: 6}},
		{"stuck server, open loop", startStuckServer(t), Config{Rate: 1000, Calls: 5}, Failures{Timeout: 5}},
		{"connection refused", refusedURL(t), Config{Concurrency: 2, Calls: 4}, Failures{Connect: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.URL = tt.url
			cfg.CallTimeout = 100 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rep, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatal("Run did not stop by itself")
			}
			if rep.Failures != tt.want || rep.Completed != 0 || rep.Sessions != cfg.Calls || !rep.Failed() {
				t.Errorf("failures %+v, completed %d, sessions %d; want %+v, 0, %d", rep.Failures, rep.Completed, rep.Sessions, tt.want, cfg.Calls)
			}
		})
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	url, served := startServer(t)
	for _, cfg := range []Config{{Concurrency: 4}, {Rate: 500}} {
		cfg.URL = url
		cfg.Duration = 100 * time.Millisecond
		before := served.Load()
		rep, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Sessions == 0 || rep.Completed != rep.Sessions || int64(rep.Sessions) != served.Load()-before {
			t.Errorf("%s loop: sessions %d, completed %d, served %d", rep.Mode, rep.Sessions, rep.Completed, served.Load()-before)
		}
	}
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	url := startStuckServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := Run(ctx, Config{URL: url, Concurrency: 2, Duration: time.Hour, CallTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sessions != 0 || rep.Failed() {
		t.Errorf("report after a done context: %+v", rep)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "http://127.0.0.1:4573/blacklist"},
		{URL: "agi:///blacklist"},
		{URL: "agi://127.0.0.1:4573/blacklist", Calls: -1},
		{URL: "agi://127.0.0.1:4573/blacklist", Rate: -5},
		{URL: "agi://127.0.0.1:4573/blacklist", Concurrency: -1},
	} {
		if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("Run(%+v) = %v, want ErrBadConfig", cfg, err)
		}
	}
}

func TestCommandJSON(t *testing.T) {
	url, _ := startServer(t)
	numbers := filepath.Join(t.TempDir(), "numbers.txt")
	if err := os.WriteFile(numbers, []byte("# number,expected\n5511987654321,ALLOWED\n5511987654320,blocked\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		status     int
		mismatches int
	}{
		{"verdicts as expected", []string{"-numbers", numbers}, 0, 0},
		{"one number, no expected verdict", []string{"-number", "5511987654320"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-url", url, "-concurrency", "2", "-calls", "10", "-json"}, tt.args...)
			status := run(args, &stdout, &stderr)
			if status != tt.status {
				t.Fatalf("status %d, want %d; stderr %s", status, tt.status, stderr.String())
			}
			var rep Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
			}
			if rep.Sessions != 10 || rep.Completed != 10 || rep.Mismatches != tt.mismatches || rep.Latency.Max <= 0 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func TestCommandExitStatus(t *testing.T) {
	url, _ := startServer(t)
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("5511987654321,MAYBE\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mismatched := filepath.Join(t.TempDir(), "mismatched.txt")
	if err := os.WriteFile(mismatched, []byte("5511987654321,BLOCKED\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		out    string
	}{
		{"all allowed", []string{"-url", url, "-calls", "3"}, 0, "mismatches 0"},
		{"mismatch", []string{"-url", url, "-calls", "3", "-numbers", mismatched}, 1, "mismatches 3"},
		{"refused", []string{"-url", refusedURL(t), "-calls", "2"}, 1, "connect 2"},
		{"bad numbers file", []string{"-url", url, "-numbers", bad}, 2, ""},
		{"missing numbers file", []string{"-url", url, "-numbers", bad + ".none"}, 2, ""},
		{"no URL", []string{"-calls", "3"}, 2, ""},
		{"bad URL", []string{"-url", "sip://x"}, 2, ""},
		{"unknown flag", []string{"-url", url, "-x"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if status := run(tt.args, &stdout, &stderr); status != tt.status {
				t.Fatalf("status %d, want %d; stderr %s", status, tt.status, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.out) {
				t.Errorf("output lacks %q:\n%s", tt.out, stdout.String())
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Target
		err  bool
	}{
		{"numbers only", "5511987654321\n5511987654320\n", []Target{{Number: "5511987654321"}, {Number: "5511987654320"}}, false},
		{"expected verdicts", "# comment\n\n 5511987654321 , allowed \r\n+5511987654320,BLOCKED\n1,ERROR", []Target{
			{Number: "5511987654321", Expected: VerdictAllowed},
			{Number: "+5511987654320", Expected: VerdictBlocked},
			{Number: "1", Expected: VerdictError},
		}, false},
		{"empty", "# nothing\n", nil, true},
		{"bad verdict", "5511987654321,OK\n", nil, true},
		{"empty number", ",ALLOWED\n", nil, true},
		{"blank in number", "55 11,ALLOWED\n", nil, true},
		{"control character in number", "55\x0011\n", nil, true},
		{"quote in number", "55\"11\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTargets(strings.NewReader(tt.in))
			if tt.err {
				if !errors.Is(err, ErrBadNumbers) {
					t.Fatalf("err %v, want ErrBadNumbers", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("target %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{"5511987654321\n", "1,ALLOWED\n2,blocked\r\n# x\n", ",\n", "a,b,c", "\x00,ERROR"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		targets, err := ParseTargets(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrBadNumbers) || targets != nil {
				t.Fatalf("error %v with targets %v", err, targets)
			}
			return
		}
		if len(targets) == 0 {
			t.Fatal("no targets and no error")
		}
		for _, tg := range targets {
			if tg.Number == "" || !validNumber(tg.Number) {
				t.Fatalf("bad number %q accepted", tg.Number)
			}
			switch tg.Expected {
			case "", VerdictAllowed, VerdictBlocked, VerdictError:
			default:
				t.Fatalf("bad verdict %q accepted", tg.Expected)
			}
		}
	})
}
