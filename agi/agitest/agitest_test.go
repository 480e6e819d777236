package agitest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// scriptConn is the server side of one FastAGI connection in a test.
type scriptConn struct {
	t    testing.TB
	conn *net.TCPConn
	r    *bufio.Reader
	env  map[string]string
	// hangups counts the unsolicited "HANGUP" lines read so far.
	hangups int
}

var finalReply = regexp.MustCompile(`^[0-9]{3} `)

// readEnv reads the environment block up to its empty line.
func (c *scriptConn) readEnv() {
	c.env = make(map[string]string)
	for {
		line := c.readLine()
		if line == "" {
			return
		}
		name, value, _ := strings.Cut(line, ": ")
		c.env[name] = value
	}
}

// readLine reads one line without its "\n"; "" on error (reported).
func (c *scriptConn) readLine() string {
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Errorf("server: reading a line: %v (got %q)", err, line)
		return ""
	}
	return strings.TrimSuffix(line, "\n")
}

// command sends one command line and returns the lines up to and including
// its final "NNN " reply, counting and skipping "HANGUP" lines.
func (c *scriptConn) command(line string) (reply string, before []string) {
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		c.t.Errorf("server: sending %q: %v", line, err)
		return "", nil
	}
	for {
		l := c.readLine()
		switch {
		case l == "":
			return "", before
		case l == "HANGUP":
			c.hangups++
			before = append(before, l)
		case finalReply.MatchString(l):
			return l, before
		default:
			before = append(before, l)
		}
	}
}

// expect checks that the next line is want.
func (c *scriptConn) expect(want string) {
	if got := c.readLine(); got != want {
		c.t.Errorf("server: read %q, want %q", got, want)
	}
}

// expectEOF checks that the emulator closed the connection after the lines
// in want.
func (c *scriptConn) expectEOF(want ...string) {
	rest, err := io.ReadAll(c.r)
	if err != nil {
		c.t.Errorf("server: reading to EOF: %v", err)
	}
	var lines []string
	if len(rest) > 0 {
		lines = strings.Split(strings.TrimSuffix(string(rest), "\n"), "\n")
	}
	if !slices.Equal(lines, want) {
		c.t.Errorf("server: read %q before EOF, want %q", lines, want)
	}
}

// startServer listens on 127.0.0.1 and runs script on the first
// connection. It returns the agi:// URL to dial and a channel closed when
// the script is done.
func startServer(t *testing.T, script func(c *scriptConn)) (url string, done <-chan struct{}) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		conn, err := ln.AcceptTCP()
		if err != nil {
			t.Errorf("server: accept: %v", err)
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		script(&scriptConn{t: t, conn: conn, r: bufio.NewReader(conn)})
	}()
	return "agi://" + ln.Addr().String() + "/blacklist?campaign=promo", finished
}

