// Package agi is a FastAGI server for Asterisk, modeled on net/http.
//
// Asterisk's AGI() application connects to a FastAGI server (for example
// AGI(agi://host:4573/blacklist?campaign=promo,arg1,arg2)), sends an
// environment block describing the channel, and then waits for commands such
// as SET VARIABLE, answering each with a status line ("200 result=1").
// A Server accepts those connections and runs a Handler for each one; the
// Handler talks to Asterisk through a Session. ServeMux routes sessions on the
// script path of the AGI URL, like http.ServeMux routes on the URL path.
//
// The wire format implemented here follows Asterisk's res/res_agi.c and
// transcripts recorded from Asterisk 22:
//
//   - The environment block is "name: value" lines ending with an empty line;
//     the first line is always "agi_network: yes".
//   - A command is one line of words. Asterisk splits it on spaces and tabs,
//     a double quote toggles quoting and a backslash escapes the next byte;
//     Session.Command quotes arguments accordingly.
//   - A reply is "200 result=N [(data)] [extra]", a provisional
//     "100 result=0 Trying...", "510 ...", "511 ...", a single-line "520 ..."
//     or a multi-line "520-" usage block.
//   - Asterisk writes "HANGUP" on a line of its own when the channel hangs up,
//     at any time between replies. A Session skips such lines, remembers them
//     (Session.HungUp), and never takes a stray line for the reply to the next
//     command.
//
// Asterisk has no timeout of its own on a FastAGI session: a server that never
// answers holds the call forever. Every read and write here therefore has a
// deadline, and a session ends when its Handler returns: the connection is
// closed at once, without waiting for Asterisk's own trailing HANGUP line.
package agi

import "context"

// A Handler serves one FastAGI session.
//
// ServeAGI talks to Asterisk through s until it has done its work, then
// returns; the server closes the connection as soon as ServeAGI returns, and
// Asterisk continues the dialplan. ctx carries the session deadline
// (Server.SessionTimeout) and is canceled when the server is forcibly closed.
// The returned error is logged by the server; it does not reach Asterisk.
type Handler interface {
	ServeAGI(ctx context.Context, s *Session) error
}

// HandlerFunc adapts an ordinary function to the Handler interface.
type HandlerFunc func(ctx context.Context, s *Session) error

// ServeAGI calls f(ctx, s).
func (f HandlerFunc) ServeAGI(ctx context.Context, s *Session) error {
	return f(ctx, s)
}
