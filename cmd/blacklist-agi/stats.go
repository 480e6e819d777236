package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/manage"
)

// statsReport is the output of stats --json.
type statsReport struct {
	Since     time.Time                 `json:"since"`
	Until     time.Time                 `json:"until"`
	Campaigns []callstats.CampaignStats `json:"campaigns"`
	Blocked   []callstats.BlockedCall   `json:"blocked"`
}

func newStatsCommand() *cobra.Command {
	var campaign, since string
	var last int64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats [--campaign ID] [--since 24h] [--last 20] [--json]",
		Short: "Calls checked, allowed and blocked per campaign and list, and the last blocked calls",
		Long: `Show what the servers decided, from the figures every server instance
keeps in Redis: per campaign the calls checked, allowed, blocked and failed
and the time of the last block, per list how many calls it blocked, then the
last blocked calls from the blocked-call log.

Counters are kept per hour (UTC): --since 24h counts from the start of the
hour 24 hours ago. Calls without a valid campaign id are counted under "-".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			window, err := manage.ParseTTL(since)
			if err != nil {
				return fmt.Errorf("--since %q: want a duration such as 24h, 90m, 7d or 2w", since)
			}
			if last < 0 || last > callstats.MaxCount {
				return fmt.Errorf("--last %d: want 0 to %d", last, callstats.MaxCount)
			}
			var campaigns []string
			if campaign != "" {
				campaigns = []string{campaign}
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			rdb, err := newRedisClient(cfg.Redis)
			if err != nil {
				return err
			}
			defer rdb.Close()
			keys := blacklist.Keys{Prefix: cfg.KeyPrefix}
			ctx := cmd.Context()

			until := time.Now()
			from := until.Add(-window)
			r := statsReport{Since: from.Truncate(time.Hour).UTC(), Until: until.UTC(), Blocked: []callstats.BlockedCall{}}
			if r.Campaigns, err = callstats.Stats(ctx, rdb, keys, campaigns, from, until); err != nil {
				return err
			}
			if last > 0 {
				r.Blocked, _, err = callstats.Blocked(ctx, rdb, keys, callstats.Query{Campaign: campaign, From: from, Count: last})
				if err != nil {
					return err
				}
			}
			if asJSON {
				writeJSON(cmd.OutOrStdout(), r)
				return nil
			}
			printStats(cmd.OutOrStdout(), r, last > 0)
			return nil
		},
	}
	cmd.Flags().StringVar(&campaign, "campaign", "", `only this campaign ("-": calls without a valid campaign id)`)
	cmd.Flags().StringVar(&since, "since", "24h", "how far back: 90m, 24h, 7d, 2w")
	cmd.Flags().Int64Var(&last, "last", 20, "how many of the last blocked calls to list (0: none)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printStats writes the report as tables; listed says whether the last
// blocked calls were asked for.
func printStats(w io.Writer, r statsReport, listed bool) {
	const layout = "2006-01-02 15:04:05"
	fmt.Fprintf(w, "calls from %s to %s\n\n", r.Since.Local().Format(layout), r.Until.Local().Format(layout))
	if len(r.Campaigns) == 0 {
		fmt.Fprintln(w, "no calls checked")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CAMPAIGN\tCHECKED\tALLOWED\tBLOCKED\tERRORS\tLAST BLOCK")
		for _, c := range r.Campaigns {
			lastBlock := "-"
			if !c.LastBlock.IsZero() {
				lastBlock = c.LastBlock.Local().Format(layout)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", c.Campaign, c.Checked, c.Allowed, c.Blocked, c.Errors, lastBlock)
		}
		tw.Flush()

		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CAMPAIGN\tLIST\tBLOCKED")
		for _, c := range r.Campaigns {
			lists := make([]string, 0, len(c.Lists))
			for l := range c.Lists {
				lists = append(lists, l)
			}
			// The lists that blocked most first.
			slices.SortFunc(lists, func(a, b string) int {
				if d := c.Lists[b] - c.Lists[a]; d != 0 {
					return int(min(max(d, -1), 1))
				}
				return strings.Compare(a, b)
			})
			for _, l := range lists {
				fmt.Fprintf(tw, "%s\t%s\t%d\n", c.Campaign, l, c.Lists[l])
			}
		}
		tw.Flush()
	}
	if !listed {
		return
	}
	fmt.Fprintf(w, "\nlast %d blocked calls\n", len(r.Blocked))
	if len(r.Blocked) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tCAMPAIGN\tNUMBER\tLIST\tENTRY\tSTATUS\tREASON")
	for _, b := range r.Blocked {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.At.Local().Format(layout),
			cell(b.Campaign), cell(b.Number), cell(b.List), cell(b.Entry), cell(b.Status), cell(b.Reason))
	}
	tw.Flush()
}

// cell makes a log field safe for one table cell: "-" when empty, control
// characters (a tab would shift the columns) as '?'.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
