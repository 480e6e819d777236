package adminapi

import (
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/blacklist-agi/blacklist-agi/blacklist/listfile"
)

// Bounds of the import jobs.
const (
	// maxJobs is how many jobs are kept in memory; the oldest finished one
	// makes room for a new one.
	maxJobs = 32
	// maxRunningImports is how many imports may upload or run at once:
	// each one loads Redis, and a compact one holds up to 128 MiB.
	maxRunningImports = 2
	// maxRejects is how many refused rows a job keeps; the summary counts
	// them all.
	maxRejects = 1000
	// maxRejectInput bounds the input kept of a refused row.
	maxRejectInput = 256
	// maxJobWait bounds the wait parameter of GET /api/v1/jobs/{id}.
	maxJobWait = 5 * time.Minute
)

// States of a job.
const (
	stateUploading = "uploading" // the file is being received
	stateImporting = "importing" // the file is being imported
	stateSucceeded = "succeeded"
	stateFailed    = "failed"
)

// job is one import: its upload, then its run in the background.
type job struct {
	id      string
	list    listRef
	key     string // the list's Redis key: one import per list at a time
	mode    string
	created time.Time
	done    chan struct{} // closed when the job has finished

	mu               sync.Mutex
	state            string
	uploaded         int64 // bytes of the upload
	started          time.Time
	finished         time.Time
	progress         listfile.Progress
	summary          *listfile.Summary
	err              string
	rejects          []rejectRow
	rejectsTruncated bool
}

// rejectRow is a refused row of an import.
type rejectRow struct {
	Line   int64  `json:"line"`
	Input  string `json:"input"`
	Reason string `json:"reason"`
}

// jobView is a job as the API shows it.
type jobView struct {
	ID         string       `json:"id"`
	List       listRef      `json:"list"`
	Mode       string       `json:"mode"`
	State      string       `json:"state"`
	Done       bool         `json:"done"`
	CreatedAt  time.Time    `json:"created_at"`
	StartedAt  time.Time    `json:"started_at,omitzero"`
	FinishedAt time.Time    `json:"finished_at,omitzero"`
	Uploaded   int64        `json:"uploaded_bytes"`
	Progress   progressView `json:"progress"`
	Summary    *summaryView `json:"summary,omitempty"`
	Error      string       `json:"error,omitempty"`
	Rejects    []rejectRow  `json:"rejects"`
	Truncated  bool         `json:"rejects_truncated"`
}

// progressView is how far an import has read its file.
type progressView struct {
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
	Total int64 `json:"total"`
}

// summaryView is what an import did (listfile.Summary).
type summaryView struct {
	Read       int64            `json:"read"`
	Added      int64            `json:"added"`
	Present    int64            `json:"present"`
	Refused    int64            `json:"refused"`
	Duplicates int64            `json:"duplicates"`
	Dequeued   map[string]int64 `json:"dequeued,omitempty"`
	DurationMS int64            `json:"duration_ms"`
}

func (j *job) view() jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := jobView{
		ID: j.id, List: j.list, Mode: j.mode, State: j.state,
		Done:      j.state == stateSucceeded || j.state == stateFailed,
		CreatedAt: j.created, StartedAt: j.started, FinishedAt: j.finished, Uploaded: j.uploaded,
		Progress: progressView{Rows: j.progress.Rows, Bytes: j.progress.Bytes, Total: j.progress.Total},
		Error:    j.err, Rejects: append([]rejectRow{}, j.rejects...), Truncated: j.rejectsTruncated,
	}
	if s := j.summary; s != nil {
		v.Summary = &summaryView{Read: s.Read, Added: s.Added, Present: s.Present, Refused: s.Refused,
			Duplicates: s.Duplicates, Dequeued: s.Dequeued, DurationMS: s.Duration.Milliseconds()}
	}
	return v
}

func (j *job) setProgress(p listfile.Progress) {
	j.mu.Lock()
	j.progress = p
	j.mu.Unlock()
}

func (j *job) reject(row rejectRow) {
	if len(row.Input) > maxRejectInput {
		row.Input = row.Input[:maxRejectInput] + "..."
	}
	j.mu.Lock()
	if len(j.rejects) < maxRejects {
		j.rejects = append(j.rejects, row)
	} else {
		j.rejectsTruncated = true
	}
	j.mu.Unlock()
}

func (j *job) finish(sum listfile.Summary, err error) {
	j.mu.Lock()
	j.finished = time.Now()
	j.summary = &sum
	j.state = stateSucceeded
	if err != nil {
		j.state, j.err = stateFailed, err.Error()
	}
	j.mu.Unlock()
	close(j.done)
}

