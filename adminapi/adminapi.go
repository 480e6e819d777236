// Package adminapi is the admin HTTP API of blacklist-agi: JSON over HTTP
// for the dialer's back office and the web page, served on the admin
// listener beside Prometheus's /metrics and the /healthz and /readyz probes.
//
// It lists the blacklists; pages, searches, looks up, adds and removes
// entries; imports files (an upload that becomes a background job with
// progress) and exports lists to CSV; checks a number exactly as a call
// would be checked; and reports campaign statistics, the blocked-call log
// and the configuration's status. Every operation is the one the CLI runs,
// through packages manage, blacklist, blacklist/listfile and guard: none is
// written twice. docs/openapi.yaml describes every route.
//
// Access: when Options.RequireAuth is set (a listener that is not on
// loopback) or any token is configured, every route but /healthz, /readyz
// and the static web page (Options.UI: / and /ui/) needs
// "Authorization: Bearer <token>": a read token may GET and HEAD, a write
// token may do everything. Without tokens on a loopback listener, requests
// need none, but only requests addressed to an IP or to localhost are
// answered (a guard against DNS rebinding), and writes need a
// JSON or file content type that a browser cannot send across origins
// without asking first.
package adminapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/manage"
)

// Defaults of the Options limits left zero.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxUploadBytes = 1 << 30
	DefaultRequestTimeout = 30 * time.Second
)

// ErrBadQuery is matched (errors.Is) by the errors a StatsSource returns
// for a query it cannot answer as asked (a cursor it did not hand out, a
// time range it does not keep): the API answers them with 400.
var ErrBadQuery = errors.New("bad query")

// StatsSource answers the statistics routes. Package callstats does, over
// Redis: the server wraps its Stats and Blocked with its Redis client and
// keys. Results are encoded to JSON as they are.
type StatsSource interface {
	// Stats returns the figures of the campaigns (every campaign when
	// campaigns is empty) between since and until.
	Stats(ctx context.Context, campaigns []string, since, until time.Time) (any, error)
	// Blocked returns one page of the blocked-call log, newest first,
	// and the cursor of the next page ("" when there is none).
	Blocked(ctx context.Context, q BlockedQuery) (calls any, next string, err error)
}

// BlockedQuery selects a page of the blocked-call log. Its fields are those
// of callstats.Query, in the same order, so that one converts to the other.
type BlockedQuery struct {
	Campaign string // "" for every campaign
	List     string // "" for every list
	From, To time.Time
	Count    int64  // the page size
	Before   string // the cursor of the page: "" for the newest
}

// Options configure the API.
type Options struct {
	// Manager returns the manager of the campaigns in force; a reload
	// swaps it. Each request asks for it once.
	Manager func() *manage.Manager
	// Checker checks a number as a call for the campaign would be checked:
	// the Guard's Check.
	Checker func(ctx context.Context, campaign, number string) guard.Verdict
	// Redis and Keys are the lists' Redis and key names, for imports and
	// exports (and the readiness probe when Ready is nil).
	Redis redis.UniversalClient
	Keys  blacklist.Keys
	// Stats answers /api/v1/stats and /api/v1/blocked; nil answers 404.
	Stats StatsSource
	// Metrics serves /metrics; nil answers 404.
	Metrics http.Handler
	// Ready reports whether the server can serve calls (Redis reachable,
	// configuration loaded), for /readyz; nil pings Redis.
	Ready func(ctx context.Context) error
	// ConfigStatus returns what /api/v1/config shows: the file, the
	// campaigns loaded, the last reload and its error. It must hold no
	// secret. nil answers 404.
	ConfigStatus func() any

	// ReadTokens may GET and HEAD; WriteTokens may do everything. Empty
	// strings are ignored.
	ReadTokens, WriteTokens []string
	// RequireAuth demands a token on every route but the probes; it is
	// implied when any token is set. The server sets it when the listener
	// is not on loopback.
	RequireAuth bool

	// MaxBodyBytes bounds a JSON request body (DefaultMaxBodyBytes when
	// 0), MaxUploadBytes an import upload (DefaultMaxUploadBytes).
	MaxBodyBytes, MaxUploadBytes int64
	// RequestTimeout bounds each request (DefaultRequestTimeout when 0),
	// except the streams: an import upload and an export last as long as
	// their data keeps flowing, and fail when it stalls for that long.
	RequestTimeout time.Duration
	// Pprof serves net/http/pprof's profiles under /debug/pprof/ to read
	// tokens.
	Pprof bool

	// TempDir holds import uploads until they are imported; "" is
	// os.TempDir().
	TempDir string
	// Context bounds the import jobs, which outlive their requests:
	// canceling it cancels them. nil is context.Background().
	Context context.Context
	// UI serves the supervisors' web page (package webui's Handler): GET
	// / and GET /ui/... go to it without a token, since the page holds no
	// data; the API calls it makes need their tokens as any other. nil
	// serves no page.
	UI http.Handler

	// Logger receives one record per request (method, route, status,
	// duration; never a token); nil discards them.
	Logger *slog.Logger
}

