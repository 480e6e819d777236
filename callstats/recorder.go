package callstats

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/guard"
)

// Defaults of Options.
const (
	DefaultQueue        = 10000
	DefaultStreamMaxLen = 1_000_000
	DefaultRetention    = 35 * 24 * time.Hour
)

const (
	// batchSize is the most observations one pipeline writes.
	batchSize = 512
	// batchDelay is how long the writer waits for a batch to fill.
	batchDelay = 50 * time.Millisecond
	// writeTimeout bounds one pipeline.
	writeTimeout = 5 * time.Second
	// stopTimeout bounds the last flush when Run's context ends.
	stopTimeout = 5 * time.Second
	// logEvery is the least time between two logs of failed writes.
	logEvery = 10 * time.Second
	// maxField is the most bytes of a free-text field (dialed, channel,
	// error...) kept in the blocked-call log.
	maxField = 256
)

// Options configure a Recorder. The zero value of each field is its default.
type Options struct {
	Keys blacklist.Keys // the key prefix
	// Instance names this server instance in the blocked-call log.
	Instance string
	// StreamMaxLen is about how many entries the blocked-call log keeps
	// (XADD MAXLEN ~); default DefaultStreamMaxLen.
	StreamMaxLen int64
	// Retention is how long the hourly counters are kept after their
	// hour; default DefaultRetention.
	Retention time.Duration
	// Queue is how many observations wait for the writer before new ones
	// are dropped; default DefaultQueue.
	Queue  int
	Logger *slog.Logger
	// Now is the clock that stamps observations; default time.Now.
	Now func() time.Time
}

// Recorder writes the guard's observations to Redis. It implements
// guard.Observer; its methods are safe for concurrent use.
type Recorder struct {
	rdb    redis.UniversalClient
	opt    Options
	queue  chan record
	notify chan struct{} // poked when the queue gains an observation
	full   chan struct{} // poked when the queue holds a whole batch
	// sem is held by the one writer taking observations off the queue, from
	// taking them until they are written: Flush waits for it, so what was
	// queued before Flush is written when it returns.
	sem     chan struct{}
	batch   []record // the writer's buffer, under sem
	lastLog time.Time
	// unlogged counts the failed writes since the last log, under sem.
	unlogged    int
	dropped     atomic.Uint64
	writeErrors atomic.Uint64
}

// record is an observation as queued: only what the writer needs.
type record struct {
	at       time.Time
	campaign string // folded
	status   guard.Status
	block    bool
	// The details of a blocked call, for the log; empty otherwise.
	number, dialed, list, entry, reason, uniqueID, channel string
}

// NewRecorder returns a Recorder that writes to rdb once Run is running.
func NewRecorder(rdb redis.UniversalClient, opt Options) *Recorder {
	if opt.StreamMaxLen <= 0 {
		opt.StreamMaxLen = DefaultStreamMaxLen
	}
	if opt.Retention <= 0 {
		opt.Retention = DefaultRetention
	}
	if opt.Queue <= 0 {
		opt.Queue = DefaultQueue
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Recorder{
		rdb:    rdb,
		opt:    opt,
		queue:  make(chan record, opt.Queue),
		notify: make(chan struct{}, 1),
		full:   make(chan struct{}, 1),
		sem:    make(chan struct{}, 1),
		batch:  make([]record, 0, batchSize),
	}
}

// ObserveCheck queues one observation and returns at once; when the queue
// is full the observation is dropped and counted (Dropped).
func (r *Recorder) ObserveCheck(o guard.Observation) {
	v := &o.Verdict
	rec := record{at: r.opt.Now(), campaign: FoldCampaign(v.Campaign), status: v.Status, block: v.Block}
	if v.Block {
		rec.number = v.Number.Canonical
		rec.dialed = clip(v.Dialed)
		rec.list, rec.entry, rec.reason = v.List, v.Entry, clip(v.Reason)
		if v.Status == guard.StatusError && v.Err != nil {
			rec.reason = clip(v.Err.Error())
		}
		rec.uniqueID, rec.channel = clip(o.UniqueID), clip(o.Channel)
	}
	select {
	case r.queue <- rec:
	default:
		r.dropped.Add(1)
		return
	}
	select {
	case r.notify <- struct{}{}:
	default:
	}
	if len(r.queue) >= batchSize {
		select {
		case r.full <- struct{}{}:
		default:
		}
	}
}

// clip bounds a free-text field of the log.
func clip(s string) string {
	if len(s) > maxField {
		return s[:maxField]
	}
	return s
}

// Dropped returns how many observations were dropped because the queue was
// full.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// WriteErrors returns how many batches Redis failed to take (each batch is
// one pipeline of up to 512 observations, some of which may be lost).
func (r *Recorder) WriteErrors() uint64 { return r.writeErrors.Load() }

// Run writes the queued observations until ctx ends, in batches of up to
// 512 observations or 50 ms, one pipeline each. When ctx ends it writes
// what is still queued, for at most 5 seconds, and returns. Run once.
func (r *Recorder) Run(ctx context.Context) {
	wctx := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			r.stop(wctx)
			return
		case <-r.notify:
		}
		if len(r.queue) < batchSize {
			t := time.NewTimer(batchDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				r.stop(wctx)
				return
			case <-t.C:
			case <-r.full:
				t.Stop()
			}
		}
		r.writeQueued(wctx)
	}
}

