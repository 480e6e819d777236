package webui

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// get sends a request to a test server of Handler and returns the answer
// with its body, without following redirects.
func get(t *testing.T, srv *httptest.Server, method, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return resp, string(b)
}

func newServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	return srv
}

// TestAssets checks that every file is served with its type, the security
// headers, an ETag and a revalidating Cache-Control, on GET and HEAD.
func TestAssets(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/ui/", "text/html; charset=utf-8", "<!DOCTYPE html>"},
		{"/ui/index.html", "text/html; charset=utf-8", "<!DOCTYPE html>"},
		{"/ui/assets/app.js", "text/javascript; charset=utf-8", `"use strict"`},
		{"/ui/assets/style.css", "text/css; charset=utf-8", ":root"},
		{"/ui/assets/i18n/pt-BR.json", "application/json; charset=utf-8", `"app.title"`},
		{"/ui/assets/i18n/en.json", "application/json; charset=utf-8", `"app.title"`},
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(method+" "+tc.path, func(t *testing.T) {
				resp, body := get(t, srv, method, tc.path)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200: %s", resp.StatusCode, body)
				}
				for name, want := range map[string]string{
					"Content-Type":            tc.contentType,
					"Content-Security-Policy": ContentSecurityPolicy,
					"X-Content-Type-Options":  "nosniff",
					"X-Frame-Options":         "DENY",
					"Cache-Control":           "no-cache",
				} {
					if got := resp.Header.Get(name); got != want {
						t.Errorf("%s %q, want %q", name, got, want)
					}
				}
				if !regexp.MustCompile(`^"[0-9a-f]{16}"$`).MatchString(resp.Header.Get("ETag")) {
					t.Errorf("ETag %q, want a quoted content hash", resp.Header.Get("ETag"))
				}
				if method == http.MethodGet && !strings.Contains(body, tc.contains) {
					t.Errorf("body does not hold %q", tc.contains)
				}
				if method == http.MethodHead && body != "" {
					t.Errorf("HEAD answered a body of %d bytes", len(body))
				}
			})
		}
	}
}

// TestCSPAllowsOnlySelf checks the policy: every fetch directive is 'self'
// or narrower, and nothing allows inline code or another origin.
func TestCSPAllowsOnlySelf(t *testing.T) {
	for _, d := range strings.Split(ContentSecurityPolicy, ";") {
		fields := strings.Fields(d)
		if len(fields) < 2 {
			t.Fatalf("directive %q has no source", d)
		}
		for _, src := range fields[1:] {
			if src != "'self'" && src != "'none'" && !(fields[0] == "img-src" && src == "data:") {
				t.Errorf("directive %q allows %s", d, src)
			}
		}
	}
	if !strings.Contains(ContentSecurityPolicy, "default-src 'self'") || !strings.Contains(ContentSecurityPolicy, "frame-ancestors 'none'") {
		t.Errorf("policy %q lacks default-src 'self' or frame-ancestors 'none'", ContentSecurityPolicy)
	}
}

// TestRedirects checks that the root and /ui lead to the page.
func TestRedirects(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/", "/ui"} {
		resp, _ := get(t, srv, http.MethodGet, path)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != Root {
			t.Errorf("GET %s: %d Location %q, want 302 to %s", path, resp.StatusCode, resp.Header.Get("Location"), Root)
		}
	}
}

// TestErrors checks unknown files and methods.
func TestErrors(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/ui/assets/nosuch.js", http.StatusNotFound},
		{http.MethodGet, "/ui/assets/", http.StatusNotFound},
		{http.MethodGet, "/ui/assets/../webui.go", http.StatusNotFound},
		{http.MethodGet, "/ui/assets/i18n", http.StatusNotFound},
		{http.MethodGet, "/ui/nosuch", http.StatusNotFound},
		{http.MethodGet, "/elsewhere", http.StatusNotFound},
		{http.MethodPost, "/ui/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/ui/assets/app.js", http.StatusMethodNotAllowed},
	} {
		resp, body := get(t, srv, tc.method, tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.status, body)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: an error without the security headers", tc.method, tc.path)
		}
	}
}

