// Package blacklist keeps blacklists as Redis sets and checks a number
// against several of them in one round trip.
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
// There is no cache: a member added with SADD blocks the very next call.
package blacklist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
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

// List is one blacklist: a Redis set.
type List struct {
	Name     string // the campaign id or the shared list's name, for display and dialplan variables
	Key      string // the Redis key of the set
	Campaign bool   // whether this is a campaign's own list rather than a shared one
}

// CampaignList returns the own list of the campaign id, which must have
// passed ValidName.
func CampaignList(k Keys, id string) List {
	return List{Name: id, Key: k.Campaign(id), Campaign: true}
}

// SharedList returns the shared list called name, which must have passed
// ValidName.
func SharedList(k Keys, name string) List {
	return List{Name: name, Key: k.Shared(name)}
}

// Match says why a member is blocked.
type Match struct {
	List  List   // the list that holds the entry
	Entry string // the member of that list that matched: "5511987654321", or a prefix entry such as "55119*"
}

// Checker checks members against lists. It is safe for concurrent use.
type Checker struct {
	rdb redis.UniversalClient
}

// NewChecker returns a Checker that asks rdb, a single node client now or a
// Cluster client later.
//
// Check's context is the time budget of the call. go-redis applies a
// context's deadline to network reads and writes only when the client's
// Options.ContextTimeoutEnabled is true (otherwise its ReadTimeout, 3 s by
// default, bounds a stalled Redis); and with its default retries
// (MaxRetries 3, DialerRetries 5) an unreachable Redis costs the whole budget
// instead of failing at once: MaxRetries -1 and DialerRetries 1 make a
// refused connection an error within a millisecond.
func NewChecker(rdb redis.UniversalClient) *Checker {
	return &Checker{rdb: rdb}
}

// Check reports whether member, or a prefix entry of it, is in one of lists.
//
// It asks Redis about every list in one round trip: a pipeline of one
// SMISMEMBER per list, each asking for the member itself and for every
// prefix entry of it (member[:i]+"*" for i from len(member) down to 1). The
// first list in the given order that holds the member or one of its prefix
// entries wins; within that list the member itself wins, then the longest
// prefix entry. ok is false when the member is allowed; no lists means
// allowed, without asking Redis.
//
// An error means that the member could not be checked: the context ran out
// (errors.Is context.DeadlineExceeded, or a net.Error timeout), Redis could
// not be reached or answered with an error (a key that is not a set), or the
// member is empty, longer than MaxMemberLength or holds a "*"
// (ErrInvalidMember).
func (c *Checker) Check(ctx context.Context, member string, lists []List) (m Match, ok bool, err error) {
	if err := validMember(member); err != nil {
		return Match{}, false, err
	}
	if len(lists) == 0 {
		return Match{}, false, nil
	}
	entries := candidates(member)

	// The entries are boxed once and shared by every list's arguments; all
	// the arguments live in one slice.
	boxed := make([]any, len(entries))
	for i, e := range entries {
		boxed[i] = e
	}
	perList := 2 + len(entries)
	args := make([]any, len(lists)*perList)
	cmds := make([]redis.Cmder, len(lists))
	for i, l := range lists {
		a := args[i*perList : (i+1)*perList : (i+1)*perList]
		a[0] = "smismember"
		a[1] = l.Key
		copy(a[2:], boxed)
		cmds[i] = redis.NewBoolSliceCmd(ctx, a...)
	}
	pipe := c.rdb.Pipeline()
	if err := pipe.BatchProcess(ctx, cmds...); err != nil {
		return Match{}, false, fmt.Errorf("blacklist: checking %q: %w", member, err)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		// A reply error belongs to one key (WRONGTYPE: not a set); any
		// other error (network, context) to the whole round trip.
		var reply redis.Error
		for i, cmd := range cmds {
			if errors.As(cmd.Err(), &reply) {
				return Match{}, false, fmt.Errorf("blacklist: checking %q in %s: %w", member, lists[i].Key, cmd.Err())
			}
		}
		return Match{}, false, fmt.Errorf("blacklist: checking %q in %d lists: %w", member, len(lists), err)
	}
	for i, cmd := range cmds {
		found := cmd.(*redis.BoolSliceCmd).Val()
		if len(found) != len(entries) {
			return Match{}, false, fmt.Errorf("blacklist: checking %q in %s: %d answers to %d questions",
				member, lists[i].Key, len(found), len(entries))
		}
		for j, in := range found {
			if in {
				return Match{List: lists[i], Entry: entries[j]}, true, nil
			}
		}
	}
	return Match{}, false, nil
}

func validMember(member string) error {
	switch {
	case member == "":
		return fmt.Errorf("blacklist member %q: %w: empty", member, ErrInvalidMember)
	case len(member) > MaxMemberLength:
		return fmt.Errorf("blacklist member %q: %w: longer than %d bytes", member, ErrInvalidMember, MaxMemberLength)
	case strings.IndexByte(member, '*') >= 0:
		return fmt.Errorf("blacklist member %q: %w: '*' marks prefix entries and cannot be checked", member, ErrInvalidMember)
	}
	return nil
}

// candidates returns the entries that block member, best first: member
// itself, then its prefix entries from the longest (member+"*") to the
// shortest (member[:1]+"*"). The prefix entries share one allocation.
func candidates(member string) []string {
	n := len(member)
	var b strings.Builder
	b.Grow(n*(n+1)/2 + n) // n prefixes of 1..n bytes, each with a '*'
	for i := n; i >= 1; i-- {
		b.WriteString(member[:i])
		b.WriteByte('*')
	}
	all := b.String()
	entries := make([]string, 0, n+1)
	entries = append(entries, member)
	for i, off := n, 0; i >= 1; i-- {
		entries = append(entries, all[off:off+i+1])
		off += i + 1
	}
	return entries
}
