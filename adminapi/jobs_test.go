package adminapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blacklist-agi/blacklist-agi/blacklist/listfile"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts an import and returns its job, as the 202 answers it.
func (f *fixture) upload(path, ctype string, body []byte) jobView {
	f.t.Helper()
	r := f.do("POST", path, ctype, bytes.NewReader(body)).want(f.t, http.StatusAccepted)
	var j jobView
	r.decode(f.t, &j)
	if loc := r.header.Get("Location"); loc != "/api/v1/jobs/"+j.ID {
		f.t.Errorf("Location %q, want the job's", loc)
	}
	return j
}

// wait returns the job once it is done.
func (f *fixture) wait(id string) jobView {
	f.t.Helper()
	var j jobView
	f.call("GET", "/api/v1/jobs/"+id+"?wait=20s", nil).want(f.t, 200).decode(f.t, &j)
	if !j.Done {
		f.t.Fatalf("job %s not done after its wait: %+v", id, j)
	}
	return j
}

func TestImportJob(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.rdb.RPush(context.Background(), f.cfg.KeyPrefix+"dialer:queue:promo", "5511987654321").Err(); err != nil {
		t.Fatal(err)
	}
	file := gzipped(t, "nome;telefone\nAna;(11) 98765-4321\nBia;021 98888-7777\nCai;banana\nDui;5511987654321\nEva;55900*\n")
	j := f.upload(spam+"/import?column=telefone&name=optouts.csv.gz&by=maria&note=ticket+9", "application/gzip", file)
	if j.State != stateImporting || j.Done || j.Mode != "merge" || j.List != (listRef{"shared", "spam"}) || j.Uploaded != int64(len(file)) {
		t.Errorf("accepted job: %+v", j)
	}

	j = f.wait(j.ID)
	if j.State != stateSucceeded || j.Error != "" || j.FinishedAt.IsZero() {
		t.Fatalf("finished job: %+v", j)
	}
	s := j.Summary
	if s == nil || s.Read != 5 || s.Added != 3 || s.Refused != 1 || s.Duplicates+s.Present != 1 || s.Dequeued["promo"] != 1 {
		t.Errorf("summary %+v", s)
	}
	if j.Progress.Rows != 5 || j.Progress.Bytes != int64(len(file)) || j.Progress.Total != int64(len(file)) {
		t.Errorf("progress %+v, want 5 rows and %d bytes of %d", j.Progress, len(file), len(file))
	}
	if len(j.Rejects) != 1 || j.Rejects[0].Line != 4 || j.Rejects[0].Input != "banana" || j.Rejects[0].Reason == "" || j.Truncated {
		t.Errorf("rejects %+v", j.Rejects)
	}

	// The numbers are in the list, and the import is in the audit log.
	var e struct{ entryView }
	f.call("GET", spam+"/entries/5521988887777", nil).want(t, 200).decode(t, &e)
	if !e.Present {
		t.Errorf("an imported number is not in the list")
	}
	var audit struct {
		Records []auditView `json:"records"`
	}
	f.call("GET", spam+"/audit", nil).want(t, 200).decode(t, &audit)
	if len(audit.Records) != 1 || audit.Records[0].Op != "import-merge" || audit.Records[0].By != "maria" ||
		audit.Records[0].Source != "api" || audit.Records[0].Count != 3 {
		t.Errorf("audit %+v", audit.Records)
	}

	// The job is listed; its upload is gone from the temporary folder.
	var jobs struct {
		Jobs []jobView `json:"jobs"`
	}
	f.call("GET", "/api/v1/jobs", nil).want(t, 200).decode(t, &jobs)
	if len(jobs.Jobs) != 1 || jobs.Jobs[0].ID != j.ID {
		t.Errorf("jobs %+v", jobs.Jobs)
	}
	if left, _ := os.ReadDir(f.api.opt.TempDir); len(left) != 0 {
		t.Errorf("uploads left behind: %v", left)
	}
}

func TestImportReplaceCompact(t *testing.T) {
	f := newFixture(t, nil)
	const nmp = "/api/v1/lists/shared/nao-me-perturbe"
	f.call("POST", nmp+"/entries", map[string]any{"entries": []string{"5531999999999"}}).want(t, 200)

	j := f.wait(f.upload(nmp+"/import?mode=replace&header=false", "text/csv", []byte("5511987654321\n5521988887777\n")).ID)
	if j.State != stateSucceeded || j.Summary.Added != 2 || j.Mode != "replace" {
		t.Fatalf("replace: %+v summary %+v", j, j.Summary)
	}
	var st listView
	f.call("GET", nmp, nil).want(t, 200).decode(t, &st)
	if st.Size != 2 || st.LastOp != "import-replace" {
		t.Errorf("after the replace: %+v", st)
	}

	// A replace with no valid number fails, and leaves the list alone.
	j = f.wait(f.upload(nmp+"/import?mode=replace&header=false", "text/csv", []byte("banana\n")).ID)
	if j.State != stateFailed || !strings.Contains(j.Error, "no valid number") || len(j.Rejects) != 1 {
		t.Errorf("empty replace: %+v", j)
	}
	f.call("GET", nmp, nil).want(t, 200).decode(t, &st)
	if st.Size != 2 {
		t.Errorf("the failed replace changed the list: %+v", st)
	}
}

