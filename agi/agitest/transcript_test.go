package agitest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseBytesLiteral(t *testing.T) {
	tests := []struct {
		lit  string
		want string
	}{
		{`b'a\nb'`, "a\nb"},
		{`b"it's"`, "it's"},
		{`b'it\'s'`, "it's"},
		{`b'say "hi"'`, `say "hi"`},
		{`b'back\\\\slash\\x\n'`, "back\\\\slash\\x\n"},
		{`b"SET VARIABLE Q3 'single quoted value'\n"`, "SET VARIABLE Q3 'single quoted value'\n"},
		{`b'n\xc3\xa3o'`, "n\xc3\xa3o"},
		{`b'\xC3\xA3'`, "\xc3\xa3"},
		{`b'tab\\\tsep'`, "tab\\\tsep"},
		{`b'cr"\r\n'`, "cr\"\r\n"},
		{`b'\\\'\"\t\r\x00\xc3\xa3'`, "\\'\"\t\r\x00\xc3\xa3"},
		{`b' ~'`, " ~"},
		{`b''`, ""},
		{`b""`, ""},
	}
	for _, tt := range tests {
		got, err := parseBytesLiteral(tt.lit)
		if err != nil || string(got) != tt.want {
			t.Errorf("parseBytesLiteral(%s) = %q, %v; want %q", tt.lit, got, err, tt.want)
		}
	}

	bad := []struct {
		lit     string
		mention string // in the error message
	}{
		{``, "not a bytes literal"},
		{`'x'`, "not a bytes literal"},
		{`B'x'`, "not a bytes literal"},
		{`b'`, "not a bytes literal"},
		{`b'x`, "not a bytes literal"},
		{`b'x"`, "not a bytes literal"},
		{`b'a'b'`, "unescaped ' at offset 3"},
		{`b"a"b"`, `unescaped " at offset 3`},
		{"b'a\tb'", "byte 0x09 at offset 3"},
		{"b'\xc3\xa3'", "byte 0xc3 at offset 2"},
		{"b'\x7f'", "not printable ASCII"},
		{`b'\'`, "lone backslash"},
		{`b'ab\'`, "lone backslash"},
		{`b'\q'`, `unknown escape "\\q" at offset 2`},
		{`b'\0'`, "unknown escape"},
		{`b'\x4'`, `\x at offset 2 of the bytes literal lacks two hex digits`},
		{`b'\x'`, "lacks two hex digits"},
		{`b'\xg0'`, "lacks two hex digits"},
		{`b'\x0g'`, "lacks two hex digits"},
	}
	for _, tt := range bad {
		got, err := parseBytesLiteral(tt.lit)
		if err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("parseBytesLiteral(%s) = %q, %v; want an error mentioning %q", tt.lit, got, err, tt.mention)
		}
	}
}

// pyRepr is Python's repr of bytes, which the recording server wrote.
func pyRepr(b []byte) string {
	quote := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		quote = '"'
	}
	var s strings.Builder
	s.WriteByte('b')
	s.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c < ' ' || c > '~':
			fmt.Fprintf(&s, `\x%02x`, c)
		default:
			s.WriteByte(c)
		}
	}
	s.WriteByte(quote)
	return s.String()
}

func FuzzParseBytesLiteral(f *testing.F) {
	for _, seed := range []string{
		`b'a\nb'`, `b"it's"`, `b'\\\'\"\t\r\x00\xc3\xa3'`, `b''`, `b'\x4'`, `b'\'`, `b'a'b'`, "b'\xff'",
		`b'agi_network: yes\nagi_accountcode: \n\n'`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Any bytes, written as Python writes them, read back unchanged.
		if got, err := parseBytesLiteral(pyRepr([]byte(s))); err != nil || !bytes.Equal(got, []byte(s)) {
			t.Fatalf("parseBytesLiteral(%s) = %q, %v; want %q", pyRepr([]byte(s)), got, err, s)
		}
		// Any literal that parses is printable ASCII in quotes, and its
		// bytes written again read back the same.
		b, err := parseBytesLiteral(s)
		if err != nil {
			return
		}
		if len(s) < 3 || s[0] != 'b' || s[len(s)-1] != s[1] {
			t.Fatalf("parseBytesLiteral(%q) = %q, want an error", s, b)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < ' ' || s[i] > '~' {
				t.Fatalf("parseBytesLiteral(%q) accepted byte %#02x", s, s[i])
			}
		}
		if again, err := parseBytesLiteral(pyRepr(b)); err != nil || !bytes.Equal(again, b) {
			t.Fatalf("parseBytesLiteral(%s) = %q, %v; want %q", pyRepr(b), again, err, b)
		}
	})
}

