package main_test

// Faults of the server process itself, against the built binary over real
// TCP and a real redis-server: SIGTERM under load drains the calls in
// flight, SIGHUP reloads what the folder watcher cannot see, a campaign
// folder that vanishes or becomes unreadable keeps the last good campaigns,
// and a crash (SIGKILL) and restart loses no list entry.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// withLimits returns mainConfig for prefix and redisAddr with a limits
// section made of the given "name: value" lines.
func withLimits(prefix, redisAddr string, limits ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, mainConfig, prefix, redisAddr)
	b.WriteString("limits:\n")
	for _, l := range limits {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// metric returns the value of the sample of the metric family name whose
// labels include every "name=value" pair in labels (0 if there is none),
// read from the server's /metrics.
func (s *server) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	code, body := get(t, "http://"+s.admin+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	var sum float64
	for _, m := range families[name].GetMetric() {
		have := map[string]bool{}
		for _, l := range m.GetLabel() {
			have[l.GetName()+"="+l.GetValue()] = true
		}
		match := true
		for _, l := range labels {
			match = match && have[l]
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// configStatus is GET /api/v1/config's view of the campaign reloads.
type configStatus struct {
	OK         bool     `json:"ok"`
	Error      string   `json:"error"`
	Campaigns  []string `json:"campaigns"`
	LastReload string   `json:"last_reload"`
}

func (s *server) configStatus(t *testing.T) configStatus {
	t.Helper()
	code, body := get(t, "http://"+s.admin+"/api/v1/config")
	if code != http.StatusOK {
		t.Fatalf("/api/v1/config: %d %s", code, body)
	}
	var st configStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/api/v1/config: %v\n%s", err, body)
	}
	return st
}

// heldConn is the Asterisk end of a call whose replies wait: once the
// environment block (envLeft bytes) is written, the next write, the reply to
// the server's first command, sends on held and waits for release. The
// server is then in the middle of the session, its verdict half sent.
type heldConn struct {
	net.Conn
	envLeft  int
	held     chan<- struct{}
	release  <-chan struct{}
	signaled bool
}

func (c *heldConn) Write(p []byte) (int, error) {
	if c.envLeft > 0 {
		c.envLeft -= len(p)
		return c.Conn.Write(p)
	}
	if !c.signaled {
		c.signaled = true
		c.held <- struct{}{}
		<-c.release
	}
	return c.Conn.Write(p)
}

// heldCall dials addr and runs call over a heldConn in a goroutine; the
// result arrives on the returned channel.
func heldCall(t *testing.T, addr string, call agitest.Call, held chan<- struct{}, release <-chan struct{}) <-chan agitest.Result {
	t.Helper()
	// A fixed unique ID and thread ID fix the block's length.
	call.UniqueID = fmt.Sprintf("held-%d", time.Now().UnixNano())
	call.ThreadID = 1
	call.Timeout = 30 * time.Second
	env := call.EnvBlock()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan agitest.Result, 1)
	go func() {
		res, err := agitest.RunConn(context.Background(), &heldConn{Conn: c, envLeft: len(env), held: held, release: release}, call)
		if err != nil {
			res.TimedOut = true
		}
		out <- res
	}()
	return out
}

// refused reports whether a connection to addr is refused: the listener is
// closed. A connection that is accepted is closed at once.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	c.Close()
	return false
}

// logsUntilExit collects the server's log lines until it exits.
func (s *server) logsUntilExit() <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var lines []string
		for l := range s.logs {
			lines = append(lines, l)
		}
		out <- lines
	}()
	return out
}

const (
	blockedNumber = "5511987654321"
	allowedNumber = "5511912345678"
)