func (j *job) running() bool {
	select {
	case <-j.done:
		return false
	default:
		return true
	}
}

// jobRegistry keeps the jobs in memory, oldest first.
type jobRegistry struct {
	mu         sync.Mutex
	jobs       []*job
	max        int
	maxRunning int
}

func newJobRegistry(max, maxRunning int) *jobRegistry {
	return &jobRegistry{max: max, maxRunning: maxRunning}
}

// begin registers a new job for the list with key: refused (409) while
// another import of that list runs, and (429) while maxRunning imports run.
// The oldest finished job makes room when the registry is full.
func (g *jobRegistry) begin(list listRef, key, mode string) (*job, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	running := 0
	for _, j := range g.jobs {
		if !j.running() {
			continue
		}
		if j.key == key {
			return nil, errorf(http.StatusConflict, "%s list %s: import %s is still running; wait for it (GET /api/v1/jobs/%s)",
				list.Kind, list.Name, j.id, j.id)
		}
		running++
	}
	if running >= g.maxRunning {
		return nil, errorf(http.StatusTooManyRequests, "%d imports are running, the most at once; try again when one is done", running)
	}
	if len(g.jobs) >= g.max {
		for i, j := range g.jobs {
			if !j.running() {
				g.jobs = append(g.jobs[:i], g.jobs[i+1:]...)
				break
			}
		}
	}
	if len(g.jobs) >= g.max {
		return nil, errorf(http.StatusTooManyRequests, "%d jobs are running; try again when one is done", len(g.jobs))
	}
	j := &job{
		id: rand.Text(), list: list, key: key, mode: mode, created: time.Now(),
		done: make(chan struct{}), state: stateUploading,
	}
	g.jobs = append(g.jobs, j)
	return j, nil
}

// drop forgets a job whose upload failed.
func (g *jobRegistry) drop(j *job) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, k := range g.jobs {
		if k == j {
			g.jobs = append(g.jobs[:i], g.jobs[i+1:]...)
			return
		}
	}
}

func (g *jobRegistry) get(id string) *job {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, j := range g.jobs {
		if j.id == id {
			return j
		}
	}
	return nil
}

// all returns the jobs, newest first.
func (g *jobRegistry) all() []*job {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*job, len(g.jobs))
	for i, j := range g.jobs {
		out[len(g.jobs)-1-i] = j
	}
	return out
}

// importFile answers POST .../import: it receives the file (the request
// body, gzip or not) into a temporary file, bounded by MaxUploadBytes and
// failing when the upload stalls for RequestTimeout, then answers 202 with
// the job and imports the file in the background with listfile.Import, as
// "import" does. The import starts only once the whole file has arrived: a
// client that goes away mid-upload leaves the list untouched.
func (a *api) importFile(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	mode := q.Get("mode")
	switch mode {
	case "":
		mode = listfile.ModeMerge
	case listfile.ModeMerge, listfile.ModeReplace:
	default:
		return errorf(http.StatusBadRequest, "mode %q: want %q or %q", mode, listfile.ModeMerge, listfile.ModeReplace)
	}
	dequeue, err := boolParam(r, "dequeue")
	if err != nil {
		return err
	}
	up, err := a.uploadParams(r)
	if err != nil {
		return err
	}
	column, header, name := up.column, up.header, up.name
	opt := listfile.ImportOptions{
		List: t.List, Keys: a.opt.Keys, Mode: mode, Rules: t.Rules,
		Name: name, Column: column, Header: header,
		By: byOf(q.Get("by")), Reason: q.Get("reason"), Source: sourceAPI, Note: q.Get("note"),
		AuditMaxLen: m.Store().AuditMaxLen,
	}
	if opt.Reason == "" {
		opt.Reason = t.Reason
	}
	if dequeue == nil || *dequeue {
		opt.Queues = t.Queues
	}

	ref := refOf(t.List)
	j, err := a.jobs.begin(ref, t.List.Key, mode)
	if err != nil {
		return err
	}
	f, size, err := a.receive(w, r, j)
	if err != nil {
		a.jobs.drop(j)
		return err
	}
	j.mu.Lock()
	j.state, j.started, j.uploaded = stateImporting, time.Now(), size
	j.progress.Total = size
	j.mu.Unlock()
	go a.runImport(j, f, opt)

	w.Header().Set("Location", "/api/v1/jobs/"+j.id)
	writeJSON(w, http.StatusAccepted, j.view())
	return nil
}

