package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAllowedNetworks(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []netip.Prefix
	}{
		{"left out", ``, nil},
		{"empty", `allowed_networks: []`, nil},
		{"null", `allowed_networks:`, nil},
		{"networks and hosts", `allowed_networks: ["10.20.0.0/16", "192.0.2.10", "2001:db8::/32", "::1", "0.0.0.0/0"]`, []netip.Prefix{
			netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("192.0.2.10/32"),
			netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("0.0.0.0/0"),
		}},
		{"block list", "allowed_networks:\n  - 10.0.0.0/8\n  - 172.16.5.4\n", []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.5.4/32"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadYAML(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.AllowedPrefixes(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("AllowedPrefixes() = %v, want %v", got, tt.want)
			}
			if c.AllowedNetworks == nil {
				t.Error("AllowedNetworks is nil, want an empty list")
			}
		})
	}
}

func TestAllowedNetworksFromEnv(t *testing.T) {
	t.Setenv("BLACKLIST_ALLOWED_NETWORKS", "10.20.0.0/16, 192.0.2.10")
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("192.0.2.10/32")}
	if got := c.AllowedPrefixes(); !reflect.DeepEqual(got, want) {
		t.Errorf("AllowedPrefixes() = %v, want %v", got, want)
	}

	t.Setenv("BLACKLIST_ALLOWED_NETWORKS", "10.20.0.0/16,asterisk-1")
	_, err = Load("")
	e := problem(t, err, "allowed_networks[1]")
	if e.Env != "BLACKLIST_ALLOWED_NETWORKS" || !strings.Contains(err.Error(), `"asterisk-1"`) {
		t.Errorf("error = %v (env %q), want it to name the variable and the value", err, e.Env)
	}
}

func TestAllowedNetworksInvalid(t *testing.T) {
	tests := []struct {
		value, key, msg string
	}{
		{"asterisk.example.com", "allowed_networks[0]", "CIDR notation"},
		{"10.0.0.0/33", "allowed_networks[0]", "CIDR notation"},
		{"10.0.0/8", "allowed_networks[0]", "CIDR notation"},
		{"", "allowed_networks[0]", "CIDR notation"},
		{" 10.0.0.1", "allowed_networks[0]", "CIDR notation"},
		{"10.1.2.3/8", "allowed_networks[0]", "did you mean 10.0.0.0/8?"},
		{"2001:db8::1/32", "allowed_networks[0]", "did you mean 2001:db8::/32?"},
		{"fe80::1%eth0", "allowed_networks[0]", "without a zone"},
		{"::ffff:10.0.0.0/104", "allowed_networks[0]", "write IPv4 networks as IPv4"},
		{"::ffff:10.0.0.1", "allowed_networks[0]", "write IPv4 networks as IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			_, path, err := loadYAML(t, "listen: \":4573\"\nallowed_networks: [\""+tt.value+"\"]\n")
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("err = %v, want ErrInvalidValue", err)
			}
			e := problem(t, err, tt.key)
			if e.Line != 2 || !strings.Contains(err.Error(), path+":2: ") {
				t.Errorf("error %q does not give the line (2)", err)
			}
			if msg := err.Error(); !strings.Contains(msg, `"`+tt.value+`"`) || !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q does not name the value %q and say %q", msg, tt.value, tt.msg)
			}
			if _, perr := ParseNetwork(tt.value); !errors.Is(perr, ErrInvalidValue) {
				t.Errorf("ParseNetwork(%q) = %v, want ErrInvalidValue", tt.value, perr)
			}
		})
	}
	// Every bad entry is reported, not only the first.
	_, _, err := loadYAML(t, `allowed_networks: ["10.0.0.0/8", "x", "10.0.0.1/8"]`)
	problem(t, err, "allowed_networks[1]")
	problem(t, err, "allowed_networks[2]")
}

// testPKI is a CA and a certificate with its key, signed by it, in PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
}

// newTestPKI writes a fresh CA and a leaf certificate for 127.0.0.1 into dir.
func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	return testPKI{
		caFile:   writeFile(t, dir, "ca.pem", pemOf("CERTIFICATE", caDER)),
		certFile: writeFile(t, dir, "client.pem", pemOf("CERTIFICATE", leafDER)),
		keyFile:  writeFile(t, dir, "client-key.pem", pemOf("EC PRIVATE KEY", keyDER)),
	}
}

func TestRedisTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	path := writeFile(t, dir, "blacklist-agi.yaml", `redis:
  tls:
    enabled: true
    ca_file: ca.pem
    cert_file: client.pem
    key_file: client-key.pem
    server_name: redis.internal
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := RedisTLS{Enabled: true, CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile, ServerName: "redis.internal"}
	if c.Redis.TLS != want {
		t.Errorf("redis.tls = %+v, want %+v (relative paths resolved against the file's folder)", c.Redis.TLS, want)
	}
	tc, err := c.Redis.TLS.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "redis.internal" || tc.InsecureSkipVerify || tc.MinVersion < 0x0303 {
		t.Errorf("ClientConfig() = %+v", tc)
	}

	// Off by default: no TLS configuration.
	if tc, err := Default().Redis.TLS.ClientConfig(); tc != nil || err != nil {
		t.Errorf("ClientConfig() of the default = %v, %v; want nil, nil", tc, err)
	}
	// On with nothing else: the system's roots.
	if tc, err := (RedisTLS{Enabled: true}).ClientConfig(); err != nil || tc == nil || tc.RootCAs != nil {
		t.Errorf("ClientConfig() with only enabled = %+v, %v", tc, err)
	}
	t.Setenv("BLACKLIST_REDIS_TLS_ENABLED", "true")
	t.Setenv("BLACKLIST_REDIS_TLS_CA_FILE", pki.caFile)
	if c, err := Load(""); err != nil || !c.Redis.TLS.Enabled || c.Redis.TLS.CAFile != pki.caFile {
		t.Errorf("redis.tls from the environment = %+v, %v", c.Redis.TLS, err)
	}
}

func TestRedisTLSInvalid(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	notPEM := writeFile(t, dir, "not.pem", "hello\n")
	unreadable := writeFile(t, dir, "unreadable.pem", "x")
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	_, statErr := os.ReadFile(unreadable)
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name    string
		tls     string
		key     string
		mention string // in the message
		is      error
	}{
		{"missing CA", `{enabled: true, ca_file: "` + missing + `"}`, "redis.tls.ca_file", missing, fs.ErrNotExist},
		{"CA not PEM", `{enabled: true, ca_file: "` + notPEM + `"}`, "redis.tls.ca_file", "no PEM certificate", ErrInvalidValue},
		{"CA is a key", `{enabled: true, ca_file: "` + pki.keyFile + `"}`, "redis.tls.ca_file", "no PEM certificate", ErrInvalidValue},
		{"cert without key", `{enabled: true, cert_file: "` + pki.certFile + `"}`, "redis.tls.key_file", "needs both", ErrInvalidValue},
		{"key without cert", `{enabled: true, key_file: "` + pki.keyFile + `"}`, "redis.tls.cert_file", "needs both", ErrInvalidValue},
		{"cert and key swapped", `{enabled: true, cert_file: "` + pki.keyFile + `", key_file: "` + pki.certFile + `"}`, "redis.tls.cert_file", pki.certFile, ErrInvalidValue},
		{"missing cert", `{enabled: true, cert_file: "` + missing + `", key_file: "` + pki.keyFile + `"}`, "redis.tls.cert_file", missing, ErrInvalidValue},
		{"key of another cert", `{enabled: true, cert_file: "` + pki.caFile + `", key_file: "` + pki.keyFile + `"}`, "redis.tls.cert_file", "does not match", ErrInvalidValue},
		{"files without enabled", `{ca_file: "` + pki.caFile + `"}`, "redis.tls.ca_file", "redis.tls.enabled is false", ErrInvalidValue},
		{"skip verify without enabled", `{insecure_skip_verify: true}`, "redis.tls.insecure_skip_verify", "redis.tls.enabled is false", ErrInvalidValue},
		{"server name with space", `{enabled: true, server_name: "a b"}`, "redis.tls.server_name", "spaces", ErrInvalidValue},
		{"enabled not a bool", `{enabled: maybe}`, "redis.tls.enabled", "maybe", ErrInvalidValue},
		{"unknown key", `{enable: true}`, "redis.tls.enable", "", ErrUnknownKey},
	}
	if statErr != nil { // root reads anything
		tests = append(tests, struct {
			name, tls, key, mention string
			is                      error
		}{"unreadable CA", `{enabled: true, ca_file: "` + unreadable + `"}`, "redis.tls.ca_file", unreadable, fs.ErrPermission})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadYAML(t, "redis:\n  tls: "+tt.tls+"\n")
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			e := problem(t, err, tt.key)
			if e.File != path || e.Line == 0 {
				t.Errorf("error %q does not name the file and line", err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
}

// FuzzParseNetwork checks that any accepted allowed_networks entry is a
// valid, masked prefix that is not IPv4-mapped, that prints back to itself,
// and that a refused one is an ErrInvalidValue naming the input.
func FuzzParseNetwork(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "192.0.2.10", "2001:db8::/32", "::1", "0.0.0.0/0", "::/0", "10.1.2.3/8",
		"::ffff:10.0.0.0/104", "fe80::1%eth0", "fe80::/10", "10.0.0.0/33", "10.0.0/8", "", "/", "1.2.3.4/",
		"01.2.3.4", "1.2.3.4/08", " 10.0.0.1", "10.0.0.1\n", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8/128",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseNetwork(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParseNetwork(%q) error %v: want ErrInvalidValue naming the input", s, err)
			}
			return
		}
		if !p.IsValid() || p.Masked() != p || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("ParseNetwork(%q) = %v: not a valid masked prefix", s, p)
		}
		if !strings.Contains(s, "/") && p.Bits() != p.Addr().BitLen() {
			t.Fatalf("ParseNetwork(%q) = %v: a single address must be a full-length prefix", s, p)
		}
		back, err := ParseNetwork(p.String())
		if err != nil || back != p {
			t.Fatalf("ParseNetwork(%q) = %v, but ParseNetwork(%q) = %v, %v", s, p, p.String(), back, err)
		}
		c := &Config{AllowedNetworks: []string{s}}
		if got := c.AllowedPrefixes(); len(got) != 1 || got[0] != p {
			t.Fatalf("AllowedPrefixes() of %q = %v, want [%v]", s, got, p)
		}
	})
}
