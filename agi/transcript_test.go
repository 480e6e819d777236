package agi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
)

// transcriptDir holds the transcripts recorded from a real Asterisk 22; CI
// has a copy of shared/ beside the checkout.
var transcriptDir = filepath.Join("..", "..", "shared", "asterisk")

// transcriptFiles lists the scenario transcripts, failing the test when the
// folder is missing (unless -short).
func transcriptFiles(t testing.TB) []string {
	t.Helper()
	files, err := agitest.TranscriptFiles(transcriptDir)
	if err != nil {
		if testing.Short() {
			t.Skipf("transcripts unavailable: %v", err)
		}
		t.Fatalf("transcripts unavailable (run with -short to skip): %v", err)
	}
	return files
}

// step is one command of a transcript with the reply Asterisk gave it.
type step struct {
	send  []byte // the command line as recorded, line feed included
	reply []byte // what Asterisk sent after it, up to the next command, HANGUP lines removed
	// hangupBefore: Asterisk had sent HANGUP before the reply's status line.
	hangupBefore bool
	// hangupBy: Asterisk had sent HANGUP before the next command.
	hangupBy bool
}

// transcriptSteps pairs the commands of tr with their replies.
func transcriptSteps(tr agitest.Transcript) []step {
	var steps []step
	var received bytes.Buffer // bytes received since the last SEND
	seen := false             // a HANGUP line has been received
	flush := func() {
		var st *step
		if len(steps) > 0 {
			st = &steps[len(steps)-1]
			st.hangupBefore = seen
		}
		for _, line := range bytes.SplitAfter(received.Bytes(), []byte("\n")) {
			switch {
			case len(line) == 0:
			case string(line) == "HANGUP\n":
				seen = true
				if st != nil && len(st.reply) == 0 {
					st.hangupBefore = true
				}
			case st != nil:
				st.reply = append(st.reply, line...)
			}
		}
		if st != nil {
			st.hangupBy = seen
		}
		received.Reset()
	}
	for _, ev := range tr.Events {
		switch ev.Kind {
		case agitest.EventRecv:
			received.Write(ev.Data)
		case agitest.EventSend:
			flush()
			steps = append(steps, step{send: ev.Data})
		}
	}
	flush()
	return steps
}

// expectedReply derives, independently of the parser under test, what a
// reply must parse to.
func expectedReply(raw []byte) (code int, result, data, text string, hasData bool) {
	s := string(raw)
	code, _ = strconv.Atoi(s[:3])
	first, _, _ := strings.Cut(s, "\n")
	if strings.HasPrefix(s[3:], "-") {
		// Usage block: the lines between the header and "NNN End of proper usage."
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		return code, "", "", strings.Join(lines[1:len(lines)-1], "\n"), false
	}
	if r, ok := strings.CutPrefix(first, "200 result="); ok {
		result, _, _ = strings.Cut(r, " ")
		if open := strings.Index(first, "("); open >= 0 {
			data, hasData = first[open+1:strings.LastIndex(first, ")")], true
		}
		return code, result, data, "", hasData
	}
	return code, "", "", first[4:], false
}

