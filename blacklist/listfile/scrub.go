package listfile

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// Defaults of ScrubOptions.
const (
	DefaultScrubBatch       = 1000
	DefaultScrubConcurrency = 4
)

// ScrubOptions say what to check a lead file against.
type ScrubOptions struct {
	// Lists are the lists a call of the campaign is checked against, in
	// order (the first that blocks a number is the one reported).
	Lists []blacklist.List
	// Rules normalize the numbers: the campaign's.
	Rules number.Rules
	// Name names the input in errors: the file name, or "stdin".
	Name   string
	Column string // see ReaderOptions
	Header *bool  // see ReaderOptions
	// BatchSize is how many rows one CheckBatch checks;
	// DefaultScrubBatch when 0.
	BatchSize int
	// Concurrency is how many CheckBatch calls are in flight at once;
	// DefaultScrubConcurrency when 0.
	Concurrency int
	// Progress, when set, is called at most about ten times a second
	// while the file is read, and once at the end.
	Progress func(Progress)
}

// ScrubSummary is what a scrub did. Read = Kept + Removed.
type ScrubSummary struct {
	Read    int64 // rows read, header excluded
	Kept    int64 // rows written to the clean file
	Removed int64 // rows written to the report: blocked, or Invalid
	Invalid int64 // rows removed because their number is not a number
	// ByList counts the rows removed by each list, by name.
	ByList map[string]int64
}

// ScrubReportHeader is the header of the report of removed rows: the row's
// line, the number as the file has it, its canonical form, the list and
// entry that block it, and why: the entry's reason, or what is wrong with
// an invalid number.
var ScrubReportHeader = []string{"line", "number", "normalized", "list", "entry", "reason"}

// Scrub reads a dialer's lead file from in (CSV or one number per line, as
// Reader reads it), checks the number of every row against opt.Lists with
// the checker, exactly as a call would be checked (prefix entries, expiry,
// compact lists), and writes each row to clean or to removed.
//
// clean gets the rows that may be called, as they were read (same columns,
// quoting and line endings, the header first), in the file's order; blank
// lines and comment lines are left out. removed gets a CSV report under
// ScrubReportHeader: one line per row blocked, and one per row whose number
// is not a number (a lead that cannot be dialed: its reason says why, with
// "invalid number: " first), in the file's order too.
//
// Rows are checked in batches of opt.BatchSize with CheckBatch (one Redis
// round trip per batch), opt.Concurrency batches at a time. An error of the
// file, of Redis or of a writer stops the scrub: what was written is then a
// prefix of the result.
func Scrub(ctx context.Context, checker *blacklist.Checker, in io.Reader, clean, removed io.Writer, opt ScrubOptions) (ScrubSummary, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultScrubBatch
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = DefaultScrubConcurrency
	}
	if opt.Name == "" {
		opt.Name = "input"
	}
	for _, l := range opt.Lists {
		if err := blacklist.ValidLayout(l.Layout); err != nil {
			return ScrubSummary{}, fmt.Errorf("scrub of %s: %w", opt.Name, err)
		}
	}
	lr, err := NewReader(in, ReaderOptions{Name: opt.Name, Column: opt.Column, Header: opt.Header, Raw: true})
	if err != nil {
		return ScrubSummary{}, err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s := &scrubber{
		ctx: ctx, cancel: cancel, checker: checker, opt: opt, lr: lr,
		clean: clean, report: csv.NewWriter(removed),
		sum: ScrubSummary{ByList: map[string]int64{}},
	}
	ordered := make(chan *scrubBatch, opt.Concurrency)
	var out sync.WaitGroup
	out.Go(func() { s.write(ordered) })
	readErr := s.read(ordered)
	close(ordered)
	s.inFlight.Wait()
	out.Wait()
	if readErr == nil {
		readErr = context.Cause(ctx)
	}
	if readErr == nil {
		s.report.Flush()
		if err := s.report.Error(); err != nil {
			readErr = fmt.Errorf("scrub of %s: writing the report: %w", opt.Name, err)
		}
	}
	return s.sum, readErr
}

type scrubber struct {
	ctx      context.Context
	cancel   context.CancelCauseFunc
	checker  *blacklist.Checker
	opt      ScrubOptions
	lr       *Reader
	clean    io.Writer
	report   *csv.Writer
	inFlight sync.WaitGroup
	sum      ScrubSummary // Read by read; the rest by write
}

// scrubBatch is a batch of rows, checked by a goroutine of its own and
// written in the file's order.
type scrubBatch struct {
	rows    []scrubRow
	members []string // the valid rows' numbers
	results []blacklist.BatchResult
	done    chan struct{}
}

type scrubRow struct {
	line    int64
	raw     string
	value   string
	member  string // the canonical number; "" for an invalid one
	invalid string // why the number is not one
}