func TestRunScriptedServer(t *testing.T) {
	tests := []struct {
		name   string
		call   Call
		script func(c *scriptConn)
		check  func(t *testing.T, res Result)
	}{{
		name: "allowed",
		call: Call{Args: []string{"arg1"}},
		script: func(c *scriptConn) {
			c.readEnv()
			if got := c.env["agi_network_script"]; got != "blacklist?campaign=promo" {
				c.t.Errorf("agi_network_script = %q", got)
			}
			if got := c.env["agi_arg_1"]; got != "arg1" {
				c.t.Errorf("agi_arg_1 = %q", got)
			}
			if reply, _ := c.command("SET VARIABLE BLACKLIST_STATUS ALLOWED"); reply != "200 result=1" {
				c.t.Errorf("SET VARIABLE: %q", reply)
			}
		},
		check: func(t *testing.T, res Result) {
			want := Result{AGIStatus: StatusSuccess, HangupCause: 16, ServerClosed: true,
				Vars:     map[string]string{"BLACKLIST_STATUS": "ALLOWED"},
				Commands: []string{"SET VARIABLE BLACKLIST_STATUS ALLOWED"},
				Replies:  []string{"200 result=1", "HANGUP"}}
			checkResult(t, res, want)
		},
	}, {
		name: "blocked with EXEC Hangup 21",
		script: func(c *scriptConn) {
			c.readEnv()
			c.command("SET VARIABLE BLACKLIST_STATUS BLOCKED")
			if reply, _ := c.command("EXEC Hangup 21"); reply != "200 result=-1" {
				c.t.Errorf("EXEC Hangup: %q", reply)
			}
			c.expect("HANGUP")
			if reply, _ := c.command("GET VARIABLE HANGUPCAUSE"); reply != "200 result=1 (21)" {
				c.t.Errorf("GET VARIABLE HANGUPCAUSE: %q", reply)
			}
		},
		check: func(t *testing.T, res Result) {
			checkResult(t, res, Result{AGIStatus: StatusHangup, HungUp: true, HangupCause: 21, ServerClosed: true,
				Vars: map[string]string{"BLACKLIST_STATUS": "BLOCKED"},
				Commands: []string{"SET VARIABLE BLACKLIST_STATUS BLOCKED", "EXEC Hangup 21",
					"GET VARIABLE HANGUPCAUSE"},
				Replies: []string{"200 result=1", "200 result=-1", "HANGUP", "200 result=1 (21)", "HANGUP"}})
		},
	}, {
		name: "AGI HANGUP then a dead channel",
		script: func(c *scriptConn) {
			c.readEnv()
			if reply, _ := c.command("HANGUP"); reply != "200 result=1" {
				c.t.Errorf("HANGUP: %q", reply)
			}
			c.expect("HANGUP")
			if reply, _ := c.command("ANSWER"); reply != "511 Command Not Permitted on a dead channel or intercept routine" {
				c.t.Errorf("ANSWER on a dead channel: %q", reply)
			}
			if reply, _ := c.command("SET VARIABLE AFTER yes"); reply != "200 result=1" {
				c.t.Errorf("SET VARIABLE on a dead channel: %q", reply)
			}
		},
		check: func(t *testing.T, res Result) {
			checkResult(t, res, Result{AGIStatus: StatusHangup, HungUp: true, HangupCause: 0, ServerClosed: true,
				Vars:     map[string]string{"AFTER": "yes"},
				Commands: []string{"HANGUP", "ANSWER", "SET VARIABLE AFTER yes"},
				Replies: []string{"200 result=1", "HANGUP",
					"511 Command Not Permitted on a dead channel or intercept routine", "200 result=1", "HANGUP"}})
		},
	}, {
		name: "goto",
		call: Call{Context: "outbound", Extension: "100", Priority: 3},
		script: func(c *scriptConn) {
			c.readEnv()
			if reply, _ := c.command("EXEC Goto blocked,s,1"); reply != "200 result=0" {
				c.t.Errorf("EXEC Goto: %q", reply)
			}
			if reply, _ := c.command("GET FULL VARIABLE ${CONTEXT},${EXTEN}"); reply != "200 result=1 (blocked,s)" {
				c.t.Errorf("GET FULL VARIABLE after Goto: %q", reply)
			}
		},
		check: func(t *testing.T, res Result) {
			if res.Goto != "blocked,s,1" || res.AGIStatus != StatusSuccess || res.HungUp {
				t.Errorf("Goto = %q, AGIStatus = %q, HungUp = %v; want blocked,s,1, SUCCESS, false", res.Goto, res.AGIStatus, res.HungUp)
			}
		},
	}, {
		name:   "server closes without reading",
		script: func(c *scriptConn) {},
		check: func(t *testing.T, res Result) {
			checkResult(t, res, Result{AGIStatus: StatusSuccess, HangupCause: 16, ServerClosed: true,
				Vars: map[string]string{}, Replies: []string{"HANGUP"}})
		},
	}, {
		name: "caller hangs up before the first reply",
		call: Call{HangupBeforeReply: 1},
		script: func(c *scriptConn) {
			c.readEnv()
			reply, before := c.command("SET VARIABLE BLACKLIST_STATUS ALLOWED")
			if reply != "200 result=1" || !slices.Equal(before, []string{"HANGUP"}) {
				c.t.Errorf("SET VARIABLE: %q after %q; want 200 result=1 after [HANGUP]", reply, before)
			}
			if reply, _ := c.command("STREAM FILE beep \"\""); !strings.HasPrefix(reply, "511 ") {
				c.t.Errorf("STREAM FILE after the caller hung up: %q", reply)
			}
		},
		check: func(t *testing.T, res Result) {
			checkResult(t, res, Result{AGIStatus: StatusHangup, HungUp: true, HangupCause: 0, ServerClosed: true,
				Vars:     map[string]string{"BLACKLIST_STATUS": "ALLOWED"},
				Commands: []string{"SET VARIABLE BLACKLIST_STATUS ALLOWED", `STREAM FILE beep ""`},
				Replies: []string{"HANGUP", "200 result=1",
					"511 Command Not Permitted on a dead channel or intercept routine", "HANGUP"}})
		},
	}, {
		name: "half-close after the reply",
		script: func(c *scriptConn) {
			c.readEnv()
			c.command("SET VARIABLE BLACKLIST_STATUS ALLOWED")
			if err := c.conn.CloseWrite(); err != nil {
				c.t.Error(err)
			}
			c.expectEOF("HANGUP")
		},
		check: func(t *testing.T, res Result) {
			if res.AGIStatus != StatusSuccess || !res.ServerClosed {
				t.Errorf("AGIStatus = %q, ServerClosed = %v", res.AGIStatus, res.ServerClosed)
			}
		},
	}, {
		name: "last command without a newline",
		script: func(c *scriptConn) {
			c.readEnv()
			if _, err := c.conn.Write([]byte("SET VARIABLE X 1")); err != nil {
				c.t.Error(err)
			}
			if err := c.conn.CloseWrite(); err != nil {
				c.t.Error(err)
			}
			c.expectEOF("200 result=1", "HANGUP")
		},
		check: func(t *testing.T, res Result) {
			if res.Vars["X"] != "1" {
				t.Errorf("Vars = %v, want X=1", res.Vars)
			}
		},
	}, {
		name: "AGIEXITONHANGUP closes at once",
		call: Call{Vars: map[string]string{"AGIEXITONHANGUP": "yes"}},
		script: func(c *scriptConn) {
			c.readEnv()
			c.command("HANGUP")
			c.expectEOF("HANGUP", "HANGUP")
		},
		check: func(t *testing.T, res Result) {
			if res.AGIStatus != StatusHangup || res.ServerClosed || res.TimedOut {
				t.Errorf("AGIStatus = %q, ServerClosed = %v, TimedOut = %v; want HANGUP, false, false",
					res.AGIStatus, res.ServerClosed, res.TimedOut)
			}
		},
	}, {
		name: "AGISIGHUP=no writes no HANGUP lines",
		call: Call{Vars: map[string]string{"AGISIGHUP": "no"}},
		script: func(c *scriptConn) {
			c.readEnv()
			c.command("HANGUP")
			if reply, before := c.command("NOOP"); reply != "200 result=0" || len(before) != 0 {
				c.t.Errorf("NOOP: %q after %q", reply, before)
			}
			c.conn.CloseWrite()
			c.expectEOF()
		},
		check: func(t *testing.T, res Result) {
			if !slices.Equal(res.Replies, []string{"200 result=1", "200 result=0"}) || res.AGIStatus != StatusHangup {
				t.Errorf("Replies = %q, AGIStatus = %q", res.Replies, res.AGIStatus)
			}
		},
	}, {
		name: "a delayed HANGUP line still precedes the next reply",
		call: Call{AsyncHangupDelay: time.Hour},
		script: func(c *scriptConn) {
			c.readEnv()
			if reply, before := c.command("HANGUP"); reply != "200 result=1" || len(before) != 0 {
				c.t.Errorf("HANGUP: %q after %q", reply, before)
			}
			if reply, before := c.command("NOOP"); reply != "200 result=0" || !slices.Equal(before, []string{"HANGUP"}) {
				c.t.Errorf("NOOP: %q after %q, want it after [HANGUP]", reply, before)
			}
		},
		check: func(t *testing.T, res Result) {
			if res.Duration > time.Minute {
				t.Errorf("Duration = %v: the emulator waited for the delay", res.Duration)
			}
		},
	}, {
		name: "a delayed HANGUP line arrives on its own",
		call: Call{AsyncHangupDelay: 20 * time.Millisecond},
		script: func(c *scriptConn) {
			c.readEnv()
			c.command("EXEC Hangup")
			c.expect("HANGUP")
		},
		check: func(t *testing.T, res Result) {
			if res.HangupCause != 16 || res.AGIStatus != StatusHangup {
				t.Errorf("HangupCause = %d, AGIStatus = %q; want 16, HANGUP", res.HangupCause, res.AGIStatus)
			}
		},
	}, {
		name: "the caller hangs up after a while",
		call: Call{HangupAfter: 10 * time.Millisecond, CallerHangupCause: 19},
		script: func(c *scriptConn) {
			c.readEnv()
			c.expect("HANGUP")
		},
		check: func(t *testing.T, res Result) {
			if res.HangupCause != 19 || res.AGIStatus != StatusHangup || !res.HungUp {
				t.Errorf("HangupCause = %d, AGIStatus = %q, HungUp = %v", res.HangupCause, res.AGIStatus, res.HungUp)
			}
		},
	}, {
		name: "a failure line ends the session",
		script: func(c *scriptConn) {
			c.readEnv()
			c.conn.Write([]byte("failure: cannot start\n"))
			c.expectEOF("HANGUP")
		},
		check: func(t *testing.T, res Result) {
			if res.AGIStatus != StatusFailure || res.ServerClosed {
				t.Errorf("AGIStatus = %q, ServerClosed = %v; want FAILURE, false", res.AGIStatus, res.ServerClosed)
			}
		},
	}, {
		name: "a line longer than Asterisk's buffer is split",
		script: func(c *scriptConn) {
			c.readEnv()
			long := "NOOP " + strings.Repeat("x", 3000)
			if reply, _ := c.command(long); reply != "200 result=0" {
				c.t.Errorf("first piece: %q", reply)
			}
			c.expect("510 Invalid or unknown command")
		},
		check: func(t *testing.T, res Result) {
			if len(res.Commands) != 2 || len(res.Commands[0]) != agiBufLen-1 || len(res.Violations) == 0 {
				t.Errorf("Commands of lengths %d, Violations %q; want 2047 and 958, and a violation",
					lengths(res.Commands), res.Violations)
			}
		},
	}, {
		name: "a NUL byte drops the rest of the line and joins the next",
		script: func(c *scriptConn) {
			c.readEnv()
			c.conn.Write([]byte("SET VARIABLE A b\x00junk\nc\n"))
			c.expect("200 result=1")
		},
		check: func(t *testing.T, res Result) {
			if res.Vars["A"] != "bc" || len(res.Violations) != 1 {
				t.Errorf("Vars = %v, Violations = %q; want A=bc and one violation", res.Vars, res.Violations)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, done := startServer(t, tt.script)
			call := tt.call
			call.URL = url
			call.Timeout = 10 * time.Second
			res, err := Run(context.Background(), call)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			<-done
			if res.TimedOut {
				t.Errorf("TimedOut: the emulator waited for the server")
			}
			tt.check(t, res)
		})
	}
}

func lengths(ss []string) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s))
	}
	return n
}