// issue sends the command line of st through the most specific Session
// method that writes exactly these bytes, falling back to Command with the
// parsed words and then to Command with the whole line verbatim. Lines the
// API refuses to write (a CR) must fail with ErrBadArgument; they are then
// written raw so that the replay can go on.
func issue(ctx context.Context, t *testing.T, s *Session, line []byte) (via string, res result) {
	text := strings.TrimSuffix(string(line), "\n")
	if strings.ContainsAny(text, "\r\x00") {
		if _, err := s.Command(ctx, text); !errors.Is(err, ErrBadArgument) {
			t.Errorf("Command(%q) = %v, want ErrBadArgument", text, err)
		}
		s.mu.Lock()
		res.reply, res.err = s.roundTrip(ctx, text, line)
		s.mu.Unlock()
		if res.err == nil {
			res.err = replyError(text, res.reply)
		}
		return "raw write", res
	}
	words := agitest.ParseArgs(text)
	encodes := func(cmd string, args ...string) bool {
		got, err := appendCommand(nil, cmd, args)
		return err == nil && string(got) == string(line)
	}
	switch {
	case len(words) == 4 && strings.HasPrefix(text, "SET VARIABLE ") && encodes("SET VARIABLE", words[2], words[3]):
		res.err = s.SetVariable(ctx, words[2], words[3])
		return "SetVariable", res
	case len(words) == 3 && strings.HasPrefix(text, "GET VARIABLE ") && encodes("GET VARIABLE", words[2]):
		res.value, res.ok, res.err = s.GetVariable(ctx, words[2])
		return "GetVariable", res
	case len(words) == 4 && strings.HasPrefix(text, "GET FULL VARIABLE ") && encodes("GET FULL VARIABLE", words[3]):
		res.value, res.ok, res.err = s.GetFullVariable(ctx, words[3])
		return "GetFullVariable", res
	case len(words) == 3 && strings.HasPrefix(text, "EXEC ") && encodes("EXEC", words[1], words[2]):
		res.reply, res.err = s.Exec(ctx, words[1], strings.Split(words[2], ",")...)
		return "Exec", res
	case text == "HANGUP":
		res.err = s.Hangup(ctx)
		return "Hangup", res
	case len(words) == 3 && strings.HasPrefix(text, "VERBOSE "):
		if level, err := strconv.Atoi(words[2]); err == nil && encodes("VERBOSE", words[1], words[2]) {
			res.err = s.Verbose(ctx, words[1], level)
			return "Verbose", res
		}
	}
	for k := 1; k <= len(words); k++ {
		cmd := strings.Join(words[:k], " ")
		if encodes(cmd, words[k:]...) {
			res.reply, res.err = s.Command(ctx, cmd, words[k:]...)
			return "Command", res
		}
	}
	res.reply, res.err = s.Command(ctx, text)
	return "Command verbatim", res
}

// TestTranscriptReplay replays every recorded transcript over TCP: a player
// sends Asterisk's bytes in the recorded chunks and order, the server runs a
// handler that issues the recorded commands, and the test checks that the
// server wrote exactly the recorded bytes and parsed each reply right.
func TestTranscriptReplay(t *testing.T) {
	for _, path := range transcriptFiles(t) {
		tr, err := agitest.ReadTranscript(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tr.Name, func(t *testing.T) {
			t.Parallel()
			replay(t, tr)
		})
	}
}

