package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
	"github.com/blacklist-agi/blacklist-agi/manage"
)

// Tokens of the fixtures that require them.
const (
	readToken  = "read-token-0123456789"
	writeToken = "write-token-9876543210"
)

// fixture is the API over the test Redis, with a key prefix of its own,
// served on a real TCP listener.
type fixture struct {
	t     *testing.T
	rdb   *redis.Client
	cfg   *config.Config
	keys  blacklist.Keys
	api   *api
	srv   *httptest.Server
	token string // sent with every request by call and do; "" sends none

	ready atomic.Pointer[error]
	stats *fakeStats
	logs  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newFixture serves the API with the campaign promo (own list, shared
// lists spam and optout, a dialer queue) and the compact all-campaigns
// list nao-me-perturbe. edit may change the options before New.
func newFixture(t *testing.T, edit func(*fixture, *Options)) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.KeyPrefix = redistest.Prefix(t, rdb)
	cfg.Lists = map[string]config.SharedList{
		"nao-me-perturbe": {Reason: "nao-me-perturbe", AllCampaigns: true, Layout: blacklist.LayoutCompact},
		"spam":            {Reason: "spam", Layout: blacklist.LayoutPlain},
		"optout":          {Reason: "opt-out", Layout: blacklist.LayoutPlain},
	}
	cfg.Defaults.Lists = []string{}
	promo := cfg.DefaultCampaign("promo")
	promo.File = "promo.yaml"
	promo.Lists = []string{"spam", "nao-me-perturbe"}
	promo.ContactsKey, promo.ContactsType, promo.ContactsFormat = cfg.KeyPrefix+"dialer:queue:promo", config.ContactsList, config.FormatCanonical
	campaigns := map[string]*config.Campaign{"promo": promo}

	keys := blacklist.Keys{Prefix: cfg.KeyPrefix}
	store := blacklist.NewStore(rdb, keys)
	mgr := manage.New(cfg, campaigns, store)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := guard.New(cfg, blacklist.NewChecker(rdb), store, logger)
	g.SetCampaigns(campaigns)

	f := &fixture{t: t, rdb: rdb, cfg: cfg, keys: keys, stats: &fakeStats{}, logs: logs}
	opt := Options{
		Manager: func() *manage.Manager { return mgr },
		Checker: g.Check,
		Redis:   rdb,
		Keys:    keys,
		Stats:   f.stats,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "# TYPE blacklist_up gauge\nblacklist_up 1\n")
		}),
		Ready: func(context.Context) error {
			if err := f.ready.Load(); err != nil {
				return *err
			}
			return nil
		},
		ConfigStatus: func() any {
			return map[string]any{"file": "blacklist-agi.yaml", "campaigns": []string{"promo"}}
		},
		TempDir: t.TempDir(),
		Logger:  logger,
	}
	if edit != nil {
		edit(f, &opt)
	}
	f.api = newAPI(opt)
	f.srv = httptest.NewServer(f.api)
	t.Cleanup(f.srv.Close)
	return f
}

// reply is an answer of the API.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the JSON body into v.
func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, want JSON; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errorMessage returns the "error" of a JSON error answer, failing the test
// when the answer is not one.
func (r reply) errorMessage(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.decode(t, &e)
	if e.Error == "" {
		t.Fatalf("status %d with no error message: %s", r.status, r.body)
	}
	return e.Error
}

// do sends a request with the fixture's token and returns the answer.
func (f *fixture) do(method, path, contentType string, body io.Reader, header ...string) reply {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// call sends v as a JSON body (none when nil).
func (f *fixture) call(method, path string, v any) reply {
	f.t.Helper()
	if v == nil {
		return f.do(method, path, "", nil)
	}
	b, err := json.Marshal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.do(method, path, "application/json", bytes.NewReader(b))
}

// want fails the test when the answer's status is not status.
func (r reply) want(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

func (f *fixture) sadd(key string, members ...any) {
	f.t.Helper()
	if err := f.rdb.SAdd(context.Background(), key, members...).Err(); err != nil {
		f.t.Fatal(err)
	}
}

// fakeStats is a StatsSource that records what it was asked.
type fakeStats struct {
	mu        sync.Mutex
	campaigns []string
	since     time.Time
	until     time.Time
	query     BlockedQuery
	err       error
}

func (s *fakeStats) Stats(ctx context.Context, campaigns []string, since, until time.Time) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.campaigns, s.since, s.until = campaigns, since, until
	if s.err != nil {
		return nil, s.err
	}
	return []map[string]any{{"campaign": "promo", "checked": 10, "blocked": 3}}, nil
}

func (s *fakeStats) Blocked(ctx context.Context, q BlockedQuery) (any, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.query = q
	if s.err != nil {
		return nil, "", s.err
	}
	if q.Before != "" {
		return []map[string]any(nil), "", nil
	}
	return []map[string]any{{"campaign": "promo", "number": "5511987654321", "list": "spam"}}, "1700000000000-0", nil
}
