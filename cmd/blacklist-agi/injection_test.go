package main_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
)

// TestCLIHostileInput runs the list commands with hostile campaign ids,
// list names and entries (separators, quotes, line breaks, globs, hash-tag
// braces, key separators; NUL cannot be an argument): each is refused with
// an exit code that is not 0 and an error that names it, a check with such
// a campaign id uses the defaults, and no key under the prefix changes.
func TestCLIHostileInput(t *testing.T) {
	c := newCLI(t, map[string]string{"promo.yaml": "lists: [spam]\n"})
	c.must(0, "add", "--campaign", "promo", "5511987654321")
	ctx := context.Background()
	keySpace := func() map[string]string {
		out := map[string]string{}
		iter := c.rdb.Scan(ctx, 0, blacklist.GlobEscape(c.keys.Prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			out[iter.Val()] = c.rdb.Dump(ctx, iter.Val()).Val()
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := keySpace()
	// Each run of the binary costs a process start: the values are few,
	// and the entries go in one command.
	values := []string{"zq promo\n", `zq"*?[a]\`, "{zq}:promo", strings.Repeat("zq", 100)}
	for _, v := range values {
		for _, args := range [][]string{
			{"add", "--campaign", v, "5511987654322"},
			{"add", "--list", v, "5511987654322"},
		} {
			out, errOut, code := c.run("", args...)
			if code == 0 || !strings.Contains(out+errOut, strconv.Quote(v)) {
				t.Errorf("blacklist-agi %.80q: exit %d, want a refusal naming %s\nstdout: %.300s\nstderr: %.300s", args, code, strconv.Quote(v), out, errOut)
			}
		}
	}
	out, errOut, code := c.run("", append([]string{"add", "--campaign", "promo"}, values...)...)
	if code == 0 {
		t.Errorf("add of hostile entries: exit 0\n%s%s", out, errOut)
	}
	for _, v := range values {
		if !strings.Contains(out+errOut, strconv.Quote(v)) {
			t.Errorf("add of hostile entries: %s not named\nstdout: %.500s\nstderr: %.500s", strconv.Quote(v), out, errOut)
		}
	}
	// A check with a hostile campaign id gets the defaults.
	if out, errOut, code := c.run("", "check", "--campaign", values[1], "5511987654323"); code != 0 {
		t.Errorf("check --campaign %q: exit %d\n%s%s", values[1], code, out, errOut)
	}
	if after := keySpace(); !maps.Equal(before, after) {
		t.Errorf("hostile commands changed the key space:\nbefore %q\nafter  %q", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
}
