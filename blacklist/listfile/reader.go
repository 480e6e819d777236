package listfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// ErrColumn is matched (errors.Is) by the errors of a column that cannot be
// found: a header name the header does not hold, an index below 1, a column a
// row does not have.
var ErrColumn = errors.New("no such column")

// ErrLongRow is matched (errors.Is) by the error of a CSV row longer than
// 64 KiB, which ends the file.
var ErrLongRow = errors.New("row too long")

// ErrOption is matched (errors.Is) by the errors of options that cannot work
// together, such as a column chosen by header name in a file said to have no
// header.
var ErrOption = errors.New("invalid option")

// Error is a problem with an input file, at a line when one is known.
type Error struct {
	File string // the name the caller gave the input ("leads.csv", "stdin")
	Line int64  // 1-based; 0 when the problem is not at one line
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// bufferSize is the read buffer, and so the longest line of a one-per-line
// file and the longest first line looked at to detect the format.
const bufferSize = 64 << 10

// maxColumn bounds a column index, so that a typo cannot ask for a huge one.
const maxColumn = 10000

// ReaderOptions say how to read a file.
type ReaderOptions struct {
	// Name names the input in errors: its file name, or "stdin".
	Name string
	// Column chooses the field that holds the number: "" for the first,
	// a 1-based index ("3"), or a header name (matched without regard to
	// case or surrounding spaces; a name made only of digits is read as an
	// index). A header name implies a header.
	Column string
	// Header says whether the first row is a header; nil detects it: the
	// first row is a header when its chosen field holds no digit.
	Header *bool
	// Raw keeps each record as read (Record.Raw), to write rows back
	// unchanged.
	Raw bool
}

// Record is one row of a file.
type Record struct {
	// Line is the line the row starts on, 1-based.
	Line int64
	// Value is the chosen field, as read. In a one-per-line file it shares
	// memory with the rows around it (blocks of 64 KiB): copy it
	// (strings.Clone) to keep a few values of a big file.
	Value string
	// Err is a problem of this row alone (it has no such column, its line
	// is too long): the row cannot be used, the file goes on.
	Err error
	// Raw is the row as read, line ending included (when the file has one
	// there), with ReaderOptions.Raw.
	Raw string
}

// Reader reads the records of a list file or a lead file, one at a time and
// in constant memory: CSV with a delimiter among ',' ';' and tab detected from
// the first line, or one number per line (a first line with none of them),
// optionally gzip-compressed (recognized by its magic bytes), with or without
// a UTF-8 byte order mark, LF or CRLF line endings. Blank lines are skipped,
// and so are lines starting with '#' in one-per-line files (CSV has no
// comments: a CSV row starting with '#' is a row).
//
// The format is decided by the first line that is not blank: a comment line
// there that holds a comma makes the file CSV.
//
// CSV is read as encoding/csv reads it with LazyQuotes: a field that starts
// with a quote runs to its closing quote, across lines if need be, and other
// quotes are taken literally. A CSV row longer than 64 KiB ends the file with
// an error that matches ErrLongRow, at the line where the row starts: a
// quote that never closes would otherwise make the rest of the file one
// field, in memory. (A line of a one-per-line file longer than that is a row
// error: the row is refused and the file goes on.)
type Reader struct {
	name   string
	column int // 0-based index of the chosen field
	raw    bool

	count *countingReader
	total int64

	comma   rune // 0: one number per line
	newline string
	header  []string
	hdrRaw  string

	// CSV mode.
	csv     *csv.Reader
	rec     *recorder
	prevEnd int64 // input offset of the end of the last row read

	// One-per-line mode.
	lines      *lineReader
	line       int64
	lineFields []string

	first    row // the first row when it is not a header
	hasFirst bool

	rows int64
}

// NewReader returns a Reader of r. It reads the start of r to detect the
// compression, the format and the header, and returns an *Error when r cannot
// be read, the options cannot work or the header has no column named
// opt.Column. An empty file (nothing but blank lines and comments) has no
// records, whatever the options.
func NewReader(r io.Reader, opt ReaderOptions) (*Reader, error) {
	lr := &Reader{name: opt.Name, raw: opt.Raw, newline: "\n"}
	if lr.name == "" {
		lr.name = "input"
	}
	lr.count = &countingReader{r: r}
	lr.total = sizeOf(r)
	br := bufio.NewReaderSize(lr.count, bufferSize)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, lr.errorf(0, "gzip: %w", err)
		}
		br = bufio.NewReaderSize(zr, bufferSize)
	}
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}

	head := firstLine(br)
	if bytes.HasSuffix(head, []byte("\r\n")) {
		lr.newline = "\r\n"
	}
	lr.comma = detectComma(head)

	byName := false
	switch col := strings.TrimSpace(opt.Column); {
	case col == "":
	case isDigits(col):
		n, err := strconv.Atoi(col)
		if err != nil || n < 1 || n > maxColumn {
			return nil, lr.errorf(0, "%w: column %q: want 1 to %d, or a header name", ErrColumn, opt.Column, maxColumn)
		}
		lr.column = n - 1
	default:
		byName = true
		if opt.Header != nil && !*opt.Header {
			return nil, lr.errorf(0, "%w: column %q is a header name, but the file is said to have no header", ErrOption, opt.Column)
		}
	}
	if len(bytes.TrimSpace(head)) == 0 {
		// An empty file (or only blank lines): nothing to choose from.
		lr.comma = 0
		lr.lines = &lineReader{r: br, buf: make([]byte, lineBlock)}
		return lr, nil
	}
	if lr.comma == 0 && lr.column > 0 {
		return nil, lr.errorf(0, "%w: column %d: the file has one number per line (no ',' ';' or tab in its first line)", ErrColumn, lr.column+1)
	}

	if lr.comma == 0 {
		lr.lines = &lineReader{r: br, buf: make([]byte, lineBlock)}
	} else {
		var in io.Reader = &rowGuard{r: br, comma: byte(lr.comma), fieldStart: true, line: 1}
		if lr.raw {
			lr.rec = &recorder{r: in}
			in = lr.rec
		}
		lr.csv = csv.NewReader(in)
		lr.csv.Comma = lr.comma
		lr.csv.FieldsPerRecord = -1
		lr.csv.LazyQuotes = true
		lr.csv.ReuseRecord = true
	}

	// The first row: a header, or the first record (kept for Next).
	first, err := lr.readRow()
	if err == io.EOF {
		return lr, nil // only comments, or blank CSV rows
	}
	if err != nil {
		return nil, err
	}
	fields, line := first.fields, first.line
	var isHeader bool
	switch {
	case byName, opt.Header != nil && *opt.Header:
		isHeader = true
	case opt.Header != nil:
		isHeader = false
	default:
		isHeader = first.err == nil && (lr.column >= len(fields) || !hasDigit(fields[lr.column]))
	}
	if !isHeader {
		first.fields = slices.Clone(first.fields)
		lr.first, lr.hasFirst = first, true
		return lr, nil
	}
	lr.header = make([]string, len(fields))
	for i, f := range fields {
		lr.header[i] = strings.Clone(f)
	}
	lr.hdrRaw = first.raw
	if byName {
		want := strings.TrimSpace(opt.Column)
		lr.column = -1
		for i, h := range lr.header {
			if strings.EqualFold(strings.TrimSpace(h), want) {
				lr.column = i
				break
			}
		}
		if lr.column < 0 {
			return nil, lr.errorf(line, "%w: no column named %q in the header %q", ErrColumn, opt.Column, lr.header)
		}
	}
	return lr, nil
}

