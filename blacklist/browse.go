package blacklist

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrInvalidCursor is matched (errors.Is) by the error of a Scan given a
// cursor it did not return.
var ErrInvalidCursor = errors.New("invalid scan cursor")

// DefaultSearchLimit is the limit of a Search given none.
const DefaultSearchLimit = 100

// DefaultAuditLimit is the limit of an Audit given none.
const DefaultAuditLimit = 100

// scanPageCount is the COUNT of the SSCANs and SCANs of Each and Search.
const scanPageCount = 1000

// Scan returns one page of the entries of the list l, and the cursor of
// the next page: "" starts, and a next of "" means done. match, when not
// empty, is a glob that entries must match ("5511*"); count is a hint of
// the page size, as the COUNT of SCAN (0: Redis's default).
//
// A plain list is paged with SSCAN, never SMEMBERS: a page costs Redis
// little however big the list. A compact list is paged over its buckets:
// SCAN MATCH of the bucket keys of the live version, then SMEMBERS of each
// bucket found (a bucket holds at most 10,000 small integers), filtered by
// match (path.Match syntax); its cursor carries the version, and a list
// replaced between two pages is an error (ErrListReplaced). As with SCAN,
// an entry present during the whole scan is returned at least once, and
// may be returned twice when Redis resizes its hash table meanwhile.
func (s *Store) Scan(ctx context.Context, l List, cursor, match string, count int64) (entries []string, next string, err error) {
	if err := validList(l); err != nil {
		return nil, "", fmt.Errorf("blacklist: scanning %w", err)
	}
	if !l.Compact() {
		var c uint64
		if cursor != "" {
			if c, err = strconv.ParseUint(cursor, 10, 64); err != nil {
				return nil, "", fmt.Errorf("blacklist: scanning %s: cursor %q: %w", l.Key, cursor, ErrInvalidCursor)
			}
		}
		entries, c, err = s.rdb.SScan(ctx, l.Key, c, match, count).Result()
		if err != nil {
			return nil, "", fmt.Errorf("blacklist: scanning %s: SSCAN: %w", l.Key, err)
		}
		if c != 0 {
			next = strconv.FormatUint(c, 10)
		}
		return entries, next, nil
	}

	if match != "" {
		if _, err := path.Match(match, ""); err != nil {
			return nil, "", fmt.Errorf("blacklist: scanning %s: pattern %q: %w", l.Key, match, err)
		}
	}
	var c uint64
	var ver string
	if cursor == "" {
		if ver, err = liveVersion(ctx, s.rdb, l.Key); err != nil || ver == "" {
			return nil, "", wrapIf(err, "blacklist: scanning: ")
		}
	} else {
		at, v, ok := strings.Cut(cursor, ":")
		c, err = strconv.ParseUint(at, 10, 64)
		if !ok || err != nil || v == "" {
			return nil, "", fmt.Errorf("blacklist: scanning %s: cursor %q: %w", l.Key, cursor, ErrInvalidCursor)
		}
		ver = v
	}
	// On a Redis Cluster, the page comes from the master of the list,
	// which holds all its buckets: the cursor is valid for the next page.
	keys, c, err := ScanListPage(ctx, s.rdb, l.Key, c, GlobEscape(BucketKey(l.Key, ver, ""))+"*", count)
	if err != nil {
		return nil, "", err
	}
	numbers, err := s.readBuckets(ctx, l, ver, bucketsOf(l.Key, ver, keys), func(n string) bool {
		ok, _ := path.Match(match, n)
		return match == "" || ok
	})
	if err != nil {
		return nil, "", err
	}
	if c != 0 {
		next = strconv.FormatUint(c, 10) + ":" + ver
	}
	return numbers, next, nil
}

// bucketsOf returns the buckets of the keys that are bucket keys of
// version ver of the compact list with key list (not its count key).
func bucketsOf(list, ver string, keys []string) []string {
	base := BucketKey(list, ver, "")
	buckets := make([]string, 0, len(keys))
	for _, k := range keys {
		b, ok := strings.CutPrefix(k, base)
		if ok && b != "" && allDigits(b) {
			buckets = append(buckets, b)
		}
	}
	return buckets
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// readBuckets returns the numbers of the buckets of version ver of the
// compact list l that keep says to keep, sorted, in one round trip that
// also proves ver is still the live version.
func (s *Store) readBuckets(ctx context.Context, l List, ver string, buckets []string, keep func(string) bool) ([]string, error) {
	if len(buckets) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringSliceCmd, len(buckets))
	var live *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, b := range buckets {
			cmds[i] = p.SMembers(ctx, BucketKey(l.Key, ver, b))
		}
		live = p.Get(ctx, VersionKey(l.Key))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("blacklist: reading the buckets of %s: %w", l.Key, err)
	}
	if v := live.Val(); v != ver {
		return nil, fmt.Errorf("blacklist: reading %s: %w: version %q is now %q", l.Key, ErrListReplaced, ver, v)
	}
	var numbers []string
	for i, cmd := range cmds {
		for _, n := range bucketNumbers(buckets[i], cmd.Val(), nil) {
			if keep(n) {
				numbers = append(numbers, n)
			}
		}
	}
	slices.Sort(numbers)
	return numbers, nil
}

