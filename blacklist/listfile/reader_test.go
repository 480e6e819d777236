package listfile

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func ptr[T any](v T) *T { return &v }

// got is a record as the tests compare it.
type got struct {
	Line  int64
	Value string
	Err   string // a substring of the row's error, "" for none
}

func readAll(t testing.TB, r io.Reader, opt ReaderOptions) (*Reader, []got, error) {
	t.Helper()
	lr, err := NewReader(r, opt)
	if err != nil {
		return nil, nil, err
	}
	var out []got
	for {
		rec, err := lr.Next()
		if err == io.EOF {
			return lr, out, nil
		}
		if err != nil {
			return lr, out, err
		}
		g := got{Line: rec.Line, Value: rec.Value}
		if rec.Err != nil {
			g.Err = rec.Err.Error()
		}
		out = append(out, g)
	}
}

func gz(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReader(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		opt    ReaderOptions
		comma  rune
		header []string
		want   []got
	}{
		{
			name:  "one per line",
			in:    "5511987654321\n11987654321\n",
			comma: 0,
			want:  []got{{1, "5511987654321", ""}, {2, "11987654321", ""}},
		},
		{
			name: "one per line without final newline, CRLF, blanks, comments, quotes",
			in:   "# exported 2026-11-28\r\n\r\n  5511987654321 \r\n\r\n# another\r\n\"11987654321\"\r\n(11) 3333-4444",
			want: []got{{3, "5511987654321", ""}, {6, "11987654321", ""}, {7, "(11) 3333-4444", ""}},
		},
		{
			name:   "one per line with a header detected",
			in:     "telefone\n5511987654321\n",
			header: []string{"telefone"},
			want:   []got{{2, "5511987654321", ""}},
		},
		{
			name:   "one per line, column by name",
			in:     "Phone\n5511987654321\n",
			opt:    ReaderOptions{Column: " phone "},
			header: []string{"Phone"},
			want:   []got{{2, "5511987654321", ""}},
		},
		{
			name: "one per line, header forced off: a first row without digits is a row",
			in:   "abc\n5511987654321\n",
			opt:  ReaderOptions{Header: ptr(false)},
			want: []got{{1, "abc", ""}, {2, "5511987654321", ""}},
		},
		{
			name:   "one per line, header forced on",
			in:     "5511900000000\n5511987654321\n",
			opt:    ReaderOptions{Header: ptr(true)},
			header: []string{"5511900000000"},
			want:   []got{{2, "5511987654321", ""}},
		},
		{
			name:  "CSV with commas, first column",
			in:    "5511987654321,ana\n5521988887777,bia\n",
			comma: ',',
			want:  []got{{1, "5511987654321", ""}, {2, "5521988887777", ""}},
		},
		{
			name:   "CSV with semicolons, decimal commas, header by name",
			in:     "nome;telefone;valor\nAna;(11) 98765-4321;10,50\nBia;21 98888-7777;3,25\n",
			opt:    ReaderOptions{Column: "TELEFONE"},
			comma:  ';',
			header: []string{"nome", "telefone", "valor"},
			want:   []got{{2, "(11) 98765-4321", ""}, {3, "21 98888-7777", ""}},
		},
		{
			name:   "tab separated, column by index, header detected",
			in:     "id\tphone\n1\t5511987654321\n2\t5521988887777\n",
			opt:    ReaderOptions{Column: "2"},
			comma:  '\t',
			header: []string{"id", "phone"},
			want:   []got{{2, "5511987654321", ""}, {3, "5521988887777", ""}},
		},
		{
			name:  "CSV: short rows, blank rows, quoted fields over two lines",
			in:    "1,5511987654321\n2\n,\n\n3,\"55 11\n98765-4321\"\n4,5521988887777\r\n",
			opt:   ReaderOptions{Column: "2"},
			comma: ',',
			want: []got{
				{1, "5511987654321", ""},
				{2, "", "no such column: column 2 (the row has 1)"},
				{5, "55 11\n98765-4321", ""},
				{7, "5521988887777", ""},
			},
		},
		{
			name:  "CSV: lazy quotes",
			in:    "a\"b,5511987654321\nx\"\"y\",5521988887777\n",
			opt:   ReaderOptions{Column: "2", Header: ptr(false)},
			comma: ',',
			want:  []got{{1, "5511987654321", ""}, {2, "5521988887777", ""}},
		},
		{
			name:  "BOM",
			in:    "\xef\xbb\xbf5511987654321\n",
			want:  []got{{1, "5511987654321", ""}},
			comma: 0,
		},
		{
			name:   "BOM before a header",
			in:     "\xef\xbb\xbfphone,name\n5511987654321,x\n",
			opt:    ReaderOptions{Column: "phone"},
			comma:  ',',
			header: []string{"phone", "name"},
			want:   []got{{2, "5511987654321", ""}},
		},
		{
			name:  "gzip",
			in:    gzipped("\xef\xbb\xbf5511987654321;a\n5521988887777;b\n"),
			comma: ';',
			want:  []got{{1, "5511987654321", ""}, {2, "5521988887777", ""}},
		},
		{
			name: "a line too long",
			in:   "5511987654321\n" + strings.Repeat("9", bufferSize+10) + "\n5521988887777\n",
			want: []got{{1, "5511987654321", ""}, {2, "", "line longer than"}, {3, "5521988887777", ""}},
		},
		{
			name: "empty",
			in:   "",
		},
		{
			name: "empty, with options that need a header and columns",
			in:   "\n\n",
			opt:  ReaderOptions{Column: "phone"},
		},
		{
			name: "empty, column 2",
			in:   "",
			opt:  ReaderOptions{Column: "2"},
		},
		{
			name: "only blank lines and comments",
			in:   "\n\n# nothing\n  \n",
		},
		{
			name:   "only a header",
			in:     "phone\n",
			header: []string{"phone"},
		},
		{
			name:  "the delimiter seen most wins",
			in:    "a,b;c;d\n1,2;3;4\n",
			comma: ';',
			opt:   ReaderOptions{Header: ptr(false)},
			want:  []got{{1, "a,b", ""}, {2, "1,2", ""}},
		},
		{
			name:  "delimiters inside quotes do not count",
			in:    "\"a;b;c\",1\n",
			opt:   ReaderOptions{Header: ptr(false)},
			comma: ',',
			want:  []got{{1, "a;b;c", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Name = "list.csv"
			lr, recs, err := readAll(t, strings.NewReader(tt.in), tt.opt)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if len(recs) != len(tt.want) {
				t.Fatalf("records:\n got %+v\nwant %+v", recs, tt.want)
			}
			for i, r := range recs {
				w := tt.want[i]
				if r.Line != w.Line || r.Value != w.Value || (r.Err == "") != (w.Err == "") || !strings.Contains(r.Err, w.Err) {
					t.Errorf("record %d: got %+v, want %+v", i, r, w)
				}
			}
			if lr.Comma() != tt.comma {
				t.Errorf("comma %q, want %q", lr.Comma(), tt.comma)
			}
			if fmt.Sprint(lr.Header()) != fmt.Sprint(tt.header) {
				t.Errorf("header %q, want %q", lr.Header(), tt.header)
			}
		})
	}
}

// gzipped is gz for table literals.
func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, s)
	w.Close()
	return b.String()
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opt  ReaderOptions
		is   error
		msg  string
	}{
		{"no such header name", "id,name\n1,x\n", ReaderOptions{Column: "phone"}, ErrColumn,
			`leads.csv: line 1: no such column: no column named "phone" in the header ["id" "name"]`},
		{"column 0", "1,2\n", ReaderOptions{Column: "0"}, ErrColumn, `leads.csv: no such column: column "0": want 1 to 10000, or a header name`},
		{"column too big", "1,2\n", ReaderOptions{Column: "99999"}, ErrColumn, "want 1 to 10000"},
		{"column 2 of a one-per-line file", "5511987654321\n", ReaderOptions{Column: "2"}, ErrColumn,
			"leads.csv: no such column: column 2: the file has one number per line"},
		{"header name and no header", "phone\n1\n", ReaderOptions{Column: "phone", Header: ptr(false)}, ErrOption,
			`leads.csv: invalid option: column "phone" is a header name, but the file is said to have no header`},
		{"bad gzip header", "\x1f\x8b\x00garbage", ReaderOptions{}, gzip.ErrHeader, "leads.csv: gzip: gzip: invalid header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opt.Name = "leads.csv"
			_, _, err := readAll(t, strings.NewReader(tt.in), tt.opt)
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want one matching %v", err, tt.is)
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.File != "leads.csv" {
				t.Errorf("error %v is not an *Error naming the file", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q, want it to hold %q", err, tt.msg)
			}
		})
	}
}

