package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Tokens used by the tests; none of them may ever appear in an error or in
// RedactedYAML.
const (
	tokenA = "read-token-0123456789"
	tokenB = "write-token-abcdefghij"
	tokenC = "another-write-token-xyz"
)

func TestAdminDefaults(t *testing.T) {
	d := Default()
	want := Admin{
		Listen:         "127.0.0.1:9573",
		ReadTokens:     []string{},
		WriteTokens:    []string{},
		MaxBodyBytes:   1048576,
		MaxUploadBytes: 2147483648,
		RequestTimeout: 30 * time.Second,
	}
	if !reflect.DeepEqual(d.Admin, want) {
		t.Errorf("Default().Admin = %+v, want %+v", d.Admin, want)
	}
	if want := (Monitoring{StreamMaxLen: 1000000, StatsRetention: 35 * 24 * time.Hour}); d.Monitoring != want {
		t.Errorf("Default().Monitoring = %+v, want %+v", d.Monitoring, want)
	}
	if !d.Admin.Loopback() || !d.Admin.Enabled() {
		t.Errorf("default admin listener %q: Loopback() = %v, Enabled() = %v; want both true", d.Admin.Listen, d.Admin.Loopback(), d.Admin.Enabled())
	}
	// Leaving the sections out, or writing them empty, gives the defaults.
	for _, yaml := range []string{"", "admin:\nmonitoring:\n", "admin: {read_tokens: ~, listen: ~}\n", "admin: {read_tokens: []}\n"} {
		c, _, err := loadYAML(t, yaml)
		if err != nil {
			t.Fatalf("%q: %v", yaml, err)
		}
		if !reflect.DeepEqual(c.Admin, want) || c.Monitoring != d.Monitoring {
			t.Errorf("%q: admin %+v, monitoring %+v", yaml, c.Admin, c.Monitoring)
		}
	}
}

func TestAdminFromFile(t *testing.T) {
	c, _, err := loadYAML(t, `admin:
  listen: "0.0.0.0:9573"
  read_tokens: [`+tokenA+`]
  write_tokens:
    - `+tokenB+`
    - "`+tokenC+`"
  max_body_bytes: 1024
  max_upload_bytes: 68719476736
  request_timeout: 10m
monitoring:
  stream_max_len: 1000
  instance: ast-01.example.com
  stats_retention: 400d
`)
	if err != nil {
		t.Fatal(err)
	}
	want := Admin{
		Listen:         "0.0.0.0:9573",
		ReadTokens:     []string{tokenA},
		WriteTokens:    []string{tokenB, tokenC},
		MaxBodyBytes:   MinAdminBodyBytes,
		MaxUploadBytes: MaxAdminUploadBytes,
		RequestTimeout: MaxAdminRequestTimeout,
	}
	if !reflect.DeepEqual(c.Admin, want) {
		t.Errorf("Admin = %+v, want %+v", c.Admin, want)
	}
	if want := (Monitoring{StreamMaxLen: MinStreamMaxLen, Instance: "ast-01.example.com", StatsRetention: MaxStatsRetention}); c.Monitoring != want {
		t.Errorf("Monitoring = %+v, want %+v", c.Monitoring, want)
	}
	// The other ends of the ranges.
	if _, _, err := loadYAML(t, "admin: {max_body_bytes: 67108864, max_upload_bytes: 1048576, request_timeout: 1s, listen: \"\"}\n"+
		"monitoring: {stream_max_len: 100000000, stats_retention: 1d}\n"); err != nil {
		t.Error(err)
	}
}

