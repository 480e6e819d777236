package listfile

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// Import modes.
const (
	ModeMerge   = "merge"   // add the file's numbers to the list
	ModeReplace = "replace" // make the list hold exactly the file's numbers
)

// Defaults of ImportOptions.
const (
	DefaultBatchSize = 1000
	DefaultGrace     = 2 * time.Second
)

// ErrEmptyReplace is matched (errors.Is) by the error of a replace whose
// file holds no valid number: the list is left as it was, since emptying a
// list by import is far more likely a wrong file or column than a wish.
var ErrEmptyReplace = errors.New("replace with no valid number")

// ErrLeftover is matched (errors.Is) by the error of a replace that swapped
// the new list in but could not free the old one (a plain list's old set, a
// compact list's old version): the list is replaced, and the old keys are
// left behind.
var ErrLeftover = errors.New("old list left behind")

// ErrRedisFull is matched (errors.Is) by the error of an import that Redis
// refused for want of memory: it reached its maxmemory and evicts nothing
// (the noeviction policy). A replace that fails so has left the list as it
// was; a merge has added what it sent before.
var ErrRedisFull = errors.New("out of memory in Redis (maxmemory reached)")

// ImportOptions say what to import and how.
type ImportOptions struct {
	// List is the list imported into; its Layout says how it is stored.
	List blacklist.List
	// Keys names the events channel.
	Keys blacklist.Keys
	// Mode is ModeMerge (the default when empty) or ModeReplace.
	Mode string
	// Rules normalize every row: the campaign's rules, or the defaults.
	Rules number.Rules

	// Name names the input in errors: the file name, or "stdin".
	Name   string
	Column string // see ReaderOptions
	Header *bool  // see ReaderOptions

	// BatchSize is the most members per SADD (of a list, or of one bucket
	// of a compact list); a round trip carries 16 times that.
	// DefaultBatchSize when 0.
	BatchSize int

	// By, Reason, Source and Note go into the import's audit record and
	// its event.
	By, Reason, Source, Note string

	// Rejects, when set, receives a CSV line "line,input,reason" for every
	// row refused, after a header line "line,input,reason" written with the
	// first (nothing is written when no row is refused).
	Rejects io.Writer
	// Progress, when set, is called at most about ten times a second
	// while the file is read, and once at the end.
	Progress func(Progress)
	// Queues are dialer queues: every imported number is removed from
	// them, batch by batch.
	Queues []blacklist.Queue
	// AuditMaxLen trims the list's audit stream to about that many
	// records; 0 leaves it untrimmed.
	AuditMaxLen int64

	// Grace is how long a compact replace keeps the old version after
	// switching to the new one, for servers that read the version pointer
	// up to a second late; DefaultGrace when 0.
	Grace time.Duration
}

// Summary is what an import did.
type Summary struct {
	// Read counts the rows read, header excluded.
	Read int64
	// Added counts the members added. For a replace, it is the size of
	// the new list.
	Added int64
	// Present counts the valid rows whose member was already in the list
	// (always 0 for a replace).
	Present int64
	// Refused counts the rows refused (written to Rejects).
	Refused int64
	// Duplicates counts the valid rows that repeat a member of an earlier
	// row. A replace counts every repeat. A merge counts the repeats it
	// sees together (a compact import sorts chunks of one to eight million
	// numbers; a plain merge sees none), and the others in Present.
	Duplicates int64
	// Dequeued is how many queued contacts the import removed, per
	// campaign of ImportOptions.Queues (nil without queues).
	Dequeued map[string]int64
	Duration time.Duration
}

// batchesPerRound is how many batches one pipeline round trip carries.
const batchesPerRound = 16

// writers is how many pipeline round trips are in flight at once.
const writers = 2

