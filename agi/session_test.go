package agi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSessionCommands(t *testing.T) {
	results := make(chan []result, 1)
	f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
		var rs []result
		add := func(r Reply, err error) { rs = append(rs, result{reply: r, err: err}) }
		add(Reply{}, s.SetVariable(ctx, "BLACKLIST_REASON", "opt out: customer asked"))
		v, ok, err := s.GetVariable(ctx, "CHANNEL(name)")
		rs = append(rs, result{value: v, ok: ok, err: err})
		v, ok, err = s.GetFullVariable(ctx, "${NO_SUCH_VAR}")
		rs = append(rs, result{value: v, ok: ok, err: err})
		v, ok, err = s.GetVariable(ctx, "NO_SUCH_VAR")
		rs = append(rs, result{value: v, ok: ok, err: err})
		add(s.Exec(ctx, "Answer"))
		add(s.Exec(ctx, "Dial", "PJSIP/100", "30", ""))
		add(s.Exec(ctx, "Playback", "hello world"))
		add(Reply{}, s.Verbose(ctx, "checked 5511987654321", 3))
		add(Reply{}, s.Hangup(ctx))
		add(s.Command(ctx, "DATABASE GET", "blacklist", "5511987654321"))
		add(s.Command(ctx, "NOOP"))
		results <- rs
		return nil
	})
	f.send(testEnv)
	for _, step := range []struct{ cmd, reply string }{
		{`SET VARIABLE BLACKLIST_REASON "opt out: customer asked"` + "\n", "200 result=1\n"},
		{"GET VARIABLE CHANNEL(name)\n", "200 result=1 (Local/x;2)\n"},
		{"GET FULL VARIABLE ${NO_SUCH_VAR}\n", "200 result=1 ()\n"},
		{"GET VARIABLE NO_SUCH_VAR\n", "200 result=0\n"},
		{"EXEC Answer\n", "200 result=0\n"},
		{"EXEC Dial PJSIP/100,30,\n", "200 result=0\n"},
		{`EXEC Playback "hello world"` + "\n", "200 result=0\n"},
		{`VERBOSE "checked 5511987654321" 3` + "\n", "200 result=1\n"},
		{"HANGUP\n", "200 result=1\n"},
		{"DATABASE GET blacklist 5511987654321\n", "200 result=1 (opt-out (2024))\n"},
		{"NOOP\n", "200 result=0\n"},
	} {
		f.expect(step.cmd)
		f.send(step.reply)
	}
	f.expectClosed()
	if err := receive(t, done, "ServeConn"); err != nil {
		t.Fatal(err)
	}
	rs := receive(t, results, "handler")
	for i, r := range rs {
		if r.err != nil {
			t.Errorf("command %d: %v", i+1, r.err)
		}
	}
	if rs[1].value != "Local/x;2" || !rs[1].ok || rs[2].value != "" || !rs[2].ok || rs[3].ok {
		t.Errorf("variables: %+v %+v %+v", rs[1], rs[2], rs[3])
	}
	if rs[9].reply.Data != "opt-out (2024)" {
		t.Errorf("DATABASE GET data = %q", rs[9].reply.Data)
	}
}

func TestSessionHangupMidCommand(t *testing.T) {
	hungUp := make(chan bool, 1)
	f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
		err := s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
		hungUp <- s.HungUp()
		return err
	})
	f.send(testEnv)
	f.expect("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
	f.send("HANGUP\n")
	f.conn.Close()
	err := receive(t, done, "ServeConn")
	if !errors.Is(err, ErrHangup) {
		t.Fatalf("err = %v, want ErrHangup", err)
	}
	if !receive(t, hungUp, "handler") {
		t.Error("HungUp() = false after a HANGUP line")
	}
}

func TestSessionEOFWithoutHangup(t *testing.T) {
	f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
		return s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
	})
	f.send(testEnv)
	f.expect("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
	f.send("200 res") // half a reply, then the connection closes
	f.conn.(*net.TCPConn).CloseWrite()
	err := receive(t, done, "ServeConn")
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrHangup) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF and not ErrHangup", err)
	}
	if !strings.Contains(err.Error(), `"SET VARIABLE"`) {
		t.Errorf("error %q does not name the command", err)
	}
}