func TestAdminEnvOverrides(t *testing.T) {
	env := map[string]string{
		"BLACKLIST_ADMIN_LISTEN":               ":9573", // all interfaces: allowed because of the tokens
		"BLACKLIST_ADMIN_READ_TOKENS":          tokenA,
		"BLACKLIST_ADMIN_WRITE_TOKENS":         " " + tokenB + " , " + tokenC + ",",
		"BLACKLIST_ADMIN_MAX_BODY_BYTES":       "2048",
		"BLACKLIST_ADMIN_MAX_UPLOAD_BYTES":     "10485760",
		"BLACKLIST_ADMIN_REQUEST_TIMEOUT":      "1m",
		"BLACKLIST_MONITORING_STREAM_MAX_LEN":  "5000",
		"BLACKLIST_MONITORING_INSTANCE":        "pbx-2",
		"BLACKLIST_MONITORING_STATS_RETENTION": "2w",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	wantAdmin := Admin{
		Listen:         ":9573",
		ReadTokens:     []string{tokenA},
		WriteTokens:    []string{tokenB, tokenC},
		MaxBodyBytes:   2048,
		MaxUploadBytes: 10 << 20,
		RequestTimeout: time.Minute,
	}
	wantMonitoring := Monitoring{StreamMaxLen: 5000, Instance: "pbx-2", StatsRetention: 14 * 24 * time.Hour}
	for _, yaml := range []string{"", "admin:\n  listen: 127.0.0.1:1\n  write_tokens: [" + tokenA + "]\nmonitoring:\n  instance: other\n"} {
		c, _, err := loadYAML(t, yaml)
		if err != nil {
			t.Fatalf("%q: %v", yaml, err)
		}
		if !reflect.DeepEqual(c.Admin, wantAdmin) || c.Monitoring != wantMonitoring {
			t.Errorf("%q:\n got %+v %+v\nwant %+v %+v", yaml, c.Admin, c.Monitoring, wantAdmin, wantMonitoring)
		}
		if c.Admin.Loopback() {
			t.Errorf("%q: Loopback() = true for %q", yaml, c.Admin.Listen)
		}
	}
}

// assertNoSecret fails if any of the test tokens appears in err, in the
// fields of its *Error values or in out.
func assertNoSecret(t *testing.T, err error, out string) {
	t.Helper()
	var fields []string
	eachError(err, func(e *Error) { fields = append(fields, e.Value, e.Msg, e.Key) })
	all := out + "\n" + strings.Join(fields, "\n")
	if err != nil {
		all += "\n" + err.Error()
	}
	for _, tok := range []string{tokenA, tokenB, tokenC, "short-secret", "has space in the token", "bad,comma-token-xx"} {
		if strings.Contains(all, tok) {
			t.Errorf("secret %q printed: %s", tok, all)
		}
	}
}

func TestAdminInvalidValues(t *testing.T) {
	tests := []struct {
		name, yaml, key, msg string
		value                string // Value of the *Error
	}{
		{"listen not host:port", "admin: {listen: localhost}\n", "admin.listen",
			`must be "" (off) or host:port`, "localhost"},
		{"listen bad port", "admin: {listen: \"127.0.0.1:99999\"}\n", "admin.listen",
			`must be "" (off) or host:port`, "127.0.0.1:99999"},
		{"all interfaces without token", "admin: {listen: \":9573\"}\n", "admin.listen",
			"set admin.read_tokens/write_tokens or BLACKLIST_ADMIN_WRITE_TOKENS", ":9573"},
		{"0.0.0.0 without token", "admin: {listen: \"0.0.0.0:9573\"}\n", "admin.listen",
			"is not a loopback address", "0.0.0.0:9573"},
		{"LAN address without token", "admin: {listen: \"192.168.1.10:9573\"}\n", "admin.listen",
			"needs a token", "192.168.1.10:9573"},
		{"IPv6 without token", "admin: {listen: \"[::]:9573\"}\n", "admin.listen", "needs a token", "[::]:9573"},
		{"short token", "admin: {read_tokens: [short-secret]}\n", "admin.read_tokens[0]",
			"a token must be 16 to 4096 characters long (this one has 12)", redacted},
		{"token with space", "admin: {write_tokens: [" + tokenB + ", \"has space in the token\"]}\n", "admin.write_tokens[1]",
			"printable ASCII without spaces or commas (character 4 is not)", redacted},
		{"token with comma", "admin: {write_tokens: [\"bad,comma-token-xx\"]}\n", "admin.write_tokens[0]",
			"without spaces or commas", redacted},
		{"token with non-ASCII", "admin: {write_tokens: [\"" + tokenB + "é\"]}\n", "admin.write_tokens[0]",
			"printable ASCII", redacted},
		{"duplicate within a list", "admin: {read_tokens: [" + tokenA + ", " + tokenB + ", " + tokenA + "]}\n", "admin.read_tokens[2]",
			"same token as admin.read_tokens[0]", redacted},
		{"duplicate between lists", "admin: {read_tokens: [" + tokenA + "], write_tokens: [" + tokenC + ", " + tokenA + "]}\n", "admin.write_tokens[1]",
			"same token as admin.read_tokens[0]", redacted},
		{"token as a mapping", "admin: {read_tokens: [{" + tokenA + ": x}]}\n", "admin.read_tokens[0]", "must be a single value", ""},
		{"max_body_bytes low", "admin: {max_body_bytes: 1023}\n", "admin.max_body_bytes", "must be from 1024 to 67108864", "1023"},
		{"max_body_bytes high", "admin: {max_body_bytes: 67108865}\n", "admin.max_body_bytes", "must be from 1024 to 67108864", "67108865"},
		{"max_body_bytes unit", "admin: {max_body_bytes: 1MiB}\n", "admin.max_body_bytes", "must be a whole number", "1MiB"},
		{"max_upload_bytes low", "admin: {max_upload_bytes: 1048575}\n", "admin.max_upload_bytes", "must be from 1048576 to 68719476736", "1048575"},
		{"max_upload_bytes high", "admin: {max_upload_bytes: 68719476737}\n", "admin.max_upload_bytes", "must be from 1048576 to 68719476736", "68719476737"},
		{"request_timeout low", "admin: {request_timeout: 999ms}\n", "admin.request_timeout", "must be from 1s to 10m", "999ms"},
		{"request_timeout high", "admin: {request_timeout: 11m}\n", "admin.request_timeout", "must be from 1s to 10m", "11m"},
		{"request_timeout no unit", "admin: {request_timeout: 30}\n", "admin.request_timeout", "must be a duration with a unit", "30"},
		{"unknown admin key", "admin: {tokens: [" + tokenA + "]}\n", "admin.tokens", "unknown key", ""},
		{"stream_max_len low", "monitoring: {stream_max_len: 999}\n", "monitoring.stream_max_len", "must be from 1000 to 100000000", "999"},
		{"stream_max_len high", "monitoring: {stream_max_len: 100000001}\n", "monitoring.stream_max_len", "must be from 1000 to 100000000", "100000001"},
		{"instance with space", "monitoring: {instance: \"pbx 1\"}\n", "monitoring.instance", "must be \"\" (the host name) or 1 to 253 of", "pbx 1"},
		{"instance starts with dot", "monitoring: {instance: .pbx}\n", "monitoring.instance", "starting with a letter or digit", ".pbx"},
		{"instance too long", "monitoring: {instance: " + strings.Repeat("a", 254) + "}\n", "monitoring.instance", "1 to 253", strings.Repeat("a", 254)},
		{"stats_retention low", "monitoring: {stats_retention: 23h}\n", "monitoring.stats_retention", "must be from 1d to 400d", "23h"},
		{"stats_retention high", "monitoring: {stats_retention: 401d}\n", "monitoring.stats_retention", "must be from 1d to 400d", "401d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, path, err := loadYAML(t, tt.yaml)
			if err == nil || c != nil {
				t.Fatalf("Load = %+v, %v; want an error", c, err)
			}
			e := problem(t, err, tt.key)
			if !errors.Is(e, ErrInvalidValue) && !errors.Is(e, ErrUnknownKey) {
				t.Errorf("error %v is neither ErrInvalidValue nor ErrUnknownKey", e)
			}
			if e.File != path || e.Line != 1 {
				t.Errorf("error at %s:%d, want %s:1", e.File, e.Line, path)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Msg, tt.msg)
			}
			if e.Value != tt.value {
				t.Errorf("Value = %q, want %q", e.Value, tt.value)
			}
			assertNoSecret(t, err, "")
		})
	}
}

