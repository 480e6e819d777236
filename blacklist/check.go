package blacklist

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrListReplaced is matched (errors.Is) by the error of a read of a
// compact list (a check, a scan, a lookup) that kept meeting it in the
// middle of a replacement (its live version changed under it); trying
// again is safe.
var ErrListReplaced = errors.New("compact list replaced during the operation")

// Match says why a member is blocked.
type Match struct {
	List  List   // the list that holds the entry
	Entry string // the member of that list that matched: "5511987654321", or a prefix entry such as "55119*"
	// Meta is what the list's metadata hash holds about the entry (nothing
	// for an entry added with SADD alone, or in a compact list). Its
	// ExpiresAt is the expiry that the check enforced: the entry's score in
	// the expiry index, zero when it has none.
	Meta Meta
}

// BatchResult is the verdict on one member of a CheckBatch.
type BatchResult struct {
	Match        // why the member is blocked, when Blocked
	Blocked bool // whether the member is blocked
	// Err is why the member could not be checked (ErrInvalidMember); the
	// other members of the batch were checked all the same.
	Err error
}

// Checker checks members against lists. It is safe for concurrent use.
type Checker struct {
	rdb redis.UniversalClient

	// Now returns the time against which expiries are compared; nil means
	// time.Now. Set it before the first check (tests do).
	Now func() time.Time

	// versions caches the live version of each compact list checked, by
	// key: a copy-on-write map, read without a lock on every check.
	versions   atomic.Pointer[map[string]*compactVersion]
	versionsMu sync.Mutex // serializes the writers of versions
}

