package adminapi

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// hostileInputs are list names, entries, patterns and campaign ids that try
// to reach another key or list: separators, quotes, line breaks, NUL, glob
// characters, hash-tag braces and a long value. Each holds "zq", which no
// real key holds.
var hostileInputs = []string{
	"zq promo", `zq"promo`, "zq'promo", "zq\npromo", "zq\r\npromo", "zq\x00", "zq*", "*zq", "zq?", "zq[a-z]",
	`zq\*`, "zq{promo}", "{zq}", "zq}:promo", "zq:promo", "zq/../promo", "zq%2F", "zq\tx", strings.Repeat("zq", 100),
}

// keySpace returns every key under the fixture's prefix with its DUMP.
func (f *fixture) keySpace() map[string]string {
	f.t.Helper()
	return redistest.Dump(f.t, f.rdb, blacklist.GlobEscape(f.keys.Prefix)+"*")
}

// markedKeys returns the keys of the whole database that hold "zq".
func (f *fixture) markedKeys() []string {
	f.t.Helper()
	return redistest.Keys(f.t, f.rdb, "*zq*")
}

// namesInput reports whether msg names the input s, quoted as %q does (or
// says that it is too long).
func namesInput(msg, s string) bool {
	return strings.Contains(msg, strconv.Quote(s)) || strings.Contains(msg, "at most")
}

