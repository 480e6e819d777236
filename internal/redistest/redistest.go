// Package redistest connects tests to the private redis-server that
// scripts/test.sh starts, and gives each test a key prefix of its own so that
// packages tested in parallel never touch each other's keys.
package redistest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// AddrEnv names the variable that holds the test redis-server's address.
const AddrEnv = "BLACKLIST_TEST_REDIS_ADDR"

// RequireEnv names the variable that turns a missing test Redis from a skip
// into a failure; scripts/test.sh sets it so CI can never pass by skipping.
const RequireEnv = "BLACKLIST_REQUIRE_REDIS"

var seq atomic.Int64

// Addr returns the test redis-server's address, skipping the test when none
// is configured (or failing it when RequireEnv is set).
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(AddrEnv)
	if addr == "" {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s is not set: run the tests through scripts/test.sh", AddrEnv)
		}
		t.Skipf("%s is not set: run the tests through scripts/test.sh", AddrEnv)
	}
	return addr
}

// Client returns a client for the test redis-server, closed when the test ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	// As the server sets it: a context deadline bounds socket reads.
	rdb := redis.NewClient(&redis.Options{Addr: Addr(t), ContextTimeoutEnabled: true})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("test redis-server at %s: %v", Addr(t), err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// Prefix returns a key prefix unique to this test run and test (for example
// "t42:TestCheck:"), and deletes every key under it when the test ends.
func Prefix(t testing.TB, rdb redis.UniversalClient) string {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_", "{", "_", "}", "_").Replace(t.Name())
	prefix := fmt.Sprintf("t%d-%d:%s:", os.Getpid(), seq.Add(1), name)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// Keys returns the keys of the test redis-server's database that match the
// SCAN pattern, failing the test on a Redis error.
func Keys(t testing.TB, rdb redis.UniversalClient, pattern string) []string {
	t.Helper()
	var out []string
	for key := range scan(t, rdb, pattern, false) {
		out = append(out, key)
	}
	return out
}

// Dump returns each key that matches the SCAN pattern with its DUMP, the
// serialized value, so that a test can tell whether any of them changed.
func Dump(t testing.TB, rdb redis.UniversalClient, pattern string) map[string]string {
	t.Helper()
	return scan(t, rdb, pattern, true)
}

func scan(t testing.TB, rdb redis.UniversalClient, pattern string, dump bool) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		if dump {
			out[iter.Val()] = rdb.Dump(ctx, iter.Val()).Val()
		} else {
			out[iter.Val()] = ""
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN %q: %v", pattern, err)
	}
	return out
}
