package config

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Admin configures the admin HTTP listener: Prometheus /metrics, the
// /healthz and /readyz probes and the JSON API.
//
// Any bind address other than a loopback one requires at least one token.
// Clients send a token as "Authorization: Bearer <token>"; ReadTokens may
// only read (GET, HEAD), WriteTokens may read and write. When both lists are
// empty (which Validate allows on a loopback listener only), requests need
// no token.
type Admin struct {
	// Listen is host:port; "" disables the admin listener. An empty host
	// means all interfaces; port 0 picks a free port.
	Listen string `mapstructure:"listen" yaml:"listen"`
	// ReadTokens are bearer tokens that may read. Secret: errors and
	// RedactedYAML never show them.
	ReadTokens []string `mapstructure:"read_tokens" yaml:"read_tokens"`
	// WriteTokens are bearer tokens that may read and write. Secret.
	WriteTokens []string `mapstructure:"write_tokens" yaml:"write_tokens"`
	// MaxBodyBytes is the largest JSON request body, MinAdminBodyBytes to
	// MaxAdminBodyBytes.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes" yaml:"max_body_bytes"`
	// MaxUploadBytes is the largest import upload, MinAdminUploadBytes to
	// MaxAdminUploadBytes.
	MaxUploadBytes int64 `mapstructure:"max_upload_bytes" yaml:"max_upload_bytes"`
	// RequestTimeout bounds each request that is not a stream (everything
	// but import uploads and exports, which last as long as their data
	// keeps flowing), MinAdminRequestTimeout to MaxAdminRequestTimeout.
	RequestTimeout time.Duration `mapstructure:"request_timeout" yaml:"request_timeout"`
	// Pprof serves Go's runtime profiles under /debug/pprof/ to read
	// tokens, for profiling the server under load. Off by default.
	Pprof bool `mapstructure:"pprof" yaml:"pprof"`
}