// checkResult compares the fields of res that want sets (Vars, Commands and
// Replies when non-nil).
func checkResult(t *testing.T, res, want Result) {
	t.Helper()
	if res.AGIStatus != want.AGIStatus || res.HungUp != want.HungUp || res.HangupCause != want.HangupCause ||
		res.ServerClosed != want.ServerClosed || res.TimedOut != want.TimedOut {
		t.Errorf("AGIStatus %q HungUp %v HangupCause %d ServerClosed %v TimedOut %v; want %q %v %d %v %v",
			res.AGIStatus, res.HungUp, res.HangupCause, res.ServerClosed, res.TimedOut,
			want.AGIStatus, want.HungUp, want.HangupCause, want.ServerClosed, want.TimedOut)
	}
	if want.Vars != nil && !mapsEqual(res.Vars, want.Vars) {
		t.Errorf("Vars = %v, want %v", res.Vars, want.Vars)
	}
	if !slices.Equal(res.Commands, want.Commands) {
		t.Errorf("Commands = %q, want %q", res.Commands, want.Commands)
	}
	if want.Replies != nil && !slices.Equal(res.Replies, want.Replies) {
		t.Errorf("Replies = %q, want %q", res.Replies, want.Replies)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRunRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	res, err := Run(context.Background(), Call{URL: "agi://" + addr + "/blacklist",
		Vars: map[string]string{"PRESET": "1"}})
	if err != nil {
		t.Fatalf("Run: %v, want a nil error", err)
	}
	if res.AGIStatus != StatusFailure || res.HangupCause != 16 || res.ServerClosed || res.Vars["PRESET"] != "1" || len(res.Replies) != 0 {
		t.Errorf("Run on a closed port = %+v; want AGIStatus FAILURE, HangupCause 16, the preset vars", res)
	}
}

func TestRunStuckServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	url, done := startServer(t, func(c *scriptConn) { <-release })
	const timeout = 300 * time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), Call{URL: url, Timeout: timeout})
	elapsed := time.Since(start)
	close(release)
	<-done
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.TimedOut || res.ServerClosed {
		t.Errorf("TimedOut = %v, ServerClosed = %v; want true, false", res.TimedOut, res.ServerClosed)
	}
	if elapsed < timeout || elapsed > timeout+5*time.Second {
		t.Errorf("Run took %v with a %v timeout", elapsed, timeout)
	}
}

