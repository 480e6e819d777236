package main_test

// The list-management commands as a supervisor runs them: the built binary,
// its output and exit codes, against the real redis-server.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// cli runs the binary against one config folder.
type cli struct {
	t      *testing.T
	config string
	dir    string
	rdb    *redis.Client
	keys   blacklist.Keys
}

func newCLI(t *testing.T, campaigns map[string]string) *cli {
	t.Helper()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "campaigns"), 0o755)
	writeFile(t, filepath.Join(dir, "blacklist-agi.yaml"), fmt.Sprintf(mainConfig, prefix, redistest.Addr(t)))
	for name, body := range campaigns {
		writeFile(t, filepath.Join(dir, "campaigns", name), body)
	}
	return &cli{t: t, config: filepath.Join(dir, "blacklist-agi.yaml"), dir: dir, rdb: rdb, keys: blacklist.Keys{Prefix: prefix}}
}

// run runs a command with stdin and returns stdout, stderr and the exit code.
func (c *cli) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	cmd := exec.Command(binary(c.t), append([]string{args[0], "--config", c.config}, args[1:]...)...)
	cmd.Dir = c.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// must runs a command that must exit with code, and returns its stdout.
func (c *cli) must(code int, args ...string) string {
	c.t.Helper()
	out, errOut, got := c.run("", args...)
	if got != code {
		c.t.Fatalf("blacklist-agi %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, out, errOut)
	}
	return out
}

func contains(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, text)
		}
	}
}

func TestCLIAddCheckRemove(t *testing.T) {
	c := newCLI(t, map[string]string{"promo.yaml": "lists: [spam]\nnumber: { area_code: \"11\" }\ncontacts_key: queue:promo\ncontacts_type: list\ncontacts_format: national\n"})
	ctx := context.Background()
	c.rdb.RPush(ctx, "queue:promo", "11987654321", "11912345678", "11987654321")
	t.Cleanup(func() { c.rdb.Del(ctx, "queue:promo") })
	sub := c.rdb.Subscribe(ctx, c.keys.Events())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription is live
		t.Fatal(err)
	}

	out, errOut, code := c.run("", "add", "--campaign", "promo", "(11) 98765-4321", "not a number", "2001",
		"--reason", "consent-revoked", "--note", "ticket 4521", "--by", "maria")
	if code != 5 {
		t.Fatalf("add with one bad entry: exit %d, want 5\n%s%s", code, out, errOut)
	}
	contains(t, "add output", out, "added    5511987654321", "added    2001", "1 refused", "promo: 2")
	contains(t, "add stderr", errOut, `"not a number"`)
	if n := c.rdb.LLen(ctx, "queue:promo").Val(); n != 1 {
		t.Errorf("queue holds %d contacts after add, want 1 (both copies of the number removed)", n)
	}
	select {
	case msg := <-sub.Channel():
		contains(t, "event", msg.Payload, `"op":"add"`, `"member":"5511987654321"`, `"reason":"consent-revoked"`)
	case <-time.After(5 * time.Second):
		t.Fatal("no event published")
	}

	out = c.must(3, "check", "--campaign", "promo", "987654321")
	contains(t, "check", out, "BLOCKED", "entry:    5511987654321", "reason:   consent-revoked", "maria", "ticket 4521")

	out = c.must(0, "add", "--campaign", "promo", "11987654321", "--reason", "consent-revoked")
	contains(t, "second add", out, "present  5511987654321")

	out = c.must(0, "rm", "--campaign", "promo", "11987654321", "5511900000000")
	contains(t, "rm", out, "removed  5511987654321", "absent   5511900000000")
	c.must(0, "check", "--campaign", "promo", "11987654321")

	audit := c.rdb.XRange(ctx, blacklist.AuditKey(c.keys.Campaign("promo")), "-", "+").Val()
	if len(audit) < 3 {
		t.Fatalf("audit holds %d records, want add, add, remove", len(audit))
	}
	if got := audit[0].Values["by"]; got != "maria" {
		t.Errorf("first audit record by %v, want maria", got)
	}
}

func TestCLIExpiry(t *testing.T) {
	c := newCLI(t, map[string]string{"promo.yaml": "lists: [spam]\n"})
	ctx := context.Background()
	c.must(0, "add", "--list", "spam", "5511955554444", "--ttl", "30d")
	c.must(3, "check", "--campaign", "promo", "5511955554444")
	// Time passes: move the expiry into the past.
	key := c.keys.Shared("spam")
	c.rdb.ZAdd(ctx, blacklist.ExpiryKey(key), redis.Z{Score: float64(time.Now().Add(-time.Minute).Unix()), Member: "5511955554444"})
	c.must(0, "check", "--campaign", "promo", "5511955554444")
	out := c.must(0, "sweep")
	contains(t, "sweep", out, "1 expired entries removed")
	if c.rdb.SIsMember(ctx, key, "5511955554444").Val() {
		t.Error("expired entry still in the set after sweep")
	}
	_, errOut, code := c.run("", "add", "--list", "spam", "5511955554444", "--until", "2001-01-01")
	if code != 1 || !strings.Contains(errOut, "already past") {
		t.Errorf("--until in the past: exit %d, %s", code, errOut)
	}
}

