package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Bounds checked by Validate.
const (
	MinTimeout            = time.Millisecond // shortest campaign timeout
	MaxTimeout            = 60 * time.Second // longest campaign timeout
	MaxNameLength         = 64               // list names, campaign ids, reasons
	MaxExtensionMaxLength = 15               // longest extension_max_length (E.164 length)

	MinAuditMaxLen    = 1                      // smallest management.audit_max_len
	MaxAuditMaxLen    = 10_000_000             // largest management.audit_max_len
	MinSweepInterval  = time.Second            // shortest management.sweep_interval
	MaxSweepInterval  = time.Hour              // longest management.sweep_interval
	MaxSweepBatch     = 10_000                 // largest management.sweep_batch (blacklist.MaxSweepBatch)
	MinVersionRefresh = 100 * time.Millisecond // shortest management.version_refresh
	MaxVersionRefresh = 10 * time.Second       // longest management.version_refresh
	MaxContactsKeyLen = 512                    // longest contacts_key, in bytes
)

// Validate checks every setting and returns all problems joined, each an
// *Error naming c.File, the key, the value and what is allowed. Load calls
// it; call it again after changing a Config by hand.
func (c *Config) Validate() error {
	p := &problems{file: c.File}
	if !validHostPort(c.Listen, true, 0) {
		p.invalid("listen", c.Listen, `must be host:port, such as ":4573" or "127.0.0.1:4573"`)
	}
	switch {
	case c.KeyPrefix == "":
		p.invalid("key_prefix", c.KeyPrefix, "must not be empty")
	case strings.ContainsFunc(c.KeyPrefix, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '{' || r == '}' }):
		p.invalid("key_prefix", c.KeyPrefix, "must not contain spaces, control characters or braces")
	}
	if c.CampaignsDir == "" {
		p.invalid("campaigns_dir", c.CampaignsDir, "must not be empty")
	}
	c.validateAllowedNetworks(p)

	r := c.Redis
	if strings.TrimSpace(r.Addr) == "" {
		p.invalid("redis.addr", r.Addr, "must not be empty: host:port, or a comma-separated list of them")
	} else {
		addrs := strings.Split(r.Addr, ",")
		for _, a := range addrs {
			if a = strings.TrimSpace(a); !validHostPort(a, false, 1) {
				msg := "must be host:port (host not empty, port 1-65535), or a comma-separated list of them"
				if len(addrs) > 1 {
					msg = fmt.Sprintf("entry %q is not host:port (host not empty, port 1-65535)", a)
				}
				p.invalid("redis.addr", r.Addr, msg)
				break
			}
		}
		if n := len(r.Addrs()); n > 1 && r.MasterName == "" && !r.Cluster {
			p.invalid("redis.addr", r.Addr, fmt.Sprintf("lists %d addresses: set redis.cluster: true for cluster seed nodes, or redis.master_name for Sentinels", n))
		}
	}
	if r.MasterName != "" && r.Cluster {
		p.invalid("redis.master_name", r.MasterName, "must be empty when redis.cluster is true: Sentinel and Cluster exclude each other")
	}
	if strings.TrimSpace(r.MasterName) != r.MasterName || strings.ContainsFunc(r.MasterName, unicode.IsControl) {
		p.invalid("redis.master_name", r.MasterName, "must not have surrounding spaces or control characters")
	}
	if r.Cluster && r.DB != 0 {
		p.invalid("redis.db", strconv.Itoa(r.DB), "must be 0 when redis.cluster is true: Redis Cluster has only database 0")
	}
	nonNegative(p, "redis.db", r.DB)
	nonNegative(p, "redis.pool_size", r.PoolSize)
	positiveDuration(p, "redis.dial_timeout", r.DialTimeout)
	positiveDuration(p, "redis.read_timeout", r.ReadTimeout)
	positiveDuration(p, "redis.write_timeout", r.WriteTimeout)
	r.TLS.validate(p)

	l := c.Limits
	positive(p, "limits.max_sessions", l.MaxSessions)
	positiveDuration(p, "limits.env_timeout", l.EnvTimeout)
	positiveDuration(p, "limits.command_timeout", l.CommandTimeout)
	positiveDuration(p, "limits.session_timeout", l.SessionTimeout)
	positive(p, "limits.max_line_bytes", l.MaxLineBytes)
	positive(p, "limits.max_env_lines", l.MaxEnvLines)
	positiveDuration(p, "limits.shutdown_timeout", l.ShutdownTimeout)

	oneOf(p, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(p, "log.format", c.Log.Format, "text", "json")

	for _, name := range c.SharedListNames() {
		key := "lists[" + name + "]"
		if !ValidName(name) {
			p.invalid(key, name, nameRule("list name"))
		}
		if reason := c.Lists[name].Reason; !ValidName(reason) {
			p.invalid(key+".reason", reason, nameRule("reason"))
		}
		if layout := c.Lists[name].Layout; layout != "" { // "" is plain, as Compact says
			oneOf(p, key+".layout", layout, LayoutPlain, LayoutCompact)
		}
	}

	m := c.Management
	intRange(p, "management.audit_max_len", m.AuditMaxLen, MinAuditMaxLen, MaxAuditMaxLen)
	durationRange(p, "management.sweep_interval", m.SweepInterval, MinSweepInterval, MaxSweepInterval)
	intRange(p, "management.sweep_batch", m.SweepBatch, 1, MaxSweepBatch)
	durationRange(p, "management.version_refresh", m.VersionRefresh, MinVersionRefresh, MaxVersionRefresh)
	c.validateAdmin(p)
	c.validateSettings(p, "defaults.", c.Defaults)
	return p.err()
}

