package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/blacklist/listfile"
)

// fileFlags choose the column of a CSV file and its header.
type fileFlags struct {
	column           string
	header, noHeader bool
}

func (f *fileFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.column, "column", "", "the column with the numbers: a 1-based index or a header name (default: the first)")
	cmd.Flags().BoolVar(&f.header, "header", false, "the first line is a header (default: detected)")
	cmd.Flags().BoolVar(&f.noHeader, "no-header", false, "the first line is data (default: detected)")
}

func (f *fileFlags) headerOption() *bool {
	switch {
	case f.header:
		t := true
		return &t
	case f.noHeader:
		n := false
		return &n
	}
	return nil
}

// openInput opens a file argument; "-" is stdin.
func openInput(cmd *cobra.Command, path string) (io.ReadCloser, int64, error) {
	if path == "-" {
		return io.NopCloser(cmd.InOrStdin()), 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return f, size, nil
}

// createOutput creates a file argument; "" or "-" is stdout.
func createOutput(cmd *cobra.Command, path string) (io.WriteCloser, error) {
	if path == "" || path == "-" {
		return nopWriteCloser{cmd.OutOrStdout()}, nil
	}
	return os.Create(path)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// progressBar draws progress on stderr when it is a terminal, and nothing
// otherwise (logs and pipes stay clean).
func progressBar(cmd *cobra.Command, what string, total int64) (func(listfile.Progress), func()) {
	st, err := os.Stderr.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil, func() {}
	}
	start := time.Now()
	draw := func(p listfile.Progress) {
		rate := float64(p.Rows) / max(time.Since(start).Seconds(), 0.001)
		if total > 0 && p.Bytes > 0 {
			frac := min(float64(p.Bytes)/float64(total), 1)
			width := 30
			done := int(frac * float64(width))
			fmt.Fprintf(os.Stderr, "\r%s [%s%s] %3.0f%%  %d rows  %.0f rows/s ", what,
				strings.Repeat("=", done), strings.Repeat(" ", width-done), frac*100, p.Rows, rate)
			return
		}
		fmt.Fprintf(os.Stderr, "\r%s %d rows  %.0f rows/s ", what, p.Rows, rate)
	}
	return draw, func() { fmt.Fprintln(os.Stderr) }
}

func newImportCommand() *cobra.Command {
	var lf listFlags
	var ff fileFlags
	var ef entryFlags
	var replace, merge, noDequeue bool
	var rejects string
	var batch int
	cmd := &cobra.Command{
		Use:   "import (--campaign ID | --list NAME) [--replace] FILE",
		Short: "Load a file of numbers into a list (CSV or one per line, gzip accepted)",
		Long: `Load numbers from FILE ("-" for stdin): CSV (delimiter , ; or tab, detected)
or one number per line, gzip-compressed or not (detected). Every row is
normalized like add; refused rows are written with their line number and
reason to the reject file, and the rest goes in. Streaming, batched and
pipelined: memory stays constant whatever the file's size.

--merge (default) adds to the list. --replace builds the new list beside the
live one and swaps it in atomically: a call never sees a half-loaded list,
and the old one is freed in the background (per-entry metadata and expiry
are dropped). Numbers also leave the dialer queues of the campaigns that use
the list (--no-dequeue to skip).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if replace && merge {
				return fmt.Errorf("give --merge or --replace, not both")
			}
			s, t, err := lf.open(cmd)
			if err != nil {
				return err
			}
			in, size, err := openInput(cmd, args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			if rejects == "" && args[0] != "-" {
				rejects = args[0] + ".rejects.csv"
			}
			rej := &lazyFile{path: rejects}
			defer rej.Close()
			mode := listfile.ModeMerge
			if replace {
				mode = listfile.ModeReplace
			}
			progress, done := progressBar(cmd, "importing", size)
			opt := listfile.ImportOptions{
				List: t.List, Keys: blacklist.Keys{Prefix: s.cfg.KeyPrefix}, Mode: mode, Rules: t.Rules,
				Name: args[0], Column: ff.column, Header: ff.headerOption(), BatchSize: batch,
				By: ef.by, Reason: firstNonEmpty(ef.reason, t.Reason), Source: "import:" + args[0], Note: ef.note,
				Rejects: rej, Progress: progress, AuditMaxLen: s.cfg.Management.AuditMaxLen,
			}
			if !noDequeue {
				opt.Queues = t.Queues
			}
			sum, err := listfile.Import(cmd.Context(), s.rdb, in, opt)
			done()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s (%s): read %d rows in %v: %d added, %d already present, %d duplicates in the file, %d refused%s\n",
				t.List.Name, mode, sum.Read, sum.Duration.Round(time.Millisecond), sum.Added, sum.Present, sum.Duplicates, sum.Refused, dequeued(sum.Dequeued))
			if sum.Refused > 0 {
				fmt.Fprintf(out, "refused rows (line, input, reason): %s\n", rejects)
				return &exitError{code: exitRefused}
			}
			return nil
		},
	}
	lf.register(cmd)
	ff.register(cmd)
	cmd.Flags().StringVar(&ef.by, "by", currentUser(), "who is importing (audit log)")
	cmd.Flags().StringVar(&ef.reason, "reason", "", "the reason recorded for this import (default: the list's reason)")
	cmd.Flags().StringVar(&ef.note, "note", "", "free text for the audit log")
	cmd.Flags().BoolVar(&merge, "merge", false, "add to the list (the default)")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the whole list atomically")
	cmd.Flags().BoolVar(&noDequeue, "no-dequeue", false, "do not remove the numbers from the dialer queues")
	cmd.Flags().StringVar(&rejects, "rejects", "", "where refused rows go (default FILE.rejects.csv; created only when a row is refused)")
	cmd.Flags().IntVar(&batch, "batch", 0, "members per Redis command (default 1000)")
	return cmd
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// lazyFile creates its file on the first write, so that a clean import
// leaves no empty reject file behind.
type lazyFile struct {
	path string
	f    *os.File
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		if l.path == "" {
			return len(p), nil
		}
		f, err := os.Create(l.path)
		if err != nil {
			return 0, err
		}
		l.f = f
	}
	return l.f.Write(p)
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

func newExportCommand() *cobra.Command {
	var lf listfileFlags
	cmd := &cobra.Command{
		Use:   "export (--campaign ID | --list NAME) [-o FILE]",
		Short: "Write a list to CSV with each entry's metadata",
		Long: `Write every entry of a list as CSV with the header
member,reason,source,added_by,added_at,expires_at,note
(compact lists: member only). The list is read page by page (SSCAN).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, t, err := lf.open(cmd)
			if err != nil {
				return err
			}
			out, err := createOutput(cmd, lf.output)
			if err != nil {
				return err
			}
			n, err := listfile.Export(cmd.Context(), s.rdb, t.List, out)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if lf.output != "" && lf.output != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d entries written to %s\n", t.List.Name, n, lf.output)
			}
			return nil
		},
	}
	lf.register(cmd)
	cmd.Flags().StringVarP(&lf.output, "output", "o", "", "the CSV file (default stdout)")
	return cmd
}

