package adminapi

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/manage"
)

const spam = "/api/v1/lists/shared/spam"

func TestLists(t *testing.T) {
	f := newFixture(t, nil)
	f.sadd(f.keys.Shared("spam"), "5511987654321", "55900*")
	f.sadd(f.keys.Campaign("stray"), "2001") // in Redis, not in the config

	var all struct {
		Lists []listView `json:"lists"`
	}
	f.call("GET", "/api/v1/lists", nil).want(t, 200).decode(t, &all)
	byName := map[string]listView{}
	for _, l := range all.Lists {
		byName[l.Kind+"/"+l.Name] = l
	}
	tests := []struct {
		id               string
		size             int64
		layout           string
		usedBy           []string
		declared, exists bool
	}{
		{id: "shared/spam", size: 2, layout: "plain", usedBy: []string{"promo"}, declared: true, exists: true},
		{id: "shared/optout", layout: "plain", usedBy: []string{}, declared: true},
		{id: "shared/nao-me-perturbe", layout: "compact", usedBy: []string{"promo"}, declared: true},
		{id: "campaign/promo", layout: "plain", usedBy: []string{"promo"}, declared: true},
		{id: "campaign/stray", size: 1, layout: "plain", usedBy: []string{"stray"}, exists: true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			l, ok := byName[tt.id]
			if !ok {
				t.Fatalf("not listed; lists: %+v", all.Lists)
			}
			if l.Size != tt.size || l.Layout != tt.layout || !slices.Equal(l.UsedBy, tt.usedBy) ||
				l.Declared != tt.declared || l.Exists != tt.exists {
				t.Errorf("got %+v, want size %d layout %s used by %v declared %v exists %v",
					l, tt.size, tt.layout, tt.usedBy, tt.declared, tt.exists)
			}
		})
	}

	var st listView
	f.call("GET", spam, nil).want(t, 200).decode(t, &st)
	if st.Size != 2 || st.Reason != "spam" || st.Key != f.keys.Shared("spam") || !st.Declared {
		t.Errorf("stat of spam: %+v", st)
	}
	f.call("GET", "/api/v1/lists/campaign/promo", nil).want(t, 200).decode(t, &st)
	if st.Kind != "campaign" || st.Name != "promo" || st.Size != 0 {
		t.Errorf("stat of campaign promo: %+v", st)
	}
}

func TestUnknownLists(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		method, path string
		status       int
		says         string
	}{
		{"GET", "/api/v1/lists/shared/nosuch", 404, `"nosuch"`},
		{"GET", "/api/v1/lists/shared/nosuch/entries", 404, "unknown shared list"},
		{"POST", "/api/v1/lists/shared/nosuch/entries", 404, "unknown shared list"},
		{"GET", "/api/v1/lists/shared/nosuch/export", 404, "unknown shared list"},
		{"POST", "/api/v1/lists/shared/nosuch/import", 404, "unknown shared list"},
		{"GET", "/api/v1/lists/people/promo", 404, `list kind "people"`},
		{"GET", "/api/v1/lists/campaign/bad%7Bname", 400, "campaign id"},
		{"GET", "/api/v1/nosuch", 404, "no route"},
		{"GET", "/", 404, "no route"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := f.call(tt.method, tt.path, nil).want(t, tt.status)
			if msg := r.errorMessage(t); !strings.Contains(msg, tt.says) {
				t.Errorf("error %q does not say %q", msg, tt.says)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, nil)
	r := f.call("PUT", spam+"/entries", nil).want(t, 405)
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "POST") || !strings.Contains(allow, "DELETE") {
		t.Errorf("Allow %q, want POST and DELETE among them", allow)
	}
	if msg := r.errorMessage(t); !strings.Contains(msg, "PUT") {
		t.Errorf("error %q does not name the method", msg)
	}
}

// results maps each input of an add or a remove to its result and reason.
func results(rs []entryResult) map[string]entryResult {
	m := map[string]entryResult{}
	for _, r := range rs {
		m[r.Input] = r
	}
	return m
}