// A token read from the environment is reported under its variable,
// without the token.
func TestAdminEnvBadToken(t *testing.T) {
	t.Setenv("BLACKLIST_ADMIN_WRITE_TOKENS", tokenB+",short-secret")
	_, _, err := loadYAML(t, "admin: {listen: \":9573\"}\n")
	e := problem(t, err, "admin.write_tokens[1]")
	if want := `admin.write_tokens[1] (from $BLACKLIST_ADMIN_WRITE_TOKENS) = "<redacted>": a token must be 16 to 4096 characters long (this one has 12)`; e.Error() != want {
		t.Errorf("message = %q, want %q", e.Error(), want)
	}
	assertNoSecret(t, err, "")
	// The listener itself is fine: there is a token.
	eachError(err, func(e *Error) {
		if e.Key == "admin.listen" {
			t.Errorf("unexpected %v", e)
		}
	})
}

func TestAdminLoopback(t *testing.T) {
	tests := []struct {
		listen string
		want   bool
	}{
		{"127.0.0.1:9573", true},
		{"127.1.2.3:9573", true},
		{"[::1]:9573", true},
		{"localhost:9573", true},
		{"LocalHost:0", true},
		{"[::ffff:127.0.0.1]:9573", true},
		{"", false},
		{":9573", false},
		{"0.0.0.0:9573", false},
		{"[::]:9573", false},
		{"10.0.0.1:9573", false},
		{"128.0.0.1:9573", false},
		{"localhost.example.com:9573", false},
		{"admin:9573", false},
		{"127.0.0.1", false}, // not host:port
	}
	for _, tt := range tests {
		if got := (Admin{Listen: tt.listen}).Loopback(); got != tt.want {
			t.Errorf("Admin{Listen: %q}.Loopback() = %v, want %v", tt.listen, got, tt.want)
		}
	}
	// Loopback listeners need no token; "" is off and needs none either.
	for _, listen := range []string{"127.0.0.1:0", "[::1]:9573", "localhost:9573", ""} {
		if _, _, err := loadYAML(t, "admin: {listen: \""+listen+"\"}\n"); err != nil {
			t.Errorf("listen %q: %v", listen, err)
		}
	}
	if (Admin{}).Enabled() {
		t.Error(`Admin{Listen: ""}.Enabled() = true`)
	}
}

