package agitest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Event kinds: the second word of a transcript line. The recording server
// is the FastAGI server Asterisk talked to; RECV and SEND are its view.
const (
	EventAccept        = "ACCEPT"      // the recording server accepted the connection
	EventRecv          = "RECV"        // bytes Asterisk sent, in the chunk one read returned
	EventSend          = "SEND"        // bytes the recording server sent
	EventNote          = "NOTE"        // a remark of the recording server, in Text
	EventShutdownWrite = "SHUTDOWN_WR" // the recording server half-closed the connection
	EventEOF           = "EOF"         // Asterisk closed its end
	EventClose         = "CLOSE"       // the recording server closed the connection
)

// Transcript is one recorded FastAGI session: a scenario-*.txt file of
// shared/asterisk, recorded by a small FastAGI server talking to a real
// Asterisk 22.10.1.
type Transcript struct {
	// Name is the file name without ".txt", such as "scenario-a-allowed".
	Name string
	// Events are the lines of the file, in order.
	Events []Event
}

// Event is one line of a transcript, such as the line
// "+ 0.002330 SEND  b'SET VARIABLE BLACKLIST_STATUS ALLOWED\n'" or the line
// "+ 0.006060 CLOSE (server closes the socket)".
type Event struct {
	// At is the time since the connection was accepted; it never goes back
	// from one event to the next.
	At time.Duration
	// Kind is one of the Event* constants; other words of capital letters
	// and underscores are kept as they are.
	Kind string
	// Data holds the bytes of a RECV or SEND event.
	Data []byte
	// Text is the rest of the line for the other kinds, such as
	// "scenario=a env_lines=24" for a NOTE; it may be empty.
	Text string
}

// FromAsterisk returns every byte Asterisk sent: the RECV events joined, as
// in the scenario's .in.bin file.
func (t Transcript) FromAsterisk() []byte { return t.join(EventRecv) }

// FromServer returns every byte the recording server sent: the SEND events
// joined, as in the scenario's .out.bin file.
func (t Transcript) FromServer() []byte { return t.join(EventSend) }

func (t Transcript) join(kind string) []byte {
	var b []byte
	for _, ev := range t.Events {
		if ev.Kind == kind {
			b = append(b, ev.Data...)
		}
	}
	return b
}

// ErrBadTranscript reports a transcript line that is not
// "+SECONDS KIND [DATA]"; the error is a *TranscriptError.
var ErrBadTranscript = errors.New("malformed transcript line")

// TranscriptError reports a malformed line of a transcript file. It matches
// ErrBadTranscript with errors.Is.
type TranscriptError struct {
	Path string // the file, as given to ReadTranscript
	Line int    // the line number, from 1
	Err  error  // what is wrong with the line
}

func (e *TranscriptError) Error() string {
	return fmt.Sprintf("agitest: %s:%d: %v", e.Path, e.Line, e.Err)
}

func (e *TranscriptError) Unwrap() error { return e.Err }

// Is reports whether target is ErrBadTranscript.
func (e *TranscriptError) Is(target error) bool { return target == ErrBadTranscript }

// TranscriptFiles returns the paths of the scenario-*.txt transcripts in
// dir, sorted by name. The error wraps fs.ErrNotExist when dir does not
// exist or holds no transcript.
func TranscriptFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("agitest: transcripts: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if name := e.Name(); !e.IsDir() && strings.HasPrefix(name, "scenario-") && strings.HasSuffix(name, ".txt") {
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("agitest: no scenario-*.txt transcripts in %s: %w", dir, fs.ErrNotExist)
	}
	return paths, nil
}

// ReadTranscript reads a transcript file. A malformed line gives a
// *TranscriptError that names the file and the line.
func ReadTranscript(path string) (Transcript, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Transcript{}, fmt.Errorf("agitest: %w", err)
	}
	return parseTranscript(path, string(raw))
}