func TestAddEntries(t *testing.T) {
	f := newFixture(t, nil)
	queue := f.cfg.KeyPrefix + "dialer:queue:promo"
	if err := f.rdb.RPush(context.Background(), queue, "5511987654321", "5511900000000").Err(); err != nil {
		t.Fatal(err)
	}
	f.sadd(f.keys.Shared("spam"), "5521988887777")

	var add addAnswer
	r := f.call("POST", spam+"/entries", map[string]any{
		"entries": []string{"(11) 98765-4321", "021 98888-7777", "+55 11 98765 4321", "banana", "55900*"},
		"note":    "ticket 4521", "by": "maria",
	}).want(t, 422)
	r.decode(t, &add)
	if !strings.Contains(add.Error, "1 of 5 entries refused") {
		t.Errorf("error %q", add.Error)
	}
	got := results(add.Results)
	want := map[string]entryResult{
		"(11) 98765-4321":   {Entry: "5511987654321", Result: "added"},
		"021 98888-7777":    {Entry: "5521988887777", Result: "present"},
		"+55 11 98765 4321": {Entry: "5511987654321", Result: "duplicate"},
		"banana":            {Result: "refused"},
		"55900*":            {Entry: "55900*", Result: "added"},
	}
	for in, w := range want {
		g := got[in]
		if g.Entry != w.Entry || g.Result != w.Result || (w.Result == "refused") != (g.Reason != "") {
			t.Errorf("%q: got %+v, want %+v", in, g, w)
		}
	}
	if add.Added != 2 || add.Present != 1 || add.Refused != 1 || add.Dequeued["promo"] != 1 {
		t.Errorf("counts: %+v", add)
	}
	if n, _ := f.rdb.LLen(context.Background(), queue).Result(); n != 1 {
		t.Errorf("dialer queue holds %d contacts, want 1 (the added number left it)", n)
	}

	// All taken: 200, with an expiry.
	var add2 addAnswer
	f.call("POST", spam+"/entries", map[string]any{"entries": []string{"5511955554444"}, "ttl": "30d", "reason": "legal"}).
		want(t, 200).decode(t, &add2)
	if add2.Added != 1 || add2.Error != "" {
		t.Errorf("second add: %+v", add2)
	}

	// Lookup, with the metadata the API recorded.
	var e struct {
		List listRef `json:"list"`
		entryView
	}
	f.call("GET", spam+"/entries/"+url.PathEscape("(11) 98765-4321"), nil).want(t, 200).decode(t, &e)
	if !e.Present || e.Entry != "5511987654321" || e.Meta == nil || e.Meta.Source != "api" ||
		e.Meta.AddedBy != "maria" || e.Meta.Note != "ticket 4521" || e.Meta.Reason != "spam" {
		t.Errorf("lookup: %+v meta %+v", e, e.Meta)
	}
	f.call("GET", spam+"/entries/5511955554444", nil).want(t, 200).decode(t, &e)
	if e.Meta == nil || e.Meta.AddedBy != "api" || e.Meta.Reason != "legal" ||
		e.Meta.ExpiresAt.Before(time.Now().Add(29*24*time.Hour)) {
		t.Errorf("lookup of the expiring entry: %+v meta %+v", e, e.Meta)
	}
	f.call("GET", spam+"/entries/5511911112222", nil).want(t, 200).decode(t, &e)
	if e.Present {
		t.Errorf("absent entry: %+v", e)
	}
	if msg := f.call("GET", spam+"/entries/banana", nil).want(t, 400).errorMessage(t); !strings.Contains(msg, "banana") {
		t.Errorf("lookup of garbage: %q", msg)
	}
}

func TestCompactListRefusesPrefixes(t *testing.T) {
	f := newFixture(t, nil)
	var add addAnswer
	f.call("POST", "/api/v1/lists/shared/nao-me-perturbe/entries", map[string]any{"entries": []string{"5511987654321", "55900*"}}).
		want(t, 422).decode(t, &add)
	got := results(add.Results)
	if got["5511987654321"].Result != "added" || got["55900*"].Result != "refused" || !strings.Contains(got["55900*"].Reason, "compact") {
		t.Errorf("results %+v", add.Results)
	}
	// An expiry is not possible in a compact list: the whole add is refused.
	msg := f.call("POST", "/api/v1/lists/shared/nao-me-perturbe/entries", map[string]any{"entries": []string{"5511987654322"}, "ttl": "1d"}).
		want(t, 400).errorMessage(t)
	if !strings.Contains(msg, "compact") {
		t.Errorf("expiry in a compact list: %q", msg)
	}
}

