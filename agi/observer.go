package agi

import "time"

// An Observer learns how a Server's sessions go, for metrics and the like.
// The server calls it on the goroutine that runs the session (or, for
// SessionRefused, the one that accepted the connection); its methods must be
// cheap and must not block.
//
// Protocol failures show up as the err of SessionEnded: they match
// ErrProtocol, ErrLineTooLong or ErrTimeout with errors.Is.
type Observer interface {
	// SessionStarted is called when a connection is admitted as a session,
	// before its environment block is read.
	SessionStarted()
	// SessionEnded is called once for each SessionStarted, after the
	// connection is closed. script is the session's Request.Script, ""
	// when the environment block could not be read; d is the time since
	// the session started; err is the handler's error, or the error that
	// kept the handler from running (what ServeConn returns).
	SessionEnded(script string, d time.Duration, err error)
	// SessionRefused is called for each connection closed at once because
	// MaxSessions sessions were running.
	SessionRefused()
}