// TestEndToEndSIGTERMDrainsCallsInFlight holds 40 calls in the middle of
// their sessions (Asterisk's reply to the first command waits) while other
// calls keep coming, sends SIGTERM, and checks that the listener is closed at
// once, that the process waits for the held calls, that each of them ends
// with its full verdict once released, and that the process then exits 0
// well within limits.shutdown_timeout. No call hangs, and no blocked number
// is ever allowed, whatever the moment the load's calls arrived.
func TestEndToEndSIGTERMDrainsCallsInFlight(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	rdb.SAdd(context.Background(), blacklist.Keys{Prefix: prefix}.Campaign("promo"), blockedNumber)
	const shutdownTimeout = 10 * time.Second
	s := startServerConfig(t, withLimits(prefix, redistest.Addr(t),
		"shutdown_timeout: "+shutdownTimeout.String(), "command_timeout: 20s"),
		map[string]string{"promo.yaml": "hangup_cause: 21\n"})
	url := "agi://" + s.addr + "/blacklist?campaign=promo"

	// The load: calls one after the other on 4 connections until stopLoad.
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	var mu sync.Mutex
	loadResults := map[string]int{}
	for i := range 4 {
		load.Go(func() {
			number := []string{blockedNumber, allowedNumber}[i%2]
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				res, err := agitest.Run(context.Background(), agitest.Call{URL: url, Extension: number, Timeout: 5 * time.Second})
				status := res.Vars["BLACKLIST_STATUS"]
				mu.Lock()
				switch {
				case err != nil || res.TimedOut:
					loadResults["hung"]++
				case number == blockedNumber && status == "ALLOWED":
					loadResults["blocked number allowed"]++
				case status == "":
					loadResults["no verdict ("+res.AGIStatus+")"]++
				default:
					loadResults[status]++
				}
				mu.Unlock()
			}
		})
	}

	const n = 40
	held := make(chan struct{}, n)
	release := make(chan struct{})
	numbers := make([]string, n)
	results := make([]<-chan agitest.Result, n)
	for i := range n {
		numbers[i] = []string{blockedNumber, allowedNumber}[i%2]
		results[i] = heldCall(t, s.addr, agitest.Call{URL: url, Extension: numbers[i]}, held, release)
	}
	for range n {
		select {
		case <-held:
		case <-time.After(10 * time.Second):
			t.Fatal("the calls did not all reach their first command within 10s")
		}
	}

	sent := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "shutting down")
	poll(t, 5*time.Second, "new connections refused after SIGTERM", func() bool { return refused(s.addr) })
	close(stopLoad)
	load.Wait()

	logs := s.logsUntilExit()
	select {
	case lines := <-logs:
		t.Fatalf("the server exited with %d calls held:\n%s", n, strings.Join(lines, "\n"))
	default:
	}
	close(release)
	for i, ch := range results {
		res := <-ch
		want := map[bool]string{true: "BLOCKED", false: "ALLOWED"}[numbers[i] == blockedNumber]
		if got := res.Vars["BLACKLIST_STATUS"]; got != want || res.TimedOut || !res.ServerClosed {
			t.Errorf("held call %d (%s): status %q, want %q (timed out %v, server closed %v)", i, numbers[i], got, want, res.TimedOut, res.ServerClosed)
		}
		if want == "BLOCKED" && (!res.HungUp || res.HangupCause != 21) {
			t.Errorf("held call %d: hung up %v cause %d, want hung up with 21", i, res.HungUp, res.HangupCause)
		}
	}
	var lines []string
	select {
	case lines = <-logs:
	case <-time.After(shutdownTimeout):
		t.Fatal("the server did not exit after its calls ended")
	}
	took := time.Since(sent)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if took >= shutdownTimeout {
		t.Errorf("exit %v after SIGTERM: not within limits.shutdown_timeout %v", took, shutdownTimeout)
	}
	if joined := strings.Join(lines, "\n"); !strings.Contains(joined, "msg=stopped") || strings.Contains(joined, "shutdown deadline reached") {
		t.Errorf("the log does not show a clean drain:\n%s", joined)
	}
	mu.Lock()
	defer mu.Unlock()
	if loadResults["hung"] > 0 || loadResults["blocked number allowed"] > 0 || loadResults["BLOCKED"] == 0 {
		t.Errorf("calls during the shutdown: %v", loadResults)
	}
	t.Logf("SIGTERM to exit: %v; %d held calls drained; the load's calls: %v", took.Round(time.Millisecond), n, loadResults)
}

