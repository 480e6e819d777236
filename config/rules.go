package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The in-call blacklisting rules say what the AGI endpoints optout, spam
// and report add to a list, and for how long. They are campaign settings:
// a campaign file may give any of their fields, and the main file's
// defaults: gives the rest. The automatic rules (NoAnswerRule,
// InvalidRule) are off unless enabled.

// OptOutRule is what the optout endpoint does when the person asks not to
// be called or revokes consent.
type OptOutRule struct {
	// List is where the number goes: "" for the campaign's own list, or a
	// shared list declared under lists:.
	List string `mapstructure:"list" yaml:"list"`
	// Reason is recorded with the entry, a name (see ValidName), such as
	// "opt-out" or "consent-revoked".
	Reason string `mapstructure:"reason" yaml:"reason"`
	// TTL is how long the entry blocks; 0 is for ever.
	TTL time.Duration `mapstructure:"ttl" yaml:"ttl"`
}

// SpamRule is what the spam endpoint does when an agent marks a number as
// spam.
type SpamRule struct {
	// List is "" for the campaign's own list, or a declared shared list.
	List string `mapstructure:"list" yaml:"list"`
	// TTL is how long the entry blocks; 0 is for ever.
	TTL time.Duration `mapstructure:"ttl" yaml:"ttl"`
}

// NoAnswerRule blocks a number that does not answer: when the report
// endpoint has seen Attempts outcomes listed in Statuses within Window, the
// number goes to List for TTL. An answered call resets the count.
type NoAnswerRule struct {
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// Attempts is how many unanswered attempts block the number,
	// MinNoAnswerAttempts to MaxNoAnswerAttempts.
	Attempts int `mapstructure:"attempts" yaml:"attempts"`
	// Window is the sliding window the attempts are counted in,
	// MinNoAnswerWindow to MaxNoAnswerWindow.
	Window time.Duration `mapstructure:"window" yaml:"window"`
	// Statuses are the DIALSTATUS values that count as unanswered: one or
	// more of DialStatusNoAnswer, DialStatusBusy, DialStatusCongestion and
	// DialStatusChanUnavail, each once.
	Statuses []string `mapstructure:"statuses" yaml:"statuses"`
	// List is "" for the campaign's own list, or a declared shared list
	// (not a compact one: the entries expire).
	List string `mapstructure:"list" yaml:"list"`
	// TTL is how long the number stays blocked, MinRuleTTL to
	// MaxNoAnswerTTL (never 0: a number that did not answer is not blocked
	// for ever).
	TTL time.Duration `mapstructure:"ttl" yaml:"ttl"`
}

// InvalidRule blocks a number whose call fails as invalid: when the report
// endpoint sees one of the Q.850 hangup Causes, the number goes to List
// for TTL.
type InvalidRule struct {
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// Causes are the Q.850 causes that mean the number is invalid, 1 to
	// 127 each, at least one, each once (1 is "unallocated number").
	Causes []int `mapstructure:"causes" yaml:"causes"`
	// List is "" for the campaign's own list, or a declared shared list.
	List string `mapstructure:"list" yaml:"list"`
	// TTL is how long the entry blocks; 0 is for ever.
	TTL time.Duration `mapstructure:"ttl" yaml:"ttl"`
}

// Counts reports whether dialStatus, a DIALSTATUS value, is one the rule
// counts as unanswered.
func (r NoAnswerRule) Counts(dialStatus string) bool {
	return slices.Contains(r.Statuses, dialStatus)
}

// Matches reports whether the Q.850 hangup cause is one the rule takes as
// an invalid number.
func (r InvalidRule) Matches(cause int) bool {
	return slices.Contains(r.Causes, cause)
}

// DIALSTATUS values that NoAnswerRule.Statuses may name, as Asterisk's
// Dial sets them.
const (
	DialStatusNoAnswer    = "NOANSWER"    // nobody answered in time
	DialStatusBusy        = "BUSY"        // the line was busy
	DialStatusCongestion  = "CONGESTION"  // the network could not route the call
	DialStatusChanUnavail = "CHANUNAVAIL" // the channel could not be reached
)

// dialStatuses are the values NoAnswerRule.Statuses may hold.
var dialStatuses = []string{DialStatusNoAnswer, DialStatusBusy, DialStatusCongestion, DialStatusChanUnavail}

// Units of the durations written "7d" and "2w".
const (
	day     = 24 * time.Hour
	week    = 7 * day
	maxDays = math.MaxInt64 / int64(day) // most days a time.Duration holds
)

// Bounds of the in-call blacklisting rules, checked by Validate.
const (
	MinNoAnswerAttempts = 2           // fewest no_answer.attempts
	MaxNoAnswerAttempts = 100         // most no_answer.attempts
	MinNoAnswerWindow   = time.Minute // shortest no_answer.window
	MaxNoAnswerWindow   = 30 * day    // longest no_answer.window
	MinRuleTTL          = time.Minute // shortest ttl of any rule, when not 0
	MaxNoAnswerTTL      = 365 * day   // longest no_answer.ttl
	MaxRuleTTL          = 3650 * day  // longest ttl of optout, spam and invalid
)