// TestHostileRoutes sends every hostile input as a list name, an entry, a
// search, a scan pattern and a campaign id to every route that takes one:
// each is refused with 400 or 404 and an error that names it (or, for a
// scan pattern, filters the list's own entries only; a remove refuses the
// entry with 422 and a result naming it), and no key changes.
func TestHostileRoutes(t *testing.T) {
	f := newFixture(t, nil)
	f.sadd(f.keys.Campaign("promo"), "5511987654321")
	f.sadd(f.keys.Shared("spam"), "5511911112222")
	before := f.keySpace()
	for _, s := range hostileInputs {
		p, q := url.PathEscape(s), url.QueryEscape(s)
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/lists/campaign/" + p, nil},
			{"GET", "/api/v1/lists/shared/" + p, nil},
			{"GET", "/api/v1/lists/campaign/" + p + "/entries", nil},
			{"GET", "/api/v1/lists/shared/" + p + "/entries/search?q=5511*", nil},
			{"POST", "/api/v1/lists/campaign/" + p + "/entries", map[string]any{"entries": []string{"5511987654321"}}},
			{"POST", "/api/v1/lists/shared/" + p + "/entries", map[string]any{"entries": []string{"5511987654321"}}},
			{"DELETE", "/api/v1/lists/campaign/" + p + "/entries/5511987654321", nil},
			{"GET", "/api/v1/lists/campaign/" + p + "/audit", nil},
			{"GET", "/api/v1/lists/campaign/" + p + "/export", nil},
			{"POST", "/api/v1/lists/campaign/" + p + "/import", nil},
			{"GET", "/api/v1/lists/campaign/promo/entries/" + p, nil},
			{"DELETE", "/api/v1/lists/campaign/promo/entries/" + p, nil},
			{"GET", "/api/v1/lists/campaign/promo/entries/search?q=" + q, nil},
			{"GET", "/api/v1/lists/shared/nao-me-perturbe/entries/search?q=" + q, nil},
			{"GET", "/api/v1/lists/shared/nao-me-perturbe/entries/" + p, nil},
			{"GET", "/api/v1/lists/campaign/promo/entries?cursor=" + q, nil},
			{"GET", "/api/v1/stats?campaign=" + q, nil},
			{"GET", "/api/v1/stats?campaign=promo," + q, nil},
			{"GET", "/api/v1/blocked?campaign=" + q, nil},
			{"GET", "/api/v1/blocked?list=" + q, nil},
			{"GET", "/api/v1/check?campaign=promo&number=" + q, nil},
		} {
			what := tc.method + " " + tc.path
			var r reply
			if tc.method == "POST" && strings.HasSuffix(tc.path, "/import") {
				r = f.do("POST", tc.path, "text/plain", strings.NewReader("5511987654321\n"))
			} else {
				r = f.call(tc.method, tc.path, tc.body)
			}
			switch r.status {
			case http.StatusBadRequest:
				if msg := r.errorMessage(t); !namesInput(msg, s) {
					t.Errorf("%.120q: error %.300q does not name the input", what, msg)
				}
			case http.StatusNotFound:
			case http.StatusUnprocessableEntity:
				// A remove answers each entry: all refused, naming it.
				var ans struct{ Results []entryResult }
				r.decode(t, &ans)
				if len(ans.Results) != 1 || ans.Results[0].Result != resultRefused || !namesInput(ans.Results[0].Reason, s) {
					t.Errorf("%.120q: results %+v, want the entry refused naming it", what, ans.Results)
				}
			default:
				t.Errorf("%.120q: status %d, want 400, 404 or 422; body %.300s", what, r.status, r.body)
			}
		}

		// A scan pattern is a glob by design: it filters the list's own
		// entries and nothing else.
		r := f.call("GET", "/api/v1/lists/campaign/promo/entries?match="+q, nil)
		if r.status == http.StatusOK {
			var page struct{ Entries []string }
			r.decode(t, &page)
			if slices.ContainsFunc(page.Entries, func(e string) bool { return e != "5511987654321" }) {
				t.Errorf("match %.40q: entries %q", s, page.Entries)
			}
		} else if r.status != http.StatusBadRequest {
			t.Errorf("match %.40q: status %d; body %.300s", s, r.status, r.body)
		}

		// A check with a hostile campaign id uses the defaults and writes
		// nothing.
		r = f.call("GET", "/api/v1/check?campaign="+q+"&number=5511987654321", nil)
		if r.status != http.StatusOK {
			t.Errorf("check with campaign %.40q: status %d; body %.300s", s, r.status, r.body)
		}
	}
	if after := f.keySpace(); !maps.Equal(before, after) {
		t.Errorf("hostile requests changed the key space:\nbefore %q\nafter  %q", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
	if marked := f.markedKeys(); len(marked) > 0 {
		t.Errorf("keys built from hostile input: %q", marked)
	}
}

// TestHostileEntriesAndTextStayLiteral adds hostile entries with a hostile
// reason, note and by to a list: each entry is refused naming it, or
// normalized to digits; the text is stored literally; only the list's own
// keys (its hash tag) change.
func TestHostileEntriesAndTextStayLiteral(t *testing.T) {
	f := newFixture(t, nil)
	before := f.keySpace()
	text := "zq \"quoted\" \r\n\x00 * ? [a] \\ {promo} : " + strings.Repeat("x", 300)
	entries := append(slices.Clone(hostileInputs), "5511987654321", "55 (11) 98765-4322", "5511*", "5511\n987654323")
	r := f.call("POST", "/api/v1/lists/campaign/promo/entries", map[string]any{
		"entries": entries, "reason": text, "note": text, "by": text,
	})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d; body %.500s", r.status, r.body)
	}
	var ans struct {
		Results []entryResult `json:"results"`
	}
	r.decode(t, &ans)
	if len(ans.Results) != len(entries) {
		t.Fatalf("%d results for %d entries: %.500s", len(ans.Results), len(entries), r.body)
	}
	var stored []string
	for i, res := range ans.Results {
		switch {
		case res.Result == resultRefused:
			if !namesInput(res.Reason, entries[i]) {
				t.Errorf("entry %.40q refused with %q: does not name it", entries[i], res.Reason)
			}
		case blacklist.ValidEntry(res.Entry) == nil && !strings.Contains(res.Entry, "zq"):
			stored = append(stored, res.Entry)
		default:
			t.Errorf("entry %.40q: result %+v", entries[i], res)
		}
	}
	if !slices.Contains(stored, "5511987654321") || !slices.Contains(stored, "5511987654322") {
		t.Errorf("valid entries not stored: %q", stored)
	}
	for _, e := range stored {
		got, err := blacklist.NewStore(f.rdb, f.keys).Lookup(context.Background(), blacklist.CampaignList(f.keys, "promo"), e)
		if err != nil || !got.Present || got.Meta.Reason != text || got.Meta.Note != text {
			t.Errorf("entry %s: %+v, %v: want it present with the reason and note as sent", e, got, err)
		}
	}
	for k := range f.keySpace() {
		if _, ok := before[k]; !ok && !strings.Contains(k, "{promo}") {
			t.Errorf("key %q created outside the list's hash tag {promo}", k)
		}
	}
	if marked := f.markedKeys(); len(marked) > 0 {
		t.Errorf("keys built from hostile input: %q", marked)
	}
}
