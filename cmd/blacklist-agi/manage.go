package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/manage"
)

// Exit status of add and rm when some entry was refused.
const exitRefused = 5

// session is what a list command needs: the configuration, Redis and the
// manager over them.
type session struct {
	cfg *config.Config
	rdb redis.UniversalClient
	mgr *manage.Manager
}

// openSession loads the configuration and campaign files and connects to
// Redis. A bad campaign file is an error: list commands act on what the
// server serves, and must not guess.
func openSession(cmd *cobra.Command) (*session, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	campaigns, err := config.NewCampaignLoader(cfg).Load()
	if err != nil {
		return nil, err
	}
	rdb, err := newRedisClient(cfg.Redis)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, rdb: rdb, mgr: manage.New(cfg, campaigns, newStore(cfg, rdb))}
	cobra.OnFinalize(func() { rdb.Close() })
	return s, nil
}

// listFlags are --campaign and --list, which name the list a command acts on.
type listFlags struct{ campaign, list string }

// open opens a session and resolves the list the flags name.
func (f *listFlags) open(cmd *cobra.Command) (*session, manage.Target, error) {
	s, err := openSession(cmd)
	if err != nil {
		return nil, manage.Target{}, err
	}
	t, err := s.mgr.Resolve(f.campaign, f.list)
	return s, t, err
}

func (f *listFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.campaign, "campaign", "", "the campaign's own list (blacklist:campaign:{ID})")
	cmd.Flags().StringVar(&f.list, "list", "", "a shared list declared in the main config (blacklist:list:{NAME})")
}

// entryFlags describe the entries added: why, by whom, until when.
type entryFlags struct {
	reason, note, by, source, ttl, until string
}

func (f *entryFlags) register(cmd *cobra.Command, adding bool) {
	cmd.Flags().StringVar(&f.reason, "reason", "", "why: opt-out, consent-revoked, nao-me-perturbe, spam, no-answer, invalid, manual, legal, deceased, or free text (default: the list's reason)")
	cmd.Flags().StringVar(&f.note, "note", "", "free text kept with the entry and in the audit log")
	cmd.Flags().StringVar(&f.by, "by", currentUser(), "who is making the change (audit log)")
	cmd.Flags().StringVar(&f.source, "source", "cli", "where the change comes from (audit log)")
	if adding {
		cmd.Flags().StringVar(&f.ttl, "ttl", "", "the entry expires after this long: 30d, 2w, 36h")
		cmd.Flags().StringVar(&f.until, "until", "", "the entry blocks through this date (2026-12-31) or until this RFC 3339 time")
	}
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// entries returns the command's arguments, or the lines of stdin when there
// are none (or the only one is "-").
func entries(cmd *cobra.Command, args []string) ([]string, error) {
	if len(args) > 0 && !(len(args) == 1 && args[0] == "-") {
		return args, nil
	}
	var out []string
	sc := bufio.NewScanner(cmd.InOrStdin())
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading entries from stdin: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no entries: give them as arguments or one per line on stdin")
	}
	return out, nil
}

