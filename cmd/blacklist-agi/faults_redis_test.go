package main_test

// Redis faults against the built server and real redis-server processes of
// the tests' own: Redis not running at start, killed under load, paused
// past the time budget, full (maxmemory) during an import, and a node that
// became a read-only replica after a failover. In every case a listed
// number must never be allowed, and no list entry may be lost.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
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

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// faultBudget is the campaigns' time budget in these tests, and
// faultMargin what a call may take beyond it on a loaded 2-core machine
// running the race-enabled server.
const (
	faultBudget = 300 * time.Millisecond
	faultMargin = 2 * time.Second
)

// faultCampaigns are a campaign that blocks on error and one that allows.
var faultCampaigns = map[string]string{
	"closed.yaml": fmt.Sprintf("on_error: block\ntimeout: %v\n", faultBudget),
	"open.yaml":   fmt.Sprintf("on_error: allow\ntimeout: %v\n", faultBudget),
}

// settle calls exten in campaign until it gets want, within 10s. An ERROR
// answer (a check over the 300ms budget on a loaded machine) is tried again;
// any other verdict fails the test at once: a listed number ALLOWED is the
// fault these tests look for.
func settle(t *testing.T, s *server, what, campaign, exten, want string) {
	t.Helper()
	poll(t, 10*time.Second, what+": "+exten+" "+want, func() bool {
		res := s.call(t, campaign, exten)
		switch st := res.Vars["BLACKLIST_STATUS"]; st {
		case want:
			return true
		case "ERROR":
			return false
		default:
			t.Fatalf("%s: %s in %s: %v, want %s", what, exten, campaign, res.Vars, want)
			return false
		}
	})
}

// wantOnError fails the test unless res is an ERROR answered within the
// budget with the campaign's on_error: hung up (cause 21) for closed,
// allowed for open; code, when set, is the BLACKLIST_ERROR wanted.
func wantOnError(t *testing.T, what, campaign, code string, res agitest.Result) {
	t.Helper()
	block := campaign == "closed"
	onError := map[bool]string{true: "block", false: "allow"}[block]
	v := res.Vars
	if v["BLACKLIST_STATUS"] != "ERROR" || v["BLACKLIST_ON_ERROR"] != onError || res.HungUp != block ||
		(block && res.HangupCause != 21) || (code != "" && v["BLACKLIST_ERROR"] != code) {
		t.Errorf("%s, campaign %s: vars %v hung up %v cause %d; want ERROR %s with on_error %s",
			what, campaign, v, res.HungUp, res.HangupCause, code, onError)
	}
	if res.Duration > faultBudget+faultMargin {
		t.Errorf("%s, campaign %s: the call took %v, past its %v budget", what, campaign, res.Duration, faultBudget)
	}
}

// members returns the sorted members of every set of keys.
func members(t *testing.T, rdb *redis.Client, keys ...string) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, k := range keys {
		s, err := rdb.SMembers(context.Background(), k).Result()
		if err != nil {
			t.Fatalf("SMEMBERS %s: %v", k, err)
		}
		slices.Sort(s)
		m[k] = s
	}
	return m
}

func TestFaultRedisDownAtStart(t *testing.T) {
	t.Parallel()
	redistest.Addr(t) // redis-server is installed by the test script
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := startServer(t, "down:", addr, faultCampaigns) // nothing listens there yet
	ready := "http://" + s.admin + "/readyz"

	if code, body := get(t, ready); code != http.StatusServiceUnavailable || !strings.Contains(body, addr) {
		t.Errorf("/readyz without Redis: %d %s; want 503 naming %s", code, body, addr)
	}
	for _, campaign := range []string{"closed", "open"} {
		wantOnError(t, "no Redis at start", campaign, "REDIS", s.call(t, campaign, "5511987654321"))
	}

	// Redis comes up on that port: the same server becomes ready and blocks.
	startRedis(t, port, t.TempDir())
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	if err := rdb.SAdd(context.Background(), blacklist.Keys{Prefix: "down:"}.Campaign("closed"), "5511987654321").Err(); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "/readyz 200 once Redis is up", func() bool {
		code, _ := get(t, ready)
		return code == http.StatusOK
	})
	poll(t, 10*time.Second, "the listed number BLOCKED once Redis is up", func() bool {
		res := s.call(t, "closed", "5511987654321")
		if st := res.Vars["BLACKLIST_STATUS"]; st != "BLOCKED" {
			if st != "ERROR" || !res.HungUp {
				t.Fatalf("Redis coming up: vars %v hung up %v", res.Vars, res.HungUp)
			}
			return false
		}
		return true
	})
	settle(t, s, "an unlisted number once Redis is up", "open", "5511912345678", "ALLOWED")
}

