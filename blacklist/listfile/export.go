package listfile

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
)

// ExportHeader is the header of the CSV file of a plain list's export. A
// compact list, which holds numbers and nothing else, is exported under the
// header "member" alone.
var ExportHeader = []string{"member", "reason", "source", "added_by", "added_at", "expires_at", "note"}

// exportPage is how many members one SSCAN (or SCAN, for a compact list's
// buckets) asks for.
const exportPage = 1000

// Export writes the entries of the list l to w as CSV, and returns how many
// it wrote.
//
// A plain list is read page by page with SSCAN, each page's metadata with
// one HMGET of its metadata hash and its expiries with one ZMSCORE of its
// expiry index, in one round trip per page; every entry is a row under
// ExportHeader, times in RFC 3339 (UTC), expires_at empty for an entry that
// never expires. Entries past their expiry (which no longer block, and wait
// for the sweeper) are left out. As SSCAN goes, an entry added or removed
// during the export may be missing, and an entry may be written twice if
// the set is resized during the export.
//
// A compact list is read bucket by bucket (SCAN of its live version's keys,
// then SMEMBERS of each small bucket, a page of buckets per round trip):
// one number per row under the header "member", in no useful order. If the
// list is replaced during the export, what was written mixes two versions
// and the error matches blacklist.ErrListReplaced: export again.
//
// No command that blocks Redis on a big key is sent.
func Export(ctx context.Context, rdb redis.UniversalClient, l blacklist.List, w io.Writer) (int64, error) {
	if l.Key == "" {
		return 0, fmt.Errorf("export of list %q: %w: no Redis key", l.Name, ErrOption)
	}
	if err := blacklist.ValidLayout(l.Layout); err != nil {
		return 0, fmt.Errorf("export of %s: %w", l.Key, err)
	}
	if l.Compact() {
		bw := bufio.NewWriterSize(w, 64<<10)
		n, err := exportCompact(ctx, rdb, l, bw)
		if ferr := bw.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("export of %s: writing: %w", l.Key, ferr)
		}
		return n, err
	}
	cw := csv.NewWriter(w)
	n, err := exportPlain(ctx, rdb, l, cw)
	cw.Flush()
	if ferr := cw.Error(); err == nil && ferr != nil {
		err = fmt.Errorf("export of %s: writing: %w", l.Key, ferr)
	}
	return n, err
}

func exportPlain(ctx context.Context, rdb redis.UniversalClient, l blacklist.List, cw *csv.Writer) (int64, error) {
	if err := cw.Write(ExportHeader); err != nil {
		return 0, fmt.Errorf("export of %s: writing: %w", l.Key, err)
	}
	var (
		n      int64
		cursor uint64
		row    = make([]string, len(ExportHeader))
		now    = time.Now()
	)
	for {
		members, next, err := rdb.SScan(ctx, l.Key, cursor, "", exportPage).Result()
		if err != nil {
			return n, fmt.Errorf("export of %s: SSCAN: %w", l.Key, err)
		}
		if len(members) > 0 {
			var metas *redis.SliceCmd
			var scores *redis.FloatSliceCmd
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				metas = p.HMGet(ctx, blacklist.MetaKey(l.Key), members...)
				scores = p.ZMScore(ctx, blacklist.ExpiryKey(l.Key), members...)
				return nil
			})
			if err != nil {
				return n, fmt.Errorf("export of %s: reading metadata: %w", l.Key, err)
			}
			exp := scores.Val()
			for i, m := range members {
				var meta blacklist.Meta
				if s, ok := metas.Val()[i].(string); ok {
					meta = blacklist.UnmarshalMeta(s)
				}
				var expires time.Time
				if i < len(exp) && exp[i] != 0 && exp[i] < neverExpires {
					expires = scoreTime(exp[i])
					if !now.Before(expires) {
						continue // expired: it no longer blocks
					}
				}
				row[0], row[1], row[2], row[3] = m, meta.Reason, meta.Source, meta.AddedBy
				row[4], row[5], row[6] = formatTime(meta.AddedAt), formatTime(expires), meta.Note
				if err := cw.Write(row); err != nil {
					return n, fmt.Errorf("export of %s: writing: %w", l.Key, err)
				}
				n++
			}
		}
		if cursor = next; cursor == 0 {
			return n, nil
		}
	}
}

// neverExpires is an expiry score (Unix seconds) past which an entry is
// taken never to expire, as +inf is: beyond what time.Time holds in
// nanoseconds.
const neverExpires = math.MaxInt64 / 1e9

// scoreTime returns the time of an expiry score (Unix seconds, possibly
// with a fraction).
func scoreTime(f float64) time.Time {
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func exportCompact(ctx context.Context, rdb redis.UniversalClient, l blacklist.List, w *bufio.Writer) (int64, error) {
	if _, err := w.WriteString("member\n"); err != nil {
		return 0, fmt.Errorf("export of %s: writing: %w", l.Key, err)
	}
	ver, err := liveVersion(ctx, rdb, l.Key, false)
	if err != nil || ver == "" {
		return 0, err
	}
	prefix := blacklist.BucketKey(l.Key, ver, "")
	pattern := globEscape(prefix) + "*"
	var (
		n    int64
		line []byte
	)
	// On a Redis Cluster, the buckets live on the master of the list (they
	// share its hash tag), which ScanListKeys scans.
	err = blacklist.ScanListKeys(ctx, rdb, l.Key, pattern, exportPage, func(keys []string) error {
		var buckets []string
		var cmds []*redis.StringSliceCmd
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				if b := strings.TrimPrefix(k, prefix); isDigits(b) {
					buckets = append(buckets, b)
					cmds = append(cmds, p.SMembers(ctx, k))
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading buckets: %w", err)
		}
		for i, c := range cmds {
			for _, m := range c.Val() {
				v, err := strconv.ParseUint(m, 10, 64)
				if err != nil || v >= 10000 {
					continue // not written by a compact import or add
				}
				line = append(line[:0], buckets[i]...)
				line = append(line, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10), '\n')
				if _, err := w.Write(line); err != nil {
					return fmt.Errorf("writing: %w", err)
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("export of %s: %w", l.Key, err)
	}
	now, err := liveVersion(ctx, rdb, l.Key, false)
	if err != nil {
		return n, err
	}
	if now != ver {
		return n, fmt.Errorf("export of %s: %w: version %s when it started, %s now", l.Key, blacklist.ErrListReplaced, ver, now)
	}
	return n, nil
}
