package listfile

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
)

func TestExportPlain(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "opt-out")
	added := time.Date(2026, 11, 1, 12, 30, 0, 0, time.UTC)
	future := time.Now().Add(48 * time.Hour).Truncate(time.Second).UTC()
	f.rdb.SAdd(f.ctx, l.Key, "5511987654321", "5521988887777", "55900*", "2001", "5531977776666", "a,b")
	f.rdb.HSet(f.ctx, blacklist.MetaKey(l.Key),
		"5511987654321", blacklist.MarshalMeta(blacklist.Meta{Reason: "opt-out", Source: "cli", AddedBy: "ana", AddedAt: added, Note: `said "never"`}),
		"5521988887777", blacklist.MarshalMeta(blacklist.Meta{Reason: "spam", ExpiresAt: future}),
		"2001", "typed by hand", // not JSON: a note
		"5531977776666", blacklist.MarshalMeta(blacklist.Meta{Reason: "expired"}),
	)
	f.rdb.ZAdd(f.ctx, blacklist.ExpiryKey(l.Key),
		redis.Z{Score: float64(future.Unix()), Member: "5521988887777"},
		redis.Z{Score: float64(time.Now().Add(-time.Minute).Unix()), Member: "5531977776666"}, // expired: left out
		redis.Z{Score: 1e300, Member: "55900*"},                                               // never
	)
	var out bytes.Buffer
	n, err := Export(f.ctx, f.rdb, layout(l, false), &out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	header, rows := lines[0], lines[1:]
	slices.Sort(rows)
	want := []string{
		`"a,b",,,,,,`,
		`2001,,,,,,typed by hand`,
		`5511987654321,opt-out,cli,ana,2026-11-01T12:30:00Z,,"said ""never"""`,
		`5521988887777,spam,,,,` + future.Format(time.RFC3339) + `,`,
		`55900*,,,,,,`,
	}
	if header != "member,reason,source,added_by,added_at,expires_at,note" {
		t.Errorf("header %q", header)
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if n != int64(len(want)) {
		t.Errorf("n = %d, want %d", n, len(want))
	}
}

func TestExportEmpty(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "none")
	for _, compact := range []bool{false, true} {
		var out bytes.Buffer
		n, err := Export(f.ctx, f.rdb, layout(l, compact), &out)
		if err != nil || n != 0 {
			t.Errorf("compact=%v: %d, %v", compact, n, err)
		}
		if want := map[bool]string{false: strings.Join(ExportHeader, ",") + "\n", true: "member\n"}[compact]; out.String() != want {
			t.Errorf("compact=%v: %q, want %q", compact, out.String(), want)
		}
	}
}

func TestExportWriteError(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "spam")
	var in strings.Builder
	for i := range 20000 {
		fmt.Fprintln(&in, mobile(i))
	}
	boom := errors.New("disk full")
	for _, compact := range []bool{false, true} {
		if _, err := f.importInto(t, in.String(), ImportOptions{List: l}, compact); err != nil {
			t.Fatal(err)
		}
		if _, err := Export(f.ctx, f.rdb, layout(l, compact), failingWriter{boom}); !errors.Is(err, boom) {
			t.Errorf("compact=%v: error %v, want the write error", compact, err)
		}
	}
}

// TestExportRoundTrip exports a list, imports the export into another list
// (replace), exports that, and compares.
func TestExportRoundTrip(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) {
			f := newFixture(t)
			from, to := blacklist.SharedList(f.keys, "a"), blacklist.SharedList(f.keys, "b")
			var in strings.Builder
			for i := range 30000 {
				fmt.Fprintf(&in, "55%d9%08d\n", 11+i%80, i*7919%100000000) // some area codes do not exist: refused
			}
			if !compact {
				in.WriteString("2001\n55900*\n")
			}
			sum, err := f.importInto(t, in.String(), ImportOptions{List: from}, compact)
			if err != nil {
				t.Fatal(err)
			}
			var first, second bytes.Buffer
			n1, err := Export(f.ctx, f.rdb, layout(from, compact), &first)
			if err != nil {
				t.Fatal(err)
			}
			if n1 != sum.Added {
				t.Errorf("exported %d entries of %d", n1, sum.Added)
			}
			sum2, err := f.importInto(t, first.String(), ImportOptions{List: to, Mode: ModeReplace}, compact)
			if err != nil {
				t.Fatal(err)
			}
			if sum2.Added != n1 || sum2.Refused != 0 {
				t.Errorf("import of the export: %+v, want %d added and none refused", sum2, n1)
			}
			n2, err := Export(f.ctx, f.rdb, layout(to, compact), &second)
			if err != nil {
				t.Fatal(err)
			}
			a, b := sortedLines(first.String()), sortedLines(second.String())
			if n2 != n1 || !slices.Equal(a, b) {
				t.Errorf("the second export (%d entries) differs from the first (%d)", n2, n1)
			}
		})
	}
}

// layout returns l with the compact layout, or l.
func layout(l blacklist.List, compact bool) blacklist.List {
	if compact {
		l.Layout = blacklist.LayoutCompact
	}
	return l
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines)
	return lines
}

func TestExportCompactReplaced(t *testing.T) {
	f := newFixture(t)
	l := blacklist.SharedList(f.keys, "nmp")
	var in strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&in, "55%d9%08d\n", 11+i%9, i)
	}
	if _, err := f.importInto(t, in.String(), ImportOptions{List: l}, true); err != nil {
		t.Fatal(err)
	}
	// A writer that switches the version under the export after its first
	// write, as a replace would.
	w := &hookWriter{hook: func() { f.rdb.Set(f.ctx, blacklist.VersionKey(l.Key), "other", 0) }}
	_, err := Export(f.ctx, f.rdb, layout(l, true), w)
	if !errors.Is(err, blacklist.ErrListReplaced) {
		t.Errorf("error %v, want blacklist.ErrListReplaced", err)
	}
}

type hookWriter struct {
	hook func()
	done bool
}

func (w *hookWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.done = true
		w.hook()
	}
	return len(p), nil
}
