package agi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestServeEnvErrors(t *testing.T) {
	tests := []struct {
		name       string
		srv        *Server
		send       string
		closeWrite bool // Asterisk closes after sending
		want       error
	}{
		{"endless line", &Server{MaxLineBytes: 512}, "agi_network: yes\nagi_x: " + strings.Repeat("x", 4096), false, ErrLineTooLong},
		{"silent client", &Server{EnvTimeout: 50 * time.Millisecond}, "", false, ErrTimeout},
		{"stalls mid-env", &Server{EnvTimeout: 50 * time.Millisecond}, "agi_network: yes\nagi_chan", false, ErrTimeout},
		{"env never ends", &Server{SessionTimeout: 50 * time.Millisecond}, "agi_network: yes\n", false, ErrTimeout},
		{"not agi", &Server{}, "GET / HTTP/1.1\r\n\r\n", false, ErrProtocol},
		{"eof mid-env", &Server{}, "agi_network: yes\nagi_channel: x\n", true, io.ErrUnexpectedEOF},
		{"probe", &Server{}, "", true, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			f, done := serveOne(t, tt.srv, func(context.Context, *Session) error {
				ran = true
				return nil
			})
			switch {
			case tt.closeWrite:
				f.send(tt.send)
				_ = f.conn.(*net.TCPConn).CloseWrite()
			case tt.send != "":
				go f.conn.Write([]byte(tt.send)) // may block on a full buffer once the server stops reading
			}
			err := receive(t, done, "ServeConn")
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if ran {
				t.Error("handler ran")
			}
			f.expectClosed()
		})
	}
}

func TestServeMaxSessions(t *testing.T) {
	var logs logBuffer
	release := make(chan struct{})
	srv := &Server{
		MaxSessions: 1,
		Logger:      newTestLogger(&logs),
		Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
			if err := s.SetVariable(ctx, "A", "1"); err != nil {
				return err
			}
			<-release
			return nil
		}),
	}
	addr := startServer(t, srv)
	first := dialFake(t, addr)
	first.send(testEnv)
	first.expect("SET VARIABLE A 1\n") // the first session is running
	first.send("200 result=1\n")

	refused := dialFake(t, addr)
	refused.expectClosed()
	if n := srv.RefusedSessions(); n != 1 {
		t.Errorf("RefusedSessions() = %d, want 1", n)
	}
	if n := srv.ActiveSessions(); n != 1 {
		t.Errorf("ActiveSessions() = %d, want 1", n)
	}
	close(release)
	first.expectClosed()
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if log := logs.String(); !strings.Contains(log, "level=DEBUG") || !strings.Contains(log, "too many sessions") {
		t.Errorf("log %q does not record the refusal at debug level", log)
	}
}

func TestServePanic(t *testing.T) {
	var logs logBuffer
	srv := &Server{
		Logger: newTestLogger(&logs),
		Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
			if s.Request().Query.Get("panic") != "" {
				panic("handler bug")
			}
			return s.SetVariable(ctx, "A", "1")
		}),
	}
	addr := startServer(t, srv)
	bad := dialFake(t, addr)
	bad.send(strings.Replace(testEnv, "blacklist?", "blacklist?panic=1&", 1))
	bad.expectClosed()

	// The server keeps serving.
	good := dialFake(t, addr)
	good.send(testEnv)
	good.expect("SET VARIABLE A 1\n")
	good.send("200 result=1\n")
	good.expectClosed()

	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := logs.String()
	for _, want := range []string{"level=ERROR", "handler panicked", "handler bug", "goroutine", "uniqueid=e2e-1795819574.13"} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not contain %q:\n%s", want, log)
		}
	}
	if strings.Count(log, "handler bug") != 1 {
		t.Errorf("the panic is logged %d times, want once:\n%s", strings.Count(log, "handler bug"), log)
	}

	err := srv.ServeConn(context.Background(), pipeWithEnv(t, strings.Replace(testEnv, "blacklist?", "blacklist?panic=1&", 1)))
	if !errors.Is(err, ErrHandlerPanic) && !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeConn = %v", err)
	}
}

// pipeWithEnv returns the server end of a pipe whose client sends env and
// then reads everything.
func pipeWithEnv(t *testing.T, env string) net.Conn {
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	go func() {
		_, _ = client.Write([]byte(env))
		buf := make([]byte, 512)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}()
	return server
}