// A compact import sorts its numbers a chunk at a time, to send each bucket's
// numbers of the chunk in one SADD. The chunk starts at compactChunk
// numbers and doubles, up to maxCompactChunk, while a chunk holds fewer than
// minPerBucket numbers per bucket (a big list in random order): fewer, larger
// SADDs cost Redis and the importer much less. Memory: 16 bytes per number
// of the chunk (it and the room to sort it), at most 128 MiB.
const (
	compactChunk    = 1 << 20
	maxCompactChunk = 1 << 23
	minPerBucket    = 16
)

// chunkSizes are the first and the largest chunk; tests make them small.
var chunkSizes = struct{ first, max int }{compactChunk, maxCompactChunk}

// stagingTTL bounds the life of a staging key that a crashed import leaves
// behind; every round trip renews it, and the swap removes it.
const stagingTTL = time.Hour

// importer is one import in progress.
type importer struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	rdb     redis.UniversalClient
	opt     ImportOptions
	compact bool
	replace bool
	list    string // the list's key

	// Plain lists: the set written to (the list, or the staging key).
	target     string
	expiryLive bool // a merge clears imported members' expiry
	// Compact lists: the version written to, and its bucket key prefix.
	version      string
	bucketPrefix string

	scratch []uint64 // room for radixSort

	jobs chan *job
	free chan *job
	wg   sync.WaitGroup

	added    atomic.Int64
	mu       sync.Mutex
	dequeued map[string]int64

	sum       Summary
	rejects   *csv.Writer
	rejHeader bool // whether the reject file's header is written
	rejErr    error
}

// job is one pipeline round trip: plain members, or sorted compact numbers.
// Jobs are recycled, with their buffers.
type job struct {
	members []string        // plain: the members; compact: the numbers as strings, for the queues
	nums    []uint64        // compact: the numbers, sorted
	args    []any           // every command's arguments
	cmds    []redis.Cmder   // the commands of the round trip
	sadds   []*redis.IntCmd // its SADDs, which count what was added
	deq     []queueCmds     // its removals from the dialer queues
	key     []byte          // room to build a bucket key
}

type queueCmds struct {
	campaign string
	cmds     []*redis.IntCmd
}

