package agi

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// A Reply is Asterisk's answer to one command.
//
// res_agi.c writes replies as "200 result=%d\n", "200 result=%d (%s)\n",
// "200 result=%d (%s) endpos=%ld\n", "200 result=%s (timeout)\n",
// "200 result=0 Gosub complete\n", "510 Invalid or unknown command\n" and
// the like; Reply keeps each part as raw text.
type Reply struct {
	// Code is the three-digit status code: 200 on success, 510 unknown
	// command, 511 not permitted on a dead channel, 520 usage error.
	Code int
	// Result is the raw text after "result=", which may be empty (GET DATA
	// with no digits), "*" or "-1". Use Int to convert it.
	Result string
	// Data is the text inside the parentheses after the result, e.g. the
	// value of GET VARIABLE. It may contain spaces, parentheses and, for a
	// value that contains line feeds, several lines.
	Data string
	// Extra is the text after the result and data, e.g. "endpos=1234" or
	// "Gosub complete".
	Extra string
	// Text is the message of a reply without a result, such as
	// "Invalid or unknown command" (510) or "Command Not Permitted on a dead
	// channel or intercept routine" (511); for a multi-line 520 reply it is
	// the usage text, one line per line, without the 520 header and trailer.
	Text string
}

// Int returns Result as an integer.
func (r Reply) Int() (int, error) {
	n, err := strconv.Atoi(r.Result)
	if err != nil {
		return 0, protocolErrorf("reply result %q is not an integer", clip(r.Result))
	}
	return n, nil
}

// Value returns the value of key in Extra, where Extra holds space-separated
// key=value pairs such as "endpos=1234" or `score0=900 text0="hello world"`;
// a value in double quotes may contain spaces and is returned without them.
func (r Reply) Value(key string) (string, bool) {
	rest := r.Extra
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		var field string
		eq := strings.IndexByte(rest, '=')
		sp := strings.IndexByte(rest, ' ')
		if eq < 0 {
			return "", false
		}
		if sp >= 0 && sp < eq {
			// A word without "=": skip it.
			rest = rest[sp:]
			continue
		}
		name := rest[:eq]
		rest = rest[eq+1:]
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				field, rest = rest[1:], ""
			} else {
				field, rest = rest[1:1+end], rest[2+end:]
			}
		} else if sp = strings.IndexByte(rest, ' '); sp >= 0 {
			field, rest = rest[:sp], rest[sp:]
		} else {
			field, rest = rest, ""
		}
		if name == key {
			return field, true
		}
	}
	return "", false
}

// errUnterminatedData reports a status line whose data opens with "(" and
// does not close on the same line: the value contains a line feed, and the
// reply goes on until a line that ends with ")".
var errUnterminatedData = errors.New("agi: reply data continues on the next line")

// Frequent replies, kept as constants so that reading them allocates nothing.
const (
	reply200Result0  = "200 result=0"
	reply200Result1  = "200 result=1"
	reply200ResultM1 = "200 result=-1"
)

// lineString converts a reply line to a string, without allocating for the
// most frequent replies.
func lineString(line []byte) string {
	switch string(line) {
	case reply200Result1:
		return reply200Result1
	case reply200Result0:
		return reply200Result0
	case reply200ResultM1:
		return reply200ResultM1
	}
	return string(line)
}

// parseStatus parses one status line, without its line feed.
func parseStatus(line string) (Reply, error) {
	line = strings.TrimSuffix(line, "\r")
	if len(line) < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2]) ||
		(len(line) > 3 && line[3] != ' ') {
		return Reply{}, protocolErrorf("malformed reply %q", clip(line))
	}
	r := Reply{Code: statusCode(line)}
	if r.Code < 100 || r.Code > 599 {
		return Reply{}, protocolErrorf("reply code out of range: %q", clip(line))
	}
	var rest string
	if len(line) > 4 {
		rest = line[4:]
	}
	if r.Code != 200 {
		r.Text = rest
	}
	after, ok := strings.CutPrefix(rest, "result=")
	if !ok {
		if r.Code == 200 {
			return Reply{}, protocolErrorf("200 reply without result=: %q", clip(line))
		}
		return r, nil
	}
	sp := strings.IndexByte(after, ' ')
	if sp < 0 {
		r.Result = after
		return r, nil
	}
	r.Result, after = after[:sp], strings.TrimLeft(after[sp+1:], " ")
	if !strings.HasPrefix(after, "(") {
		r.Extra = after
		return r, nil
	}
	// The data is free text when the reply ends with it ("200 result=1
	// (%s)\n": GET VARIABLE, GET FULL VARIABLE, DATABASE GET) and may then
	// contain ") ", so it runs to the last byte. Replies with text after the
	// data ("(timeout) endpos=%ld", "(speech) endpos=%ld results=...") carry
	// a fixed word in the parentheses, so the first ") " ends it.
	switch {
	case strings.HasSuffix(after, ")"):
		r.Data = after[1 : len(after)-1]
	case strings.Contains(after, ") "):
		end := strings.Index(after, ") ")
		r.Data, r.Extra = after[1:end], strings.TrimLeft(after[end+2:], " ")
	default:
		return r, errUnterminatedData
	}
	return r, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// statusCode returns the value of the three digits that s starts with.
