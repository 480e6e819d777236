package agi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for the zero values of Server's fields.
const (
	DefaultMaxSessions    = 10000
	DefaultMaxLineBytes   = 8192
	DefaultMaxEnvLines    = 512
	DefaultEnvTimeout     = 5 * time.Second
	DefaultCommandTimeout = 5 * time.Second
	DefaultSessionTimeout = 30 * time.Second
)

// A Server serves FastAGI sessions. Set its fields before calling Serve and
// do not change them afterwards; the zero value of each field means its
// default.
type Server struct {
	// Handler serves each session. It must not be nil.
	Handler Handler
	// MaxSessions is the most sessions that run at once; 0 means
	// DefaultMaxSessions. A connection beyond it is accepted and closed at
	// once, so that Asterisk's dialplan moves on instead of waiting.
	MaxSessions int
	// MaxLineBytes is the longest line accepted from Asterisk, line feed
	// included; 0 means DefaultMaxLineBytes. A longer line fails the session
	// with ErrLineTooLong.
	MaxLineBytes int
	// MaxEnvLines is the most lines in the environment block; 0 means
	// DefaultMaxEnvLines.
	MaxEnvLines int
	// EnvTimeout bounds the time to receive the whole environment block;
	// 0 means DefaultEnvTimeout.
	EnvTimeout time.Duration
	// CommandTimeout bounds the time for each command's write and reply;
	// 0 means DefaultCommandTimeout.
	CommandTimeout time.Duration
	// SessionTimeout bounds a whole session; the handler's context carries
	// it. 0 means DefaultSessionTimeout.
	SessionTimeout time.Duration
	// Logger receives the server's log records; nil means slog.Default().
	Logger *slog.Logger
	// Observer, if not nil, learns when sessions start, end and are
	// refused; if it is also a DenyObserver, it learns of denied
	// connections.
	Observer Observer
	// AllowedNetworks are the client networks that may connect (the
	// Asterisk hosts). A connection from an address outside every prefix
	// is closed as soon as it is accepted, before anything is read or
	// written, and counted by DeniedConnections. IPv4-mapped IPv6
	// addresses (::ffff:10.0.0.1) are matched as the IPv4 address they
	// carry. Nil or empty means every client is allowed.
	AllowedNetworks []netip.Prefix

	mu         sync.Mutex
	listeners  map[net.Listener]struct{}
	conns      map[net.Conn]struct{}
	idle       chan struct{} // closed when the last session ends while shutting down
	done       chan struct{} // closed by Shutdown and Close
	baseCtx    context.Context
	cancelBase context.CancelFunc
	inShutdown atomic.Bool
	refused    atomic.Uint64
	denied     atomic.Uint64
	buffers    sync.Pool // *connBuffers

	// testHookShutdownWaiting, if set, runs when Shutdown starts waiting
	// for sessions.
	testHookShutdownWaiting func()
}

func (srv *Server) maxSessions() int {
	if srv.MaxSessions > 0 {
		return srv.MaxSessions
	}
	return DefaultMaxSessions
}

func (srv *Server) maxLineBytes() int {
	if srv.MaxLineBytes > 0 {
		return srv.MaxLineBytes
	}
	return DefaultMaxLineBytes
}

func (srv *Server) maxEnvLines() int {
	if srv.MaxEnvLines > 0 {
		return srv.MaxEnvLines
	}
	return DefaultMaxEnvLines
}

func (srv *Server) envTimeout() time.Duration {
	if srv.EnvTimeout > 0 {
		return srv.EnvTimeout
	}
	return DefaultEnvTimeout
}

func (srv *Server) commandTimeout() time.Duration {
	if srv.CommandTimeout > 0 {
		return srv.CommandTimeout
	}
	return DefaultCommandTimeout
}

func (srv *Server) sessionTimeout() time.Duration {
	if srv.SessionTimeout > 0 {
		return srv.SessionTimeout
	}
	return DefaultSessionTimeout
}

func (srv *Server) logger() *slog.Logger {
	if srv.Logger != nil {
		return srv.Logger
	}
	return slog.Default()
}

// initLocked creates the server's internal state. srv.mu is held.
func (srv *Server) initLocked() {
	if srv.done != nil {
		return
	}
	srv.listeners = make(map[net.Listener]struct{})
	srv.conns = make(map[net.Conn]struct{})
	srv.done = make(chan struct{})
	srv.baseCtx, srv.cancelBase = context.WithCancel(context.Background())
}

