package agitest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// agiBufLen is AGI_BUF_LEN in res_agi.c: Asterisk reads a command into a
// buffer this long, so a command is at most agiBufLen-1 bytes; a longer line
// is processed as several commands.
const agiBufLen = 2048

// session is one AGI() run: the channel, the connection and the record.
type session struct {
	call Call
	ch   *channel
	w    io.Writer // the connection; a buffer in unit tests
	res  Result

	dead         bool // the channel was hung up: Asterisk's "dead" mode
	failed       bool // a command failed on a live channel: AGISTATUS=FAILURE
	sendSighup   bool // AGISIGHUP is not false: write "HANGUP" lines
	exitOnHangup bool // AGIEXITONHANGUP is true: end the session on hangup
	commands     int  // commands received so far

	noticePending bool        // an unsolicited "HANGUP" is due
	noticeTimer   *time.Timer // fires when it is due (AsyncHangupDelay)

	done      bool // the session is over
	timedOut  bool // a read or write hit the deadline
	emuClosed bool // the emulator ends the session (AGIEXITONHANGUP, "failure")
}

func newSession(call Call, w io.Writer) *session {
	return &session{
		call:         call,
		ch:           newChannel(call),
		w:            w,
		sendSighup:   !isFalse(call.Vars["AGISIGHUP"]),
		exitOnHangup: isTrue(call.Vars["AGIEXITONHANGUP"]),
	}
}

// readEvent is one command read from the server, or the end of input.
type readEvent struct {
	line       string
	violations []string
	err        error // set on the last event: io.EOF, a reset, a deadline
}

// runSession plays one session over conn and closes it.
func runSession(ctx context.Context, conn net.Conn, call Call, seq uint64) (Result, error) {
	start := time.Now()
	s := newSession(call, conn)
	_ = conn.SetDeadline(start.Add(call.Timeout))
	stopCancel := context.AfterFunc(ctx, func() {
		// Unblock every read and write; the loop then sees a deadline error.
		_ = conn.SetDeadline(time.Unix(1, 0))
	})
	defer stopCancel()

	events := make(chan readEvent)
	stopReader := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() { readCommands(conn, events, stopReader) })
	defer func() {
		close(stopReader)
		_ = conn.Close()
		reader.Wait()
	}()

	for _, chunk := range envChunks(call.envBlock(), seq) {
		if !s.writeRaw(chunk) {
			break
		}
	}

	var hangupAfter <-chan time.Time
	if call.HangupAfter > 0 && !s.done {
		t := time.NewTimer(call.HangupAfter)
		defer t.Stop()
		hangupAfter = t.C
	}
	for !s.done {
		var notice <-chan time.Time
		if s.noticeTimer != nil {
			notice = s.noticeTimer.C
		}
		select {
		case ev := <-events:
			s.res.Violations = append(s.res.Violations, ev.violations...)
			switch {
			case ev.err == nil:
				s.handleLine(ev.line)
			case isTimeout(ev.err):
				s.timedOut, s.done = true, true
			default:
				// EOF, a reset, a closed pipe: the server ended the session.
				s.res.ServerClosed = true
				s.finish()
			}
		case <-notice:
			s.noticeTimer = nil
			s.flushNotice()
		case <-hangupAfter:
			s.callerHangup()
		}
	}
	if s.noticeTimer != nil {
		s.noticeTimer.Stop()
	}

	s.res.Duration = time.Since(start)
	s.res.TimedOut = s.timedOut
	s.res.AGIStatus = s.status()
	s.res.Vars = s.ch.vars
	s.res.FunctionWrites = s.ch.functions
	s.res.HangupCause = CauseNormalClearing
	if s.dead {
		s.res.HangupCause = s.ch.hangupCause
	}
	s.res.Goto = s.ch.gotoString()
	if s.timedOut {
		if err := ctx.Err(); err != nil {
			return s.res, fmt.Errorf("agitest: session on %s: %w", call.URL, err)
		}
	}
	return s.res, nil
}

// status is AGISTATUS for the session as it stands.
func (s *session) status() string {
	switch {
	case s.failed:
		return StatusFailure
	case s.dead:
		return StatusHangup
	}
	return StatusSuccess
}

// handleLine processes one command as run_agi and agi_handle_command do.
func (s *session) handleLine(line string) {
	s.commands++
	s.res.Commands = append(s.res.Commands, line)
	if s.call.HangupBeforeReply > 0 && s.commands == s.call.HangupBeforeReply && !s.dead {
		s.callerHangup()
		if s.done {
			return // AGIEXITONHANGUP: Asterisk never reads the command
		}
	}
	// A local AGI script that cannot start prints "failure"; Asterisk checks
	// for it on FastAGI too and ends the session with AGISTATUS=FAILURE.
	if asciiHasPrefixFold(line, "failure") {
		s.failed = true
		s.emuClosed = true
		s.finish()
		return
	}
	argv := ParseArgs(line)
	cmd := findCommand(argv)
	switch {
	case cmd == nil:
		s.reply("510 Invalid or unknown command\n")
	case s.dead && !cmd.dead:
		s.reply("511 Command Not Permitted on a dead channel or intercept routine\n")
	default:
		if cmd.run(s, argv) == showUsage {
			s.usage(cmd)
		}
	}
}

// usage writes the 520 block in the three writes Asterisk makes.
func (s *session) usage(cmd *command) {
	s.reply("520-Invalid command syntax.  Proper usage follows:\n")
	s.reply(cmd.usage + "\n")
	s.reply("520 End of proper usage.\n")
}

