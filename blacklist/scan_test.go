package blacklist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// collect returns a page-collecting fn and the keys it has seen, sorted
// and without SCAN's duplicates.
func collect() (fn func([]string) error, seen func() []string) {
	var all []string
	return func(keys []string) error {
			all = append(all, keys...)
			return nil
		}, func() []string {
			out := slices.Clone(all)
			slices.Sort(out)
			return slices.Compact(out)
		}
}

func TestScanKeys(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	ctx := context.Background()
	var hashes, sets []string
	for i := range 40 {
		h, s := fmt.Sprintf("%sh:%02d", prefix, i), fmt.Sprintf("%ss:%02d", prefix, i)
		if err := rdb.HSet(ctx, h, "checked", 1).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.SAdd(ctx, s, "5511987654321").Err(); err != nil {
			t.Fatal(err)
		}
		hashes, sets = append(hashes, h), append(sets, s)
	}
	all := append(slices.Clone(hashes), sets...)
	slices.Sort(all)

	for _, c := range []struct {
		name, match, keyType string
		count                int64
		want                 []string
	}{
		{"every key under the prefix", GlobEscape(prefix) + "*", "", 5, all},
		{"default count", GlobEscape(prefix) + "*", "", 0, all},
		{"hashes only", GlobEscape(prefix) + "*", "hash", 5, hashes},
		{"sets by pattern", GlobEscape(prefix) + "s:*", "", 1000, sets},
		{"sets by type", GlobEscape(prefix) + "*", "set", 1000, sets},
		{"type without such keys", GlobEscape(prefix) + "*", "zset", 5, nil},
		{"pattern without such keys", GlobEscape(prefix) + "none:*", "", 5, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			fn, seen := collect()
			if err := ScanKeys(ctx, rdb, c.match, c.keyType, c.count, fn); err != nil {
				t.Fatalf("ScanKeys(%q, %q): %v", c.match, c.keyType, err)
			}
			if got := seen(); !slices.Equal(got, c.want) {
				t.Errorf("ScanKeys(%q, %q) saw %d keys, want %d:\n got %q\nwant %q", c.match, c.keyType, len(got), len(c.want), got, c.want)
			}
		})
	}

	t.Run("fn's error stops the scan", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := ScanKeys(ctx, rdb, GlobEscape(prefix)+"*", "", 1, func([]string) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("ScanKeys with a failing fn = %v after %d calls; want its error after 1", err, calls)
		}
	})

	t.Run("Redis's error", func(t *testing.T) {
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		fn, _ := collect()
		if err := ScanKeys(canceled, rdb, GlobEscape(prefix)+"*", "", 5, fn); !errors.Is(err, context.Canceled) {
			t.Errorf("ScanKeys with a canceled context = %v, want context.Canceled", err)
		}
	})
}

func TestScanListKeys(t *testing.T) {
	rdb := redistest.Client(t)
	keys := Keys{Prefix: redistest.Prefix(t, rdb)}
	ctx := context.Background()
	list := keys.Shared("national")
	odd := keys.Prefix + "odd[1]*" // a key that Redis's globs read specially
	var want, wantOdd []string
	for i := range 30 {
		bucket := fmt.Sprint(551198760 + i)
		for _, k := range []string{
			BucketKey(list, "7", bucket),                     // wanted
			BucketKey(list, "8", bucket),                     // another version
			BucketKey(keys.Shared("national2"), "7", bucket), // another list whose key starts alike
			BucketKey(odd, "7", bucket),
		} {
			if err := rdb.SAdd(ctx, k, i).Err(); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, BucketKey(list, "7", bucket))
		wantOdd = append(wantOdd, BucketKey(odd, "7", bucket))
	}
	slices.Sort(want)
	slices.Sort(wantOdd)

	for _, c := range []struct {
		name, list, match string
		want              []string
	}{
		{"one version's buckets", list, GlobEscape(BucketKey(list, "7", "")) + "*", want},
		{"some buckets", list, GlobEscape(BucketKey(list, "7", "55119876")) + "[0-4]", want[:5]},
		{"a key with glob characters", odd, GlobEscape(BucketKey(odd, "7", "")) + "*", wantOdd},
		{"no such version", list, GlobEscape(BucketKey(list, "9", "")) + "*", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			fn, seen := collect()
			if err := ScanListKeys(ctx, rdb, c.list, c.match, 4, fn); err != nil {
				t.Fatalf("ScanListKeys(%s, %q): %v", c.list, c.match, err)
			}
			if got := seen(); !slices.Equal(got, c.want) {
				t.Errorf("ScanListKeys(%s, %q) saw %d keys, want %d:\n got %q\nwant %q", c.list, c.match, len(got), len(c.want), got, c.want)
			}

			// The same keys page by page, the cursor handed back each time.
			var pages []string
			cursor, calls := uint64(0), 0
			for {
				page, next, err := ScanListPage(ctx, rdb, c.list, cursor, c.match, 4)
				if err != nil {
					t.Fatalf("ScanListPage(%s, %d, %q): %v", c.list, cursor, c.match, err)
				}
				pages = append(pages, page...)
				if cursor = next; cursor == 0 {
					break
				}
				if calls++; calls > 10000 {
					t.Fatal("ScanListPage never ends")
				}
			}
			slices.Sort(pages)
			if pages = slices.Compact(pages); !slices.Equal(pages, c.want) {
				t.Errorf("ScanListPage(%s, %q) saw %d keys, want %d", c.list, c.match, len(pages), len(c.want))
			}
		})
	}

	t.Run("patterns outside the list", func(t *testing.T) {
		for _, c := range []struct{ list, match string }{
			{list, ""},
			{list, "*"},
			{list, GlobEscape(keys.Prefix) + "*"},
			{list, GlobEscape(keys.Shared("spam")) + ":*"},
			{list, list[:len(list)-1] + "*"},
			{odd, odd + ":*"}, // unescaped: "[1]*" is a class and a star
			{"", "*"},
		} {
			fn, seen := collect()
			if err := ScanListKeys(ctx, rdb, c.list, c.match, 10, fn); !errors.Is(err, ErrScanOutsideList) {
				t.Errorf("ScanListKeys(%q, %q) = %v, want ErrScanOutsideList", c.list, c.match, err)
			}
			if got := seen(); len(got) > 0 {
				t.Errorf("ScanListKeys(%q, %q) passed %d keys", c.list, c.match, len(got))
			}
			if _, _, err := ScanListPage(ctx, rdb, c.list, 0, c.match, 10); !errors.Is(err, ErrScanOutsideList) {
				t.Errorf("ScanListPage(%q, %q) = %v, want ErrScanOutsideList", c.list, c.match, err)
			}
		}
	})

	t.Run("fn's error stops the scan", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := ScanListKeys(ctx, rdb, list, GlobEscape(list)+"*", 1, func([]string) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("ScanListKeys with a failing fn = %v after %d calls; want its error after 1", err, calls)
		}
	})

	t.Run("Redis's error", func(t *testing.T) {
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := ScanListPage(canceled, rdb, list, 0, GlobEscape(list)+"*", 10); !errors.Is(err, context.Canceled) {
			t.Errorf("ScanListPage with a canceled context = %v, want context.Canceled", err)
		}
	})
}