// read reads the rows in batches and starts the check of each.
func (s *scrubber) read(ordered chan<- *scrubBatch) error {
	progress := progressReporter{fn: s.opt.Progress}
	defer progress.done(s.lr)
	sem := make(chan struct{}, s.opt.Concurrency)
	b := s.newBatch()
	send := func() error {
		select {
		case sem <- struct{}{}:
		case <-s.ctx.Done():
			return context.Cause(s.ctx)
		}
		batch := b
		s.inFlight.Go(func() {
			defer func() { <-sem }()
			defer close(batch.done)
			if len(batch.members) == 0 {
				return
			}
			res, err := s.checker.CheckBatch(s.ctx, batch.members, s.opt.Lists)
			if err != nil {
				s.cancel(fmt.Errorf("scrub of %s: %w", s.opt.Name, err))
				return
			}
			batch.results = res
		})
		select {
		case ordered <- batch:
		case <-s.ctx.Done():
			return context.Cause(s.ctx)
		}
		b = s.newBatch()
		return nil
	}
	for {
		rec, err := s.lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		s.sum.Read++
		progress.row(s.lr)
		r := scrubRow{line: rec.Line, raw: rec.Raw, value: rec.Value}
		switch {
		case rec.Err != nil:
			r.invalid = rec.Err.Error()
		default:
			n, err := s.opt.Rules.Normalize(rec.Value)
			if err != nil {
				var ne *number.Error
				if errors.As(err, &ne) {
					r.invalid = "invalid number: " + ne.Reason
				} else {
					r.invalid = "invalid number: " + err.Error()
				}
				break
			}
			r.member = n.Canonical
			b.members = append(b.members, n.Canonical)
		}
		b.rows = append(b.rows, r)
		if len(b.rows) == s.opt.BatchSize {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(b.rows) > 0 {
		return send()
	}
	return nil
}

func (s *scrubber) newBatch() *scrubBatch {
	return &scrubBatch{
		rows:    make([]scrubRow, 0, s.opt.BatchSize),
		members: make([]string, 0, s.opt.BatchSize),
		done:    make(chan struct{}),
	}
}

// write writes the batches in order as their checks end. After an error it
// only drains them.
func (s *scrubber) write(ordered <-chan *scrubBatch) {
	headerDone := false
	var out []byte // the clean rows of a batch, written at once
	for b := range ordered {
		<-b.done
		if s.ctx.Err() != nil {
			continue
		}
		if !headerDone {
			headerDone = true
			if err := s.writeHeaders(); err != nil {
				s.cancel(err)
				continue
			}
		}
		out = out[:0]
		k := 0 // the next result
		for _, r := range b.rows {
			if r.invalid != "" {
				s.sum.Removed++
				s.sum.Invalid++
				s.reportRow(r, "", "", r.invalid)
				continue
			}
			res := b.results[k]
			k++
			switch {
			case res.Err != nil:
				s.sum.Removed++
				s.sum.Invalid++
				s.reportRow(r, "", "", "invalid number: "+res.Err.Error())
			case res.Blocked:
				s.sum.Removed++
				s.sum.ByList[res.List.Name]++
				s.reportRow(r, res.List.Name, res.Entry, res.Meta.Reason)
			default:
				s.sum.Kept++
				out = append(out, r.raw...)
				if !strings.HasSuffix(r.raw, "\n") {
					out = append(out, s.lr.Newline()...)
				}
			}
		}
		if _, err := s.clean.Write(out); err != nil {
			s.cancel(fmt.Errorf("scrub of %s: writing the clean file: %w", s.opt.Name, err))
			continue
		}
		if err := s.report.Error(); err != nil {
			s.cancel(fmt.Errorf("scrub of %s: writing the report: %w", s.opt.Name, err))
		}
	}
	if !headerDone && s.ctx.Err() == nil {
		// An empty file: the headers all the same.
		if err := s.writeHeaders(); err != nil {
			s.cancel(err)
		}
	}
}

func (s *scrubber) writeHeaders() error {
	if h := s.lr.HeaderRaw(); h != "" {
		if !strings.HasSuffix(h, "\n") {
			h += s.lr.Newline()
		}
		if _, err := io.WriteString(s.clean, h); err != nil {
			return fmt.Errorf("scrub of %s: writing the clean file: %w", s.opt.Name, err)
		}
	}
	if err := s.report.Write(ScrubReportHeader); err != nil {
		return fmt.Errorf("scrub of %s: writing the report: %w", s.opt.Name, err)
	}
	return nil
}

func (s *scrubber) reportRow(r scrubRow, list, entry, reason string) {
	// Errors are sticky in csv.Writer: write reads them once per batch.
	s.report.Write([]string{strconv.FormatInt(r.line, 10), r.value, r.member, list, entry, reason})
}
