package blacklist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrInvalidExpiry is matched (errors.Is) by the error of an Add whose
// expiry is not in the future.
var ErrInvalidExpiry = errors.New("invalid expiry")

// DefaultAuditMaxLen is the AuditMaxLen of a new Store.
const DefaultAuditMaxLen = 100000

// Store manages lists: the operations that the CLI and the HTTP API share.
// Every write goes in one round trip and leaves its trace in the list's
// audit stream and on the events channel. It is safe for concurrent use.
//
// Entries are canonical (the caller normalizes numbers with package
// number); the Store checks their syntax only (ValidEntry).
type Store struct {
	rdb  redis.UniversalClient
	keys Keys

	// AuditMaxLen is about how many records each list's audit stream
	// keeps (XADD MAXLEN ~); 0 keeps them all.
	AuditMaxLen int64
	// Now returns the current time; nil means time.Now. Set it before the
	// first use (tests do).
	Now func() time.Time
}

// NewStore returns a Store of the lists under keys in rdb.
func NewStore(rdb redis.UniversalClient, keys Keys) *Store {
	return &Store{rdb: rdb, keys: keys, AuditMaxLen: DefaultAuditMaxLen}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// AddOptions are the metadata and side effects of an Add.
type AddOptions struct {
	// Meta is stored for each entry added (nothing when it is all zero).
	// AddedAt zero means Now; ExpiresAt zero means the entries never
	// expire. In a compact list, which stores no metadata, Reason, Source,
	// AddedBy, Note, Channel and UniqueID go to the audit stream only, and
	// an expiry is refused (ErrCompactLayout).
	Meta Meta
	// Queues are the contacts queues of every campaign that uses the list:
	// the numbers added are removed from them in the same round trip.
	Queues []Queue
}

// AddResult says what an Add did.
type AddResult struct {
	Added   []string  // entries that were not in the list
	Present []string  // entries that were already there (their metadata and expiry were updated)
	Refused []Refusal // entries that are not valid in the list, and were not written
	// Dequeued is how many queued contacts the add removed, per campaign
	// of AddOptions.Queues.
	Dequeued map[string]int64
}

// Add adds entries to the list l, in one round trip (a pipeline):
//
//   - for a plain list, one SADD per entry (which says whether it was
//     added or already present), the HSET of the metadata when there is
//     any, and the ZADD of the expiry to the expiry index, or its ZREM when
//     there is none (adding an expiring entry again without an expiry makes
//     it permanent);
//   - for a compact list, one script that adds the numbers to the buckets
//     of the live version (creating version "1" for an empty list) and
//     moves the count by how many were added;
//   - then for both one audit record (op "add") and one Event per entry,
//     and the removal of the numbers (not the prefix entries) from every
//     queue of opt.Queues.
//
// Adding an entry twice changes nothing but its metadata and expiry (and
// the audit log). Entries that are not valid in l (ValidEntry, and numbers
// only for a compact list) are refused without stopping the others. An
// error with a non-empty result means that the entries were written but
// something after failed (a queue of the wrong type).
func (s *Store) Add(ctx context.Context, l List, entries []string, opt AddOptions) (AddResult, error) {
	if err := validList(l); err != nil {
		return AddResult{}, fmt.Errorf("blacklist: adding to %w", err)
	}
	for _, q := range opt.Queues {
		if err := q.Validate(); err != nil {
			return AddResult{}, fmt.Errorf("blacklist: adding to %s: %w", l.Key, err)
		}
	}
	now := s.now()
	meta := opt.Meta
	if !meta.ExpiresAt.IsZero() {
		if l.Compact() {
			return AddResult{}, fmt.Errorf("blacklist: adding to %s: expiry %s: %w: a compact list holds permanent entries only",
				l.Key, meta.ExpiresAt.Format(time.RFC3339), ErrCompactLayout)
		}
		if !meta.ExpiresAt.After(now) {
			return AddResult{}, fmt.Errorf("blacklist: adding to %s: expiry %s: %w: not after now (%s)",
				l.Key, meta.ExpiresAt.Format(time.RFC3339), ErrInvalidExpiry, now.Format(time.RFC3339))
		}
	}
	valid, refused := sortEntries(l, entries)
	res := AddResult{Refused: refused}
	if len(valid) == 0 {
		return res, nil
	}
	storeMeta := meta != Meta{} && !l.Compact()
	if meta.AddedAt.IsZero() {
		meta.AddedAt = now
	}

	pipe := s.rdb.Pipeline()
	var (
		sadds   []*redis.IntCmd
		compact *redis.Cmd
	)
	if l.Compact() {
		compact = queueCompactWrite(ctx, pipe, "add", l.Key, valid)
	} else {
		sadds = make([]*redis.IntCmd, len(valid))
		for i, e := range valid {
			sadds[i] = pipe.SAdd(ctx, l.Key, e)
		}
		if storeMeta {
			value := MarshalMeta(meta)
			pairs := make([]any, 0, 2*len(valid))
			for _, e := range valid {
				pairs = append(pairs, e, value)
			}
			pipe.HSet(ctx, MetaKey(l.Key), pairs...)
		}
		if !meta.ExpiresAt.IsZero() {
			score := float64(expiryScore(meta.ExpiresAt))
			zs := make([]redis.Z, len(valid))
			for i, e := range valid {
				zs[i] = redis.Z{Score: score, Member: e}
			}
			pipe.ZAdd(ctx, ExpiryKey(l.Key), zs...)
		} else {
			pipe.ZRem(ctx, ExpiryKey(l.Key), anys(valid)...)
		}
	}
	for _, e := range valid {
		AddAudit(ctx, pipe, l.Key, AuditRecord{
			Op: "add", Member: e, By: meta.AddedBy, Reason: meta.Reason, Source: meta.Source, Note: meta.Note,
			At: now, ExpiresAt: meta.ExpiresAt, Channel: meta.Channel, UniqueID: meta.UniqueID,
		}, s.AuditMaxLen)
	}
	numbers := make([]string, 0, len(valid))
	for _, e := range valid {
		if e[len(e)-1] != '*' {
			numbers = append(numbers, e)
		}
	}
	dequeues := make([][]*redis.IntCmd, len(opt.Queues))
	for i, q := range opt.Queues {
		dequeues[i] = q.Remove(ctx, pipe, numbers...)
	}
	for _, e := range valid {
		s.publish(ctx, pipe, Event{Op: "add", List: l.Name, Campaign: l.Campaign, Member: e,
			Reason: meta.Reason, By: meta.AddedBy, At: now, ExpiresAt: meta.ExpiresAt})
	}
	cmds, execErr := pipe.Exec(ctx)
	if execErr != nil && !isReplyError(execErr) {
		return res, fmt.Errorf("blacklist: adding %d entries to %s: %w", len(valid), l.Key, execErr)
	}

	// What the list answered.
	added := make([]int64, len(valid))
	if compact != nil {
		r, err := compactWriteResults(compact, l.Key, len(valid))
		if err != nil {
			return res, fmt.Errorf("blacklist: adding %d entries: %w", len(valid), err)
		}
		added = r
	} else {
		for i, cmd := range sadds {
			if err := cmd.Err(); err != nil {
				return res, fmt.Errorf("blacklist: adding %q to %s: %w", valid[i], l.Key, err)
			}
			added[i] = cmd.Val()
		}
	}
	for i, e := range valid {
		if added[i] == 1 {
			res.Added = append(res.Added, e)
		} else {
			res.Present = append(res.Present, e)
		}
	}
	if len(opt.Queues) > 0 {
		res.Dequeued = make(map[string]int64, len(opt.Queues))
	}
	var queueErr error
	for i, q := range opt.Queues {
		if _, ok := res.Dequeued[q.Campaign]; !ok {
			res.Dequeued[q.Campaign] = 0 // a campaign whose queue held none of them
		}
		for _, cmd := range dequeues[i] {
			if err := cmd.Err(); err != nil {
				queueErr = errors.Join(queueErr, fmt.Errorf("blacklist: removing the numbers added to %s from the contacts queue %s of campaign %q: %w",
					l.Key, q.Key, q.Campaign, err))
				break
			}
			res.Dequeued[q.Campaign] += cmd.Val()
		}
	}
	if queueErr != nil {
		return res, queueErr
	}
	return res, otherErr(cmds, l.Key, "adding to")
}

// otherErr returns the first error of cmds, which the caller has not read
// (audit, events...), naming the command and the list.
func otherErr(cmds []redis.Cmder, list, doing string) error {
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("blacklist: %s %s: %s %s: %w", doing, list, cmd.Name(), cmdKey(cmd), err)
		}
	}
	return nil
}

