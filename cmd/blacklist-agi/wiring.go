package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
)

// loadConfig reads the main file named by --config (or none) with env overrides.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	return config.Load(path)
}

// newLogger builds the process logger from the log section.
func newLogger(c config.Log) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.Format, "json") {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// newRedisClient builds the Redis client from the redis section: a failover
// client that asks the Sentinels in Addr for the master when MasterName is
// set, a cluster client over the seed nodes in Addr when Cluster is set, and
// a plain client otherwise, over TLS when redis.tls is enabled (to the
// Sentinels too). Every key of one list carries a hash tag, so a check's
// pipeline works on a cluster too (go-redis groups it by slot).
// ContextTimeoutEnabled makes each check's time budget (a context deadline)
// bound the socket reads, so a slow Redis cannot hold a call. One quick retry
// (a pooled connection that a Redis restart closed) and one dial attempt keep
// a refused connection to a millisecond instead of go-redis's default of
// several seconds of retries. It fails only when the TLS files, checked when
// the configuration was loaded, can no longer be read.
func newRedisClient(c config.Redis) (redis.UniversalClient, error) {
	tlsConfig, err := c.TLS.ClientConfig()
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 c.Addrs(),
		Username:              c.Username,
		Password:              c.Password,
		DB:                    c.DB,
		MasterName:            c.MasterName,
		SentinelPassword:      c.SentinelPassword,
		IsClusterMode:         c.Cluster,
		TLSConfig:             tlsConfig,
		PoolSize:              c.PoolSize,
		DialTimeout:           c.DialTimeout,
		ReadTimeout:           c.ReadTimeout,
		WriteTimeout:          c.WriteTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            1,
		MinRetryBackoff:       time.Millisecond,
		MaxRetryBackoff:       10 * time.Millisecond,
		DialerRetries:         1,
	}), nil
}

// describeConfig is the one-line summary serve logs and check-config prints.
func describeConfig(c *config.Config) string {
	file := c.File
	if file == "" {
		file = "(none: defaults and environment)"
	}
	redisDesc := c.Redis.Addr
	if c.Redis.TLS.Enabled {
		redisDesc += " (TLS)"
	}
	switch {
	case c.Redis.Cluster:
		redisDesc = "cluster " + redisDesc
	case c.Redis.MasterName != "":
		redisDesc = fmt.Sprintf("master %q from sentinels %s", c.Redis.MasterName, redisDesc)
	}
	return fmt.Sprintf("config %s: listen %s, redis %s, campaigns %s", file, c.Listen, redisDesc, c.CampaignsDir)
}

// newStore returns the list store over rdb with the configured audit length.
func newStore(cfg *config.Config, rdb redis.UniversalClient) *blacklist.Store {
	store := blacklist.NewStore(rdb, blacklist.Keys{Prefix: cfg.KeyPrefix})
	if cfg.Management.AuditMaxLen > 0 {
		store.AuditMaxLen = cfg.Management.AuditMaxLen
	}
	return store
}