// Import reads a list file from r and imports its numbers into opt.List.
//
// Every row is normalized with opt.Rules; a row that is not a number (or, in
// a compact list, not a whole phone number) is refused, written to
// opt.Rejects with its line number and why, and the import goes on. Rows
// ending in '*' are prefix entries (plain lists only). The numbers are sent
// in batches of opt.BatchSize members per SADD, several batches per pipeline
// round trip and two round trips in flight, in constant memory.
//
// Merge adds the numbers to the list; entries already there keep their
// metadata, and lose their expiry (an imported entry blocks for good).
//
// Replace builds the new list beside the live one and switches to it
// atomically, so that a call never sees an empty or partial list: a plain
// list is built under a staging key and swapped in with RENAME in a
// MULTI/EXEC transaction, the old set then freed with UNLINK; a compact list
// is written as a new version, the version pointer switched, and the old
// version's keys unlinked after opt.Grace. Replace drops every entry's
// metadata and expiry: the new list holds only what the file holds. Entries
// added to the list by others while a replace runs are lost. A replace whose
// file has no valid number fails with ErrEmptyReplace and leaves the list
// alone.
//
// One audit record ("import-merge" or "import-replace", with the count)
// goes to the list's audit stream, and one Event for the whole import to
// the events channel (Op "import-merge" or "import-replace", no Member,
// with Dequeued).
//
// The error is an *Error for a file that cannot be read, ErrEmptyReplace,
// a rejects write error, or a Redis error. A merge that fails has added
// what it sent before (Summary says Read, Refused, Added and Dequeued so
// far); a replace that fails has left the list as it was, unless the error
// says "the list is replaced, but": then only what followed the swap failed
// (the audit record, the event, or freeing the old list: ErrLeftover).
func Import(ctx context.Context, rdb redis.UniversalClient, r io.Reader, opt ImportOptions) (Summary, error) {
	start := time.Now()
	switch opt.Mode {
	case "":
		opt.Mode = ModeMerge
	case ModeMerge, ModeReplace:
	default:
		return Summary{}, fmt.Errorf("import into %s: %w: mode %q: want %q or %q", opt.List.Key, ErrOption, opt.Mode, ModeMerge, ModeReplace)
	}
	if opt.List.Key == "" {
		return Summary{}, fmt.Errorf("import into list %q: %w: no Redis key", opt.List.Name, ErrOption)
	}
	if err := blacklist.ValidLayout(opt.List.Layout); err != nil {
		return Summary{}, fmt.Errorf("import into %s: %w", opt.List.Key, err)
	}
	for _, q := range opt.Queues {
		if err := q.Validate(); err != nil {
			return Summary{}, fmt.Errorf("import into %s: %w", opt.List.Key, err)
		}
	}

	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultBatchSize
	}
	if opt.Grace <= 0 {
		opt.Grace = DefaultGrace
	}
	if opt.Name == "" {
		opt.Name = "input"
	}
	lr, err := NewReader(r, ReaderOptions{Name: opt.Name, Column: opt.Column, Header: opt.Header})
	if err != nil {
		return Summary{}, err
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	im := &importer{
		ctx: ctx, cancel: cancel, rdb: rdb, opt: opt, compact: opt.List.Compact(),
		replace: opt.Mode == ModeReplace, list: opt.List.Key,
		dequeued: map[string]int64{},
	}
	if opt.Rejects != nil {
		im.rejects = csv.NewWriter(opt.Rejects)
	}
	for _, q := range opt.Queues {
		im.dequeued[q.Campaign] = 0
	}
	if err := im.prepare(); err != nil {
		return Summary{}, err
	}

	pool := writers + 2*batchesPerRound
	if !im.compact {
		pool = 2 * writers
	}
	im.jobs = make(chan *job, pool)
	im.free = make(chan *job, pool)
	for range pool {
		im.free <- &job{}
	}
	for range writers {
		im.wg.Go(im.write)
	}

	readErr := im.read(lr)
	close(im.jobs)
	im.wg.Wait()
	if readErr == nil {
		readErr = context.Cause(ctx)
	}
	im.sum.Added = im.added.Load()
	if im.rejects != nil {
		im.rejects.Flush()
		if err := im.rejects.Error(); err != nil && im.rejErr == nil {
			im.rejErr = fmt.Errorf("writing the reject file: %w", err)
		}
	}
	if readErr == nil {
		readErr = im.rejErr
	}
	if len(im.dequeued) > 0 {
		im.sum.Dequeued = im.dequeued
	}
	if readErr != nil {
		im.abandon()
		im.sum.Duplicates = 0 // counted in chunks that may not have been sent
		im.sum.Duration = time.Since(start)
		return im.sum, readErr
	}
	valid := im.sum.Read - im.sum.Refused
	if im.replace {
		im.sum.Duplicates = valid - im.sum.Added
	} else {
		im.sum.Present = valid - im.sum.Added - im.sum.Duplicates
	}
	err = im.finish()
	im.sum.Duration = time.Since(start)
	return im.sum, err
}

// prepare names the keys written to.
func (im *importer) prepare() error {
	ctx := im.ctx
	switch {
	case !im.compact && im.replace:
		im.target = blacklist.StagingKey(im.list, newID())
	case !im.compact:
		im.target = im.list
		n, err := im.rdb.Exists(ctx, blacklist.ExpiryKey(im.list)).Result()
		if err != nil {
			return fmt.Errorf("import into %s: %w", im.list, err)
		}
		im.expiryLive = n > 0
	case im.replace:
		live, err := im.rdb.Get(ctx, blacklist.VersionKey(im.list)).Result()
		if err != nil && err != redis.Nil {
			return fmt.Errorf("import into %s: reading its version: %w", im.list, err)
		}
		im.version = newID()
		if im.version == live {
			im.version += "b"
		}
	default:
		v, err := liveVersion(ctx, im.rdb, im.list, true)
		if err != nil {
			return fmt.Errorf("import into %s: %w", im.list, err)
		}
		im.version = v
	}
	if im.compact {
		im.bucketPrefix = blacklist.BucketKey(im.list, im.version, "")
	}
	return nil
}