// New returns the API's handler: every route of docs/openapi.yaml, with
// access control, size and time limits, JSON errors and request logs.
func New(opt Options) http.Handler {
	return newAPI(opt)
}

// api is the handler New returns.
type api struct {
	opt         Options
	mux         *http.ServeMux
	routes      []string // the patterns registered, for the OpenAPI test
	tokens      tokens
	requireAuth bool
	jobs        *jobRegistry
	scrubs      chan struct{} // a slot per scrub running (maxScrubs)
	log         *slog.Logger
	ctx         context.Context
}

func newAPI(opt Options) *api {
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opt.MaxUploadBytes <= 0 {
		opt.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = DefaultRequestTimeout
	}
	a := &api{
		opt:    opt,
		mux:    http.NewServeMux(),
		tokens: newTokens(opt.ReadTokens, opt.WriteTokens),
		jobs:   newJobRegistry(maxJobs, maxRunningImports),
		scrubs: make(chan struct{}, maxScrubs),
		log:    opt.Logger,
		ctx:    opt.Context,
	}
	a.requireAuth = opt.RequireAuth || !a.tokens.empty()
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.ctx == nil {
		a.ctx = context.Background()
	}
	if a.requireAuth && a.tokens.empty() {
		a.log.Warn("admin API: a token is required but none is configured: every request but the probes is refused")
	}

	a.handle("GET /healthz", public, probe, a.healthz)
	a.handle("GET /readyz", public, probe, a.readyz)
	a.handle("GET /metrics", read, probe, a.metrics)

	const list = "/api/v1/lists/{kind}/{name}"
	a.handle("GET /api/v1/lists", read, 0, a.lists)
	a.handle("GET "+list, read, 0, a.stat)
	a.handle("GET "+list+"/entries", read, 0, a.page)
	a.handle("POST "+list+"/entries", write, 0, a.add)
	a.handle("DELETE "+list+"/entries", write, 0, a.remove)
	a.handle("GET "+list+"/entries/search", read, 0, a.search)
	a.handle("GET "+list+"/entries/{entry}", read, 0, a.lookup)
	a.handle("DELETE "+list+"/entries/{entry}", write, 0, a.removeOne)
	a.handle("GET "+list+"/audit", read, 0, a.audit)
	a.handle("POST "+list+"/import", write, stream, a.importFile)
	a.handle("GET "+list+"/export", read, stream, a.export)
	a.handle("GET /api/v1/jobs", read, 0, a.listJobs)
	a.handle("GET /api/v1/jobs/{id}", read, 0, a.job)
	a.handle("GET /api/v1/check", read, 0, a.check)
	// A scrub reads the lists and writes nothing: a read token may use it.
	a.handle("POST /api/v1/scrub", read, stream, a.scrub)
	a.handle("GET /api/v1/stats", read, 0, a.stats)
	a.handle("GET /api/v1/blocked", read, 0, a.blocked)
	a.handle("GET /api/v1/config", read, 0, a.config)
	if opt.UI != nil {
		// Static files: public, like the probes, and logged at debug level.
		ui := serveHTTP(opt.UI.ServeHTTP)
		a.handle("GET /{$}", public, probe, ui)
		a.handle("GET /ui/", public, probe, ui)
	}
	if opt.Pprof {
		// A CPU profile or trace lasts as long as its ?seconds=: a stream.
		a.handle("GET /debug/pprof/", read, stream|probe, serveHTTP(pprof.Index))
		a.handle("GET /debug/pprof/cmdline", read, stream|probe, serveHTTP(pprof.Cmdline))
		a.handle("GET /debug/pprof/profile", read, stream|probe, serveHTTP(pprof.Profile))
		a.handle("GET /debug/pprof/symbol", read, stream|probe, serveHTTP(pprof.Symbol))
		a.handle("GET /debug/pprof/trace", read, stream|probe, serveHTTP(pprof.Trace))
	}
	return a
}

