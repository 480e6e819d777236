package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/guard"
)

// Exit codes of check, so scripts can branch without parsing output.
const (
	exitBlocked     = 3
	exitCheckFailed = 4
)

func newCheckCommand() *cobra.Command {
	var campaign string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check NUMBER",
		Short: "Check one number as a call would be checked",
		Long: `Check one number exactly as a call for the campaign would be checked: print
the normalized number and the verdict, with the list and entry that matched.
Exit status: 0 allowed, 3 blocked, 4 check failed (Redis or a bad number), 1 usage or config error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			logger := newLogger(config.Log{Level: "error", Format: cfg.Log.Format})
			rdb, err := newRedisClient(cfg.Redis)
			if err != nil {
				return err
			}
			defer rdb.Close()
			g := guard.New(cfg, blacklist.NewChecker(rdb), newStore(cfg, rdb), logger)
			if _, err := g.LoadCampaigns(config.NewCampaignLoader(cfg)); err != nil {
				return err
			}
			v := g.Check(cmd.Context(), campaign, args[0])
			if asJSON {
				printVerdictJSON(cmd, v)
			} else {
				printVerdict(cmd, v)
			}
			switch {
			case v.Status == guard.StatusBlocked:
				return &exitError{code: exitBlocked}
			case v.Status == guard.StatusError:
				return &exitError{code: exitCheckFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&campaign, "campaign", "", "campaign id (unknown or empty: the default lists)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verdict as JSON")
	return cmd
}

func printVerdict(cmd *cobra.Command, v guard.Verdict) {
	out := cmd.OutOrStdout()
	campaign := v.Campaign
	switch {
	case campaign == "":
		campaign = "(none: default lists)"
	case !v.Known:
		campaign += " (no campaign file: default lists)"
	}
	fmt.Fprintf(out, "campaign: %s\n", campaign)
	fmt.Fprintf(out, "dialed:   %s\n", v.Dialed)
	if v.Number.Canonical != "" {
		fmt.Fprintf(out, "number:   %s (%s)\n", v.Number.Canonical, v.Number.Kind)
	}
	fmt.Fprintf(out, "verdict:  %s\n", v.Status)
	switch v.Status {
	case guard.StatusBlocked:
		fmt.Fprintf(out, "list:     %s\nentry:    %s\n", v.List, v.Entry)
		if v.Reason != "" {
			fmt.Fprintf(out, "reason:   %s\n", v.Reason)
		}
		m := v.Meta
		for _, kv := range [][2]string{{"source", m.Source}, {"added by", m.AddedBy}, {"note", m.Note}} {
			if kv[1] != "" {
				fmt.Fprintf(out, "%-9s %s\n", kv[0]+":", kv[1])
			}
		}
		if !m.AddedAt.IsZero() {
			fmt.Fprintf(out, "added at: %s\n", m.AddedAt.Local().Format(time.RFC3339))
		}
		if !m.ExpiresAt.IsZero() {
			fmt.Fprintf(out, "expires:  %s\n", m.ExpiresAt.Local().Format(time.RFC3339))
		}
	case guard.StatusError:
		action := "allowed (on_error: allow)"
		if v.Block {
			action = "blocked (on_error: block)"
		}
		fmt.Fprintf(out, "error:    %v\ncall:     %s\n", v.Err, action)
	}
}

func printVerdictJSON(cmd *cobra.Command, v guard.Verdict) {
	writeJSON(cmd.OutOrStdout(), v.View())
}
