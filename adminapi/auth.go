package adminapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
)

// tokens are the bearer tokens, kept as SHA-256 digests: a presented token
// is hashed and compared with every digest in constant time, so neither the
// time taken nor an early exit tells how much of a token was right, or how
// long the tokens are.
type tokens struct {
	read, write [][sha256.Size]byte
}

func newTokens(read, write []string) tokens {
	var t tokens
	for _, s := range read {
		if s != "" {
			t.read = append(t.read, sha256.Sum256([]byte(s)))
		}
	}
	for _, s := range write {
		if s != "" {
			t.write = append(t.write, sha256.Sum256([]byte(s)))
		}
	}
	return t
}

func (t tokens) empty() bool { return len(t.read) == 0 && len(t.write) == 0 }

// Roles of a request, for access control and the request log.
const (
	roleNone  = "none"  // no token, or a wrong one
	roleOpen  = "open"  // no token needed (loopback without tokens)
	roleRead  = "read"  // a read token
	roleWrite = "write" // a write token
)

// role returns the role of the presented token: roleWrite, roleRead or
// roleNone. Every digest is compared, whatever matched.
func (t tokens) role(presented string) string {
	h := sha256.Sum256([]byte(presented))
	var isRead, isWrite int
	for i := range t.write {
		isWrite |= subtle.ConstantTimeCompare(h[:], t.write[i][:])
	}
	for i := range t.read {
		isRead |= subtle.ConstantTimeCompare(h[:], t.read[i][:])
	}
	switch {
	case isWrite == 1:
		return roleWrite
	case isRead == 1:
		return roleRead
	}
	return roleNone
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authorize decides whether the request may use a route that needs acc,
// and returns the request's role.
func (a *api) authorize(r *http.Request, acc access) (string, error) {
	if acc == public {
		return roleOpen, nil
	}
	if !a.requireAuth {
		if !localHost(r.Host) {
			return roleNone, errorf(http.StatusForbidden,
				"host %q: without tokens the admin API answers only requests addressed to an IP address or localhost (a guard against DNS rebinding); set admin tokens to reach it by name", r.Host)
		}
		return roleOpen, nil
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return roleNone, errorf(http.StatusUnauthorized, "no token: send the header \"Authorization: Bearer <token>\" with an admin read or write token")
	}
	token, ok := bearer(h)
	if !ok {
		return roleNone, errorf(http.StatusUnauthorized, "the Authorization header is not \"Bearer <token>\"")
	}
	role := a.tokens.role(token)
	switch {
	case role == roleNone:
		return role, errorf(http.StatusUnauthorized, "the token is not an admin read or write token")
	case acc == write && role == roleRead:
		return role, errorf(http.StatusForbidden, "%s %s changes data and needs a write token; this is a read token (GET and HEAD only)", r.Method, r.URL.Path)
	}
	return role, nil
}

// localHost reports whether the Host of a request is an IP address or
// localhost, with or without a port.
func localHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.EqualFold(host, "localhost") || net.ParseIP(host) != nil
}
