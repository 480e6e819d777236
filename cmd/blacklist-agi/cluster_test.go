package main_test

// The built server against a real 3-master Redis Cluster: redis.cluster in
// the main file, the lists spread over the masters, calls checked through
// the cluster.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// startCluster starts three cluster-enabled redis-server processes, gives
// each a third of the slots, introduces them to each other, and waits until
// every node reports cluster_state:ok. It returns the nodes' addresses.
// (redis-cli --cluster create does the same but sleeps whole seconds while
// it waits for the nodes to agree.)
func startCluster(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const nodes = 3
	var (
		addrs        []string
		clients      []*redis.Client
		ports, buses []int
	)
	for i := range nodes {
		port, bus := freePort(t), freePort(t)
		startRedis(t, port, t.TempDir(), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", fmt.Sprint(bus), "--cluster-node-timeout", "5000")
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		node := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { node.Close() })
		first, last := i*16384/nodes, (i+1)*16384/nodes-1
		if err := node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", first, last).Err(); err != nil {
			t.Fatalf("%s: CLUSTER ADDSLOTSRANGE %d %d: %v", addr, first, last, err)
		}
		if err := node.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			t.Fatalf("%s: CLUSTER SET-CONFIG-EPOCH: %v", addr, err)
		}
		addrs, clients = append(addrs, addr), append(clients, node)
		ports, buses = append(ports, port), append(buses, bus)
	}
	for i := 1; i < nodes; i++ {
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", ports[i], buses[i]).Err(); err != nil {
			t.Fatalf("CLUSTER MEET %s: %v", addrs[i], err)
		}
	}
	// A master reports ok no sooner than 2s after it started (Redis's
	// CLUSTER_WRITABLE_DELAY): most of this test's time.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i, node := range clients {
		for {
			info, err := node.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatalf("node %s: cluster not ok within the deadline: %v\n%s", addrs[i], err, info)
			}
		}
	}
	return addrs
}

func TestEndToEndRedisCluster(t *testing.T) {
	redistest.Addr(t) // redis-server is installed by the test script
	addrs := startCluster(t)
	ctx := context.Background()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer rdb.Close()

	const prefix = "cluster:"
	keys := blacklist.Keys{Prefix: prefix}
	for key, members := range map[string][]string{
		keys.Campaign("promo"):          {"5511987654321"},
		keys.Shared("spam"):             {"55900*"},
		keys.Shared("opt-out"):          {"5531977776666"},
		keys.Shared("nao-me-perturbe"):  {"5521988887777"},
		keys.Campaign("other-campaign"): {"5511912345678"},
	} {
		if err := rdb.SAdd(ctx, key, members).Err(); err != nil {
			t.Fatalf("SADD %s: %v", key, err)
		}
	}
	// The lists of one check must live on more than one master, or the test
	// would not show that the check's pipeline spans nodes.
	var (
		mu      sync.Mutex // ForEachMaster calls fn on the masters concurrently
		holders []string
	)
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		n, err := node.DBSize(ctx).Result()
		if err == nil && n > 0 {
			mu.Lock()
			holders = append(holders, node.Options().Addr)
			mu.Unlock()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(holders) < 2 {
		t.Fatalf("the lists are on %d master(s) %v, want them spread over at least 2", len(holders), holders)
	}

	// Compact lists declared one on each master, for the scans of a list's
	// keys (export, ls, a replace's removal of the old version).
	compact := namesOnEveryMaster(t, rdb, len(addrs), "national", keys.Shared)
	main := strings.Replace(fmt.Sprintf(mainConfig, prefix, strings.Join(addrs, ",")), "redis:\n", "redis:\n  cluster: true\n", 1)
	for _, name := range compact {
		main = strings.Replace(main, "lists:\n", "lists:\n  "+name+": { reason: nao-me-perturbe, layout: compact }\n", 1)
	}
	s := startServerConfig(t, main, map[string]string{"promo.yaml": "lists: [spam, national]\n"})
	if out, err := exec.Command(binary(t), "serve", "--check-config", "--config", filepath.Join(s.dir, "blacklist-agi.yaml")).CombinedOutput(); err != nil || !strings.Contains(string(out), "redis cluster 127.0.0.1:") {
		t.Errorf("check-config: %v, want the summary to say redis cluster\n%s", err, out)
	}

	// A compact list written through the CLI, over the cluster.
	add := exec.Command(binary(t), "add", "--config", filepath.Join(s.dir, "blacklist-agi.yaml"), "--list", "national", "5541988889999")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("blacklist-agi add --list national: %v\n%s", err, out)
	}

	for _, c := range []struct {
		exten, status, list string
	}{
		{"5511987654321", "BLOCKED", "promo"},
		{"+55 900 1234567", "BLOCKED", "spam"},
		{"5531977776666", "BLOCKED", "opt-out"},
		{"5521988887777", "BLOCKED", "nao-me-perturbe"},
		{"5541988889999", "BLOCKED", "national"},
		{"5511912345678", "ALLOWED", ""}, // only in another campaign's list
	} {
		res := s.call(t, "promo", c.exten)
		if res.Vars["BLACKLIST_STATUS"] != c.status || res.Vars["BLACKLIST_LIST"] != c.list {
			t.Errorf("%s: status %q list %q (error %q), want %s %q", c.exten,
				res.Vars["BLACKLIST_STATUS"], res.Vars["BLACKLIST_LIST"], res.Vars["BLACKLIST_ERROR"], c.status, c.list)
		}
	}

	c := &cli{t: t, config: filepath.Join(s.dir, "blacklist-agi.yaml"), dir: s.dir, keys: keys}
	t.Run("ScanKeys", func(t *testing.T) { testClusterScanKeys(t, rdb, keys, len(addrs)) })
	t.Run("lists", func(t *testing.T) { testClusterLists(t, c, rdb, len(addrs)) })
	t.Run("compact", func(t *testing.T) { testClusterCompact(t, c, rdb, compact) }) // returns when its parallel subtests are done
	t.Run("stats", func(t *testing.T) { testClusterStats(t, c, rdb, len(addrs)) })
}

