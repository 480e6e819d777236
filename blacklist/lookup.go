package blacklist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxAttempts bounds how many times a check asks again after meeting a
// compact list whose version changed.
const maxAttempts = 3

// maxEntriesPerCommand bounds the entries asked in one SMISMEMBER (and in
// the ZMSCORE and HMGET beside it): Redis runs a command without
// interruption, and commands of about a thousand entries keep the live
// checks of other clients waiting behind a large batch no more than some
// tens of microseconds.
const maxEntriesPerCommand = 1024

// run checks members (all valid) against lists and writes each verdict to
// results[idx[i]] (results[i] when idx is nil). With oneTrip, the expiries
// and metadata of plain lists are asked in the same pipeline as the
// membership, for every candidate entry (the latency of one round trip);
// without, in a second pipeline, for the entries found only (a third of
// the work for a batch).
func (c *Checker) run(ctx context.Context, members []string, idx []int, lists []List, results []BatchResult, oneTrip bool) error {
	for _, l := range lists {
		if err := validList(l); err != nil {
			return fmt.Errorf("blacklist: checking %s: %w", subject(members), err)
		}
	}
	if err := c.ensureVersions(ctx, lists); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		lk := c.newLookup(ctx, members, lists, oneTrip)
		if err := lk.exec(ctx, c.rdb, lk.cmds); err != nil {
			return err
		}
		if err := lk.collect(oneTrip); err != nil {
			return err
		}
		if !oneTrip {
			if err := lk.fetchMeta(ctx, c.rdb); err != nil {
				return err
			}
		}
		retry := lk.judge(c.now(), idx, results)
		if len(retry) == 0 {
			return nil
		}
		if attempt == maxAttempts {
			return fmt.Errorf("blacklist: checking %s: %w: tried %d times", subject(members), ErrListReplaced, attempt)
		}
		again, againIdx := make([]string, len(retry)), make([]int, len(retry))
		for i, m := range retry {
			again[i] = members[m]
			againIdx[i] = m
			if idx != nil {
				againIdx[i] = idx[m]
			}
		}
		members, idx = again, againIdx
	}
}

// subject names the members of a check in errors: the member itself, or
// how many there are.
func subject(members []string) string {
	if len(members) == 1 {
		return strconv.Quote(members[0])
	}
	return strconv.Itoa(len(members)) + " members"
}

// A lookup checks members against lists.
type lookup struct {
	members []string
	// cands holds every entry that would block some member, once: the
	// members of a batch share most of their prefix entries. The
	// candidates of member i, best first (the member itself, then its
	// prefix entries from the longest to the shortest), are
	// cands[slots[j]] for j from off[i] to off[i+1]-1.
	cands []string
	slots []int32
	off   []int
	// spans split cands in groups asked in one command per plain list.
	spans []span
	lists []listLookup
	cmds  []redis.Cmder // the pipeline
}

// span is the candidates cands[lo:hi] of one command.
type span struct{ lo, hi int }

type listLookup struct {
	list List
	// first is the index in cmds of the list's first command: for a plain
	// list, the SMISMEMBER of each span in turn, each followed by its
	// ZMSCORE and HMGET in one trip; for a compact list, the GET of its
	// version (-1 when no member can be in a compact list, and nothing was
	// asked).
	first int

	// A plain list's answers: the candidates that its set holds (indices
	// in cands, ascending), and their expiry scores and metadata.
	hits          []int
	scores, metas []any

	// A compact list: the version asked ("" for none), and per member the
	// index in cmds of its SISMEMBER, or notCompact or noVersion.
	version  *compactVersion
	ver      string
	isMember []int
}

const (
	notCompact = -2 // the member cannot be in a compact list (see CompactSplit)
	noVersion  = -1 // the list had no live version: nothing was asked
)