// liveVersion returns the live version of the compact list with key list;
// with create, a list that has none gets version "1".
func liveVersion(ctx context.Context, rdb redis.UniversalClient, list string, create bool) (string, error) {
	key := blacklist.VersionKey(list)
	v, err := rdb.Get(ctx, key).Result()
	if err == redis.Nil && create {
		if err = rdb.SetNX(ctx, key, "1", 0).Err(); err == nil {
			v, err = rdb.Get(ctx, key).Result()
		}
	}
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the version of %s: %w", list, err)
	}
	return v, nil
}

// newID returns an identifier made of the time, for staging keys and
// compact versions: unique enough for imports of one list that do not run
// at the same nanosecond.
func newID() string {
	return strconv.FormatInt(time.Now().UnixNano(), 36)
}

// read reads the rows, refuses what is not a member, and hands the
// members to the writers.
func (im *importer) read(lr *Reader) error {
	progress := progressReporter{fn: im.opt.Progress}
	defer progress.done(lr)
	var (
		j     *job
		chunk []uint64
	)
	perJob := im.opt.BatchSize * batchesPerRound
	if im.compact {
		chunk = make([]uint64, 0, chunkSizes.first)
	}
	for {
		rec, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		im.sum.Read++
		progress.row(lr)
		member, n, reason := im.member(rec)
		if reason != "" {
			im.sum.Refused++
			im.reject(rec.Line, rec.Value, reason)
			continue
		}
		if im.compact {
			chunk = append(chunk, n)
			if len(chunk) == cap(chunk) {
				sparse, err := im.sendChunk(chunk)
				if err != nil {
					return err
				}
				chunk = chunk[:0]
				if sparse && cap(chunk) < chunkSizes.max {
					chunk = make([]uint64, 0, 2*cap(chunk))
				}
			}
			continue
		}
		if j == nil {
			if j, err = im.job(); err != nil {
				return err
			}
		}
		j.members = append(j.members, member)
		if len(j.members) == perJob {
			if err := im.send(j); err != nil {
				return err
			}
			j = nil
		}
	}
	if im.compact {
		_, err := im.sendChunk(chunk)
		return err
	}
	if j != nil {
		return im.send(j)
	}
	return nil
}

// member returns the member of a row (a compact list's as a number), or
// why the row is refused.
func (im *importer) member(rec Record) (member string, n uint64, reason string) {
	if rec.Err != nil {
		return "", 0, rec.Err.Error()
	}
	if p, ok := blacklist.PrefixEntry(rec.Value); ok {
		if im.compact {
			return "", 0, "a prefix entry: a compact list holds whole phone numbers only"
		}
		if err := blacklist.ValidEntry(p); err != nil {
			return "", 0, err.Error()
		}
		return p, 0, ""
	}
	num, err := im.opt.Rules.Normalize(rec.Value)
	if err != nil {
		var ne *number.Error
		if errors.As(err, &ne) {
			return "", 0, ne.Reason
		}
		return "", 0, err.Error()
	}
	if !im.compact {
		return num.Canonical, 0, ""
	}
	if num.Kind != number.Phone {
		return "", 0, "an extension: a compact list holds whole phone numbers only"
	}
	n, ok := compactNumber(num.Canonical)
	if !ok {
		return "", 0, fmt.Sprintf("%s cannot be stored in a compact list", num.Canonical)
	}
	return "", n, ""
}