// publish queues on pipe the PUBLISH of ev on the events channel.
func (s *Store) publish(ctx context.Context, pipe redis.Pipeliner, ev Event) {
	b, _ := json.Marshal(ev) // strings, times and a map of int64: cannot fail
	pipe.Publish(ctx, s.keys.Events(), b)
}

func anys(s []string) []any {
	a := make([]any, len(s))
	for i, v := range s {
		a[i] = v
	}
	return a
}

// RemoveOptions say who removes entries and why, for the audit stream and
// the events.
type RemoveOptions struct {
	By, Reason, Source, Note string
}

// RemoveResult says what a Remove did.
type RemoveResult struct {
	Removed []string  // entries that were in the list
	Absent  []string  // entries that were not
	Refused []Refusal // entries that are not valid in the list
}

// Remove removes entries from the list l, in one round trip: one SREM per
// entry (a script for a compact list, which moves the count too), the HDEL
// of their metadata and the ZREM of their expiries, and one audit record
// (op "remove") and one Event per entry. Entries that are not valid in l
// are refused without stopping the others; contacts queues are not
// touched.
func (s *Store) Remove(ctx context.Context, l List, entries []string, opt RemoveOptions) (RemoveResult, error) {
	if err := validList(l); err != nil {
		return RemoveResult{}, fmt.Errorf("blacklist: removing from %w", err)
	}
	valid, refused := sortEntries(l, entries)
	res := RemoveResult{Refused: refused}
	if len(valid) == 0 {
		return res, nil
	}
	now := s.now()
	pipe := s.rdb.Pipeline()
	var (
		srems   []*redis.IntCmd
		compact *redis.Cmd
	)
	if l.Compact() {
		compact = queueCompactWrite(ctx, pipe, "remove", l.Key, valid)
	} else {
		srems = make([]*redis.IntCmd, len(valid))
		for i, e := range valid {
			srems[i] = pipe.SRem(ctx, l.Key, e)
		}
		pipe.HDel(ctx, MetaKey(l.Key), valid...)
		pipe.ZRem(ctx, ExpiryKey(l.Key), anys(valid)...)
	}
	for _, e := range valid {
		AddAudit(ctx, pipe, l.Key, AuditRecord{Op: "remove", Member: e, By: opt.By, Reason: opt.Reason,
			Source: opt.Source, Note: opt.Note, At: now}, s.AuditMaxLen)
		s.publish(ctx, pipe, Event{Op: "remove", List: l.Name, Campaign: l.Campaign, Member: e,
			Reason: opt.Reason, By: opt.By, At: now})
	}
	cmds, execErr := pipe.Exec(ctx)
	if execErr != nil && !isReplyError(execErr) {
		return res, fmt.Errorf("blacklist: removing %d entries from %s: %w", len(valid), l.Key, execErr)
	}
	removed := make([]int64, len(valid))
	if compact != nil {
		r, err := compactWriteResults(compact, l.Key, len(valid))
		if err != nil {
			return res, fmt.Errorf("blacklist: removing %d entries: %w", len(valid), err)
		}
		removed = r
	} else {
		for i, cmd := range srems {
			if err := cmd.Err(); err != nil {
				return res, fmt.Errorf("blacklist: removing %q from %s: %w", valid[i], l.Key, err)
			}
			removed[i] = cmd.Val()
		}
	}
	for i, e := range valid {
		if removed[i] == 1 {
			res.Removed = append(res.Removed, e)
		} else {
			res.Absent = append(res.Absent, e)
		}
	}
	return res, otherErr(cmds, l.Key, "removing from")
}

