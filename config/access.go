package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// RedisTLS configures TLS on the connections to Redis. The files are read
// and parsed when the configuration is loaded, so a missing or bad file is
// a configuration error, not a failure at the first call. Load resolves
// relative paths against the main file's folder, as it does campaigns_dir.
type RedisTLS struct {
	// Enabled turns TLS on. The other settings need it.
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// CAFile is a PEM file of the certificate authorities that sign the
	// Redis server's certificate; "" means the system's roots.
	CAFile string `mapstructure:"ca_file" yaml:"ca_file"`
	// CertFile and KeyFile are the PEM client certificate and its key, for
	// a Redis that checks clients (tls-auth-clients yes). Both or neither.
	CertFile string `mapstructure:"cert_file" yaml:"cert_file"`
	KeyFile  string `mapstructure:"key_file" yaml:"key_file"`
	// ServerName is the name checked in the server's certificate; "" means
	// the host of each address dialed.
	ServerName string `mapstructure:"server_name" yaml:"server_name"`
	// InsecureSkipVerify accepts any server certificate: encryption
	// without authentication of the server, for tests only.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify" yaml:"insecure_skip_verify"`
}

// ClientConfig returns the TLS configuration for the Redis client, nil when
// TLS is not enabled. It reads the files; Load has already checked them.
func (t RedisTLS) ClientConfig() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // the user's explicit choice, documented as for tests
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, &Error{Key: "redis.tls.ca_file", Value: t.CAFile, Msg: "cannot be read: " + err.Error(), Err: err, hasValue: true}
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &Error{Key: "redis.tls.ca_file", Value: t.CAFile, Msg: "has no PEM certificate", Err: ErrInvalidValue, hasValue: true}
		}
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, &Error{Key: "redis.tls.cert_file", Value: t.CertFile,
				Msg: fmt.Sprintf("cannot be loaded with key file %q: %v", t.KeyFile, err), Err: ErrInvalidValue, hasValue: true}
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// validate checks the TLS settings and their files.
func (t RedisTLS) validate(p *problems) {
	if !t.Enabled {
		for _, f := range []struct{ key, value string }{
			{"redis.tls.ca_file", t.CAFile},
			{"redis.tls.cert_file", t.CertFile},
			{"redis.tls.key_file", t.KeyFile},
			{"redis.tls.server_name", t.ServerName},
		} {
			if f.value != "" {
				p.invalid(f.key, f.value, "is set but redis.tls.enabled is false: set it to true, or leave this empty")
			}
		}
		if t.InsecureSkipVerify {
			p.invalid("redis.tls.insecure_skip_verify", "true", "is set but redis.tls.enabled is false")
		}
		return
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		if t.CertFile == "" {
			p.invalid("redis.tls.cert_file", "", "is needed with redis.tls.key_file: a client certificate needs both")
		} else {
			p.invalid("redis.tls.key_file", "", "is needed with redis.tls.cert_file: a client certificate needs both")
		}
		t.CertFile, t.KeyFile = "", ""
	}
	if strings.ContainsFunc(t.ServerName, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		p.invalid("redis.tls.server_name", t.ServerName, "must not contain spaces or control characters")
	}
	if _, err := t.ClientConfig(); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.File = p.file
			p.errs = append(p.errs, e)
		} else {
			p.invalid("redis.tls", "", err.Error())
		}
	}
}

// ParseNetwork parses one allowed_networks entry: a CIDR prefix
// ("10.0.0.0/8", "2001:db8::/32") or a single address ("192.0.2.10", which
// means /32; "2001:db8::1", /128). Host bits must be zero, IPv4 addresses
// are written as IPv4 (not ::ffff:10.0.0.0), and zones are not allowed.
func ParseNetwork(s string) (netip.Prefix, error) {
	p, problem := parseNetwork(s)
	if problem != "" {
		return netip.Prefix{}, fmt.Errorf("%w: network %q: %s", ErrInvalidValue, s, problem)
	}
	return p, nil
}

// parseNetwork is ParseNetwork, returning what is wrong as text ("" if
// nothing).
func parseNetwork(s string) (netip.Prefix, string) {
	const want = `must be a network in CIDR notation ("10.0.0.0/8", "2001:db8::/32") or an IP address ("192.0.2.10")`
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, want
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, want + ", without a zone"
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, "write IPv4 networks as IPv4 (10.0.0.0/8), not as IPv4-mapped IPv6: clients are matched by their IPv4 address"
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Sprintf("has bits set after the /%d prefix: did you mean %s?", p.Bits(), m)
	}
	return p, ""
}

// validateAllowedNetworks checks every entry of c.AllowedNetworks.
func (c *Config) validateAllowedNetworks(p *problems) {
	for i, s := range c.AllowedNetworks {
		if _, problem := parseNetwork(s); problem != "" {
			p.invalid("allowed_networks["+strconv.Itoa(i)+"]", s, problem)
		}
	}
}

// AllowedPrefixes returns AllowedNetworks parsed, nil when it is empty
// (every client allowed). Entries that do not parse are left out; Load
// rejects them.
func (c *Config) AllowedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.AllowedNetworks {
		if p, problem := parseNetwork(s); problem == "" {
			out = append(out, p)
		}
	}
	return out
}
