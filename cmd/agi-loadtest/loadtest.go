package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
)

// Verdicts a numbers file may expect: the values of BLACKLIST_STATUS.
const (
	VerdictAllowed = "ALLOWED"
	VerdictBlocked = "BLOCKED"
	VerdictError   = "ERROR"
)

// VerdictNone is the verdict counted when a finished session left
// BLACKLIST_STATUS unset.
const VerdictNone = "(unset)"

// DefaultNumber is the number dialed when no numbers file is given.
const DefaultNumber = agitest.DefaultExtension

// Defaults for Config's zero fields.
const (
	DefaultDuration    = 10 * time.Second
	DefaultConcurrency = 1
	DefaultCallTimeout = 5 * time.Second
	// lateStart is how far behind its schedule an open-loop call may start
	// before it counts as late.
	lateStart = time.Millisecond
	// maxConnect is Asterisk's MAX_AGI_CONNECT.
	maxConnect = 2 * time.Second
)

// Errors of Config and of the numbers file.
var (
	ErrBadConfig  = errors.New("bad load test configuration")
	ErrBadNumbers = errors.New("bad numbers file")
)

// Target is one number to dial and, if Expected is not empty, the verdict
// (BLACKLIST_STATUS) the server must give it.
type Target struct {
	Number   string
	Expected string
}

// Config describes a load test. The test stops when Duration has passed or
// Calls calls were started, whichever comes first; in-flight calls are then
// waited for (each is bounded by CallTimeout).
type Config struct {
	// URL is the AGI() argument, e.g. "agi://127.0.0.1:4573/blacklist?campaign=promo".
	URL string
	// Targets are dialed in turn, cycling; empty means DefaultNumber with no
	// expected verdict.
	Targets []Target
	// Concurrency is the number of workers of a closed loop, each placing
	// one call after another; default DefaultConcurrency. Ignored when Rate
	// is set.
	Concurrency int
	// Rate, if > 0, runs an open loop: calls start at this many per second
	// whatever the completions, at most MaxInFlight at once.
	Rate float64
	// MaxInFlight caps the calls in flight of an open loop; a call due while
	// the cap is reached starts when one ends, and counts as late. Default
	// 10000.
	MaxInFlight int
	// Duration bounds the time calls are started; default DefaultDuration
	// when Calls is 0 too.
	Duration time.Duration
	// Calls, if > 0, bounds the number of calls started.
	Calls int
	// CallTimeout bounds each call, connect to close; default
	// DefaultCallTimeout.
	CallTimeout time.Duration
}

// Latency holds latency percentiles of the calls that finished, connect to
// the server's close.
type Latency struct {
	P50  time.Duration `json:"p50"`
	P90  time.Duration `json:"p90"`
	P99  time.Duration `json:"p99"`
	P999 time.Duration `json:"p99_9"`
	Max  time.Duration `json:"max"`
	Mean time.Duration `json:"mean"`
}

// Failures counts calls that did not end as a FastAGI session should.
type Failures struct {
	// Connect counts calls whose TCP connect failed.
	Connect int `json:"connect"`
	// Timeout counts calls the server did not finish within CallTimeout.
	Timeout int `json:"timeout"`
	// NotClosed counts sessions that ended without the server closing the
	// connection.
	NotClosed int `json:"not_closed"`
}

// Total is the number of failed calls.
func (f Failures) Total() int { return f.Connect + f.Timeout + f.NotClosed }