// GlobEscape escapes the characters that Redis's glob patterns read
// specially, so that s matches itself only.
func GlobEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Each calls fn for every entry of the list l that matches match (every
// entry when empty; see Scan), page by page, and stops at the first error
// of fn, which it returns.
func (s *Store) Each(ctx context.Context, l List, match string, fn func(entry string) error) error {
	cursor := ""
	for {
		entries, next, err := s.Scan(ctx, l, cursor, match, scanPageCount)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// Search returns up to limit entries of the list l that query names: an
// entry (a number, an extension, a prefix entry) looked up exactly, or,
// for a query that ends with "*", every entry that starts with what comes
// before it ("5511987*": the numbers of 5511987 and the prefix entries
// such as "55119876*"). limit 0 means DefaultSearchLimit. Entries come
// sorted, with their metadata.
//
// A plain list is searched with SSCAN MATCH, a page at a time until the
// limit; a compact list through the buckets that can hold such numbers:
// those that start with the prefix (SCAN MATCH) and those that are shorter
// prefixes of it.
func (s *Store) Search(ctx context.Context, l List, query string, limit int) ([]Entry, error) {
	if err := validList(l); err != nil {
		return nil, fmt.Errorf("blacklist: searching %w", err)
	}
	if err := ValidEntry(query); err != nil {
		return nil, fmt.Errorf("blacklist: searching %s: %w", l.Key, err)
	}
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	prefix, isPrefix := strings.CutSuffix(query, "*")
	if !isPrefix {
		if l.Compact() {
			if _, _, ok := CompactSplit(query); !ok {
				return nil, nil // a compact list holds no such entry
			}
		}
		e, err := s.Lookup(ctx, l, query)
		if err != nil || !e.Present {
			return nil, err
		}
		return []Entry{e}, nil
	}
	if l.Compact() {
		return s.searchCompact(ctx, l, prefix, limit)
	}

	seen := make(map[string]bool)
	var found []string
	var cursor uint64
	for len(found) < limit {
		page, next, err := s.rdb.SScan(ctx, l.Key, cursor, GlobEscape(prefix)+"*", scanPageCount).Result()
		if err != nil {
			return nil, fmt.Errorf("blacklist: searching %s for %q: SSCAN: %w", l.Key, query, err)
		}
		for _, e := range page {
			if !seen[e] && len(found) < limit {
				seen[e] = true
				found = append(found, e)
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	slices.Sort(found)
	return s.entries(ctx, l, found)
}

// entries returns the entries of the plain list l named by members (all
// present), with their metadata and expiry, in one round trip.
func (s *Store) entries(ctx context.Context, l List, members []string) ([]Entry, error) {
	if len(members) == 0 {
		return nil, nil
	}
	scores := redis.NewSliceCmd(ctx, append([]any{"zmscore", ExpiryKey(l.Key)}, anys(members)...)...)
	metas := redis.NewSliceCmd(ctx, append([]any{"hmget", MetaKey(l.Key)}, anys(members)...)...)
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		_ = p.Process(ctx, scores) // only queues it
		_ = p.Process(ctx, metas)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("blacklist: reading the metadata of %d entries of %s: %w", len(members), l.Key, err)
	}
	sv, mv := scores.Val(), metas.Val()
	if len(sv) != len(members) || len(mv) != len(members) {
		return nil, fmt.Errorf("blacklist: reading the metadata of %d entries of %s: %d and %d answers",
			len(members), l.Key, len(sv), len(mv))
	}
	now := s.now()
	out := make([]Entry, len(members))
	for i, m := range members {
		exp, expires := expiry(sv[i])
		out[i] = Entry{Member: m, Present: true, Expired: expires && !now.Before(exp), Meta: entryMeta(mv[i], exp, expires)}
	}
	return out, nil
}

// searchCompact returns up to limit numbers of the compact list l that
// start with prefix.
func (s *Store) searchCompact(ctx context.Context, l List, prefix string, limit int) ([]Entry, error) {
	ver, err := liveVersion(ctx, s.rdb, l.Key)
	if err != nil || ver == "" {
		return nil, wrapIf(err, "blacklist: searching: ")
	}
	keep := func(n string) bool { return strings.HasPrefix(n, prefix) }
	// The buckets shorter than the prefix that can hold its numbers: the
	// prefix's own prefixes.
	var shorter []string
	for i := 1; i < len(prefix); i++ {
		shorter = append(shorter, prefix[:i])
	}
	found, err := s.readBuckets(ctx, l, ver, shorter, keep)
	if err != nil {
		return nil, err
	}
	// The buckets that start with the prefix hold only its numbers.
	pattern := GlobEscape(BucketKey(l.Key, ver, prefix)) + "*"
	errLimit := errors.New("limit reached")
	err = ScanListKeys(ctx, s.rdb, l.Key, pattern, scanPageCount, func(keys []string) error {
		numbers, err := s.readBuckets(ctx, l, ver, bucketsOf(l.Key, ver, keys), keep)
		if err != nil {
			return err
		}
		if found = append(found, numbers...); len(found) >= limit {
			return errLimit
		}
		return nil
	})
	if err != nil && !errors.Is(err, errLimit) {
		return nil, err
	}
	slices.Sort(found)
	found = slices.Compact(found) // SCAN may return a key twice
	if len(found) > limit {
		found = found[:limit]
	}
	out := make([]Entry, len(found))
	for i, n := range found {
		out[i] = Entry{Member: n, Present: true}
	}
	return out, nil
}

// ListInfo describes one list.
type ListInfo struct {
	List
	// Size is how many entries it holds (see Count).
	Size int64
	// LastChange, LastChangeBy and LastOp come from the newest record of
	// its audit stream: zero when it has none (a list edited with
	// redis-cli only).
	LastChange   time.Time
	LastChangeBy string
	LastOp       string
	// Exists is whether Redis holds the list: its set, or the version key
	// of a compact list.
	Exists bool
}

// Stat describes the list l.
func (s *Store) Stat(ctx context.Context, l List) (ListInfo, error) {
	infos, err := s.stat(ctx, []List{l})
	if err != nil {
		return ListInfo{}, err
	}
	return infos[0], nil
}

// Lists describes the declared lists (in their order, whether Redis holds
// them or not), then every other list found in Redis (campaign lists, then
// shared ones, by name). The key space is read with SCAN (never KEYS), on
// every master of a Redis Cluster (ScanKeys), for the base keys of lists
// under the key prefix and the version keys of compact lists; the sizes
// and last changes cost two round trips in all.
func (s *Store) Lists(ctx context.Context, declared []List) ([]ListInfo, error) {
	lists := slices.Clone(declared)
	known := make(map[string]bool, len(declared))
	for _, l := range declared {
		known[l.Key] = true
	}
	// One pattern for both kinds of key that name a list: base keys end in
	// "}", version keys in "n" (":version"); bucket, count, meta, exp and
	// audit keys end otherwise, and Redis filters them out.
	pattern := GlobEscape(s.keys.prefix()) + "*[}n]"
	var found []List
	err := ScanKeys(ctx, s.rdb, pattern, "", scanPageCount, func(keys []string) error {
		for _, k := range keys {
			if l, ok := s.listOfKey(k); ok && !known[l.Key] {
				known[l.Key] = true
				found = append(found, l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blacklist: listing the lists under %q: %w", s.keys.prefix(), err)
	}
	slices.SortFunc(found, func(a, b List) int {
		if a.Campaign != b.Campaign {
			if a.Campaign {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return s.stat(ctx, append(lists, found...))
}

// listOfKey returns the list that key names: the base key of a campaign
// list or a shared list, or the version key of a compact shared list.
func (s *Store) listOfKey(key string) (List, bool) {
	rest, ok := strings.CutPrefix(key, s.keys.prefix())
	if !ok {
		return List{}, false
	}
	layout := LayoutPlain
	if r, ok := strings.CutSuffix(rest, "}:version"); ok {
		rest, layout = r+"}", LayoutCompact
	}
	var l List
	if name, ok := cutBraces(rest, "campaign:{"); ok && layout == LayoutPlain {
		l = CampaignList(s.keys, name)
	} else if name, ok := cutBraces(rest, "list:{"); ok {
		l = SharedListLayout(s.keys, name, layout)
	} else {
		return List{}, false
	}
	if l.Layout == LayoutPlain {
		l.Layout = ""
	}
	return l, true
}

// cutBraces returns the name in s = head + name + "}" when it is a valid
// name.
func cutBraces(s, head string) (string, bool) {
	name, ok := strings.CutPrefix(s, head)
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, "}")
	return name, ok && ValidName("list name", name) == nil
}

// stat describes lists in two round trips: the sizes of plain lists, the
// versions of compact ones and every list's newest audit record, then the
// counts of the compact lists.
func (s *Store) stat(ctx context.Context, lists []List) ([]ListInfo, error) {
	for _, l := range lists {
		if err := validList(l); err != nil {
			return nil, fmt.Errorf("blacklist: describing %w", err)
		}
	}
	infos := make([]ListInfo, len(lists))
	sizes := make([]*redis.IntCmd, len(lists))
	versions := make([]*redis.StringCmd, len(lists))
	audits := make([]*redis.XMessageSliceCmd, len(lists))
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, l := range lists {
			if l.Compact() {
				versions[i] = p.Get(ctx, VersionKey(l.Key))
			} else {
				sizes[i] = p.SCard(ctx, l.Key)
			}
			audits[i] = p.XRevRangeN(ctx, AuditKey(l.Key), "+", "-", 1)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		if err := otherErr(cmds, fmt.Sprintf("%d lists", len(lists)), "describing"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("blacklist: describing %d lists: %w", len(lists), err)
	}
	counts := make([]*redis.StringCmd, len(lists))
	var pending bool
	for i, l := range lists {
		infos[i].List = l
		if msgs := audits[i].Val(); len(msgs) > 0 {
			rec := auditRecord(msgs[0])
			infos[i].LastChange, infos[i].LastChangeBy, infos[i].LastOp = rec.At, rec.By, rec.Op
		}
		if !l.Compact() {
			infos[i].Size = sizes[i].Val()
			infos[i].Exists = infos[i].Size > 0
		} else if versions[i].Val() != "" {
			infos[i].Exists = true
			pending = true
		}
	}
	if !pending {
		return infos, nil
	}
	cmds, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, l := range lists {
			if l.Compact() && infos[i].Exists {
				counts[i] = p.Get(ctx, CompactCountKey(l.Key, versions[i].Val()))
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		if err := otherErr(cmds, fmt.Sprintf("%d lists", len(lists)), "counting"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("blacklist: counting %d compact lists: %w", len(lists), err)
	}
	for i, cmd := range counts {
		if cmd != nil {
			infos[i].Size, _ = strconv.ParseInt(cmd.Val(), 10, 64) // "" (no count yet) is 0
		}
	}
	return infos, nil
}

// Audit returns the audit records of the list l, newest first: up to limit
// of them (0: DefaultAuditLimit), back to since (zero: the oldest kept).
// since is compared with the time at which Redis stored the record (its
// stream ID).
func (s *Store) Audit(ctx context.Context, l List, since time.Time, limit int64) ([]AuditRecord, error) {
	if err := validList(l); err != nil {
		return nil, fmt.Errorf("blacklist: reading the audit log of %w", err)
	}
	if limit <= 0 {
		limit = DefaultAuditLimit
	}
	start := "-"
	if !since.IsZero() {
		start = strconv.FormatInt(max(since.UnixMilli(), 0), 10)
	}
	msgs, err := s.rdb.XRevRangeN(ctx, AuditKey(l.Key), "+", start, limit).Result()
	if err != nil {
		return nil, fmt.Errorf("blacklist: reading the audit log of %s: XREVRANGE %s: %w", l.Key, AuditKey(l.Key), err)
	}
	recs := make([]AuditRecord, len(msgs))
	for i, m := range msgs {
		recs[i] = auditRecord(m)
	}
	return recs, nil
}

// auditRecord decodes one entry of an audit stream (see AddAudit). A field
// it cannot read is left zero; a record without "at" gets the time of its
// stream ID.
func auditRecord(m redis.XMessage) AuditRecord {
	get := func(k string) string {
		v, _ := m.Values[k].(string)
		return v
	}
	rec := AuditRecord{
		Op: get("op"), Member: get("member"), By: get("by"), Reason: get("reason"),
		Source: get("source"), Note: get("note"), Channel: get("channel"), UniqueID: get("uniqueid"),
	}
	rec.Count, _ = strconv.ParseInt(get("count"), 10, 64)
	if t, err := time.Parse(time.RFC3339Nano, get("at")); err == nil {
		rec.At = t
	} else if ms, _, _ := strings.Cut(m.ID, "-"); ms != "" {
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
			rec.At = time.UnixMilli(n).UTC()
		}
	}
	if t, err := time.Parse(time.RFC3339, get("expires_at")); err == nil {
		rec.ExpiresAt = t
	}
	return rec
}
