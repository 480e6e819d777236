package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/blacklist-agi/blacklist-agi/adminapi"
	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/manage"
	"github.com/blacklist-agi/blacklist-agi/metrics"
)

func newServeCommand() *cobra.Command {
	var checkOnly bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the FastAGI server",
		Long: `Run the FastAGI server. The dialplan calls
  AGI(agi://HOST:4573/blacklist?campaign=ID)
before Dial(); the server sets BLACKLIST_STATUS and hangs blocked calls up.
Campaign files reload when they change and on SIGHUP; SIGTERM drains calls in flight.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if checkOnly {
				return checkConfig(cmd, cfg)
			}
			return serve(cmd.Context(), cfg)
		},
	}
	cmd.Flags().BoolVar(&checkOnly, "check-config", false, "validate the main file and every campaign file, then exit (1 on any error)")
	return cmd
}

// checkConfig validates everything serve would load and reports each problem.
func checkConfig(cmd *cobra.Command, cfg *config.Config) error {
	campaigns, err := config.NewCampaignLoader(cfg).Load()
	out := cmd.OutOrStdout()
	fmt.Fprintln(out, describeConfig(cfg))
	if err != nil {
		return &exitError{code: 1, msg: "invalid campaign files:\n" + err.Error()}
	}
	fmt.Fprintf(out, "ok: %d campaign(s)\n", len(campaigns))
	return nil
}

// agiRoutes are the scripts the FastAGI server answers.
var agiRoutes = []string{"blacklist", "optout", "spam", "report"}

func serve(ctx context.Context, cfg *config.Config) error {
	logger := newLogger(cfg.Log)
	logger.Info("starting", "version", version, "summary", describeConfig(cfg))

	rdb, err := newRedisClient(cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	// One store for the in-call additions, the sweeper and the admin API.
	store := newStore(cfg, rdb)
	g := guard.New(cfg, blacklist.NewChecker(rdb), store, logger)
	// The recorder outlives the signal: calls draining at shutdown are
	// counted too, and what is queued is written before Redis is closed.
	rec := callstats.NewRecorder(rdb, callstats.Options{
		Keys:         blacklist.Keys{Prefix: cfg.KeyPrefix},
		Instance:     cfg.Monitoring.InstanceName(),
		StreamMaxLen: cfg.Monitoring.StreamMaxLen,
		Retention:    cfg.Monitoring.StatsRetention,
		Logger:       logger,
	})
	recCtx, stopRecorder := context.WithCancel(context.Background())
	recorded := make(chan struct{})
	go func() {
		rec.Run(recCtx)
		close(recorded)
	}()
	defer func() {
		stopRecorder()
		<-recorded
	}()
	met := metrics.New()
	met.SetRoutes(agiRoutes)
	met.SetLists(cfg.SharedListNames())
	g.SetObservers(rec, met)
	loader := config.NewCampaignLoader(cfg)
	// The campaigns in force, for the sweeper and the admin API; the reload
	// loop replaces them.
	var campaigns atomic.Pointer[map[string]*config.Campaign]
	status := &reloadStatus{file: cfg.File, dir: cfg.CampaignsDir}
	load := func() {
		m, err := g.LoadCampaigns(loader) // a bad file is logged; the last good version serves
		campaigns.Store(&m)
		met.SetCampaigns(g.Campaigns())
		met.ConfigReloaded(err)
		status.set(m, err)
	}
	load()

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	reload := make(chan struct{}, 1)
	requestReload := func() {
		select {
		case reload <- struct{}{}:
		default:
		}
	}
	if err := config.WatchDir(ctx, cfg.CampaignsDir, requestReload); err != nil {
		logger.Warn("campaign folder not watched: reload with SIGHUP", "dir", cfg.CampaignsDir, "err", err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				requestReload()
			case <-reload:
				load()
			}
		}
	}()

	go g.FollowVersions(ctx, cfg.Management.VersionRefresh)
	go manage.RunSweeper(ctx, store, func() []blacklist.List {
		return manage.New(cfg, *campaigns.Load(), store).DeclaredLists()
	}, cfg.Management.SweepInterval, cfg.Management.SweepBatch, logger)

	mux := agi.NewServeMux()
	mux.Handle("blacklist", g)
	mux.HandleFunc("optout", g.ServeOptOut)
	mux.HandleFunc("spam", g.ServeSpam)
	mux.HandleFunc("report", g.ServeReport)
	srv := &agi.Server{
		Handler:        mux,
		MaxSessions:    cfg.Limits.MaxSessions,
		MaxLineBytes:   cfg.Limits.MaxLineBytes,
		MaxEnvLines:    cfg.Limits.MaxEnvLines,
		EnvTimeout:     cfg.Limits.EnvTimeout,
		CommandTimeout: cfg.Limits.CommandTimeout,
		SessionTimeout: cfg.Limits.SessionTimeout,
		Logger:         logger,
		Observer:       met.AGIObserver(),
		// Connections from elsewhere are closed unread and counted
		// (blacklist_agi_connections_denied_total).
		AllowedNetworks: cfg.AllowedPrefixes(),
	}
	keys := blacklist.Keys{Prefix: cfg.KeyPrefix}
	stopAdmin, err := startAdmin(cfg, adminapi.Options{
		Manager:      func() *manage.Manager { return manage.New(cfg, *campaigns.Load(), store) },
		Checker:      g.Check,
		Redis:        rdb,
		Keys:         keys,
		Stats:        statsSource{rdb: rdb, keys: keys},
		Metrics:      met.Handler(),
		ConfigStatus: status.status,
		Ready: func(ctx context.Context) error {
			if err := rdb.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("redis at %s does not answer: %w", cfg.Redis.Addr, err)
			}
			return nil
		},
		Context: ctx,
	}, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		stopAdmin(context.Background())
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String(), "allowed_networks", cfg.AllowedNetworks)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining calls in flight", "timeout", cfg.Limits.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown deadline reached: remaining sessions closed", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, agi.ErrServerClosed) {
		return err
	}
	stopAdmin(sctx)
	logger.Info("stopped")
	return nil
}