// compactVersion holds the live version of one compact list, as last seen.
type compactVersion struct {
	key string                 // VersionKey of the list
	ver atomic.Pointer[string] // nil: not known yet; "": the list has no version (it is empty)
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

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Check reports whether member, or a prefix entry of it, blocks it in one
// of lists.
//
// It asks Redis about every list in one round trip, a pipeline of:
//
//   - for a plain list, one SMISMEMBER asking for the member itself and for
//     every prefix entry of it (member[:i]+"*" for i from len(member) down
//     to 1), the ZMSCORE of the same entries in the list's expiry index and
//     their HMGET in its metadata hash;
//   - for a compact list, the SISMEMBER of the member in its bucket of the
//     live version, and a GET of the version key, which proves that the
//     version asked was still the live one (see RefreshVersions).
//
// An entry blocks when the set holds it and it has no expiry or its expiry
// is after Now: an expired exact entry does not block, while a live prefix
// entry of the same number still does. The first list in the given order
// that holds a blocking entry wins; within that list the member itself
// wins, then the longest prefix entry. ok is false when the member is
// allowed; no lists means allowed, without asking Redis. A compact list
// holds only numbers of more than CompactDigits digits: it never blocks an
// extension.
//
// Two cases cost a round trip more: the first check of a compact list whose
// version the Checker does not know yet (one pipeline of GETs first), and a
// check that finds a compact list's version changed by a replacement (it is
// asked again with the new version, at most three times in all).
//
// An error means that the member could not be checked: the context ran out
// (errors.Is context.DeadlineExceeded, or a net.Error timeout), Redis could
// not be reached or answered with an error (a key of the wrong type), a list
// has an unknown layout (ErrInvalidLayout), or the member is empty, longer
// than MaxMemberLength or holds a "*" (ErrInvalidMember).
func (c *Checker) Check(ctx context.Context, member string, lists []List) (m Match, ok bool, err error) {
	if err := validMember(member); err != nil {
		return Match{}, false, err
	}
	if len(lists) == 0 {
		return Match{}, false, nil
	}
	var result [1]BatchResult
	members := [1]string{member}
	if err := c.run(ctx, members[:], nil, lists, result[:], true); err != nil {
		return Match{}, false, err
	}
	return result[0].Match, result[0].Blocked, nil
}

// CheckBatch checks many members against lists with exactly the semantics
// of Check, and returns one result per member, in order. A member that
// cannot be checked gets its own Err; the error returned is for the whole
// batch (Redis, the context, a list).
//
// It is made for throughput rather than latency: one pipeline asks the
// membership of every candidate entry of every member, and a second one,
// only when some were found in plain lists, the expiry and metadata of
// those found, which makes the work a third of Check's per member. The
// entries asked of a list are split in commands of about a thousand, so
// that a large batch never holds Redis for more than some tens of
// microseconds at a time: live checks from other clients go in between.
// The cost is a few allocations per command, none per entry; a thousand
// members is a good batch. It is safe to call concurrently.
func (c *Checker) CheckBatch(ctx context.Context, members []string, lists []List) ([]BatchResult, error) {
	results := make([]BatchResult, len(members))
	valid := make([]string, 0, len(members))
	var idx []int // idx[i] is the position in members of valid[i]; nil while they are the same
	for i, m := range members {
		if err := validMember(m); err != nil {
			results[i].Err = err
			if idx == nil {
				idx = make([]int, len(valid), len(members))
				for j := range idx {
					idx[j] = j
				}
			}
			continue
		}
		valid = append(valid, m)
		if idx != nil {
			idx = append(idx, i)
		}
	}
	if len(valid) == 0 || len(lists) == 0 {
		return results, nil
	}
	if err := c.run(ctx, valid, idx, lists, results, false); err != nil {
		return nil, err
	}
	return results, nil
}

// RefreshVersions reads the live version of every compact list of lists in
// one pipeline of GETs, so that checks find them known. A server calls it
// every second in the background: a check after a replacement then asks
// the new version at once instead of paying a second round trip to learn
// it. Checks stay correct without it (see Check). Plain lists are skipped.
func (c *Checker) RefreshVersions(ctx context.Context, lists []List) error {
	var states []*compactVersion
	for _, l := range lists {
		if l.Compact() {
			states = append(states, c.compactVersion(l.Key))
		}
	}
	return c.fetchVersions(ctx, states)
}

// ensureVersions fetches the versions of the compact lists of lists that
// the Checker does not know yet.
func (c *Checker) ensureVersions(ctx context.Context, lists []List) error {
	var missing []*compactVersion
	for _, l := range lists {
		if l.Compact() {
			if v := c.compactVersion(l.Key); v.ver.Load() == nil {
				missing = append(missing, v)
			}
		}
	}
	return c.fetchVersions(ctx, missing)
}

func (c *Checker) fetchVersions(ctx context.Context, states []*compactVersion) error {
	if len(states) == 0 {
		return nil
	}
	cmds := make([]*redis.StringCmd, len(states))
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range states {
			cmds[i] = p.Get(ctx, s.key)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		for i, cmd := range cmds {
			if e := cmd.Err(); isReplyError(e) {
				return fmt.Errorf("blacklist: reading the version of a compact list: GET %s: %w", states[i].key, e)
			}
		}
		return fmt.Errorf("blacklist: reading the versions of %d compact lists: %w", len(states), err)
	}
	for i, cmd := range cmds {
		v := cmd.Val() // "" when there is none (redis.Nil)
		states[i].ver.Store(&v)
	}
	return nil
}

// compactVersion returns the version cache entry of the compact list with
// key, creating it (version unknown) on first use. The cache holds one
// entry per compact list ever checked: compact lists are declared in the
// configuration, so it stays small.
func (c *Checker) compactVersion(key string) *compactVersion {
	if m := c.versions.Load(); m != nil {
		if v, ok := (*m)[key]; ok {
			return v
		}
	}
	c.versionsMu.Lock()
	defer c.versionsMu.Unlock()
	old := c.versions.Load()
	if old != nil {
		if v, ok := (*old)[key]; ok {
			return v
		}
	}
	next := make(map[string]*compactVersion, 1+lenMap(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	v := &compactVersion{key: VersionKey(key)}
	next[key] = v
	c.versions.Store(&next)
	return v
}

func lenMap(m *map[string]*compactVersion) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// expiry reads an entry's score in an expiry index, as ZMSCORE answers it:
// nil for none, a float64 (RESP3) or a string (RESP2) of Unix seconds.
// expires is false for none and for +inf.
func expiry(score any) (t time.Time, expires bool) {
	var f float64
	switch v := score.(type) {
	case float64:
		f = v
	case string:
		var err error
		if f, err = strconv.ParseFloat(v, 64); err != nil {
			return time.Time{}, false // Redis never answers that
		}
	default:
		return time.Time{}, false
	}
	return scoreTime(f)
}

// scoreTime returns the time of an expiry score, Unix seconds with an
// optional fraction. A score beyond the year 2262 never expires; one
// before 1678 (-inf too) has expired.
func scoreTime(f float64) (t time.Time, expires bool) {
	const limit = math.MaxInt64 / 1_000_000_000 // seconds that time.Time holds in nanoseconds
	switch {
	case f >= limit:
		return time.Time{}, false
	case f <= -limit:
		return time.Unix(-limit, 0).UTC(), true
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64(math.Round((f-sec)*1e9))).UTC(), true
}

// expiryScore returns the score of an expiry in the expiry index: Unix
// seconds, rounded up so that an entry never stops blocking before it
// expires.
func expiryScore(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// entryMeta decodes an entry's value in a metadata hash (nil for none),
// with the expiry the server enforces.
func entryMeta(v any, exp time.Time, expires bool) Meta {
	var m Meta
	if s, ok := v.(string); ok {
		m = UnmarshalMeta(s)
	}
	m.ExpiresAt = time.Time{}
	if expires {
		m.ExpiresAt = exp
	}
	return m
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
