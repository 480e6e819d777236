package agitest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// asteriskDir is the folder of real Asterisk 22.10.1 transcripts, beside
// the checkout as in CI.
func asteriskDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "asterisk")
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		if testing.Short() {
			t.Skipf("no Asterisk transcripts at %s (-short): %v", dir, err)
		}
		t.Fatalf("no Asterisk transcripts at %s: %v", dir, err)
	}
	return dir
}

// scenario is one recorded session and what Asterisk and the dialplan saw.
type scenario struct {
	stem    string // file name without "scenario-" and ".txt"
	id      string // "a", "a2", ..., as in the dialplan
	events  []Event
	env     []byte   // the environment block, "" when the server read none
	replies []string // lines Asterisk sent after the environment block
	hangups int      // "HANGUP" lines Asterisk wrote in all (its own log)
	outcome map[string]string
}

func loadScenarios(t *testing.T) []scenario {
	dir := asteriskDir(t)
	paths, err := TranscriptFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	results, err := os.ReadFile(filepath.Join(dir, "result-scenarios.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []scenario
	for _, path := range paths {
		tr, err := ReadTranscript(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := scenario{stem: strings.TrimPrefix(tr.Name, "scenario-"), events: tr.Events}
		sc.id, _, _ = strings.Cut(sc.stem, "-")
		recv := tr.FromAsterisk()
		if end := bytes.Index(recv, []byte("\n\n")); end >= 0 {
			sc.env, recv = recv[:end+2], recv[end+2:]
		}
		if len(recv) > 0 {
			sc.replies = strings.Split(strings.TrimSuffix(string(recv), "\n"), "\n")
		}

		logName, resultKey := "asterisk-side-"+sc.id+".log", "scn="+sc.id+" "
		if strings.Contains(sc.stem, "canonical") {
			logName, resultKey = "asterisk-side-canonical-agi-test.log", "ctx=agi-test "
		}
		astLog, err := os.ReadFile(filepath.Join(dir, logName))
		if err != nil {
			t.Fatal(err)
		}
		sc.hangups = strings.Count(string(astLog), "AGI Tx >> HANGUP\n")
		sc.outcome = scenarioOutcome(string(results), resultKey)
		if sc.outcome == nil {
			t.Fatalf("result-scenarios.log has no line for %q", resultKey)
		}
		out = append(out, sc)
	}
	return out
}

var resultField = regexp.MustCompile(`(\w+)=(\[[^\]]*\]|\S*)`)

// scenarioOutcome collects the variables the dialplan logged for a scenario:
// its "continued" line (if the dialplan went on) and its h-exten line.
func scenarioOutcome(log, key string) map[string]string {
	var out map[string]string
	for line := range strings.SplitSeq(log, "\n") {
		if !strings.Contains(line, " "+key) || strings.Contains(line, "hangup-handler") {
			continue
		}
		if out == nil {
			out = make(map[string]string)
		}
		for _, m := range resultField.FindAllStringSubmatch(line, -1) {
			out[m[1]] = strings.TrimSuffix(strings.TrimPrefix(m[2], "["), "]")
		}
		if strings.Contains(line, " continued") {
			out["continued"] = "yes"
		}
	}
	return out
}

// parseEnv splits an environment block into its field names and values.
func parseEnv(t testing.TB, env []byte) (names []string, values map[string]string) {
	t.Helper()
	values = make(map[string]string)
	for line := range strings.SplitSeq(strings.TrimSuffix(string(env), "\n\n"), "\n") {
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("environment line %q has no \": \"", line)
		}
		names = append(names, name)
		values[name] = value
	}
	return names, values
}

// callFor builds the Call that reproduces a scenario: the channel from its
// environment block and the caller behaviour the recording shows.
func callFor(t testing.TB, sc scenario) Call {
	call := Call{
		URL:  "agi://127.0.0.1:4576/blacklist?campaign=promo&foo=bar&scenario=" + sc.id,
		Args: []string{"arg1", "arg2"},
	}
	if len(sc.env) > 0 {
		_, env := parseEnv(t, sc.env)
		priority, _ := strconv.Atoi(env["agi_priority"])
		thread, _ := strconv.ParseInt(env["agi_threadid"], 10, 64)
		call = Call{
			URL:          env["agi_request"],
			Extension:    env["agi_extension"],
			Context:      env["agi_context"],
			Priority:     priority,
			Channel:      env["agi_channel"],
			UniqueID:     env["agi_uniqueid"],
			CallerID:     env["agi_callerid"],
			CallerIDName: env["agi_calleridname"],
			ThreadID:     thread,
		}
		for i := 1; env["agi_arg_"+strconv.Itoa(i)] != ""; i++ {
			call.Args = append(call.Args, env["agi_arg_"+strconv.Itoa(i)])
		}
	}
	switch sc.id {
	case "h1": // the caller hung up while the server slept before its first command
		call.HangupBeforeReply = 1
	case "f1": // the originate timed out unanswered after 30 s: NO_ANSWER
		call.HangupAfter, call.CallerHangupCause = time.Millisecond, 19
	case "f1t": // TIMEOUT(absolute)=5 hung the channel up
		call.HangupAfter = time.Millisecond
	case "f1x": // the same, with AGIEXITONHANGUP=yes
		call.HangupAfter = time.Millisecond
		call.Vars = map[string]string{"AGIEXITONHANGUP": "yes"}
	case "f1a": // answered, then 60 s of silence
		call.Answered = true
	}
	return call
}

// replay plays the recording server's side of a scenario on conn and
// returns every line it read.
func replay(conn *net.TCPConn, events []Event) (lines []string, err error) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for _, ev := range events {
		switch ev.Kind {
		case EventRecv:
			for range bytes.Count(ev.Data, []byte("\n")) {
				line, err := br.ReadString('\n')
				if err != nil {
					return lines, fmt.Errorf("reading the line after %q: %w", lines, err)
				}
				lines = append(lines, line)
			}
		case EventSend:
			if _, err := conn.Write(ev.Data); err != nil {
				return lines, fmt.Errorf("sending %q: %w", ev.Data, err)
			}
		case EventShutdownWrite:
			if err := conn.CloseWrite(); err != nil {
				return lines, err
			}
		case EventEOF:
			extra, err := io.ReadAll(br)
			if err != nil || len(extra) > 0 {
				return lines, fmt.Errorf("want EOF, got %q, %v", extra, err)
			}
		case EventClose:
			return lines, nil
		}
	}
	return lines, nil
}

func withoutHangups(lines []string) (rest []string, hangups int) {
	for _, l := range lines {
		if l == "HANGUP" {
			hangups++
		} else {
			rest = append(rest, l)
		}
	}
	return rest, hangups
}

// TestTranscripts replays every recorded scenario against the emulator: the
// server sends what the recording server sent, and the emulator must answer
// with the bytes real Asterisk answered with, then report what the dialplan
// logged afterwards.
func TestTranscripts(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		t.Run(sc.stem, func(t *testing.T) {
			t.Parallel()
			call := callFor(t, sc)
			if len(sc.env) > 0 {
				if got := call.EnvBlock(); !bytes.Equal(got, sc.env) {
					t.Errorf("EnvBlock() =\n%s\nwant the recorded\n%s", got, sc.env)
				}
			}

			ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			type served struct {
				lines []string
				err   error
			}
			serverDone := make(chan served, 1)
			go func() {
				conn, err := ln.AcceptTCP()
				if err != nil {
					serverDone <- served{err: err}
					return
				}
				lines, err := replay(conn, sc.events)
				serverDone <- served{lines, err}
			}()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			call.Timeout = 10 * time.Second
			res, err := RunConn(context.Background(), conn, call)
			if err != nil {
				t.Fatalf("RunConn: %v", err)
			}
			srv := <-serverDone
			if srv.err != nil {
				t.Fatalf("replaying the recording server: %v", srv.err)
			}

			// What the server read is what the recording server read.
			var want []string
			for _, ev := range sc.events {
				if ev.Kind == EventRecv {
					want = append(want, strings.SplitAfter(strings.TrimSuffix(string(ev.Data), "\n"), "\n")...)
				}
			}
			for i := range want {
				if !strings.HasSuffix(want[i], "\n") {
					want[i] += "\n"
				}
			}
			if !slices.Equal(srv.lines, want) {
				t.Errorf("the server read\n%q\nwant the recorded\n%q", srv.lines, want)
			}

			// Every line the emulator wrote after the environment block,
			// including the HANGUP lines the server never read.
			gotReplies, gotHangups := withoutHangups(res.Replies)
			wantReplies, _ := withoutHangups(sc.replies)
			if !slices.Equal(gotReplies, wantReplies) {
				t.Errorf("Replies without HANGUP lines =\n%q\nwant\n%q", gotReplies, wantReplies)
			}
			if gotHangups != sc.hangups {
				t.Errorf("Replies has %d HANGUP lines, Asterisk wrote %d: %q", gotHangups, sc.hangups, res.Replies)
			}

			// What the dialplan logged afterwards.
			if got, want := res.AGIStatus, sc.outcome["AGISTATUS"]; got != want {
				t.Errorf("AGIStatus = %q, want %q", got, want)
			}
			if got, want := strconv.Itoa(res.HangupCause), sc.outcome["HANGUPCAUSE"]; got != want {
				t.Errorf("HangupCause = %s, want %s", got, want)
			}
			if got, want := res.HungUp, sc.outcome["continued"] == ""; got != want {
				t.Errorf("HungUp = %v, want %v", got, want)
			}
			for _, name := range []string{"BLACKLIST_STATUS", "AFTER_HANGUP", "BLACKLIST_REASON", "Q2", "Q5", "Q8", "Q10", "Q13"} {
				want, logged := sc.outcome[name]
				if !logged {
					continue
				}
				if got := res.Vars[name]; got != want {
					t.Errorf("Vars[%s] = %q, want %q", name, got, want)
				}
			}
			if want := sc.id != "f1x"; res.ServerClosed != want {
				t.Errorf("ServerClosed = %v, want %v", res.ServerClosed, want)
			}
			if res.TimedOut {
				t.Error("TimedOut is set")
			}
		})
	}
}

// TestEnvBlockFieldOrder checks that a Call with only the recorded URL and
// arguments gives the recorded field names in the recorded order.
func TestEnvBlockFieldOrder(t *testing.T) {
	for _, sc := range loadScenarios(t) {
		if len(sc.env) == 0 {
			continue
		}
		wantNames, env := parseEnv(t, sc.env)
		call := Call{URL: env["agi_request"], Args: []string{env["agi_arg_1"], env["agi_arg_2"]}}
		gotNames, _ := parseEnv(t, call.EnvBlock())
		if !slices.Equal(gotNames, wantNames) {
			t.Errorf("%s: EnvBlock() fields = %q, want %q", sc.stem, gotNames, wantNames)
		}
		if got := call.EnvBlock(); !bytes.Contains(got, []byte("\nagi_accountcode: \n")) || !bytes.HasSuffix(got, []byte("\n\n")) {
			t.Errorf("%s: EnvBlock() lacks the empty accountcode or the final empty line:\n%s", sc.stem, got)
		}
	}
}