// serveHTTP adapts a plain handler, which writes its own errors, to a
// route.
func serveHTTP(h http.HandlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h(w, r)
		return nil
	}
}

// access is what a route needs.
type access int

const (
	public access = iota // no token (the probes)
	read                 // a read or a write token
	write                // a write token
)

// routeFlags say how a route is served.
type routeFlags int

const (
	// stream routes bound their own time and size: no request timeout,
	// no JSON body limit.
	stream routeFlags = 1 << iota
	// probe routes log at debug level: probes and scrapes are frequent.
	probe
)

// handlerFunc serves one route. It writes its successful answers itself and
// returns its failures, which the API answers in JSON with their status.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers h for pattern behind access control, the limits and the
// request log.
func (a *api) handle(pattern string, acc access, flags routeFlags, h handlerFunc) {
	a.routes = append(a.routes, pattern)
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		role, err := a.authorize(r, acc)
		if err == nil {
			if flags&stream == 0 {
				ctx, cancel := context.WithTimeout(r.Context(), a.opt.RequestTimeout)
				defer cancel()
				r = r.WithContext(ctx)
				r.Body = http.MaxBytesReader(w, r.Body, a.opt.MaxBodyBytes)
			}
			err = h(sw, r)
		}
		a.finish(sw, r, pattern, role, flags, start, err)
	})
}

// ServeHTTP routes the request, answering unknown routes and methods in
// JSON (404, 405) after access control.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.mux.Handler(r); pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	role, err := a.authorize(r, read)
	if err == nil {
		err = a.unrouted(r)
		if he := (*httpError)(nil); errors.As(err, &he) && he.allow != "" {
			sw.Header().Set("Allow", he.allow)
		}
	}
	a.finish(sw, r, "", role, 0, start, err)
}

// unrouted returns the error of a request that no route takes: the mux's
// own answer (404, or 405 with the methods allowed) as an *httpError.
func (a *api) unrouted(r *http.Request) error {
	h, _ := a.mux.Handler(r)
	var c captureWriter
	h.ServeHTTP(&c, r)
	if c.status == http.StatusMethodNotAllowed {
		return &httpError{status: c.status, allow: c.header.Get("Allow"),
			msg: "method " + r.Method + " is not allowed on " + r.URL.Path + " (allowed: " + c.header.Get("Allow") + ")"}
	}
	return &httpError{status: http.StatusNotFound, msg: "no route " + r.Method + " " + r.URL.Path + ": see docs/openapi.yaml"}
}

// finish answers err (when the handler did not answer), and logs the
// request: its route and result, never its headers.
func (a *api) finish(sw *statusWriter, r *http.Request, pattern, role string, flags routeFlags, start time.Time, err error) {
	if err != nil {
		if sw.wroteHeader {
			// A stream failed after its start: cut the connection, so that
			// the client sees a truncated response rather than a short one
			// that looks whole.
			a.log.Warn("admin API stream failed", "method", r.Method, "route", pattern, "status", sw.status,
				"bytes", sw.bytes, "took", time.Since(start), "remote", r.RemoteAddr, "err", err)
			panic(http.ErrAbortHandler)
		}
		writeError(sw, err)
	}
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelWarn
	case flags&probe != 0 && status < 400:
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("route", pattern), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Duration("took", time.Since(start)),
		slog.String("remote", r.RemoteAddr), slog.String("access", role),
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	a.log.LogAttrs(context.Background(), level, "admin API request", attrs...)
}

// statusWriter records the status and size of a response. It unwraps to
// the server's writer, for http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Flush sends what is buffered to the client.
func (w *statusWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the server's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// captureWriter keeps the header and status of a response and drops its
// body.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header {
	if c.header == nil {
		c.header = http.Header{}
	}
	return c.header
}

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(p), nil
}