func (c *Checker) newLookup(ctx context.Context, members []string, lists []List, oneTrip bool) *lookup {
	lk := &lookup{members: members}
	lk.candidates()
	for lo := 0; lo < len(lk.cands); lo += maxEntriesPerCommand {
		lk.spans = append(lk.spans, span{lo, min(lo+maxEntriesPerCommand, len(lk.cands))})
	}

	// Count the arguments and commands, to carve every command's arguments
	// from one slice. An entry is boxed as a pointer into cands, which
	// costs no allocation.
	perSpan := 1
	if oneTrip {
		perSpan = 3
	}
	nargs, ncmds := 0, 0
	lk.lists = make([]listLookup, len(lists))
	for i, l := range lists {
		ll := &lk.lists[i]
		ll.list, ll.first = l, -1
		if !l.Compact() {
			nargs += perSpan * (2*len(lk.spans) + len(lk.cands))
			ncmds += perSpan * len(lk.spans)
			continue
		}
		ll.version = c.compactVersion(l.Key)
		if v := ll.version.ver.Load(); v != nil {
			ll.ver = *v
		}
		ll.isMember = make([]int, len(members))
		asked := false
		for j, m := range members {
			if _, _, ok := CompactSplit(m); !ok {
				ll.isMember[j] = notCompact
				continue
			}
			asked = true
			ll.isMember[j] = noVersion
			if ll.ver != "" {
				nargs += 3
				ncmds++
			}
		}
		if asked {
			nargs += 2
			ncmds++
		}
	}
	args := make([]any, 0, nargs)
	lk.cmds = make([]redis.Cmder, 0, ncmds)
	names := [3]string{"smismember", "zmscore", "hmget"}
	for i := range lk.lists {
		ll := &lk.lists[i]
		key := ll.list.Key
		if !ll.list.Compact() {
			ll.first = len(lk.cmds)
			keys := [3]any{key, nil, nil} // each boxed once for every span
			if oneTrip {
				keys[1], keys[2] = ExpiryKey(key), MetaKey(key)
			}
			for _, s := range lk.spans {
				for k, name := range names[:perSpan] {
					start := len(args)
					args = append(args, name, keys[k])
					for e := s.lo; e < s.hi; e++ {
						args = append(args, &lk.cands[e])
					}
					a := args[start:len(args):len(args)]
					if k == 0 {
						lk.cmds = append(lk.cmds, redis.NewBoolSliceCmd(ctx, a...))
					} else {
						lk.cmds = append(lk.cmds, redis.NewSliceCmd(ctx, a...))
					}
				}
			}
			continue
		}
		if ll.ver != "" {
			// The bucket keys share one string, and each key and member is
			// boxed as a pointer into strs: one allocation per command.
			base := BucketKey(key, ll.ver, "")
			n, size := 0, 0
			for j, m := range members {
				if ll.isMember[j] != notCompact {
					n++
					size += len(base) + len(m) - CompactDigits
				}
			}
			var b strings.Builder
			b.Grow(size)
			for j, m := range members {
				if ll.isMember[j] != notCompact {
					b.WriteString(base)
					b.WriteString(m[:len(m)-CompactDigits])
				}
			}
			all, off := b.String(), 0
			strs := make([]string, 0, 2*n)
			for j, m := range members {
				if ll.isMember[j] == notCompact {
					continue
				}
				end := off + len(base) + len(m) - CompactDigits
				strs = append(strs, all[off:end], compactMember(m))
				off = end
				start := len(args)
				args = append(args, "sismember", &strs[len(strs)-2], &strs[len(strs)-1])
				ll.isMember[j] = len(lk.cmds)
				lk.cmds = append(lk.cmds, redis.NewBoolCmd(ctx, args[start:len(args):len(args)]...))
			}
		}
		for _, k := range ll.isMember {
			if k != notCompact {
				// After the reads: a version that is still the one asked
				// proves that they read the live version.
				start := len(args)
				args = append(args, "get", ll.version.key)
				ll.first = len(lk.cmds)
				lk.cmds = append(lk.cmds, redis.NewStringCmd(ctx, args[start:len(args):len(args)]...))
				break
			}
		}
	}
	return lk
}

