package metrics_test

import (
	"context"
	"net/http"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/metrics"
)

// The server's wiring: the AGI server's observer, the guard's observer (not
// shown: g.SetObservers(m)), the configured labels, and the endpoint.
func Example() {
	m := metrics.New()
	m.SetRoutes([]string{"blacklist", "optout", "spam", "report"})
	m.SetLists([]string{"dnc", "procon"})          // the lists of the main config file
	m.SetCampaigns([]string{"promo", "retention"}) // after each reload of the campaign files,
	m.ConfigReloaded(nil)                          // with its result

	mux := agi.NewServeMux()
	mux.HandleFunc("blacklist", func(ctx context.Context, s *agi.Session) error {
		return s.SetVariable(ctx, "BLACKLIST_STATUS", "ALLOWED")
	})
	srv := &agi.Server{Handler: mux, Observer: m.AGIObserver()}
	admin := http.NewServeMux()
	admin.Handle("GET /metrics", m.Handler())
	_, _ = srv, admin
}
