package agi

import (
	"net"
	"net/netip"
)

// A DenyObserver is an Observer that also learns of the connections a
// Server closes because they come from outside AllowedNetworks. The server
// checks for it with a type assertion on Observer.
type DenyObserver interface {
	// ConnectionDenied is called, on the goroutine that accepted the
	// connection, after a connection from remote is closed.
	ConnectionDenied(remote net.Addr)
}

// DeniedConnections returns the number of connections closed because their
// remote address is outside AllowedNetworks.
func (srv *Server) DeniedConnections() uint64 { return srv.denied.Load() }

// allowed reports whether c comes from AllowedNetworks. When it does not,
// allowed closes c, counts it and tells the Observer.
func (srv *Server) allowed(c net.Conn) bool {
	if len(srv.AllowedNetworks) == 0 {
		return true
	}
	remote := c.RemoteAddr()
	if addr, ok := remoteAddr(remote); ok {
		for _, p := range srv.AllowedNetworks {
			if p.Contains(addr) {
				return true
			}
		}
	}
	srv.denied.Add(1) // before Close, so that a client that sees the close sees the count
	_ = c.Close()
	srv.logger().Debug("agi: connection denied: not from an allowed network", "remote", remote.String())
	if o, ok := srv.Observer.(DenyObserver); ok {
		o.ConnectionDenied(remote)
	}
	return false
}

// remoteAddr returns the IP address of a, IPv4-mapped IPv6 addresses
// unmapped and any zone dropped; false when a has no IP address (a Unix
// socket), which no prefix contains.
func remoteAddr(a net.Addr) (netip.Addr, bool) {
	var addr netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		addr = a.AddrPort().Addr()
	case nil:
		return netip.Addr{}, false
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, false
		}
		addr = ap.Addr()
	}
	if !addr.IsValid() {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}