// stop writes what is queued within stopTimeout.
func (r *Recorder) stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	r.writeQueued(ctx)
}

// Flush writes every observation queued before the call, and returns the
// last Redis error, if any.
func (r *Recorder) Flush(ctx context.Context) error {
	return r.writeQueued(ctx)
}

// writeQueued takes sem, then writes as many observations as the queue
// holds at that moment, in batches. It returns the last error.
func (r *Recorder) writeQueued(ctx context.Context) error {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	select { // a batch is taken now: a pending poke is stale
	case <-r.full:
	default:
	}
	var last error
	for n := len(r.queue); n > 0; {
		batch := r.batch[:0]
		for ; n > 0 && len(batch) < batchSize; n-- {
			batch = append(batch, <-r.queue)
		}
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := r.write(wctx, batch)
		cancel()
		clear(batch) // release the strings
		if err != nil {
			last = err
			r.failed(err, len(batch))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return last
}

// failed counts a failed write and logs it, at most once every logEvery.
func (r *Recorder) failed(err error, observations int) {
	r.writeErrors.Add(1)
	r.unlogged++
	if now := time.Now(); now.Sub(r.lastLog) >= logEvery {
		r.opt.Logger.Error("writing call statistics to Redis failed",
			"err", err, "observations", observations, "failed_writes", r.unlogged)
		r.lastLog, r.unlogged = now, 0
	}
}

// hour is one campaign's hour.
type hour struct {
	campaign string
	start    int64 // Unix seconds of the hour's start
}

// tally is what a batch adds to one hour.
type tally struct {
	checked, allowed, blocked, errors int64
	lists                             map[string]int64
}

// latest is what a batch sets in a campaign's summary hash.
type latest struct{ check, block int64 } // Unix ms; block 0: none

// write sends one batch in one pipeline.
func (r *Recorder) write(ctx context.Context, batch []record) error {
	hours := make(map[hour]*tally)
	last := make(map[string]latest)
	for i := range batch {
		rec := &batch[i]
		// Truncate works on absolute time: the UTC hour, whatever the zone.
		h := hour{rec.campaign, rec.at.Truncate(time.Hour).Unix()}
		t := hours[h]
		if t == nil {
			t = &tally{}
			hours[h] = t
		}
		t.checked++
		ms := rec.at.UnixMilli()
		l := last[rec.campaign]
		l.check = max(l.check, ms)
		switch rec.status {
		case guard.StatusAllowed:
			t.allowed++
		case guard.StatusBlocked:
			t.blocked++
			if t.lists == nil {
				t.lists = make(map[string]int64)
			}
			t.lists[listName(rec.list)]++
		default:
			t.errors++
		}
		if rec.status == guard.StatusBlocked {
			l.block = max(l.block, ms)
		}
		last[rec.campaign] = l
	}

	pipe := r.rdb.Pipeline()
	for h, t := range hours {
		key := HourKey(r.opt.Keys, h.campaign, time.Unix(h.start, 0))
		incr := func(field string, n int64) {
			if n != 0 {
				pipe.HIncrBy(ctx, key, field, n)
			}
		}
		incr("checked", t.checked)
		incr("allowed", t.allowed)
		incr("blocked", t.blocked)
		incr("errors", t.errors)
		for list, n := range t.lists {
			incr("blocked:"+list, n)
		}
		pipe.ExpireAt(ctx, key, time.Unix(h.start, 0).Add(time.Hour+r.opt.Retention))
	}
	for campaign, l := range last {
		key := CampaignKey(r.opt.Keys, campaign)
		values := []any{"last_check", l.check}
		if l.block != 0 {
			values = append(values, "last_block", l.block)
		}
		pipe.HSet(ctx, key, values...)
		pipe.PExpire(ctx, key, r.opt.Retention)
	}
	stream := BlockedKey(r.opt.Keys)
	for i := range batch {
		if rec := &batch[i]; rec.block {
			pipe.XAdd(ctx, &redis.XAddArgs{
				Stream: stream,
				MaxLen: r.opt.StreamMaxLen,
				Approx: true,
				Values: r.entry(rec),
			})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("writing %d call observations: %w", len(batch), err)
	}
	return nil
}

// listName is the list counted for a block; a verdict always names one, but
// a missing name must not make a field "blocked:".
func listName(list string) string {
	if list == "" {
		return NoCampaign
	}
	return list
}

// entry returns the fields of a blocked call's stream entry.
func (r *Recorder) entry(rec *record) []any {
	status := StatusBlocked
	if rec.status != guard.StatusBlocked {
		status = StatusError
	}
	values := []any{"time", rec.at.UTC().Format(time.RFC3339Nano), "campaign", rec.campaign, "status", status}
	add := func(k, v string) {
		if v != "" {
			values = append(values, k, v)
		}
	}
	add("number", rec.number)
	add("dialed", rec.dialed)
	add("list", rec.list)
	add("entry", rec.entry)
	add("reason", rec.reason)
	add("uniqueid", rec.uniqueID)
	add("channel", rec.channel)
	add("instance", r.opt.Instance)
	return values
}
