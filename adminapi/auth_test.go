package adminapi

import (
	"strings"
	"testing"
)

func withTokens(_ *fixture, o *Options) {
	o.RequireAuth = true
	o.ReadTokens = []string{readToken}
	o.WriteTokens = []string{"", writeToken} // an empty token is ignored, never matched
}

func TestAuth(t *testing.T) {
	f := newFixture(t, withTokens)
	add := `{"entries":["5511987654321"]}`
	tests := []struct {
		name                string
		method, path, token string
		header              string // the whole Authorization header, when not "Bearer <token>"
		body                string
		status              int
		says                string
	}{
		{name: "no token", method: "GET", path: "/api/v1/lists", status: 401, says: "no token"},
		{name: "wrong token", method: "GET", path: "/api/v1/lists", token: "guess", status: 401, says: "not an admin"},
		{name: "token prefix", method: "GET", path: "/api/v1/lists", token: readToken[:10], status: 401, says: "not an admin"},
		{name: "empty token", method: "GET", path: "/api/v1/lists", header: "Bearer ", status: 401, says: "Bearer"},
		{name: "basic auth", method: "GET", path: "/api/v1/lists", header: "Basic " + readToken, status: 401, says: "Bearer"},
		{name: "read token reads", method: "GET", path: "/api/v1/lists", token: readToken, status: 200},
		{name: "lower-case scheme", method: "GET", path: "/api/v1/lists", header: "bearer " + readToken, status: 200},
		{name: "write token reads", method: "GET", path: "/api/v1/lists", token: writeToken, status: 200},
		{name: "read token may not write", method: "POST", path: spam + "/entries", token: readToken, body: add, status: 403, says: "write token"},
		{name: "read token may not remove", method: "DELETE", path: spam + "/entries/5511987654321", token: readToken, status: 403, says: "write token"},
		{name: "read token may not import", method: "POST", path: spam + "/import", token: readToken, body: "5511987654321\n", status: 403, says: "write token"},
		{name: "no token may not write", method: "POST", path: spam + "/entries", body: add, status: 401, says: "no token"},
		{name: "write token writes", method: "POST", path: spam + "/entries", token: writeToken, body: add, status: 200},
		{name: "healthz is open", method: "GET", path: "/healthz", status: 200},
		{name: "readyz is open", method: "GET", path: "/readyz", status: 200},
		{name: "metrics need a token", method: "GET", path: "/metrics", status: 401, says: "no token"},
		{name: "metrics with a read token", method: "GET", path: "/metrics", token: readToken, status: 200},
		{name: "unknown route needs a token", method: "GET", path: "/nosuch", status: 401, says: "no token"},
		{name: "unknown route with a token", method: "GET", path: "/nosuch", token: readToken, status: 404, says: "no route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.token = ""
			auth := tt.header
			if auth == "" && tt.token != "" {
				auth = "Bearer " + tt.token
			}
			var header []string
			if auth != "" {
				header = []string{"Authorization", auth}
			}
			ctype := ""
			if tt.body != "" {
				ctype = "application/json"
				if strings.HasSuffix(tt.path, "/import") {
					ctype = "text/csv"
				}
			}
			r := f.do(tt.method, tt.path, ctype, strings.NewReader(tt.body), header...).want(t, tt.status)
			if tt.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if tt.says != "" {
				if msg := r.errorMessage(t); !strings.Contains(msg, tt.says) {
					t.Errorf("error %q does not say %q", msg, tt.says)
				}
			}
		})
	}
	f.srv.Close() // waits for the requests, and so for their logs
	logs := f.logs.String()
	for _, secret := range []string{readToken, writeToken, readToken[:10]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold a token: %s", logs)
		}
	}
	if !strings.Contains(logs, `route="POST /api/v1/lists/{kind}/{name}/entries"`) || !strings.Contains(logs, "status=403") {
		t.Errorf("the logs do not name the route and result:\n%s", logs)
	}
}

