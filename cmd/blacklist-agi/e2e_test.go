package main_test

// End-to-end tests: the built binary, real TCP, the real redis-server, and
// calls from the Asterisk emulator.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/blacklist-agi once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "blacklist-agi-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "blacklist-agi")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is a running `blacklist-agi serve` with its log lines on a channel.
type server struct {
	addr  string
	admin string // the admin listener's address
	cmd   *exec.Cmd
	logs  chan string
	dir   string
}

const mainConfig = `listen: "127.0.0.1:0"
key_prefix: %q
campaigns_dir: campaigns
redis:
  addr: %q
log:
  level: debug
admin:
  listen: "127.0.0.1:0"
lists:
  opt-out: { reason: opt-out, all_campaigns: true }
  nao-me-perturbe: { reason: nao-me-perturbe, all_campaigns: true }
  spam: { reason: spam }
  national: { reason: nao-me-perturbe, layout: compact }
defaults:
  # Generous: these tests check verdicts on a loaded 2-core machine with -race.
  timeout: 5s
`

// startServer writes a config folder with the given campaign files and runs serve.
func startServer(t *testing.T, prefix, redisAddr string, campaigns map[string]string) *server {
	t.Helper()
	return startServerConfig(t, fmt.Sprintf(mainConfig, prefix, redisAddr), campaigns)
}

// writeConfig writes mainFile and the campaign files (name to text) into a
// folder of the test's own, and returns the main file's path.
func writeConfig(t *testing.T, mainFile string, campaigns map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "campaigns"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "blacklist-agi.yaml"), mainFile)
	for name, body := range campaigns {
		writeFile(t, filepath.Join(dir, "campaigns", name), body)
	}
	return filepath.Join(dir, "blacklist-agi.yaml")
}

// startServerConfig is startServer with the main file's text given whole.
func startServerConfig(t *testing.T, mainFile string, campaigns map[string]string) *server {
	t.Helper()
	file := writeConfig(t, mainFile, campaigns)
	dir := filepath.Dir(file)
	cmd := exec.Command(binary(t), "serve", "--config", file)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: make(chan string, 10000), dir: dir}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case s.logs <- sc.Text():
			default: // a test that does not read logs must not block the server
			}
		}
		close(s.logs)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	adminLine := s.waitLog(t, "msg=\"admin listening\"")
	if m := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(adminLine); m != nil {
		s.admin = m[1]
	}
	line := s.waitLog(t, "msg=listening")
	m := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no address in %q", line)
	}
	s.addr = m[1]
	return s
}

// waitLog returns the next log line containing substr, failing after 10s.
func (s *server) waitLog(t *testing.T, substr string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-s.logs:
			if !ok {
				t.Fatalf("server exited before logging %q", substr)
			}
			if strings.Contains(line, substr) {
				return line
			}
		case <-timeout:
			t.Fatalf("no log line with %q within 10s", substr)
		}
	}
}

