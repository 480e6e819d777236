package main_test

// End-to-end tests of access control: the FastAGI listener's allowed
// networks, secrets kept out of the logs, Redis AUTH with an ACL user, and
// TLS to Redis. The built binary, real TCP and real redis-server processes.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// accessConfig is a main file for these tests: %s is the key prefix, the
// redis: section's extra lines and the file's extra top-level lines. The
// campaign closed blocks on Redis errors, open allows.
const accessConfig = `listen: "127.0.0.1:0"
key_prefix: %q
campaigns_dir: campaigns
redis:
  addr: %q
  dial_timeout: 500ms
%s
log:
  level: debug
admin:
  listen: "127.0.0.1:0"
%s
`

var accessCampaigns = map[string]string{
	"closed.yaml": "on_error: block\ntimeout: 1s\n",
	"open.yaml":   "on_error: allow\ntimeout: 1s\n",
}

// outputCapture keeps every byte a process writes, and passes its complete
// lines to a channel (dropping them when nobody reads).
type outputCapture struct {
	mu    sync.Mutex
	all   bytes.Buffer
	part  []byte
	lines chan string
}

func (c *outputCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all.Write(p)
	c.part = append(c.part, p...)
	for {
		i := bytes.IndexByte(c.part, '\n')
		if i < 0 {
			break
		}
		select {
		case c.lines <- string(c.part[:i]):
		default:
		}
		c.part = c.part[i+1:]
	}
	return len(p), nil
}

func (c *outputCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.all.String()
}

// capturedServer is a server whose whole stdout and stderr are kept.
type capturedServer struct {
	*server
	out    *outputCapture
	exited chan struct{}
}

// startCapturedServer runs serve with mainFile and the access campaigns,
// keeping all of its output, with extra environment variables.
func startCapturedServer(t *testing.T, mainFile string, env ...string) *capturedServer {
	t.Helper()
	file := writeConfig(t, mainFile, accessCampaigns)
	dir := filepath.Dir(file)
	cmd := exec.Command(binary(t), "serve", "--config", file)
	cmd.Env = append(os.Environ(), env...)
	logs := make(chan string, 10000)
	out := &outputCapture{lines: logs}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &capturedServer{server: &server{cmd: cmd, logs: logs, dir: dir}, out: out, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(s.exited)
		close(logs)
	}()
	t.Cleanup(s.stop)
	line := s.waitLog(t, `msg="admin listening"`)
	if m := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(line); m != nil {
		s.admin = m[1]
	}
	line = s.waitLog(t, "msg=listening")
	m := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no address in %q", line)
	}
	s.addr = m[1]
	return s
}

