// Package blacklist keeps blacklists in Redis, checks a number against
// several of them in one round trip, and manages them: adds and removals
// with metadata, expiry, an audit log, events, and removal from a dialer's
// queue (Store).
//
// The key names are an interface for people: supervisors maintain the lists
// with redis-cli. With the default prefix:
//
//	SADD blacklist:campaign:{vendas-sp} 5511987654321    a campaign's own list
//	SADD blacklist:list:{nao-me-perturbe} 5511987654321  a shared list (opt-outs, spam...)
//	SADD blacklist:list:{spam} 55900*                    every number that starts with 55900
//	SREM blacklist:list:{spam} 55900*
//
// Members are canonical numbers (see package number: 5511987654321),
// extensions verbatim (2001), or prefix entries that end in "*": 55900*
// blocks every number starting with 55900, and 5511987654321* blocks that
// number and every longer one. A lone "*" blocks nothing. The braces are
// Redis Cluster hash tags; campaign ids and list names are restricted
// (ValidName) so that no name can reach another key.
//
// A member added with SADD alone is a full entry. Optional companions of
// the set, under the same hash tag (see MetaKey, ExpiryKey, AuditKey), hold
// each entry's metadata and expiry and the list's audit log. An expiring
// entry blocks until its expiry and never after, whether or not a sweeper
// has removed it yet: the check itself compares the expiry with the clock.
//
// A national-size list of numbers can have the compact layout instead of a
// SET (LayoutCompact; see CompactSplit): with the default prefix, the
// number 5511987654321 of version 1 of the list nao-me-perturbe is
//
//	SADD blacklist:list:{nao-me-perturbe}:v1:551198765 4321
//
// where GET blacklist:list:{nao-me-perturbe}:version names the live version.
//
// There is no cache of entries: an entry added with SADD blocks the very
// next call.
package blacklist

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DefaultPrefix starts every key when Keys.Prefix is empty.
const DefaultPrefix = "blacklist:"

// MaxNameLength is the longest campaign id or list name.
const MaxNameLength = 64

// MaxMemberLength is the longest member Check accepts: far above any phone
// number (15 digits), and it bounds the prefix entries asked per list.
const MaxMemberLength = 64

// ErrInvalidName is matched (errors.Is) by the errors of ValidName and
// Keys.Validate.
var ErrInvalidName = errors.New("invalid name")

// ErrInvalidMember is matched (errors.Is) by the error Check returns for a
// member it cannot look up.
var ErrInvalidMember = errors.New("invalid blacklist member")

// Keys names the Redis keys of the lists.
type Keys struct {
	// Prefix starts every key; empty means DefaultPrefix. It must not hold
	// braces, which would move the Cluster hash tag (see Validate).
	Prefix string
}

func (k Keys) prefix() string {
	if k.Prefix == "" {
		return DefaultPrefix
	}
	return k.Prefix
}

// Validate reports a prefix that would break the key schema: one with a
// brace, which Redis Cluster would take for the hash tag.
func (k Keys) Validate() error {
	if i := strings.IndexAny(k.Prefix, "{}"); i >= 0 {
		return fmt.Errorf("key prefix %q: %w: %q is not allowed", k.Prefix, ErrInvalidName, k.Prefix[i])
	}
	return nil
}

// Campaign returns the key of a campaign's own list, <prefix>campaign:{id}.
// The id must have passed ValidName.
func (k Keys) Campaign(id string) string {
	return k.prefix() + "campaign:{" + id + "}"
}

// Shared returns the key of a shared list, <prefix>list:{name}. The name
// must have passed ValidName.
func (k Keys) Shared(name string) string {
	return k.prefix() + "list:{" + name + "}"
}

// ValidName reports whether s can be a campaign id or a list name: 1 to 64
// ASCII letters, digits, '_', '.' and '-', starting with a letter or a digit.
// Braces, colons, spaces, glob characters and control characters are all
// refused, so that a name can never reach another key. kind names what s is
// in the error, e.g. "campaign id" or "list name".
func ValidName(kind, s string) error {
	if s == "" {
		return fmt.Errorf("%s %q: %w: empty", kind, s, ErrInvalidName)
	}
	if len(s) > MaxNameLength {
		return fmt.Errorf("%s %q: %w: longer than %d characters", kind, s, ErrInvalidName, MaxNameLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || i > 0 && (c == '_' || c == '.' || c == '-') {
			continue
		}
		r, _ := utf8.DecodeRuneInString(s[i:])
		if i == 0 {
			return fmt.Errorf("%s %q: %w: starts with %q; names start with a letter or a digit", kind, s, ErrInvalidName, r)
		}
		return fmt.Errorf("%s %q: %w: %q is not allowed; names hold only letters, digits, '_', '.' and '-'", kind, s, ErrInvalidName, r)
	}
	return nil
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// The layouts of a list.
const (
	// LayoutPlain keeps a list as one Redis SET of entries, the form
	// supervisors edit with redis-cli. The empty string means plain too.
	LayoutPlain = "plain"
	// LayoutCompact keeps a list of numbers (no prefix entries, extensions,
	// metadata or expiry) in small integer sets, about 3 bytes per number
	// instead of about 68: see CompactSplit, BucketKey and VersionKey.
	LayoutCompact = "compact"
)

// ErrInvalidLayout is matched (errors.Is) by the error of ValidLayout, and
// by the errors of the operations given a List with an unknown Layout.
var ErrInvalidLayout = errors.New("invalid list layout")

// ValidLayout reports whether layout names a layout: "", LayoutPlain or
// LayoutCompact.
func ValidLayout(layout string) error {
	switch layout {
	case "", LayoutPlain, LayoutCompact:
		return nil
	}
	return fmt.Errorf("layout %q: %w: want %q or %q", layout, ErrInvalidLayout, LayoutPlain, LayoutCompact)
}

// List is one blacklist: a Redis set, or a compact list of numbers.
type List struct {
	Name     string // the campaign id or the shared list's name, for display and dialplan variables
	Key      string // the Redis key of the set; a compact list's keys all start with it
	Campaign bool   // whether this is a campaign's own list rather than a shared one
	Layout   string // LayoutPlain ("" too) or LayoutCompact
}

// Compact reports whether the list has the compact layout.
func (l List) Compact() bool { return l.Layout == LayoutCompact }

// validList reports a List that no operation can use: no key, or an
// unknown layout.
func validList(l List) error {
	if l.Key == "" {
		return fmt.Errorf("list %q: no Redis key", l.Name)
	}
	if err := ValidLayout(l.Layout); err != nil {
		return fmt.Errorf("list %s: %w", l.Key, err)
	}
	return nil
}

// CampaignList returns the own list of the campaign id, which must have
// passed ValidName. Campaign lists have the plain layout.
func CampaignList(k Keys, id string) List {
	return List{Name: id, Key: k.Campaign(id), Campaign: true}
}

// SharedList returns the shared list called name, which must have passed
// ValidName, with the plain layout.
func SharedList(k Keys, name string) List {
	return List{Name: name, Key: k.Shared(name)}
}

// SharedListLayout returns the shared list called name, which must have
// passed ValidName, with the given layout (see ValidLayout).
func SharedListLayout(k Keys, name, layout string) List {
	l := SharedList(k, name)
	l.Layout = layout
	return l
}
