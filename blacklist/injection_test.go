package blacklist_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// hostile are names and entries that try to reach another key or list:
// separators, quotes, line breaks, NUL, glob characters, hash-tag braces and
// values longer than any name or entry.
var hostile = []string{
	"a b", `a"b`, "a'b", "a\nb", "a\rb", "a\x00b", "*", "a*", "?", "a?", "[a-z]", "a[b]", `a\b`, `a\*`,
	"{a}", "a}", "{a", "a}:b", "a:b", ":a", "a/../b", "a\tb", "$[1]", strings.Repeat("a", 65), strings.Repeat("5", 100000),
	"5511*9", "55 11", "+5511987654321", "5511987654321\n", "5511\x00", "55{11}", "55:11", "٥٥", "５５",
}

// keySpace returns every key under prefix with its DUMP, so that any
// change to a key shows.
func keySpace(t *testing.T, rdb *redis.Client, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	iter := rdb.Scan(ctx, 0, blacklist.GlobEscape(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		out[iter.Val()] = rdb.Dump(ctx, iter.Val()).Val()
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostileNamesRefused checks that no hostile string passes as a
// campaign id or list name, and that the error names it.
func TestHostileNamesRefused(t *testing.T) {
	for _, s := range hostile {
		err := blacklist.ValidName("campaign id", s)
		if !errors.Is(err, blacklist.ErrInvalidName) {
			t.Errorf("ValidName(%.40q) = %v, want ErrInvalidName", s, err)
			continue
		}
		if !strings.Contains(err.Error(), "campaign id "+strconv.Quote(s)) {
			t.Errorf("ValidName(%.40q): error %.200q does not name the value", s, err)
		}
	}
	if err := (blacklist.Keys{Prefix: "bl:{x}:"}).Validate(); !errors.Is(err, blacklist.ErrInvalidName) {
		t.Errorf("a prefix with a hash tag: %v", err)
	}
}

// TestHostileEntriesNeverWritten adds, looks up and searches hostile entries
// in a plain and a compact list: each is refused with an error naming it,
// and no key under the prefix is created or changed.
func TestHostileEntriesNeverWritten(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	keys := blacklist.Keys{Prefix: redistest.Prefix(t, rdb)}
	store := blacklist.NewStore(rdb, keys)
	plain := blacklist.CampaignList(keys, "promo")
	compact := blacklist.SharedListLayout(keys, "national", blacklist.LayoutCompact)
	for _, l := range []blacklist.List{plain, compact} {
		if _, err := store.Add(ctx, l, []string{"5511987654321"}, blacklist.AddOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	before := keySpace(t, rdb, keys.Prefix)
	for _, l := range []blacklist.List{plain, compact} {
		for _, e := range hostile {
			res, err := store.Add(ctx, l, []string{e}, blacklist.AddOptions{Meta: blacklist.Meta{Reason: e}})
			if err != nil {
				t.Fatalf("%s: Add(%.40q): %v", l.Name, e, err)
			}
			if len(res.Added)+len(res.Present) > 0 || len(res.Refused) != 1 ||
				!errors.Is(res.Refused[0].Err, blacklist.ErrInvalidEntry) || !strings.Contains(res.Refused[0].Reason, strconv.Quote(e)) {
				t.Errorf("%s: Add(%.40q) = %+v: want it refused, naming it", l.Name, e, res)
			}
			if _, err := store.Lookup(ctx, l, e); !errors.Is(err, blacklist.ErrInvalidEntry) {
				t.Errorf("%s: Lookup(%.40q): %v, want ErrInvalidEntry", l.Name, e, err)
			}
			if _, err := store.Search(ctx, l, e, 10); !errors.Is(err, blacklist.ErrInvalidEntry) {
				t.Errorf("%s: Search(%.40q): %v, want ErrInvalidEntry", l.Name, e, err)
			}
			// A scan's match is a glob by design: it only filters the
			// list's own entries.
			entries, _, err := store.Scan(ctx, l, "", e, 100)
			if err == nil && slices.ContainsFunc(entries, func(got string) bool { return got != "5511987654321" }) {
				t.Errorf("%s: Scan(match %.40q) = %q: not the list's entries", l.Name, e, entries)
			}
		}
	}
	if after := keySpace(t, rdb, keys.Prefix); !maps.Equal(before, after) {
		t.Errorf("hostile entries changed the key space:\nbefore %q\nafter  %q", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
}

// TestGlobEscapeMatchesItselfOnly checks GlobEscape against Redis's own
// matcher: SCAN and SSCAN with the escaped string find that string only,
// among keys and members that differ by the glob characters.
func TestGlobEscapeMatchesItselfOnly(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	names := []string{"a", "ab", "a*", "a?", "ax", "a[b]", "ab]", "[a]", `a\`, `a\b`, `a\*`, "a]", "a[", "*", "?", "", "a b", "a\nb", "{a}", "a}:b", "a^b", "a-b", "[^a]", "b"}
	set := prefix + "set"
	for _, n := range names {
		if err := rdb.Set(ctx, prefix+"k:"+n, "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.SAdd(ctx, set, "m:"+n).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		var got []string
		iter := rdb.Scan(ctx, 0, blacklist.GlobEscape(prefix+"k:"+n), 1000).Iterator()
		for iter.Next(ctx) {
			got = append(got, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []string{prefix + "k:" + n}) {
			t.Errorf("SCAN MATCH GlobEscape(%q) found %q", n, got)
		}
		members, _, err := rdb.SScan(ctx, set, 0, blacklist.GlobEscape("m:"+n), 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(members, []string{"m:" + n}) {
			t.Errorf("SSCAN MATCH GlobEscape(%q) found %q", n, members)
		}
	}
}

// TestListsIgnoresKeysWithHostileNames plants keys whose names would be
// hostile list names (written with redis-cli, say): Lists never reports
// them, so no command is built on them.
func TestListsIgnoresKeysWithHostileNames(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	keys := blacklist.Keys{Prefix: redistest.Prefix(t, rdb)}
	store := blacklist.NewStore(rdb, keys)
	if _, err := store.Add(ctx, blacklist.CampaignList(keys, "promo"), []string{"5511987654321"}, blacklist.AddOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a b", "*", "a}:b", "{x}", "a\nb", "a:b", "", strings.Repeat("a", 65)} {
		for _, key := range []string{keys.Prefix + "campaign:{" + name + "}", keys.Prefix + "list:{" + name + "}"} {
			if err := rdb.SAdd(ctx, key, "5511987654321").Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := rdb.Set(ctx, keys.Prefix+"list:{"+name+"}:version", "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	lists, err := store.Lists(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(lists) != 1 || lists[0].Name != "promo" || lists[0].Key != keys.Campaign("promo") {
		t.Errorf("Lists found %+v, want the campaign promo only", lists)
	}
}
