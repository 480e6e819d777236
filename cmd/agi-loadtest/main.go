// Command agi-loadtest loads a FastAGI server the way Asterisk would: it
// places emulated calls (package agi/agitest: the environment block in
// chunks, the replies, the HANGUP lines, 511 after a hangup) against one
// agi:// address, either in a closed loop (N workers, each placing one call
// after another) or in an open loop (calls started at a fixed rate whatever
// the completions), and reports sessions per second, latency percentiles,
// verdicts, verdict mismatches and failures, as text or JSON.
//
//	agi-loadtest -url 'agi://127.0.0.1:4573/blacklist?campaign=promo' -concurrency 100 -duration 10s
//	agi-loadtest -url 'agi://127.0.0.1:4573/blacklist?campaign=promo' -numbers numbers.txt -rate 2000 -calls 100000 -json
//
// A numbers file has one "NUMBER[,EXPECTED]" per line, EXPECTED being
// ALLOWED, BLOCKED or ERROR; calls use the numbers in turn, cycling, and a
// BLACKLIST_STATUS other than EXPECTED counts as a mismatch. The exit status
// is 1 when any call failed or mismatched, 2 on bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command without the process: it parses args, runs the test,
// prints the report to stdout and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agi-loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.URL, "url", "", "AGI() URL to call, e.g. agi://127.0.0.1:4573/blacklist?campaign=promo (required)")
	numbers := fs.String("numbers", "", "file of NUMBER[,EXPECTED] lines, dialed in turn")
	number := fs.String("number", DefaultNumber, "the number dialed when there is no -numbers file")
	fs.IntVar(&cfg.Concurrency, "concurrency", DefaultConcurrency, "closed loop: calls in flight, each worker placing one call after another")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: calls started per second whatever the completions (overrides -concurrency)")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", 10000, "open loop: most calls in flight; calls due beyond it start late")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop starting calls after this long (default 10s when -calls is not set)")
	fs.IntVar(&cfg.Calls, "calls", 0, "stop after starting this many calls")
	fs.DurationVar(&cfg.CallTimeout, "timeout", DefaultCallTimeout, "bound on each call, connect to close")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.URL == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: agi-loadtest -url agi://host:port/script [-numbers FILE | -number N] [-concurrency N | -rate R] [-duration D] [-calls N] [-json]")
		return 2
	}
	if *numbers != "" {
		f, err := os.Open(*numbers)
		if err != nil {
			fmt.Fprintln(stderr, "agi-loadtest:", err)
			return 2
		}
		cfg.Targets, err = ParseTargets(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "agi-loadtest: %s: %v\n", *numbers, err)
			return 2
		}
	} else {
		cfg.Targets = []Target{{Number: *number}}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "agi-loadtest:", err)
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "agi-loadtest:", err)
			return 1
		}
	} else {
		writeText(stdout, rep)
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

// writeText prints rep for people.
func writeText(w io.Writer, rep Report) {
	load := fmt.Sprintf("closed loop, concurrency %d", rep.Concurrency)
	if rep.Mode == "open" {
		load = fmt.Sprintf("open loop, %g calls/s, %d late starts", rep.Rate, rep.LateStarts)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "target     %s (%s)\n", rep.URL, load)
	fmt.Fprintf(w, "sessions   %d started, %d completed in %s: %.0f sessions/s\n",
		rep.Sessions, rep.Completed, rep.Elapsed.Round(time.Millisecond), rep.SessionsPerSecond)
	l := rep.Latency
	fmt.Fprintf(w, "latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
		ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), ms(l.Mean))
	verdicts := make([]string, 0, len(rep.Verdicts))
	for v := range rep.Verdicts {
		verdicts = append(verdicts, v)
	}
	slices.Sort(verdicts)
	fmt.Fprintf(w, "verdicts  ")
	for _, v := range verdicts {
		fmt.Fprintf(w, " %s=%d", v, rep.Verdicts[v])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "mismatches %d\n", rep.Mismatches)
	f := rep.Failures
	fmt.Fprintf(w, "failures   %d (connect %d, timeout %d, server did not close %d)\n", f.Total(), f.Connect, f.Timeout, f.NotClosed)
}
