package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/adminapi"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/webui"
)

// statsSource answers the admin API's statistics from callstats.
type statsSource struct {
	rdb  redis.UniversalClient
	keys blacklist.Keys
}

func (s statsSource) Stats(ctx context.Context, campaigns []string, since, until time.Time) (any, error) {
	st, err := callstats.Stats(ctx, s.rdb, s.keys, campaigns, since, until)
	return st, badQuery(err)
}

func (s statsSource) Blocked(ctx context.Context, q adminapi.BlockedQuery) (any, string, error) {
	calls, next, err := callstats.Blocked(ctx, s.rdb, s.keys, callstats.Query(q))
	return calls, next, badQuery(err)
}

// badQuery marks the errors of a bad request so the API answers 400.
func badQuery(err error) error {
	if errors.Is(err, callstats.ErrInvalidCursor) || errors.Is(err, callstats.ErrInvalidWindow) || errors.Is(err, blacklist.ErrInvalidName) {
		return fmt.Errorf("%w: %w", adminapi.ErrBadQuery, err)
	}
	return err
}

// reloadStatus is what GET /api/v1/config shows of the campaign reloads.
type reloadStatus struct {
	mu        sync.Mutex
	file      string
	dir       string
	campaigns []string
	at        time.Time
	err       error
}

func (r *reloadStatus) set(campaigns map[string]*config.Campaign, err error) {
	ids := make([]string, 0, len(campaigns))
	for id := range campaigns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.campaigns, r.at, r.err = ids, time.Now(), err
}

func (r *reloadStatus) status() any {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]any{
		"file": r.file, "campaigns_dir": r.dir, "campaigns": r.campaigns,
		"last_reload": r.at.UTC().Format(time.RFC3339), "ok": r.err == nil,
	}
	if r.err != nil {
		out["error"] = r.err.Error()
	}
	return out
}

// startAdmin serves the admin listener (metrics, probes, API, the web page)
// until stopped; it returns nil when admin.listen is empty.
func startAdmin(cfg *config.Config, opt adminapi.Options, logger *slog.Logger) (stop func(context.Context), err error) {
	if !cfg.Admin.Enabled() {
		return func(context.Context) {}, nil
	}
	opt.ReadTokens, opt.WriteTokens = cfg.Admin.ReadTokens, cfg.Admin.WriteTokens
	opt.RequireAuth = !cfg.Admin.Loopback()
	opt.MaxBodyBytes, opt.MaxUploadBytes = cfg.Admin.MaxBodyBytes, cfg.Admin.MaxUploadBytes
	opt.RequestTimeout = cfg.Admin.RequestTimeout
	opt.Pprof = cfg.Admin.Pprof
	opt.UI = webui.Handler()
	opt.Logger = logger
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	srv := &http.Server{
		Handler:           adminapi.New(opt),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("admin listening", "addr", ln.Addr().String(), "auth", opt.RequireAuth || len(opt.ReadTokens)+len(opt.WriteTokens) > 0)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin listener failed", "err", err)
		}
	}()
	return func(ctx context.Context) { srv.Shutdown(ctx) }, nil
}