// uploadContent refuses the content types that a browser sends to another
// origin without asking first (a form's): an upload is a file, declared as
// such (text/csv, application/gzip, application/octet-stream...).
func uploadContent(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return errorf(http.StatusUnsupportedMediaType, "upload: content type %q: send the file as text/csv, application/gzip or application/octet-stream", ct)
	}
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain":
		return errorf(http.StatusUnsupportedMediaType, "upload: content type %q: send the file itself as the body, as text/csv, application/gzip or application/octet-stream", mt)
	}
	return nil
}

// receive copies the upload into a temporary file, counting its bytes in
// the job, and returns it rewound with its size.
func (a *api) receive(w http.ResponseWriter, r *http.Request, j *job) (*os.File, int64, error) {
	f, err := os.CreateTemp(a.opt.TempDir, "blacklist-import-*")
	if err != nil {
		return nil, 0, fmt.Errorf("upload: creating the temporary file: %w", err)
	}
	fail := func(err error) (*os.File, int64, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	rc := http.NewResponseController(w)
	defer rc.SetReadDeadline(time.Time{})
	body := &idleReader{r: http.MaxBytesReader(unwrap(w), r.Body, a.opt.MaxUploadBytes), rc: rc, idle: a.opt.RequestTimeout, job: j}
	n, err := io.CopyBuffer(f, body, make([]byte, 64<<10))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return fail(errorf(http.StatusRequestEntityTooLarge, "upload: larger than %d bytes (admin.max_upload_bytes)", mbe.Limit))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fail(errorf(http.StatusRequestTimeout, "upload: no data for %s (admin.request_timeout) after %d bytes", a.opt.RequestTimeout, n))
	case err != nil && body.readErr:
		return fail(errorf(http.StatusBadRequest, "upload: reading the body after %d bytes: %v", n, err))
	case err != nil:
		return fail(fmt.Errorf("upload: writing the temporary file: %w", err))
	case n == 0:
		return fail(errorf(http.StatusBadRequest, "upload: empty; send the file as the request body"))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("upload: rewinding the temporary file: %w", err))
	}
	return f, n, nil
}

// unwrap returns the server's writer under w, which MaxBytesReader tells
// to close the connection after an oversized body.
func unwrap(w http.ResponseWriter) http.ResponseWriter {
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		return u.Unwrap()
	}
	return w
}

// idleReader reads the request body, giving each read idle time to bring
// data; it counts the bytes in the job, and says whether an error came from
// the body.
type idleReader struct {
	r       io.Reader
	rc      *http.ResponseController
	idle    time.Duration
	job     *job
	read    int64
	readErr bool
}

func (b *idleReader) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle)) // unsupported (HTTP/2): the server's bounds apply
	n, err := b.r.Read(p)
	if n > 0 {
		b.read += int64(n)
		if b.job != nil {
			b.job.mu.Lock()
			b.job.uploaded = b.read
			b.job.mu.Unlock()
		}
	}
	if err != nil && err != io.EOF {
		b.readErr = true
	}
	return n, err
}

// runImport imports the received file f, then removes it.
func (a *api) runImport(j *job, f *os.File, opt listfile.ImportOptions) {
	defer os.Remove(f.Name())
	defer f.Close()
	rejects := newRejectCollector(j.reject)
	opt.Rejects = rejects
	opt.Progress = j.setProgress
	sum, err := listfile.Import(a.ctx, a.opt.Redis, f, opt)
	rejects.Close()
	j.finish(sum, err)
	attrs := []any{"job", j.id, "list", opt.List.Key, "mode", opt.Mode, "read", sum.Read, "added", sum.Added,
		"refused", sum.Refused, "took", sum.Duration}
	if err != nil {
		a.log.Warn("admin API import failed", append(attrs, "err", err)...)
		return
	}
	a.log.Info("admin API import done", attrs...)
}

// rejectCollector is the Rejects of an import: it reads back the CSV that
// the import writes ("line,input,reason" rows after a header) and hands each
// row to add.
type rejectCollector struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func newRejectCollector(add func(rejectRow)) *rejectCollector {
	pr, pw := io.Pipe()
	c := &rejectCollector{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer io.Copy(io.Discard, pr) // never leave the import blocked on a write
		cr := csv.NewReader(pr)
		cr.FieldsPerRecord = 3
		for first := true; ; first = false {
			rec, err := cr.Read()
			if err != nil {
				return
			}
			if first {
				continue // the header
			}
			line, _ := strconv.ParseInt(rec[0], 10, 64)
			add(rejectRow{Line: line, Input: rec[1], Reason: rec[2]})
		}
	}()
	return c
}

