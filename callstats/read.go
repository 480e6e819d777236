package callstats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
)

// ErrInvalidWindow is matched (errors.Is) by the errors of Stats and
// Blocked for a time window they cannot read.
var ErrInvalidWindow = errors.New("invalid time window")

// ErrInvalidCursor is matched (errors.Is) by the error of Blocked for a
// Query.Before that is not a stream ID.
var ErrInvalidCursor = errors.New("invalid blocked-call cursor")

// MaxWindow is the longest window Stats reads: 400 days of hourly hashes.
const MaxWindow = 400 * 24 * time.Hour

// Paging limits of Blocked.
const (
	DefaultCount = 20
	MaxCount     = 1000
	// scanBudget is the most log entries one Blocked call reads while
	// filtering; past it, the page is returned short with a cursor.
	scanBudget = 20000
	// scanChunk is how many entries one XREVRANGE reads.
	scanChunk = 500
	// timeSlack widens the stream ID range around a time window: an
	// entry's ID is the time Redis wrote it, its At the time the call was
	// checked, a batch delay earlier on another clock.
	timeSlack = time.Minute
)

// pipelineCommands is about how many commands Stats sends per pipeline.
const pipelineCommands = 4096

// Stats returns the figures of the campaigns over the UTC hours that meet
// [since, until] (whole hours: a window starting at 10:30 counts from
// 10:00), sorted by campaign. A zero until is now. Campaigns are folded
// ids (FoldCampaign: NoCampaign is valid); none (nil or empty) means every
// campaign with a check in the window, found with SCAN.
func Stats(ctx context.Context, rdb redis.UniversalClient, keys blacklist.Keys, campaigns []string, since, until time.Time) ([]CampaignStats, error) {
	if until.IsZero() {
		until = time.Now()
	}
	if since.IsZero() || since.After(until) || until.Sub(since) > MaxWindow {
		return nil, fmt.Errorf("statistics from %s to %s: %w: want since before until, at most %s apart",
			since.Format(time.RFC3339), until.Format(time.RFC3339), ErrInvalidWindow, MaxWindow)
	}
	discover := len(campaigns) == 0
	if discover {
		var err error
		if campaigns, err = findCampaigns(ctx, rdb, keys); err != nil {
			return nil, err
		}
	} else {
		campaigns = slices.Clone(campaigns)
		for _, c := range campaigns {
			if c != NoCampaign {
				if err := blacklist.ValidName("campaign id", c); err != nil {
					return nil, err
				}
			}
		}
	}
	slices.Sort(campaigns)
	campaigns = slices.Compact(campaigns)

	var hours []time.Time
	for h := since.Truncate(time.Hour); !h.After(until); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	out := make([]CampaignStats, 0, len(campaigns))
	type pending struct {
		stats *CampaignStats
		hours []*redis.MapStringStringCmd
		last  *redis.StringCmd
	}
	var batch []pending
	commands := 0
	pipe := rdb.Pipeline()
	exec := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("reading call statistics: %w", err)
		}
		for _, p := range batch {
			for _, cmd := range p.hours {
				p.stats.add(cmd.Val())
			}
			if ms, err := strconv.ParseInt(p.last.Val(), 10, 64); err == nil && ms > 0 {
				p.stats.LastBlock = time.UnixMilli(ms).UTC()
			}
			if !discover || p.stats.Checked > 0 {
				out = append(out, *p.stats)
			}
		}
		batch, commands = batch[:0], 0
		return nil
	}
	for _, c := range campaigns {
		p := pending{stats: &CampaignStats{Campaign: c, Lists: map[string]int64{}}}
		for _, h := range hours {
			p.hours = append(p.hours, pipe.HGetAll(ctx, HourKey(keys, c, h)))
		}
		p.last = pipe.HGet(ctx, CampaignKey(keys, c), "last_block")
		batch = append(batch, p)
		if commands += len(hours) + 1; commands >= pipelineCommands {
			if err := exec(); err != nil {
				return nil, err
			}
		}
	}
	if err := exec(); err != nil {
		return nil, err
	}
	return out, nil
}

// add sums one hourly hash into s.
func (s *CampaignStats) add(fields map[string]string) {
	for f, v := range fields {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue // not ours: someone wrote it by hand
		}
		switch f {
		case "checked":
			s.Checked += n
		case "allowed":
			s.Allowed += n
		case "blocked":
			s.Blocked += n
		case "errors":
			s.Errors += n
		default:
			if list, ok := strings.CutPrefix(f, "blocked:"); ok {
				s.Lists[list] += n
			}
		}
	}
}