func TestImportFailures(t *testing.T) {
	f := newFixture(t, func(_ *fixture, o *Options) { o.MaxUploadBytes = 1000 })
	tests := []struct {
		name, path, ctype, body string
		status                  int
		says                    string
	}{
		{"bad mode", spam + "/import?mode=append", "text/csv", "1\n", 400, "mode"},
		{"bad header", spam + "/import?header=maybe", "text/csv", "1\n", 400, "header"},
		{"form", spam + "/import", "application/x-www-form-urlencoded", "1\n", 415, "content type"},
		{"plain text", spam + "/import", "text/plain", "1\n", 415, "content type"},
		{"no content type", spam + "/import", "", "1\n", 415, "content type"},
		{"empty", spam + "/import", "text/csv", "", 400, "empty"},
		{"too large", spam + "/import", "text/csv", strings.Repeat("5511987654321\n", 100), 413, "1000"},
		{"unknown list", "/api/v1/lists/shared/nosuch/import", "text/csv", "1\n", 404, "nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do("POST", tt.path, tt.ctype, strings.NewReader(tt.body)).want(t, tt.status)
			if msg := r.errorMessage(t); !strings.Contains(msg, tt.says) {
				t.Errorf("error %q does not say %q", msg, tt.says)
			}
		})
	}
	var jobs struct {
		Jobs []jobView `json:"jobs"`
	}
	f.call("GET", "/api/v1/jobs", nil).want(t, 200).decode(t, &jobs)
	if len(jobs.Jobs) != 0 {
		t.Errorf("refused uploads left jobs: %+v", jobs.Jobs)
	}

	// A file the importer cannot use fails its job, saying why.
	j := f.wait(f.upload(spam+"/import?column=phone", "text/csv", []byte("name,tel\nana,5511987654321\n")).ID)
	if j.State != stateFailed || !strings.Contains(j.Error, "phone") {
		t.Errorf("bad column: %+v", j)
	}
}

func TestImportRejectsAreBounded(t *testing.T) {
	f := newFixture(t, nil)
	var b strings.Builder
	for i := range maxRejects + 10 {
		fmt.Fprintf(&b, "bad-%d\n", i)
	}
	b.WriteString("5511987654321\n")
	j := f.wait(f.upload(spam+"/import", "text/csv", []byte(b.String())).ID)
	if j.Summary.Refused != maxRejects+10 || len(j.Rejects) != maxRejects || !j.Truncated || j.Summary.Added != 1 {
		t.Errorf("summary %+v, %d rejects kept, truncated %v", j.Summary, len(j.Rejects), j.Truncated)
	}
	if j.Rejects[0].Input != "bad-0" || j.Rejects[0].Line != 1 {
		t.Errorf("first reject %+v", j.Rejects[0])
	}
}

func TestJobRegistry(t *testing.T) {
	g := newJobRegistry(3, 2)
	ref := func(name string) listRef { return listRef{Kind: kindShared, Name: name} }
	a, err := g.begin(ref("a"), "key:a", "merge")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.begin(ref("a"), "key:a", "replace"); statusOf(err) != http.StatusConflict {
		t.Errorf("second import of a list: %v, want 409", err)
	}
	b, err := g.begin(ref("b"), "key:b", "merge")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.begin(ref("c"), "key:c", "merge"); statusOf(err) != http.StatusTooManyRequests {
		t.Errorf("a third running import: %v, want 429", err)
	}
	a.finish(listfile.Summary{}, nil)
	c, err := g.begin(ref("c"), "key:c", "merge")
	if err != nil {
		t.Fatalf("after one finished: %v", err)
	}
	b.finish(listfile.Summary{}, nil)
	// The registry is full (a, b, c): the oldest finished job, a, makes room.
	d, err := g.begin(ref("d"), "key:d", "merge")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range g.all() {
		ids = append(ids, j.id)
	}
	if want := []string{d.id, c.id, b.id}; !slices.Equal(ids, want) {
		t.Errorf("jobs %v, want %v (newest first, a evicted)", ids, want)
	}
	if g.get(a.id) != nil {
		t.Errorf("evicted job still found")
	}
	g.drop(d)
	if g.get(d.id) != nil {
		t.Errorf("dropped job still found")
	}
}

