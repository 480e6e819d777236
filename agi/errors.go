package agi

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them, so test
// with errors.Is.
var (
	// ErrHangup reports that the channel hung up: Asterisk sent a HANGUP
	// line and then closed the connection or refused the command.
	ErrHangup = errors.New("agi: channel hung up")

	// ErrDeadChannel reports a 511 reply: the command is not permitted on a
	// channel that has hung up. It wraps ErrHangup.
	ErrDeadChannel = fmt.Errorf("%w: command not permitted on a dead channel", ErrHangup)

	// ErrUnknownCommand reports a 510 reply: Asterisk does not know the
	// command.
	ErrUnknownCommand = errors.New("agi: invalid or unknown command")

	// ErrUsage reports a 520 reply: the command has the wrong number or
	// kind of arguments. Reply.Text holds Asterisk's usage text.
	ErrUsage = errors.New("agi: invalid command syntax")

	// ErrCommandFailed reports a reply code other than 200, 510, 511 and
	// 520, such as "503 result=-2 Memory allocation failure".
	ErrCommandFailed = errors.New("agi: command failed")

	// ErrNoSuchApplication reports that EXEC named an application Asterisk
	// does not have ("200 result=-2").
	ErrNoSuchApplication = errors.New("agi: no such application")

	// ErrTimeout reports that a read or write did not finish before its
	// deadline (Server.EnvTimeout, Server.CommandTimeout,
	// Server.SessionTimeout or the context's deadline).
	ErrTimeout = errors.New("agi: timeout")

	// ErrLineTooLong reports a line from Asterisk longer than
	// Server.MaxLineBytes. The session cannot continue.
	ErrLineTooLong = errors.New("agi: line too long")

	// ErrProtocol reports input that does not follow the AGI protocol: a
	// malformed environment block or reply, or a line nobody asked for.
	ErrProtocol = errors.New("agi: protocol error")

	// ErrBadArgument reports a command or argument that cannot be sent:
	// it contains CR, LF or NUL, or the command line is longer than
	// Asterisk reads. Nothing is written.
	ErrBadArgument = errors.New("agi: bad argument")

	// ErrNoHandler reports that a ServeMux has no handler for the script
	// path of the request.
	ErrNoHandler = errors.New("agi: no handler for script")

	// ErrServerClosed is returned by Server.Serve, Server.ListenAndServe
	// and Server.ServeConn after Server.Shutdown or Server.Close.
	ErrServerClosed = errors.New("agi: server closed")

	// ErrTooManySessions reports that a connection was refused because
	// Server.MaxSessions sessions were already running.
	ErrTooManySessions = errors.New("agi: too many sessions")

	// ErrConnectionDenied reports that a connection was closed at once
	// because its remote address is outside Server.AllowedNetworks.
	ErrConnectionDenied = errors.New("agi: connection from a network not allowed")

	// ErrHandlerPanic reports that the handler panicked. The server logs the
	// panic with its stack, closes the connection and keeps serving.
	ErrHandlerPanic = errors.New("agi: handler panicked")
)

// errSessionClosed is returned by Session methods called after the handler
// returned.
var errSessionClosed = fmt.Errorf("agi: session is over: %w", net.ErrClosed)

// A CommandError reports a command that Asterisk answered but did not carry
// out: a 510, 511 or 520 reply, another code than 200, or a 200 reply that
// means failure for a specific command (EXEC's result=-2).
type CommandError struct {
	// Command is the command, without its arguments (e.g. "SET VARIABLE").
	Command string
	// Reply is Asterisk's parsed reply.
	Reply Reply
	// Err is the sentinel error for the reply: ErrUnknownCommand,
	// ErrDeadChannel, ErrUsage, ErrCommandFailed, ErrNoSuchApplication or
	// ErrProtocol.
	Err error
}

func (e *CommandError) Error() string {
	msg := "agi: " + strconv.Quote(e.Command) + ": " + strings.TrimPrefix(e.Err.Error(), "agi: ") +
		" (" + strconv.Itoa(e.Reply.Code)
	switch {
	case e.Reply.Code == 200 || e.Reply.Result != "":
		msg += " result=" + e.Reply.Result
	case e.Reply.Code == 520 && e.Reply.Text != "":
		// The usage text can be long; the sentinel says enough.
	case e.Reply.Text != "":
		msg += " " + e.Reply.Text
	}
	return msg + ")"
}

// Unwrap returns the sentinel error.
func (e *CommandError) Unwrap() error { return e.Err }

// replyError returns the error that reply r to command means, or nil for a
// 200 reply.
func replyError(command string, r Reply) error {
	var err error
	switch r.Code {
	case 200:
		return nil
	case 510:
		err = ErrUnknownCommand
	case 511:
		err = ErrDeadChannel
	case 520:
		err = ErrUsage
	default:
		err = ErrCommandFailed
	}
	return &CommandError{Command: command, Reply: r, Err: err}
}

// protocolErrorf returns an error wrapping ErrProtocol.
func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