// Entry is what a list holds about one entry.
type Entry struct {
	Member  string
	Present bool // whether the list's set holds it
	// Expired is whether it is present but past its expiry: it no longer
	// blocks, and the sweeper will remove it.
	Expired bool
	// Meta is its metadata (none in a compact list); Meta.ExpiresAt is
	// the expiry in the expiry index, which the check enforces.
	Meta Meta
}

// Lookup returns what the list l holds about entry (a number, an
// extension or a prefix entry, looked up as it is: see Checker.Check for
// the verdict on a number). It costs one round trip for a plain list, two
// for a compact one (its version, then the bucket).
func (s *Store) Lookup(ctx context.Context, l List, entry string) (Entry, error) {
	if err := validList(l); err != nil {
		return Entry{}, fmt.Errorf("blacklist: looking up %q in %w", entry, err)
	}
	if err := validEntryIn(l, entry); err != nil {
		return Entry{}, fmt.Errorf("blacklist: looking up in %s: %w", l.Key, err)
	}
	if l.Compact() {
		bucket, _, _ := CompactSplit(entry)
		var in *redis.BoolCmd
		ver, err := s.readLive(ctx, l, func(p redis.Pipeliner, ver string) {
			in = p.SIsMember(ctx, BucketKey(l.Key, ver, bucket), compactMember(entry))
		})
		if err != nil {
			return Entry{}, fmt.Errorf("blacklist: looking up %q: %w", entry, err)
		}
		return Entry{Member: entry, Present: ver != "" && in.Val()}, nil
	}
	var (
		in    *redis.BoolCmd
		score *redis.FloatCmd
		meta  *redis.StringCmd
	)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		in = p.SIsMember(ctx, l.Key, entry)
		score = p.ZScore(ctx, ExpiryKey(l.Key), entry)
		meta = p.HGet(ctx, MetaKey(l.Key), entry)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		for _, cmd := range []redis.Cmder{in, score, meta} {
			if e := cmd.Err(); e != nil && !errors.Is(e, redis.Nil) {
				return Entry{}, fmt.Errorf("blacklist: looking up %q in %s: %s %s: %w", entry, l.Key, cmd.Name(), cmdKey(cmd), e)
			}
		}
		return Entry{}, fmt.Errorf("blacklist: looking up %q in %s: %w", entry, l.Key, err)
	}
	e := Entry{Member: entry, Present: in.Val()}
	if !e.Present {
		return e, nil
	}
	var exp time.Time
	expires := false
	if score.Err() == nil {
		exp, expires = scoreTime(score.Val())
	}
	var raw any
	if meta.Err() == nil {
		raw = meta.Val()
	}
	e.Meta = entryMeta(raw, exp, expires)
	e.Expired = expires && !s.now().Before(exp)
	return e, nil
}