// stop ends the server with SIGTERM and waits until it has exited and its
// output is all kept.
func (s *capturedServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// adminRequest sends a request to the admin listener with a bearer token
// ("" for none) and returns the status and body.
func (s *capturedServer) adminRequest(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deniedCount reads blacklist_agi_connections_denied_total from /metrics.
func (s *capturedServer) deniedCount(t *testing.T) int {
	t.Helper()
	code, body := s.adminRequest(t, "GET", "/metrics", "", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	m := regexp.MustCompile(`(?m)^blacklist_agi_connections_denied_total (\d+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("/metrics has no blacklist_agi_connections_denied_total")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// accessCheckConfig runs serve --check-config on the file and returns its output
// and whether it succeeded.
func accessCheckConfig(t *testing.T, mainFile string, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--check-config", "--config", writeConfig(t, mainFile, nil))
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return string(out), err == nil
}

func TestAccessAllowedNetworks(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	rdb.SAdd(context.Background(), blacklist.Keys{Prefix: prefix}.Campaign("closed"), "5511987654321")

	t.Run("denied", func(t *testing.T) {
		s := startCapturedServer(t, fmt.Sprintf(accessConfig, prefix, redistest.Addr(t), "", `allowed_networks: ["192.0.2.0/24"]`))
		res := s.call(t, "closed", "5511987654321")
		if !res.ServerClosed || len(res.Commands) > 0 || res.Vars["BLACKLIST_STATUS"] != "" {
			t.Errorf("a call from 127.0.0.1: closed %v, commands %q, vars %v; want closed with no answer", res.ServerClosed, res.Commands, res.Vars)
		}
		s.waitLog(t, "connection denied")
		if n := s.deniedCount(t); n != 1 {
			t.Errorf("connections_denied_total = %d after one call, want 1", n)
		}
		// A client that sends nothing is closed at once: the server does
		// not wait for an environment block (env_timeout is 5s).
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("a silent client: read %d bytes, %v; want the connection closed at once (EOF)", n, err)
		}
		if n := s.deniedCount(t); n != 2 {
			t.Errorf("connections_denied_total = %d, want 2", n)
		}
		if out := s.out.String(); strings.Contains(out, "agi_request") || strings.Contains(out, "agi_network") {
			t.Errorf("the log holds AGI variables: something was read from a denied connection:\n%s", out)
		}
	})

	t.Run("allowed", func(t *testing.T) {
		// The environment form, over a file that would deny.
		s := startCapturedServer(t, fmt.Sprintf(accessConfig, prefix, redistest.Addr(t), "", `allowed_networks: ["192.0.2.0/24"]`),
			"BLACKLIST_ALLOWED_NETWORKS=192.0.2.0/24, 127.0.0.1")
		for _, c := range []struct{ exten, want string }{{"5511987654321", "BLOCKED"}, {"5511912345678", "ALLOWED"}} {
			if got := s.call(t, "closed", c.exten).Vars["BLACKLIST_STATUS"]; got != c.want {
				t.Errorf("%s: %q, want %s", c.exten, got, c.want)
			}
		}
		if n := s.deniedCount(t); n != 0 {
			t.Errorf("connections_denied_total = %d, want 0", n)
		}
	})

	t.Run("bad entry", func(t *testing.T) {
		out, ok := accessCheckConfig(t, fmt.Sprintf(accessConfig, prefix, redistest.Addr(t), "", `allowed_networks: ["10.0.0.0/8", "asterisk-1"]`))
		if ok || !strings.Contains(out, `allowed_networks[1] = "asterisk-1"`) {
			t.Errorf("check-config with a host name in allowed_networks: ok %v\n%s", ok, out)
		}
	})
}

// The secrets of the configuration: admin tokens, the Redis password, the
// Sentinel password. None may appear in anything the server prints, at
// debug level, whatever the requests.
//
// The server logs in to Redis as an ACL user limited to its keys, on a
// Redis whose default user has another password: checks work, and nothing
// touches another key (no NOPERM).
func TestAccessSecretsNeverInLogs(t *testing.T) {
	t.Parallel()
	const (
		redisPassword    = aclUserPassword
		sentinelPassword = "sentinel-pass-Vb3Kd9"
		readToken        = "read-token-Zm4Pq8Rt6Yn1"
		writeToken       = "write-token-Hs5Jc2Wf7Ua3"
		badToken         = "bad token-Gk8Xe4"
	)
	addr := startACLRedis(t)
	mainFile := fmt.Sprintf(accessConfig, "acl:", addr,
		"  username: blacklist\n  password: "+redisPassword+"\n  sentinel_password: "+sentinelPassword,
		"  read_tokens: ["+readToken+"]\n  write_tokens: ["+writeToken+"]")
	s := startCapturedServer(t, mainFile)
	s.expectWorks(t)
	list := "/api/v1/lists/campaign/closed/entries"
	for _, r := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/api/v1/lists", "", "", 401},
		{"GET", "/api/v1/lists", readToken + "x", "", 401},
		{"GET", "/api/v1/lists", readToken[:len(readToken)-1], "", 401},
		{"GET", "/api/v1/lists", writeToken + " " + redisPassword, "", 401},
		{"POST", list, readToken, `{"entries":["5511900001111"]}`, 403},
		{"GET", "/metrics", "", "", 401},
		{"GET", "/api/v1/lists", readToken, "", 200},
		{"GET", "/api/v1/config", readToken, "", 200},
		{"GET", "/metrics", readToken, "", 200},
		{"POST", list, writeToken, `{"entries":["5511900001111"]}`, 200},
		{"GET", "/readyz", "", "", 200},
	} {
		code, body := s.adminRequest(t, r.method, r.path, r.token, r.body)
		if code != r.want {
			t.Errorf("%s %s with token %q: %d, want %d: %s", r.method, r.path, r.token, code, r.want, body)
		}
		for _, secret := range []string{redisPassword, sentinelPassword, readToken, writeToken} {
			if strings.Contains(body, secret) {
				t.Errorf("%s %s: the answer holds a secret: %s", r.method, r.path, body)
			}
		}
	}
	s.stop()
	outputs := map[string]string{"serve": s.out.String()}
	// check-config with the same file, and with a bad token from the
	// environment (its error must not quote it).
	out, ok := accessCheckConfig(t, mainFile)
	if !ok {
		t.Errorf("check-config: %s", out)
	}
	outputs["check-config"] = out
	out, ok = accessCheckConfig(t, mainFile, "BLACKLIST_ADMIN_WRITE_TOKENS="+badToken)
	if ok || !strings.Contains(out, "admin.write_tokens") {
		t.Errorf("check-config with a bad token: ok %v\n%s", ok, out)
	}
	outputs["check-config with a bad token"] = out

	if strings.Contains(outputs["serve"], "NOPERM") {
		t.Errorf("the server touched keys outside the ACL user's acl:*:\n%s", outputs["serve"])
	}
	if !strings.Contains(outputs["serve"], "level=DEBUG") || !strings.Contains(outputs["serve"], "admin API request") {
		t.Fatalf("the server's output lacks debug and request logs:\n%s", outputs["serve"])
	}
	for what, text := range outputs {
		for _, secret := range []string{redisPassword, sentinelPassword, readToken, writeToken, badToken, readToken[:len(readToken)-1]} {
			if strings.Contains(text, secret) {
				t.Errorf("%s printed the secret %q:\n%s", what, secret, text)
			}
		}
	}
}

// readyz returns the admin listener's /readyz status.
func (s *capturedServer) readyz(t *testing.T) int {
	t.Helper()
	code, _ := s.adminRequest(t, "GET", "/readyz", "", "")
	return code
}

// expectOnError checks that Redis is out of reach for s: not ready, and
// calls follow on_error (closed hangs up, open goes on).
func (s *capturedServer) expectOnError(t *testing.T) {
	t.Helper()
	if code := s.readyz(t); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d, want 503", code)
	}
	for _, c := range []struct {
		campaign, onError string
		hungUp            bool
	}{{"closed", "block", true}, {"open", "allow", false}} {
		res := s.call(t, c.campaign, "5511987654321")
		if res.Vars["BLACKLIST_STATUS"] != "ERROR" || res.Vars["BLACKLIST_ON_ERROR"] != c.onError || res.HungUp != c.hungUp {
			t.Errorf("campaign %s: vars %v, hung up %v; want ERROR and on_error %s", c.campaign, res.Vars, res.HungUp, c.onError)
		}
	}
}

// expectWorks checks that s reaches Redis: ready, and the blocked number is
// blocked.
func (s *capturedServer) expectWorks(t *testing.T) {
	t.Helper()
	if code := s.readyz(t); code != http.StatusOK {
		t.Errorf("/readyz = %d, want 200", code)
	}
	if got := s.call(t, "closed", "5511987654321").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Errorf("blocked number: %q, want BLOCKED", got)
	}
	if got := s.call(t, "open", "5511912345678").Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Errorf("other number: %q, want ALLOWED", got)
	}
}

// Passwords of the Redis started by startACLRedis.
const (
	aclDefaultPassword = "default-pass-Nf6Tb1" // the default user's (requirepass)
	aclUserPassword    = "user-pass-Ld2Rw8"    // the ACL user blacklist's
)

// startACLRedis runs redis-server with a password for the default user and
// an ACL user "blacklist" limited to the keys acl:*, seeds the campaign
// closed with a blocked number, and returns its address.
func startACLRedis(t *testing.T) string {
	t.Helper()
	redistest.Addr(t)
	port := freePort(t)
	startRedis(t, port, t.TempDir(), "--requirepass", aclDefaultPassword)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addr, Password: aclDefaultPassword})
	defer admin.Close()
	if err := admin.Do(ctx, "ACL", "SETUSER", "blacklist", "on", ">"+aclUserPassword, "~acl:*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.SAdd(ctx, blacklist.Keys{Prefix: "acl:"}.Campaign("closed"), "5511987654321").Err(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// A wrong Redis password: not ready, calls follow on_error, and the log
// says why without printing any password.
func TestAccessRedisWrongPassword(t *testing.T) {
	t.Parallel()
	const wrongPassword = "wrong-pass-Ce5Ym3"
	addr := startACLRedis(t)
	s := startCapturedServer(t, fmt.Sprintf(accessConfig, "acl:", addr, "  username: blacklist\n  password: "+wrongPassword, ""))
	s.expectOnError(t)
	s.stop()
	out := s.out.String()
	if !strings.Contains(out, "WRONGPASS") {
		t.Errorf("the log does not say why Redis refused:\n%s", out)
	}
	for _, secret := range []string{wrongPassword, aclUserPassword, aclDefaultPassword} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds the password %q:\n%s", secret, out)
		}
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, in PEM files.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

// newTestPKI writes a new CA and its certificates into dir.
func newTestPKI(t *testing.T, dir, name string) testPKI {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(file, typ string, der []byte) string {
		path := filepath.Join(dir, name+"-"+file)
		writeFile(t, path, string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})))
		return path
	}
	writeKey := func(file string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(file, "PRIVATE KEY", der)
	}
	caKey := newKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, key *ecdsa.PrivateKey) []byte {
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name + " leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	serverKey, clientKey := newKey(), newKey()
	return testPKI{
		ca:         write("ca.pem", "CERTIFICATE", caDER),
		serverCert: write("server.pem", "CERTIFICATE", leaf(2, x509.ExtKeyUsageServerAuth, serverKey)),
		serverKey:  writeKey("server-key.pem", serverKey),
		clientCert: write("client.pem", "CERTIFICATE", leaf(3, x509.ExtKeyUsageClientAuth, clientKey)),
		clientKey:  writeKey("client-key.pem", clientKey),
	}
}

// startTLSRedis runs redis-server with TLS only (no plain port), checking
// client certificates when authClients is set, and returns its address and
// a client for seeding it.
func startTLSRedis(t *testing.T, pki testPKI, authClients bool) (string, *redis.Client) {
	t.Helper()
	port := freePort(t)
	auth := "no"
	if authClients {
		auth = "yes"
	}
	startRedis(t, port, t.TempDir(), "--port", "0", "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", pki.serverCert, "--tls-key-file", pki.serverKey, "--tls-ca-cert-file", pki.ca,
		"--tls-auth-clients", auth)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(pki.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(pki.clientCert, pki.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.SAdd(context.Background(), blacklist.Keys{Prefix: "tls:"}.Campaign("closed"), "5511987654321").Err(); err != nil {
		t.Fatalf("seeding the TLS Redis: %v", err)
	}
	return addr, rdb
}

func TestAccessRedisTLS(t *testing.T) {
	t.Parallel()
	redistest.Addr(t)
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "good")
	other := newTestPKI(t, dir, "other")

	t.Run("server certificate", func(t *testing.T) {
		addr, _ := startTLSRedis(t, pki, false)
		for _, c := range []struct {
			name, redis string
			works       bool
			says        string // in the log, when it does not work
		}{
			{"CA file", "  tls: {enabled: true, ca_file: " + pki.ca + "}", true, ""},
			{"no TLS", "", false, ""},
			{"another CA", "  tls: {enabled: true, ca_file: " + other.ca + "}", false, "certificate signed by unknown authority"},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				s := startCapturedServer(t, fmt.Sprintf(accessConfig, "tls:", addr, c.redis, ""))
				if c.works {
					s.expectWorks(t)
					return
				}
				s.expectOnError(t)
				if c.says != "" {
					s.stop()
					if !strings.Contains(s.out.String(), c.says) {
						t.Errorf("the log does not say %q:\n%s", c.says, s.out.String())
					}
				}
			})
		}
	})

	t.Run("client certificate", func(t *testing.T) {
		addr, _ := startTLSRedis(t, pki, true)
		for _, c := range []struct {
			name, redis string
			works       bool
		}{
			{"certificate and key", "  tls: {enabled: true, ca_file: " + pki.ca + ", cert_file: " + pki.clientCert + ", key_file: " + pki.clientKey + "}", true},
			{"no certificate", "  tls: {enabled: true, ca_file: " + pki.ca + "}", false},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				s := startCapturedServer(t, fmt.Sprintf(accessConfig, "tls:", addr, c.redis, ""))
				if c.works {
					s.expectWorks(t)
				} else {
					s.expectOnError(t)
				}
			})
		}
	})

	t.Run("bad files", func(t *testing.T) {
		for _, c := range []struct{ name, tls, says string }{
			{"missing CA", "{enabled: true, ca_file: " + filepath.Join(dir, "nosuch.pem") + "}", "nosuch.pem"},
			{"key as CA", "{enabled: true, ca_file: " + pki.clientKey + "}", "no PEM certificate"},
			{"certificate without key", "{enabled: true, cert_file: " + pki.clientCert + "}", "redis.tls.key_file"},
			{"key of another certificate", "{enabled: true, cert_file: " + pki.clientCert + ", key_file: " + other.clientKey + "}", "redis.tls.cert_file"},
		} {
			out, ok := accessCheckConfig(t, fmt.Sprintf(accessConfig, "tls:", "127.0.0.1:6379", "  tls: "+c.tls, ""))
			if ok || !strings.Contains(out, c.says) {
				t.Errorf("%s: check-config ok %v, want an error saying %q:\n%s", c.name, ok, c.says, out)
			}
		}
	})
}
