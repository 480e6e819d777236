package agi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
)

// injectionValues are values a handler may pass on from its input (the AGI
// URL, agi_arg_N, a list's stored text): quotes, backslashes, separators,
// line breaks, NUL, dialplan expressions and values too long for one
// Asterisk command line.
var injectionValues = []string{
	"plain", "two words", `say "hi"`, `back\slash`, `\`, `"`, `\"`, "'single'", "", " ", "\t",
	"a\nHANGUP", "a\r\nEXEC Dial PJSIP/1", "a\rb", "nul\x00byte", "\n", "$[1+1] ${EXTEN}", "a,b|c;d",
	"{x}:y*?[z]", "não ligar", strings.Repeat("x", 1000), strings.Repeat("y", 3000), strings.Repeat(`"\`, 600),
}

// TestHostileArgumentsStayOneCommand runs a handler over real TCP that
// passes every injection value, taken from the AGI URL's query and from
// agi_arg_N, to SET VARIABLE, EXEC and VERBOSE. The client records every
// byte the server writes: each command is exactly one line, Asterisk's
// parse_args reads back exactly the arguments given, and a value that
// cannot be sent (CR, LF, NUL, too long) fails with ErrBadArgument, an
// error that names the command, and nothing written.
func TestHostileArgumentsStayOneCommand(t *testing.T) {
	type sent struct {
		args []string // what the handler asked for
		err  error
	}
	results := make(chan []sent, 1)
	srv := &agi.Server{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler: agi.HandlerFunc(func(ctx context.Context, s *agi.Session) error {
			var out []sent
			values := slices.Clone(s.Request().Query["v"])
			values = append(values, s.Request().Args...)
			for _, v := range values {
				for _, args := range [][]string{
					{"SET VARIABLE", "BLACKLIST_REASON", v},
					{"EXEC", "Hangup", v},
					{"EXEC", "Goto", v},
				} {
					_, err := s.Command(ctx, args[0], args[1:]...)
					out = append(out, sent{args, err})
				}
				err := s.Verbose(ctx, v, 1)
				out = append(out, sent{[]string{"VERBOSE", v, "1"}, err})
			}
			results <- out
			return nil
		}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}()

	// The query carries every value (a URL can hold them all, escaped);
	// agi_arg_N carries those an env line can hold.
	q := url.Values{}
	var args []string
	for _, v := range injectionValues {
		if len(v) < 2000 {
			q.Add("v", v)
		}
		if !strings.ContainsAny(v, "\r\n\x00") && len(v) < 2000 {
			args = append(args, v)
		}
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	env := "agi_network: yes\nagi_network_script: inject?" + q.Encode() + "\nagi_request: agi://127.0.0.1/inject\nagi_channel: Local/1@x-1;2\n"
	for i, a := range args {
		env += fmt.Sprintf("agi_arg_%d: %s\n", i+1, a)
	}
	if _, err := io.WriteString(conn, env+"\n"); err != nil {
		t.Fatal(err)
	}
	// Answer every line 200 until the server closes; keep the lines.
	var lines []string
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if line != "" {
				t.Errorf("the server wrote %q without a line feed", line)
			}
			break
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
		if _, err := io.WriteString(conn, "200 result=0\n"); err != nil {
			break
		}
	}
	out := <-results

	var want [][]string // the arguments of each command that was sent
	for _, s := range out {
		cannot := slices.ContainsFunc(s.args, func(a string) bool { return strings.ContainsAny(a, "\r\n\x00") })
		switch {
		case cannot && !errors.Is(s.err, agi.ErrBadArgument):
			t.Errorf("%.60q: error %v, want ErrBadArgument", s.args, s.err)
		case s.err != nil && !errors.Is(s.err, agi.ErrBadArgument):
			t.Errorf("%.60q: %v", s.args, s.err)
		case s.err != nil:
			if !strings.Contains(s.err.Error(), s.args[0]) {
				t.Errorf("%.60q: error %q does not name the command", s.args, s.err)
			}
			// Quoting can double a value: only a line too long for
			// Asterisk may be refused, and never a short one.
			if !cannot && (!strings.Contains(s.err.Error(), "Asterisk reads at most") || len(strings.Join(s.args, " ")) < 1000) {
				t.Errorf("%.60q: refused: %v", s.args, s.err)
			}
		default:
			want = append(want, append(strings.Fields(s.args[0]), s.args[1:]...))
		}
	}
	if len(lines) != len(want) {
		t.Fatalf("the server wrote %d lines for %d commands sent", len(lines), len(want))
	}
	for i, line := range lines {
		if strings.ContainsAny(line, "\r\x00") || len(line)+1 > 2047 {
			t.Errorf("line %d: %.80q (%d bytes): not one Asterisk command", i, line, len(line))
		}
		if got := agitest.ParseArgs(line); !slices.Equal(got, want[i]) {
			t.Errorf("line %d: %.80q reads back as %.80q, want %.80q", i, line, got, want[i])
		}
	}
	if len(want) == 0 {
		t.Fatal("no command was sent")
	}
}
