package agi

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// sessionFor returns a Session built from an environment block, without a
// connection.
func sessionFor(t *testing.T, env string) *Session {
	t.Helper()
	s := newTestSession(strings.NewReader(env), DefaultMaxLineBytes)
	if err := s.readEnv(DefaultMaxEnvLines); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestServeMuxRouting(t *testing.T) {
	mux := NewServeMux()
	route := func(name string) HandlerFunc {
		return func(context.Context, *Session) error { return errors.New("routed to " + name) }
	}
	mux.Handle("blacklist", route("blacklist"))
	mux.Handle("/other", route("other"))
	mux.HandleFunc("deep/path", route("deep/path"))

	tests := []struct {
		name string
		env  string
		want string // the route, or "" for ErrNoHandler
	}{
		{"network script with query", "agi_network: yes\nagi_network_script: blacklist?campaign=promo&x=1\nagi_request: agi://h:4573/blacklist?campaign=promo&x=1\n\n", "blacklist"},
		{"registered with a slash", "agi_network: yes\nagi_network_script: other\n\n", "other"},
		{"nested path", "agi_network: yes\nagi_network_script: deep/path?q\n\n", "deep/path"},
		{"agi request only", "agi_network: yes\nagi_request: agi://127.0.0.1:4573/blacklist?x=1\n\n", "blacklist"},
		{"hagi request", "agi_network: yes\nagi_request: hagi://agi.example.com/other?x=1\n\n", "other"},
		{"leading slash in script", "agi_network: yes\nagi_network_script: /blacklist\n\n", "blacklist"},
		{"unknown", "agi_network: yes\nagi_network_script: nope?blacklist\n\n", ""},
		{"prefix only", "agi_network: yes\nagi_network_script: blacklist/sub\n\n", ""},
		{"no path", "agi_network: yes\nagi_request: agi://127.0.0.1:4573\n\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sessionFor(t, tt.env)
			err := mux.ServeAGI(context.Background(), s)
			if tt.want == "" {
				if !errors.Is(err, ErrNoHandler) || !strings.Contains(err.Error(), `"`+s.Request().Script+`"`) {
					t.Errorf("err = %v, want ErrNoHandler naming %q", err, s.Request().Script)
				}
				return
			}
			if err == nil || err.Error() != "routed to "+tt.want {
				t.Errorf("err = %v, want routed to %s", err, tt.want)
			}
		})
	}
	if mux.Handler("/blacklist") == nil || mux.Handler("missing") != nil {
		t.Error("Handler lookup is wrong")
	}
}

func TestServeMuxPanics(t *testing.T) {
	h := HandlerFunc(func(context.Context, *Session) error { return nil })
	tests := []struct {
		name string
		reg  func(m *ServeMux)
	}{
		{"empty", func(m *ServeMux) { m.Handle("", h) }},
		{"slash only", func(m *ServeMux) { m.Handle("/", h) }},
		{"query", func(m *ServeMux) { m.Handle("blacklist?x=1", h) }},
		{"nil handler", func(m *ServeMux) { m.Handle("a", nil) }},
		{"nil func", func(m *ServeMux) { m.HandleFunc("a", nil) }},
		{"duplicate", func(m *ServeMux) { m.Handle("a", h); m.Handle("/a", h) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			var m ServeMux
			tt.reg(&m)
		})
	}
}

// TestServeMuxOverTCP routes a real session.
func TestServeMuxOverTCP(t *testing.T) {
	mux := NewServeMux()
	mux.HandleFunc("blacklist", func(ctx context.Context, s *Session) error {
		return s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
	})
	f, done := serveOne(t, &Server{}, mux.ServeAGI)
	f.send(testEnv)
	f.expect("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
	f.send("200 result=1\n")
	f.expectClosed()
	if err := receive(t, done, "ServeConn"); err != nil {
		t.Fatal(err)
	}

	f, done = serveOne(t, &Server{}, mux.ServeAGI)
	f.send(strings.ReplaceAll(testEnv, "blacklist?", "unknown?"))
	f.send("") // nothing is written to Asterisk for an unknown script
	f.expectClosed()
	if err := receive(t, done, "ServeConn"); !errors.Is(err, ErrNoHandler) {
		t.Errorf("err = %v, want ErrNoHandler", err)
	}
}