func TestInstanceName(t *testing.T) {
	if got := (Monitoring{Instance: "pbx-1"}).InstanceName(); got != "pbx-1" {
		t.Errorf("InstanceName() = %q, want pbx-1", got)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	if got := (Monitoring{}).InstanceName(); got != host || got == "" {
		t.Errorf("InstanceName() = %q, want the host name %q", got, host)
	}
}

func TestRedactedYAMLHidesTokens(t *testing.T) {
	c := Default()
	c.Admin.Listen = ":9573"
	c.Admin.ReadTokens = []string{tokenA}
	c.Admin.WriteTokens = []string{tokenB, tokenC}
	c.Monitoring.Instance = "pbx-1"
	out, err := c.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, nil, string(out))
	if n := strings.Count(string(out), redacted); n != 3 {
		t.Errorf("%d placeholders, want 3 (one per token):\n%s", n, out)
	}
	// The Config itself is untouched.
	if c.Admin.ReadTokens[0] != tokenA || c.Admin.WriteTokens[1] != tokenC {
		t.Errorf("RedactedYAML changed the Config: %+v", c.Admin)
	}
	// Without tokens the output loads back to the same configuration.
	c = Default()
	c.CampaignsDir = "/srv/campaigns"
	c.Admin.RequestTimeout = 90 * time.Second
	c.Monitoring = Monitoring{StreamMaxLen: 2000, Instance: "pbx-1", StatsRetention: 60 * 24 * time.Hour}
	out, err = c.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := loadYAML(t, string(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c.File = back.File
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, c)
	}
}