// TestEndToEndShutdownTimeoutClosesStuckSessions holds a call whose
// Asterisk never answers: SIGTERM waits limits.shutdown_timeout for it,
// then closes it, logs so and exits 0. The call ends without a full verdict,
// which the dialplan treats as a failed check.
func TestEndToEndShutdownTimeoutClosesStuckSessions(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	const shutdownTimeout = 500 * time.Millisecond
	s := startServerConfig(t, withLimits(prefix, redistest.Addr(t),
		"shutdown_timeout: "+shutdownTimeout.String(), "command_timeout: 20s"),
		map[string]string{"promo.yaml": "lists: []\n"})
	held := make(chan struct{}, 1)
	release := make(chan struct{})
	result := heldCall(t, s.addr, agitest.Call{URL: "agi://" + s.addr + "/blacklist?campaign=promo"}, held, release)
	<-held
	sent := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var lines []string
	select {
	case lines = <-s.logsUntilExit():
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not exit within 10s of SIGTERM")
	}
	took := time.Since(sent)
	close(release)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if took < shutdownTimeout || took > shutdownTimeout+5*time.Second {
		t.Errorf("exit %v after SIGTERM, want just after limits.shutdown_timeout %v", took, shutdownTimeout)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "shutdown deadline reached") {
		t.Errorf("no log of the shutdown deadline:\n%s", strings.Join(lines, "\n"))
	}
	if res := <-result; !res.ServerClosed || res.TimedOut {
		t.Errorf("the stuck call: server closed %v, timed out %v", res.ServerClosed, res.TimedOut)
	}
}

// TestEndToEndSIGHUPReloads changes a campaign the folder watcher cannot
// see (its file is a symlink to a file in another folder, edited there) and
// checks that only SIGHUP brings the change in.
func TestEndToEndSIGHUPReloads(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	keys := blacklist.Keys{Prefix: prefix}
	rdb.SAdd(context.Background(), keys.Shared("spam"), "5511955554444")
	s := startServerConfig(t, fmt.Sprintf(mainConfig, prefix, redistest.Addr(t)), nil)
	target := filepath.Join(t.TempDir(), "promo.yaml")
	writeFile(t, target, "lists: []\n")
	if err := os.Symlink(target, filepath.Join(s.dir, "campaigns", "promo.yaml")); err != nil {
		t.Fatal(err)
	}
	poll(t, 5*time.Second, "the new symlink loaded by the watcher", func() bool {
		return len(s.configStatus(t).Campaigns) == 1
	})
	if got := s.call(t, "promo", "5511955554444").Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Fatalf("before the edit: %s", got)
	}
	reloads := s.metric(t, "blacklist_agi_config_reloads_total", "result=ok")

	writeFile(t, target, "lists: [spam]\n") // outside the watched folder
	if got := s.call(t, "promo", "5511955554444").Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Fatalf("the edit was seen without SIGHUP: %s", got)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	poll(t, 5*time.Second, "a reload after SIGHUP", func() bool {
		return s.metric(t, "blacklist_agi_config_reloads_total", "result=ok") == reloads+1
	})
	if st := s.configStatus(t); !st.OK {
		t.Errorf("/api/v1/config after SIGHUP: %+v", st)
	}
	if got := s.call(t, "promo", "5511955554444").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Fatalf("after SIGHUP: %s", got)
	}
}

// TestEndToEndCampaignFolderLost takes the campaign folder away (renamed,
// then unreadable) and checks that the calls keep following the last good
// campaigns, that the failure is logged and shown by /api/v1/config, and
// that the folder's return is picked up.
func TestEndToEndCampaignFolderLost(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	keys := blacklist.Keys{Prefix: prefix}
	rdb.SAdd(context.Background(), keys.Shared("spam"), "5511955554444")
	// Only promo's settings check the spam list: a call of an unknown
	// campaign would be allowed.
	s := startServerConfig(t, fmt.Sprintf(mainConfig, prefix, redistest.Addr(t)),
		map[string]string{"promo.yaml": "lists: [spam]\nhangup_cause: 17\n"})
	dir := filepath.Join(s.dir, "campaigns")
	away := filepath.Join(s.dir, "campaigns.away")
	stillPromo := func(when string) {
		t.Helper()
		res := s.call(t, "promo", "5511955554444")
		if res.Vars["BLACKLIST_STATUS"] != "BLOCKED" || res.Vars["BLACKLIST_LIST"] != "spam" || res.HangupCause != 17 {
			t.Fatalf("%s: %v cause %d, want promo's settings (spam list, cause 17)", when, res.Vars, res.HangupCause)
		}
	}
	lost := func(when, errText string) {
		t.Helper()
		s.waitLog(t, "campaign files rejected")
		poll(t, 5*time.Second, when+": /api/v1/config ok=false", func() bool { return !s.configStatus(t).OK })
		if st := s.configStatus(t); !strings.Contains(st.Error, errText) || len(st.Campaigns) != 1 {
			t.Errorf("%s: /api/v1/config %+v, want the error %q and promo still in force", when, st, errText)
		}
		stillPromo(when)
	}
	back := func(when string) {
		t.Helper()
		poll(t, 5*time.Second, when+": /api/v1/config ok=true", func() bool { return s.configStatus(t).OK })
		stillPromo(when)
	}
	stillPromo("at start")

	if err := os.Rename(dir, away); err != nil {
		t.Fatal(err)
	}
	lost("folder renamed away", "no such file or directory")
	if err := os.Rename(away, dir); err != nil {
		t.Fatal(err)
	}
	back("folder back")

	// Unreadable: chmod 000, unless the test runs as root, which reads it
	// anyway; then the folder's path holds a file instead.
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		s.cmd.Process.Signal(syscall.SIGHUP) // the watcher ignores a chmod
		lost("folder unreadable", "permission denied")
		os.Chmod(dir, 0o755)
		s.cmd.Process.Signal(syscall.SIGHUP)
	} else {
		if err := os.Rename(dir, away); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "not a folder\n")
		lost("a file instead of the folder", "not a directory")
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(away, dir); err != nil {
			t.Fatal(err)
		}
	}
	back("folder readable again")
}