// hangup marks the channel dead and schedules the unsolicited "HANGUP" line
// Asterisk writes when its loop notices the hangup. The caller sets
// ch.hangupCause first.
func (s *session) hangup() {
	if s.dead {
		return
	}
	s.dead = true
	s.res.HungUp = true
	if s.sendSighup {
		s.noticePending = true
		if s.call.AsyncHangupDelay <= 0 || s.exitOnHangup {
			s.flushNotice()
		} else {
			s.noticeTimer = time.NewTimer(s.call.AsyncHangupDelay)
		}
	}
	if s.exitOnHangup && !s.done {
		s.emuClosed = true
		s.finish()
	}
}

// callerHangup is the caller hanging up while AGI() runs.
func (s *session) callerHangup() {
	if s.dead || s.done {
		return
	}
	s.ch.hangupCause = s.call.CallerHangupCause
	s.hangup()
}

// flushNotice writes the pending unsolicited "HANGUP" line.
func (s *session) flushNotice() {
	if !s.noticePending {
		return
	}
	s.noticePending = false
	if s.noticeTimer != nil {
		s.noticeTimer.Stop()
		s.noticeTimer = nil
	}
	s.write("HANGUP\n")
}

// finish ends the session as Asterisk does once its loop is left: the
// pending notice, then a final "HANGUP" line, then the close.
func (s *session) finish() {
	if s.done {
		return
	}
	s.flushNotice()
	if s.sendSighup {
		s.write("HANGUP\n")
	}
	s.done = true
}

// reply writes a reply; a pending "HANGUP" goes first, as on the wire.
func (s *session) reply(text string) {
	s.flushNotice()
	s.write(text)
}

// write records the lines of text and writes it. Asterisk ignores write
// errors; only the deadline ends the session.
func (s *session) write(text string) {
	for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		s.res.Replies = append(s.res.Replies, line)
	}
	s.writeRaw([]byte(text))
}

// writeRaw writes p and reports whether the session can go on.
func (s *session) writeRaw(p []byte) bool {
	if s.timedOut {
		return false
	}
	if _, err := s.w.Write(p); err != nil && isTimeout(err) {
		s.timedOut, s.done = true, true
		return false
	}
	return true
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// readCommands reads commands from r the way run_agi's fgets loop does and
// sends them on events, ending with an event that carries the read error.
func readCommands(r io.Reader, events chan<- readEvent, stop <-chan struct{}) {
	br := bufio.NewReader(r)
	send := func(ev readEvent) bool {
		select {
		case events <- ev:
			return true
		case <-stop:
			return false
		}
	}
	for {
		buf, violations, err := readCommand(br)
		if len(buf) > 0 {
			line := strings.TrimSuffix(string(buf), "\n")
			if !send(readEvent{line: line, violations: violations}) {
				return
			}
		}
		if err != nil {
			send(readEvent{err: err})
			return
		}
	}
}

// readCommand reads one command as Asterisk does: fgets into a 2048-byte
// buffer until it holds a "\n" or is full, taking the buffer as a C string
// (a NUL byte ends it, and the next read overwrites from there). An empty
// result with an error means the server is gone.
func readCommand(br *bufio.Reader) (buf []byte, violations []string, err error) {
	for len(buf) < agiBufLen-1 {
		limit := agiBufLen - 1 - len(buf)
		var chunk []byte
		for len(chunk) < limit {
			c, rerr := br.ReadByte()
			if rerr != nil {
				err = rerr
				break
			}
			chunk = append(chunk, c)
			if c == '\n' {
				break
			}
		}
		buf = append(buf, chunk...)
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			violations = append(violations, fmt.Sprintf(
				"command %q has a NUL byte: Asterisk drops the rest of the line and appends the next one", buf[:i]))
			buf = buf[:i]
		}
		if err != nil || (len(buf) > 0 && buf[len(buf)-1] == '\n') {
			return buf, violations, err
		}
	}
	violations = append(violations, fmt.Sprintf(
		"command line longer than %d bytes: Asterisk runs each %d-byte piece as a command", agiBufLen-1, agiBufLen-1))
	return buf, violations, nil
}

// envChunks splits the environment block into 2 to 4 writes at points that
// vary with seq, one of them inside a line half of the time, so that a
// server that expects the block, or a line, in one read fails.
func envChunks(env []byte, seq uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seq, 0x5eed_a61e))
	var lineEnds []int
	for i, c := range env[:len(env)-1] {
		if c == '\n' {
			lineEnds = append(lineEnds, i+1)
		}
	}
	cuts := make([]int, 0, 4)
	for n := 1 + rng.IntN(3); len(cuts) < n; {
		cut := lineEnds[rng.IntN(len(lineEnds))]
		if len(cuts) == 0 && rng.IntN(2) == 0 {
			cut = 1 + rng.IntN(len(env)-1) // anywhere, usually inside a line
		}
		if !slices.Contains(cuts, cut) {
			cuts = append(cuts, cut)
		}
	}
	slices.Sort(cuts)
	chunks := make([][]byte, 0, len(cuts)+1)
	prev := 0
	for _, cut := range cuts {
		chunks = append(chunks, env[prev:cut])
		prev = cut
	}
	return append(chunks, env[prev:])
}

// isTrue is ast_true.
func isTrue(v string) bool { return equalFoldAny(v, "yes", "true", "y", "t", "1", "on") }

// isFalse is ast_false.
func isFalse(v string) bool { return equalFoldAny(v, "no", "false", "n", "f", "0", "off") }

// equalFoldAny reports whether v is one of words, ASCII case folded.
func equalFoldAny(v string, words ...string) bool {
	for _, w := range words {
		if asciiEqualFold(v, w) {
			return true
		}
	}
	return false
}
