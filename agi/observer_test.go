package agi

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// sessionEnd is one SessionEnded call.
type sessionEnd struct {
	script string
	d      time.Duration
	err    error
}

// recordingObserver records what a Server tells its Observer.
type recordingObserver struct {
	started atomic.Int64
	ended   chan sessionEnd
	refused chan struct{}
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{ended: make(chan sessionEnd, 16), refused: make(chan struct{}, 16)}
}

func (o *recordingObserver) SessionStarted() { o.started.Add(1) }

func (o *recordingObserver) SessionEnded(script string, d time.Duration, err error) {
	o.ended <- sessionEnd{script, d, err}
}

func (o *recordingObserver) SessionRefused() { o.refused <- struct{}{} }

var errRedisDown = errors.New("redis down")

func TestObserverSessionEnded(t *testing.T) {
	ok := HandlerFunc(func(ctx context.Context, s *Session) error { return s.SetVariable(ctx, "A", "1") })
	onlyOther := NewServeMux()
	onlyOther.Handle("other", ok)
	tests := []struct {
		name       string
		srv        *Server
		handler    Handler
		send       string
		answer     bool // the handler sends SET VARIABLE A 1 and waits for the reply
		wantScript string
		wantErr    error // nil: SessionEnded gets a nil error
		minD       time.Duration
	}{
		{"ok", &Server{}, ok, testEnv, true, "blacklist", nil, 0},
		{"handler error", &Server{}, HandlerFunc(func(context.Context, *Session) error { return errRedisDown }),
			testEnv, false, "blacklist", errRedisDown, 0},
		{"panic", &Server{}, HandlerFunc(func(context.Context, *Session) error { panic("bug") }),
			testEnv, false, "blacklist", ErrHandlerPanic, 0},
		{"no route", &Server{}, onlyOther, testEnv, false, "blacklist", ErrNoHandler, 0},
		{"not agi", &Server{}, ok, "GET / HTTP/1.1\r\n\r\n", false, "", ErrProtocol, 0},
		{"line too long", &Server{MaxLineBytes: 512}, ok, "agi_network: yes\nagi_x: " + strings.Repeat("x", 600) + "\n", false, "", ErrLineTooLong, 0},
		{"silent client", &Server{EnvTimeout: 50 * time.Millisecond}, ok, "", false, "", ErrTimeout, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := newRecordingObserver()
			tt.srv.Observer = obs
			tt.srv.Handler = tt.handler
			tt.srv.Logger = newTestLogger(&logBuffer{})
			f := dialFake(t, startServer(t, tt.srv))
			if tt.send != "" {
				f.send(tt.send)
			}
			if tt.answer {
				f.expect("SET VARIABLE A 1\n")
				f.send("200 result=1\n")
			}
			f.expectClosed()
			end := receive(t, obs.ended, "SessionEnded")
			if end.script != tt.wantScript {
				t.Errorf("script = %q, want %q", end.script, tt.wantScript)
			}
			if tt.wantErr == nil && end.err != nil || !errors.Is(end.err, tt.wantErr) {
				t.Errorf("err = %v, want %v", end.err, tt.wantErr)
			}
			if end.d <= 0 || end.d < tt.minD || end.d > ioTimeout {
				t.Errorf("d = %v, want in (%v, %v)", end.d, tt.minD, ioTimeout)
			}
			if n := obs.started.Load(); n != 1 {
				t.Errorf("SessionStarted called %d times, want 1", n)
			}
			if err := tt.srv.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			select {
			case e := <-obs.ended:
				t.Errorf("SessionEnded called again: %+v", e)
			case <-obs.refused:
				t.Error("SessionRefused called")
			default:
			}
		})
	}
}

func TestObserverServeConn(t *testing.T) {
	obs := newRecordingObserver()
	srv := &Server{Observer: obs}
	f, done := serveOne(t, srv, func(ctx context.Context, s *Session) error {
		return s.SetVariable(ctx, "A", "1")
	})
	f.send(testEnv)
	f.expect("SET VARIABLE A 1\n")
	f.send("200 result=1\n")
	if err := receive(t, done, "ServeConn"); err != nil {
		t.Fatal(err)
	}
	// ServeConn returns after SessionEnded: no waiting needed.
	select {
	case end := <-obs.ended:
		if end.script != "blacklist" || end.err != nil {
			t.Errorf("SessionEnded(%q, %v, %v), want (\"blacklist\", d, nil)", end.script, end.d, end.err)
		}
	default:
		t.Fatal("SessionEnded not called before ServeConn returned")
	}
	if n := obs.started.Load(); n != 1 {
		t.Errorf("SessionStarted called %d times, want 1", n)
	}
}

func TestObserverRefused(t *testing.T) {
	obs := newRecordingObserver()
	release := make(chan struct{})
	srv := &Server{
		MaxSessions: 1,
		Observer:    obs,
		Logger:      newTestLogger(&logBuffer{}),
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
	first.expect("SET VARIABLE A 1\n")
	first.send("200 result=1\n")

	for i := range 2 {
		refused := dialFake(t, addr)
		refused.expectClosed()
		receive(t, obs.refused, "SessionRefused")
		if n := obs.started.Load(); n != 1 {
			t.Errorf("after %d refusals: SessionStarted called %d times, want 1", i+1, n)
		}
	}
	select {
	case e := <-obs.ended:
		t.Fatalf("SessionEnded(%+v) while the session runs", e)
	default:
	}
	close(release)
	first.expectClosed()
	if end := receive(t, obs.ended, "SessionEnded"); end.script != "blacklist" || end.err != nil {
		t.Errorf("SessionEnded(%q, %v, %v), want (\"blacklist\", d, nil)", end.script, end.d, end.err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := obs.started.Load(); n != 1 {
		t.Errorf("SessionStarted called %d times, want 1", n)
	}
	if n := len(obs.refused); n != 0 {
		t.Errorf("%d more refusals", n)
	}
}
