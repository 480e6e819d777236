package blacklist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ErrScanOutsideList is matched (errors.Is) by the error of ScanListKeys
// and ScanListPage given a pattern that does not start with the list's key
// (escaped with GlobEscape): such a pattern could match keys on other
// masters of a Redis Cluster.
var ErrScanOutsideList = errors.New("scan pattern reaches outside the list's keys")

// ScanKeys calls fn with each page of the keys that match the glob match
// (every key when empty) and, when keyType is not empty, are of that Redis
// type ("hash", "set"...), read with SCAN; count is SCAN's COUNT, a hint of
// the page size (0: Redis's default). It stops at the first error of fn,
// which it returns.
//
// A SCAN goes to one server: through a *redis.ClusterClient, to the master
// of the pattern's hash tag when it has one ("stats:{*}" goes to the
// master of "*"), to some master otherwise. On a Redis Cluster (rdb is a
// *redis.ClusterClient) ScanKeys scans every master instead, concurrently,
// and never calls fn from two of them at once; on any other client it
// scans the one server. As with SCAN, a key present during the whole scan is
// passed at least once, and may be passed twice.
func ScanKeys(ctx context.Context, rdb redis.UniversalClient, match, keyType string, count int64, fn func(keys []string) error) error {
	cluster, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return scanNode(ctx, rdb, "", match, keyType, count, fn)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex // serializes fn; guards first
		first error      // the first error of fn or of a master's SCAN
	)
	fail := func(err error) { // with mu held
		if first == nil {
			first = err
			cancel() // the other masters' SCANs end at once
		}
	}
	err := cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		err := scanNode(ctx, node, " on master "+node.Options().Addr, match, keyType, count, func(keys []string) error {
			mu.Lock()
			defer mu.Unlock()
			if first != nil {
				return first // another master's scan failed: stop this one too
			}
			err := fn(keys)
			if err != nil {
				fail(err)
			}
			return err
		})
		if err != nil {
			mu.Lock()
			fail(err)
			mu.Unlock()
		}
		return err
	})
	mu.Lock()
	defer mu.Unlock()
	if first != nil {
		return first
	}
	if err != nil { // ForEachMaster's own: the cluster's layout could not be read
		return fmt.Errorf("blacklist: scanning %q: %w", match, err)
	}
	return nil
}

// scanNode runs a whole SCAN on the server of c, calling fn with every
// page that holds keys, and returns the first error of fn as is. where
// names the server in a SCAN's error.
func scanNode(ctx context.Context, c redis.Cmdable, where, match, keyType string, count int64, fn func(keys []string) error) error {
	var cursor uint64
	for {
		var cmd *redis.ScanCmd
		if keyType == "" {
			cmd = c.Scan(ctx, cursor, match, count)
		} else {
			cmd = c.ScanType(ctx, cursor, match, count, keyType)
		}
		keys, next, err := cmd.Result()
		if err != nil {
			return fmt.Errorf("blacklist: scanning %q%s: SCAN: %w", match, where, err)
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// ScanListKeys calls fn with each page of the keys of the list whose key
// is list that match the glob match, which must start with
// GlobEscape(list) (ErrScanOutsideList otherwise), as
// GlobEscape(BucketKey(list, ver, "")) + "*" does. It stops at the first
// error of fn, which it returns.
//
// Every key of a list starts with the list's key and so carries its
// Cluster hash tag: on a Redis Cluster they all live on one master, the
// master of list, and ScanListKeys scans that master only (see
// ScanListPage). As with SCAN, a key present during the whole scan is
// passed at least once, and may be passed twice.
func ScanListKeys(ctx context.Context, rdb redis.UniversalClient, list, match string, count int64, fn func(keys []string) error) error {
	node, err := listNode(ctx, rdb, list, match)
	if err != nil {
		return err
	}
	return scanNode(ctx, node, "", match, "", count, fn)
}

// ScanListPage returns one page of the keys of the list whose key is list
// that match the glob match, which must start with GlobEscape(list)
// (ErrScanOutsideList otherwise), and the cursor of the next page: SCAN's
// cursor, 0 to start and 0 when done; count is a hint of the page size (0:
// Redis's default).
//
// On a Redis Cluster the page is read from the master of list, where every
// key of the list lives (they share its hash tag), so that a cursor
// returned by one call is valid for the next; a cursor does not survive
// the move of the list's slot to another master (a failover, a
// resharding), as SCAN's cursors do not survive a change of server.
func ScanListPage(ctx context.Context, rdb redis.UniversalClient, list string, cursor uint64, match string, count int64) (keys []string, next uint64, err error) {
	node, err := listNode(ctx, rdb, list, match)
	if err != nil {
		return nil, 0, err
	}
	keys, next, err = node.Scan(ctx, cursor, match, count).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("blacklist: scanning the keys of %s: SCAN %q: %w", list, match, err)
	}
	return keys, next, nil
}

// listNode returns the client of the server that holds the keys of list:
// its master on a Redis Cluster, rdb otherwise. It refuses a pattern that
// could match keys of other lists.
func listNode(ctx context.Context, rdb redis.UniversalClient, list, match string) (redis.Cmdable, error) {
	if list == "" || !strings.HasPrefix(match, GlobEscape(list)) {
		return nil, fmt.Errorf("blacklist: scanning the keys of %q: pattern %q: %w", list, match, ErrScanOutsideList)
	}
	cluster, ok := rdb.(*redis.ClusterClient)
	if !ok {
		return rdb, nil
	}
	node, err := cluster.MasterForKey(ctx, list)
	if err != nil {
		return nil, fmt.Errorf("blacklist: scanning the keys of %s: finding its master: %w", list, err)
	}
	return node, nil
}
