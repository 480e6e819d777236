package metrics

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
)

func TestSessionOutcome(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{fmt.Errorf("agi: %q: %w: %w", "SET VARIABLE", agi.ErrHangup, io.ErrUnexpectedEOF), "hangup"},
		{&agi.CommandError{Command: "EXEC", Reply: agi.Reply{Code: 511}, Err: agi.ErrDeadChannel}, "hangup"},
		{fmt.Errorf("agi: writing %q: %w", "EXEC", &net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}), "hangup"},
		{fmt.Errorf("agi: reading %q: %w", "EXEC", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), "hangup"},
		{fmt.Errorf("agi: reading the reply to %q: connection closed by Asterisk: %w", "EXEC", io.ErrUnexpectedEOF), "hangup"},
		{fmt.Errorf("agi: reading the environment block: %w: connection closed before the environment block: %w", agi.ErrProtocol, io.EOF), "hangup"},
		{fmt.Errorf("agi: reading the environment block: %w: connection closed after 2 environment lines: %w", agi.ErrProtocol, io.ErrUnexpectedEOF), "protocol_error"},
		{fmt.Errorf("agi: reading the environment block: %w", agi.ErrLineTooLong), "protocol_error"},
		{&agi.CommandError{Command: "GET VARIABLE", Err: agi.ErrProtocol}, "protocol_error"},
		{fmt.Errorf("agi: reading the environment block: %w: %w", agi.ErrTimeout, os.ErrDeadlineExceeded), "timeout"},
		{fmt.Errorf("agi: %q: %w: %w", "EXEC", agi.ErrTimeout, context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("guard: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("%w %q", agi.ErrNoHandler, "blacklsit"), "no_route"},
		{fmt.Errorf("%w: nil map", agi.ErrHandlerPanic), "handler_error"},
		{&agi.CommandError{Command: "SET VARIABLE", Reply: agi.Reply{Code: 520}, Err: agi.ErrUsage}, "handler_error"},
		{fmt.Errorf("agi: %q: %w", "EXEC", context.Canceled), "handler_error"},
		{errors.New("redis: connection pool exhausted"), "handler_error"},
	}
	for _, tt := range tests {
		if got := outcomeLabels[sessionOutcome(tt.err)]; got != tt.want {
			t.Errorf("sessionOutcome(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

// sessionSeries lists the sessions_total series a route label always has,
// keyed as labelKey renders them (labels sorted by name).
func sessionSeries(route string, counts map[string]float64) map[string]float64 {
	outcomes := []string{"ok", "hangup", "timeout", "protocol_error", "handler_error"}
	switch route {
	case LabelNone:
		outcomes = append(outcomes, "refused")
	case LabelUnknown:
		outcomes = append(outcomes, "no_route")
	}
	series := map[string]float64{}
	for _, o := range outcomes {
		series["outcome="+o+",route="+route] = counts[o]
	}
	for o := range counts {
		if _, ok := series["outcome="+o+",route="+route]; !ok {
			panic("no outcome " + o + " on route " + route)
		}
	}
	return series
}

func union(sets ...map[string]float64) map[string]float64 {
	all := map[string]float64{}
	for _, s := range sets {
		for k, v := range s {
			all[k] = v
		}
	}
	return all
}

// env is an environment block asking for script.
func env(script string) string {
	return "agi_network: yes\nagi_network_script: " + script + "?campaign=promo\n" +
		"agi_request: agi://127.0.0.1/" + script + "?campaign=promo\nagi_uniqueid: 1700000000.1\n\n"
}

// asterisk is the Asterisk end of one FastAGI connection.
type asterisk struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *asterisk {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return &asterisk{t: t, conn: c, r: bufio.NewReader(c)}
}

func (a *asterisk) send(s string) {
	a.t.Helper()
	if _, err := io.WriteString(a.conn, s); err != nil {
		a.t.Fatal(err)
	}
}

func (a *asterisk) expect(line string) {
	a.t.Helper()
	got, err := a.r.ReadString('\n')
	if err != nil || got != line {
		a.t.Fatalf("read %q, %v; want %q", got, err, line)
	}
}

// expectClosed waits for the server to close the connection.
func (a *asterisk) expectClosed() {
	a.t.Helper()
	if rest, err := io.ReadAll(a.r); len(rest) > 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
		a.t.Fatalf("read %q, %v; want the connection closed", rest, err)
	}
}

// serve runs srv on a loopback listener and returns its address and a
// function that shuts it down, waiting for every session it admitted.
func serve(t *testing.T, srv *agi.Server) (addr string, shutdown func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String(), func() {
		t.Helper()
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-served; !errors.Is(err, agi.ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
	}
}

// TestSessionsOverTCP runs FastAGI servers with the metrics' observer and a
// known mix of sessions over loopback, then scrapes the counts.
func TestSessionsOverTCP(t *testing.T) {
	m := New()
	m.SetRoutes([]string{"/blacklist", "optout", "spam"})
	mux := agi.NewServeMux()
	mux.HandleFunc("blacklist", func(ctx context.Context, s *agi.Session) error {
		return s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
	})
	mux.HandleFunc("optout", func(context.Context, *agi.Session) error {
		return errors.New("redis: connection refused")
	})
	allow := func(a *asterisk) {
		a.expect("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
		a.send("200 result=1\n")
		a.expectClosed()
	}

	// A full server: one session holds the only slot, the next connection
	// is refused.
	addr, shutdown := serve(t, &agi.Server{Handler: mux, MaxSessions: 1, Observer: m.AGIObserver()})
	held := dial(t, addr)
	held.send(env("blacklist"))
	held.expect("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
	if got := values(t, scrape(t, m), "blacklist_agi_sessions_in_flight")[""]; got != 1 {
		t.Errorf("sessions_in_flight = %v while a session runs, want 1", got)
	}
	dial(t, addr).expectClosed()
	held.send("200 result=1\n")
	held.expectClosed()
	shutdown()

	// Another server, counted by the same metrics: a mix of sessions.
	addr, shutdown = serve(t, &agi.Server{Handler: mux, EnvTimeout: 20 * time.Millisecond, Observer: m.AGIObserver()})
	a := dial(t, addr) // ok
	a.send(env("blacklist"))
	allow(a)
	a = dial(t, addr) // Asterisk goes away instead of answering
	a.send(env("blacklist"))
	a.expect("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
	a.conn.Close()
	a = dial(t, addr) // the handler fails
	a.send(env("optout"))
	a.expectClosed()
	a = dial(t, addr) // no handler
	a.send(env("blacklsit"))
	a.expectClosed()
	a = dial(t, addr) // no handler, and no route label either
	a.send(env("campaign-" + fmt.Sprint(time.Now().UnixNano())))
	a.expectClosed()
	a = dial(t, addr) // not AGI
	a.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	a.expectClosed()
	a = dial(t, addr) // silent until the environment timeout
	a.expectClosed()
	dial(t, addr).conn.Close() // a port probe
	a = dial(t, addr)          // accepted after the probe, whose session Shutdown waits for
	a.send(env("/blacklist"))
	allow(a)
	shutdown()

	fams := scrape(t, m)
	assertValues(t, "sessions_total", values(t, fams, "blacklist_agi_sessions_total"), union(
		sessionSeries("blacklist", map[string]float64{"ok": 3, "hangup": 1}),
		sessionSeries("optout", map[string]float64{"handler_error": 1}),
		sessionSeries("spam", nil),
		sessionSeries(LabelUnknown, map[string]float64{"no_route": 2}),
		sessionSeries(LabelNone, map[string]float64{"refused": 1, "protocol_error": 1, "timeout": 1, "hangup": 1}),
	))
	assertValues(t, "sessions_in_flight", values(t, fams, "blacklist_agi_sessions_in_flight"), map[string]float64{"": 0})
	durations := histograms(t, fams, "blacklist_agi_session_duration_seconds")
	wantCounts := map[string]uint64{"route=blacklist": 4, "route=optout": 1, "route=spam": 0, "route=_unknown": 2, "route=_none": 3}
	if len(durations) != len(wantCounts) {
		t.Errorf("session_duration_seconds has %d series, want %d", len(durations), len(wantCounts))
	}
	for route, want := range wantCounts {
		h := durations[route]
		if h.GetSampleCount() != want {
			t.Errorf("session_duration_seconds{%s} count = %d, want %d", route, h.GetSampleCount(), want)
		}
		assertBuckets(t, "session_duration_seconds", h, 0.0001, 5)
	}
	if h := durations["route=_none"]; h.GetSampleSum() < 0.02 {
		t.Errorf("session_duration_seconds{route=_none} sum = %v, want at least the 20ms environment timeout", h.GetSampleSum())
	}
}

func TestSessionRouteLabels(t *testing.T) {
	m := New()
	obs := m.AGIObserver()
	m.SetRoutes([]string{"blacklist", "old"})
	obs.SessionStarted()
	obs.SessionEnded("old", time.Millisecond, nil)
	m.SetRoutes([]string{"blacklist", "new", "", "_none"})
	for _, s := range []struct {
		script string
		err    error
	}{
		{"old", nil}, // no longer a route
		{"new", nil},
		{"_none", nil},
		{"", nil}, // a handler that is no ServeMux
		{"", io.EOF},
		{"blacklist", fmt.Errorf("%w %q", agi.ErrNoHandler, "blacklist")}, // a ServeMux without the route
	} {
		obs.SessionStarted()
		obs.SessionEnded(s.script, time.Millisecond, s.err)
	}
	fams := scrape(t, m)
	assertValues(t, "sessions_total", values(t, fams, "blacklist_agi_sessions_total"), union(
		sessionSeries("blacklist", nil),
		sessionSeries("new", map[string]float64{"ok": 1}),
		sessionSeries(LabelUnknown, map[string]float64{"ok": 2, "no_route": 1}),
		sessionSeries(LabelNone, map[string]float64{"ok": 1, "hangup": 1}),
	))
	if _, ok := histograms(t, fams, "blacklist_agi_session_duration_seconds")["route=old"]; ok {
		t.Error("session_duration_seconds{route=old} is still exported")
	}
}

func TestSessionObserverDoesNotAllocate(t *testing.T) {
	m := New()
	m.SetRoutes([]string{"blacklist"})
	obs := m.AGIObserver()
	hangup := fmt.Errorf("agi: %q: %w", "EXEC", agi.ErrHangup)
	for _, f := range []struct {
		name string
		f    func()
	}{
		{"SessionStarted", obs.SessionStarted},
		{"SessionEnded ok", func() { obs.SessionEnded("blacklist", time.Millisecond, nil) }},
		{"SessionEnded hangup", func() { obs.SessionEnded("blacklist", time.Millisecond, hangup) }},
		{"SessionEnded unknown script", func() { obs.SessionEnded("elsewhere", time.Millisecond, nil) }},
		{"SessionRefused", obs.SessionRefused},
	} {
		if n := testing.AllocsPerRun(100, f.f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", f.name, n)
		}
	}
}