func TestReaderTruncatedGzip(t *testing.T) {
	var lines strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&lines, "55119%08d\n", i)
	}
	z := gz(t, lines.String())
	_, recs, err := readAll(t, strings.NewReader(z[:len(z)/2]), ReaderOptions{Name: "big.gz"})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want one matching io.ErrUnexpectedEOF", err)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Line != int64(len(recs))+1 {
		t.Errorf("error %v: want it at line %d, after the %d records read", err, len(recs)+1, len(recs))
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("a,b\n1,2\n"), iotest.ErrReader(boom))
	_, recs, err := readAll(t, r, ReaderOptions{Name: "x.csv"})
	if !errors.Is(err, boom) || len(recs) != 1 {
		t.Fatalf("got %v and %d records, want the read error after 1 record", err, len(recs))
	}
}

func TestReaderRaw(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		header  string
		raws    []string
		newline string
	}{
		{"one per line", "5511987654321\n\n# c\n11987654321", "", []string{"5511987654321\n", "11987654321"}, "\n"},
		{"CSV with header, CRLF, blank rows, quotes", "id,phone\r\n1,5511987654321\r\n\r\n,,\r\n2,\"55 21\r\n98888-7777\"\r\n3,x",
			"id,phone\r\n", []string{"1,5511987654321\r\n", "2,\"55 21\r\n98888-7777\"\r\n", "3,x"}, "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time, so that rows cross every read boundary.
			lr, err := NewReader(iotest.OneByteReader(strings.NewReader(tt.in)), ReaderOptions{Raw: true, Column: "", Name: "r"})
			if err != nil {
				t.Fatal(err)
			}
			var raws []string
			for {
				rec, err := lr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				raws = append(raws, string(rec.Raw))
			}
			if string(lr.HeaderRaw()) != tt.header {
				t.Errorf("header %q, want %q", lr.HeaderRaw(), tt.header)
			}
			if fmt.Sprintf("%q", raws) != fmt.Sprintf("%q", tt.raws) {
				t.Errorf("raw rows\n got %q\nwant %q", raws, tt.raws)
			}
			if lr.Newline() != tt.newline {
				t.Errorf("newline %q, want %q", lr.Newline(), tt.newline)
			}
		})
	}
}