// Next returns the next record, or io.EOF after the last. Any other error
// is an *Error and ends the file.
func (lr *Reader) Next() (Record, error) {
	var r row
	if lr.hasFirst {
		r, lr.hasFirst, lr.first = lr.first, false, row{}
	} else {
		var err error
		if r, err = lr.readRow(); err != nil {
			return Record{}, err
		}
	}
	lr.rows++
	rec := Record{Line: r.line, Err: r.err}
	if lr.raw {
		rec.Raw = r.raw
	}
	switch {
	case rec.Err != nil:
	case lr.column < len(r.fields):
		rec.Value = r.fields[lr.column]
	default:
		rec.Err = fmt.Errorf("%w: column %d (the row has %d)", ErrColumn, lr.column+1, len(r.fields))
	}
	return rec, nil
}

// row is one row of the file that is not blank (nor a comment in a
// one-per-line file).
type row struct {
	fields []string
	line   int64  // the line it starts on
	raw    string // as read, when kept
	err    error  // a problem of this row alone
}

// readRow returns the next row, io.EOF, or an *Error.
func (lr *Reader) readRow() (row, error) {
	if lr.comma == 0 {
		return lr.readLine()
	}
	for {
		if lr.rec != nil {
			lr.rec.drop(lr.prevEnd)
		}
		fields, err := lr.csv.Read()
		if err != nil {
			if err == io.EOF {
				return row{}, io.EOF
			}
			var line int64
			var pe *csv.ParseError
			var long *longRow
			switch {
			case errors.As(err, &long):
				return row{}, lr.errorf(long.line, "%w: a row longer than %d KiB starts here (a quote that is never closed?)", ErrLongRow, bufferSize>>10)
			case errors.As(err, &pe):
				line, err = int64(pe.Line), pe.Err
			}
			return row{}, lr.errorf(line, "%w", err)
		}
		line := 0
		if len(fields) > 0 {
			line, _ = lr.csv.FieldPos(0)
		}
		start := lr.prevEnd
		lr.prevEnd = lr.csv.InputOffset()
		if blankRow(fields) {
			continue
		}
		r := row{fields: fields, line: int64(line)}
		if lr.rec != nil {
			r.raw = string(bytes.TrimLeft(lr.rec.bytes(start, lr.prevEnd), "\r\n"))
		}
		return r, nil
	}
}

