package blacklist

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Attempts returns the key of the counter of unanswered attempts of a number
// in a campaign: a ZSET of call uniqueids scored by the time of each
// attempt, <prefix>attempts:{<campaign>}:<number>. It lives no longer than
// its window.
func (k Keys) Attempts(campaign, number string) string {
	if campaign == "" {
		campaign = "-"
	}
	return k.prefix() + "attempts:{" + campaign + "}:" + number
}

// CountAttempt records one attempt (call is the call's uniqueid: reporting
// the same call twice counts once) in the counter key and returns how many
// attempts the counter holds within the window that ends now. It is one
// round trip and one transaction (MULTI/EXEC): ZADD, ZREMRANGEBYSCORE of the
// attempts older than the window, ZCARD, and PEXPIRE of the key to the
// window, so that concurrent reports count exactly and no counter outlives
// its window.
func (s *Store) CountAttempt(ctx context.Context, key, call string, window time.Duration) (int64, error) {
	now := s.now()
	if call == "" {
		call = "t" + strconv.FormatInt(now.UnixNano(), 36)
	}
	var card *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: call})
		pipe.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(now.Add(-window).UnixMilli(), 10))
		card = pipe.ZCard(ctx, key)
		pipe.PExpire(ctx, key, window)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("blacklist: counting an attempt in %s: %w", key, err)
	}
	return card.Val(), nil
}

// ResetAttempts forgets the attempts in the counter key (an answered call).
func (s *Store) ResetAttempts(ctx context.Context, key string) error {
	if err := s.rdb.Unlink(ctx, key).Err(); err != nil {
		return fmt.Errorf("blacklist: resetting %s: %w", key, err)
	}
	return nil
}