func (s *server) call(t *testing.T, campaign, exten string) agitest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := agitest.Run(ctx, agitest.Call{
		URL:       "agi://" + s.addr + "/blacklist?campaign=" + campaign,
		Extension: exten,
	})
	if err != nil {
		t.Fatalf("call %s %s: %v", campaign, exten, err)
	}
	return res
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEndToEndConcurrentCalls(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	keys := blacklist.Keys{Prefix: prefix}
	ctx := context.Background()
	rdb.SAdd(ctx, keys.Campaign("promo"), "5511987654321", "2001")
	rdb.SAdd(ctx, keys.Shared("spam"), "55900*")
	rdb.SAdd(ctx, keys.Shared("nao-me-perturbe"), "5521988887777")
	rdb.SAdd(ctx, keys.Shared("opt-out"), "5531977776666")

	s := startServer(t, prefix, redistest.Addr(t), map[string]string{
		"promo.yaml":    "lists: [spam]\nhangup_cause: 21\n",
		"cobranca.yaml": "action: goto\ngoto: blacklist-blocked,s,1\nnumber: { area_code: \"21\" }\n",
	})

	type want struct {
		status, list, match string
		cause               int
		gotoTarget          string
	}
	cases := []struct {
		campaign, exten string
		want            want
	}{
		{"promo", "5511987654321", want{"BLOCKED", "promo", "5511987654321", 21, ""}},
		{"promo", "011987654321", want{"BLOCKED", "promo", "5511987654321", 21, ""}},
		{"promo", "2001", want{"BLOCKED", "promo", "2001", 21, ""}},
		{"promo", "+55 900 1234567", want{"BLOCKED", "spam", "55900*", 21, ""}},
		{"promo", "5521988887777", want{"BLOCKED", "nao-me-perturbe", "5521988887777", 21, ""}},
		{"promo", "5511912345678", want{"ALLOWED", "", "", 0, ""}},
		{"cobranca", "988887777", want{"BLOCKED", "nao-me-perturbe", "5521988887777", 0, "blacklist-blocked,s,1"}},
		{"cobranca", "5511987654321", want{"ALLOWED", "", "", 0, ""}},
		{"cobranca", "0 15 31 97777 6666", want{"BLOCKED", "opt-out", "5531977776666", 0, "blacklist-blocked,s,1"}},
		{"unknown", "5531977776666", want{"BLOCKED", "opt-out", "5531977776666", 21, ""}},
	}
	const rounds = 40 // 400 calls, all at once
	var wg sync.WaitGroup
	errs := make(chan string, rounds*len(cases))
	for r := 0; r < rounds; r++ {
		for _, c := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := agitest.Run(ctx, agitest.Call{URL: "agi://" + s.addr + "/blacklist?campaign=" + c.campaign, Extension: c.exten})
				if err != nil {
					errs <- fmt.Sprintf("%s %s: %v", c.campaign, c.exten, err)
					return
				}
				got := want{res.Vars["BLACKLIST_STATUS"], res.Vars["BLACKLIST_LIST"], res.Vars["BLACKLIST_MATCH"], 0, res.Goto}
				if res.HungUp {
					got.cause = res.HangupCause
				}
				if got != c.want || !res.ServerClosed {
					errs <- fmt.Sprintf("%s %s: got %+v (error %q) closed=%v, want %+v", c.campaign, c.exten, got, res.Vars["BLACKLIST_ERROR"], res.ServerClosed, c.want)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d calls wrong", n, rounds*len(cases))
	}
}

func TestEndToEndListEditsAndReload(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	keys := blacklist.Keys{Prefix: prefix}
	ctx := context.Background()
	rdb.SAdd(ctx, keys.Shared("spam"), "5511955554444")
	s := startServer(t, prefix, redistest.Addr(t), map[string]string{"promo.yaml": "lists: []\n"})

	if got := s.call(t, "promo", "5511987654321").Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Fatalf("before SADD: %s", got)
	}
	rdb.SAdd(ctx, keys.Campaign("promo"), "5511987654321")
	if got := s.call(t, "promo", "5511987654321").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Fatalf("after SADD: %s", got)
	}
	rdb.SRem(ctx, keys.Campaign("promo"), "5511987654321")
	if got := s.call(t, "promo", "5511987654321").Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Fatalf("after SREM: %s", got)
	}

	// The campaign starts using the spam list: the file change reloads.
	if got := s.call(t, "promo", "5511955554444").Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Fatalf("spam number before the reload: %s", got)
	}
	writeFile(t, filepath.Join(s.dir, "campaigns", "promo.yaml"), "lists: [spam]\n")
	s.waitLog(t, "campaigns loaded")
	if got := s.call(t, "promo", "5511955554444").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Fatalf("spam number after the reload: %s", got)
	}

	// A bad file is rejected and the last good version keeps serving.
	writeFile(t, filepath.Join(s.dir, "campaigns", "promo.yaml"), "lists: [spam]\non_eror: allow\n")
	s.waitLog(t, "campaign files rejected")
	if got := s.call(t, "promo", "5511955554444").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Fatalf("after a bad edit: %s", got)
	}

	// SIGHUP reloads too (the file is still bad: the same rejection again).
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "campaign files rejected")
	if got := s.call(t, "promo", "5511955554444").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Fatalf("after SIGHUP: %s", got)
	}
}

