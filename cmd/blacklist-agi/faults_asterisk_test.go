package main_test

// Faults on the Asterisk side of the FastAGI connection, against the built
// binary over real TCP: a caller who hangs up in the middle of a check, a
// socket half-closed, garbage and an endless line, a client that sends
// nothing, and thousands of idle connections. Each time the server must not
// crash, must not leave a call waiting, and must keep answering real calls.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// closedWithin reads c until the server closes it (EOF or a reset) and
// returns what was read and how long it took; it fails the test if the
// connection is still open after d.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) ([]byte, time.Duration) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(d))
	var got bytes.Buffer
	_, err := io.Copy(&got, c)
	took := time.Since(start)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server did not close the connection within %v (read %q)", d, got.Bytes())
	}
	return got.Bytes(), took
}

// answers checks that the server still gives both verdicts to real calls.
func (s *server) answers(t *testing.T, when string) {
	t.Helper()
	for number, want := range map[string]string{blockedNumber: "BLOCKED", allowedNumber: "ALLOWED"} {
		if got := s.call(t, "promo", number).Vars["BLACKLIST_STATUS"]; got != want {
			t.Errorf("%s: %s got %q, want %q", when, number, got, want)
		}
	}
}

// noPanic fails the test if a log line read so far reports a panic.
func (s *server) noPanic(t *testing.T) {
	t.Helper()
	for {
		select {
		case line := <-s.logs:
			if strings.Contains(line, "panic") {
				t.Errorf("the server logged a panic: %s", line)
			}
		default:
			return
		}
	}
}

// peerClosed reports, without waiting, whether the server has closed c: a
// peek at the socket finds its end of file or a reset.
func peerClosed(t *testing.T, c net.Conn) bool {
	t.Helper()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var closed bool
	buf := make([]byte, 1)
	raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = (n == 0 && err == nil) || errors.Is(err, syscall.ECONNRESET)
		return true // done: never wait for data
	})
	return closed
}

// startBlockingServer starts a server whose promo campaign blocks
// blockedNumber, with the given limits, on Redis at redisAddr (the shared
// test Redis when "").
func startBlockingServer(t *testing.T, redisAddr string, limits ...string) *server {
	t.Helper()
	var prefix string
	var rdb *redis.Client
	if redisAddr == "" {
		rdb = redistest.Client(t)
		prefix = redistest.Prefix(t, rdb)
		redisAddr = redistest.Addr(t)
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: redisAddr})
		t.Cleanup(func() { rdb.Close() })
		prefix = "fault:"
	}
	if err := rdb.SAdd(context.Background(), blacklist.Keys{Prefix: prefix}.Campaign("promo"), blockedNumber).Err(); err != nil {
		t.Fatal(err)
	}
	return startServerConfig(t, withLimits(prefix, redisAddr, limits...), map[string]string{"promo.yaml": "hangup_cause: 21\n"})
}

// envBlock is the environment block of a promo call to number.
func envBlock(s *server, number string) []byte {
	return agitest.Call{URL: "agi://" + s.addr + "/blacklist?campaign=promo", Extension: number}.EnvBlock()
}

// TestEndToEndCallerHangsUpDuringCheck makes the caller hang up while the
// server waits on Redis (paused): Asterisk's HANGUP line with the socket kept
// open, as real Asterisk does, and HANGUP then a close. The server ends each
// session once the check returns, and keeps serving.
func TestEndToEndCallerHangsUpDuringCheck(t *testing.T) {
	t.Parallel()
	redistest.Addr(t)
	_, addr, rdb := privateRedis(t)
	s := startBlockingServer(t, addr)
	s.answers(t, "before")

	const pause = 1500 * time.Millisecond
	if err := rdb.Do(context.Background(), "CLIENT", "PAUSE", fmt.Sprint(pause.Milliseconds()), "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, number := range []string{blockedNumber, allowedNumber} {
		// Real Asterisk: HANGUP, the socket left open, dead-channel replies.
		wg.Go(func() {
			res, err := agitest.Run(context.Background(), agitest.Call{
				URL: "agi://" + s.addr + "/blacklist?campaign=promo", Extension: number,
				HangupAfter: 100 * time.Millisecond, CallerHangupCause: 16,
			})
			if err != nil || res.TimedOut || !res.ServerClosed || res.AGIStatus != agitest.StatusHangup {
				t.Errorf("HANGUP, socket open, %s: %v %+v", number, err, res)
			}
			if number == blockedNumber && res.Vars["BLACKLIST_STATUS"] == "ALLOWED" {
				t.Errorf("the blocked number was allowed after a hangup: %v", res.Vars)
			}
		})
		// HANGUP then close: the server's writes fail.
		wg.Go(func() {
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Error(err)
				return
			}
			c.Write(envBlock(s, number))
			c.Write([]byte("HANGUP\n"))
			c.Close()
		})
	}
	wg.Wait()
	poll(t, 5*time.Second, "sessions ended", func() bool { return s.metric(t, "blacklist_agi_sessions_in_flight") == 0 })
	if took := time.Since(start); took > pause+3*time.Second {
		t.Errorf("the sessions took %v after a %v pause", took, pause)
	}
	s.answers(t, "after")
	s.noPanic(t)
}