// formatTranscript writes events as the recording server did; it is exact
// for times in whole microseconds, as recorded.
func formatTranscript(events []Event) string {
	var s strings.Builder
	for _, ev := range events {
		secs, frac := ev.At/time.Second, ev.At%time.Second
		at := fmt.Sprintf("%d.%06d", secs, frac/time.Microsecond)
		if frac%time.Microsecond != 0 {
			at = fmt.Sprintf("%d.%09d", secs, frac)
		}
		fmt.Fprintf(&s, "+%9s %s", at, ev.Kind)
		switch {
		case ev.Kind == EventRecv || ev.Kind == EventSend:
			s.WriteString("  " + pyRepr(ev.Data))
		case ev.Text != "":
			s.WriteString(" " + ev.Text)
		}
		s.WriteByte('\n')
	}
	return s.String()
}

func TestParseTranscript(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		text string
		want []Event
	}{
		{"scenario a", "+ 0.000010 ACCEPT\n" +
			"+ 0.002066 RECV  b'agi_network: yes\\n'\n" +
			"+ 0.002237 RECV  b'agi_arg_2: arg2\\n\\n'\n" +
			"+ 0.002323 NOTE scenario=a env_lines=24\n" +
			"+ 0.002330 SEND  b'SET VARIABLE BLACKLIST_STATUS ALLOWED\\n'\n" +
			"+ 0.005994 RECV  b'200 result=1\\n'\n" +
			"+ 0.006060 CLOSE (server closes the socket)\n",
			[]Event{
				{At: 10 * time.Microsecond, Kind: EventAccept},
				{At: 2066 * time.Microsecond, Kind: EventRecv, Data: []byte("agi_network: yes\n")},
				{At: 2237 * time.Microsecond, Kind: EventRecv, Data: []byte("agi_arg_2: arg2\n\n")},
				{At: 2323 * time.Microsecond, Kind: EventNote, Text: "scenario=a env_lines=24"},
				{At: 2330 * time.Microsecond, Kind: EventSend, Data: []byte("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")},
				{At: 5994 * time.Microsecond, Kind: EventRecv, Data: []byte("200 result=1\n")},
				{At: 6060 * time.Microsecond, Kind: EventClose, Text: "(server closes the socket)"},
			}},
		{"wide times, no final line feed", "+ 9.016924 SHUTDOWN_WR\n+30.011027 RECV  b\"it's\"\n+60 EOF (Asterisk closed the socket)",
			[]Event{
				{At: 9016924 * time.Microsecond, Kind: EventShutdownWrite},
				{At: 30011027 * time.Microsecond, Kind: EventRecv, Data: []byte("it's")},
				{At: 60 * time.Second, Kind: EventEOF, Text: "(Asterisk closed the socket)"},
			}},
		{"equal times, an unknown kind, nanoseconds, spaces", "+1 ACCEPT\n+1.000000001   SOME_MARK   a  b  \n+2 SEND b''",
			[]Event{
				{At: time.Second, Kind: EventAccept},
				{At: time.Second + 1, Kind: "SOME_MARK", Text: "a  b"},
				{At: 2 * time.Second, Kind: EventSend, Data: []byte{}},
			}},
		{"empty", "", nil},
		{"one line", "+0.5 ACCEPT\n", []Event{{At: 500 * ms, Kind: EventAccept}}},
	}
	for _, tt := range tests {
		got, err := parseTranscript("dir/scenario-x-test.txt", tt.text)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got.Name != "scenario-x-test" || !reflect.DeepEqual(got.Events, tt.want) {
			t.Errorf("%s: got %q %+v\nwant %+v", tt.name, got.Name, got.Events, tt.want)
		}
	}
}

func TestParseTranscriptErrors(t *testing.T) {
	const accept = "+ 0.000010 ACCEPT\n"
	tests := []struct {
		text    string
		line    int
		mention string
	}{
		{"ACCEPT", 1, `line "ACCEPT" does not start with "+"`},
		{accept + "\n" + accept, 2, `line "" does not start`},
		{accept + " + 1 ACCEPT", 2, "does not start"},
		{"\n", 1, "does not start"},
		{"+", 1, `time "" is not a number of seconds`},
		{"+ x ACCEPT", 1, `time "x"`},
		{"+ -1 ACCEPT", 1, `time "-1"`},
		{"+ 1e3 ACCEPT", 1, `time "1e3"`},
		{"+ .5 ACCEPT", 1, `time ".5"`},
		{"+ 5. ACCEPT", 1, `time "5."`},
		{"+ 1.2.3 ACCEPT", 1, `time "1.2.3"`},
		{"+ 0.1234567890 ACCEPT", 1, `time "0.1234567890"`},
		{"+ 99999999999 ACCEPT", 1, "out of range"},
		{"+ 1", 1, `event kind ""`},
		{"+ 1 recv b''", 1, `event kind "recv"`},
		{"+ 1 RECV2 b''", 1, `event kind "RECV2"`},
		{accept + "+ 0.000011 RECV", 2, "RECV data: \"\" is not a bytes literal"},
		{accept + "+ 0.000011 SEND  b'x\\q'", 2, `SEND data: unknown escape "\\q" at offset 3`},
		{accept + "+ 0.000011 RECV  b'x'\r", 2, "not a bytes literal"},
		{accept + "+ 0.000009 CLOSE", 2, "time 9µs goes back from 10µs"},
	}
	for _, tt := range tests {
		tr, err := parseTranscript("dir/bad.txt", tt.text)
		var te *TranscriptError
		if !errors.As(err, &te) || te.Path != "dir/bad.txt" || te.Line != tt.line || !errors.Is(err, ErrBadTranscript) {
			t.Errorf("parseTranscript(%q) = %+v, %v; want a *TranscriptError for line %d matching ErrBadTranscript", tt.text, tr, err, tt.line)
			continue
		}
		if want := fmt.Sprintf("agitest: dir/bad.txt:%d: ", tt.line); !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("parseTranscript(%q) error %q, want it to start %q and mention %q", tt.text, err, want, tt.mention)
		}
	}
}

