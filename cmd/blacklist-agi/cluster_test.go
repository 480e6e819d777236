package main_test

// The built server against a real 3-master Redis Cluster: redis.cluster in
// the main file, the lists spread over the masters, calls checked through
// the cluster.

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
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

	main := strings.Replace(fmt.Sprintf(mainConfig, prefix, strings.Join(addrs, ",")), "redis:\n", "redis:\n  cluster: true\n", 1)
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
}