// TestSessionStrayLine checks that a line Asterisk sent unasked is never taken
// for the reply to the next command.
func TestSessionStrayLine(t *testing.T) {
	errs := make(chan [3]error, 1)
	f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
		var e [3]error
		e[0] = s.SetVariable(ctx, "A", "1")
		_, _, e[1] = s.GetVariable(ctx, "B")
		e[2] = s.SetVariable(ctx, "C", "3")
		errs <- e
		return e[1]
	})
	f.send(testEnv)
	f.expect("SET VARIABLE A 1\n")
	f.send("200 result=1\n200 result=1 (stray)\n") // one segment: both lines are buffered together
	f.expectClosed()                               // GET VARIABLE B is never written
	err := receive(t, done, "ServeConn")
	e := receive(t, errs, "handler")
	if e[0] != nil {
		t.Errorf("first command: %v", e[0])
	}
	if !errors.Is(e[1], ErrProtocol) || !strings.Contains(e[1].Error(), "(stray)") {
		t.Errorf("second command: %v, want ErrProtocol naming the stray line", e[1])
	}
	if e[2] != e[1] {
		t.Errorf("third command: %v, want the session's first error again", e[2])
	}
	if !errors.Is(err, ErrProtocol) {
		t.Errorf("ServeConn = %v", err)
	}
}

// TestSessionLateReply checks that after a timeout the session is broken, so
// the late reply cannot answer a later command.
func TestSessionLateReply(t *testing.T) {
	timedOut := make(chan error, 1)
	lateSent := make(chan struct{})
	second := make(chan error, 1)
	f, done := serveOne(t, &Server{CommandTimeout: 50 * time.Millisecond}, func(ctx context.Context, s *Session) error {
		_, _, err := s.GetVariable(ctx, "SLOW")
		timedOut <- err
		<-lateSent
		_, _, err2 := s.GetVariable(ctx, "OTHER")
		second <- err2
		return nil
	})
	f.send(testEnv)
	f.expect("GET VARIABLE SLOW\n")
	err := receive(t, timedOut, "timeout")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	f.send("200 result=1 (late)\n")
	close(lateSent)
	if err2 := receive(t, second, "second command"); err2 != err {
		t.Errorf("command after a timeout: %v, want %v", err2, err)
	}
	f.expectClosed()
	receive(t, done, "ServeConn")
}

func TestSessionContext(t *testing.T) {
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		f, done := serveOne(t, &Server{}, func(_ context.Context, s *Session) error {
			err := s.SetVariable(ctx, "A", "1")
			errc <- err
			if err2 := s.SetVariable(context.Background(), "B", "2"); err2 != err {
				t.Errorf("command after cancellation: %v, want %v", err2, err)
			}
			return err
		})
		f.send(testEnv)
		f.expect("SET VARIABLE A 1\n")
		cancel()
		if err := receive(t, errc, "handler"); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		f.expectClosed()
		receive(t, done, "ServeConn")
	})
	t.Run("canceled before", func(t *testing.T) {
		f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if err := s.SetVariable(canceled, "A", "1"); !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			// Nothing was written: the session still works.
			return s.SetVariable(ctx, "B", "2")
		})
		f.send(testEnv)
		f.expect("SET VARIABLE B 2\n")
		f.send("200 result=1\n")
		f.expectClosed()
		if err := receive(t, done, "ServeConn"); err != nil {
			t.Error(err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		errc := make(chan error, 1)
		f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			err := s.SetVariable(short, "A", "1")
			errc <- err
			return err
		})
		f.send(testEnv)
		f.expect("SET VARIABLE A 1\n")
		if err := receive(t, errc, "handler"); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrTimeout and context.DeadlineExceeded", err)
		}
		f.expectClosed()
		receive(t, done, "ServeConn")
	})
	t.Run("session timeout", func(t *testing.T) {
		errc := make(chan error, 1)
		srv := &Server{SessionTimeout: 100 * time.Millisecond}
		f, done := serveOne(t, srv, func(ctx context.Context, s *Session) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("handler context has no deadline")
			}
			err := s.SetVariable(ctx, "A", "1")
			errc <- err
			return err
		})
		f.send(testEnv)
		f.expect("SET VARIABLE A 1\n")
		if err := receive(t, errc, "handler"); !errors.Is(err, ErrTimeout) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
		f.expectClosed()
		receive(t, done, "ServeConn")
	})
	t.Run("ServeConn parent canceled", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
			return s.SetVariable(ctx, "A", "1")
		})}
		done := make(chan error, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				done <- err
				return
			}
			done <- srv.ServeConn(ctx, c)
		}()
		f := dialFake(t, l.Addr().String())
		f.send(testEnv)
		f.expect("SET VARIABLE A 1\n")
		cancel()
		if err := receive(t, done, "ServeConn"); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		f.expectClosed()
	})
}