func (lr *Reader) readLine() (row, error) {
	for {
		line, tooLong, err := lr.lines.next()
		if err != nil {
			if err == io.EOF {
				return row{}, io.EOF
			}
			return row{}, lr.errorf(lr.line+1, "%w", err)
		}
		lr.line++
		if tooLong {
			return row{line: lr.line, err: fmt.Errorf("line longer than %d bytes", bufferSize)}, nil
		}
		v := strings.TrimSpace(line)
		if len(v) == 0 || v[0] == '#' {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		lr.lineFields = append(lr.lineFields[:0], v)
		return row{fields: lr.lineFields, line: lr.line, raw: line}, nil
	}
}

// lineBlock is the size of the blocks of a lineReader: the largest size
// class of small objects, which the allocator recycles from its caches
// (larger objects come from the heap one by one).
const lineBlock = 32 << 10

// lineReader splits its input in lines without an allocation per line: it
// reads blocks, turns each into one string, and cuts the lines out of it.
type lineReader struct {
	r     io.Reader
	buf   []byte
	block string // the block being cut
	pos   int    // where the next line starts in block
	err   error  // the error that ended the input, after block
}

// next returns the next line with its '\n' (the last line may have none),
// or io.EOF or the input's error after the last. A line longer than
// bufferSize comes back empty, with tooLong.
func (lr *lineReader) next() (line string, tooLong bool, err error) {
	var carry []byte // the start of a line that crosses blocks
	for {
		rest := lr.block[lr.pos:]
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			lr.pos += i + 1
			switch {
			case tooLong || len(carry)+i+1 > bufferSize:
				return "", true, nil
			case carry != nil:
				return string(append(carry, rest[:i+1]...)), false, nil
			}
			return rest[:i+1], false, nil
		}
		lr.pos = len(lr.block)
		if tooLong || len(carry)+len(rest) > bufferSize {
			tooLong, carry = true, carry[:0]
		} else if rest != "" {
			carry = append(carry, rest...)
		}
		if lr.err != nil {
			switch {
			case tooLong:
				return "", true, nil
			case len(carry) > 0:
				return string(carry), false, nil
			}
			return "", false, lr.err
		}
		// ReadAtLeast keeps an error that comes with data for the next
		// read (the input's errors are sticky: see countingReader).
		n, err := io.ReadAtLeast(lr.r, lr.buf, 1)
		lr.block, lr.pos, lr.err = string(lr.buf[:n]), 0, err
	}
}

// Header returns the header row's fields, or nil when the file has none.
func (lr *Reader) Header() []string { return lr.header }

// HeaderRaw returns the header row as read, line ending included, or "".
// It needs ReaderOptions.Raw.
func (lr *Reader) HeaderRaw() string { return lr.hdrRaw }

// Comma returns the detected delimiter, or 0 for a one-per-line file.
func (lr *Reader) Comma() rune { return lr.comma }

// Newline returns the file's line ending ("\n" or "\r\n"), as its first line
// has it.
func (lr *Reader) Newline() string { return lr.newline }

// Column returns the 0-based index of the chosen field.
func (lr *Reader) Column() int { return lr.column }

// Progress reports how much has been read: records returned by Next, bytes
// of the input (compressed bytes, for a gzip file) and the input's size when
// known.
func (lr *Reader) Progress() Progress {
	return Progress{Rows: lr.rows, Bytes: lr.count.n, Total: lr.total}
}

func (lr *Reader) errorf(line int64, format string, args ...any) error {
	return &Error{File: lr.name, Line: line, Err: fmt.Errorf(format, args...)}
}

// firstLine returns the first line of br that is not blank, without
// consuming it, or what can be seen of it within the buffer. A read error
// is left for the reads that follow.
func firstLine(br *bufio.Reader) []byte {
	for n := 512; ; n *= 2 {
		n = min(n, bufferSize)
		b, err := br.Peek(n)
		rest := b
		for len(rest) > 0 {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			if line := rest[:i+1]; len(bytes.TrimSpace(line)) > 0 {
				return line
			}
			rest = rest[i+1:]
		}
		if err != nil || len(b) < n || n == bufferSize {
			return rest
		}
	}
}