func TestReaderProgress(t *testing.T) {
	in := "1,5511987654321\n2,5521988887777\n"
	lr, _, err := readAll(t, strings.NewReader(in), ReaderOptions{Column: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if p := lr.Progress(); p != (Progress{Rows: 2, Bytes: int64(len(in)), Total: int64(len(in))}) {
		t.Errorf("progress %+v", p)
	}
	lr, _, err = readAll(t, io.MultiReader(strings.NewReader(in)), ReaderOptions{Column: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if p := lr.Progress(); p != (Progress{Rows: 2, Bytes: int64(len(in))}) {
		t.Errorf("progress of a reader of unknown size %+v", p)
	}
}

// fuzzOptions are the reader options a fuzz input picks: its column, and
// in flags a header choice (bits 0-1: detect, yes, no) and raw rows (bit 2).
func fuzzOptions(column string, flags uint8) ReaderOptions {
	opt := ReaderOptions{Name: "fuzz", Column: column, Raw: flags&4 != 0}
	switch flags & 3 {
	case 1:
		opt.Header = ptr(true)
	case 2:
		opt.Header = ptr(false)
	}
	return opt
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("5511987654321\n11987654321\n"), "", uint8(0))
	f.Add([]byte("nome;telefone\nAna;(11) 98765-4321\n"), "telefone", uint8(0))
	f.Add([]byte("id\tphone\n1\t5511987654321\n"), "2", uint8(1))
	f.Add([]byte("1,\"55 11\n9876\"\n,,\n\n# x\n"), "2", uint8(2))
	f.Add([]byte("\xef\xbb\xbf\"a\"b,\"c\n"), "", uint8(0))
	f.Add([]byte(gzipped("5511987654321,x\n")), "1", uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, column string, flags uint8) {
		opt := fuzzOptions(column, flags)
		lr, err := NewReader(bytes.NewReader(data), opt)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		var last int64
		for n := 0; ; n++ {
			rec, err := lr.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var fe *Error
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is not an *Error", err)
				}
				return
			}
			if rec.Line <= last {
				t.Fatalf("record %d at line %d, after line %d", n, rec.Line, last)
			}
			last = rec.Line
			if n > len(data)+1 {
				t.Fatalf("%d records from %d bytes", n, len(data))
			}
			if opt.Raw && rec.Err == nil && len(rec.Raw) == 0 {
				t.Fatalf("record %d at line %d has no raw bytes", n, rec.Line)
			}
		}
	})
}

// chunkReader returns its data in reads of varying sizes.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.n = (c.n*7 + 13) % 100003
	k := min(len(p), len(c.data), 1+c.n)
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

