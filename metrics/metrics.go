// Package metrics exports the FastAGI server's Prometheus metrics: sessions
// by route and outcome, connections denied by the allowed networks, check
// verdicts by campaign and list, Redis errors, the latency of sessions and
// of checks, config reloads, and the Go runtime and process figures.
// Everything lives on a private registry served by Handler, so that
// collectors registered globally by libraries stay out of the scrape.
//
// Label values stay bounded whatever Asterisk sends: campaign ids, list
// names and routes come from the configuration (SetCampaigns, SetLists,
// SetRoutes) and anything else is folded into one value (LabelUnknown,
// LabelOther, LabelNone). The methods called per session and per check do a
// few map reads and atomic adds, and allocate nothing.
package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "blacklist_agi"

// Label values that stand for values outside the configuration.
const (
	// LabelNone is the campaign of a call whose dialplan gave no campaign,
	// and the route of a session that never got one (its environment
	// block failed, or it was refused).
	LabelNone = "_none"
	// LabelUnknown is the campaign of a call whose campaign is not
	// configured, and the route of a session whose script no handler
	// serves.
	LabelUnknown = "_unknown"
	// LabelOther is the list of a block by a list that is neither a
	// configured shared list nor the configured campaign's own list.
	LabelOther = "_other"
)

// Histogram buckets, in seconds.
var (
	sessionBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	checkBuckets   = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
)

// Metrics holds the server's collectors and their registry. It is safe for
// concurrent use. Its zero value is not usable: call New.
type Metrics struct {
	registry *prometheus.Registry
	handler  http.Handler

	sessionsInFlight prometheus.Gauge
	sessions         *prometheus.CounterVec   // route, outcome
	sessionDuration  *prometheus.HistogramVec // route
	connsDenied      prometheus.Counter
	checks           *prometheus.CounterVec // campaign, list, verdict
	checkDuration    prometheus.Histogram
	redisTimeouts    prometheus.Counter
	redisOtherErrors prometheus.Counter
	reloadsOK        prometheus.Counter
	reloadsFailed    prometheus.Counter

	// mu serializes SetCampaigns, SetLists and SetRoutes, which rebuild
	// the label caches below; the hot path only loads them.
	mu           sync.Mutex
	campaignIDs  []string
	listNames    []string
	routeScripts []string
	checkLabels  atomic.Pointer[checkLabels]
	routeLabels  atomic.Pointer[routeLabels]
}

// New returns Metrics on a new registry with the Go and process collectors.
// No campaign, list or route is known until SetCampaigns, SetLists and
// SetRoutes.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		sessionsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "sessions_in_flight",
			Help: "FastAGI sessions running.",
		}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "sessions_total",
			Help: "FastAGI sessions by route (AGI script) and outcome: ok, hangup, timeout, protocol_error, handler_error, refused (too many sessions), no_route.",
		}, []string{"route", "outcome"}),
		sessionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "session_duration_seconds",
			Help:    "Duration of FastAGI sessions, from accept to close, by route.",
			Buckets: sessionBuckets,
		}, []string{"route"}),
		connsDenied: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "connections_denied_total",
			Help: "FastAGI connections closed at once because the client's address is outside allowed_networks.",
		}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "checks_total",
			Help: "Checked calls by campaign, verdict (allowed, blocked, error) and, when blocked, the list that matched.",
		}, []string{"campaign", "list", "verdict"}),
		checkDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "check_duration_seconds",
			Help:    "Duration of a call's check: number normalization and the Redis round trip.",
			Buckets: checkBuckets,
		}),
	}
	redisErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "redis_errors_total",
		Help: "Checks that failed in Redis, by kind: timeout or other.",
	}, []string{"kind"})
	m.redisTimeouts = redisErrors.WithLabelValues("timeout")
	m.redisOtherErrors = redisErrors.WithLabelValues("other")
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "config_reloads_total",
		Help: "Configuration reloads by result: ok, or error (the last good configuration kept serving).",
	}, []string{"result"})
	m.reloadsOK = reloads.WithLabelValues("ok")
	m.reloadsFailed = reloads.WithLabelValues("error")

	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.sessionsInFlight, m.sessions, m.sessionDuration, m.connsDenied,
		m.checks, m.checkDuration, redisErrors, reloads,
	)
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		Registry:      m.registry, // counts failed scrapes in promhttp_metric_handler_errors_total
		ErrorHandling: promhttp.ContinueOnError,
	})
	m.rebuildChecks()
	m.rebuildRoutes()
	return m
}

// Handler returns the HTTP handler of the /metrics endpoint: the registry
// in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registerer returns the registry, for other packages' collectors.
func (m *Metrics) Registerer() prometheus.Registerer { return m.registry }

// ConfigReloaded counts a configuration reload that ended with err (nil on
// success).
func (m *Metrics) ConfigReloaded(err error) {
	if err != nil {
		m.reloadsFailed.Inc()
		return
	}
	m.reloadsOK.Inc()
}