// parseTranscript parses the text of the transcript file at path.
func parseTranscript(path, text string) (Transcript, error) {
	t := Transcript{Name: strings.TrimSuffix(filepath.Base(path), ".txt")}
	if text == "" {
		return t, nil
	}
	t.Events = make([]Event, 0, strings.Count(text, "\n")+1)
	n := 0
	for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		n++
		ev, err := parseEvent(line)
		if err == nil && len(t.Events) > 0 && ev.At < t.Events[len(t.Events)-1].At {
			err = fmt.Errorf("time %v goes back from %v", ev.At, t.Events[len(t.Events)-1].At)
		}
		if err != nil {
			return Transcript{}, &TranscriptError{Path: path, Line: n, Err: err}
		}
		t.Events = append(t.Events, ev)
	}
	return t, nil
}

// parseEvent parses one transcript line: "+", the seconds since the accept
// (right-aligned, so possibly after spaces), the kind, and for RECV and SEND
// a Python bytes literal, for the other kinds an optional text.
func parseEvent(line string) (Event, error) {
	rest, ok := strings.CutPrefix(line, "+")
	if !ok {
		return Event{}, fmt.Errorf("line %.40q does not start with \"+\"", line)
	}
	secs, rest, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
	at, err := parseSeconds(secs)
	if err != nil {
		return Event{}, err
	}
	kind, rest, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
	if !isKind(kind) {
		return Event{}, fmt.Errorf("event kind %.40q is not a word of capital letters", kind)
	}
	ev := Event{At: at, Kind: kind}
	rest = strings.Trim(rest, " ")
	if kind != EventRecv && kind != EventSend {
		ev.Text = rest
		return ev, nil
	}
	if ev.Data, err = parseBytesLiteral(rest); err != nil {
		return Event{}, fmt.Errorf("%s data: %w", kind, err)
	}
	return ev, nil
}

// parseSeconds parses a time such as "0.002066" or "30": decimal seconds,
// at most nanosecond precision.
func parseSeconds(s string) (time.Duration, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !isDigits(whole) || (hasFrac && !isDigits(frac)) || len(frac) > 9 {
		return 0, fmt.Errorf("time %.40q is not a number of seconds", s)
	}
	// At most 9 fraction digits and only digits: ParseDuration is exact and
	// reports an overflow.
	d, err := time.ParseDuration(s + "s")
	if err != nil {
		return 0, fmt.Errorf("time %.40q is out of range", s)
	}
	return d, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isKind(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < 'A' || s[i] > 'Z') && s[i] != '_' {
			return false
		}
	}
	return s != ""
}

// parseBytesLiteral decodes a Python bytes literal as Python's repr writes
// it, such as b'a\n\x00' or b"it's": printable ASCII, and the escapes \\, \',
// \", \t, \n, \r and \xhh. A quote like the enclosing one must be escaped.
func parseBytesLiteral(lit string) ([]byte, error) {
	if len(lit) < 3 || lit[0] != 'b' || (lit[1] != '\'' && lit[1] != '"') || lit[len(lit)-1] != lit[1] {
		return nil, fmt.Errorf("%.40q is not a bytes literal b'...' or b\"...\"", lit)
	}
	quote := lit[1]
	body := lit[2 : len(lit)-1]
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == quote:
			return nil, fmt.Errorf("unescaped %c at offset %d of the bytes literal", c, i+2)
		case c < ' ' || c > '~':
			return nil, fmt.Errorf("byte %#02x at offset %d of the bytes literal is not printable ASCII", c, i+2)
		case c != '\\':
			out = append(out, c)
			continue
		}
		i++
		if i == len(body) {
			return nil, errors.New("the bytes literal ends in a lone backslash")
		}
		switch c = body[i]; c {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case '\\', '\'', '"':
			out = append(out, c)
		case 'x':
			hi, lo := unhex(body, i+1), unhex(body, i+2)
			if hi < 0 || lo < 0 {
				return nil, fmt.Errorf("escape \\x at offset %d of the bytes literal lacks two hex digits", i+1)
			}
			out = append(out, byte(hi<<4|lo))
			i += 2
		default:
			return nil, fmt.Errorf("unknown escape %q at offset %d of the bytes literal", body[i-1:i+1], i+1)
		}
	}
	return out, nil
}

// unhex returns the value of the hex digit s[i], or -1 when there is none.
func unhex(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch c := s[i]; {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