// TestVersionedLinks checks that the page links its script and style
// sheet by content hash, that such a link is cached for good, and that an
// ETag the client holds answers 304.
func TestVersionedLinks(t *testing.T) {
	srv := newServer(t)
	_, page := get(t, srv, http.MethodGet, "/ui/")
	for _, name := range []string{"app.js", "style.css"} {
		m := regexp.MustCompile(`"(assets/` + regexp.QuoteMeta(name) + `\?v=([0-9a-f]+))"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("the page does not link %s by its hash", name)
		}
		resp, _ := get(t, srv, http.MethodGet, "/ui/"+m[1])
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s: Cache-Control %q, want a year, immutable", m[1], cc)
		}
		if etag := resp.Header.Get("ETag"); etag != `"`+m[2]+`"` {
			t.Errorf("%s: ETag %s, want the hash of the link", m[1], etag)
		}
		stale, _ := get(t, srv, http.MethodGet, "/ui/assets/"+name+"?v=0000")
		if cc := stale.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s with another hash: Cache-Control %q, want no-cache", name, cc)
		}
		again, body := get(t, srv, http.MethodGet, "/ui/assets/"+name, "If-None-Match", resp.Header.Get("ETag"))
		if again.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("%s with its ETag: %d and %d bytes, want 304 and none", name, again.StatusCode, len(body))
		}
	}
}

// readAsset reads a file of the page from the source tree.
func readAsset(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("assets/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readDictionary(t *testing.T, name string) map[string]string {
	t.Helper()
	d := map[string]string{}
	if err := json.Unmarshal([]byte(readAsset(t, "i18n/"+name)), &d); err != nil {
		t.Fatalf("i18n/%s: %v", name, err)
	}
	return d
}

// TestDictionaries checks that both languages have the same keys, that no
// text is empty or left in the other language's placeholders, that every
// key the page uses (t("..."), K("...") in app.js, data-i18n attributes in
// index.html) is defined, and that every key defined is used.
func TestDictionaries(t *testing.T) {
	pt, en := readDictionary(t, "pt-BR.json"), readDictionary(t, "en.json")
	if len(pt) < 50 {
		t.Fatalf("pt-BR.json has %d keys: the dictionaries were not read", len(pt))
	}
	placeholders := regexp.MustCompile(`\{\w+\}`)
	for k, v := range pt {
		w, ok := en[k]
		if !ok {
			t.Errorf("key %q is in pt-BR.json, not in en.json", k)
			continue
		}
		if strings.TrimSpace(v) == "" || strings.TrimSpace(w) == "" {
			t.Errorf("key %q: an empty text", k)
		}
		a, b := placeholders.FindAllString(v, -1), placeholders.FindAllString(w, -1)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("key %q: placeholders %v in pt-BR, %v in en", k, a, b)
		}
	}
	for k := range en {
		if _, ok := pt[k]; !ok {
			t.Errorf("key %q is in en.json, not in pt-BR.json", k)
		}
	}

	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b[tK]\(\s*"([^"]+)"`).FindAllStringSubmatch(readAsset(t, "app.js"), -1) {
		used[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`data-i18n(?:-aria-label)?="([^"]+)"`).FindAllStringSubmatch(readAsset(t, "index.html"), -1) {
		used[m[1]] = true
	}
	if len(used) < 50 {
		t.Fatalf("only %d keys found in app.js and index.html: the patterns are wrong", len(used))
	}
	for _, k := range slices.Sorted(maps.Keys(used)) {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is used by the page but not defined", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(en)) {
		if !used[k] {
			t.Errorf("key %q is defined but not used", k)
		}
	}
}

// TestNoInlineCode checks that the page holds nothing its policy would
// block: no inline script or style, no event handler attributes.
func TestNoInlineCode(t *testing.T) {
	page := readAsset(t, "index.html")
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `<style`, `\sstyle=`, `\son[a-z]+=`, `https?://`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("index.html holds %q (pattern %s)", m, re)
		}
	}
	script := readAsset(t, "app.js")
	for _, re := range []string{`\beval\(`, `new Function\(`, `innerHTML`, `\.style\s*=`, `setAttribute\("style"`, `https?://(?:[^w]|w[^w])`} {
		if m := regexp.MustCompile(re).FindString(script); m != "" {
			t.Errorf("app.js holds %q (pattern %s)", m, re)
		}
	}
}

// TestContractElements checks that the page carries every data-test name
// that the browser tests use (.tmp/webui-contract.md).
func TestContractElements(t *testing.T) {
	text := readAsset(t, "index.html") + readAsset(t, "app.js")
	for _, name := range []string{
		"token-input", "login-button", "login-error", "nav-lists", "nav-check", "nav-monitor", "lang-select",
		"list-row", "list-size", "list-campaigns", "list-link", "campaign-select", "campaign-list",
		"check-campaign", "check-number", "check-button", "check-result", "check-list", "check-entry", "check-reason", "check-normalized",
		"entries-table", "entry-row", "next-page", "search-input", "search-button",
		"add-entries", "add-reason", "add-ttl", "add-button", "add-result", "remove-entry", "confirm-remove",
		"import-file", "import-mode", "import-button", "import-progress", "import-summary", "import-rejects", "export-button",
		"health", "blocked-chart", "chart-bar", "monitor-campaign", "blocked-row", "monitor-refresh",
		"audit-row", "audit-more",
		"nav-scrub", "scrub-campaign", "scrub-file", "scrub-button", "scrub-summary", "scrub-clean", "scrub-report",
	} {
		if !strings.Contains(text, `"`+name+`"`) {
			t.Errorf("data-test %q is not in the page", name)
		}
	}
	for _, key := range []string{"blacklist-agi-token", "blacklist-agi-lang"} {
		if !strings.Contains(text, `"`+key+`"`) {
			t.Errorf("storage key %q is not in app.js", key)
		}
	}
}

// FuzzPath checks that no path makes the handler fail or serve something
// other than the page, its files, a redirect or a 404.
func FuzzPath(f *testing.F) {
	for _, p := range []string{"/", "/ui", "/ui/", "/ui/assets/app.js", "/ui/assets/../../etc/passwd", "/ui/assets/i18n/en.json", "/ui//assets/x", "/ui/assets/%2e%2e/x"} {
		f.Add(p)
	}
	h := Handler()
	f.Fuzz(func(t *testing.T, path string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusFound, http.StatusNotFound:
		default:
			t.Fatalf("path %q: status %d", path, rec.Code)
		}
		if rec.Code == http.StatusOK && path != Root && path != Root+"index.html" && !strings.HasPrefix(path, AssetsPrefix) {
			t.Fatalf("path %q served a file", path)
		}
	})
}
