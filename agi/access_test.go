package agi

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// denyRecorder is an Observer and a DenyObserver.
type denyRecorder struct {
	*recordingObserver
	denied chan net.Addr
}

func (o denyRecorder) ConnectionDenied(remote net.Addr) { o.denied <- remote }

func TestAllowedNetworks(t *testing.T) {
	tests := []struct {
		name    string
		allowed []netip.Prefix
		ok      bool
	}{
		{"no list allows all", nil, true},
		{"empty list allows all", []netip.Prefix{}, true},
		{"loopback network", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, true},
		{"the host itself", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, true},
		{"second prefix matches", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}, true},
		{"other network", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false},
		{"other host", []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}, false},
		{"IPv6 only", []netip.Prefix{netip.MustParsePrefix("::1/128")}, false},
		{"mapped prefix does not match IPv4", []netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.1/128")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := denyRecorder{newRecordingObserver(), make(chan net.Addr, 1)}
			var ran atomic.Bool
			srv := &Server{
				AllowedNetworks: tt.allowed,
				Observer:        obs,
				EnvTimeout:      time.Minute, // a server that waits for the env block fails the test
				Handler: HandlerFunc(func(ctx context.Context, s *Session) error {
					ran.Store(true)
					return s.SetVariable(ctx, "A", "1")
				}),
			}
			f := dialFake(t, startServer(t, srv))
			if !tt.ok {
				// Nothing is sent: the server must close without waiting to read.
				f.expectClosed()
				remote := receive(t, obs.denied, "ConnectionDenied")
				if remote.String() != f.conn.LocalAddr().String() {
					t.Errorf("ConnectionDenied(%v), want the client's address %v", remote, f.conn.LocalAddr())
				}
				if n := srv.DeniedConnections(); n != 1 {
					t.Errorf("DeniedConnections() = %d, want 1", n)
				}
				if ran.Load() || obs.started.Load() != 0 {
					t.Errorf("a denied connection ran a session (handler ran: %v, SessionStarted: %d)", ran.Load(), obs.started.Load())
				}
				return
			}
			f.send(testEnv)
			f.expect("SET VARIABLE A 1\n")
			f.send("200 result=1\n")
			f.expectClosed()
			if n := srv.DeniedConnections(); n != 0 {
				t.Errorf("DeniedConnections() = %d, want 0", n)
			}
		})
	}
}

// A dual-stack listener sees IPv4 clients as IPv4-mapped IPv6 addresses
// (::ffff:127.0.0.1); they must match IPv4 prefixes. IPv6 clients match
// IPv6 prefixes.
func TestAllowedNetworksDualStack(t *testing.T) {
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		l.Close()
	}
	tests := []struct {
		name    string
		dial    string
		allowed string
		ok      bool
	}{
		{"mapped IPv4 allowed", "127.0.0.1", "127.0.0.0/8", true},
		{"mapped IPv4 denied", "127.0.0.1", "10.0.0.0/8", false},
		{"IPv6 allowed", "::1", "::1/128", true},
		{"IPv6 denied", "::1", "127.0.0.0/8", false},
		{"IPv6 denied by another IPv6 network", "::1", "fd00::/8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &Server{
				AllowedNetworks: []netip.Prefix{netip.MustParsePrefix(tt.allowed)},
				Handler:         HandlerFunc(func(ctx context.Context, s *Session) error { return s.SetVariable(ctx, "A", "1") }),
			}
			l, err := net.Listen("tcp", "[::]:0")
			if err != nil {
				t.Skipf("no dual-stack listener: %v", err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(l) }()
			t.Cleanup(func() {
				srv.Close()
				if err := receive(t, served, "Serve"); !errors.Is(err, ErrServerClosed) {
					t.Errorf("Serve = %v", err)
				}
			})
			port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
			f := dialFake(t, net.JoinHostPort(tt.dial, port))
			if tt.ok {
				f.send(testEnv)
				f.expect("SET VARIABLE A 1\n")
				f.send("200 result=1\n")
			}
			f.expectClosed()
			want := uint64(1)
			if tt.ok {
				want = 0
			}
			if n := srv.DeniedConnections(); n != want {
				t.Errorf("DeniedConnections() = %d, want %d", n, want)
			}
		})
	}
}

func TestServeConnDenied(t *testing.T) {
	srv := &Server{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	f, done := serveOne(t, srv, func(context.Context, *Session) error {
		t.Error("handler ran")
		return nil
	})
	if err := receive(t, done, "ServeConn"); !errors.Is(err, ErrConnectionDenied) {
		t.Errorf("ServeConn = %v, want ErrConnectionDenied", err)
	}
	f.expectClosed()
	if n := srv.DeniedConnections(); n != 1 {
		t.Errorf("DeniedConnections() = %d, want 1", n)
	}
}

// otherAddr is a net.Addr that is not a *net.TCPAddr.
type otherAddr string

func (a otherAddr) Network() string { return "other" }
func (a otherAddr) String() string  { return string(a) }

func TestRemoteAddr(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string // "" for no address
	}{
		{&net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 5}, "10.1.2.3"},
		{&net.TCPAddr{IP: net.ParseIP("10.1.2.3").To4(), Port: 5}, "10.1.2.3"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 5}, "10.1.2.3"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 5, Zone: "eth0"}, "fe80::1"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 5}, "2001:db8::1"},
		{&net.TCPAddr{}, ""},
		{otherAddr("[::ffff:192.0.2.7]:4573"), "192.0.2.7"},
		{otherAddr("192.0.2.7:4573"), "192.0.2.7"},
		{otherAddr("not an address"), ""},
		{&net.UnixAddr{Name: "/tmp/agi.sock", Net: "unix"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		got, ok := remoteAddr(tt.addr)
		if gotS := map[bool]string{true: got.String(), false: ""}[ok]; gotS != tt.want {
			t.Errorf("remoteAddr(%v) = %q, %v; want %q", tt.addr, got, ok, tt.want)
		}
	}
}