// listfileFlags are listFlags plus an output file.
type listfileFlags struct {
	listFlags
	output string
}

func newScrubCommand() *cobra.Command {
	var ff fileFlags
	var campaign, output, report string
	cmd := &cobra.Command{
		Use:   "scrub --campaign ID LEADS.csv",
		Short: "Remove every blacklisted number from a dialer's lead file",
		Long: `Check every row of a lead file against every list the campaign's calls are
checked against (its own list, its shared lists, the lists for all
campaigns), exactly as a call would be checked (number rules, prefix entries,
expiry), and write the rows that may be called to the clean file (same
columns, same order) and the removed ones to a report with the list and
entry that matched. Rows whose number is not a number go to the report too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if campaign == "" {
				return fmt.Errorf("scrub needs --campaign: the lists checked are the campaign's")
			}
			s, err := openSession(cmd)
			if err != nil {
				return err
			}
			lists, rules := s.mgr.CheckLists(campaign)
			in, size, err := openInput(cmd, args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			base := strings.TrimSuffix(strings.TrimSuffix(args[0], ".gz"), ".csv")
			if output == "" {
				output = base + ".clean.csv"
			}
			if report == "" {
				report = base + ".removed.csv"
			}
			clean, err := os.Create(output)
			if err != nil {
				return err
			}
			defer clean.Close()
			removed, err := os.Create(report)
			if err != nil {
				return err
			}
			defer removed.Close()
			progress, done := progressBar(cmd, "scrubbing", size)
			sum, err := listfile.Scrub(cmd.Context(), blacklist.NewChecker(s.rdb), in, clean, removed, listfile.ScrubOptions{
				Lists: lists, Rules: rules, Name: args[0], Column: ff.column, Header: ff.headerOption(), Progress: progress,
			})
			done()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d rows read, %d kept -> %s, %d removed (%d invalid numbers) -> %s\n",
				campaign, sum.Read, sum.Kept, output, sum.Removed, sum.Invalid, report)
			for list, n := range sum.ByList {
				fmt.Fprintf(out, "  %s: %d\n", list, n)
			}
			return nil
		},
	}
	ff.register(cmd)
	cmd.Flags().StringVar(&campaign, "campaign", "", "the campaign whose lists apply")
	cmd.Flags().StringVarP(&output, "output", "o", "", "the clean lead file (default LEADS.clean.csv)")
	cmd.Flags().StringVar(&report, "report", "", "the removed rows (default LEADS.removed.csv)")
	return cmd
}
