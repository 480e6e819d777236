package manage

import (
	"context"
	"log/slog"
	"time"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
)

// SweepList removes every expired entry of l, batch by batch, and returns
// how many it removed. Compact lists have no expiring entries.
func SweepList(ctx context.Context, store *blacklist.Store, l blacklist.List, batch int64) (int64, error) {
	if l.Layout == blacklist.LayoutCompact {
		return 0, nil
	}
	var total int64
	for {
		n, err := store.Sweep(ctx, l, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// SweepAll sweeps every list that Store.Lists finds (declared or present in
// Redis) and returns how many entries it removed from each.
func SweepAll(ctx context.Context, store *blacklist.Store, declared []blacklist.List, batch int64) (map[string]int64, error) {
	infos, err := store.Lists(ctx, declared)
	if err != nil {
		return nil, err
	}
	removed := map[string]int64{}
	for _, li := range infos {
		n, err := SweepList(ctx, store, li.List, batch)
		if n > 0 {
			removed[li.List.Key] = n
		}
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// RunSweeper sweeps every interval until ctx ends. Each step is bounded by
// batch per list; an expired entry never blocks a call even before it is
// swept (the check reads the expiry), so the sweeper only frees memory.
func RunSweeper(ctx context.Context, store *blacklist.Store, declared func() []blacklist.List, interval time.Duration, batch int64, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		removed, err := SweepAll(ctx, store, declared(), batch)
		for key, n := range removed {
			logger.Info("expired entries removed", "list", key, "count", n)
		}
		if err != nil && ctx.Err() == nil {
			logger.Warn("sweeping expired entries failed; retrying next interval", "err", err)
		}
	}
}