func TestServeLogsHandlerErrors(t *testing.T) {
	var logs logBuffer
	srv := &Server{
		Logger: newTestLogger(&logs),
		Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
			switch s.Request().Query.Get("scenario") {
			case "fail":
				return errors.New("redis unavailable")
			case "hangup":
				return fmt.Errorf("checking: %w", ErrHangup)
			}
			return nil
		}),
	}
	addr := startServer(t, srv)
	probe := dialFake(t, addr) // a port probe: connects and closes
	probe.conn.Close()
	for _, scenario := range []string{"fail", "hangup", "ok"} {
		f := dialFake(t, addr)
		f.send(strings.Replace(testEnv, "scenario=a\n", "scenario="+scenario+"\n", 1))
		f.expectClosed()
	}
	// Serve admitted the probe before the later sessions, so Shutdown
	// waits for it too.
	if err := srv.Shutdown(context.Background()); err != nil { // waits for the sessions, and so for their logs
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var warn, debug []string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "level=WARN"):
			warn = append(warn, l)
		case strings.Contains(l, "level=DEBUG"):
			debug = append(debug, l)
		}
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "redis unavailable") || !strings.Contains(warn[0], "script=blacklist") ||
		!strings.Contains(warn[0], "uniqueid=e2e-1795819574.13") || !strings.Contains(warn[0], "remote=127.0.0.1:") {
		t.Errorf("warnings: %q", warn)
	}
	if len(debug) != 2 || !strings.Contains(strings.Join(debug, "\n"), "channel hung up") {
		t.Errorf("debug records: %q", debug)
	}
}

func TestShutdownWaitsForSessions(t *testing.T) {
	release := make(chan struct{})
	var finished atomic.Bool
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
		if err := s.SetVariable(ctx, "A", "1"); err != nil {
			return err
		}
		<-release
		err := s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
		finished.Store(err == nil)
		return err
	})}
	waiting := make(chan struct{})
	srv.testHookShutdownWaiting = func() { close(waiting) }
	addr := startServer(t, srv)
	f := dialFake(t, addr)
	f.send(testEnv)
	f.expect("SET VARIABLE A 1\n")
	f.send("200 result=1\n")

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	receive(t, waiting, "Shutdown to start waiting")
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the listener still accepts connections during Shutdown")
	}
	if srv.ActiveSessions() != 1 {
		t.Errorf("ActiveSessions() = %d, want 1", srv.ActiveSessions())
	}
	close(release)
	f.expect("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
	f.send("200 result=1\n")
	f.expectClosed()
	if err := receive(t, shut, "Shutdown"); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if !finished.Load() {
		t.Error("Shutdown returned before the session finished")
	}
	if err := srv.Serve(mustListen(t)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
	if err := srv.ListenAndServe("127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe after Shutdown = %v", err)
	}
	if err := srv.ServeConn(context.Background(), pipeWithEnv(t, testEnv)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeConn after Shutdown = %v", err)
	}
}

func TestShutdownClosesStuckSessions(t *testing.T) {
	handlerErr := make(chan error, 1)
	started := make(chan struct{})
	var logs logBuffer
	srv := &Server{Logger: newTestLogger(&logs), Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
		close(started)
		<-ctx.Done() // stuck until the server gives up on it
		handlerErr <- ctx.Err()
		return ctx.Err()
	})}
	waiting := make(chan struct{})
	srv.testHookShutdownWaiting = func() { close(waiting) }
	addr := startServer(t, srv)
	f := dialFake(t, addr)
	f.send(testEnv)
	receive(t, started, "handler")

	ctx, cancel := context.WithCancel(context.Background())
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	receive(t, waiting, "Shutdown to start waiting")
	cancel() // the grace period is over
	if err := receive(t, shut, "Shutdown"); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	f.expectClosed()
	if err := receive(t, handlerErr, "handler"); !errors.Is(err, context.Canceled) {
		t.Errorf("handler context: %v, want canceled", err)
	}
}

func TestClose(t *testing.T) {
	started := make(chan struct{})
	var logs logBuffer
	srv := &Server{Logger: newTestLogger(&logs), Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
		close(started)
		_, _, err := s.GetVariable(ctx, "NEVER_ANSWERED")
		return err
	})}
	addr := startServer(t, srv)
	f := dialFake(t, addr)
	f.send(testEnv)
	receive(t, started, "handler")
	// The handler is waiting for a reply that never comes.
	f.expect("GET VARIABLE NEVER_ANSWERED\n")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	f.expectClosed()
}

func TestServeNilHandler(t *testing.T) {
	srv := &Server{}
	if err := srv.Serve(mustListen(t)); err == nil || !strings.Contains(err.Error(), "Handler is nil") {
		t.Errorf("Serve = %v", err)
	}
	if err := srv.ServeConn(context.Background(), pipeWithEnv(t, testEnv)); err == nil {
		t.Error("ServeConn with a nil Handler succeeded")
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
