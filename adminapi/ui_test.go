package adminapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/webui"
)

// TestUIRoutes checks that the web page is served without a token while
// the API it calls still needs one, whether tokens are configured or not,
// and that no page is served when Options.UI is nil.
func TestUIRoutes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tokens  bool
		ui      bool
		host    string
		pageOK  bool
		apiCode int // GET /api/v1/lists without a token
	}{
		{name: "tokens", tokens: true, ui: true, pageOK: true, apiCode: http.StatusUnauthorized},
		{name: "loopback without tokens", ui: true, pageOK: true, apiCode: http.StatusOK},
		{name: "host name without tokens", ui: true, host: "rebound.example", pageOK: true, apiCode: http.StatusForbidden},
		{name: "no page", tokens: true, apiCode: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(f *fixture, o *Options) {
				if tc.tokens {
					withTokens(f, o)
				}
				if tc.ui {
					o.UI = webui.Handler()
				}
			})
			f.token = ""
			var header []string
			if tc.host != "" {
				header = []string{"Host", tc.host}
			}
			page := f.do(http.MethodGet, "/ui/", "", nil, header...)
			if tc.pageOK {
				if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
					t.Errorf("GET /ui/: %d %q, want 200 text/html", page.status, page.header.Get("Content-Type"))
				}
				if page.header.Get("Content-Security-Policy") == "" {
					t.Error("GET /ui/: no Content-Security-Policy")
				}
			} else if page.status != http.StatusUnauthorized {
				t.Errorf("GET /ui/ without a page: %d, want 401 (an unknown route behind a token)", page.status)
			}

			// The root redirects to the page (not followed, to see it).
			req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			client := *f.srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.pageOK && (resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/") {
				t.Errorf("GET /: %d Location %q, want 302 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !tc.pageOK && resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET / without a page: %d, want 401", resp.StatusCode)
			}

			if got := f.do(http.MethodGet, "/api/v1/lists", "", nil, header...).status; got != tc.apiCode {
				t.Errorf("GET /api/v1/lists without a token: %d, want %d", got, tc.apiCode)
			}
			if got := f.do(http.MethodPost, "/ui/", "application/json", strings.NewReader("{}"), header...).status; tc.tokens && got != http.StatusUnauthorized {
				t.Errorf("POST /ui/ without a token: %d, want 401", got)
			}
		})
	}
}
