package agi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Session is one FastAGI connection from Asterisk, as seen by a Handler.
//
// Its methods send one command each and wait for the reply; they may be
// called from several goroutines, and then run one after the other. A
// Session must not be used after its Handler returns.
//
// After a read or write fails (timeout, connection closed, malformed reply)
// the session is broken: Asterisk may still answer the failed command later,
// and that answer must not be taken for the reply to another one. Every later
// command returns the same error without writing anything.
type Session struct {
	conn        net.Conn
	ctx         context.Context // the handler's context
	deadline    time.Time       // end of the session
	cmdTimeout  time.Duration
	env         Env
	req         Request
	hungUp      atomic.Bool
	r           *bufio.Reader // the connection's only reader; = bufs.r
	mu          sync.Mutex    // serializes commands; guards the fields below
	bufs        *connBuffers  // nil once the session is over
	err         error         // sticky error of a broken session
	interruptFn func()        // s.interrupt, built on first use
}

// connBuffers are the per-connection buffers, reused across sessions.
type connBuffers struct {
	r      *bufio.Reader
	w      []byte // the command being written
	env    []byte // the environment block being read
	bounds []int  // positions of names and values in env
}

// Env returns the environment block Asterisk sent.
func (s *Session) Env() Env { return s.env }

// Request returns what Asterisk asked for: script path, query and
// arguments.
func (s *Session) Request() *Request { return &s.req }

// RemoteAddr returns Asterisk's network address.
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// HungUp reports whether Asterisk has sent a HANGUP line: the channel has
// hung up. Only commands allowed on a dead channel (GET/SET VARIABLE,
// VERBOSE, NOOP, EXEC, DATABASE ...) still work; others get a 511 reply
// (ErrDeadChannel).
func (s *Session) HungUp() bool { return s.hungUp.Load() }

// Command sends cmd followed by args and returns Asterisk's reply.
//
// cmd is written verbatim ("SET VARIABLE"); each argument is quoted so that
// Asterisk reads it back unchanged, whatever spaces, quotes or backslashes it
// contains. A command or argument containing CR, LF or NUL fails with
// ErrBadArgument and nothing is written.
//
// A 200 reply returns a nil error, whatever its result. Other replies return
// the parsed Reply and a *CommandError wrapping ErrUnknownCommand (510),
// ErrDeadChannel (511), ErrUsage (520) or ErrCommandFailed. The reply must
// arrive before Server.CommandTimeout, the session deadline and ctx's
// deadline, or Command fails with ErrTimeout; if ctx is canceled first it
// fails with ctx.Err().
func (s *Session) Command(ctx context.Context, cmd string, args ...string) (Reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bufs == nil {
		return Reply{}, errSessionClosed
	}
	line, err := appendCommand(s.bufs.w[:0], cmd, args)
	s.bufs.w = line[:0]
	if err != nil {
		return Reply{}, err
	}
	r, err := s.roundTrip(ctx, cmd, line)
	if err != nil {
		return r, err
	}
	return r, replyError(cmd, r)
}

// SetVariable sets the channel variable name to value (SET VARIABLE).
func (s *Session) SetVariable(ctx context.Context, name, value string) error {
	_, err := s.Command(ctx, "SET VARIABLE", name, value)
	return err
}

// GetVariable returns the value of the channel variable or dialplan function
// name (GET VARIABLE); ok is false when it is not set.
func (s *Session) GetVariable(ctx context.Context, name string) (value string, ok bool, err error) {
	return s.getVariable(ctx, "GET VARIABLE", name)
}

// GetFullVariable returns expr with its variables and functions expanded
// (GET FULL VARIABLE), e.g. "${CALLERID(num)}"; ok is false when the
// channel does not exist.
func (s *Session) GetFullVariable(ctx context.Context, expr string) (value string, ok bool, err error) {
	return s.getVariable(ctx, "GET FULL VARIABLE", expr)
}

func (s *Session) getVariable(ctx context.Context, cmd, name string) (string, bool, error) {
	r, err := s.Command(ctx, cmd, name)
	if err != nil {
		return "", false, err
	}
	switch r.Result {
	case "1":
		return r.Data, true, nil
	case "0":
		return "", false, nil
	}
	return "", false, &CommandError{Command: cmd, Reply: r, Err: ErrProtocol}
}

// Exec runs the dialplan application app with args (EXEC): the arguments are
// joined with "," and sent as one argument, as the application expects,
// e.g. Exec(ctx, "Hangup", "21") or Exec(ctx, "Dial", "PJSIP/100", "30").
// It returns the application's result in Reply.Result ("-1" when the
// application hung up the channel) and a *CommandError wrapping
// ErrNoSuchApplication when Asterisk has no such application.
func (s *Session) Exec(ctx context.Context, app string, args ...string) (Reply, error) {
	var r Reply
	var err error
	switch len(args) {
	case 0:
		r, err = s.Command(ctx, "EXEC", app)
	case 1:
		r, err = s.Command(ctx, "EXEC", app, args[0])
	default:
		r, err = s.Command(ctx, "EXEC", app, strings.Join(args, ","))
	}
	if err == nil && r.Result == "-2" {
		err = &CommandError{Command: "EXEC", Reply: r, Err: ErrNoSuchApplication}
	}
	return r, err
}