func TestTokensImplyAuth(t *testing.T) {
	// Tokens without RequireAuth (a loopback listener with tokens) still
	// require one.
	f := newFixture(t, func(_ *fixture, o *Options) { o.WriteTokens = []string{writeToken} })
	f.call("GET", "/api/v1/lists", nil).want(t, 401)
	f.token = writeToken
	f.call("GET", "/api/v1/lists", nil).want(t, 200)
}

func TestAuthRequiredWithoutTokens(t *testing.T) {
	// A listener that needs tokens but has none refuses everything but the
	// probes.
	f := newFixture(t, func(_ *fixture, o *Options) { o.RequireAuth = true })
	f.call("GET", "/healthz", nil).want(t, 200)
	f.token = "anything"
	f.call("GET", "/api/v1/lists", nil).want(t, 401)
}

func TestOpenListenerHostGuard(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		host   string
		status int
	}{
		{"127.0.0.1", 200},
		{"localhost:9573", 200},
		{"[::1]:9573", 200},
		{"10.0.0.5:9573", 200},
		{"evil.example.com", 403},
		{"evil.example.com:9573", 403},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r := f.do("GET", "/api/v1/lists", "", nil, "Host", tt.host).want(t, tt.status)
			if tt.status == 403 && !strings.Contains(r.errorMessage(t), "DNS rebinding") {
				t.Errorf("error does not say why: %s", r.body)
			}
		})
	}
	// The probes answer whatever the host.
	f.do("GET", "/healthz", "", nil, "Host", "evil.example.com").want(t, 200)
}

func TestTokenRoles(t *testing.T) {
	tk := newTokens([]string{"r1", "r2", ""}, []string{"w1", "shared"})
	tests := []struct{ token, role string }{
		{"r1", roleRead}, {"r2", roleRead}, {"w1", roleWrite}, {"shared", roleWrite},
		{"", roleNone}, {"r", roleNone}, {"r1 ", roleNone}, {"W1", roleNone},
	}
	for _, tt := range tests {
		if got := tk.role(tt.token); got != tt.role {
			t.Errorf("role(%q) = %s, want %s", tt.token, got, tt.role)
		}
	}
}

func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc ", "Basic abc", "Bearer", "Bearer ", "", " Bearer x", "BEARER\tx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		token, ok := bearer(h)
		if ok != (token != "") {
			t.Fatalf("bearer(%q) = %q, %v", h, token, ok)
		}
		if ok && (!strings.Contains(h, token) || strings.TrimSpace(token) != token) {
			t.Fatalf("bearer(%q) = %q: not a trimmed part of the header", h, token)
		}
	})
}

func FuzzLocalHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "localhost:80", "[::1]:80", "example.com", "[::1", "", "1.2.3.4:5:6", "[::]: "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hostport string) {
		if !localHost(hostport) {
			return
		}
		// What passes names no host that DNS could resolve: it is
		// localhost, or made of IP address characters only.
		host := hostport
		if i := strings.LastIndexByte(hostport, ':'); i >= 0 && (strings.HasPrefix(hostport, "[") || strings.Count(hostport, ":") == 1) {
			host = hostport[:i] // a port follows
		}
		host = strings.Trim(host, "[]")
		if strings.EqualFold(host, "localhost") {
			return
		}
		if strings.Trim(host, "0123456789abcdefABCDEF.:") != "" {
			t.Fatalf("localHost(%q) = true, host %q", hostport, host)
		}
	})
}

func TestPprof(t *testing.T) {
	// Off by default: the profiles are not there at all.
	off := newFixture(t, withTokens)
	off.token = readToken
	off.call("GET", "/debug/pprof/", nil).want(t, 404)

	on := newFixture(t, func(f *fixture, o *Options) { withTokens(f, o); o.Pprof = true })
	on.call("GET", "/debug/pprof/", nil).want(t, 401)
	on.token = readToken
	on.call("GET", "/debug/pprof/", nil).want(t, 200)
	r := on.call("GET", "/debug/pprof/goroutine?debug=1", nil).want(t, 200)
	if !strings.Contains(string(r.body), "goroutine profile") {
		t.Errorf("goroutine profile: %.200s", r.body)
	}
}
