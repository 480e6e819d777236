// Package redistest connects tests to the private redis-server that
// scripts/test.sh starts, and gives each test a key prefix of its own so that
// packages tested in parallel never touch each other's keys.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// A Server is a redis-server process of one test's own, for the faults a
// shared server must not see (kills, pauses, memory limits, replication).
type Server struct {
	Port int    // its TCP port on 127.0.0.1
	Dir  string // its working folder
	cmd  *exec.Cmd
}

// Start starts redis-server on 127.0.0.1:port (0: a free port) with dir as
// its working folder and extra command-line options, without persistence
// unless extra asks for it; it waits until the server accepts connections
// and stops it when the test ends.
func Start(t testing.TB, port int, dir string, extra ...string) *Server {
	t.Helper()
	if port == 0 {
		port = FreePort(t)
	}
	args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no"}, extra...)
	cmd := exec.Command("redis-server", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("redis-server on port %d not ready within 10s", port)
	}
	s := &Server{Port: port, Dir: dir, cmd: cmd}
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// Stop kills the server (as a crash would) and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
