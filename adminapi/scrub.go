package adminapi

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/blacklist/listfile"
)

// maxScrubAnswer bounds what a scrub holds in memory for its answer: the
// clean file and the report of removed rows together. A bigger lead file
// is scrubbed with the CLI ("blacklist-agi scrub"), which writes files.
const maxScrubAnswer = 32 << 20

// maxScrubs is how many scrubs may run at once: each holds up to
// maxScrubAnswer bytes and loads Redis with its checks.
const maxScrubs = 2

// errScrubTooLarge is the error of a scrub whose answer outgrows
// maxScrubAnswer.
var errScrubTooLarge = errors.New("scrub answer too large")

// scrubAnswer is the answer of POST /api/v1/scrub.
type scrubAnswer struct {
	Campaign string           `json:"campaign"`
	Lists    []listRef        `json:"lists"`
	Read     int64            `json:"read"`
	Kept     int64            `json:"kept"`
	Removed  int64            `json:"removed"`
	Invalid  int64            `json:"invalid"`
	ByList   map[string]int64 `json:"by_list"`
	// Clean is the clean lead file: the rows kept, as they were read.
	Clean string `json:"clean"`
	// RemovedRows are the rows removed, in the file's order.
	RemovedRows []scrubRow `json:"removed_rows"`
}

// scrubRow is one row removed by a scrub (listfile.ScrubReportHeader).
type scrubRow struct {
	Line       int64  `json:"line"`
	Number     string `json:"number"`
	Normalized string `json:"normalized,omitempty"`
	List       string `json:"list,omitempty"`
	Entry      string `json:"entry,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// scrub answers POST /api/v1/scrub?campaign=&column=&header=&name=: the
// request body is a dialer's lead file (CSV or one number per line, gzip
// or not, at most MaxUploadBytes), checked row by row against every list a
// call of the campaign is checked against, as "blacklist-agi scrub" does.
// It writes nothing to Redis, so a read token may use it. The answer holds
// the clean file and the removed rows, at most maxScrubAnswer bytes
// together (413 beyond); at most maxScrubs run at once (429 beyond).
func (a *api) scrub(w http.ResponseWriter, r *http.Request) error {
	m, err := a.manager()
	if err != nil {
		return err
	}
	campaign, err := textParam(r, "campaign")
	if err != nil {
		return err
	}
	if campaign == "" {
		return errorf(http.StatusBadRequest, "campaign: empty; give the campaign whose lists apply")
	}
	if err := blacklist.ValidName("campaign id", campaign); err != nil {
		return errorf(http.StatusBadRequest, "campaign: %v", err)
	}
	up, err := a.uploadParams(r)
	if err != nil {
		return err
	}
	column, header, name := up.column, up.header, up.name
	if a.opt.Redis == nil {
		return errorf(http.StatusNotFound, "scrubs are not served by this server")
	}

	select {
	case a.scrubs <- struct{}{}:
		defer func() { <-a.scrubs }()
	default:
		return errorf(http.StatusTooManyRequests, "scrub: %d scrubs are running, the most at once; try again when one is done", maxScrubs)
	}

	lists, rules := m.CheckLists(campaign)
	rc := http.NewResponseController(w)
	defer rc.SetReadDeadline(time.Time{})
	body := &idleReader{r: http.MaxBytesReader(unwrap(w), r.Body, a.opt.MaxUploadBytes), rc: rc, idle: a.opt.RequestTimeout}
	out := &boundedBuffer{max: maxScrubAnswer}
	var clean, report bytes.Buffer
	out.parts = []*bytes.Buffer{&clean, &report}
	sum, err := listfile.Scrub(r.Context(), blacklist.NewChecker(a.opt.Redis), body,
		out.writer(&clean), out.writer(&report), listfile.ScrubOptions{
			Lists: lists, Rules: rules, Name: name, Column: column, Header: header,
		})
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
	case out.over:
		return errorf(http.StatusRequestEntityTooLarge, "scrub of %s: the clean file and the report pass %d bytes; scrub a file this big with the CLI (blacklist-agi scrub)", name, maxScrubAnswer)
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, "upload: larger than %d bytes (admin.max_upload_bytes)", mbe.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errorf(http.StatusRequestTimeout, "upload: no data for %s (admin.request_timeout) after %d bytes", a.opt.RequestTimeout, body.read)
	case body.readErr:
		return errorf(http.StatusBadRequest, "upload: reading the body after %d bytes: %v", body.read, err)
	case body.read == 0:
		return errorf(http.StatusBadRequest, "upload: empty; send the lead file as the request body")
	default:
		return err
	}
	if body.read == 0 {
		return errorf(http.StatusBadRequest, "upload: empty; send the lead file as the request body")
	}
	rows, err := scrubRows(report.Bytes())
	if err != nil {
		return fmt.Errorf("scrub of %s: reading back the report: %w", name, err)
	}
	ans := scrubAnswer{
		Campaign: campaign, Lists: make([]listRef, 0, len(lists)),
		Read: sum.Read, Kept: sum.Kept, Removed: sum.Removed, Invalid: sum.Invalid, ByList: sum.ByList,
		Clean: clean.String(), RemovedRows: rows,
	}
	if ans.ByList == nil {
		ans.ByList = map[string]int64{}
	}
	for _, l := range lists {
		ans.Lists = append(ans.Lists, refOf(l))
	}
	a.log.Info("admin API scrub", "campaign", campaign, "name", name, "read", sum.Read, "removed", sum.Removed)
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// scrubRows reads back the report that listfile.Scrub wrote.
func scrubRows(report []byte) ([]scrubRow, error) {
	rows := []scrubRow{}
	cr := csv.NewReader(bytes.NewReader(report))
	cr.FieldsPerRecord = len(listfile.ScrubReportHeader)
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		if first {
			continue // the header
		}
		line, err := strconv.ParseInt(rec[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", rec[0], err)
		}
		rows = append(rows, scrubRow{Line: line, Number: rec[1], Normalized: rec[2], List: rec[3], Entry: rec[4], Reason: rec[5]})
	}
}

// boundedBuffer bounds the bytes written to a few buffers together.
type boundedBuffer struct {
	max   int
	parts []*bytes.Buffer
	over  bool
}

// writer returns a writer to b that fails with errScrubTooLarge once the
// buffers hold more than max bytes together.
func (bb *boundedBuffer) writer(b *bytes.Buffer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		total := len(p)
		for _, part := range bb.parts {
			total += part.Len()
		}
		if total > bb.max {
			bb.over = true
			return 0, errScrubTooLarge
		}
		return b.Write(p)
	})
}

// writerFunc is a function as an io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