// TestEndToEndHalfClose half-closes the Asterisk side (CloseWrite) after the
// environment block, in the middle of it, and before it: the server answers
// what it can and closes at once, without waiting for limits.env_timeout or
// limits.command_timeout (both long here).
func TestEndToEndHalfClose(t *testing.T) {
	t.Parallel()
	s := startBlockingServer(t, "", "env_timeout: 20s", "command_timeout: 20s")
	env := envBlock(s, blockedNumber)
	cases := []struct {
		name string
		sent []byte
		want string // what the server writes first, if anything
	}{
		{"after the environment block", env, "SET VARIABLE BLACKLIST_STATUS BLOCKED\n"},
		{"in the middle of the environment block", env[:len(env)/2], ""},
		{"before anything", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write(c.sent)
			if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, took := closedWithin(t, conn, 2*time.Second)
			if !strings.HasPrefix(string(got), c.want) || (c.want == "" && len(got) > 0) {
				t.Errorf("the server wrote %q, want %q first", got, c.want)
			}
			t.Logf("closed after %v", took.Round(time.Millisecond))
		})
	}
	s.answers(t, "after the half-closes")
	s.noPanic(t)
}

// TestEndToEndGarbageAndEndlessLines sends what is not AGI, and lines longer
// than limits.max_line_bytes with no end, in the environment block and as a
// reply, 20 endless lines at once: each session is closed promptly with a
// clear log line, the server's memory stays put, and real calls made
// meanwhile are answered.
func TestEndToEndGarbageAndEndlessLines(t *testing.T) {
	t.Parallel()
	const maxLine = 1024
	s := startBlockingServer(t, "", fmt.Sprintf("max_line_bytes: %d", maxLine), "env_timeout: 20s", "command_timeout: 20s")
	env := envBlock(s, blockedNumber)
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	cases := []struct {
		name  string
		reply bool   // sent as the reply to the first command, after env
		sent  []byte // then the connection stays open
		log   string
	}{
		{"an HTTP request", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), `not \"name: value\"`},
		{"not agi_network first", false, []byte("agi_request: agi://x/blacklist\n\n"), "does not start with agi_network"},
		{"binary", false, binary, "agi: session failed"},
		{"a line with no colon", false, []byte("agi_network yes\n\n"), `not \"name: value\"`},
		{"a line too long", false, bytes.Repeat([]byte("agi_network: "), 200), "line too long"},
		{"a garbage reply", true, []byte("hello there\n"), "agi: session failed"},
		{"a reply too long", true, bytes.Repeat([]byte("200 "), 1000), "line too long"},
	}
	for _, c := range cases {
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		if c.reply {
			conn.Write(env)
			line := make([]byte, 100)
			if n, err := conn.Read(line); err != nil || !bytes.HasPrefix(line[:n], []byte("SET VARIABLE")) {
				t.Fatalf("%s: the first command %q, %v", c.name, line[:n], err)
			}
		}
		conn.Write(c.sent)
		got, _ := closedWithin(t, conn, 2*time.Second)
		conn.Close()
		if !c.reply && len(got) > 0 {
			t.Errorf("%s: the server answered %q", c.name, got)
		}
		if line := s.waitLog(t, "session failed"); !strings.Contains(line, c.log) || !strings.Contains(line, "level=WARN") {
			t.Errorf("%s: log %s, want a warning with %q", c.name, line, c.log)
		}
	}

	// Endless lines: each writer writes until the server's close stops it.
	rss := s.metric(t, "process_resident_memory_bytes")
	const writers, limit = 20, 64 << 20
	var wg sync.WaitGroup
	var endless atomic.Int64
	for i := range writers {
		wg.Go(func() {
			conn, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			if i%2 == 1 { // in the reply, not the environment block
				conn.Write(env)
			}
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			written := 0
			for written < limit {
				n, err := conn.Write(chunk)
				written += n
				if err != nil {
					break
				}
			}
			if written >= limit {
				endless.Add(1)
			}
		})
	}
	s.answers(t, "during the endless lines")
	wg.Wait()
	if n := endless.Load(); n > 0 {
		t.Errorf("%d of %d connections took %d MiB without being closed", n, writers, limit>>20)
	}
	after := s.metric(t, "process_resident_memory_bytes")
	if after-rss > 32<<20 {
		t.Errorf("resident memory grew by %.1f MiB during %d endless lines", (after-rss)/(1<<20), writers)
	}
	t.Logf("resident memory: %.1f MiB before, %.1f MiB after %d endless lines", rss/(1<<20), after/(1<<20), writers)
	s.answers(t, "after the garbage")
	s.noPanic(t)
}