func TestBrowseEntries(t *testing.T) {
	f := newFixture(t, nil)
	members := []any{"55900*", "5511987654321", "5511987654322", "5521988887777", "2001"}
	f.sadd(f.keys.Shared("spam"), members...)

	// Page through every entry.
	var seen []string
	cursor := ""
	for range 100 {
		var page struct {
			Entries []string `json:"entries"`
			Next    string   `json:"next"`
		}
		f.call("GET", spam+"/entries?count=2&cursor="+cursor, nil).want(t, 200).decode(t, &page)
		seen = append(seen, page.Entries...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	slices.Sort(seen)
	seen = slices.Compact(seen)
	if len(seen) != len(members) {
		t.Errorf("paged %v, want the %d members", seen, len(members))
	}

	var match struct {
		Entries []string `json:"entries"`
	}
	f.call("GET", spam+"/entries?count=1000&match=5511*", nil).want(t, 200).decode(t, &match)
	slices.Sort(match.Entries)
	if !slices.Equal(match.Entries, []string{"5511987654321", "5511987654322"}) {
		t.Errorf("match 5511*: %v", match.Entries)
	}

	tests := []struct {
		q     string
		query string
		want  []string
	}{
		{q: "5511987*", query: "5511987*", want: []string{"5511987654321", "5511987654322"}},
		{q: "(11) 98765-4321", query: "5511987654321", want: []string{"5511987654321"}},
		{q: "5590012*", query: "5590012*", want: nil},
		{q: "5531999999999", query: "5531999999999", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			var found struct {
				Query   string      `json:"query"`
				Entries []entryView `json:"entries"`
			}
			f.call("GET", spam+"/entries/search?q="+url.QueryEscape(tt.q), nil).want(t, 200).decode(t, &found)
			var got []string
			for _, e := range found.Entries {
				got = append(got, e.Entry)
			}
			if found.Query != tt.query || !slices.Equal(got, tt.want) {
				t.Errorf("query %q found %v, want %q %v", found.Query, got, tt.query, tt.want)
			}
		})
	}
}

func TestRemoveEntries(t *testing.T) {
	f := newFixture(t, nil)
	f.sadd(f.keys.Shared("spam"), "5511987654321", "5521988887777", "55900*")

	var rm removeAnswer
	f.call("DELETE", spam+"/entries", map[string]any{"entries": []string{"11987654321", "5531999999999", "x"}, "reason": "asked again", "by": "joao"}).
		want(t, 422).decode(t, &rm)
	got := results(rm.Results)
	if got["11987654321"].Result != "removed" || got["5531999999999"].Result != "absent" || got["x"].Result != "refused" ||
		rm.Removed != 1 || rm.Absent != 1 || rm.Refused != 1 {
		t.Errorf("bulk remove: %+v", rm)
	}
	f.call("DELETE", spam+"/entries/"+url.PathEscape("55900*")+"?by=ana", nil).want(t, 200).decode(t, &rm)
	if rm.Removed != 1 || rm.Results[0].Entry != "55900*" {
		t.Errorf("remove one: %+v", rm)
	}
	if n, _ := f.rdb.SCard(context.Background(), f.keys.Shared("spam")).Result(); n != 1 {
		t.Errorf("spam holds %d entries, want 1", n)
	}

	// The audit log names who did what, newest first.
	var audit struct {
		Records []auditView `json:"records"`
	}
	f.call("GET", spam+"/audit?since=1h&limit=10", nil).want(t, 200).decode(t, &audit)
	if len(audit.Records) != 3 { // the absent entry's removal is audited too
		t.Fatalf("audit: %+v", audit.Records)
	}
	if r := audit.Records[0]; r.Op != "remove" || r.Entry != "55900*" || r.By != "ana" || r.Source != "api" {
		t.Errorf("newest record %+v", r)
	}
	for _, r := range audit.Records[1:] {
		if r.By != "joao" || r.Reason != "asked again" || r.Source != "api" {
			t.Errorf("older record %+v", r)
		}
	}
	f.call("GET", spam+"/audit?limit=1", nil).want(t, 200).decode(t, &audit)
	if len(audit.Records) != 1 {
		t.Errorf("limit 1: %d records", len(audit.Records))
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, func(_ *fixture, o *Options) { o.MaxBodyBytes = 1024 })
	big := `{"entries":["` + strings.Repeat("1", 2000) + `"]}`
	tests := []struct {
		name         string
		method, path string
		ctype, body  string
		status       int
		says         string
	}{
		{"bad JSON", "POST", spam + "/entries", "application/json", `{"entries": [`, 400, "JSON"},
		{"syntax", "POST", spam + "/entries", "application/json", `{"entries": ]`, 400, "invalid JSON"},
		{"unknown field", "POST", spam + "/entries", "application/json", `{"entries":["1"],"ttl_days":3}`, 400, `"ttl_days"`},
		{"wrong type", "POST", spam + "/entries", "application/json", `{"entries":"5511987654321"}`, 400, "entries"},
		{"two values", "POST", spam + "/entries", "application/json", `{"entries":["2001"]} {}`, 400, "more than one"},
		{"empty body", "POST", spam + "/entries", "application/json", ``, 400, "empty"},
		{"no entries", "POST", spam + "/entries", "application/json", `{"entries":[]}`, 400, "entries"},
		{"ttl and until", "POST", spam + "/entries", "application/json", `{"entries":["2001"],"ttl":"1d","until":"2099-01-01"}`, 400, "not both"},
		{"bad ttl", "POST", spam + "/entries", "application/json", `{"entries":["2001"],"ttl":"soon"}`, 400, `"soon"`},
		{"past until", "POST", spam + "/entries", "application/json", `{"entries":["2001"],"until":"2001-01-01"}`, 400, "past"},
		{"ttl on remove", "DELETE", spam + "/entries", "application/json", `{"entries":["2001"],"ttl":"1d"}`, 400, `"ttl"`},
		{"not JSON", "POST", spam + "/entries", "text/plain", `{"entries":["2001"]}`, 415, "application/json"},
		{"form", "POST", spam + "/entries", "application/x-www-form-urlencoded", `entries=2001`, 415, "application/json"},
		{"too large", "POST", spam + "/entries", "application/json", big, 413, "1024"},
		{"bad count", "GET", spam + "/entries?count=0", "", "", 400, "count"},
		{"huge count", "GET", spam + "/entries?count=1000000", "", "", 400, "count"},
		{"bad cursor", "GET", spam + "/entries?cursor=abc", "", "", 400, "cursor"},
		{"empty search", "GET", spam + "/entries/search", "", "", 400, "q"},
		{"garbage search", "GET", spam + "/entries/search?q=abc", "", "", 400, "abc"},
		{"bad since", "GET", spam + "/audit?since=yesterday", "", "", 400, "since"},
		{"bad limit", "GET", spam + "/audit?limit=-1", "", "", 400, "limit"},
		{"check without number", "GET", "/api/v1/check?campaign=promo", "", "", 400, "number"},
		{"unknown job", "GET", "/api/v1/jobs/x?wait=1s", "", "", 404, `job "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.method, tt.path, tt.ctype, strings.NewReader(tt.body)).want(t, tt.status)
			if msg := r.errorMessage(t); !strings.Contains(msg, tt.says) {
				t.Errorf("error %q does not say %q", msg, tt.says)
			}
		})
	}
	// Nothing was written by any of them.
	if n, _ := f.rdb.Exists(context.Background(), f.keys.Shared("spam")).Result(); n != 0 {
		t.Errorf("a refused request wrote to the list")
	}
}

func TestRedisDown(t *testing.T) {
	f := newFixture(t, func(f *fixture, o *Options) {
		down := downClient(t)
		mgr := manage.New(f.cfg, nil, blacklist.NewStore(down, f.keys))
		o.Manager = func() *manage.Manager { return mgr }
		o.Redis, o.Ready = down, nil
	})
	for _, path := range []string{"/api/v1/lists", spam, spam + "/entries", spam + "/export", "/readyz"} {
		t.Run(path, func(t *testing.T) {
			f.call("GET", path, nil).want(t, http.StatusServiceUnavailable).errorMessage(t)
		})
	}
}

// downClient returns a Redis client of an address where nothing listens.
func downClient(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
