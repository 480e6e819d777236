package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/blacklist-agi/blacklist-agi/agi"
)

// outcome is how a session ended: an index into outcomeLabels.
type outcome int

const (
	outcomeOK            outcome = iota
	outcomeHangup                // the channel hung up, or the peer closed the connection
	outcomeTimeout               // a read, a write or the session outlived its deadline
	outcomeProtocolError         // Asterisk (or whatever connected) broke the AGI protocol
	outcomeHandlerError          // any other error of the handler, a panic included
	outcomeRefused               // MaxSessions sessions were running
	outcomeNoRoute               // no handler for the script
	numOutcomes
)

var outcomeLabels = [numOutcomes]string{"ok", "hangup", "timeout", "protocol_error", "handler_error", "refused", "no_route"}

// sessionOutcome classifies the error a session ended with. A connection
// closed before it sent anything (io.EOF: a port probe, a health check) is a
// hangup, not a protocol error; one closed in the middle of its environment
// block is a protocol error.
func sessionOutcome(err error) outcome {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, agi.ErrNoHandler):
		return outcomeNoRoute
	case errors.Is(err, io.EOF):
		return outcomeHangup
	case errors.Is(err, agi.ErrProtocol), errors.Is(err, agi.ErrLineTooLong):
		return outcomeProtocolError
	case errors.Is(err, agi.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return outcomeTimeout
	case errors.Is(err, agi.ErrHangup), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return outcomeHangup
	default:
		return outcomeHandlerError
	}
}

// routeLabels caches the children of the session metrics for the configured
// routes. It is rebuilt whole by SetRoutes and only read by sessions.
type routeLabels struct {
	routes  map[string]*routeCounters // by configured script
	none    *routeCounters            // sessions refused or without a request
	unknown *routeCounters            // scripts not configured, and sessions no handler served
}

// routeCounters are one route label's children. outcomes holds those the
// route can have: refused only on LabelNone, no_route only on LabelUnknown.
type routeCounters struct {
	duration prometheus.Observer
	outcomes [numOutcomes]prometheus.Counter
}

// route returns the counters of a session's script.
func (l *routeLabels) route(script string) *routeCounters {
	if r, ok := l.routes[script]; ok {
		return r
	}
	if script == "" {
		return l.none
	}
	return l.unknown
}

// SetRoutes sets the AGI scripts that have their own route label: the paths
// the server's ServeMux routes, such as "blacklist" (a leading "/" is
// ignored). Sessions for other scripts are counted as LabelUnknown. The
// series of routes no longer set are removed.
func (m *Metrics) SetRoutes(scripts []string) {
	trimmed := make([]string, len(scripts))
	for i, s := range scripts {
		trimmed[i] = strings.TrimLeft(s, "/")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.routeScripts
	m.routeScripts = labelSet(trimmed)
	m.rebuildRoutes()
	for _, r := range old {
		if !slices.Contains(m.routeScripts, r) {
			m.sessions.DeletePartialMatch(prometheus.Labels{"route": r})
			m.sessionDuration.DeletePartialMatch(prometheus.Labels{"route": r})
		}
	}
}

// rebuildRoutes publishes new routeLabels for m.routeScripts. m.mu is held
// (or m is not shared yet).
func (m *Metrics) rebuildRoutes() {
	counters := func(label string, extra outcome) *routeCounters {
		r := &routeCounters{duration: m.sessionDuration.WithLabelValues(label)}
		for o := range outcomeRefused {
			r.outcomes[o] = m.sessions.WithLabelValues(label, outcomeLabels[o])
		}
		if extra != outcomeOK {
			r.outcomes[extra] = m.sessions.WithLabelValues(label, outcomeLabels[extra])
		}
		return r
	}
	l := &routeLabels{
		routes:  make(map[string]*routeCounters, len(m.routeScripts)),
		none:    counters(LabelNone, outcomeRefused),
		unknown: counters(LabelUnknown, outcomeNoRoute),
	}
	for _, s := range m.routeScripts {
		l.routes[s] = counters(s, outcomeOK)
	}
	m.routeLabels.Store(l)
}

// AGIObserver returns the agi.Observer that counts the server's sessions:
// set it as agi.Server.Observer. It is also an agi.DenyObserver, counting
// the connections denied by agi.Server.AllowedNetworks.
func (m *Metrics) AGIObserver() agi.Observer { return (*sessionObserver)(m) }

// sessionObserver is Metrics seen as an agi.Observer.
type sessionObserver Metrics

// SessionStarted counts a session in flight.
func (o *sessionObserver) SessionStarted() { o.sessionsInFlight.Inc() }

// SessionEnded counts a session by route and outcome, and its duration.
func (o *sessionObserver) SessionEnded(script string, d time.Duration, err error) {
	o.sessionsInFlight.Dec()
	out := sessionOutcome(err)
	l := o.routeLabels.Load()
	r := l.route(script)
	if out == outcomeNoRoute {
		r = l.unknown
	}
	r.duration.Observe(d.Seconds())
	r.outcomes[out].Inc()
}

// SessionRefused counts a connection refused because the server was full.
func (o *sessionObserver) SessionRefused() {
	o.routeLabels.Load().none.outcomes[outcomeRefused].Inc()
}

// ConnectionDenied counts a connection closed because its address is outside
// the allowed networks. The address is not a label: the series stay
// bounded whoever connects.
func (o *sessionObserver) ConnectionDenied(net.Addr) { o.connsDenied.Inc() }