// TestEndToEndSilentClients connects and sends nothing, or part of an
// environment block, or one byte at a time: limits.env_timeout closes each,
// with a warning, and a real call meanwhile is answered.
func TestEndToEndSilentClients(t *testing.T) {
	t.Parallel()
	const envTimeout = 300 * time.Millisecond
	s := startBlockingServer(t, "", "env_timeout: "+envTimeout.String())
	env := envBlock(s, blockedNumber)
	cases := []struct {
		name    string
		dribble bool   // one byte each 20ms instead of all at once
		sent    []byte // nothing, or part of the block
	}{
		{"nothing", false, nil},
		{"half the environment block", false, env[:len(env)/2]},
		{"one byte at a time", true, env},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		dialed := time.Now() // the server's deadline runs from its accept, later
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		stop := make(chan struct{})
		if c.dribble {
			wg.Go(func() {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for _, b := range c.sent {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if _, err := conn.Write([]byte{b}); err != nil {
						return
					}
				}
			})
		} else {
			conn.Write(c.sent)
		}
		wg.Go(func() {
			defer close(stop)
			got, _ := closedWithin(t, conn, 5*time.Second)
			took := time.Since(dialed)
			if took < envTimeout || took > envTimeout+2*time.Second || len(got) > 0 {
				t.Errorf("%s: closed after %v with %q, want after limits.env_timeout %v", c.name, took, got, envTimeout)
			}
		})
	}
	s.answers(t, "with silent clients")
	wg.Wait()
	for range cases {
		if line := s.waitLog(t, "session failed"); !strings.Contains(line, "timeout") || !strings.Contains(line, "level=WARN") {
			t.Errorf("log %s, want a warning of a timeout", line)
		}
	}
	s.noPanic(t)
}

// TestEndToEndThousandsOfIdleConnections opens 2,000 connections that send
// nothing to a server with limits.max_sessions 500: 500 are held (until
// limits.env_timeout), the others are closed at once and counted on
// /metrics, the resident memory stays bounded, and a real call meanwhile is
// refused at once (no hang), then answered once a session frees up.
func TestEndToEndThousandsOfIdleConnections(t *testing.T) {
	t.Parallel()
	const conns, maxSessions = 2000, 500
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < conns+200 {
		t.Fatalf("ulimit -n is %d: the test needs %d connections and some spare", lim.Cur, conns)
	}
	s := startBlockingServer(t, "", fmt.Sprintf("max_sessions: %d", maxSessions), "env_timeout: 30s", "session_timeout: 60s")
	s.answers(t, "before")
	rss := s.metric(t, "process_resident_memory_bytes")

	open := make([]net.Conn, conns)
	var wg sync.WaitGroup
	const dialers = 20
	for d := range dialers {
		wg.Go(func() {
			for i := d; i < conns; i += dialers {
				c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
				if err != nil {
					t.Errorf("dial %d: %v", i, err)
					return
				}
				open[i] = c
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range open {
			if c != nil {
				c.Close()
			}
		}
	}()
	if t.Failed() {
		t.FailNow()
	}
	refusedLabels := []string{"outcome=refused"}
	poll(t, 10*time.Second, "connections beyond max_sessions refused", func() bool {
		return s.metric(t, "blacklist_agi_sessions_total", refusedLabels...) == conns-maxSessions
	})
	if n := s.metric(t, "blacklist_agi_sessions_in_flight"); n != maxSessions {
		t.Errorf("sessions in flight: %v, want %d", n, maxSessions)
	}
	// Each refused connection is closed already, the held ones are not.
	var closed int
	poll(t, 5*time.Second, "refused connections closed", func() bool {
		closed = 0
		for _, c := range open {
			if peerClosed(t, c) {
				closed++
			}
		}
		return closed == conns-maxSessions
	})
	after := s.metric(t, "process_resident_memory_bytes")
	t.Logf("resident memory: %.1f MiB before, %.1f MiB with %d sessions held and %d refused", rss/(1<<20), after/(1<<20), maxSessions, conns-maxSessions)
	if after-rss > 128<<20 {
		t.Errorf("resident memory grew by %.1f MiB for %d idle sessions", (after-rss)/(1<<20), maxSessions)
	}

	// A real call while full: refused at once, with no verdict, which the
	// dialplan treats as a failed check.
	res := s.call(t, "promo", blockedNumber)
	if res.Vars["BLACKLIST_STATUS"] != "" || !res.ServerClosed || res.Duration > time.Second {
		t.Errorf("a call while full: %+v, want a fast refusal", res)
	}
	// Free some sessions: the next calls are answered.
	for _, c := range open {
		c.Close()
	}
	poll(t, 5*time.Second, "idle sessions ended", func() bool { return s.metric(t, "blacklist_agi_sessions_in_flight") == 0 })
	s.answers(t, "after the idle connections closed")
	s.noPanic(t)
}
