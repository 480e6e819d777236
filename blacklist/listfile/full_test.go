package listfile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// privateRedis starts a redis-server of the test's own (maxmemory is
// server-wide: the shared test Redis must not fill up) and returns a client.
func privateRedis(t *testing.T, args ...string) *redis.Client {
	t.Helper()
	redistest.Addr(t) // redis-server is installed by the test script
	srv := redistest.Start(t, 0, t.TempDir(), args...)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// capMemory sets maxmemory to what rdb's server uses now plus headroom.
func capMemory(t *testing.T, rdb *redis.Client, headroom int64) {
	t.Helper()
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			fmt.Sscan(v, &used)
		}
	}
	if used == 0 {
		t.Fatalf("no used_memory in INFO memory:\n%s", info)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(used+headroom)).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestImportRedisFull imports into a Redis that reaches its maxmemory
// (noeviction) half way: the error says so and names the list; a replace
// leaves the list as it was, and a merge keeps what it added.
func TestImportRedisFull(t *testing.T) {
	t.Parallel()
	rdb := privateRedis(t, "--maxmemory-policy", "noeviction")
	ctx := context.Background()
	keys := blacklist.Keys{Prefix: "full:"}
	l := blacklist.SharedList(keys, "spam")
	var old []string
	for i := range 1000 {
		old = append(old, fmt.Sprintf("55119%08d", i))
	}
	rdb.SAdd(ctx, l.Key, old)
	slices.Sort(old)
	var file strings.Builder
	const fileNumbers = 30_000 // 1.5 MB and more in a set
	for i := range fileNumbers {
		fmt.Fprintf(&file, "55219%08d\n", i)
	}
	members := func() []string {
		m := rdb.SMembers(ctx, l.Key).Val()
		slices.Sort(m)
		return m
	}
	run := func(mode string) (Summary, error) {
		capMemory(t, rdb, 256<<10)
		return Import(ctx, rdb, strings.NewReader(file.String()), ImportOptions{
			List: l, Keys: keys, Mode: mode, Rules: number.DefaultRules(), BatchSize: 100,
		})
	}

	_, err := run(ModeReplace)
	if !errors.Is(err, ErrRedisFull) || !redis.IsOOMError(err) {
		t.Fatalf("replace: error %v, want ErrRedisFull wrapping Redis's OOM", err)
	}
	for _, want := range []string{l.Key, "out of memory", "maxmemory", "the list is left as it was"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("replace: error %q does not say %q", err, want)
		}
	}
	if got := members(); !slices.Equal(got, old) {
		t.Errorf("replace: the list has %d members, want its %d", len(got), len(old))
	}
	if n := rdb.DBSize(ctx).Val(); n != 1 {
		t.Errorf("replace: %d keys after the failure (%v), want the list's alone", n, rdb.Keys(ctx, "*").Val())
	}

	sum, err := run(ModeMerge)
	if !errors.Is(err, ErrRedisFull) || !strings.Contains(err.Error(), "the numbers sent before stay in the list") {
		t.Fatalf("merge: error %v, want ErrRedisFull saying what stays", err)
	}
	got := members()
	for _, m := range old {
		if _, found := slices.BinarySearch(got, m); !found {
			t.Fatalf("merge: %s was in the list and is gone", m)
		}
	}
	if added := int64(len(got) - len(old)); added != sum.Added || added == 0 || added == fileNumbers {
		t.Errorf("merge: %d members added, Summary.Added %d; want some of the %d, counted", added, sum.Added, fileNumbers)
	}

	// With room again, the same merge completes.
	rdb.ConfigSet(ctx, "maxmemory", "0")
	if _, err := Import(ctx, rdb, strings.NewReader(file.String()), ImportOptions{List: l, Keys: keys, Rules: number.DefaultRules()}); err != nil {
		t.Fatal(err)
	}
	if n := rdb.SCard(ctx, l.Key).Val(); n != int64(len(old)+fileNumbers) {
		t.Errorf("merge with room: %d members, want %d", n, len(old)+fileNumbers)
	}
}
