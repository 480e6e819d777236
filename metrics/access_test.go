package metrics

import (
	"context"
	"net/netip"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/agi"
)

// Connections from outside agi.Server.AllowedNetworks are counted, and are
// not sessions.
func TestConnectionsDenied(t *testing.T) {
	m := New()
	m.SetRoutes([]string{"blacklist"})
	if _, ok := m.AGIObserver().(agi.DenyObserver); !ok {
		t.Fatal("AGIObserver() is not an agi.DenyObserver")
	}
	if got := values(t, scrape(t, m), "blacklist_agi_connections_denied_total")[""]; got != 0 {
		t.Errorf("connections_denied_total = %v before any connection, want 0", got)
	}
	mux := agi.NewServeMux()
	mux.HandleFunc("blacklist", func(ctx context.Context, s *agi.Session) error {
		return s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
	})
	tests := []struct {
		allowed string
		denied  float64 // the counters after one more connection
		ok      float64
	}{
		{"192.0.2.0/24", 1, 0},
		{"10.0.0.0/8", 2, 0},
		{"127.0.0.0/8", 2, 1},
	}
	for _, tt := range tests {
		addr, shutdown := serve(t, &agi.Server{
			Handler:         mux,
			Observer:        m.AGIObserver(),
			AllowedNetworks: []netip.Prefix{netip.MustParsePrefix(tt.allowed)},
		})
		a := dial(t, addr)
		if tt.allowed == "127.0.0.0/8" {
			a.send(env("blacklist"))
			a.expect("SET VARIABLE BLACKLIST_STATUS ALLOWED\n")
			a.send("200 result=1\n")
		}
		a.expectClosed()
		shutdown()
		fams := scrape(t, m)
		if got := values(t, fams, "blacklist_agi_connections_denied_total")[""]; got != tt.denied {
			t.Errorf("allowed %s: connections_denied_total = %v, want %v", tt.allowed, got, tt.denied)
		}
		if got := values(t, fams, "blacklist_agi_sessions_total")["outcome=ok,route=blacklist"]; got != tt.ok {
			t.Errorf("allowed %s: sessions_total{ok} = %v, want %v", tt.allowed, got, tt.ok)
		}
	}
	if got := values(t, scrape(t, m), "blacklist_agi_sessions_total")["outcome=hangup,route=_none"]; got != 0 {
		t.Errorf("denied connections counted as sessions: hangup = %v", got)
	}
}

func TestConnectionDeniedDoesNotAllocate(t *testing.T) {
	obs := New().AGIObserver().(agi.DenyObserver)
	if n := testing.AllocsPerRun(100, func() { obs.ConnectionDenied(nil) }); n != 0 {
		t.Errorf("ConnectionDenied: %v allocations, want 0", n)
	}
}