func FuzzParseTranscript(f *testing.F) {
	f.Add("+ 0.000010 ACCEPT\n+ 0.002066 RECV  b'agi_network: yes\\n\\n'\n+ 0.002323 NOTE scenario=a env_lines=24\n" +
		"+ 0.002330 SEND  b'SET VARIABLE A \"b c\"\\n'\n+ 0.006060 CLOSE (server closes the socket)\n")
	f.Add("+30.011027 RECV  b\"it's\\x00\"\n+60 EOF\n")
	f.Add("+1.000000001   X_Y   a  b  ")
	f.Add("+ 0.1 RECV  b'\\x4'")
	f.Fuzz(func(t *testing.T, text string) {
		tr, err := parseTranscript("fuzz.txt", text)
		if err != nil {
			var te *TranscriptError
			if !errors.As(err, &te) || !errors.Is(err, ErrBadTranscript) || te.Line < 1 || te.Line > strings.Count(text, "\n")+1 {
				t.Fatalf("parseTranscript(%q) error %v is not a *TranscriptError for one of its lines", text, err)
			}
			return
		}
		// What parses, written again, parses to the same events.
		again, err := parseTranscript("fuzz.txt", formatTranscript(tr.Events))
		if err != nil || !reflect.DeepEqual(again.Events, tr.Events) {
			t.Fatalf("parseTranscript(%q) = %+v;\nwritten again and parsed: %+v, %v", text, tr.Events, again.Events, err)
		}
	})
}

func TestTranscriptFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"scenario-b.txt", "scenario-a.txt", "scenario-a.in.bin", "other.txt", "README.md"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "scenario-c.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := TranscriptFiles(dir)
	want := []string{filepath.Join(dir, "scenario-a.txt"), filepath.Join(dir, "scenario-b.txt")}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("TranscriptFiles = %q, %v; want %q", got, err, want)
	}

	for _, dir := range []string{t.TempDir(), filepath.Join(dir, "missing")} {
		if got, err := TranscriptFiles(dir); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
			t.Errorf("TranscriptFiles(%s) = %q, %v; want an error naming it and matching fs.ErrNotExist", dir, got, err)
		}
	}
}

func TestReadTranscript(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "scenario-z-test.txt")
	text := "+ 0.000010 ACCEPT\n+ 0.001 RECV  b'env\\n\\n'\n+ 0.002 SEND  b'NOOP\\n'\n+ 0.003 RECV  b'200 result=0\\n'\n+ 0.004 CLOSE\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadTranscript(path)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Name != "scenario-z-test" || len(tr.Events) != 5 {
		t.Errorf("ReadTranscript = %+v, want scenario-z-test with 5 events", tr)
	}
	if got := string(tr.FromAsterisk()); got != "env\n\n200 result=0\n" {
		t.Errorf("FromAsterisk() = %q", got)
	}
	if got := string(tr.FromServer()); got != "NOOP\n" {
		t.Errorf("FromServer() = %q", got)
	}

	if err := os.WriteFile(path, []byte(text+"+ 0.005 RECV  b'\\q'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var te *TranscriptError
	if _, err := ReadTranscript(path); !errors.As(err, &te) || te.Path != path || te.Line != 6 {
		t.Errorf("ReadTranscript of a bad line 6 = %v, want a *TranscriptError for %s:6", err, path)
	}
	missing := filepath.Join(dir, "missing.txt")
	if _, err := ReadTranscript(missing); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadTranscript(%s) = %v, want an error naming it and matching fs.ErrNotExist", missing, err)
	}
}

// TestRecordedTranscripts reads every recorded transcript and checks it
// against the files recorded beside it: written again it is the same text,
// and its RECV and SEND bytes are the .in.bin and .out.bin files.
func TestRecordedTranscripts(t *testing.T) {
	paths, err := TranscriptFiles(asteriskDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		tr, err := ReadTranscript(path)
		if err != nil {
			t.Fatal(err)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatTranscript(tr.Events); got != string(text) {
			t.Errorf("%s written again =\n%s\nwant\n%s", tr.Name, got, text)
		}
		base := strings.TrimSuffix(path, ".txt")
		for file, want := range map[string][]byte{base + ".in.bin": tr.FromAsterisk(), base + ".out.bin": tr.FromServer()} {
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from its transcript", filepath.Base(file))
			}
		}
	}
}