// loadStats counts the answers of the calls of TestFaultRedisKilledUnderLoad
// in each phase.
type loadStats struct {
	calls, errors, checked [3]atomic.Int64 // checked: BLOCKED or ALLOWED
	mu                     sync.Mutex
	violations             []string
}

func (ls *loadStats) violate(format string, args ...any) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.violations = append(ls.violations, fmt.Sprintf(format, args...))
}

func TestFaultRedisKilledUnderLoad(t *testing.T) {
	t.Parallel()
	redistest.Addr(t)
	port := freePort(t)
	dir := t.TempDir()
	// Every write is on disk before its reply: a SIGKILL loses nothing.
	persist := []string{"--appendonly", "yes", "--appendfsync", "always"}
	rp := startRedis(t, port, dir, persist...)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	keys := blacklist.Keys{Prefix: "kill:"}
	listed := []string{"5511987654321", "5521988887777", "5531977776666"}
	rdb.SAdd(ctx, keys.Campaign("closed"), listed[0], listed[1])
	rdb.SAdd(ctx, keys.Shared("opt-out"), listed[2])
	listKeys := []string{keys.Campaign("closed"), keys.Shared("opt-out")}
	before := members(t, rdb, listKeys...)

	s := startServer(t, "kill:", addr, faultCampaigns)
	numbers := append(slices.Clone(listed), "5511912345678", "5541933332222")

	// phase is 0 with Redis up, 1 once it is killed, 2 once it is back.
	var phase atomic.Int32
	var ls loadStats
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const workers = 16
	for w := range workers {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := phase.Load()
				exten := numbers[i%len(numbers)]
				isListed := slices.Contains(listed, exten)
				cctx, cancel := context.WithTimeout(ctx, faultBudget+faultMargin+5*time.Second)
				res, err := agitest.Run(cctx, agitest.Call{URL: "agi://" + s.addr + "/blacklist?campaign=closed", Extension: exten})
				cancel()
				ls.calls[p].Add(1)
				if err != nil {
					ls.violate("phase %d, %s: no answer: %v", p, exten, err)
					continue
				}
				if res.Duration > faultBudget+faultMargin {
					ls.violate("phase %d, %s: the call took %v", p, exten, res.Duration)
				}
				switch st := res.Vars["BLACKLIST_STATUS"]; {
				case st == "ERROR" && res.HungUp && res.Vars["BLACKLIST_ON_ERROR"] == "block":
					ls.errors[p].Add(1)
				case st == "BLOCKED" && isListed && res.HungUp, st == "ALLOWED" && !isListed && !res.HungUp:
					ls.checked[p].Add(1)
				default:
					ls.violate("phase %d, %s (listed %v): vars %v hung up %v", p, exten, isListed, res.Vars, res.HungUp)
				}
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	poll(t, 20*time.Second, "100 checks with Redis up", func() bool { return ls.checked[0].Load() >= 100 })
	rp.Stop() // SIGKILL, calls in flight
	phase.Store(1)
	poll(t, 20*time.Second, "100 calls with Redis killed", func() bool { return ls.calls[1].Load() >= 100 })
	startRedis(t, port, dir, persist...)
	phase.Store(2)
	poll(t, 20*time.Second, "100 checks with Redis back", func() bool { return ls.checked[2].Load() >= 100 })
	close(stop)
	wg.Wait()

	for i, v := range ls.violations {
		if i == 10 {
			t.Errorf("... %d violations in all", len(ls.violations))
			break
		}
		t.Error(v)
	}
	t.Logf("calls per phase (up, killed, back): %d/%d/%d; errors %d/%d/%d",
		ls.calls[0].Load(), ls.calls[1].Load(), ls.calls[2].Load(),
		ls.errors[0].Load(), ls.errors[1].Load(), ls.errors[2].Load())
	if n := ls.errors[1].Load(); n == 0 {
		t.Error("no call answered ERROR while Redis was down: the kill was not seen")
	}
	if after := members(t, rdb, listKeys...); !equalMembers(before, after) {
		t.Errorf("the lists after the restart: %v, want %v", after, before)
	}
	for _, exten := range listed {
		settle(t, s, "after the restart", "closed", exten, "BLOCKED")
	}
}

func equalMembers(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestFaultRedisPaused(t *testing.T) {
	t.Parallel()
	redistest.Addr(t)
	_, addr, rdb := privateRedis(t)
	ctx := context.Background()
	rdb.SAdd(ctx, blacklist.Keys{Prefix: "pause:"}.Campaign("closed"), "5511987654321")
	rdb.SAdd(ctx, blacklist.Keys{Prefix: "pause:"}.Campaign("open"), "5511987654321")
	s := startServer(t, "pause:", addr, faultCampaigns)
	for _, campaign := range []string{"closed", "open"} {
		settle(t, s, "before the pause", campaign, "5511987654321", "BLOCKED")
	}

	// Paused far longer than the budget. CLIENT PAUSE ALL holds CLIENT
	// UNPAUSE too: the pause ends by itself.
	const pause = 2 * time.Second
	pauseEnd := time.Now().Add(pause)
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var inPause atomic.Int32
	for i := range 8 {
		campaign := []string{"closed", "open"}[i%2]
		wg.Go(func() {
			if time.Now().Add(faultBudget).After(pauseEnd) {
				return // too late to see the whole budget pass in the pause
			}
			inPause.Add(1)
			res, err := agitest.Run(ctx, agitest.Call{URL: "agi://" + s.addr + "/blacklist?campaign=" + campaign, Extension: "5511987654321"})
			if err != nil {
				t.Errorf("paused Redis, %s: %v", campaign, err)
				return
			}
			wantOnError(t, "paused Redis", campaign, "TIMEOUT", res)
		})
	}
	wg.Wait()
	if inPause.Load() == 0 {
		t.Fatal("no call started in the pause")
	}
	for _, campaign := range []string{"closed", "open"} {
		poll(t, 10*time.Second, campaign+": BLOCKED after the pause", func() bool {
			res := s.call(t, campaign, "5511987654321")
			if res.Vars["BLACKLIST_STATUS"] == "BLOCKED" {
				return true
			}
			wantOnError(t, "Redis paused or just unpaused", campaign, "", res)
			return false
		})
		settle(t, s, "after the pause, an unlisted number", campaign, "5511912345678", "ALLOWED")
	}
}

// runCLI runs the built binary with args and returns its exit code and
// combined output.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(binary(t), args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// infoField returns one field of INFO section.
func infoField(t *testing.T, rdb *redis.Client, section, field string) string {
	t.Helper()
	info, err := rdb.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s: no %s", section, field)
	return ""
}

// capMemory sets maxmemory to what Redis uses now plus headroom, with
// noeviction: writes past it fail with OOM and nothing is evicted.
func capMemory(t *testing.T, rdb *redis.Client, headroom int64) {
	t.Helper()
	ctx := context.Background()
	poll(t, 10*time.Second, "freed memory", func() bool {
		return infoField(t, rdb, "memory", "lazyfree_pending_objects") == "0"
	})
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	var used int64
	fmt.Sscan(infoField(t, rdb, "memory", "used_memory"), &used)
	if err := rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(used+headroom)).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestFaultRedisFullDuringImport(t *testing.T) {
	t.Parallel()
	redistest.Addr(t)
	port := freePort(t)
	startRedis(t, port, t.TempDir(), "--maxmemory-policy", "noeviction")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	keys := blacklist.Keys{Prefix: "full:"}
	spam := keys.Shared("spam")
	for i := range 1000 {
		rdb.SAdd(ctx, spam, fmt.Sprintf("55119%08d", i))
	}
	before := members(t, rdb, spam)[spam]
	keysBefore, _ := rdb.Keys(ctx, "*").Result()
	slices.Sort(keysBefore)

	dir := t.TempDir()
	conf := filepath.Join(dir, "blacklist-agi.yaml")
	writeFile(t, conf, fmt.Sprintf(mainConfig, "full:", addr))
	os.Mkdir(filepath.Join(dir, "campaigns"), 0o755)
	// New numbers: a few MB in a set, far past the headroom.
	const fileNumbers = 30_000
	var file bytes.Buffer
	for i := range fileNumbers {
		fmt.Fprintf(&file, "55219%08d\n", i)
	}
	numbers := filepath.Join(dir, "numbers.txt")
	writeFile(t, numbers, file.String())
	const headroom = 256 << 10

	wantOOM := func(mode string, code int, out string) {
		t.Helper()
		if code == 0 || !strings.Contains(out, spam) || !strings.Contains(out, "out of memory in Redis (maxmemory reached)") {
			t.Errorf("%s into a full Redis: exit %d\n%s\nwant a failure naming %s and saying Redis is out of memory", mode, code, out, spam)
		}
	}

	// Replace: the import fails and the live list is untouched, with no
	// staging key left behind.
	capMemory(t, rdb, headroom)
	code, out := runCLI(t, "import", "--config", conf, "--list", "spam", "--replace", "--batch", "100", numbers)
	wantOOM("replace", code, out)
	if !strings.Contains(out, "left as it was") {
		t.Errorf("replace into a full Redis: %s\nwant it to say the list is left as it was", out)
	}
	if after := members(t, rdb, spam)[spam]; !slices.Equal(after, before) {
		t.Errorf("replace into a full Redis: the list has %d members, want its %d", len(after), len(before))
	}
	keysAfter, _ := rdb.Keys(ctx, "*").Result()
	slices.Sort(keysAfter)
	if !slices.Equal(keysAfter, keysBefore) {
		t.Errorf("replace into a full Redis: keys %v after, %v before", keysAfter, keysBefore)
	}

	// Merge: what was added before Redis filled up stays, and nothing that
	// was there is lost.
	capMemory(t, rdb, headroom)
	code, out = runCLI(t, "import", "--config", conf, "--list", "spam", "--batch", "100", numbers)
	wantOOM("merge", code, out)
	after := members(t, rdb, spam)[spam]
	for _, m := range before {
		if _, found := slices.BinarySearch(after, m); !found {
			t.Fatalf("merge into a full Redis: %s was in the list and is gone", m)
		}
	}
	if !strings.Contains(out, "the numbers sent before stay in the list") {
		t.Errorf("merge into a full Redis: %s\nwant it to say what stays", out)
	}
	if len(after) <= len(before) || len(after) >= len(before)+fileNumbers {
		t.Errorf("merge into a full Redis: %d members, want some of the file's added to the %d", len(after), len(before))
	}
	t.Logf("merge into a full Redis added %d of %d before failing", len(after)-len(before), fileNumbers)
}

func TestFaultRedisReadOnlyAfterFailover(t *testing.T) {
	t.Parallel()
	redistest.Addr(t)
	ctx := context.Background()
	portA, portB := freePort(t), freePort(t)
	addrA, addrB := fmt.Sprintf("127.0.0.1:%d", portA), fmt.Sprintf("127.0.0.1:%d", portB)
	startRedis(t, portA, t.TempDir(), "--repl-diskless-sync-delay", "0")
	startRedis(t, portB, t.TempDir(), "--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1", fmt.Sprint(portA))
	a := redis.NewClient(&redis.Options{Addr: addrA})
	defer a.Close()
	b := redis.NewClient(&redis.Options{Addr: addrB})
	defer b.Close()
	linkUp := func(replica *redis.Client) func() bool {
		return func() bool { return infoField(t, replica, "replication", "master_link_status") == "up" }
	}
	poll(t, 10*time.Second, "B replicating A", linkUp(b))

	keys := blacklist.Keys{Prefix: "ro:"}
	a.SAdd(ctx, keys.Campaign("closed"), "5511987654321")
	a.SAdd(ctx, keys.Shared("opt-out"), "5531977776666")
	if n, err := a.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d replicas, %v", n, err)
	}
	s := startServer(t, "ro:", addrA, faultCampaigns)
	settle(t, s, "before the failover", "closed", "5511987654321", "BLOCKED")

	// The failover: B is promoted, A becomes its replica, and the server
	// still talks to A.
	if err := b.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.Do(ctx, "REPLICAOF", "127.0.0.1", fmt.Sprint(portB)).Err(); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "A replicating B", linkUp(a))

	// Checks are reads: a replica answers them.
	for _, c := range []struct{ campaign, exten, status string }{
		{"closed", "5511987654321", "BLOCKED"},
		{"closed", "5531977776666", "BLOCKED"},
		{"open", "5531977776666", "BLOCKED"},
		{"closed", "5511912345678", "ALLOWED"},
	} {
		settle(t, s, "on the read-only node", c.campaign, c.exten, c.status)
	}

	// An opt-out during a call is a write: the dialplan sees it fail.
	res, err := agitest.Run(ctx, agitest.Call{URL: "agi://" + s.addr + "/optout?campaign=closed&number=5541944443333", Extension: "s"})
	if err != nil || !res.ServerClosed {
		t.Fatalf("optout on the read-only node: %v %+v", err, res)
	}
	if res.Vars["BLACKLIST_STATUS"] != "ERROR" || res.Vars["BLACKLIST_ERROR"] != "REDIS" {
		t.Errorf("optout on the read-only node: vars %v, want ERROR with BLACKLIST_ERROR REDIS", res.Vars)
	}
	s.waitLog(t, "READONLY")

	// The admin API answers 503 and names READONLY.
	body := `{"entries":["5541955556666"],"reason":"opt-out"}`
	resp, err := http.Post("http://"+s.admin+"/api/v1/lists/shared/opt-out/entries", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	msg.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(msg.String(), "READONLY") {
		t.Errorf("admin add on the read-only node: %d %s, want 503 naming READONLY", resp.StatusCode, msg.String())
	}

	// Nothing was written anywhere, and the server still answers.
	for _, rdb := range []*redis.Client{a, b} {
		for _, n := range []string{"5541944443333", "5541955556666"} {
			for _, key := range []string{keys.Campaign("closed"), keys.Shared("opt-out")} {
				if rdb.SIsMember(ctx, key, n).Val() {
					t.Errorf("%s is in %s on %s after a failed write", n, key, rdb.Options().Addr)
				}
			}
		}
	}
	settle(t, s, "after the failed writes", "closed", "5511987654321", "BLOCKED")
}