// compactNumber reads a canonical phone number as an integer. Canonical
// numbers start with a country code, never with 0, so the integer gives the
// digits back; they have more than blacklist.CompactDigits digits and at
// most 19.
func compactNumber(s string) (uint64, bool) {
	if len(s) <= blacklist.CompactDigits || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

func (im *importer) reject(line int64, input, reason string) {
	if im.rejects == nil || im.rejErr != nil {
		return
	}
	if !im.rejHeader {
		im.rejHeader = true
		if err := im.rejects.Write([]string{"line", "input", "reason"}); err != nil {
			im.rejErr = fmt.Errorf("writing the reject file: %w", err)
			return
		}
	}
	const maxInput = 1024
	if len(input) > maxInput {
		input = input[:maxInput] + "..."
	}
	if err := im.rejects.Write([]string{strconv.FormatInt(line, 10), input, reason}); err != nil {
		im.rejErr = fmt.Errorf("writing the reject file: %w", err)
	}
}

// job returns a free job, waiting for one while every job is in flight.
func (im *importer) job() (*job, error) {
	select {
	case j := <-im.free:
		j.members, j.nums = j.members[:0], j.nums[:0]
		return j, nil
	case <-im.ctx.Done():
		return nil, context.Cause(im.ctx)
	}
}

func (im *importer) send(j *job) error {
	select {
	case im.jobs <- j:
		return nil
	case <-im.ctx.Done():
		return context.Cause(im.ctx)
	}
}

// sendChunk sorts a chunk of compact numbers, counts and drops its
// repeats, and hands it to the writers in jobs. sparse says that it held
// fewer than minPerBucket numbers per bucket.
func (im *importer) sendChunk(chunk []uint64) (sparse bool, err error) {
	if len(chunk) == 0 {
		return false, nil
	}
	if len(im.scratch) < len(chunk) {
		im.scratch = make([]uint64, cap(chunk))
	}
	radixSort(chunk, im.scratch)
	uniq := slices.Compact(chunk)
	im.sum.Duplicates += int64(len(chunk) - len(uniq))
	buckets := 1
	for i := 1; i < len(uniq); i++ {
		if uniq[i]/10000 != uniq[i-1]/10000 {
			buckets++
		}
	}
	perJob := im.opt.BatchSize * batchesPerRound
	for rest := uniq; len(rest) > 0; {
		j, err := im.job()
		if err != nil {
			return false, err
		}
		n := min(perJob, len(rest))
		j.nums = append(j.nums, rest[:n]...)
		rest = rest[n:]
		if err := im.send(j); err != nil {
			return false, err
		}
	}
	return len(uniq) < minPerBucket*buckets, nil
}

// write runs pipeline round trips until the jobs run out or one fails.
func (im *importer) write() {
	for j := range im.jobs {
		if im.ctx.Err() == nil {
			var err error
			if im.compact {
				err = im.writeCompact(j)
			} else {
				err = im.writePlain(j)
			}
			if err != nil {
				im.cancel(err)
			}
		}
		im.free <- j
	}
}

func (im *importer) writePlain(j *job) error {
	ctx := im.ctx
	bs := im.opt.BatchSize
	j.args = slices.Grow(j.args[:0], len(j.members)+2*(len(j.members)/bs+1))
	j.cmds, j.sadds = j.cmds[:0], j.sadds[:0]
	for i := 0; i < len(j.members); i += bs {
		batch := j.members[i:min(i+bs, len(j.members))]
		start := len(j.args)
		j.args = append(j.args, "sadd", im.target)
		for _, m := range batch {
			j.args = append(j.args, m)
		}
		cmd := redis.NewIntCmd(ctx, j.args[start:len(j.args):len(j.args)]...)
		j.cmds = append(j.cmds, cmd)
		j.sadds = append(j.sadds, cmd)
	}
	if im.replace {
		j.cmds = append(j.cmds, redis.NewBoolCmd(ctx, "pexpire", im.target, stagingTTL.Milliseconds()))
	}
	if im.expiryLive {
		for i := 0; i < len(j.members); i += bs {
			batch := j.members[i:min(i+bs, len(j.members))]
			args := make([]any, 0, 2+len(batch))
			args = append(args, "zrem", blacklist.ExpiryKey(im.list))
			for _, m := range batch {
				args = append(args, m)
			}
			j.cmds = append(j.cmds, redis.NewIntCmd(ctx, args...))
		}
	}
	return im.exec(j, j.members)
}

// compactMembers holds every compact member as Redis writes it, boxed
// once: an argument that costs no allocation and no formatting.
var compactMembers = func() []any {
	s := make([]any, 10000)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func (im *importer) writeCompact(j *job) error {
	ctx := im.ctx
	j.args = slices.Grow(j.args[:0], len(j.nums)*3)
	j.cmds, j.sadds = j.cmds[:0], j.sadds[:0]
	for i := 0; i < len(j.nums); {
		bucket := j.nums[i] / 10000
		k := i
		for k < len(j.nums) && j.nums[k]/10000 == bucket && k-i < im.opt.BatchSize {
			k++
		}
		j.key = strconv.AppendUint(append(j.key[:0], im.bucketPrefix...), bucket, 10)
		start := len(j.args)
		j.args = append(j.args, "sadd", string(j.key))
		for _, n := range j.nums[i:k] {
			j.args = append(j.args, compactMembers[n%10000])
		}
		cmd := redis.NewIntCmd(ctx, j.args[start:len(j.args):len(j.args)]...)
		j.cmds = append(j.cmds, cmd)
		j.sadds = append(j.sadds, cmd)
		i = k
	}
	var members []string
	if len(im.opt.Queues) > 0 {
		j.members = j.members[:0]
		for _, n := range j.nums {
			j.members = append(j.members, strconv.FormatUint(n, 10))
		}
		members = j.members
	}
	if err := im.exec(j, members); err != nil {
		return err
	}
	if im.replace {
		return nil // the count is set with the switch
	}
	var added int64
	for _, c := range j.sadds {
		added += c.Val()
	}
	if added == 0 {
		return nil
	}
	if err := im.rdb.IncrBy(ctx, blacklist.CompactCountKey(im.list, im.version), added).Err(); err != nil {
		return fmt.Errorf("import into %s: counting: %w", im.list, err)
	}
	return nil
}

// exec adds the dequeue commands of members to the job's commands, sends
// them in one round trip and counts what they did.
func (im *importer) exec(j *job, members []string) error {
	ctx := im.ctx
	pipe := im.rdb.Pipeline()
	j.deq = j.deq[:0]
	if len(members) > 0 {
		bs := im.opt.BatchSize
		for _, q := range im.opt.Queues {
			qc := queueCmds{campaign: q.Campaign}
			for i := 0; i < len(members); i += bs {
				qc.cmds = append(qc.cmds, q.Remove(ctx, pipe, members[i:min(i+bs, len(members))]...)...)
			}
			j.deq = append(j.deq, qc)
		}
	}
	if err := pipe.BatchProcess(ctx, j.cmds...); err != nil {
		return err
	}
	_, err := pipe.Exec(ctx)
	// Count what the round trip did even when part of it failed (Redis
	// filling up half way): a merge keeps it. A failed command counts 0.
	var added int64
	for _, c := range j.sadds {
		added += c.Val()
	}
	im.added.Add(added)
	if len(j.deq) > 0 {
		im.mu.Lock()
		for _, qc := range j.deq {
			for _, c := range qc.cmds {
				im.dequeued[qc.campaign] += c.Val()
			}
		}
		im.mu.Unlock()
	}
	if err != nil {
		for _, c := range j.cmds {
			if c.Err() != nil {
				return im.writeError(c.Name(), c.Err())
			}
		}
		return im.writeError("", err)
	}
	// Drop the references to this round's strings.
	clear(j.args)
	return nil
}

// writeError is the error of a round trip whose command cmd ("" when not
// known) failed with err. Out of memory, it says so and what became of the
// list.
func (im *importer) writeError(cmd string, err error) error {
	oom := redis.IsOOMError(err)
	if cmd != "" {
		err = fmt.Errorf("%s: %w", cmd, err)
	}
	if !oom {
		return fmt.Errorf("import into %s: %w", im.list, err)
	}
	outcome := "the numbers sent before stay in the list"
	if im.replace {
		outcome = "the list is left as it was"
	}
	return fmt.Errorf("import into %s: %w: %s (%w)", im.list, ErrRedisFull, outcome, err)
}

// abandon removes what a failed replace built, with a context of its own:
// the import's may be what failed.
func (im *importer) abandon() {
	if !im.replace {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(im.ctx), 30*time.Second)
	defer cancel()
	if im.compact {
		unlinkVersion(ctx, im.rdb, im.list, im.version)
		return
	}
	im.rdb.Unlink(ctx, im.target)
}

// finish makes a replace live, writes the audit record and publishes the
// event.
func (im *importer) finish() error {
	ctx := im.ctx
	op := "import-" + im.opt.Mode
	now := time.Now()
	rec := blacklist.AuditRecord{Op: op, Count: im.sum.Added, By: im.opt.By, Reason: im.opt.Reason,
		Source: im.opt.Source, Note: im.opt.Note, At: now}
	if im.replace && im.sum.Added == 0 {
		im.abandon()
		return fmt.Errorf("import into %s: %w: %d rows read, %d refused", im.list, ErrEmptyReplace, im.sum.Read, im.sum.Refused)
	}
	var old string  // a compact replace's old version
	var after error // an error after the list was replaced
	switch {
	case im.replace && !im.compact:
		var err error
		if after, err = im.swapPlain(rec); err != nil {
			im.abandon()
			return err
		}
	case im.replace:
		var err error
		if old, after, err = im.switchCompact(rec); err != nil {
			im.abandon()
			return err
		}
	default:
		pipe := im.rdb.Pipeline()
		blacklist.AddAudit(ctx, pipe, im.list, rec, im.opt.AuditMaxLen)
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("import into %s: writing the audit record: %w", im.list, err)
		}
	}
	ev := blacklist.Event{Op: op, List: im.opt.List.Name, Campaign: im.opt.List.Campaign,
		Reason: im.opt.Reason, By: im.opt.By, At: now}
	if len(im.dequeued) > 0 {
		ev.Dequeued = im.dequeued
	}
	payload, _ := json.Marshal(ev)
	if err := im.rdb.Publish(ctx, im.opt.Keys.Events(), payload).Err(); err != nil {
		after = errors.Join(after, fmt.Errorf("import into %s: publishing the event: %w", im.list, err))
	}
	if old != "" && old != im.version {
		t := time.NewTimer(im.opt.Grace)
		defer t.Stop()
		var err error
		select {
		case <-t.C:
			err = unlinkVersion(ctx, im.rdb, im.list, old)
		case <-ctx.Done():
			err = context.Cause(ctx)
		}
		if err != nil {
			after = errors.Join(after, fmt.Errorf("import into %s: the list is replaced, but its version %s is left: %w: %w", im.list, old, ErrLeftover, err))
		}
	}
	return after
}

// swapPlain swaps the staging set in for the list, in one transaction
// (MULTI/EXEC) that no check can see half done: RENAME list -> trash when
// the list exists, RENAME staging -> list, PERSIST (the staging key's TTL
// goes with it), UNLINK of the metadata and expiry companions, and the
// audit record. Both keys are WATCHed, so that the transaction runs as
// planned (a write to the list in between makes it try again). The old set
// is then unlinked: freed by a background thread. err means that the list
// was not replaced; after is an error once it was.
func (im *importer) swapPlain(rec blacklist.AuditRecord) (after, err error) {
	ctx := im.ctx
	trash := blacklist.StagingKey(im.list, newID()+"-old")
	for attempt := 1; ; attempt++ {
		var existed bool
		var swap *redis.StatusCmd
		var cmds []redis.Cmder
		err = im.rdb.Watch(ctx, func(tx *redis.Tx) error {
			staged, err := tx.Exists(ctx, im.target).Result()
			if err != nil {
				return err
			}
			if staged == 0 {
				return fmt.Errorf("the staging set %s is gone", im.target)
			}
			n, err := tx.Exists(ctx, im.list).Result()
			if err != nil {
				return err
			}
			existed = n == 1
			cmds, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				if existed {
					p.Rename(ctx, im.list, trash)
				}
				swap = p.Rename(ctx, im.target, im.list)
				p.Persist(ctx, im.list)
				p.Unlink(ctx, blacklist.MetaKey(im.list), blacklist.ExpiryKey(im.list))
				blacklist.AddAudit(ctx, p, im.list, rec, im.opt.AuditMaxLen)
				return nil
			})
			return err
		}, im.target, im.list)
		if errors.Is(err, redis.TxFailedErr) && attempt < 10 {
			continue
		}
		if swap == nil || errors.Is(err, redis.TxFailedErr) || swap.Err() != nil {
			if err == nil {
				err = swap.Err()
			}
			return nil, fmt.Errorf("import into %s: swapping the new list in: %w", im.list, err)
		}
		after = firstErr(cmds, im.list)
		if existed {
			if err := im.rdb.Unlink(ctx, trash).Err(); err != nil {
				after = errors.Join(after, fmt.Errorf("import into %s: the list is replaced, but its old set %s is left: %w: %w", im.list, trash, ErrLeftover, err))
			}
		}
		return after, nil
	}
}

