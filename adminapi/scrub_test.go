package adminapi

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
)

// keyCount returns how many keys the fixture's prefix holds.
func (f *fixture) keyCount() int {
	f.t.Helper()
	keys, err := f.rdb.Keys(context.Background(), f.cfg.KeyPrefix+"*").Result()
	if err != nil {
		f.t.Fatal(err)
	}
	return len(keys)
}

func TestScrub(t *testing.T) {
	f := newFixture(t, nil)
	f.call("POST", spam+"/entries", map[string]any{"entries": []string{"5511987654321"}, "reason": "pediu"}).want(t, 200)
	f.call("POST", "/api/v1/lists/campaign/promo/entries", map[string]any{"entries": []string{"5521977776666"}}).want(t, 200)
	keys := f.keyCount()

	const leads = "nome;telefone\r\nAna;(11) 98765-4321\r\nBia;021 98888-7777\r\nCai;banana\r\nDui;21977776666\r\n"
	const clean = "nome;telefone\r\nBia;021 98888-7777\r\n"
	for _, tt := range []struct {
		name, ctype string
		body        []byte
	}{
		{"csv", "text/csv", []byte(leads)},
		{"gzip", "application/gzip", gzipped(t, leads)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got scrubAnswer
			f.do("POST", "/api/v1/scrub?campaign=promo&column=telefone&name=leads.csv", tt.ctype, bytes.NewReader(tt.body)).want(t, 200).decode(t, &got)
			if got.Campaign != "promo" || got.Read != 4 || got.Kept != 1 || got.Removed != 3 || got.Invalid != 1 ||
				got.ByList["spam"] != 1 || got.ByList["promo"]+got.ByList["campaign/promo"] != 1 {
				t.Errorf("summary %+v", got)
			}
			if got.Clean != clean {
				t.Errorf("clean file %q, want %q", got.Clean, clean)
			}
			rows := got.RemovedRows
			if len(rows) != 3 {
				t.Fatalf("removed rows %+v, want 3", rows)
			}
			if r := rows[0]; r.Line != 2 || r.Number != "(11) 98765-4321" || r.Normalized != "5511987654321" || r.List != "spam" || r.Entry != "5511987654321" || r.Reason != "pediu" {
				t.Errorf("row of the spam entry %+v", r)
			}
			if r := rows[1]; r.Line != 4 || r.Number != "banana" || !strings.Contains(r.Reason, "invalid number") {
				t.Errorf("row of the invalid number %+v", r)
			}
			if r := rows[2]; r.Line != 5 || r.Entry != "5521977776666" {
				t.Errorf("row of the campaign's own entry %+v", r)
			}
			if len(got.Lists) < 2 || got.Lists[0] != (listRef{"campaign", "promo"}) {
				t.Errorf("lists %+v, want the campaign's own first", got.Lists)
			}
		})
	}
	if n := f.keyCount(); n != keys {
		t.Errorf("the scrubs changed Redis: %d keys, then %d", keys, n)
	}
}

func TestScrubFailures(t *testing.T) {
	f := newFixture(t, func(_ *fixture, o *Options) { o.MaxUploadBytes = 1000 })
	tests := []struct {
		name, query, ctype, body string
		status                   int
		says                     string
	}{
		{"no campaign", "", "text/csv", "1\n", 400, "campaign"},
		{"bad campaign", "campaign=a%20b", "text/csv", "1\n", 400, "campaign"},
		{"bad header", "campaign=promo&header=maybe", "text/csv", "1\n", 400, "header"},
		{"form", "campaign=promo", "application/x-www-form-urlencoded", "1\n", 415, "content type"},
		{"plain text", "campaign=promo", "text/plain", "1\n", 415, "content type"},
		{"empty", "campaign=promo", "text/csv", "", 400, "empty"},
		{"too large", "campaign=promo", "text/csv", strings.Repeat("5511987654321\n", 100), 413, "1000"},
		{"bad column", "campaign=promo&column=phone", "text/csv", "name,tel\nana,5511987654321\n", 400, "phone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do("POST", "/api/v1/scrub?"+tt.query, tt.ctype, strings.NewReader(tt.body)).want(t, tt.status)
			if msg := r.errorMessage(t); !strings.Contains(msg, tt.says) {
				t.Errorf("error %q does not say %q", msg, tt.says)
			}
		})
	}
}

// TestScrubReadToken: a scrub writes nothing, so a read token may use it.
func TestScrubReadToken(t *testing.T) {
	f := newFixture(t, withTokens)
	f.token = readToken
	var got scrubAnswer
	f.do("POST", "/api/v1/scrub?campaign=promo", "text/csv", strings.NewReader("5511912345678\n")).want(t, http.StatusOK).decode(t, &got)
	if got.Read != 1 || got.Kept != 1 || got.Clean != "5511912345678\n" {
		t.Errorf("answer %+v", got)
	}
}

func TestScrubAnswerIsBounded(t *testing.T) {
	bb := &boundedBuffer{max: 10}
	var a, b bytes.Buffer
	bb.parts = []*bytes.Buffer{&a, &b}
	if _, err := bb.writer(&a).Write([]byte("123456")); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.writer(&b).Write([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.writer(&b).Write([]byte("x")); err != errScrubTooLarge || !bb.over || a.Len()+b.Len() != 10 {
		t.Errorf("write past the bound: %v, over %v, %d bytes held", err, bb.over, a.Len()+b.Len())
	}
}

// TestScrubsAreBounded: when maxScrubs scrubs are running, another is
// refused with 429, and taken again once one is done.
func TestScrubsAreBounded(t *testing.T) {
	f := newFixture(t, nil)
	for range maxScrubs {
		f.api.scrubs <- struct{}{}
	}
	r := f.do("POST", "/api/v1/scrub?campaign=promo", "text/csv", strings.NewReader("5511912345678\n")).want(t, http.StatusTooManyRequests)
	if msg := r.errorMessage(t); !strings.Contains(msg, "scrubs are running") {
		t.Errorf("error %q", msg)
	}
	<-f.api.scrubs
	f.do("POST", "/api/v1/scrub?campaign=promo", "text/csv", strings.NewReader("5511912345678\n")).want(t, http.StatusOK)
	if n := len(f.api.scrubs); n != maxScrubs-1 {
		t.Errorf("%d scrub slots taken after the scrub, want %d: a slot leaked", n, maxScrubs-1)
	}
}