func replay(t *testing.T, tr agitest.Transcript) {
	steps := transcriptSteps(tr)
	hasEnv := len(tr.FromAsterisk()) > 0

	type outcome struct {
		via    string
		res    result
		hungUp bool
	}
	outcomes := make(chan []outcome, 1)
	var req Request
	var env Env
	srv := &Server{
		EnvTimeout:     300 * time.Millisecond, // scenario f2 sends nothing
		CommandTimeout: ioTimeout,
	}
	handler := func(ctx context.Context, s *Session) error {
		req, env = *s.Request(), s.Env()
		var outs []outcome
		for _, st := range steps {
			via, res := issue(ctx, t, s, st.send)
			outs = append(outs, outcome{via, res, s.HungUp()})
		}
		outcomes <- outs
		return nil
	}
	f, done := serveOne(t, srv, handler)

	// Play Asterisk: write each RECV chunk as recorded; before a chunk that
	// follows a SEND, read the SEND bytes and compare them. After the last
	// SEND the server may already have closed, so write errors are expected.
	lastSend := -1
	for i, ev := range tr.Events {
		if ev.Kind == agitest.EventSend {
			lastSend = i
		}
	}
	for i, ev := range tr.Events {
		switch ev.Kind {
		case agitest.EventRecv:
			if _, err := f.conn.Write(ev.Data); err != nil && i < lastSend {
				t.Fatalf("writing RECV chunk %q: %v", ev.Data, err)
			}
		case agitest.EventSend:
			got := make([]byte, len(ev.Data))
			if _, err := io.ReadFull(f.r, got); err != nil {
				t.Fatalf("reading command %q: %v (got %q)", ev.Data, err, got)
			}
			if !bytes.Equal(got, ev.Data) {
				t.Fatalf("server wrote %q, want %q", got, ev.Data)
			}
		}
	}
	f.expectClosed()
	err := receive(t, done, "ServeConn")

	if !hasEnv {
		// f2: Asterisk's side never sent the environment block.
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("ServeConn with no environment block = %v, want ErrTimeout", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("ServeConn = %v", err)
	}
	checkRequest(t, tr.Name, req, env)

	outs := receive(t, outcomes, "handler")
	for i, st := range steps {
		o := outs[i]
		what := fmt.Sprintf("command %d %q via %s", i+1, st.send, o.via)
		code, wantResult, wantData, wantText, hasData := expectedReply(st.reply)
		res := o.res
		if st.hangupBefore && !o.hungUp {
			t.Errorf("%s: HungUp() = false after a HANGUP line before the reply", what)
		}
		if !st.hangupBy && o.hungUp {
			t.Errorf("%s: HungUp() = true with no HANGUP line yet", what)
		}
		switch code {
		case 200:
			wantErr := error(nil)
			if o.via == "Exec" && wantResult == "-2" {
				wantErr = ErrNoSuchApplication
			}
			if !errors.Is(res.err, wantErr) || (wantErr == nil && res.err != nil) {
				t.Errorf("%s: err = %v, want %v", what, res.err, wantErr)
			}
		case 510:
			if !errors.Is(res.err, ErrUnknownCommand) {
				t.Errorf("%s: err = %v, want ErrUnknownCommand", what, res.err)
			}
		case 511:
			if !errors.Is(res.err, ErrDeadChannel) || !errors.Is(res.err, ErrHangup) {
				t.Errorf("%s: err = %v, want ErrDeadChannel wrapping ErrHangup", what, res.err)
			}
		case 520:
			if !errors.Is(res.err, ErrUsage) {
				t.Errorf("%s: err = %v, want ErrUsage", what, res.err)
			}
		default:
			t.Fatalf("%s: transcript reply %q has an unexpected code", what, st.reply)
		}
		var ce *CommandError
		if code != 200 && (!errors.As(res.err, &ce) || ce.Reply.Code != code) {
			t.Errorf("%s: err = %v, want a *CommandError with code %d", what, res.err, code)
		}
		switch o.via {
		case "GetVariable", "GetFullVariable":
			if res.ok != (wantResult == "1") || res.value != wantData {
				t.Errorf("%s: got (%q, %v), want (%q, %v)", what, res.value, res.ok, wantData, wantResult == "1")
			}
		case "Command", "Command verbatim", "raw write", "Exec":
			r := res.reply
			if r.Code != code || r.Result != wantResult || (hasData && r.Data != wantData) || (!hasData && r.Data != "") {
				t.Errorf("%s: reply = %+v, want code %d result %q data %q", what, r, code, wantResult, wantData)
			}
			if code != 200 && r.Text != wantText {
				t.Errorf("%s: reply text = %q, want %q", what, r.Text, wantText)
			}
		}
	}
	checkScenario(t, tr.Name, outs2results(outs, func(o outcome) result { return o.res }))
}

func outs2results[T any](outs []T, f func(T) result) []result {
	rs := make([]result, len(outs))
	for i, o := range outs {
		rs[i] = f(o)
	}
	return rs
}

// checkRequest checks what the handler saw of the environment block, which
// is the same in every scenario but for its scenario parameter.
func checkRequest(t *testing.T, name string, req Request, env Env) {
	t.Helper()
	if req.Script != "blacklist" {
		t.Errorf("Script = %q, want blacklist", req.Script)
	}
	if req.Query.Get("campaign") != "promo" || req.Query.Get("foo") != "bar" {
		t.Errorf("Query = %v, want campaign=promo and foo=bar", req.Query)
	}
	if scn := strings.TrimPrefix(name, "scenario-"); !strings.HasPrefix(scn, "a-canonical") {
		if want, _, _ := strings.Cut(scn, "-"); req.Query.Get("scenario") != want {
			t.Errorf("Query scenario = %q, want %q", req.Query.Get("scenario"), want)
		}
	}
	if len(req.Args) != 2 || req.Args[0] != "arg1" || req.Args[1] != "arg2" {
		t.Errorf("Args = %q, want [arg1 arg2]", req.Args)
	}
	if env.Len() != 24 {
		t.Errorf("Env.Len() = %d, want 24", env.Len())
	}
	if v, ok := env.Lookup("agi_accountcode"); !ok || v != "" {
		t.Errorf("agi_accountcode = %q, %v; want empty and present", v, ok)
	}
	if !strings.HasPrefix(env.Get("agi_request"), "agi://127.0.0.1:4575/blacklist?") {
		t.Errorf("agi_request = %q", env.Get("agi_request"))
	}
	if env.Get("agi_network") != "yes" || env.Get("agi_extension") != "5511987654321" {
		t.Errorf("agi_network = %q, agi_extension = %q", env.Get("agi_network"), env.Get("agi_extension"))
	}
}

// checkScenario makes explicit the points each scenario was recorded for.
func checkScenario(t *testing.T, name string, rs []result) {
	t.Helper()
	at := func(i int) result {
		t.Helper()
		if i >= len(rs) {
			t.Fatalf("%s has %d commands, want at least %d", name, len(rs), i+1)
		}
		return rs[i]
	}
	switch {
	case strings.HasPrefix(name, "scenario-b-"):
		// After HANGUP: SET/GET VARIABLE, NOOP, VERBOSE, EXEC answer 200;
		// ANSWER, STREAM FILE and HANGUP get 511; FOOBAR gets 510.
		if r := at(3); r.value != "BLOCKED" || !r.ok {
			t.Errorf("GET VARIABLE BLACKLIST_STATUS after hangup = %q, %v", r.value, r.ok)
		}
		for _, i := range []int{7, 8, 10} {
			if !errors.Is(at(i).err, ErrDeadChannel) {
				t.Errorf("command %d after hangup: err = %v, want ErrDeadChannel", i+1, at(i).err)
			}
		}
		if !errors.Is(at(11).err, ErrUnknownCommand) {
			t.Errorf("FOOBAR: err = %v, want ErrUnknownCommand", at(11).err)
		}
	case strings.HasPrefix(name, "scenario-c-"):
		if r := at(1); r.err != nil || r.reply.Result != "-1" {
			t.Errorf("EXEC Hangup 21 = %+v, %v; want result -1", r.reply, r.err)
		}
		if r := at(2); r.value != "21" {
			t.Errorf("HANGUPCAUSE = %q, want 21", r.value)
		}
	case strings.HasPrefix(name, "scenario-d-"):
		wants := map[int]string{1: "opt out: customer asked", 3: `he said "stop" now`, 9: `back\slashx`,
			11: "", 13: "semi;colon,comma=eq|pipe", 15: "abc def", 17: "dollar ${EXTEN} $[1+1]",
			18: "dollar ${EXTEN} $[1+1]", 20: "n\u00e3o ligar", 22: "tab\tsep", 24: "unterminated quote", 26: "ok",
			28: "trailing cr\r"}
		for i, want := range wants {
			if r := at(i); r.value != want || !r.ok {
				t.Errorf("command %d: value = %q, %v; want %q", i+1, r.value, r.ok, want)
			}
		}
		if r := at(5); r.ok || r.err != nil {
			t.Errorf("GET VARIABLE Q3 = %q, %v, %v; want not set", r.value, r.ok, r.err)
		}
		for _, i := range []int{4, 6} {
			if !errors.Is(at(i).err, ErrUsage) || at(i).reply.Text != "Sets a variable to the current channel." {
				t.Errorf("command %d: %+v, %v; want ErrUsage with the usage text", i+1, at(i).reply, at(i).err)
			}
		}
	case strings.HasPrefix(name, "scenario-e-"):
		for _, i := range []int{0, 1, 6, 7} {
			if !errors.Is(at(i).err, ErrUnknownCommand) {
				t.Errorf("command %d: err = %v, want ErrUnknownCommand", i+1, at(i).err)
			}
		}
		for _, i := range []int{2, 3, 4, 8} {
			if !errors.Is(at(i).err, ErrUsage) {
				t.Errorf("command %d: err = %v, want ErrUsage", i+1, at(i).err)
			}
		}
		if text := at(4).reply.Text; strings.Count(text, "\n") != 2 || !strings.HasPrefix(text, "Executes <replaceable>") {
			t.Errorf("EXEC usage text = %q, want its three lines", text)
		}
		if r := at(5); !errors.Is(r.err, ErrNoSuchApplication) || r.reply.Result != "-2" {
			t.Errorf("EXEC NoSuchApp = %+v, %v; want ErrNoSuchApplication", r.reply, r.err)
		}
		if r := at(9); r.err != nil || r.reply.Result != "-1" {
			t.Errorf("HANGUP NoSuch/channel-0001 = %+v, %v; want result -1", r.reply, r.err)
		}
	case strings.HasPrefix(name, "scenario-g-"):
		wants := []string{"Local/g-5511987654321@agi-scn-00000010;2", "5511999990000",
			"5511999990000 5511987654321 Local/g-5511987654321@agi-scn-00000010;2", "5511999990000", "5511987654321"}
		for i, want := range wants {
			if r := at(i); r.value != want || !r.ok || r.err != nil {
				t.Errorf("command %d: %q, %v, %v; want %q", i+1, r.value, r.ok, r.err, want)
			}
		}
		if r := at(5); r.ok || r.err != nil {
			t.Errorf("GET VARIABLE NO_SUCH_VAR = %q, %v, %v; want not set", r.value, r.ok, r.err)
		}
		if r := at(6); !r.ok || r.value != "" {
			t.Errorf("GET FULL VARIABLE ${NO_SUCH_VAR} = %q, %v; want set and empty", r.value, r.ok)
		}
		if r := at(9); r.reply.Result != "4" {
			t.Errorf("CHANNEL STATUS = %+v, want result 4", r.reply)
		}
	case strings.HasPrefix(name, "scenario-h1-"):
		if r := at(0); r.err != nil {
			t.Errorf("SET VARIABLE after HANGUP line: %v", r.err)
		}
		if r := at(1); r.value != "ALLOWED" {
			t.Errorf("GET VARIABLE = %q, want ALLOWED", r.value)
		}
	}
}

// TestTranscriptEnvironments parses the environment block of every transcript
// byte by byte, so that every split Asterisk could make is covered.
func TestTranscriptEnvironments(t *testing.T) {
	for _, path := range transcriptFiles(t) {
		in, err := os.ReadFile(strings.TrimSuffix(path, ".txt") + ".in.bin")
		if err != nil {
			t.Fatal(err)
		}
		end := bytes.Index(in, []byte("\n\n"))
		if end < 0 {
			continue // f2: nothing was sent
		}
		block := in[:end+2]
		s := newTestSession(oneByteReader{bytes.NewReader(block)}, DefaultMaxLineBytes)
		if err := s.readEnv(DefaultMaxEnvLines); err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if s.env.Len() != 24 || s.req.Script != "blacklist" {
			t.Errorf("%s: %d variables, script %q", filepath.Base(path), s.env.Len(), s.req.Script)
		}
	}
}

// oneByteReader returns one byte per Read.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// newTestSession returns a Session reading from r, without a connection.
func newTestSession(r io.Reader, maxLine int) *Session {
	br := bufio.NewReaderSize(r, maxLine)
	return &Session{
		r:    br,
		bufs: &connBuffers{r: br},
		conn: nopConn{},
	}
}

// nopConn is a net.Conn that does nothing, for sessions built on a reader.
type nopConn struct{ net.Conn }

func (nopConn) SetDeadline(time.Time) error { return nil }