func newAddCommand() *cobra.Command {
	var lf listFlags
	var ef entryFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "add (--campaign ID | --list NAME) [flags] ENTRY... | -",
		Short: "Add numbers, extensions or prefix entries to a list",
		Long: `Add entries to a campaign's own list or to a shared list. Each entry is
normalized with the campaign's number rules (or the defaults), so any shape a
dialer or a person writes is accepted: "(11) 98765-4321", "+55 11 98765 4321",
"011987654321". Prefix entries are canonical digits ending in "*" (55900*).
Entries come from the arguments, or one per line on stdin.

In the same round trip the numbers leave the dialer queue (contacts_key) of
every campaign that uses the list, an audit record is written and an event
is published. Garbage is refused with the reason; the rest still goes in.
Exit status: 0 all taken, 5 some entry refused, 1 error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, t, err := lf.open(cmd)
			if err != nil {
				return err
			}
			in, err := entries(cmd, args)
			if err != nil {
				return err
			}
			now := time.Now()
			expires, err := manage.Expiry(ef.ttl, ef.until, now, time.Local)
			if err != nil {
				return err
			}
			res, refused, err := s.mgr.Add(cmd.Context(), t, in, blacklist.AddOptions{Meta: blacklist.Meta{
				Reason: ef.reason, Source: ef.source, AddedBy: ef.by, Note: ef.note, ExpiresAt: expires,
			}})
			if err != nil {
				return err
			}
			for _, r := range res.Refused {
				refused = append(refused, manage.Refusal{Input: r.Entry, Reason: r.Reason})
			}
			out := cmd.OutOrStdout()
			if asJSON {
				writeJSON(out, map[string]any{"list": t.List.Name, "added": res.Added, "present": res.Present, "refused": refused, "dequeued": res.Dequeued})
			} else {
				for _, m := range res.Added {
					fmt.Fprintf(out, "added    %s\n", m)
				}
				for _, m := range res.Present {
					fmt.Fprintf(out, "present  %s (already in the list; metadata updated)\n", m)
				}
				printRefused(cmd, refused)
				fmt.Fprintf(out, "%s: %d added, %d already present, %d refused%s\n", t.List.Name,
					len(res.Added), len(res.Present), len(refused), dequeued(res.Dequeued))
			}
			if len(refused) > 0 {
				return &exitError{code: exitRefused}
			}
			return nil
		},
	}
	lf.register(cmd)
	ef.register(cmd, true)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func newRemoveCommand() *cobra.Command {
	var lf listFlags
	var ef entryFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "rm (--campaign ID | --list NAME) [flags] ENTRY... | -",
		Aliases: []string{"remove"},
		Short:   "Remove entries from a list",
		Long: `Remove entries from a list, normalized as add does. The removal is audited
and published. Exit status: 0 all taken, 5 some entry refused, 1 error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, t, err := lf.open(cmd)
			if err != nil {
				return err
			}
			in, err := entries(cmd, args)
			if err != nil {
				return err
			}
			res, refused, err := s.mgr.Remove(cmd.Context(), t, in, blacklist.RemoveOptions{
				By: ef.by, Reason: ef.reason, Source: ef.source, Note: ef.note,
			})
			if err != nil {
				return err
			}
			for _, r := range res.Refused {
				refused = append(refused, manage.Refusal{Input: r.Entry, Reason: r.Reason})
			}
			out := cmd.OutOrStdout()
			if asJSON {
				writeJSON(out, map[string]any{"list": t.List.Name, "removed": res.Removed, "absent": res.Absent, "refused": refused})
			} else {
				for _, m := range res.Removed {
					fmt.Fprintf(out, "removed  %s\n", m)
				}
				for _, m := range res.Absent {
					fmt.Fprintf(out, "absent   %s (was not in the list)\n", m)
				}
				printRefused(cmd, refused)
				fmt.Fprintf(out, "%s: %d removed, %d absent, %d refused\n", t.List.Name, len(res.Removed), len(res.Absent), len(refused))
			}
			if len(refused) > 0 {
				return &exitError{code: exitRefused}
			}
			return nil
		},
	}
	lf.register(cmd)
	ef.register(cmd, false)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func printRefused(cmd *cobra.Command, refused []manage.Refusal) {
	for _, r := range refused {
		fmt.Fprintf(cmd.ErrOrStderr(), "refused  %q: %s\n", r.Input, r.Reason)
	}
}

