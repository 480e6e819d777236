package adminapi

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"entries":["1"]}`, `{"entries":[`, `{"entries":"x"}`, `{"x":1}`, `{} {}`, ``, `null`, `[]`, `{"entries":[1]}`, `{"entries":["1"],"ttl":"1d"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 64)
		var v addBody
		err := decodeJSON(r, &v)
		if err == nil {
			return
		}
		if s := statusOf(err); s != http.StatusBadRequest && s != http.StatusRequestEntityTooLarge {
			t.Fatalf("decodeJSON(%q): status %d: %v", body, s, err)
		}
		if !strings.HasPrefix(err.Error(), "request body: ") {
			t.Fatalf("decodeJSON(%q): error %q does not name the request body", body, err)
		}
	})
}

// FuzzRejectCollector checks that the rows an import writes to its Rejects
// come back as they were written.
func FuzzRejectCollector(f *testing.F) {
	f.Add("banana", "not a number", "5511,98", "line \"2\"\nand 3")
	f.Add("", "", "\r\n", ",")
	f.Fuzz(func(t *testing.T, in1, why1, in2, why2 string) {
		var got []rejectRow
		c := newRejectCollector(func(r rejectRow) { got = append(got, r) })
		w := csv.NewWriter(c)
		want := []rejectRow{{Line: 1, Input: in1, Reason: why1}, {Line: 22, Input: in2, Reason: why2}}
		w.Write([]string{"line", "input", "reason"})
		for _, r := range want {
			w.Write([]string{strconv.FormatInt(r.Line, 10), r.Input, r.Reason})
		}
		w.Flush()
		c.Close()
		if w.Error() != nil {
			t.Skip() // not valid UTF-8 for csv, or the like: the writer refused it
		}
		// encoding/csv turns \r\n inside a quoted field into \n.
		for i := range want {
			want[i].Input = strings.ReplaceAll(want[i].Input, "\r\n", "\n")
			want[i].Reason = strings.ReplaceAll(want[i].Reason, "\r\n", "\n")
		}
		if len(got) != len(want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}