// switchCompact makes the new version of a compact list live, in one
// transaction: the SET of its count, the SET ... GET of the version key
// (which answers the old version), and the audit record. err means that
// the list was not switched; after is an error once it was.
func (im *importer) switchCompact(rec blacklist.AuditRecord) (old string, after, err error) {
	ctx := im.ctx
	var get *redis.Cmd
	cmds, err := im.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, blacklist.CompactCountKey(im.list, im.version), im.sum.Added, 0)
		get = p.Do(ctx, "set", blacklist.VersionKey(im.list), im.version, "get")
		blacklist.AddAudit(ctx, p, im.list, rec, im.opt.AuditMaxLen)
		return nil
	})
	if get == nil || (get.Err() != nil && get.Err() != redis.Nil) {
		if err == nil || err == redis.Nil {
			err = get.Err()
		}
		return "", nil, fmt.Errorf("import into %s: switching to version %s: %w", im.list, im.version, err)
	}
	old, _ = get.Text()
	return old, firstErr(cmds, im.list), nil
}

// firstErr returns the first error among cmds (redis.Nil aside), naming the
// command.
func firstErr(cmds []redis.Cmder, list string) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil && err != redis.Nil {
			return fmt.Errorf("import into %s: the list is replaced, but %s failed: %w", list, c.Name(), err)
		}
	}
	return nil
}

// unlinkVersion unlinks the keys of version ver of a compact list, found
// with SCAN on the server that holds the list (blacklist.ScanListKeys), a
// thousand at a time.
func unlinkVersion(ctx context.Context, rdb redis.UniversalClient, list, ver string) error {
	pattern := globEscape(blacklist.BucketKey(list, ver, "")) + "*"
	return blacklist.ScanListKeys(ctx, rdb, list, pattern, 1000, func(keys []string) error {
		return rdb.Unlink(ctx, keys...).Err()
	})
}

// globEscape escapes the characters that SCAN MATCH reads as a pattern.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`*?[]\`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
