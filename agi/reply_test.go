package agi

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		line string
		want Reply
	}{
		{"200 result=1", Reply{Code: 200, Result: "1"}},
		{"200 result=0", Reply{Code: 200, Result: "0"}},
		{"200 result=-1", Reply{Code: 200, Result: "-1"}},
		{"200 result=-2", Reply{Code: 200, Result: "-2"}},
		{"200 result=", Reply{Code: 200}},
		{"200 result= (timeout)", Reply{Code: 200, Data: "timeout"}},
		{"200 result=*123 (timeout)", Reply{Code: 200, Result: "*123", Data: "timeout"}},
		{"200 result=1 (BLOCKED)", Reply{Code: 200, Result: "1", Data: "BLOCKED"}},
		{"200 result=1 ()", Reply{Code: 200, Result: "1"}},
		{"200 result=1 (opt out: customer asked)", Reply{Code: 200, Result: "1", Data: "opt out: customer asked"}},
		{"200 result=1 (Local/g-5511987654321@agi-scn-00000010;2)", Reply{Code: 200, Result: "1", Data: "Local/g-5511987654321@agi-scn-00000010;2"}},
		// Free text runs to the last ")": it may hold parentheses and ") ".
		{"200 result=1 (a(b)c)", Reply{Code: 200, Result: "1", Data: "a(b)c"}},
		{"200 result=1 (x) y=z)", Reply{Code: 200, Result: "1", Data: "x) y=z"}},
		{"200 result=1 ((()", Reply{Code: 200, Result: "1", Data: "(("}},
		{"200 result=1 (trailing cr\r)", Reply{Code: 200, Result: "1", Data: "trailing cr\r"}},
		{"200 result=1 (he said \"stop\" now)", Reply{Code: 200, Result: "1", Data: `he said "stop" now`}},
		// A fixed word in parentheses followed by more text.
		{"200 result=49 (dtmf) endpos=8640", Reply{Code: 200, Result: "49", Data: "dtmf", Extra: "endpos=8640"}},
		{"200 result=0 (timeout) endpos=24807", Reply{Code: 200, Result: "0", Data: "timeout", Extra: "endpos=24807"}},
		{`200 result=1 (speech) endpos=0 results=1 score0=900 text0="hi (there) you" grammar0=g`,
			Reply{Code: 200, Result: "1", Data: "speech", Extra: `endpos=0 results=1 score0=900 text0="hi (there) you" grammar0=g`}},
		{"200 result=0 endpos=24807", Reply{Code: 200, Result: "0", Extra: "endpos=24807"}},
		{"200 result=0 Gosub complete", Reply{Code: 200, Result: "0", Extra: "Gosub complete"}},
		{"100 result=0 Trying...", Reply{Code: 100, Result: "0", Extra: "Trying...", Text: "result=0 Trying..."}},
		{"503 result=-2 Memory allocation failure", Reply{Code: 503, Result: "-2", Extra: "Memory allocation failure", Text: "result=-2 Memory allocation failure"}},
		{"510 Invalid or unknown command", Reply{Code: 510, Text: "Invalid or unknown command"}},
		{"511 Command Not Permitted on a dead channel or intercept routine", Reply{Code: 511, Text: "Command Not Permitted on a dead channel or intercept routine"}},
		{"511 Command Not Permitted on a dead channel", Reply{Code: 511, Text: "Command Not Permitted on a dead channel"}},
		{"520 Invalid command syntax.  Proper usage not available.", Reply{Code: 520, Text: "Invalid command syntax.  Proper usage not available."}},
		{"200 result=1\r", Reply{Code: 200, Result: "1"}},
		{"510", Reply{Code: 510}},
	}
	for _, tt := range tests {
		got, err := parseStatus(tt.line)
		if err != nil || got != tt.want {
			t.Errorf("parseStatus(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

func TestParseStatusMalformed(t *testing.T) {
	for _, line := range []string{"", "HANGUP", "20", "2000 result=1", "200result=1", "abc result=1", "200 ok", "200", "-200 result=1", "200-result=1", "000 result=1", "099", "600 x", "999 result=1"} {
		if r, err := parseStatus(line); !errors.Is(err, ErrProtocol) {
			t.Errorf("parseStatus(%q) = %+v, %v; want ErrProtocol", line, r, err)
		}
	}
	if _, err := parseStatus("200 result=1 (unterminated"); err != errUnterminatedData {
		t.Errorf("unterminated data: err = %v, want errUnterminatedData", err)
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   Reply
		hungUp bool
		rest   string // what remains unread
	}{
		{"plain", "200 result=1\n", Reply{Code: 200, Result: "1"}, false, ""},
		{"hangup first", "HANGUP\n200 result=1\n", Reply{Code: 200, Result: "1"}, true, ""},
		{"two hangups", "HANGUP\nHANGUP\n200 result=1 (ALLOWED)\n", Reply{Code: 200, Result: "1", Data: "ALLOWED"}, true, ""},
		{"hangup after", "200 result=1\nHANGUP\n", Reply{Code: 200, Result: "1"}, false, "HANGUP\n"},
		{"provisional", "100 result=0 Trying...\n200 result=0 Gosub complete\n", Reply{Code: 200, Result: "0", Extra: "Gosub complete"}, false, ""},
		{"usage block", "520-Invalid command syntax.  Proper usage follows:\nSets a variable to the current channel.\n520 End of proper usage.\n",
			Reply{Code: 520, Text: "Sets a variable to the current channel."}, false, ""},
		{"usage block, several lines", "520-Invalid command syntax.  Proper usage follows:\n" +
			"Returns <literal>0</literal> if it is not set.\nExample return code: 200 result=1 (testvariable)\n\nHANGUP\n520 End of proper usage.\n",
			Reply{Code: 520, Text: "Returns <literal>0</literal> if it is not set.\nExample return code: 200 result=1 (testvariable)\n\nHANGUP"}, false, ""},
		{"usage glued to its trailer", "520-Invalid command syntax. Proper usage follows:\nStream the given file.\nReturns the digits.520 End of proper usage.\n200 result=1\n",
			Reply{Code: 520, Text: "Stream the given file.\nReturns the digits."}, false, "200 result=1\n"},
		{"empty usage block", "520-Invalid command syntax.  Proper usage follows:\n520 End of proper usage.\n", Reply{Code: 520}, false, ""},
		{"value with line feeds", "200 result=1 (line one\nline two\nline (three))\n200 result=0\n",
			Reply{Code: 200, Result: "1", Data: "line one\nline two\nline (three)"}, false, "200 result=0\n"},
		{"value with a CR and line feed", "200 result=1 (a\r\nb)\n", Reply{Code: 200, Result: "1", Data: "a\r\nb"}, false, ""},
		{"crlf", "HANGUP\r\n200 result=1 (x)\r\n", Reply{Code: 200, Result: "1", Data: "x"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.NewReader(tt.in)
			s := newTestSession(src, DefaultMaxLineBytes)
			got, err := s.readReply()
			if err != nil || got != tt.want {
				t.Fatalf("readReply() = %+v, %v; want %+v", got, err, tt.want)
			}
			if s.HungUp() != tt.hungUp {
				t.Errorf("HungUp() = %v, want %v", s.HungUp(), tt.hungUp)
			}
			rest, _ := io.ReadAll(s.r)
			if string(rest) != tt.rest {
				t.Errorf("left %q unread, want %q", rest, tt.rest)
			}
		})
	}
}

func TestReadReplyErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want error
	}{
		{"eof", "", 0, io.EOF},
		{"eof after hangup", "HANGUP\n", 0, io.EOF},
		{"eof mid-line", "200 res", 0, io.EOF},
		{"eof in usage block", "520-Invalid command syntax.\nusage\n", 0, io.EOF},
		{"eof in value", "200 result=1 (a\nb", 0, io.EOF},
		{"garbage", "hello\n", 0, ErrProtocol},
		{"empty line", "\n200 result=1\n", 0, ErrProtocol},
		{"200 without result", "200 ok\n", 0, ErrProtocol},
		{"line too long", strings.Repeat("x", 100) + "\n", 64, ErrLineTooLong},
		{"value too long", "200 result=1 (" + strings.Repeat("x\n", 40) + ")\n", 64, ErrLineTooLong},
		{"usage block too long", "520-Invalid\n" + strings.Repeat(strings.Repeat("u", 1000)+"\n", 70) + "520 End of proper usage.\n", 0, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := tt.max
			if max == 0 {
				max = DefaultMaxLineBytes
			}
			s := newTestSession(strings.NewReader(tt.in), max)
			got, err := s.readReply()
			if !errors.Is(err, tt.want) {
				t.Fatalf("readReply() = %+v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestReplyInt(t *testing.T) {
	for _, tt := range []struct {
		result string
		want   int
		ok     bool
	}{{"1", 1, true}, {"-2", -2, true}, {"", 0, false}, {"*", 0, false}, {"12a", 0, false}} {
		got, err := Reply{Code: 200, Result: tt.result}.Int()
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrProtocol)) {
			t.Errorf("Int() of %q = %d, %v", tt.result, got, err)
		}
	}
}

func TestReplyValue(t *testing.T) {
	r := Reply{Extra: `endpos=0 results=1 score0=900 text0="hi (there) you" grammar0=g junk x=`}
	for key, want := range map[string]string{"endpos": "0", "results": "1", "score0": "900", "text0": "hi (there) you", "grammar0": "g", "x": ""} {
		if got, ok := r.Value(key); !ok || got != want {
			t.Errorf("Value(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	for _, key := range []string{"junk", "missing", "end"} {
		if got, ok := r.Value(key); ok {
			t.Errorf("Value(%q) = %q, want not found", key, got)
		}
	}
	if got, ok := (Reply{Extra: "Gosub complete"}).Value("Gosub"); ok {
		t.Errorf("Value in plain text = %q, want not found", got)
	}
}

func TestCommandErrorMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{replyError("FOOBAR", Reply{Code: 510, Text: "Invalid or unknown command"}),
			`agi: "FOOBAR": invalid or unknown command (510 Invalid or unknown command)`},
		{replyError("ANSWER", Reply{Code: 511, Text: "Command Not Permitted on a dead channel or intercept routine"}),
			`agi: "ANSWER": channel hung up: command not permitted on a dead channel (511 Command Not Permitted on a dead channel or intercept routine)`},
		{replyError("SET VARIABLE", Reply{Code: 520, Text: "Sets a variable to the current channel."}),
			`agi: "SET VARIABLE": invalid command syntax (520)`},
		{&CommandError{Command: "EXEC", Reply: Reply{Code: 200, Result: "-2"}, Err: ErrNoSuchApplication},
			`agi: "EXEC": no such application (200 result=-2)`},
		{replyError("GOSUB", Reply{Code: 503, Result: "-2", Text: "result=-2 Memory allocation failure"}),
			`agi: "GOSUB": command failed (503 result=-2)`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if replyError("NOOP", Reply{Code: 200, Result: "0"}) != nil {
		t.Error("replyError of a 200 reply is not nil")
	}
}

// FuzzReadReply feeds arbitrary bytes, followed by a valid reply, to the
// reply reader: it must not panic or hang, fail only with the package's
// errors, and return only well-formed final replies.
func FuzzReadReply(f *testing.F) {
	seeds := []string{
		"200 result=1\n",
		"200 result=1 (BLOCKED)\n",
		"HANGUP\n200 result=1\n",
		"200 result=1 (Local/g-5511987654321@agi-scn-00000010;2)\n",
		"200 result=1 (5511999990000 5511987654321 Local/g-5511987654321@agi-scn-00000010;2)\n",
		"200 result=1 ()\n",
		"200 result=-2\n",
		"200 result=1 (trailing cr\r)\n",
		"200 result=1 (n\xc3\xa3o ligar)\n",
		"510 Invalid or unknown command\n",
		"511 Command Not Permitted on a dead channel or intercept routine\n",
		"520-Invalid command syntax.  Proper usage follows:\nSets a variable to the current channel.\n520 End of proper usage.\n",
		"100 result=0 Trying...\n200 result=0 Gosub complete\n",
		"200 result=49 (dtmf) endpos=8640\n",
		"200 result=1 (a\nb)\n",
		"200 result= (timeout)\n",
		"\n", "HANGUP\n", "2", "200 result=1 (",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := newTestSession(strings.NewReader(string(in)+"200 result=7 (next)\n"), 256)
		r, err := s.readReply()
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrLineTooLong) && !errors.Is(err, io.EOF) {
				t.Fatalf("readReply(%q): unexpected error %v", in, err)
			}
			return
		}
		if r.Code < 100 || r.Code > 999 {
			t.Fatalf("readReply(%q) = %+v: bad code", in, r)
		}
		if r.Code == 200 && strings.Contains(r.Result, " ") {
			t.Fatalf("readReply(%q) = %+v: result has a space", in, r)
		}
		if r.Code == 100 {
			t.Fatalf("readReply(%q) returned a provisional reply", in)
		}
	})
}