// findCampaigns returns every campaign with a summary hash.
func findCampaigns(ctx context.Context, rdb redis.UniversalClient, keys blacklist.Keys) ([]string, error) {
	head := CampaignKey(keys, "")
	head = head[:len(head)-1] // <prefix>stats:{
	match := blacklist.GlobEscape(head) + "*}"
	var found []string
	// ScanKeys reads every master of a Redis Cluster, and calls this
	// function from one of them at a time.
	err := blacklist.ScanKeys(ctx, rdb, match, "hash", 1000, func(keys []string) error {
		for _, k := range keys {
			name := strings.TrimSuffix(strings.TrimPrefix(k, head), "}")
			if name == NoCampaign || blacklist.ValidName("campaign id", name) == nil {
				found = append(found, name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding campaigns with statistics: %w", err)
	}
	return found, nil
}

// Query selects blocked calls from the log, newest first.
type Query struct {
	Campaign string // only this folded campaign id; "" for every one
	List     string // only blocks by this list; "" for every one
	// From and To bound the calls' time; zero means unbounded.
	From, To time.Time
	// Count is the most calls returned: DefaultCount when 0, at most
	// MaxCount.
	Count int64
	// Before continues a listing: the next cursor a previous call returned.
	Before string
}

// Blocked returns blocked calls from the log, newest first, and the cursor
// of the next page (Query.Before), or "" when the log holds no more. A
// filtered page can come back short of Count with a cursor: past 20000
// entries read, Blocked returns what it found rather than read on.
func Blocked(ctx context.Context, rdb redis.UniversalClient, keys blacklist.Keys, q Query) (calls []BlockedCall, next string, err error) {
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		return nil, "", fmt.Errorf("blocked calls from %s to %s: %w: from is after to",
			q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), ErrInvalidWindow)
	}
	count := q.Count
	if count <= 0 {
		count = DefaultCount
	}
	count = min(count, MaxCount)
	end, start := "+", "-"
	switch {
	case q.Before != "":
		if !ValidCursor(q.Before) {
			return nil, "", fmt.Errorf("cursor %q: %w: want a stream ID such as 1700000000000-0", q.Before, ErrInvalidCursor)
		}
		end = "(" + q.Before
	case !q.To.IsZero():
		end = formatMillis(q.To.Add(timeSlack))
	}
	if !q.From.IsZero() {
		start = formatMillis(q.From.Add(-timeSlack))
	}
	stream := BlockedKey(keys)
	for read := 0; read < scanBudget; {
		msgs, err := rdb.XRevRangeN(ctx, stream, end, start, scanChunk).Result()
		if err != nil {
			return nil, "", fmt.Errorf("reading the blocked-call log %s: %w", stream, err)
		}
		for i, m := range msgs {
			c := parseCall(m)
			if !q.matches(c) {
				continue
			}
			calls = append(calls, c)
			if int64(len(calls)) == count {
				if i == len(msgs)-1 && len(msgs) < scanChunk {
					return calls, "", nil
				}
				return calls, m.ID, nil
			}
		}
		if len(msgs) < scanChunk {
			return calls, "", nil
		}
		read += len(msgs)
		end = "(" + msgs[len(msgs)-1].ID
	}
	return calls, end[1:], nil
}

// matches reports whether c passes the query's filters.
func (q *Query) matches(c BlockedCall) bool {
	return (q.Campaign == "" || c.Campaign == q.Campaign) &&
		(q.List == "" || c.List == q.List) &&
		(q.From.IsZero() || !c.At.Before(q.From)) &&
		(q.To.IsZero() || !c.At.After(q.To))
}

// parseCall reads a stream entry. A field that is missing or not a string
// is left empty; a bad time is zero.
func parseCall(m redis.XMessage) BlockedCall {
	str := func(k string) string {
		s, _ := m.Values[k].(string)
		return s
	}
	c := BlockedCall{
		ID:       m.ID,
		Campaign: str("campaign"),
		Number:   str("number"),
		Dialed:   str("dialed"),
		List:     str("list"),
		Entry:    str("entry"),
		Reason:   str("reason"),
		UniqueID: str("uniqueid"),
		Channel:  str("channel"),
		Instance: str("instance"),
		Status:   str("status"),
	}
	if t, err := time.Parse(time.RFC3339Nano, str("time")); err == nil {
		c.At = t
	}
	return c
}

// ValidCursor reports whether s is a complete stream ID, <ms>-<seq>, each
// a decimal uint64: the cursors Blocked returns.
func ValidCursor(s string) bool {
	ms, seq, ok := strings.Cut(s, "-")
	return ok && decimalUint64(ms) && decimalUint64(seq)
}

func decimalUint64(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// formatMillis writes Unix milliseconds as a stream ID bound.
func formatMillis(t time.Time) string {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return strconv.FormatInt(ms, 10)
}