// detectComma returns the delimiter that occurs most often outside quoted
// fields in line (',' first, then ';', then tab, on a tie), or 0 when none
// does. A quote opens a quoted field only at the start of a field (after any
// of the delimiters), as encoding/csv with LazyQuotes reads it.
func detectComma(line []byte) rune {
	const delims = ",;\t"
	var counts [len(delims)]int
	quoted, fieldStart := false, true
	for i := 0; i < len(line); i++ {
		c := line[i]
		if quoted {
			if c == '"' {
				if i+1 < len(line) && line[i+1] == '"' {
					i++
				} else {
					quoted = false
				}
			}
			continue
		}
		if c == '"' && fieldStart {
			quoted = true
			continue
		}
		k := strings.IndexByte(delims, c)
		if k >= 0 {
			counts[k]++
		}
		fieldStart = k >= 0
	}
	best := -1
	for i, n := range counts {
		if n > 0 && (best < 0 || n > counts[best]) {
			best = i
		}
	}
	if best < 0 {
		return 0
	}
	return rune(delims[best])
}

func blankRow(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// sizeOf returns the size of r when it is a regular file or knows its size
// (bytes.Reader, strings.Reader), and 0 otherwise.
func sizeOf(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := r.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	case interface{ Size() int64 }:
		return r.Size()
	}
	return 0
}

// countingReader counts the bytes read through it. Its errors are sticky,
// so that an error met while peeking at the start of the input comes back
// when the input is read.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// recorder keeps the bytes read through it from offset base on, so that
// the bytes of a CSV row can be had from the row's start and end offsets.
type recorder struct {
	r    io.Reader
	buf  []byte
	base int64
}

func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	rc.buf = append(rc.buf, p[:n]...)
	return n, err
}

// drop forgets the bytes before offset off.
func (rc *recorder) drop(off int64) {
	k := int(off - rc.base)
	if k <= 0 {
		return
	}
	k = min(k, len(rc.buf))
	rc.buf = rc.buf[:copy(rc.buf, rc.buf[k:])]
	rc.base += int64(k)
}

// bytes returns the bytes from offset start to offset end.
func (rc *recorder) bytes(start, end int64) []byte {
	i, j := int(start-rc.base), int(end-rc.base)
	i, j = max(i, 0), min(j, len(rc.buf))
	if i > j {
		return nil
	}
	return rc.buf[i:j]
}

// rowGuard follows the rows and quoting of the CSV it passes on, as
// encoding/csv reads it with LazyQuotes, and fails with a *longRow when a row
// grows longer than bufferSize: encoding/csv would keep it whole in memory.
type rowGuard struct {
	r     io.Reader
	comma byte

	quoted     bool  // inside a quoted field
	fieldStart bool  // (outside) at the start of a field
	afterQuote int   // (inside) 1: just after a '"'; 2: after '"' and '\r'
	size       int   // bytes of the row so far
	line       int64 // the line of the next byte
	start      int64 // the line where the row starts
	err        error
}

// longRow is the error of a row longer than bufferSize.
type longRow struct{ line int64 }

func (e *longRow) Error() string { return "row too long" }

func (g *rowGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if i := g.scan(p[:n]); i >= 0 {
		g.err = &longRow{line: g.start}
		return i, g.err
	}
	return n, err
}

// scan follows the bytes of p, and returns the index of the first byte past
// the limit of a row, or -1.
func (g *rowGuard) scan(p []byte) int {
	for i, c := range p {
		if g.size == 0 {
			g.start = g.line
		}
		if c == '\n' {
			g.line++
		}
		if !g.quoted {
			switch {
			case c == '\n': // the row ends (or it was a blank line)
				g.fieldStart, g.size = true, 0
				continue
			case c == g.comma:
				g.fieldStart = true
			case c == '"' && g.fieldStart:
				g.quoted, g.afterQuote, g.fieldStart = true, 0, false
			default:
				g.fieldStart = false
			}
		} else {
			switch g.afterQuote {
			case 0:
				if c == '"' {
					g.afterQuote = 1
				}
			case 1:
				switch c {
				case '"': // an escaped quote
					g.afterQuote = 0
				case g.comma: // the field ends
					g.quoted, g.fieldStart = false, true
				case '\n': // the row ends
					g.quoted, g.fieldStart, g.size = false, true, 0
					continue
				case '\r':
					g.afterQuote = 2
				default: // a lazy quote, taken literally
					g.afterQuote = 0
				}
			case 2:
				switch c {
				case '\n': // '"' then "\r\n": the row ends
					g.quoted, g.fieldStart, g.size = false, true, 0
					continue
				case '"':
					g.afterQuote = 1
				default:
					g.afterQuote = 0
				}
			}
		}
		if g.size++; g.size > bufferSize {
			return i
		}
	}
	return -1
}