// wrapIf returns nil for a nil err, or err with the formatted prefix.
func wrapIf(err error, format string, a ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+"%w", append(a, err)...)
}

// Count returns how many entries the list l holds: its SCARD (expired
// entries that the sweeper has not removed yet included), or the count of
// the live version of a compact list.
func (s *Store) Count(ctx context.Context, l List) (int64, error) {
	if err := validList(l); err != nil {
		return 0, fmt.Errorf("blacklist: counting %w", err)
	}
	if !l.Compact() {
		n, err := s.rdb.SCard(ctx, l.Key).Result()
		if err != nil {
			return 0, fmt.Errorf("blacklist: counting %s: %w", l.Key, err)
		}
		return n, nil
	}
	var n *redis.StringCmd
	ver, err := s.readLive(ctx, l, func(p redis.Pipeliner, ver string) { n = p.Get(ctx, CompactCountKey(l.Key, ver)) })
	if err != nil {
		return 0, fmt.Errorf("blacklist: counting: %w", err)
	}
	if ver == "" {
		return 0, nil // no version: empty
	}
	count, _ := strconv.ParseInt(n.Val(), 10, 64) // no count key yet: 0
	return count, nil
}

// readLive queues read's commands on a pipeline for the live version of the
// compact list l, followed by a GET of its version key that proves they
// read the live version, and starts again when the list was replaced in
// between (ErrListReplaced after maxAttempts). ver is "" for a list with
// no version (empty), whose reads mean nothing.
func (s *Store) readLive(ctx context.Context, l List, read func(p redis.Pipeliner, ver string)) (ver string, err error) {
	if ver, err = liveVersion(ctx, s.rdb, l.Key); err != nil || ver == "" {
		return "", err
	}
	for attempt := 1; ; attempt++ {
		var live *redis.StringCmd
		cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			read(p, ver)
			live = p.Get(ctx, VersionKey(l.Key))
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			for _, cmd := range cmds {
				if e := cmd.Err(); e != nil && !errors.Is(e, redis.Nil) {
					return "", fmt.Errorf("reading compact list %s: %s %s: %w", l.Key, cmd.Name(), cmdKey(cmd), e)
				}
			}
			return "", fmt.Errorf("reading compact list %s: %w", l.Key, err)
		}
		if live.Val() == ver || live.Val() == "" {
			return live.Val(), nil
		}
		if attempt == maxAttempts {
			return "", fmt.Errorf("reading compact list %s: %w: version %q is now %q", l.Key, ErrListReplaced, ver, live.Val())
		}
		ver = live.Val()
	}
}
