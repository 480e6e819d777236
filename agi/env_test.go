package agi

import (
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func readTestEnv(in string, maxLine, maxLines int) (*Session, error) {
	s := newTestSession(strings.NewReader(in), maxLine)
	return s, s.readEnv(maxLines)
}

func TestReadEnv(t *testing.T) {
	s, err := readTestEnv(testEnv+"200 result=1\n", DefaultMaxLineBytes, DefaultMaxEnvLines)
	if err != nil {
		t.Fatal(err)
	}
	env := s.Env()
	if env.Len() != 24 {
		t.Errorf("Len() = %d, want 24", env.Len())
	}
	for name, want := range map[string]string{
		"agi_network":        "yes",
		"agi_network_script": "blacklist?campaign=promo&foo=bar&scenario=a",
		"agi_request":        "agi://127.0.0.1:4575/blacklist?campaign=promo&foo=bar&scenario=a",
		"agi_channel":        "Local/a-5511987654321@agi-scn-00000006;2",
		"agi_uniqueid":       "e2e-1795819574.13",
		"agi_extension":      "5511987654321",
		"agi_accountcode":    "",
		"agi_arg_2":          "arg2",
	} {
		if got, ok := env.Lookup(name); !ok || got != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if got, ok := env.Lookup("agi_missing"); ok || got != "" || env.Get("agi_missing") != "" {
		t.Errorf("Lookup of a missing variable = %q, %v", got, ok)
	}
	var names []string
	for name := range env.All() {
		names = append(names, name)
		if name == "agi_callerid" {
			break
		}
	}
	if want := []string{"agi_network", "agi_network_script", "agi_request", "agi_channel", "agi_language",
		"agi_type", "agi_uniqueid", "agi_version", "agi_callerid"}; !slices.Equal(names, want) {
		t.Errorf("All() = %q, want %q", names, want)
	}
	req := s.Request()
	if req.Script != "blacklist" || !slices.Equal(req.Args, []string{"arg1", "arg2"}) ||
		req.Query.Get("campaign") != "promo" || req.Query.Get("scenario") != "a" {
		t.Errorf("Request() = %+v", req)
	}
	// The reply after the block stays for the command reader.
	if r, err := s.readReply(); err != nil || r.Result != "1" {
		t.Errorf("reply after the env block: %+v, %v", r, err)
	}
}

func TestReadEnvEdgeCases(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, s *Session)
	}{
		{"minimal", "agi_network: yes\n\n", func(t *testing.T, s *Session) {
			if s.env.Len() != 1 || s.req.Script != "" || s.req.Query != nil || s.req.Args != nil {
				t.Errorf("env %d, request %+v", s.env.Len(), s.req)
			}
		}},
		{"value with colons and ': '", "agi_network: yes\nagi_calleridname: Dr: Who: x\nagi_request: agi://h:4573/p\n\n", func(t *testing.T, s *Session) {
			if got := s.env.Get("agi_calleridname"); got != "Dr: Who: x" {
				t.Errorf("agi_calleridname = %q", got)
			}
		}},
		{"crlf lines", "agi_network: yes\r\nagi_network_script: x?y=1\r\n\r\n", func(t *testing.T, s *Session) {
			if s.req.Script != "x" || s.req.Query.Get("y") != "1" {
				t.Errorf("request %+v", s.req)
			}
		}},
		{"args out of order", "agi_network: yes\nagi_arg_2: b\nagi_arg_10: j\nagi_arg_1: a\nagi_arg_x: no\nagi_arg_0: no\n\n", func(t *testing.T, s *Session) {
			if !slices.Equal(s.req.Args, []string{"a", "b", "j"}) {
				t.Errorf("Args = %q", s.req.Args)
			}
		}},
		{"empty args", "agi_network: yes\nagi_arg_1: \nagi_arg_2: x y\n\n", func(t *testing.T, s *Session) {
			if !slices.Equal(s.req.Args, []string{"", "x y"}) {
				t.Errorf("Args = %q", s.req.Args)
			}
		}},
		{"utf-8", "agi_network: yes\nagi_calleridname: Jo\u00e3o\n\n", func(t *testing.T, s *Session) {
			if s.env.Get("agi_calleridname") != "Jo\u00e3o" {
				t.Errorf("agi_calleridname = %q", s.env.Get("agi_calleridname"))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := readTestEnv(tt.in, DefaultMaxLineBytes, DefaultMaxEnvLines)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestReadEnvErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		maxLine  int
		maxLines int
		want     []error
		mention  string
	}{
		{"nothing", "", 0, 0, []error{ErrProtocol, io.EOF}, "before the environment block"},
		{"empty block", "\n", 0, 0, []error{ErrProtocol}, "empty environment block"},
		{"eof mid-env", "agi_network: yes\nagi_channel: x\n", 0, 0, []error{ErrProtocol, io.ErrUnexpectedEOF}, "after 2 environment lines"},
		{"eof mid-line", "agi_network: yes\nagi_chan", 0, 0, []error{ErrProtocol, io.ErrUnexpectedEOF}, "after 1 environment lines"},
		{"no separator", "agi_network: yes\nagi_channel:x\n\n", 0, 0, []error{ErrProtocol}, `line 2 is not "name: value": "agi_channel:x"`},
		{"empty name", "agi_network: yes\n: x\n\n", 0, 0, []error{ErrProtocol}, "line 2"},
		{"not agi", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, []error{ErrProtocol}, "GET / HTTP/1.1"},
		{"not agi_network first", "agi_request: agi://h/x\n\n", 0, 0, []error{ErrProtocol}, "does not start with agi_network"},
		{"too many lines", "agi_network: yes\nagi_a: 1\nagi_b: 2\nagi_c: 3\n\n", 0, 3, []error{ErrProtocol}, `line 4 "agi_c: 3" is over the limit of 3 lines`},
		{"endless line", "agi_network: yes\nagi_x: " + strings.Repeat("x", 200), 64, 0, []error{ErrLineTooLong}, "limit 64"},
		{"block too long", "agi_network: yes\n" + strings.Repeat("agi_x: "+strings.Repeat("x", 1000)+"\n", 70) + "\n", 0, 0, []error{ErrProtocol}, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxLine, maxLines := tt.maxLine, tt.maxLines
			if maxLine == 0 {
				maxLine = DefaultMaxLineBytes
			}
			if maxLines == 0 {
				maxLines = DefaultMaxEnvLines
			}
			_, err := readTestEnv(tt.in, maxLine, maxLines)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err = %v, want it to mention %q", err, tt.mention)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name          string
		networkScript string
		hasScript     bool
		request       string
		wantScript    string
		wantQuery     url.Values
	}{
		{"network script", "blacklist?campaign=promo&foo=bar", true, "agi://127.0.0.1:4575/blacklist?campaign=promo&foo=bar",
			"blacklist", url.Values{"campaign": {"promo"}, "foo": {"bar"}}},
		{"network script wins", "a/b", true, "agi://h/other", "a/b", nil},
		{"agi request", "", false, "agi://127.0.0.1:4575/blacklist?campaign=promo", "blacklist", url.Values{"campaign": {"promo"}}},
		{"hagi request", "", false, "hagi://agi.example.com/blacklist?x=1&x=2", "blacklist", url.Values{"x": {"1", "2"}}},
		{"no path", "", false, "agi://127.0.0.1:4575", "", nil},
		{"query only", "?extension=100", true, "agi://h/?extension=100", "", url.Values{"extension": {"100"}}},
		{"leading slashes", "//deep/path?q", true, "", "deep/path", url.Values{"q": {""}}},
		{"escaped query", "s?name=Jo%C3%A3o+Silva&bad=%zz", true, "", "s", url.Values{"name": {"Jo\u00e3o Silva"}}},
		{"verbatim path", "a%20b", true, "", "a%20b", nil},
		{"nothing", "", false, "", "", nil},
		{"no scheme", "", false, "blacklist", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := parseRequest(tt.networkScript, tt.hasScript, tt.request)
			if req.Script != tt.wantScript {
				t.Errorf("Script = %q, want %q", req.Script, tt.wantScript)
			}
			if len(req.Query) != len(tt.wantQuery) {
				t.Errorf("Query = %v, want %v", req.Query, tt.wantQuery)
			}
			for k, v := range tt.wantQuery {
				if !slices.Equal(req.Query[k], v) {
					t.Errorf("Query[%q] = %q, want %q", k, req.Query[k], v)
				}
			}
		})
	}
}

// FuzzReadEnv feeds arbitrary bytes to the environment reader: it must not
// panic, fail only with the package's errors, and when it succeeds every
// variable must come from a "name: value" line of the input.
func FuzzReadEnv(f *testing.F) {
	f.Add([]byte(testEnv))
	f.Add([]byte("agi_network: yes\n\n"))
	f.Add([]byte("agi_network: yes\nagi_request: hagi://h/x?a=b\nagi_arg_2: b\nagi_arg_1: a\n\n"))
	f.Add([]byte("agi_network: yes\r\nagi_accountcode: \r\n\r\n"))
	f.Add([]byte("agi_network: yes\nbad line\n\n"))
	f.Add([]byte("agi_network: yes\nagi_calleridname: a: b\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := readTestEnv(string(in), 256, 32)
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("readEnv(%q): unexpected error %v", in, err)
			}
			return
		}
		if s.env.Len() == 0 || s.env.fields[0].name != "agi_network" {
			t.Fatalf("readEnv(%q) succeeded without agi_network first", in)
		}
		for name, value := range s.env.All() {
			if name == "" || !strings.Contains(string(in), name+": "+value) {
				t.Fatalf("readEnv(%q): variable %q=%q not in the input", in, name, value)
			}
		}
		if strings.HasPrefix(s.req.Script, "/") || strings.Contains(s.req.Script, "?") {
			t.Fatalf("readEnv(%q): Script %q", in, s.req.Script)
		}
	})
}
