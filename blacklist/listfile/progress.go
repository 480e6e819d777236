package listfile

import "time"

// Progress is how far an import or a scrub has read its input.
type Progress struct {
	Rows  int64 // rows read, header excluded
	Bytes int64 // bytes of the input read (compressed bytes, for a gzip file)
	Total int64 // the input's size in bytes, 0 when unknown (a pipe)
}

// progressInterval is the least time between two calls of a Progress
// function.
const progressInterval = 100 * time.Millisecond

// progressEvery is how many rows pass between two looks at the clock.
const progressEvery = 4096

// progressReporter calls a Progress function at most every
// progressInterval.
type progressReporter struct {
	fn   func(Progress)
	last time.Time
	rows int64
}

// row counts one row and calls the function when it is time.
func (p *progressReporter) row(lr *Reader) {
	if p.fn == nil {
		return
	}
	p.rows++
	if p.rows%progressEvery != 0 {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.fn(lr.Progress())
	}
}

// done calls the function a last time, with the final figures.
func (p *progressReporter) done(lr *Reader) {
	if p.fn != nil && lr != nil {
		p.fn(lr.Progress())
	}
}