func TestExport(t *testing.T) {
	f := newFixture(t, nil)
	f.call("POST", spam+"/entries", map[string]any{"entries": []string{"5511987654321", "55900*"}, "note": "a, \"quoted\" note", "by": "maria"}).want(t, 200)

	r := f.call("GET", spam+"/export", nil).want(t, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("content type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename=shared-spam.csv` {
		t.Errorf("content disposition %q", cd)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	if !slices.Equal(rows[0], listfile.ExportHeader) || len(rows) != 3 {
		t.Fatalf("rows %q", rows)
	}
	slices.SortFunc(rows[1:], func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	if rows[1][0] != "5511987654321" || rows[2][0] != "55900*" || rows[1][3] != "maria" || rows[1][6] != `a, "quoted" note` || rows[1][2] != "api" {
		t.Errorf("rows %q", rows)
	}

	// A list longer than what is held back streams whole.
	var many []string
	for i := range 6000 {
		many = append(many, fmt.Sprintf("55119%08d", i))
	}
	f.call("POST", "/api/v1/lists/campaign/promo/entries", map[string]any{"entries": many}).want(t, 200)
	r = f.call("GET", "/api/v1/lists/campaign/promo/export", nil).want(t, 200)
	if len(r.body) <= exportHold {
		t.Fatalf("export of %d bytes does not test streaming", len(r.body))
	}
	rows, err = csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) < len(many)+1 {
		t.Errorf("%d rows, %v; want %d", len(rows), err, len(many)+1)
	}

	// HEAD answers the headers only.
	r = f.do("HEAD", spam+"/export", "", nil).want(t, 200)
	if len(r.body) != 0 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Errorf("HEAD: %q %q", r.header, r.body)
	}
}

// startUpload posts an import whose body comes from the returned writer.
// With "Expect: 100-continue", the client sends the body only once the
// server has started reading it, so the first write returns after the job
// is registered. The answer comes on the channel.
func (f *fixture) startUpload(path string) (*io.PipeWriter, <-chan reply) {
	f.t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", f.srv.URL+path, pr)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	f.t.Cleanup(client.CloseIdleConnections)
	done := make(chan reply, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			pr.CloseWithError(err)
			done <- reply{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- reply{status: resp.StatusCode, header: resp.Header, body: b}
	}()
	f.t.Cleanup(func() { pw.Close() })
	return pw, done
}

func TestImportWhileUploading(t *testing.T) {
	f := newFixture(t, nil)
	pw, done := f.startUpload(spam + "/import?header=false")
	if _, err := pw.Write([]byte("5511987654321\n")); err != nil {
		t.Fatal(err)
	}

	var jobs struct {
		Jobs []jobView `json:"jobs"`
	}
	f.call("GET", "/api/v1/jobs", nil).want(t, 200).decode(t, &jobs)
	if len(jobs.Jobs) != 1 || jobs.Jobs[0].State != stateUploading || jobs.Jobs[0].Done {
		t.Fatalf("jobs during the upload: %+v", jobs.Jobs)
	}
	id := jobs.Jobs[0].ID
	msg := f.do("POST", spam+"/import", "text/csv", strings.NewReader("5521988887777\n")).want(t, http.StatusConflict).errorMessage(t)
	if !strings.Contains(msg, id) {
		t.Errorf("409 does not name the running job %s: %q", id, msg)
	}
	// Nothing is imported before the whole file has arrived.
	if n, _ := f.rdb.Exists(context.Background(), f.keys.Shared("spam")).Result(); n != 0 {
		t.Errorf("the import started before the upload ended")
	}

	if _, err := pw.Write([]byte("5521988887777\n")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-done
	r.want(t, http.StatusAccepted)
	j := f.wait(id)
	if j.State != stateSucceeded || j.Summary.Added != 2 || j.Uploaded != 28 {
		t.Errorf("job %+v summary %+v", j, j.Summary)
	}
}

func TestStalledUpload(t *testing.T) {
	f := newFixture(t, func(_ *fixture, o *Options) { o.RequestTimeout = 200 * time.Millisecond })
	pw, done := f.startUpload(spam + "/import")
	if _, err := pw.Write([]byte("5511987654321\n")); err != nil {
		t.Fatal(err)
	}
	// No more data: the server gives up after the idle time.
	r := <-done
	r.want(t, http.StatusRequestTimeout)
	if msg := r.errorMessage(t); !strings.Contains(msg, "no data") {
		t.Errorf("error %q", msg)
	}
	pw.Close()
	var jobs struct {
		Jobs []jobView `json:"jobs"`
	}
	f.call("GET", "/api/v1/jobs", nil).want(t, 200).decode(t, &jobs)
	if len(jobs.Jobs) != 0 {
		t.Errorf("the stalled upload left a job: %+v", jobs.Jobs)
	}
	if left, _ := os.ReadDir(f.api.opt.TempDir); len(left) != 0 {
		t.Errorf("the stalled upload left its file: %v", left)
	}
}
