package agi

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// ServeMux routes sessions to handlers by the script path of the AGI URL
// (Request.Script), like http.ServeMux routes requests by URL path. Paths
// match exactly; the query and the leading "/" do not take part. The zero
// ServeMux is empty and ready to use.
type ServeMux struct {
	mu       sync.RWMutex
	handlers map[string]Handler
}

// NewServeMux returns an empty ServeMux.
func NewServeMux() *ServeMux { return &ServeMux{} }

// Handle registers h for path, such as "blacklist" or "/blacklist". It panics
// if path is empty or has a query, if h is nil, or if path already has a
// handler.
func (m *ServeMux) Handle(path string, h Handler) {
	key := strings.TrimLeft(path, "/")
	switch {
	case key == "":
		panic(fmt.Sprintf("agi: ServeMux.Handle: empty script path %q", path))
	case strings.Contains(key, "?"):
		panic(fmt.Sprintf("agi: ServeMux.Handle: script path %q has a query", path))
	case h == nil:
		panic(fmt.Sprintf("agi: ServeMux.Handle: nil handler for %q", path))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.handlers[key]; dup {
		panic(fmt.Sprintf("agi: ServeMux.Handle: multiple registrations for %q", key))
	}
	if m.handlers == nil {
		m.handlers = make(map[string]Handler)
	}
	m.handlers[key] = h
}

// HandleFunc registers f for path, as Handle does.
func (m *ServeMux) HandleFunc(path string, f func(context.Context, *Session) error) {
	if f == nil {
		panic(fmt.Sprintf("agi: ServeMux.HandleFunc: nil handler for %q", path))
	}
	m.Handle(path, HandlerFunc(f))
}

// Handler returns the handler registered for script, or nil.
func (m *ServeMux) Handler(script string) Handler {
	m.mu.RLock()
	h := m.handlers[strings.TrimLeft(script, "/")]
	m.mu.RUnlock()
	return h
}

// ServeAGI runs the handler registered for s.Request().Script. When there is
// none it returns an error wrapping ErrNoHandler that names the script, and
// sends nothing to Asterisk.
func (m *ServeMux) ServeAGI(ctx context.Context, s *Session) error {
	script := s.Request().Script
	h := m.Handler(script)
	if h == nil {
		return fmt.Errorf("%w %q", ErrNoHandler, script)
	}
	return h.ServeAGI(ctx, s)
}
