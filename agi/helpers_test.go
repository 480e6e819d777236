package agi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testEnv is the environment block of scenario a, as Asterisk 22 sent it.
const testEnv = "agi_network: yes\n" +
	"agi_network_script: blacklist?campaign=promo&foo=bar&scenario=a\n" +
	"agi_request: agi://127.0.0.1:4575/blacklist?campaign=promo&foo=bar&scenario=a\n" +
	"agi_channel: Local/a-5511987654321@agi-scn-00000006;2\n" +
	"agi_language: en\n" +
	"agi_type: Local\n" +
	"agi_uniqueid: e2e-1795819574.13\n" +
	"agi_version: 22.10.1\n" +
	"agi_callerid: unknown\n" +
	"agi_calleridname: unknown\n" +
	"agi_callingpres: 67\n" +
	"agi_callingani2: 0\n" +
	"agi_callington: 0\n" +
	"agi_callingtns: 0\n" +
	"agi_dnid: unknown\n" +
	"agi_rdnis: unknown\n" +
	"agi_context: agi-scn-run\n" +
	"agi_extension: 5511987654321\n" +
	"agi_priority: 11\n" +
	"agi_enhanced: 0.0\n" +
	"agi_accountcode: \n" +
	"agi_threadid: 139983128471232\n" +
	"agi_arg_1: arg1\n" +
	"agi_arg_2: arg2\n" +
	"\n"

// ioTimeout bounds every blocking step of a test, so that a bug fails the
// test instead of hanging it.
const ioTimeout = 5 * time.Second

// startServer runs srv.Serve on a loopback listener and returns its address.
// The server is closed when the test ends.
func startServer(t *testing.T, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		select {
		case err := <-served:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(ioTimeout):
			t.Error("Serve did not return after Close")
		}
	})
	return l.Addr().String()
}

// fakeAsterisk plays Asterisk's side of a FastAGI connection.
type fakeAsterisk struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialFake(t *testing.T, addr string) *fakeAsterisk {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	return &fakeAsterisk{t: t, conn: c, r: bufio.NewReader(c)}
}

func (f *fakeAsterisk) send(s string) {
	f.t.Helper()
	if _, err := io.WriteString(f.conn, s); err != nil {
		f.t.Fatalf("fake Asterisk: writing %q: %v", s, err)
	}
}

// expect reads one command line and checks it.
func (f *fakeAsterisk) expect(want string) {
	f.t.Helper()
	line, err := f.r.ReadString('\n')
	if err != nil {
		f.t.Fatalf("fake Asterisk: reading command, want %q: %v (got %q)", want, err, line)
	}
	if line != want {
		f.t.Fatalf("fake Asterisk: got command %q, want %q", line, want)
	}
}

// expectClosed checks that the server closes the connection without sending
// anything more.
func (f *fakeAsterisk) expectClosed() {
	f.t.Helper()
	rest, err := io.ReadAll(f.r)
	if len(rest) > 0 {
		f.t.Fatalf("fake Asterisk: got %q, want the connection closed", rest)
	}
	if err != nil && !isConnClosed(err) {
		f.t.Fatalf("fake Asterisk: waiting for close: %v", err)
	}
}

// isConnClosed reports whether err is the peer closing the connection, as a
// reset when our own unread data was discarded.
func isConnClosed(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset")
}

// logBuffer collects a server's log output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// result carries a handler's outcome to the test goroutine.
type result struct {
	reply Reply
	value string
	ok    bool
	err   error
}

// receive waits for a value on ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(ioTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// serveOne runs one session with handler over a real loopback connection
// through ServeConn and returns the fake Asterisk end and the channel that
// receives ServeConn's result.
func serveOne(t *testing.T, srv *Server, h HandlerFunc) (*fakeAsterisk, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv.Handler = h
	done := make(chan error, 1)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		accepted <- c
		done <- srv.ServeConn(context.Background(), c)
	}()
	f := dialFake(t, l.Addr().String())
	receive(t, accepted, "accept")
	return f, done
}

func newLineReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