// TestEndToEndCrashRestartLosesNothing adds entries by the CLI, the admin
// API and in-call endpoints, kills the server with SIGKILL while calls wait
// on a paused Redis, and starts a new server on the same Redis: every entry
// still blocks. The calls in flight at the kill got no BLACKLIST_STATUS,
// which the dialplan treats as a failed check.
func TestEndToEndCrashRestartLosesNothing(t *testing.T) {
	t.Parallel()
	redistest.Addr(t)
	_, addr, rdb := privateRedis(t)
	ctx := context.Background()
	mainFile := fmt.Sprintf(mainConfig, "crash:", addr)
	campaigns := map[string]string{"promo.yaml": "lists: [spam]\nspam: { list: spam }\n"}
	s := startServerConfig(t, mainFile, campaigns)

	add := exec.Command(binary(t), "add", "--config", filepath.Join(s.dir, "blacklist-agi.yaml"),
		"--campaign", "promo", "5511900000001", "--reason", "crash-test")
	add.Dir = s.dir
	out, err := add.CombinedOutput()
	if err != nil {
		t.Fatalf("CLI add: %v\n%s", err, out)
	}
	body := `{"entries":["5511900000002"],"reason":"crash-test"}`
	resp, err := http.Post("http://"+s.admin+"/api/v1/lists/campaign/promo/entries", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("admin API add: %s", resp.Status)
	}
	for _, path := range []string{"/optout?campaign=promo&number=5511900000003", "/spam?campaign=promo&number=5511900000004"} {
		res, err := agitest.Run(ctx, agitest.Call{URL: "agi://" + s.addr + path, Extension: "s"})
		if err != nil || !strings.HasPrefix(res.Vars["BLACKLIST_STATUS"], "ADDED") {
			t.Fatalf("%s: %v %v", path, err, res.Vars)
		}
	}
	entries := []string{"5511900000001", "5511900000002", "5511900000003", "5511900000004"}
	for _, e := range entries {
		if got := s.call(t, "promo", e).Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
			t.Fatalf("%s before the crash: %s", e, got)
		}
	}

	// Calls in flight at the kill: Redis is paused, so they wait in the check.
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", "5000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	const inFlight = 5
	results := make(chan agitest.Result, inFlight)
	for range inFlight {
		go func() {
			res, _ := agitest.Run(ctx, agitest.Call{URL: "agi://" + s.addr + "/blacklist?campaign=promo", Extension: entries[0]})
			results <- res
		}()
	}
	poll(t, 5*time.Second, "calls in flight", func() bool {
		return s.metric(t, "blacklist_agi_sessions_in_flight") == inFlight
	})
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for range inFlight {
		res := <-results
		if res.Vars["BLACKLIST_STATUS"] != "" || !res.ServerClosed || res.TimedOut {
			t.Errorf("a call in flight at the kill: %s vars %v", res.AGIStatus, res.Vars)
		}
	}
	s.cmd.Wait()
	rdb.Do(ctx, "CLIENT", "UNPAUSE")

	s2 := startServerConfig(t, mainFile, campaigns)
	for _, e := range entries {
		if got := s2.call(t, "promo", e).Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
			t.Errorf("%s after the restart: %s", e, got)
		}
	}
	if got := s2.call(t, "promo", allowedNumber).Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Errorf("an allowed number after the restart: %s", got)
	}
}