// namesOnEveryMaster returns one name per master (base-0, base-1...: the
// first whose key, keyOf(name), the master holds), in the masters' order
// of discovery.
func namesOnEveryMaster(t *testing.T, rdb *redis.ClusterClient, masters int, base string, keyOf func(string) string) []string {
	t.Helper()
	ctx := context.Background()
	seen := make(map[string]bool)
	var names []string
	for i := 0; len(names) < masters; i++ {
		if i > 1000 {
			t.Fatalf("no names %s-N on %d masters after 1000 tries: %v", base, masters, names)
		}
		name := fmt.Sprintf("%s-%d", base, i)
		node, err := rdb.MasterForKey(ctx, keyOf(name))
		if err != nil {
			t.Fatalf("MasterForKey(%s): %v", keyOf(name), err)
		}
		if addr := node.Options().Addr; !seen[addr] {
			seen[addr] = true
			names = append(names, name)
		}
	}
	return names
}

// clusterKeys returns the keys that match pattern on every master, sorted:
// what a scan of the whole cluster must find.
func clusterKeys(t *testing.T, rdb *redis.ClusterClient, pattern string) []string {
	t.Helper()
	ctx := context.Background()
	var (
		mu   sync.Mutex
		keys []string
	)
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		found, err := node.Keys(ctx, pattern).Result() // a test's few keys
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// testClusterScanKeys checks blacklist.ScanKeys against a cluster: every
// master's keys, fn called from one master at a time, and fn's error
// stopping the scans of every master.
func testClusterScanKeys(t *testing.T, rdb *redis.ClusterClient, keys blacklist.Keys, masters int) {
	ctx := context.Background()
	head := keys.Prefix + "scan:"
	holders := make(map[string]bool)
	for i := range 30 {
		key := fmt.Sprintf("%s{k-%d}", head, i)
		if err := rdb.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		node, err := rdb.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		holders[node.Options().Addr] = true
	}
	if len(holders) != masters {
		t.Fatalf("the keys %s{k-N} are on %d masters, want all %d", head, len(holders), masters)
	}
	pattern := blacklist.GlobEscape(head) + "*"
	want := clusterKeys(t, rdb, pattern)
	if len(want) != 30 {
		t.Fatalf("the masters hold %d keys %s, want 30", len(want), pattern)
	}
	var (
		got    []string
		inside atomic.Int32
	)
	err := blacklist.ScanKeys(ctx, rdb, pattern, "", 2, func(page []string) error {
		if n := inside.Add(1); n != 1 {
			t.Errorf("fn called from %d masters at once", n)
		}
		defer inside.Add(-1)
		got = append(got, page...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if got = slices.Compact(got); !slices.Equal(got, want) {
		t.Errorf("ScanKeys(%q) on the cluster saw %d keys, want the %d of every master:\n got %q\nwant %q", pattern, len(got), len(want), got, want)
	}

	stop := errors.New("stop")
	var calls atomic.Int32
	err = blacklist.ScanKeys(ctx, rdb, pattern, "", 1, func([]string) error { calls.Add(1); return stop })
	if !errors.Is(err, stop) || calls.Load() != 1 {
		t.Errorf("ScanKeys with a failing fn = %v after %d calls; want its error after 1", err, calls.Load())
	}
}

// testClusterLists checks that lists finds the lists of every master,
// campaign, shared and compact: a SCAN of the whole key space.
func testClusterLists(t *testing.T, c *cli, rdb *redis.ClusterClient, masters int) {
	ctx := context.Background()
	want := make(map[string]string) // name -> kind/layout
	for _, name := range namesOnEveryMaster(t, rdb, masters, "campaign", c.keys.Campaign) {
		if err := rdb.SAdd(ctx, c.keys.Campaign(name), "5511955550001").Err(); err != nil {
			t.Fatal(err)
		}
		want[name] = "campaign/plain"
	}
	for _, name := range namesOnEveryMaster(t, rdb, masters, "shared", c.keys.Shared) {
		if err := rdb.SAdd(ctx, c.keys.Shared(name), "5511955550002").Err(); err != nil {
			t.Fatal(err)
		}
		want[name] = "shared/plain"
	}
	// Undeclared compact lists, found by their version keys.
	for _, name := range namesOnEveryMaster(t, rdb, masters, "packed", c.keys.Shared) {
		key := c.keys.Shared(name)
		if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, blacklist.VersionKey(key), "1", 0)
			p.Set(ctx, blacklist.CompactCountKey(key, "1"), 1, 0)
			p.SAdd(ctx, blacklist.BucketKey(key, "1", "551195555"), 3)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want[name] = "shared/compact"
	}

	var rows []struct {
		Name, Kind, Layout string
		Size               int64
	}
	out := c.must(0, "lists", "--json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("lists --json: %v\n%s", err, out)
	}
	got := make(map[string]string)
	for _, r := range rows {
		if _, ok := want[r.Name]; ok {
			got[r.Name] = r.Kind + "/" + r.Layout
			if r.Size != 1 {
				t.Errorf("lists: %s holds %d entries, want 1", r.Name, r.Size)
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("lists found %v on the cluster, want the lists of every master %v\n%s", got, want, out)
	}
}

// testClusterCompact imports, pages through, exports and replaces compact
// lists that live one on each master, all at once. (go-redis itself sends
// a SCAN whose MATCH holds a hash tag to that tag's master; these scans go
// there through blacklist.ScanListKeys and ScanListPage, which do not rely
// on it.)
func testClusterCompact(t *testing.T, c *cli, rdb *redis.ClusterClient, names []string) {
	numbers := func(head string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%08d", head, i*10007) // about one number per bucket
		}
		slices.Sort(out)
		return out
	}
	first, second := numbers("55119", 300), numbers("55219", 50)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each command is a process that starts slowly with -race
			c := &cli{t: t, config: c.config, dir: c.dir, keys: c.keys}
			key := c.keys.Shared(name)
			file := filepath.Join(c.dir, name+".txt")
			writeFile(t, file, strings.Join(first, "\n")+"\n")
			contains(t, "import --list "+name, c.must(0, "import", "--list", name, file), "300 added")

			// export: a SCAN of the list's buckets.
			csv := filepath.Join(c.dir, name+".csv")
			c.must(0, "export", "--list", name, "-o", csv)
			if got := exported(t, csv); !slices.Equal(got, first) {
				t.Errorf("export --list %s wrote %d numbers, want %d", name, len(got), len(first))
			}

			// ls: pages whose cursors the next call gets back.
			var got []string
			cursor, pages := "", 0
			for {
				args := []string{"ls", "--list", name, "--count", "100"}
				if cursor != "" {
					args = append(args, "--cursor", cursor)
				}
				out, errOut, code := c.run("", args...)
				if code != 0 {
					t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
				}
				got = append(got, strings.Fields(out)...)
				pages++
				next, more := strings.CutPrefix(strings.TrimSpace(errOut), "more: --cursor ")
				if !more || pages > 100 {
					break
				}
				cursor = next
			}
			slices.Sort(got)
			if got = slices.Compact(got); !slices.Equal(got, first) || pages < 2 {
				t.Errorf("ls --list %s saw %d numbers in %d pages, want %d in several", name, len(got), pages, len(first))
			}

			// search: a SCAN of the buckets that start with the prefix.
			out := c.must(0, "search", "--list", name, "--json", "5511900*")
			var found []blacklist.Entry
			if err := json.Unmarshal([]byte(out), &found); err != nil {
				t.Fatalf("search --json: %v\n%s", err, out)
			}
			if want := countPrefix(first, "5511900"); len(found) != want || want == 0 {
				t.Errorf("search --list %s 5511900* found %d numbers, want %d", name, len(found), want)
			}

			// A replace unlinks the old version's buckets once its grace
			// is over, before the command exits.
			writeFile(t, file, strings.Join(second, "\n")+"\n")
			c.must(0, "import", "--list", name, "--replace", file)
			live := rdb.Get(context.Background(), blacklist.VersionKey(key)).Val()
			var stale []string
			for _, k := range clusterKeys(t, rdb, blacklist.GlobEscape(key)+":v*") {
				if k != blacklist.VersionKey(key) && !strings.HasPrefix(k, blacklist.BucketKey(key, live, "")) {
					stale = append(stale, k)
				}
			}
			if len(stale) > 0 {
				t.Errorf("import --list %s --replace left %d keys of the old version: %q...", name, len(stale), stale[0])
			}
			c.must(0, "export", "--list", name, "-o", csv)
			if got := exported(t, csv); !slices.Equal(got, second) {
				t.Errorf("export --list %s after the replace wrote %d numbers, want %d", name, len(got), len(second))
			}
		})
	}
}

// exported returns the numbers of a compact list's export file, sorted.
func exported(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	header, rest, _ := strings.Cut(string(b), "\n")
	if header != "member" {
		t.Fatalf("%s: header %q, want member", file, header)
	}
	got := strings.Fields(rest)
	slices.Sort(got)
	return got
}

func countPrefix(numbers []string, prefix string) int {
	n := 0
	for _, s := range numbers {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// testClusterStats checks that stats finds the campaigns of every master
// (a SCAN of hashes, <prefix>stats:{*}, on every master: a plain SCAN of
// that pattern would go to the master of the hash tag "*" alone).
func testClusterStats(t *testing.T, c *cli, rdb *redis.ClusterClient, masters int) {
	rec := callstats.NewRecorder(rdb, callstats.Options{Keys: c.keys, Instance: "agi-1", Logger: slog.New(slog.DiscardHandler)})
	names := namesOnEveryMaster(t, rdb, masters, "dialer", func(id string) string { return callstats.CampaignKey(c.keys, id) })
	for _, name := range names {
		rec.ObserveCheck(guard.Observation{Verdict: guard.Verdict{Status: guard.StatusBlocked, Campaign: name, Block: true,
			Dialed: "5511955550001", Number: number.Number{Canonical: "5511955550001"}, List: "spam", Entry: "5511955550001"}})
	}
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := c.stats("--since", "1h")
	blocked := make(map[string]int64)
	for _, s := range got.Campaigns {
		blocked[s.Campaign] = s.Blocked
	}
	for _, name := range names {
		if blocked[name] != 1 {
			t.Errorf("stats: campaign %s blocked %d calls, want 1 (campaigns found: %v)", name, blocked[name], blocked)
		}
	}
}