// Hangup hangs up the channel (HANGUP). On a channel that has already hung
// up it returns an error wrapping ErrDeadChannel (and so ErrHangup).
func (s *Session) Hangup(ctx context.Context) error {
	_, err := s.Command(ctx, "HANGUP")
	return err
}

// Verbose logs msg to Asterisk's verbose log at the given level (VERBOSE).
func (s *Session) Verbose(ctx context.Context, msg string, level int) error {
	_, err := s.Command(ctx, "VERBOSE", msg, strconv.Itoa(level))
	return err
}

// roundTrip writes one command line and reads its reply. s.mu is held.
func (s *Session) roundTrip(ctx context.Context, cmd string, line []byte) (Reply, error) {
	if s.err != nil {
		return Reply{}, s.err
	}
	if err := ctx.Err(); err != nil {
		return Reply{}, contextError(cmd, err)
	}
	if err := s.discardHangups(); err != nil {
		s.err = fmt.Errorf("agi: before sending %q: %w", cmd, err)
		return Reply{}, s.err
	}
	if err := s.conn.SetDeadline(s.commandDeadline(ctx)); err != nil {
		s.err = s.ioError(ctx, "setting the deadline for", cmd, err)
		return Reply{}, s.err
	}
	if ctx != s.ctx && ctx.Done() != nil {
		return s.roundTripWatched(ctx, cmd, line)
	}
	return s.exchange(ctx, cmd, line)
}

// roundTripWatched is roundTrip for a context other than the handler's:
// its cancellation must interrupt the blocked read or write.
func (s *Session) roundTripWatched(ctx context.Context, cmd string, line []byte) (Reply, error) {
	if s.interruptFn == nil {
		s.interruptFn = s.interrupt
	}
	stop := context.AfterFunc(ctx, s.interruptFn)
	r, err := s.exchange(ctx, cmd, line)
	if !stop() && err == nil {
		// ctx ended as the reply arrived; the interruption may land on a
		// later command, so the session cannot be trusted any more.
		s.err = contextError(cmd, ctx.Err())
	}
	return r, err
}

func (s *Session) exchange(ctx context.Context, cmd string, line []byte) (Reply, error) {
	if _, err := s.conn.Write(line); err != nil {
		s.err = s.ioError(ctx, "writing", cmd, err)
		return Reply{}, s.err
	}
	r, err := s.readReply()
	if err != nil {
		s.err = s.ioError(ctx, "reading the reply to", cmd, err)
		return Reply{}, s.err
	}
	return r, nil
}

// discardHangups consumes the complete lines already buffered before a
// command is sent. Only HANGUP lines may arrive unasked; anything else would
// be taken for the reply to the command, so it breaks the session.
func (s *Session) discardHangups() error {
	for s.r.Buffered() > 0 {
		buf, _ := s.r.Peek(s.r.Buffered())
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return nil
		}
		if !isHangupLine(buf[:i]) {
			return protocolErrorf("unexpected line from Asterisk between commands: %q", clip(string(buf[:i])))
		}
		s.hungUp.Store(true)
		_, _ = s.r.Discard(i + 1)
	}
	return nil
}

// commandDeadline returns the deadline for one command: CommandTimeout from
// now, capped by the session deadline and ctx's deadline.
func (s *Session) commandDeadline(ctx context.Context) time.Time {
	d := time.Now().Add(s.cmdTimeout)
	if s.deadline.Before(d) {
		d = s.deadline
	}
	if ctx != s.ctx {
		if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
			d = cd
		}
	}
	return d
}

// interrupt makes the blocked read or write on the connection fail at once.
func (s *Session) interrupt() {
	_ = s.conn.SetDeadline(time.Unix(1, 0))
}

// ioError describes err, from a read or write for cmd, with the sentinel
// that explains it.
func (s *Session) ioError(ctx context.Context, what, cmd string, err error) error {
	if errors.Is(err, ErrLineTooLong) || errors.Is(err, ErrProtocol) {
		return fmt.Errorf("agi: %s %q: %w", what, cmd, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		return contextError(cmd, cerr)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			// ctx's deadline, whose timer has not fired yet.
			err = context.DeadlineExceeded
		}
		return fmt.Errorf("agi: %s %q: %w: %w", what, cmd, ErrTimeout, err)
	}
	if s.hungUp.Load() {
		return fmt.Errorf("agi: %s %q: %w: %w", what, cmd, ErrHangup, err)
	}
	if err == io.EOF {
		return fmt.Errorf("agi: %s %q: connection closed by Asterisk: %w", what, cmd, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("agi: %s %q: %w", what, cmd, err)
}

// contextError describes the end of ctx during cmd; a deadline also wraps
// ErrTimeout.
func contextError(cmd string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("agi: %q: %w: %w", cmd, ErrTimeout, err)
	}
	return fmt.Errorf("agi: %q: %w", cmd, err)
}

// close ends the session: later calls fail, and the buffers go back to pool.
func (s *Session) close(pool *sync.Pool) {
	s.mu.Lock()
	bufs := s.bufs
	s.bufs = nil
	s.mu.Unlock()
	if bufs != nil && pool != nil {
		bufs.r.Reset(nil)
		if cap(bufs.env) > envBytesLimit {
			bufs.env = nil
		}
		pool.Put(bufs)
	}
}