// redisProcess is a redis-server of the test's own, which the test can stop.
// privateRedis starts a redis-server of the test's own on a free port and
// returns it, its address and a client closed when the test ends.
func privateRedis(t testing.TB) (*redistest.Server, string, *redis.Client) {
	t.Helper()
	rp := redistest.Start(t, 0, t.TempDir())
	rdb := redis.NewClient(&redis.Options{Addr: rp.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rp, rp.Addr(), rdb
}

// startRedis starts redis-server on port with dir as its working folder and
// extra command-line options (redistest.Start).
func startRedis(t testing.TB, port int, dir string, extra ...string) *redistest.Server {
	t.Helper()
	return redistest.Start(t, port, dir, extra...)
}

func freePort(t testing.TB) int { return redistest.FreePort(t) }

func TestEndToEndRedisOutageFollowsOnError(t *testing.T) {
	redistest.Addr(t) // redis-server is installed by the test script
	rp, addr, rdb := privateRedis(t)
	ctx := context.Background()
	keys := blacklist.Keys{Prefix: "e2e:"}
	rdb.SAdd(ctx, keys.Campaign("closed"), "5511987654321")

	s := startServer(t, "e2e:", addr, map[string]string{
		"closed.yaml": "on_error: block\ntimeout: 200ms\n",
		"open.yaml":   "on_error: allow\ntimeout: 200ms\n",
	})
	if got := s.call(t, "closed", "5511987654321").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Fatalf("with Redis up: %s", got)
	}

	// Slow Redis: paused longer than the budget.
	if err := rdb.Do(ctx, "CLIENT", "PAUSE", "3000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	res := s.call(t, "open", "5511912345678")
	if res.Vars["BLACKLIST_STATUS"] != "ERROR" || res.Vars["BLACKLIST_ERROR"] != "TIMEOUT" || res.HungUp {
		t.Errorf("paused Redis, on_error allow: vars %v hung up %v", res.Vars, res.HungUp)
	}
	if res.Duration > 2*time.Second {
		t.Errorf("paused Redis: the call waited %v, past its 200ms budget", res.Duration)
	}
	rdb.Do(ctx, "CLIENT", "UNPAUSE")

	// Redis stopped.
	rp.Stop()
	for _, c := range []struct {
		campaign string
		hungUp   bool
		onError  string
	}{{"closed", true, "block"}, {"open", false, "allow"}} {
		res := s.call(t, c.campaign, "5511912345678")
		if res.Vars["BLACKLIST_STATUS"] != "ERROR" || res.Vars["BLACKLIST_ON_ERROR"] != c.onError || res.HungUp != c.hungUp {
			t.Errorf("Redis down, %s: vars %v hung up %v", c.campaign, res.Vars, res.HungUp)
		}
		if c.hungUp && res.HangupCause != 21 {
			t.Errorf("Redis down, %s: hangup cause %d, want 21", c.campaign, res.HangupCause)
		}
		if res.Duration > 2*time.Second {
			t.Errorf("Redis down, %s: the call waited %v", c.campaign, res.Duration)
		}
	}

	// Redis back (empty, so re-add the entry): checks recover.
	startRedis(t, rp.Port, t.TempDir())
	rdb.SAdd(ctx, keys.Campaign("closed"), "5511987654321")
	var status string
	for i := 0; i < 5 && status != "BLOCKED"; i++ { // a pooled connection may fail once
		status = s.call(t, "closed", "5511987654321").Vars["BLACKLIST_STATUS"]
	}
	if status != "BLOCKED" {
		t.Fatalf("after Redis came back: %s", status)
	}
}

func TestCheckCommand(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	rdb.SAdd(context.Background(), blacklist.Keys{Prefix: prefix}.Shared("nao-me-perturbe"), "5511987654321")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "campaigns"), 0o755)
	writeFile(t, filepath.Join(dir, "blacklist-agi.yaml"), fmt.Sprintf(mainConfig, prefix, redistest.Addr(t)))
	writeFile(t, filepath.Join(dir, "campaigns", "promo.yaml"), "lists: [spam]\n")

	run := func(args ...string) (string, int) {
		cmd := exec.Command(binary(t), append([]string{"check", "--config", filepath.Join(dir, "blacklist-agi.yaml")}, args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := run("--campaign", "promo", "(11) 98765-4321")
	if code != 3 || !strings.Contains(out, "5511987654321") || !strings.Contains(out, "nao-me-perturbe") || !strings.Contains(out, "BLOCKED") {
		t.Errorf("blocked number: exit %d\n%s", code, out)
	}
	out, code = run("--campaign", "promo", "11912345678")
	if code != 0 || !strings.Contains(out, "ALLOWED") {
		t.Errorf("allowed number: exit %d\n%s", code, out)
	}
	out, code = run("--campaign", "promo", "not-a-number")
	if code != 4 || !strings.Contains(out, "not-a-number") {
		t.Errorf("bad number: exit %d\n%s", code, out)
	}

	// --check-config names the bad file and key.
	writeFile(t, filepath.Join(dir, "campaigns", "bad.yaml"), "actoin: hangup\n")
	cmd := exec.Command(binary(t), "serve", "--check-config", "--config", filepath.Join(dir, "blacklist-agi.yaml"))
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "bad.yaml") || !strings.Contains(string(b), "actoin") {
		t.Errorf("check-config with a bad file: err %v\n%s", err, b)
	}
}

// TestEndToEndInCall runs the in-call endpoints with the URLs of
// dialplan-examples/extensions.conf against the built server.
func TestEndToEndInCall(t *testing.T) {
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	s := startServer(t, prefix, redistest.Addr(t), map[string]string{
		"promo.yaml": `lists: [spam]
spam: { list: spam }
no_answer: { enabled: true, attempts: 2, window: 1h, ttl: 7d }
invalid: { enabled: true, causes: [1], list: spam, ttl: 30d }
`,
	})
	run := func(path string, call agitest.Call) map[string]string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		call.URL = "agi://" + s.addr + path
		res, err := agitest.Run(ctx, call)
		if err != nil || !res.ServerClosed {
			t.Fatalf("%s: %v %+v", path, err, res)
		}
		return res.Vars
	}
	status := func(number string) string {
		t.Helper()
		return s.call(t, "promo", number).Vars["BLACKLIST_STATUS"]
	}

	// [campaign-ivr]: press 9 (the IVR runs on the called channel: EXTEN is s).
	if v := run("/optout?campaign=promo&number=5511987654321", agitest.Call{Extension: "s"}); v["BLACKLIST_STATUS"] != "ADDED" {
		t.Fatalf("optout: %v", v)
	}
	if got := status("5511987654321"); got != "BLOCKED" {
		t.Fatalf("the next call after the opt-out: %s", got)
	}
	// [agent-disposition]: spam.
	if v := run("/spam?campaign=promo&number=5511955554444", agitest.Call{Extension: "s"}); v["BLACKLIST_LIST"] != "spam" {
		t.Fatalf("spam: %v", v)
	}
	if got := status("5511955554444"); got != "BLOCKED" {
		t.Fatalf("after the spam mark: %s", got)
	}
	// [blacklist-report]: two unanswered attempts block the number.
	report := func(number, dialStatus string, cause int, uniqueid string) string {
		path := fmt.Sprintf("/report?campaign=promo&number=%s&status=%s&cause=%d", number, dialStatus, cause)
		return run(path, agitest.Call{Extension: "h", UniqueID: uniqueid})["BLACKLIST_REPORT"]
	}
	if got := report("5511912345678", "NOANSWER", 19, "u1"); got != "COUNTED" {
		t.Fatalf("first no-answer: %s", got)
	}
	if got := report("5511912345678", "ANSWER", 16, "u2"); got != "RESET" {
		t.Fatalf("answer: %s", got)
	}
	if got := report("5511912345678", "NOANSWER", 19, "u3"); got != "COUNTED" {
		t.Fatalf("no-answer after the reset: %s", got)
	}
	if got := status("5511912345678"); got != "ALLOWED" {
		t.Fatalf("one attempt after the reset: %s", got)
	}
	if got := report("5511912345678", "NOANSWER", 19, "u4"); got != "ADDED" {
		t.Fatalf("second no-answer: %s", got)
	}
	if got := status("5511912345678"); got != "BLOCKED" {
		t.Fatalf("after two unanswered attempts: %s", got)
	}
	// An unallocated number (cause 1).
	if got := report("5521911112222", "CHANUNAVAIL", 1, "u5"); got != "ADDED" {
		t.Fatalf("cause 1: %s", got)
	}
	// A missing DIALSTATUS: a clear log line, no change.
	if got := report("5521933334444", "", 0, "u6"); got != "IGNORED" {
		t.Fatalf("missing status: %s", got)
	}
	s.waitLog(t, "report ignored")
	if got := status("5521933334444"); got != "ALLOWED" {
		t.Fatalf("after an ignored report: %s", got)
	}
}
