package main_test

// The built server against a real Sentinel setup (a master, a replica and
// three Sentinels with a quorum of two, all redis-server processes):
// redis.master_name and the three Sentinels in the main file, the first
// Sentinel killed, then the master killed, on_error during the gap, and the
// checks back on the promoted replica with nothing lost.

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

// poll calls ok every 20ms until it returns true, failing the test with
// what after the deadline.
func poll(t *testing.T, deadline time.Duration, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(deadline)
	for !ok() {
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatalf("%s: not within %v", what, deadline)
		}
	}
}

// startSentinel runs redis-server in Sentinel mode on port, watching the
// master on masterPort as "mymaster" with a quorum of 2 and quick failure
// detection. It returns a function that kills it.
func startSentinel(t *testing.T, port, masterPort int) (kill func()) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf") // Sentinel rewrites its file
	writeFile(t, conf, fmt.Sprintf(`port %d
bind 127.0.0.1
dir %s
sentinel monitor mymaster 127.0.0.1 %d 2
sentinel down-after-milliseconds mymaster 300
sentinel failover-timeout mymaster 3000
`, port, dir, masterPort))
	cmd := exec.Command("redis-server", conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server --sentinel: %v", err)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(kill)
	return kill
}

func TestEndToEndRedisSentinelFailover(t *testing.T) {
	redistest.Addr(t) // redis-server is installed by the test script
	ctx := context.Background()
	masterPort, replicaPort := freePort(t), freePort(t)
	// No 5s wait for more replicas before the first full sync.
	master := startRedis(t, masterPort, t.TempDir(), "--repl-diskless-sync-delay", "0")
	startRedis(t, replicaPort, t.TempDir(), "--replicaof", "127.0.0.1", fmt.Sprint(masterPort))
	var (
		sentinelAddrs []string
		killSentinel  []func()
	)
	for range 3 {
		port := freePort(t)
		killSentinel = append(killSentinel, startSentinel(t, port, masterPort))
		sentinelAddrs = append(sentinelAddrs, fmt.Sprintf("127.0.0.1:%d", port))
	}

	replica := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", replicaPort)})
	defer replica.Close()
	poll(t, 10*time.Second, "the replica's link to the master", func() bool {
		info, _ := replica.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	// A failover needs a majority of the Sentinels, which find each other
	// through the master (a hello every 2s).
	for _, addr := range sentinelAddrs {
		sentinel := redis.NewSentinelClient(&redis.Options{Addr: addr})
		defer sentinel.Close()
		poll(t, 15*time.Second, "Sentinel "+addr+" knowing the replica and the other Sentinels", func() bool {
			replicas, _ := sentinel.Replicas(ctx, "mymaster").Result()
			others, _ := sentinel.Sentinels(ctx, "mymaster").Result()
			return len(replicas) == 1 && replicas[0]["flags"] == "slave" && len(others) == 2
		})
	}

	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", masterPort)})
	defer rdb.Close()
	keys := blacklist.Keys{Prefix: "sentinel:"}
	rdb.SAdd(ctx, keys.Campaign("closed"), "5511987654321")
	rdb.SAdd(ctx, keys.Shared("opt-out"), "5531977776666")
	// Both writes on the replica before the master dies: nothing to lose.
	if n, err := rdb.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d replicas, %v", n, err)
	}

	main := strings.Replace(fmt.Sprintf(mainConfig, "sentinel:", strings.Join(sentinelAddrs, ",")),
		"redis:\n", "redis:\n  master_name: mymaster\n", 1)
	s := startServerConfig(t, main, map[string]string{"closed.yaml": "on_error: block\ntimeout: 200ms\n"})
	blocked := func(exten, list string) {
		t.Helper()
		res := s.call(t, "closed", exten)
		if res.Vars["BLACKLIST_STATUS"] != "BLOCKED" || res.Vars["BLACKLIST_LIST"] != list {
			t.Fatalf("%s: vars %v, want BLOCKED by %s", exten, res.Vars, list)
		}
	}
	blocked("5511987654321", "closed")
	blocked("5531977776666", "opt-out")

	// The first Sentinel listed goes first: the server asks the others.
	killSentinel[0]()
	blocked("5511987654321", "closed")

	master.Stop()
	// The Sentinels need 300ms to call the master down: this call is in the gap.
	res := s.call(t, "closed", "5511987654321")
	if res.Vars["BLACKLIST_STATUS"] != "ERROR" || res.Vars["BLACKLIST_ON_ERROR"] != "block" || !res.HungUp {
		t.Errorf("master just killed: vars %v hung up %v, want ERROR with on_error block", res.Vars, res.HungUp)
	}
	poll(t, 15*time.Second, "checks after the failover", func() bool {
		res := s.call(t, "closed", "5511987654321")
		switch st := res.Vars["BLACKLIST_STATUS"]; {
		case st == "BLOCKED":
			return true
		case st != "ERROR" || res.Vars["BLACKLIST_ON_ERROR"] != "block" || !res.HungUp:
			t.Fatalf("during the failover: vars %v hung up %v, want BLOCKED, or ERROR with on_error block", res.Vars, res.HungUp)
		}
		return false
	})
	if role, _ := replica.Do(ctx, "ROLE").Slice(); len(role) == 0 || role[0] != "master" {
		t.Errorf("the replica's role after the failover: %v, want master", role)
	}
	blocked("5511987654321", "closed")
	blocked("5531977776666", "opt-out")
	if got := s.call(t, "closed", "5511912345678").Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Errorf("a number in no list after the failover: %s", got)
	}
}