func dequeued(d map[string]int64) string {
	if len(d) == 0 {
		return ""
	}
	var parts []string
	for campaign, n := range d {
		parts = append(parts, fmt.Sprintf("%s: %d", campaign, n))
	}
	return "; removed from dialer queues: " + strings.Join(parts, ", ")
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func newListsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lists",
		Short: "Every list with its size, the campaigns that use it and its last change",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openSession(cmd)
			if err != nil {
				return err
			}
			infos, err := s.mgr.Store().Lists(cmd.Context(), s.mgr.DeclaredLists())
			if err != nil {
				return err
			}
			type row struct {
				Name       string    `json:"name"`
				Kind       string    `json:"kind"`
				Layout     string    `json:"layout"`
				Key        string    `json:"key"`
				Size       int64     `json:"size"`
				UsedBy     []string  `json:"used_by"`
				LastChange time.Time `json:"last_change,omitzero"`
				LastBy     string    `json:"last_change_by,omitempty"`
				LastOp     string    `json:"last_op,omitempty"`
			}
			var rows []row
			for _, li := range infos {
				r := row{Name: li.List.Name, Kind: "shared", Layout: layoutName(li.List.Layout), Key: li.List.Key,
					Size: li.Size, LastChange: li.LastChange, LastBy: li.LastChangeBy, LastOp: li.LastOp}
				if li.List.Campaign {
					r.Kind, r.UsedBy = "campaign", []string{li.List.Name}
				} else {
					r.UsedBy = s.mgr.UsedBy(li.List.Name)
				}
				rows = append(rows, r)
			}
			if asJSON {
				writeJSON(cmd.OutOrStdout(), rows)
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LIST\tKIND\tLAYOUT\tSIZE\tUSED BY\tLAST CHANGE")
			for _, r := range rows {
				last := "-"
				if !r.LastChange.IsZero() {
					last = r.LastChange.Local().Format("2006-01-02 15:04") + " " + r.LastOp + " by " + r.LastBy
				}
				used := strings.Join(r.UsedBy, ",")
				if used == "" {
					used = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Name, r.Kind, r.Layout, r.Size, used, last)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func layoutName(l string) string {
	if l == "" {
		return blacklist.LayoutPlain
	}
	return l
}

func newLsCommand() *cobra.Command {
	var lf listFlags
	var cursor string
	var count int64
	var all bool
	cmd := &cobra.Command{
		Use:   "ls (--campaign ID | --list NAME)",
		Short: "Page through a list (SSCAN: safe on a list of millions)",
		Long: `Print one page of a list's entries and, on stderr, the cursor of the next
page (give it back with --cursor). --all prints every entry, page by page.
Order is Redis's, not sorted. The list is read with SSCAN, never KEYS or
SMEMBERS, so Redis is never blocked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, t, err := lf.open(cmd)
			if err != nil {
				return err
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			if all {
				return s.mgr.Store().Each(cmd.Context(), t.List, "", func(m string) error {
					_, err := fmt.Fprintln(out, m)
					return err
				})
			}
			members, next, err := s.mgr.Store().Scan(cmd.Context(), t.List, cursor, "", count)
			if err != nil {
				return err
			}
			for _, m := range members {
				fmt.Fprintln(out, m)
			}
			if next != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "more: --cursor %s\n", next)
			}
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue from this cursor (printed by the previous page)")
	cmd.Flags().Int64Var(&count, "count", 100, "about how many entries per page")
	cmd.Flags().BoolVar(&all, "all", false, "print every entry")
	return cmd
}

func newCountCommand() *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "count (--campaign ID | --list NAME)",
		Short: "How many entries a list holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, t, err := lf.open(cmd)
			if err != nil {
				return err
			}
			n, err := s.mgr.Store().Count(cmd.Context(), t.List)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), n)
			return nil
		},
	}
	lf.register(cmd)
	return cmd
}

func newSearchCommand() *cobra.Command {
	var lf listFlags
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "search (--campaign ID | --list NAME) NUMBER | PREFIX*",
		Short: "Find a number (any shape) or every entry starting with a prefix",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, t, err := lf.open(cmd)
			if err != nil {
				return err
			}
			query := args[0]
			if !strings.HasSuffix(query, "*") {
				n := t.Normalize([]string{query})
				if len(n.Refused) > 0 {
					return fmt.Errorf("%q: %s", query, n.Refused[0].Reason)
				}
				query = n.Members[0]
			} else if n := t.Normalize([]string{query}); len(n.Members) == 1 {
				query = n.Members[0]
			}
			found, err := s.mgr.Store().Search(cmd.Context(), t.List, query, limit)
			if err != nil {
				return err
			}
			if asJSON {
				writeJSON(cmd.OutOrStdout(), found)
				return nil
			}
			for _, e := range found {
				fmt.Fprintln(cmd.OutOrStdout(), describeEntry(e))
			}
			if len(found) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: nothing matches %s\n", t.List.Name, query)
			}
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many results")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

// describeEntry is one line: the member and what is known of it.
func describeEntry(e blacklist.Entry) string {
	var b strings.Builder
	b.WriteString(e.Member)
	m := e.Meta
	add := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %s=%s", k, v)
		}
	}
	add("reason", m.Reason)
	add("source", m.Source)
	add("added_by", m.AddedBy)
	if !m.AddedAt.IsZero() {
		add("added_at", m.AddedAt.Local().Format(time.RFC3339))
	}
	if !m.ExpiresAt.IsZero() {
		add("expires_at", m.ExpiresAt.Local().Format(time.RFC3339))
	}
	add("note", m.Note)
	if e.Expired {
		b.WriteString("  (expired: no longer blocks)")
	}
	return b.String()
}

func newSweepCommand() *cobra.Command {
	var batch int64
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Remove expired entries from every list now",
		Long: `Remove expired entries from every list (the server does this in the
background every management.sweep_interval; an expired entry never blocks a
call even before it is swept).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := openSession(cmd)
			if err != nil {
				return err
			}
			removed, err := manage.SweepAll(cmd.Context(), s.mgr.Store(), s.mgr.DeclaredLists(), batch)
			var total int64
			for key, n := range removed {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d expired entries removed\n", key, n)
				total += n
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d expired entries removed\n", total)
			return err
		},
	}
	cmd.Flags().Int64Var(&batch, "batch", 1000, "entries removed per step")
	return cmd
}