func statusCode(s string) int {
	return int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
}

// isHangupLine reports whether line is Asterisk's asynchronous hangup
// notice.
func isHangupLine(line []byte) bool {
	return string(bytes.TrimSuffix(line, []byte("\r"))) == "HANGUP"
}

// isBlockStart reports whether line opens a multi-line reply ("520-...").
func isBlockStart(line []byte) bool {
	return len(line) >= 4 && '1' <= line[0] && line[0] <= '5' && isDigit(line[1]) && isDigit(line[2]) && line[3] == '-'
}

// maxBlockBytes bounds a multi-line reply; Asterisk's longest usage texts
// are a few kilobytes.
const maxBlockBytes = 64 << 10

// readLine returns the next line without its line feed. The slice is valid
// until the next read. On a read error it returns the bytes of the partial
// line read before it.
func (s *Session) readLine() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	switch {
	case err == nil:
		return line[:len(line)-1], nil
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, lineTooLong(len(line), s.r.Size())
	default:
		return line, err
	}
}

func lineTooLong(n, max int) error {
	return &lineTooLongError{n: n, max: max}
}

type lineTooLongError struct{ n, max int }

func (e *lineTooLongError) Error() string {
	return "agi: line too long: no line feed in the first " + strconv.Itoa(e.n) +
		" bytes (limit " + strconv.Itoa(e.max) + ")"
}

func (e *lineTooLongError) Unwrap() error { return ErrLineTooLong }

// readReply reads the reply to a command: it skips and records HANGUP lines
// and provisional 100 replies, and joins multi-line replies.
func (s *Session) readReply() (Reply, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			return Reply{}, err
		}
		if isHangupLine(line) {
			s.hungUp.Store(true)
			continue
		}
		if isBlockStart(line) {
			r, err := s.readBlock(string(line[:3]))
			if err != nil || r.Code != 100 {
				return r, err
			}
			// A provisional reply, even in several lines: skip it too.
			continue
		}
		str := lineString(line)
		r, err := parseStatus(str)
		if err == errUnterminatedData {
			r, err = s.readContinued(str)
		}
		if err != nil {
			return Reply{}, err
		}
		if r.Code == 100 {
			// "100 result=0 Trying..." (GOSUB): the real reply follows.
			continue
		}
		return r, nil
	}
}

// readContinued reads the rest of a reply whose data contains line feeds:
// lines up to one that ends with ")".
func (s *Session) readContinued(first string) (Reply, error) {
	buf := []byte(first)
	for {
		line, err := s.readLine()
		if err != nil {
			return Reply{}, err
		}
		if len(buf)+1+len(line) > s.r.Size() {
			return Reply{}, lineTooLong(len(buf)+1+len(line), s.r.Size())
		}
		buf = append(buf, '\n')
		buf = append(buf, line...)
		if bytes.HasSuffix(bytes.TrimSuffix(line, []byte("\r")), []byte(")")) {
			return parseStatus(string(buf))
		}
	}
}

// readBlock reads a multi-line reply after its "NNN-" header line, up to the
// line that starts with "NNN ". Some Asterisk versions write the usage text
// without a final line feed, so "520 End of proper usage." can also end the
// last usage line.
func (s *Session) readBlock(code string) (Reply, error) {
	var text []byte
	trailer := code + " End of proper usage."
	for n := 0; ; n++ {
		line, err := s.readLine()
		if err != nil {
			return Reply{}, err
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		end := len(line) >= 4 && string(line[:3]) == code && line[3] == ' ' || string(line) == code
		if !end && bytes.HasSuffix(line, []byte(trailer)) {
			line, end = line[:len(line)-len(trailer)], true
			if len(line) == 0 {
				line = nil
			}
		} else if end {
			line = nil
		}
		if line != nil {
			if n > 0 {
				text = append(text, '\n')
			}
			text = append(text, line...)
			if len(text) > maxBlockBytes {
				return Reply{}, protocolErrorf("multi-line %s reply longer than %d bytes", code, maxBlockBytes)
			}
		}
		if end {
			return Reply{Code: statusCode(code), Text: string(text)}, nil
		}
	}
}