// parseDuration reads a duration as written in the configuration: a Go
// duration ("300ms", "1h30m") or a whole number of days or weeks ("7d",
// "2w").
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		digits := s[:n-1]
		if !allIn(digits, "0123456789") {
			return 0, false
		}
		k, err := strconv.ParseInt(digits, 10, 64)
		unit := int64(1)
		if s[n-1] == 'w' {
			unit = 7
		}
		if err != nil || k > maxDays/unit {
			return 0, false
		}
		return time.Duration(k*unit) * day, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// durationSyntax says how to write a duration, for error messages.
const durationSyntax = "must be a duration with a unit, such as 300ms, 5s, 1h, 7d or 2w"

// validateRules checks the in-call blacklisting rules of s, whose keys
// start with prefix.
func (c *Config) validateRules(p *problems, prefix string, s CampaignSettings) {
	o := s.OptOut
	c.validateRuleList(p, prefix+"optout", o.List, o.TTL, true)
	if !ValidName(o.Reason) {
		p.invalid(prefix+"optout.reason", o.Reason, nameRule("reason"))
	}
	optionalTTL(p, prefix+"optout.ttl", o.TTL)

	c.validateRuleList(p, prefix+"spam", s.Spam.List, s.Spam.TTL, true)
	optionalTTL(p, prefix+"spam.ttl", s.Spam.TTL)

	n := s.NoAnswer
	intRange(p, prefix+"no_answer.attempts", int64(n.Attempts), MinNoAnswerAttempts, MaxNoAnswerAttempts)
	durationRange(p, prefix+"no_answer.window", n.Window, MinNoAnswerWindow, MaxNoAnswerWindow)
	key := prefix + "no_answer.statuses"
	if len(n.Statuses) == 0 {
		p.errs = append(p.errs, &Error{File: p.file, Key: key, Msg: "must name at least one of " + describeSet(slices.Clone(dialStatuses)...) + "; to count nothing, set no_answer.enabled: false", Err: ErrInvalidValue})
	}
	for i, st := range n.Statuses {
		switch {
		case !slices.Contains(dialStatuses, st):
			p.invalid(key+"["+strconv.Itoa(i)+"]", st, "must be "+describeSet(slices.Clone(dialStatuses)...)+", in upper case as Asterisk sets DIALSTATUS")
		case slices.Contains(n.Statuses[:i], st):
			p.invalid(key+"["+strconv.Itoa(i)+"]", st, "is listed twice")
		}
	}
	c.validateRuleList(p, prefix+"no_answer", n.List, n.TTL, false)
	durationRange(p, prefix+"no_answer.ttl", n.TTL, MinRuleTTL, MaxNoAnswerTTL)

	v := s.Invalid
	key = prefix + "invalid.causes"
	if len(v.Causes) == 0 {
		p.errs = append(p.errs, &Error{File: p.file, Key: key, Msg: "must name at least one Q.850 cause (1 = unallocated number); to match nothing, set invalid.enabled: false", Err: ErrInvalidValue})
	}
	for i, cause := range v.Causes {
		switch {
		case cause < 1 || cause > 127:
			p.invalid(key+"["+strconv.Itoa(i)+"]", strconv.Itoa(cause), "must be a Q.850 cause from 1 to 127 (1 = unallocated number)")
		case slices.Contains(v.Causes[:i], cause):
			p.invalid(key+"["+strconv.Itoa(i)+"]", strconv.Itoa(cause), "is listed twice")
		}
	}
	c.validateRuleList(p, prefix+"invalid", v.List, v.TTL, true)
	optionalTTL(p, prefix+"invalid.ttl", v.TTL)
}

// validateRuleList checks the list of the rule at key: "" (the campaign's
// own list) or a declared shared list, which cannot be compact when the
// entries expire. ttlOptional says whether ttl may be 0.
func (c *Config) validateRuleList(p *problems, key, list string, ttl time.Duration, ttlOptional bool) {
	if list == "" {
		return
	}
	key += ".list"
	l, ok := c.Lists[list]
	if !ok {
		p.add(key, list, `not declared under lists: in the main file (declared: `+strings.Join(c.SharedListNames(), ", ")+`); "" is the campaign's own list`, ErrUndeclaredList)
		return
	}
	if l.Compact() && ttl > 0 {
		hint := `name a plain list, or "" for the campaign's own list`
		if ttlOptional {
			hint += ", or set ttl: 0"
		}
		p.invalid(key, list, fmt.Sprintf("is a compact list, which holds permanent entries only, so it cannot take entries with ttl %s: %s", formatDuration(ttl), hint))
	}
}

// optionalTTL checks the ttl of a rule where 0 means for ever.
func optionalTTL(p *problems, key string, ttl time.Duration) {
	if ttl != 0 && (ttl < MinRuleTTL || ttl > MaxRuleTTL) {
		p.invalid(key, formatDuration(ttl), fmt.Sprintf("must be 0 (for ever) or from %s to %s", formatDuration(MinRuleTTL), formatDuration(MaxRuleTTL)))
	}
}