// Report is the outcome of a load test. Durations are in nanoseconds in JSON.
// Every completed call's latency is kept until the end (8 bytes a call), so
// the percentiles are exact.
type Report struct {
	URL         string  `json:"url"`
	Mode        string  `json:"mode"` // "closed" or "open"
	Concurrency int     `json:"concurrency,omitempty"`
	Rate        float64 `json:"rate,omitempty"`
	// Sessions counts the calls started, Completed those the server closed.
	Sessions  int           `json:"sessions"`
	Completed int           `json:"completed"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	// SessionsPerSecond is Sessions / Elapsed.
	SessionsPerSecond float64 `json:"sessions_per_second"`
	Latency           Latency `json:"latency_ns"`
	// Verdicts counts BLACKLIST_STATUS values of the completed sessions.
	Verdicts map[string]int `json:"verdicts"`
	// Mismatches counts completed sessions whose verdict differs from the
	// expected one.
	Mismatches int      `json:"mismatches"`
	Failures   Failures `json:"failures"`
	// LateStarts counts open-loop calls that started more than 1ms after
	// their scheduled time.
	LateStarts int `json:"late_starts,omitempty"`
}

// Failed reports whether any call failed or got the wrong verdict.
func (r Report) Failed() bool { return r.Failures.Total() > 0 || r.Mismatches > 0 }

// ParseTargets reads a numbers file: one "NUMBER[,EXPECTED]" per line, where
// EXPECTED is ALLOWED, BLOCKED or ERROR. Blank lines and lines starting with
// "#" are skipped.
func ParseTargets(r io.Reader) ([]Target, error) {
	var targets []Target
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		number, expected, _ := strings.Cut(line, ",")
		number, expected = strings.TrimSpace(number), strings.ToUpper(strings.TrimSpace(expected))
		if !validNumber(number) {
			return nil, fmt.Errorf("%w: line %d: number %q is empty or has blanks, control characters, quotes or backslashes", ErrBadNumbers, n, number)
		}
		switch expected {
		case "", VerdictAllowed, VerdictBlocked, VerdictError:
		default:
			return nil, fmt.Errorf("%w: line %d: expected verdict %q is not ALLOWED, BLOCKED or ERROR", ErrBadNumbers, n, expected)
		}
		targets = append(targets, Target{Number: number, Expected: expected})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadNumbers, err)
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%w: no numbers", ErrBadNumbers)
	}
	return targets, nil
}

// validNumber reports whether number can be an extension in an environment
// block: not empty, printable, no blanks, quotes or backslashes.
func validNumber(number string) bool {
	if number == "" {
		return false
	}
	for _, r := range number {
		if r <= ' ' || r == 0x7f || r == '"' || r == '\\' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// dialAddress returns the host:port of an agi:// URL, port 4573 by default.
func dialAddress(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "agi" || u.Hostname() == "" {
		return "", fmt.Errorf("%w: URL %q is not agi://host[:port]/script", ErrBadConfig, rawURL)
	}
	port := u.Port()
	if port == "" {
		port = agitest.DefaultPort
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// failure classifies a call that did not complete.
type failure int

const (
	noFailure failure = iota
	connectFailure
	timeoutFailure
	notClosedFailure
)

// outcome is what one call reports to the collector.
type outcome struct {
	latency  time.Duration
	failure  failure
	verdict  string
	mismatch bool
	// aborted is set when ctx ended during the call: it is not counted.
	aborted bool
}

// collector gathers outcomes from the workers.
type collector struct {
	mu        sync.Mutex
	latencies []time.Duration
	rep       *Report
}

func (c *collector) add(o outcome) {
	if o.aborted {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch o.failure {
	case noFailure:
		c.rep.Completed++
		c.rep.Verdicts[o.verdict]++
		if o.mismatch {
			c.rep.Mismatches++
		}
		c.latencies = append(c.latencies, o.latency)
	case connectFailure:
		c.rep.Failures.Connect++
	case timeoutFailure:
		c.rep.Failures.Timeout++
	case notClosedFailure:
		c.rep.Failures.NotClosed++
	}
}

// Run runs the load test cfg describes and reports on it. It returns an
// error only for a bad configuration; when ctx is done it stops starting
// calls, cancels those in flight (which then count in Sessions only) and
// reports what it measured.
func Run(ctx context.Context, cfg Config) (Report, error) {
	addr, err := dialAddress(cfg.URL)
	if err != nil {
		return Report{}, err
	}
	switch {
	case cfg.Concurrency < 0, cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0), cfg.MaxInFlight < 0,
		cfg.Duration < 0, cfg.Calls < 0, cfg.CallTimeout < 0:
		return Report{}, fmt.Errorf("%w: negative or invalid bound in %+v", ErrBadConfig, cfg)
	}
	if cfg.Duration == 0 && cfg.Calls == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 10000
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	targets := cfg.Targets
	if len(targets) == 0 {
		targets = []Target{{Number: DefaultNumber}}
	}

	rep := Report{URL: cfg.URL, Verdicts: make(map[string]int)}
	col := &collector{rep: &rep}
	if cfg.Calls > 0 {
		col.latencies = make([]time.Duration, 0, cfg.Calls)
	}

	// startCtx ends when no more calls may start; calls run under ctx.
	startCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		startCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	// ticket hands out call numbers; false when the call bound is reached.
	var mu sync.Mutex
	issued := 0
	ticket := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if (cfg.Calls > 0 && issued >= cfg.Calls) || startCtx.Err() != nil {
			return 0, false
		}
		issued++
		return issued - 1, true
	}
	call := func(i int) {
		col.add(placeCall(ctx, addr, cfg, targets[i%len(targets)]))
	}

	start := time.Now()
	if cfg.Rate > 0 {
		rep.Mode, rep.Rate = "open", cfg.Rate
		rep.LateStarts = openLoop(startCtx, cfg, start, ticket, call)
	} else {
		rep.Mode, rep.Concurrency = "closed", cfg.Concurrency
		var wg sync.WaitGroup
		for range cfg.Concurrency {
			wg.Go(func() {
				for i, ok := ticket(); ok; i, ok = ticket() {
					call(i)
				}
			})
		}
		wg.Wait()
	}
	rep.Elapsed = time.Since(start)
	rep.Sessions = issued
	if rep.Elapsed > 0 {
		rep.SessionsPerSecond = float64(rep.Sessions) / rep.Elapsed.Seconds()
	}
	rep.Latency = percentiles(col.latencies)
	return rep, nil
}

// openLoop starts calls on the schedule start + i/Rate until ticket says
// stop, at most cfg.MaxInFlight at once, waits for them and returns the
// number of late starts.
func openLoop(startCtx context.Context, cfg Config, start time.Time, ticket func() (int, bool), call func(int)) int {
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	slots := make(chan struct{}, cfg.MaxInFlight)
	var wg sync.WaitGroup
	late := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * interval)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-startCtx.Done():
			}
		}
		select {
		case slots <- struct{}{}:
		case <-startCtx.Done():
		}
		i, ok := ticket()
		if !ok {
			break
		}
		if time.Since(due) > lateStart {
			late++
		}
		wg.Go(func() {
			defer func() { <-slots }()
			call(i)
		})
	}
	wg.Wait()
	return late
}

// placeCall places one emulated Asterisk call to addr for target.
func placeCall(ctx context.Context, addr string, cfg Config, target Target) outcome {
	dialer := net.Dialer{Timeout: min(maxConnect, cfg.CallTimeout)}
	start := time.Now()
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return outcome{aborted: true}
		}
		return outcome{failure: connectFailure}
	}
	res, err := agitest.RunConn(ctx, conn, agitest.Call{
		URL:       cfg.URL,
		Extension: target.Number,
		Timeout:   max(cfg.CallTimeout-time.Since(start), time.Millisecond),
	})
	latency := time.Since(start)
	switch {
	case ctx.Err() != nil:
		return outcome{aborted: true}
	case err != nil || res.TimedOut:
		return outcome{failure: timeoutFailure}
	case !res.ServerClosed:
		return outcome{failure: notClosedFailure}
	}
	verdict, ok := res.Vars["BLACKLIST_STATUS"]
	if !ok {
		verdict = VerdictNone
	}
	return outcome{
		latency:  latency,
		verdict:  verdict,
		mismatch: target.Expected != "" && verdict != target.Expected,
	}
}

// percentiles sorts d and returns its percentiles by the nearest-rank method.
func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p/100*float64(len(d)))) - 1
		return d[max(i, 0)]
	}
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Latency{
		P50: rank(50), P90: rank(90), P99: rank(99), P999: rank(99.9),
		Max: d[len(d)-1], Mean: sum / time.Duration(len(d)),
	}
}