// Loopback reports whether Listen binds to a loopback address only:
// a host in 127.0.0.0/8, ::1 or "localhost". It is false for an empty host
// (all interfaces) and for a disabled listener (Listen "").
func (a Admin) Loopback() bool {
	host, _, err := net.SplitHostPort(a.Listen)
	if err != nil || host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Enabled reports whether the admin listener is on (Listen is not "").
func (a Admin) Enabled() bool { return a.Listen != "" }

// Monitoring configures the figures kept in Redis about blocked calls.
type Monitoring struct {
	// StreamMaxLen is about how many entries the blocked-call log (a Redis
	// stream, trimmed approximately) keeps, MinStreamMaxLen to
	// MaxStreamMaxLen.
	StreamMaxLen int64 `mapstructure:"stream_max_len" yaml:"stream_max_len"`
	// Instance is this server's name in the blocked-call log and the
	// statistics; "" means the host name (see InstanceName).
	Instance string `mapstructure:"instance" yaml:"instance"`
	// StatsRetention is how long hourly counters are kept,
	// MinStatsRetention to MaxStatsRetention.
	StatsRetention time.Duration `mapstructure:"stats_retention" yaml:"stats_retention"`
}

// InstanceName returns Instance or, when it is "", the host name
// (os.Hostname); "unknown" if the host name cannot be read.
func (m Monitoring) InstanceName() string {
	if m.Instance != "" {
		return m.Instance
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "unknown"
}

// Bounds of the admin: and monitoring: settings, checked by Validate.
const (
	MinAdminBodyBytes      = 1 << 10          // smallest admin.max_body_bytes (1 KiB)
	MaxAdminBodyBytes      = 64 << 20         // largest admin.max_body_bytes (64 MiB)
	MinAdminUploadBytes    = 1 << 20          // smallest admin.max_upload_bytes (1 MiB)
	MaxAdminUploadBytes    = 64 << 30         // largest admin.max_upload_bytes (64 GiB)
	MinAdminRequestTimeout = time.Second      // shortest admin.request_timeout
	MaxAdminRequestTimeout = 10 * time.Minute // longest admin.request_timeout
	MinAdminTokenLength    = 16               // shortest admin token, in characters
	MaxAdminTokenLength    = 4096             // longest admin token, in characters

	MinStreamMaxLen   = 1000        // smallest monitoring.stream_max_len
	MaxStreamMaxLen   = 100_000_000 // largest monitoring.stream_max_len
	MaxInstanceLength = 253         // longest monitoring.instance (a DNS name)
	MinStatsRetention = day         // shortest monitoring.stats_retention
	MaxStatsRetention = 400 * day   // longest monitoring.stats_retention
)

// redacted replaces a secret in errors and in RedactedYAML.
const redacted = "<redacted>"

// secretKey reports whether the value at key (in *Error notation, with or
// without an index) is a secret that must never be printed.
func secretKey(key string) bool {
	base, _, _ := strings.Cut(key, "[")
	switch base {
	case "redis.password", "redis.sentinel_password", "admin.read_tokens", "admin.write_tokens":
		return true
	}
	return false
}

// validateAdmin checks c.Admin and c.Monitoring.
func (c *Config) validateAdmin(p *problems) {
	a := c.Admin
	if a.Listen != "" {
		switch {
		case !validHostPort(a.Listen, true, 0):
			p.invalid("admin.listen", a.Listen, `must be "" (off) or host:port, such as "127.0.0.1:9573"`)
		case !a.Loopback() && len(a.ReadTokens)+len(a.WriteTokens) == 0:
			p.invalid("admin.listen", a.Listen, "is not a loopback address (127.0.0.1, ::1, localhost), so it needs a token: "+
				"set admin.read_tokens/write_tokens or BLACKLIST_ADMIN_WRITE_TOKENS (BLACKLIST_ADMIN_READ_TOKENS), or listen on 127.0.0.1")
		}
	}
	seen := make(map[string]string) // token -> key of its first occurrence
	for _, list := range []struct {
		key    string
		tokens []string
	}{{"admin.read_tokens", a.ReadTokens}, {"admin.write_tokens", a.WriteTokens}} {
		for i, tok := range list.tokens {
			key := list.key + "[" + strconv.Itoa(i) + "]"
			if problem := tokenProblem(tok); problem != "" {
				p.invalid(key, redacted, problem)
				continue
			}
			if first, dup := seen[tok]; dup {
				p.invalid(key, redacted, "same token as "+first+"; each token must be different")
				continue
			}
			seen[tok] = key
		}
	}
	intRange(p, "admin.max_body_bytes", a.MaxBodyBytes, MinAdminBodyBytes, MaxAdminBodyBytes)
	intRange(p, "admin.max_upload_bytes", a.MaxUploadBytes, MinAdminUploadBytes, MaxAdminUploadBytes)
	durationRange(p, "admin.request_timeout", a.RequestTimeout, MinAdminRequestTimeout, MaxAdminRequestTimeout)

	m := c.Monitoring
	intRange(p, "monitoring.stream_max_len", m.StreamMaxLen, MinStreamMaxLen, MaxStreamMaxLen)
	if m.Instance != "" && !validInstance(m.Instance) {
		p.invalid("monitoring.instance", m.Instance, fmt.Sprintf(
			`must be "" (the host name) or 1 to %d of A-Z a-z 0-9 _ . - starting with a letter or digit`, MaxInstanceLength))
	}
	durationRange(p, "monitoring.stats_retention", m.StatsRetention, MinStatsRetention, MaxStatsRetention)
}

// tokenProblem says what is wrong with an admin token, "" if nothing. The
// message never quotes the token.
func tokenProblem(tok string) string {
	if len(tok) < MinAdminTokenLength || len(tok) > MaxAdminTokenLength {
		return fmt.Sprintf("a token must be %d to %d characters long (this one has %d)", MinAdminTokenLength, MaxAdminTokenLength, len(tok))
	}
	for i := 0; i < len(tok); i++ {
		if b := tok[i]; b <= ' ' || b >= 0x7f || b == ',' {
			return fmt.Sprintf("a token must be printable ASCII without spaces or commas (character %d is not)", i+1)
		}
	}
	return ""
}

// validInstance reports whether s is a valid monitoring.instance: like a
// name (ValidName) but as long as a DNS host name may be.
func validInstance(s string) bool {
	if len(s) == 0 || len(s) > MaxInstanceLength || !isAlnum(s[0]) {
		return false
	}
	return allIn(s, nameChars)
}