// candidates fills cands, slots and off: every member's candidates, each
// distinct one once. The members are
// walked in sorted order, where a member shares with the one before it
// exactly the prefix entries of their common prefix (and its exact entry
// when they are equal): finding what is shared costs no map.
func (lk *lookup) candidates() {
	members := lk.members
	order := make([]int32, len(members))
	for i := range order {
		order[i] = int32(i)
	}
	if len(members) > 1 {
		slices.SortFunc(order, func(a, b int32) int { return strings.Compare(members[a], members[b]) })
	}
	// shared[i] is the length of the common prefix of member i with the
	// member before it in order (-1 for the first).
	shared := make([]int32, len(members))
	lk.off = make([]int, len(members)+1)
	nslots, ncands, nbytes := 0, 0, 0
	for i, m := range members {
		nslots += len(m) + 1
		lk.off[i+1] = nslots
	}
	for j, i := range order {
		m := members[i]
		l := -1
		if j > 0 {
			l = commonPrefix(m, members[order[j-1]])
		}
		shared[i] = int32(l)
		if l < len(m) || len(m) != len(members[order[j-1]]) {
			ncands++ // its exact entry
		}
		for k := max(l, 0) + 1; k <= len(m); k++ {
			ncands++
			nbytes += k + 1
		}
	}
	lk.slots = make([]int32, nslots)
	lk.cands = make([]string, 0, ncands)
	pos := make([]int32, 0, ncands) // where each prefix entry starts in the builder; -1 for an exact entry
	var b strings.Builder
	b.Grow(nbytes)
	for j, i := range order {
		m, l := members[i], int(shared[i])
		slots := lk.slots[lk.off[i]:lk.off[i+1]]
		var prev []int32 // the slots of the member before, when it shares something
		var p string
		if l >= 0 {
			p = members[order[j-1]]
			prev = lk.slots[lk.off[order[j-1]]:lk.off[order[j-1]+1]]
		}
		if l == len(m) && len(p) == len(m) {
			slots[0] = prev[0]
		} else {
			slots[0] = int32(len(lk.cands))
			lk.cands = append(lk.cands, m)
			pos = append(pos, -1)
		}
		// Slot s holds the prefix entry of length len(m)-s+1.
		for k := 1; k <= len(m); k++ {
			s := len(m) - k + 1
			if k <= l {
				slots[s] = prev[len(p)-k+1]
				continue
			}
			slots[s] = int32(len(lk.cands))
			lk.cands = append(lk.cands, "")
			pos = append(pos, int32(b.Len()))
			b.WriteString(m[:k])
			b.WriteByte('*')
		}
	}
	all := b.String()
	for u, at := range pos {
		if at >= 0 {
			end := strings.IndexByte(all[at:], '*')
			lk.cands[u] = all[at : int(at)+end+1]
		}
	}
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// compactMember returns the member that stands for number (which passed
// CompactSplit) in its bucket: its last CompactDigits digits without their
// leading zeros, as Redis writes the integers of an intset.
func compactMember(number string) string {
	m := strings.TrimLeft(number[len(number)-CompactDigits:], "0")
	if m == "" {
		return "0"
	}
	return m
}

// exec sends cmds in one pipeline. A reply error (a key of the wrong type)
// is named by its key; any other error (the network, the context) belongs
// to the whole round trip.
func (lk *lookup) exec(ctx context.Context, rdb redis.UniversalClient, cmds []redis.Cmder) error {
	if len(cmds) == 0 {
		return nil
	}
	pipe := rdb.Pipeline()
	_ = pipe.BatchProcess(ctx, cmds...) // only queues them
	_, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	for _, cmd := range cmds {
		if e := cmd.Err(); isReplyError(e) {
			return fmt.Errorf("blacklist: checking %s in %s: %w", subject(lk.members), cmdKey(cmd), e)
		}
	}
	for _, cmd := range cmds {
		if e := cmd.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return fmt.Errorf("blacklist: checking %s in %d lists: %w", subject(lk.members), len(lk.lists), e)
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil // a compact list with no version
	}
	return fmt.Errorf("blacklist: checking %s in %d lists: %w", subject(lk.members), len(lk.lists), err)
}

// collect reads the answers of the plain lists into their hits (and, with
// oneTrip, the scores and metadata of the hits), and updates the
// Checker's versions of the compact lists from theirs.
func (lk *lookup) collect(oneTrip bool) error {
	perSpan := 1
	if oneTrip {
		perSpan = 3
	}
	for i := range lk.lists {
		ll := &lk.lists[i]
		if ll.list.Compact() {
			if ll.first >= 0 {
				if live := lk.cmds[ll.first].(*redis.StringCmd).Val(); live != ll.ver {
					ll.version.ver.Store(&live)
				}
			}
			continue
		}
		for s, sp := range lk.spans {
			want := sp.hi - sp.lo
			found := lk.cmds[ll.first+perSpan*s].(*redis.BoolSliceCmd).Val()
			var scores, metas []any
			if oneTrip {
				scores = lk.cmds[ll.first+perSpan*s+1].(*redis.SliceCmd).Val()
				metas = lk.cmds[ll.first+perSpan*s+2].(*redis.SliceCmd).Val()
			}
			if len(found) != want || oneTrip && (len(scores) != want || len(metas) != want) {
				return fmt.Errorf("blacklist: checking %s in %s: %d answers to %d questions",
					subject(lk.members), ll.list.Key, len(found), want)
			}
			for j, in := range found {
				if in {
					ll.hits = append(ll.hits, sp.lo+j)
					if oneTrip {
						ll.scores = append(ll.scores, scores[j])
						ll.metas = append(ll.metas, metas[j])
					}
				}
			}
		}
	}
	return nil
}

// fetchMeta asks the expiry scores and metadata of the hits of the plain
// lists, in one pipeline (none when there are no hits).
func (lk *lookup) fetchMeta(ctx context.Context, rdb redis.UniversalClient) error {
	var cmds []redis.Cmder
	for i := range lk.lists {
		ll := &lk.lists[i]
		if len(ll.hits) == 0 {
			continue
		}
		exp, meta := any(ExpiryKey(ll.list.Key)), any(MetaKey(ll.list.Key))
		for lo := 0; lo < len(ll.hits); lo += maxEntriesPerCommand {
			hits := ll.hits[lo:min(lo+maxEntriesPerCommand, len(ll.hits))]
			for _, c := range [2]struct {
				name string
				key  any
			}{{"zmscore", exp}, {"hmget", meta}} {
				args := make([]any, 2, 2+len(hits))
				args[0], args[1] = c.name, c.key
				for _, e := range hits {
					args = append(args, &lk.cands[e])
				}
				cmds = append(cmds, redis.NewSliceCmd(ctx, args...))
			}
		}
	}
	if err := lk.exec(ctx, rdb, cmds); err != nil {
		return err
	}
	k := 0
	for i := range lk.lists {
		ll := &lk.lists[i]
		if len(ll.hits) == 0 {
			continue
		}
		ll.scores, ll.metas = make([]any, 0, len(ll.hits)), make([]any, 0, len(ll.hits))
		for lo := 0; lo < len(ll.hits); lo += maxEntriesPerCommand {
			want := min(maxEntriesPerCommand, len(ll.hits)-lo)
			scores, metas := cmds[k].(*redis.SliceCmd).Val(), cmds[k+1].(*redis.SliceCmd).Val()
			k += 2
			if len(scores) != want || len(metas) != want {
				return fmt.Errorf("blacklist: checking %s in %s: %d and %d answers to %d questions",
					subject(lk.members), ll.list.Key, len(scores), len(metas), want)
			}
			ll.scores, ll.metas = append(ll.scores, scores...), append(ll.metas, metas...)
		}
	}
	return nil
}

// judge writes the verdict on each member to results (see run), and
// returns the members that met a compact list whose version changed, and
// must be asked again.
func (lk *lookup) judge(now time.Time, idx []int, results []BatchResult) (retry []int) {
	for m, member := range lk.members {
		r := &results[m]
		if idx != nil {
			r = &results[idx[m]]
		}
		*r = BatchResult{}
	lists:
		for i := range lk.lists {
			ll := &lk.lists[i]
			if ll.list.Compact() {
				k := ll.isMember[m]
				if k == notCompact {
					continue
				}
				if lk.cmds[ll.first].(*redis.StringCmd).Val() != ll.ver {
					retry = append(retry, m)
					break lists
				}
				if k >= 0 && lk.cmds[k].(*redis.BoolCmd).Val() {
					r.Match, r.Blocked = Match{List: ll.list, Entry: member}, true
					break lists
				}
				continue
			}
			if len(ll.hits) == 0 {
				continue
			}
			for _, u := range lk.slots[lk.off[m]:lk.off[m+1]] { // best first
				h, found := slices.BinarySearch(ll.hits, int(u))
				if !found {
					continue
				}
				exp, expires := expiry(ll.scores[h])
				if expires && !now.Before(exp) {
					continue // expired: a shorter prefix entry may still block
				}
				r.Match = Match{List: ll.list, Entry: lk.cands[u], Meta: entryMeta(ll.metas[h], exp, expires)}
				r.Blocked = true
				break lists
			}
		}
	}
	return retry
}

// isReplyError reports whether err is an error reply of Redis (WRONGTYPE,
// READONLY...), which belongs to one command, rather than redis.Nil or an
// error of the connection.
func isReplyError(err error) bool {
	var reply redis.Error
	return err != nil && !errors.Is(err, redis.Nil) && errors.As(err, &reply)
}

// cmdKey returns the key a command was about: its first argument.
func cmdKey(cmd redis.Cmder) string {
	args := cmd.Args()
	if len(args) < 2 {
		return cmd.Name()
	}
	switch k := args[1].(type) {
	case string:
		return k
	case *string:
		return *k
	}
	return fmt.Sprint(args[1])
}