// ListenAndServe listens on the TCP address addr (":4573", Asterisk's default
// FastAGI port, when addr is "") and calls Serve.
func (srv *Server) ListenAndServe(addr string) error {
	if srv.inShutdown.Load() {
		return ErrServerClosed
	}
	if addr == "" {
		addr = ":4573"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return srv.Serve(l)
}

// Serve accepts connections on l and serves a session on each, in its own
// goroutine. It closes l when it returns, and always returns a non-nil
// error: ErrServerClosed after Shutdown or Close.
func (srv *Server) Serve(l net.Listener) error {
	defer l.Close()
	if srv.Handler == nil {
		return errors.New("agi: Server.Handler is nil")
	}
	if !srv.trackListener(l, true) {
		return ErrServerClosed
	}
	defer srv.trackListener(l, false)

	var delay time.Duration // backoff after a temporary accept error
	for {
		c, err := l.Accept()
		if err != nil {
			if srv.inShutdown.Load() {
				return ErrServerClosed
			}
			if !isTemporary(err) {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			srv.logger().Warn("agi: accept failed; retrying", "error", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-srv.done:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		if !srv.allowed(c) {
			continue
		}
		if err := srv.admit(c); err != nil {
			srv.logger().Debug("agi: connection refused", "remote", c.RemoteAddr().String(), "error", err)
			_ = c.Close()
			continue
		}
		go srv.serveAccepted(c)
	}
}

// isTemporary reports whether an Accept error may go away by itself, such as
// running out of file descriptors.
func isTemporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EINTR)
}

// trackListener adds or removes l; adding fails once the server is shutting
// down.
func (srv *Server) trackListener(l net.Listener, add bool) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.initLocked()
	if !add {
		delete(srv.listeners, l)
		return true
	}
	if srv.inShutdown.Load() {
		return false
	}
	srv.listeners[l] = struct{}{}
	return true
}

// admit registers c as a running session, unless the server is shutting down
// or full.
func (srv *Server) admit(c net.Conn) error {
	srv.mu.Lock()
	srv.initLocked()
	if srv.inShutdown.Load() {
		srv.mu.Unlock()
		return ErrServerClosed
	}
	if len(srv.conns) >= srv.maxSessions() {
		srv.refused.Add(1)
		srv.mu.Unlock()
		if srv.Observer != nil {
			srv.Observer.SessionRefused()
		}
		return ErrTooManySessions
	}
	srv.conns[c] = struct{}{}
	srv.mu.Unlock()
	return nil
}

// release unregisters c and wakes Shutdown when it was the last session.
func (srv *Server) release(c net.Conn) {
	srv.mu.Lock()
	delete(srv.conns, c)
	if len(srv.conns) == 0 && srv.idle != nil {
		close(srv.idle)
		srv.idle = nil
	}
	srv.mu.Unlock()
}

// ActiveSessions returns the number of sessions running.
func (srv *Server) ActiveSessions() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.conns)
}

// RefusedSessions returns the number of connections refused because
// MaxSessions sessions were running.
func (srv *Server) RefusedSessions() uint64 { return srv.refused.Load() }

// Shutdown stops the server gracefully, like http.Server.Shutdown: it closes
// the listeners, so that no new session starts, and waits for the running
// sessions to end. If ctx ends first, it closes the remaining connections,
// cancels their handlers' contexts and returns ctx.Err().
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.initLocked()
	lnErr := srv.stopLocked()
	if len(srv.conns) == 0 {
		srv.mu.Unlock()
		return lnErr
	}
	if srv.idle == nil {
		srv.idle = make(chan struct{})
	}
	idle := srv.idle
	hook := srv.testHookShutdownWaiting
	srv.mu.Unlock()
	if hook != nil {
		hook()
	}
	select {
	case <-idle:
		return lnErr
	case <-ctx.Done():
		srv.closeConns()
		return ctx.Err()
	}
}

// Close stops the server at once: it closes the listeners and every
// connection, and cancels the handlers' contexts.
func (srv *Server) Close() error {
	srv.mu.Lock()
	srv.initLocked()
	err := srv.stopLocked()
	srv.mu.Unlock()
	srv.closeConns()
	return err
}

// stopLocked marks the server as shutting down and closes its listeners.
// srv.mu is held.
func (srv *Server) stopLocked() error {
	if !srv.inShutdown.Swap(true) {
		close(srv.done)
	}
	var err error
	for l := range srv.listeners {
		if cerr := l.Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
		delete(srv.listeners, l)
	}
	return err
}

// closeConns closes every connection and cancels the handlers' contexts.
func (srv *Server) closeConns() {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.cancelBase()
	for c := range srv.conns {
		_ = c.Close()
	}
}