func TestRunContextCanceled(t *testing.T) {
	accepted := make(chan struct{})
	release := make(chan struct{})
	url, done := startServer(t, func(c *scriptConn) {
		c.readEnv()
		close(accepted)
		<-release
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-accepted
		cancel()
	}()
	res, err := Run(ctx, Call{URL: url, Timeout: time.Minute})
	close(release)
	<-done
	if !errors.Is(err, context.Canceled) || !res.TimedOut {
		t.Errorf("Run with a canceled context: err %v, TimedOut %v; want context.Canceled, true", err, res.TimedOut)
	}
}

func TestRunBadURL(t *testing.T) {
	for _, url := range []string{"", "http://127.0.0.1:4573/", "agi://", "agi:///script", "/var/lib/asterisk/agi-bin/x.agi"} {
		if _, err := Run(context.Background(), Call{URL: url}); !errors.Is(err, ErrBadURL) {
			t.Errorf("Run(%q): %v, want ErrBadURL", url, err)
		}
	}
}

// TestEnvChunks checks over net.Pipe, where every read returns the bytes of
// one write, that the environment block arrives in several writes that
// reassemble to EnvBlock.
func TestEnvChunks(t *testing.T) {
	midLine := false
	for range 20 {
		server, client := net.Pipe()
		call := Call{URL: "agi://127.0.0.1/blacklist", UniqueID: "u", ThreadID: 1}
		result := make(chan error, 1)
		go func() {
			_, err := RunConn(context.Background(), client, call)
			result <- err
		}()
		var got []byte
		writes := 0
		buf := make([]byte, 64<<10)
		for !strings.HasSuffix(string(got), "\n\n") {
			n, err := server.Read(buf)
			if err != nil {
				t.Fatalf("reading the environment: %v", err)
			}
			if n > 0 && len(got)+n < len(call.EnvBlock()) && buf[n-1] != '\n' {
				midLine = true
			}
			got = append(got, buf[:n]...)
			writes++
		}
		server.Close()
		if err := <-result; err != nil {
			t.Fatal(err)
		}
		if string(got) != string(call.EnvBlock()) {
			t.Fatalf("the environment read =\n%s\nwant EnvBlock()\n%s", got, call.EnvBlock())
		}
		if writes < 2 || writes > 4 {
			t.Errorf("the environment came in %d writes, want 2 to 4", writes)
		}
	}
	if !midLine {
		t.Error("no environment block in 20 calls was cut inside a line")
	}
}