// validateSettings checks campaign settings s whose keys start with prefix
// ("defaults." in the main file, "" in a campaign file).
func (c *Config) validateSettings(p *problems, prefix string, s CampaignSettings) {
	for i, name := range s.Lists {
		key := prefix + "lists[" + strconv.Itoa(i) + "]"
		if _, ok := c.Lists[name]; !ok {
			p.add(key, name, "not declared under lists: in the main file (declared: "+strings.Join(c.SharedListNames(), ", ")+")", ErrUndeclaredList)
		}
	}
	oneOf(p, prefix+"action", s.Action, ActionHangup, ActionContinue, ActionGoto)
	if s.HangupCause < 1 || s.HangupCause > 127 {
		p.invalid(prefix+"hangup_cause", strconv.Itoa(s.HangupCause), "must be a Q.850 cause from 1 to 127 (21 = call rejected)")
	}
	switch {
	case s.Goto != "":
		if _, problem := parseGoto(s.Goto); problem != "" {
			p.invalid(prefix+"goto", s.Goto, problem)
		}
	case s.Action == ActionGoto:
		p.invalid(prefix+"goto", s.Goto, `required when action is goto: "context,extension,priority"`)
	}
	oneOf(p, prefix+"on_error", s.OnError, OnErrorAllow, OnErrorBlock)
	if s.Timeout < MinTimeout || s.Timeout > MaxTimeout {
		p.invalid(prefix+"timeout", s.Timeout.String(), "must be from 1ms to 60s")
	}

	n := s.Number
	if len(n.CountryCode) < 1 || len(n.CountryCode) > 3 || !allIn(n.CountryCode, "0123456789") {
		p.invalid(prefix+"number.country_code", n.CountryCode, `must be 1 to 3 digits, without "+" (55 for Brazil)`)
	}
	if n.AreaCode != "" && (len(n.AreaCode) != 2 || !allIn(n.AreaCode, "0123456789")) {
		p.invalid(prefix+"number.area_code", n.AreaCode, `must be empty or 2 digits (11 for São Paulo)`)
	}
	for i, sp := range n.StripPrefixes {
		if sp == "" || !allIn(sp, "0123456789*#+") {
			p.invalid(prefix+"number.strip_prefixes["+strconv.Itoa(i)+"]", sp, "must be a non-empty string of 0-9 * # +")
		}
	}
	if n.ExtensionMaxLength < 1 || n.ExtensionMaxLength > MaxExtensionMaxLength {
		p.invalid(prefix+"number.extension_max_length", strconv.Itoa(n.ExtensionMaxLength), fmt.Sprintf("must be from 1 to %d", MaxExtensionMaxLength))
	}
	c.validateRules(p, prefix, s)
}

func positive(p *problems, key string, n int) {
	if n <= 0 {
		p.invalid(key, strconv.Itoa(n), "must be greater than 0")
	}
}