func TestSessionBadArgument(t *testing.T) {
	f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
		if err := s.SetVariable(ctx, "X", "a\nb"); !errors.Is(err, ErrBadArgument) {
			t.Errorf("err = %v, want ErrBadArgument", err)
		}
		if _, err := s.Command(ctx, "NOOP\r"); !errors.Is(err, ErrBadArgument) {
			t.Errorf("err = %v, want ErrBadArgument", err)
		}
		// Nothing was written: the session still works.
		return s.SetVariable(ctx, "X", "ok")
	})
	f.send(testEnv)
	f.expect("SET VARIABLE X ok\n")
	f.send("200 result=1\n")
	f.expectClosed()
	if err := receive(t, done, "ServeConn"); err != nil {
		t.Fatal(err)
	}
}

func TestSessionReplyTooLong(t *testing.T) {
	f, done := serveOne(t, &Server{MaxLineBytes: 256}, func(ctx context.Context, s *Session) error {
		_, _, err := s.GetVariable(ctx, "BIG")
		return err
	})
	f.send(testEnv)
	f.expect("GET VARIABLE BIG\n")
	go f.conn.Write([]byte("200 result=1 (" + strings.Repeat("x", 1000) + ")\n"))
	if err := receive(t, done, "ServeConn"); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
}

func TestSessionUseAfterHandler(t *testing.T) {
	kept := make(chan *Session, 1)
	f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
		kept <- s
		return nil
	})
	f.send(testEnv)
	f.expectClosed()
	receive(t, done, "ServeConn")
	s := receive(t, kept, "handler")
	if err := s.SetVariable(context.Background(), "A", "1"); !errors.Is(err, net.ErrClosed) {
		t.Errorf("command after the handler returned: %v, want net.ErrClosed", err)
	}
}

// TestSessionConcurrentCommands checks that commands from several goroutines
// run one at a time, each getting its own reply.
func TestSessionConcurrentCommands(t *testing.T) {
	const n = 20
	f, done := serveOne(t, &Server{}, func(ctx context.Context, s *Session) error {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				name := fmt.Sprintf("V%d", i)
				v, ok, err := s.GetVariable(ctx, name)
				if err != nil || !ok || v != "value of "+name {
					t.Errorf("GetVariable(%s) = %q, %v, %v", name, v, ok, err)
				}
			})
		}
		wg.Wait()
		return nil
	})
	f.send(testEnv)
	for range n {
		line, err := f.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		name, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "GET VARIABLE ")
		if !ok {
			t.Fatalf("unexpected command %q", line)
		}
		f.send("200 result=1 (value of " + name + ")\n")
	}
	f.expectClosed()
	if err := receive(t, done, "ServeConn"); err != nil {
		t.Fatal(err)
	}
}

// TestServeConnPipe runs a session over net.Pipe.
func TestServeConnPipe(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
		if s.Request().Script != "blacklist" || s.Env().Get("agi_uniqueid") != "e2e-1795819574.13" {
			t.Errorf("request %+v", s.Request())
		}
		return s.SetVariable(ctx, "BLACKLIST_STATUS", "BLOCKED")
	})}
	done := make(chan error, 1)
	go func() { done <- srv.ServeConn(context.Background(), server) }()
	_ = client.SetDeadline(time.Now().Add(ioTimeout))
	f := &fakeAsterisk{t: t, conn: client}
	f.r = newLineReader(client)
	f.send(testEnv)
	f.expect("SET VARIABLE BLACKLIST_STATUS BLOCKED\n")
	f.send("200 result=1\n")
	f.expectClosed()
	if err := receive(t, done, "ServeConn"); err != nil {
		t.Fatal(err)
	}
	if srv.ActiveSessions() != 0 {
		t.Errorf("ActiveSessions() = %d after the session", srv.ActiveSessions())
	}
}