func TestCLIListsLsCountSearch(t *testing.T) {
	c := newCLI(t, map[string]string{"promo.yaml": "lists: [spam]\n"})
	c.must(0, "add", "--list", "spam", "5511955554444", "5511955554445", "5521900001111", "55900*")
	out := c.must(0, "lists")
	contains(t, "lists", out, "spam", "promo", "4")
	if got := strings.TrimSpace(c.must(0, "count", "--list", "spam")); got != "4" {
		t.Errorf("count = %q, want 4", got)
	}
	out = c.must(0, "ls", "--list", "spam", "--all")
	for _, m := range []string{"5511955554444", "5511955554445", "5521900001111", "55900*"} {
		contains(t, "ls --all", out, m)
	}
	out = c.must(0, "search", "--list", "spam", "551195555*")
	contains(t, "search prefix", out, "5511955554444", "5511955554445")
	if strings.Contains(out, "5521900001111") {
		t.Errorf("search 551195555* found 5521900001111:\n%s", out)
	}
	out = c.must(0, "search", "--list", "spam", "(11) 95555-4444")
	contains(t, "search number", out, "5511955554444")
	_, errOut, code := c.run("", "count", "--list", "nosuch")
	if code != 1 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("unknown list: exit %d, %s", code, errOut)
	}
}

func TestCLIImportExportScrub(t *testing.T) {
	c := newCLI(t, map[string]string{"promo.yaml": "lists: [spam]\n"})
	// A gzipped CSV with a header, a bad row and a duplicate.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprint(zw, "nome;telefone\nAna;(11) 98765-4321\nBeto;abc\nCaio;5521988887777\nAna;11987654321\n")
	zw.Close()
	file := filepath.Join(c.dir, "optouts.csv.gz")
	os.WriteFile(file, gz.Bytes(), 0o644)
	out, errOut, code := c.run("", "import", "--list", "spam", "--column", "telefone", file)
	if code != 5 {
		t.Fatalf("import with a bad row: exit %d\n%s%s", code, out, errOut)
	}
	contains(t, "import", out, "read 4 rows", "2 added", "1 refused")
	rejects, err := os.ReadFile(file + ".rejects.csv")
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "rejects", string(rejects), "3,abc")

	// Replace: the list becomes exactly the new file.
	plain := filepath.Join(c.dir, "new.txt")
	os.WriteFile(plain, []byte("5531977776666\n5531977776667\n"), 0o644)
	c.must(0, "import", "--list", "spam", "--replace", plain)
	if got := strings.TrimSpace(c.must(0, "count", "--list", "spam")); got != "2" {
		t.Errorf("count after replace = %s, want 2", got)
	}

	c.must(0, "add", "--list", "spam", "5511987654321", "--reason", "spam", "--note", "robocall")
	exported := filepath.Join(c.dir, "spam.csv")
	c.must(0, "export", "--list", "spam", "-o", exported)
	f, _ := os.Open(exported)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 4 || strings.Join(rows[0], ",") != "member,reason,source,added_by,added_at,expires_at,note" {
		t.Fatalf("export: %v %q", err, rows)
	}
	var meta []string
	for _, r := range rows[1:] {
		if r[0] == "5511987654321" {
			meta = r
		}
	}
	if meta == nil || meta[1] != "spam" || meta[6] != "robocall" {
		t.Errorf("exported metadata of 5511987654321: %q", meta)
	}

	leads := filepath.Join(c.dir, "leads.csv")
	os.WriteFile(leads, []byte("id,name,phone\n1,Ana,5531977776666\n2,Beto,11912345678\n3,Caio,xyz\n4,Duda,(11) 98765-4321\n"), 0o644)
	out = c.must(0, "scrub", "--campaign", "promo", "--column", "phone", leads)
	contains(t, "scrub", out, "4 rows read", "1 kept", "3 removed")
	clean, _ := os.ReadFile(filepath.Join(c.dir, "leads.clean.csv"))
	if got := string(clean); got != "id,name,phone\n2,Beto,11912345678\n" {
		t.Errorf("clean file:\n%s", got)
	}
	removed, _ := os.ReadFile(filepath.Join(c.dir, "leads.removed.csv"))
	contains(t, "removed report", string(removed), "5531977776666", "spam", "xyz")
}

func TestCLICompactList(t *testing.T) {
	c := newCLI(t, map[string]string{"promo.yaml": "lists: [national]\n"})
	file := filepath.Join(c.dir, "nmp.txt")
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "55119%08d\n", i*7)
	}
	b.WriteString("2001\n")
	os.WriteFile(file, []byte(b.String()), 0o644)
	out, _, code := c.run("", "import", "--list", "national", file)
	if code != 5 {
		t.Fatalf("import with an extension into a compact list: exit %d\n%s", code, out)
	}
	contains(t, "compact import", out, "5000 added", "1 refused")
	if got := strings.TrimSpace(c.must(0, "count", "--list", "national")); got != "5000" {
		t.Errorf("count = %s, want 5000", got)
	}
	c.must(3, "check", "--campaign", "promo", "55119"+fmt.Sprintf("%08d", 49*7))
	c.must(0, "check", "--campaign", "promo", "55119"+fmt.Sprintf("%08d", 49*7+1))

	// Replace with a single number: the old version stops blocking.
	os.WriteFile(file, []byte("5521988887777\n"), 0o644)
	c.must(0, "import", "--list", "national", "--replace", file)
	c.must(0, "check", "--campaign", "promo", "55119"+fmt.Sprintf("%08d", 49*7))
	c.must(3, "check", "--campaign", "promo", "5521988887777")
	out = c.must(0, "add", "--list", "national", "5531977776666")
	contains(t, "compact add", out, "added    5531977776666")
	c.must(3, "check", "--campaign", "promo", "5531977776666")
	_, errOut, code := c.run("", "add", "--list", "national", "55900*")
	if code != 5 || !strings.Contains(errOut, "compact") {
		t.Errorf("prefix entry into a compact list: exit %d, %s", code, errOut)
	}
}
