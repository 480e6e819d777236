package main_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
)

// BenchmarkSessionsInFlight measures the resident memory of the server
// binary (built without -race) while 1,000 sessions are in flight at once:
// Redis is paused with CLIENT PAUSE, so every session waits in its check
// until the pause ends. It reports the peak RSS (VmHWM) in MB.
//
//	scripts/test.sh ./cmd/blacklist-agi/ -run '^$' -bench SessionsInFlight -benchtime 1x
func BenchmarkSessionsInFlight(b *testing.B) {
	const sessions = 1000
	bin := filepath.Join(b.TempDir(), "blacklist-agi")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	port := freePort(b)
	startRedis(b, port, b.TempDir())
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()

	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "campaigns"), 0o755)
	writeFile(b, filepath.Join(dir, "blacklist-agi.yaml"), fmt.Sprintf(mainConfig, "bench:", addr)+
		"  on_error: allow\nlimits:\n  max_sessions: 5000\n")
	writeFile(b, filepath.Join(dir, "campaigns", "promo.yaml"), "lists: [spam]\ntimeout: 30s\n")
	cmd := exec.Command(bin, "serve", "--config", filepath.Join(dir, "blacklist-agi.yaml"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var listen string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if i := strings.Index(sc.Text(), "msg=listening addr="); i >= 0 {
			listen = sc.Text()[i+len("msg=listening addr="):]
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if listen == "" {
		b.Fatal("server did not start")
	}

	for i := 0; i < b.N; i++ {
		if err := rdb.Do(context.Background(), "CLIENT", "PAUSE", "60000", "ALL").Err(); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for j := 0; j < sessions; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				agitest.Run(context.Background(), agitest.Call{
					URL:       "agi://" + listen + "/blacklist?campaign=promo",
					Extension: "5511987654321",
					Timeout:   60 * time.Second,
				})
			}()
		}
		// Wait until the server holds every session: count its established
		// connections on the listening port.
		deadline := time.Now().Add(30 * time.Second)
		for established(b, cmd.Process.Pid, listen) < sessions {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d sessions connected", established(b, cmd.Process.Pid, listen), sessions)
			}
			time.Sleep(10 * time.Millisecond) // polling /proc, not synchronizing
		}
		rss, hwm := memory(b, cmd.Process.Pid)
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(hwm, "peak-rss-MB")
		rdb.Do(context.Background(), "CLIENT", "UNPAUSE")
		wg.Wait()
	}
}

// established counts the process's established TCP connections whose local
// port is the listener's.
func established(b *testing.B, pid int, listen string) int {
	port, err := strconv.Atoi(listen[strings.LastIndex(listen, ":")+1:])
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		b.Fatal(err)
	}
	want := fmt.Sprintf(":%04X", port)
	n := 0
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1], want) && f[3] == "01" {
			n++
		}
	}
	return n
}

// memory returns VmRSS and VmHWM of a process in MB.
func memory(b *testing.B, pid int) (rss, hwm float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