func (c *rejectCollector) Write(p []byte) (int, error) { return c.pw.Write(p) }

// Close ends the rows and waits until every one was handed over.
func (c *rejectCollector) Close() {
	c.pw.Close()
	<-c.done
}

// listJobs answers GET /api/v1/jobs: the jobs kept, newest first.
func (a *api) listJobs(w http.ResponseWriter, r *http.Request) error {
	jobs := a.jobs.all()
	out := struct {
		Jobs []jobView `json:"jobs"`
	}{Jobs: make([]jobView, 0, len(jobs))}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, j.view())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// job answers GET /api/v1/jobs/{id}[?wait=30s]: the job's state, after
// waiting up to wait for it to finish.
func (a *api) job(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	j := a.jobs.get(id)
	if j == nil {
		return errorf(http.StatusNotFound, "job %q: no such job (jobs are kept in memory, the last %d, until the server restarts)", id, maxJobs)
	}
	if s := r.URL.Query().Get("wait"); s != "" {
		wait, err := time.ParseDuration(s)
		if err != nil || wait < 0 || wait > maxJobWait {
			return errorf(http.StatusBadRequest, "wait %q: want a duration from 0s to %s", s, maxJobWait)
		}
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-j.done:
		case <-timer.C:
		case <-r.Context().Done(): // the request timeout: answer what is known
		}
	}
	writeJSON(w, http.StatusOK, j.view())
	return nil
}

// export answers GET .../export: the list as CSV (listfile.Export, as
// "export" writes it), streamed as an attachment. The first 64 KiB are held
// back, so that an error before them is still answered in JSON; after
// them, each write may wait up to RequestTimeout for the client, and an
// error cuts the connection.
func (a *api) export(w http.ResponseWriter, r *http.Request) error {
	_, t, err := a.target(r)
	if err != nil {
		return err
	}
	ref := refOf(t.List)
	ew := &exportWriter{w: w, rc: http.NewResponseController(w), idle: a.opt.RequestTimeout,
		filename: ref.Kind + "-" + ref.Name + ".csv"}
	if r.Method == http.MethodHead {
		ew.start()
		return nil
	}
	defer ew.rc.SetWriteDeadline(time.Time{})
	if _, err := listfile.Export(r.Context(), a.opt.Redis, t.List, ew); err != nil {
		return err
	}
	return ew.flush()
}

// exportHold is how much of an export is held back before the answer
// starts.
const exportHold = 64 << 10

// exportWriter holds back the start of an export, then sends it with the
// CSV headers, giving each write idle time.
type exportWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	idle     time.Duration
	filename string
	held     []byte
	started  bool
}

func (e *exportWriter) start() {
	e.started = true
	h := e.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	e.w.WriteHeader(http.StatusOK)
}

func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.started {
		if len(e.held)+len(p) <= exportHold {
			e.held = append(e.held, p...)
			return len(p), nil
		}
		if err := e.flush(); err != nil {
			return 0, err
		}
	}
	return e.send(p)
}

// flush starts the answer, with what is held back.
func (e *exportWriter) flush() error {
	if !e.started {
		e.start()
	}
	held := e.held
	e.held = nil
	_, err := e.send(held)
	return err
}

func (e *exportWriter) send(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	_ = e.rc.SetWriteDeadline(time.Now().Add(e.idle)) // unsupported: the server's bounds apply
	return e.w.Write(p)
}

// upload is what the query of a file upload (an import or a scrub) says of
// the file.
type upload struct {
	column string // ?column=: the column that holds the numbers
	header *bool  // ?header=: whether the first row is a header (nil: detect)
	name   string // ?name=: the file's name for logs and summaries ("upload")
}

// uploadParams reads an upload's query and checks its content type and
// declared size.
func (a *api) uploadParams(r *http.Request) (upload, error) {
	var up upload
	var err error
	if up.column, err = textParam(r, "column"); err != nil {
		return up, err
	}
	if up.header, err = boolParam(r, "header"); err != nil {
		return up, err
	}
	if up.name, err = textParam(r, "name"); err != nil {
		return up, err
	}
	if up.name == "" {
		up.name = "upload"
	}
	if err := uploadContent(r); err != nil {
		return up, err
	}
	if r.ContentLength > a.opt.MaxUploadBytes {
		return up, errorf(http.StatusRequestEntityTooLarge, "upload: %d bytes, larger than %d (admin.max_upload_bytes)", r.ContentLength, a.opt.MaxUploadBytes)
	}
	return up, nil
}
