package adminapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/webui"
)

// publicRoutes are the only routes that answer without a token: the probes
// a load balancer or orchestrator calls, and the static web page
// (Options.UI), which holds no data.
var publicRoutes = []string{"GET /healthz", "GET /readyz", "GET /{$}", "GET /ui/"}

// readPosts are the routes that are not GET but change nothing, so that a
// read token may use them: a scrub checks a file against the lists.
var readPosts = []string{"POST /api/v1/scrub"}

// routePath turns a route pattern's path into a concrete path.
func routePath(path string) string {
	return strings.NewReplacer(
		"{kind}", "shared", "{name}", "spam", "{entry}", "5511987654321", "{id}", "nosuch", "{$}", "",
	).Replace(path)
}

// TestTokensOnEveryRoute walks every registered route (pprof included) and
// checks that none but the probes and the web page's static files answers
// without a valid token, and that a read token is refused on every route
// that is not GET (but readPosts): whatever the route, a request without the right token
// never reaches its handler.
func TestTokensOnEveryRoute(t *testing.T) {
	f := newFixture(t, func(f *fixture, o *Options) {
		withTokens(f, o)
		o.Pprof = true
		o.UI = webui.Handler()
	})
	if len(f.api.routes) < 20 {
		t.Fatalf("only %d routes registered: %v", len(f.api.routes), f.api.routes)
	}
	for _, pattern := range f.api.routes {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			t.Fatalf("route %q has no method", pattern)
		}
		path = routePath(path)
		writes := method != http.MethodGet && method != http.MethodHead && !slices.Contains(readPosts, pattern)
		methods := []string{method}
		if method == http.MethodGet {
			methods = append(methods, http.MethodHead) // the mux serves HEAD on GET routes
		}
		for _, m := range methods {
			t.Run(m+" "+path, func(t *testing.T) {
				status := func(auth string) int {
					t.Helper()
					var header []string
					if auth != "" {
						header = []string{"Authorization", auth}
					}
					f.token = ""
					return f.do(m, path, "", nil, header...).status
				}
				if slices.Contains(publicRoutes, pattern) {
					if got := status(""); got != http.StatusOK {
						t.Errorf("public route without a token: %d, want 200", got)
					}
					return
				}
				for _, bad := range []struct{ name, auth string }{
					{"no token", ""},
					{"wrong token", "Bearer " + strings.Repeat("x", len(writeToken))},
					{"write token with a byte changed", "Bearer " + writeToken[:len(writeToken)-1] + "!"},
					{"empty bearer", "Bearer "},
					{"token without scheme", writeToken},
					{"basic scheme", "Basic " + writeToken},
				} {
					if got := status(bad.auth); got != http.StatusUnauthorized {
						t.Errorf("%s: %d, want 401", bad.name, got)
					}
				}
				if strings.HasSuffix(path, "/pprof/profile") || strings.HasSuffix(path, "/pprof/trace") {
					return // let through, they would record for seconds
				}
				got := status("Bearer " + readToken)
				switch {
				case writes && got != http.StatusForbidden:
					t.Errorf("read token on a write route: %d, want 403", got)
				case !writes && (got == http.StatusUnauthorized || got == http.StatusForbidden):
					t.Errorf("read token on a read route: %d, want it let through", got)
				}
				if writes {
					if got := status("Bearer " + writeToken); got == http.StatusUnauthorized || got == http.StatusForbidden {
						t.Errorf("write token on a write route: %d, want it let through", got)
					}
				}
			})
		}
		// A method the route does not have is refused for lack of a token
		// before the API says whether the path exists.
		t.Run("PUT "+path, func(t *testing.T) {
			f.token = ""
			if got := f.do(http.MethodPut, path, "", nil).status; got != http.StatusUnauthorized {
				t.Errorf("PUT without a token: %d, want 401", got)
			}
		})
	}
	for _, p := range publicRoutes {
		if !slices.Contains(f.api.routes, p) {
			t.Errorf("public route %s is not registered", p)
		}
	}
	f.srv.Close() // waits for the requests, and so for their logs
	if logs := f.logs.String(); strings.Contains(logs, readToken) || strings.Contains(logs, writeToken) || strings.Contains(logs, writeToken[:len(writeToken)-1]) {
		t.Errorf("the request logs hold a token:\n%s", logs)
	}
}