// TestReaderBlocks reads lines of every length around the block and buffer
// sizes, in reads of varying sizes.
func TestReaderBlocks(t *testing.T) {
	var in strings.Builder
	var want []got
	line := int64(0)
	add := func(s string, ok bool) {
		line++
		in.WriteString(s + "\n")
		if ok {
			want = append(want, got{Line: line, Value: s})
		} else {
			want = append(want, got{Line: line, Err: "line longer than"})
		}
	}
	for i := range 100000 {
		add(mobile(i), true)
		if i%20000 == 0 {
			add(strings.Repeat("5", bufferSize-1), true) // with its '\n', exactly the limit
			add(strings.Repeat("5", bufferSize), false)
			add(strings.Repeat("5", lineBlock+i%7), true)
		}
	}
	for _, raw := range []bool{false, true} {
		_, recs, err := readAll(t, &chunkReader{data: []byte(in.String())}, ReaderOptions{Raw: raw})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(want) {
			t.Fatalf("%d records, want %d", len(recs), len(want))
		}
		for i, r := range recs {
			w := want[i]
			if r.Line != w.Line || r.Value != w.Value || !strings.Contains(r.Err, w.Err) || (w.Err == "") != (r.Err == "") {
				t.Fatalf("record %d: line %d, %d bytes, error %q; want line %d, %d bytes, error %q",
					i, r.Line, len(r.Value), r.Err, w.Line, len(w.Value), w.Err)
			}
		}
	}
}

func TestReaderUnclosedQuote(t *testing.T) {
	var in strings.Builder
	in.WriteString("id,phone,note\n1,5511987654321,\"fine\nover two lines\"\n")
	in.WriteString("2,5521988887777,\"never closed\n")
	for i := range 20000 {
		fmt.Fprintf(&in, "%d,%s,ok\n", i+3, mobile(i))
	}
	for _, raw := range []bool{false, true} {
		_, recs, err := readAll(t, strings.NewReader(in.String()), ReaderOptions{Name: "leads.csv", Column: "phone", Raw: raw})
		var fe *Error
		if !errors.Is(err, ErrLongRow) || !errors.As(err, &fe) || fe.Line != 4 {
			t.Fatalf("error %v, want ErrLongRow at line 4", err)
		}
		if !strings.Contains(err.Error(), "leads.csv: line 4: row too long: a row longer than 64 KiB starts here (a quote that is never closed?)") {
			t.Errorf("error %q", err)
		}
		if len(recs) != 1 || recs[0].Value != "5511987654321" {
			t.Errorf("records before the error %+v, want the first row", recs)
		}
	}
}

// FuzzRowGuard checks the row guard against encoding/csv itself: the
// fuzzer's pattern is repeated past the guard's limit, and the guard must
// fail when, and only when, encoding/csv reads a row about that long.
func FuzzRowGuard(f *testing.F) {
	f.Add([]byte("a,\"b\"\n"))
	f.Add([]byte("\"x\n"))
	f.Add([]byte("\"a\"\"b\",c\r\n"))
	f.Add([]byte("a\"b,\"c\"d\"\n"))
	f.Add([]byte("\"a\"\r"))
	f.Add([]byte("0"))
	f.Fuzz(func(t *testing.T, pattern []byte) {
		if len(pattern) == 0 || len(pattern) > 64 {
			return
		}
		data := bytes.Repeat(pattern, 3*bufferSize/len(pattern))
		// The longest row as encoding/csv reads it: its bytes, without the
		// blank lines it skips before it.
		longest, prev := 0, int64(0)
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord, r.LazyQuotes = -1, true
		for {
			if _, err := r.Read(); err != nil {
				break
			}
			row := data[prev:r.InputOffset()]
			for {
				if t, ok := bytes.CutPrefix(row, []byte("\n")); ok {
					row = t
				} else if t, ok := bytes.CutPrefix(row, []byte("\r\n")); ok {
					row = t
				} else {
					break
				}
			}
			longest, prev = max(longest, len(row)), r.InputOffset()
		}
		g := &rowGuard{r: bytes.NewReader(data), comma: ',', fieldStart: true, line: 1}
		_, err := io.Copy(io.Discard, g)
		var long *longRow
		fired := errors.As(err, &long)
		switch {
		case fired && longest <= bufferSize && prev == int64(len(data)):
			t.Fatalf("the guard fired, but the longest row is %d bytes", longest)
		case !fired && longest > bufferSize+2:
			t.Fatalf("the guard did not fire, and a row is %d bytes", longest)
		}
	})
}