// ServeConn serves one session on c, which it closes, and returns the
// handler's error, or the error that kept the handler from running (a bad
// environment block, ErrConnectionDenied, ErrTooManySessions,
// ErrServerClosed). Unlike Serve it
// does not log that error; a handler panic is still logged with its stack.
// ctx is the parent of the handler's context, and its end interrupts the
// session.
// Shutdown waits for sessions run by ServeConn too.
func (srv *Server) ServeConn(ctx context.Context, c net.Conn) error {
	if srv.Handler == nil {
		_ = c.Close()
		return errors.New("agi: Server.Handler is nil")
	}
	if !srv.allowed(c) {
		return ErrConnectionDenied
	}
	if err := srv.admit(c); err != nil {
		_ = c.Close()
		return err
	}
	defer srv.release(c)
	_, err := srv.serveSession(ctx, c, true)
	return err
}

// serveAccepted runs the session on a connection accepted by Serve and logs
// how it ended.
func (srv *Server) serveAccepted(c net.Conn) {
	defer srv.release(c)
	s, err := srv.serveSession(srv.baseCtx, c, false)
	if err == nil || errors.Is(err, ErrHandlerPanic) {
		return
	}
	level := slog.LevelWarn
	if errors.Is(err, ErrHangup) || errors.Is(err, io.EOF) {
		// A hangup is the caller's right; a connection closed before
		// sending anything is a port probe or health check.
		level = slog.LevelDebug
	}
	log := srv.logger()
	if !log.Enabled(context.Background(), level) {
		return
	}
	log.LogAttrs(context.Background(), level, "agi: session failed",
		slog.String("remote", c.RemoteAddr().String()),
		slog.String("script", s.req.Script),
		slog.String("uniqueid", s.env.Get("agi_uniqueid")),
		slog.Any("error", err))
}

// serveSession reads the environment block from c, runs the handler and
// closes c as soon as it returns. When watch is set, the end of parent
// interrupts blocked reads and writes; sessions from Serve have the
// server's own parent context, which ends only as their connections are
// closed.
func (srv *Server) serveSession(parent context.Context, c net.Conn, watch bool) (_ *Session, err error) {
	start := time.Now()
	obs := srv.Observer
	if obs != nil {
		obs.SessionStarted()
	}
	ctx, cancel := context.WithDeadline(parent, start.Add(srv.sessionTimeout()))
	deadline, _ := ctx.Deadline()
	bufs := srv.getBuffers(c)
	s := &Session{
		conn:       c,
		ctx:        ctx,
		deadline:   deadline,
		cmdTimeout: srv.commandTimeout(),
		r:          bufs.r,
		bufs:       bufs,
	}
	var stop func() bool
	if watch && parent.Done() != nil {
		s.interruptFn = s.interrupt
		stop = context.AfterFunc(ctx, s.interruptFn)
	}
	defer func() {
		_ = c.Close()
		if stop != nil {
			stop()
		}
		cancel()
		s.close(&srv.buffers)
		if obs != nil {
			obs.SessionEnded(s.req.Script, time.Since(start), err)
		}
	}()

	envDeadline := start.Add(srv.envTimeout())
	if deadline.Before(envDeadline) {
		envDeadline = deadline
	}
	if err := c.SetReadDeadline(envDeadline); err != nil {
		return s, fmt.Errorf("agi: setting the environment deadline: %w", err)
	}
	if err := s.readEnv(srv.maxEnvLines()); err != nil {
		return s, s.envError(err)
	}
	return s, srv.runHandler(ctx, s)
}

// envError describes a failure to read the environment block.
func (s *Session) envError(err error) error {
	switch {
	case errors.Is(err, ErrProtocol) || errors.Is(err, ErrLineTooLong):
		return fmt.Errorf("agi: reading the environment block: %w", err)
	case s.ctx.Err() != nil && !errors.Is(s.ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("agi: reading the environment block: %w", s.ctx.Err())
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("agi: reading the environment block: %w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("agi: reading the environment block: %w", err)
}

// runHandler calls the handler, turning a panic into an error after logging
// it with its stack.
func (srv *Server) runHandler(ctx context.Context, s *Session) (err error) {
	defer func() {
		if p := recover(); p != nil {
			srv.logger().LogAttrs(context.Background(), slog.LevelError, "agi: handler panicked",
				slog.String("remote", s.conn.RemoteAddr().String()),
				slog.String("script", s.req.Script),
				slog.String("uniqueid", s.env.Get("agi_uniqueid")),
				slog.Any("panic", p),
				slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("%w: %v", ErrHandlerPanic, p)
		}
	}()
	return srv.Handler.ServeAGI(ctx, s)
}

// getBuffers returns a connection's buffers, reading from c.
func (srv *Server) getBuffers(c net.Conn) *connBuffers {
	if b, ok := srv.buffers.Get().(*connBuffers); ok && b.r.Size() == max(srv.maxLineBytes(), 16) {
		b.r.Reset(c)
		return b
	}
	return &connBuffers{
		r:      bufio.NewReaderSize(c, srv.maxLineBytes()),
		w:      make([]byte, 0, 256),
		env:    make([]byte, 0, 1024),
		bounds: make([]int, 0, 64),
	}
}