func nonNegative(p *problems, key string, n int) {
	if n < 0 {
		p.invalid(key, strconv.Itoa(n), "must not be negative")
	}
}

func intRange(p *problems, key string, n, lo, hi int64) {
	if n < lo || n > hi {
		p.invalid(key, strconv.FormatInt(n, 10), fmt.Sprintf("must be from %d to %d", lo, hi))
	}
}

func durationRange(p *problems, key string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		p.invalid(key, formatDuration(d), fmt.Sprintf("must be from %s to %s", formatDuration(lo), formatDuration(hi)))
	}
}

// formatDuration writes d the way a user would: 2w, 30d, 1h, 1s, 100ms
// (not 720h0m0s).
func formatDuration(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{week, "w"}, {day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if d >= u.unit && d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return d.String()
}

func positiveDuration(p *problems, key string, d time.Duration) {
	if d <= 0 {
		p.invalid(key, d.String(), "must be a positive duration, such as 500ms or 5s")
	}
}

func oneOf(p *problems, key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	p.invalid(key, value, "must be "+describeSet(allowed...))
}

// allIn reports whether every byte of s is in set.
func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// ValidName reports whether s is a valid list name, campaign id or reason:
// 1 to 64 of A-Z a-z 0-9 _ . - starting with a letter or digit.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLength || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func nameRule(what string) string {
	return fmt.Sprintf("%s must be 1 to %d of A-Z a-z 0-9 _ . - starting with a letter or digit", what, MaxNameLength)
}

// GotoTarget is a dialplan location, as Asterisk's Goto application takes
// it. Empty Context or Extension mean "the current one".
type GotoTarget struct {
	Context, Extension, Priority string
}

// String formats t the way ParseGoto reads it.
func (t GotoTarget) String() string {
	switch {
	case t.Context != "":
		return t.Context + "," + t.Extension + "," + t.Priority
	case t.Extension != "":
		return t.Extension + "," + t.Priority
	}
	return t.Priority
}

// ErrBadGoto is returned (wrapped) by ParseGoto.
var ErrBadGoto = errors.New("invalid goto target")

// ParseGoto parses a goto setting the way Asterisk's Goto reads its
// argument: "context,extension,priority", "extension,priority" (current
// context) or "priority" (current context and extension). The priority is
// a number from 1 or a label (a letter or _ then letters, digits, _ and -).
// Context and extension are made of A-Z a-z 0-9 _ . - and, for the
// extension, also * # +.
func ParseGoto(s string) (GotoTarget, error) {
	t, problem := parseGoto(s)
	if problem != "" {
		return GotoTarget{}, fmt.Errorf("%w %q: %s", ErrBadGoto, s, problem)
	}
	return t, nil
}

// parseGoto is ParseGoto, returning what is wrong as text ("" if nothing).
func parseGoto(s string) (GotoTarget, string) {
	parts := strings.Split(s, ",")
	var t GotoTarget
	switch len(parts) {
	case 1:
		t.Priority = parts[0]
	case 2:
		t.Extension, t.Priority = parts[0], parts[1]
	case 3:
		t.Context, t.Extension, t.Priority = parts[0], parts[1], parts[2]
		if t.Context == "" || !allIn(t.Context, nameChars) {
			return GotoTarget{}, fmt.Sprintf("context %q must be non-empty, of A-Z a-z 0-9 _ . -", t.Context)
		}
	default:
		return GotoTarget{}, "must be context,extension,priority (or extension,priority or priority)"
	}
	if len(parts) >= 2 && (t.Extension == "" || !allIn(t.Extension, nameChars+"*#+")) {
		return GotoTarget{}, fmt.Sprintf("extension %q must be non-empty, of A-Z a-z 0-9 _ . - * # +", t.Extension)
	}
	if !validPriority(t.Priority) {
		return GotoTarget{}, fmt.Sprintf("priority %q must be a number from 1 or a label (a letter or _, then letters, digits, _ -)", t.Priority)
	}
	return t, ""
}

const nameChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

func validPriority(p string) bool {
	if p == "" || len(p) > MaxNameLength {
		return false
	}
	if p[0] >= '0' && p[0] <= '9' {
		n, err := strconv.Atoi(p)
		return err == nil && n >= 1 && p[0] != '0'
	}
	if !(p[0] == '_' || p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z') {
		return false
	}
	return allIn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
}
