// Command agi-call places one emulated Asterisk call against a FastAGI
// server and prints what the dialplan would see afterwards: AGISTATUS, the
// variables the server set, whether and why the channel was hung up, and
// where a goto sent it. It lets you try blacklist-agi without an Asterisk.
//
//	agi-call 'agi://127.0.0.1:4573/blacklist?campaign=promo' 5511987654321
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
)

func main() {
	timeout := flag.Duration("timeout", 10*time.Second, "give up on a server that does not finish within this time")
	verbose := flag.Bool("v", false, "print every command and reply")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: agi-call [-v] [-timeout 10s] AGI_URL EXTENSION\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+time.Second)
	defer cancel()
	res, err := agitest.Run(ctx, agitest.Call{URL: flag.Arg(0), Extension: flag.Arg(1), Timeout: *timeout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "agi-call:", err)
		os.Exit(1)
	}
	if *verbose {
		for i, c := range res.Commands {
			fmt.Printf(">> %s\n", c)
			if i < len(res.Replies) {
				fmt.Printf("<< %s\n", res.Replies[i])
			}
		}
	}
	fmt.Printf("AGISTATUS=%s\n", res.AGIStatus)
	names := make([]string, 0, len(res.Vars))
	for name := range res.Vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Printf("%s=%s\n", name, res.Vars[name])
	}
	if res.HungUp {
		fmt.Printf("hung up, HANGUPCAUSE=%d\n", res.HangupCause)
	}
	if res.Goto != "" {
		fmt.Printf("goto %s\n", res.Goto)
	}
	if res.TimedOut {
		fmt.Printf("the server did not finish within %v (a real call would still be waiting)\n", *timeout)
	}
	fmt.Printf("took %v\n", res.Duration.Round(time.Microsecond))
	if res.TimedOut {
		os.Exit(1)
	}
}
