package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestMain clears the environment variables this package reads, so that
// the caller's environment cannot change the results.
func TestMain(m *testing.M) {
	for env := range EnvVars() {
		os.Unsetenv(env)
	}
	os.Exit(m.Run())
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadYAML loads content as a main file in a fresh folder.
func loadYAML(t *testing.T, content string) (*Config, string, error) {
	t.Helper()
	path := writeFile(t, t.TempDir(), "blacklist-agi.yaml", content)
	c, err := Load(path)
	return c, path, err
}

// problem returns the *Error in err for key, failing if there is none.
func problem(t *testing.T, err error, key string) *Error {
	t.Helper()
	var found *Error
	eachError(err, func(e *Error) {
		if e.Key == key && found == nil {
			found = e
		}
	})
	if found == nil {
		t.Fatalf("no problem reported for key %q; got: %v", key, err)
	}
	return found
}

func TestLoadWithoutFileGivesDefaults(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(c, want) {
		t.Errorf("Load(\"\") =\n%+v\nwant\n%+v", c, want)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default() is not valid: %v", err)
	}
}

// The example files ship to users: they must load, and the main one must
// document exactly the built-in defaults.
func TestExampleFiles(t *testing.T) {
	c, campaigns, err := Check("blacklist-agi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.File = "blacklist-agi.yaml"
	want.CampaignsDir = "campaigns"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("blacklist-agi.yaml does not match Default():\n got %+v\nwant %+v", c, want)
	}
	if len(campaigns) != 2 || campaigns["promo"] == nil || campaigns["cobranca"] == nil {
		t.Fatalf("example campaigns = %v, want promo and cobranca", campaigns)
	}
	if !c.Lists["nao-me-perturbe"].Compact() || c.Lists["spam"].Compact() {
		t.Errorf("example lists = %+v, want only nao-me-perturbe compact", c.Lists)
	}
	promo := campaigns["promo"]
	if got, want := promo.Lists, []string{"spam", "no-answer", "nao-me-perturbe", "opt-out"}; !reflect.DeepEqual(got, want) {
		t.Errorf("promo lists = %q, want %q", got, want)
	}
	if promo.ContactsKey != "dialer:queue:promo" || promo.ContactsType != ContactsList || promo.ContactsFormat != FormatCanonical {
		t.Errorf("promo contacts = %q %q %q", promo.ContactsKey, promo.ContactsType, promo.ContactsFormat)
	}
	if promo.Number.CountryCode != "55" || promo.Number.AreaCode != "11" {
		t.Errorf("promo number rules = %+v", promo.Number)
	}
	if promo.OptOut != (OptOutRule{List: "opt-out", Reason: "opt-out"}) || promo.Spam != (SpamRule{List: "spam"}) {
		t.Errorf("promo optout, spam = %+v, %+v", promo.OptOut, promo.Spam)
	}
	if want := (NoAnswerRule{Enabled: true, Attempts: 3, Window: 24 * time.Hour, Statuses: []string{"NOANSWER"}, List: "no-answer", TTL: 7 * 24 * time.Hour}); !reflect.DeepEqual(promo.NoAnswer, want) {
		t.Errorf("promo no_answer = %+v, want %+v", promo.NoAnswer, want)
	}
	if want := (InvalidRule{Enabled: true, Causes: []int{1}, List: "spam", TTL: 30 * 24 * time.Hour}); !reflect.DeepEqual(promo.Invalid, want) {
		t.Errorf("promo invalid = %+v, want %+v", promo.Invalid, want)
	}
	cob := campaigns["cobranca"]
	if cob.Action != ActionGoto || cob.GotoTarget != (GotoTarget{"blacklist-blocked", "s", "1"}) || cob.OnError != OnErrorAllow || cob.ContactsKey != "" {
		t.Errorf("cobranca = %+v", cob)
	}
	// cobranca says nothing about the rules: the defaults, all off.
	if d := c.Defaults; cob.OptOut != d.OptOut || cob.Spam != d.Spam || !reflect.DeepEqual(cob.NoAnswer, d.NoAnswer) ||
		!reflect.DeepEqual(cob.Invalid, d.Invalid) || cob.NoAnswer.Enabled || cob.Invalid.Enabled {
		t.Errorf("cobranca rules = %+v %+v %+v %+v", cob.OptOut, cob.Spam, cob.NoAnswer, cob.Invalid)
	}
	for _, name := range []string{"campaigns/promo.yaml", "campaigns/cobranca.yaml"} {
		if _, err := LoadCampaignFile(c, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"BLACKLIST_LISTEN":                         "127.0.0.1:5000", // also in the file
		"BLACKLIST_REDIS_ADDR":                     "redis-a:6379, redis-b:6379",
		"BLACKLIST_REDIS_PASSWORD":                 "s3cret", // only a default
		"BLACKLIST_REDIS_CLUSTER":                  "true",
		"BLACKLIST_CAMPAIGNS_DIR":                  "/etc/campaigns",
		"BLACKLIST_LIMITS_MAX_SESSIONS":            "42",
		"BLACKLIST_LIMITS_ENV_TIMEOUT":             "2s",
		"BLACKLIST_LOG_LEVEL":                      "debug",
		"BLACKLIST_DEFAULTS_ON_ERROR":              "allow",
		"BLACKLIST_DEFAULTS_LISTS":                 "spam, no-answer",
		"BLACKLIST_DEFAULTS_TIMEOUT":               "1s",
		"BLACKLIST_DEFAULTS_NUMBER_AREA_CODE":      "11",
		"BLACKLIST_DEFAULTS_NUMBER_STRIP_PREFIXES": "0,00",

		"BLACKLIST_MANAGEMENT_AUDIT_MAX_LEN":   "5000",
		"BLACKLIST_MANAGEMENT_SWEEP_INTERVAL":  "1m",
		"BLACKLIST_MANAGEMENT_SWEEP_BATCH":     "100",
		"BLACKLIST_MANAGEMENT_VERSION_REFRESH": "250ms", // also in the file
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	check := func(t *testing.T, c *Config) {
		t.Helper()
		want := Default()
		want.Listen = "127.0.0.1:5000"
		want.Redis.Addr = "redis-a:6379, redis-b:6379"
		want.Redis.Password = "s3cret"
		want.Redis.Cluster = true
		want.CampaignsDir = "/etc/campaigns"
		want.Limits.MaxSessions = 42
		want.Limits.EnvTimeout = 2 * time.Second
		want.Log.Level = "debug"
		want.Defaults.OnError = OnErrorAllow
		want.Defaults.Lists = []string{"spam", "no-answer"}
		want.Defaults.Timeout = time.Second
		want.Defaults.Number.AreaCode = "11"
		want.Defaults.Number.StripPrefixes = []string{"0", "00"}
		want.Management = ListManagement{AuditMaxLen: 5000, SweepInterval: time.Minute, SweepBatch: 100, VersionRefresh: 250 * time.Millisecond}
		want.File = c.File
		if !reflect.DeepEqual(c, want) {
			t.Errorf("got\n%+v\nwant\n%+v", c, want)
		}
		if got := c.Redis.Addrs(); !reflect.DeepEqual(got, []string{"redis-a:6379", "redis-b:6379"}) {
			t.Errorf("Addrs() = %q", got)
		}
	}
	t.Run("no file", func(t *testing.T) {
		c, err := Load("")
		if err != nil {
			t.Fatal(err)
		}
		check(t, c)
	})
	t.Run("file", func(t *testing.T) {
		c, _, err := loadYAML(t, "listen: \":4573\"\nlimits:\n  max_sessions: 7\ndefaults:\n  on_error: block\nmanagement:\n  version_refresh: 5s\n")
		if err != nil {
			t.Fatal(err)
		}
		check(t, c)
	})
}

func TestEnvBadValueNamesVariable(t *testing.T) {
	t.Setenv("BLACKLIST_LIMITS_MAX_SESSIONS", "lots")
	t.Setenv("BLACKLIST_LOG_FORMAT", "xml")
	_, path, err := loadYAML(t, "limits:\n  max_sessions: 5\n")
	if !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("err = %v, want ErrInvalidValue", err)
	}
	e := problem(t, err, "limits.max_sessions")
	if e.Env != "BLACKLIST_LIMITS_MAX_SESSIONS" || e.Value != "lots" {
		t.Errorf("error = %+v", e)
	}
	if want := `limits.max_sessions (from $BLACKLIST_LIMITS_MAX_SESSIONS) = "lots": must be a whole number`; e.Error() != want {
		t.Errorf("message = %q, want %q", e.Error(), want)
	}
	_ = path
	t.Setenv("BLACKLIST_LIMITS_MAX_SESSIONS", "")
	_, _, err = loadYAML(t, "")
	if e := problem(t, err, "log.format"); e.Env != "BLACKLIST_LOG_FORMAT" {
		t.Errorf("error = %+v", e)
	}
}

func TestEnvBadManagement(t *testing.T) {
	tests := []struct{ env, value, key, msg string }{
		{"BLACKLIST_MANAGEMENT_AUDIT_MAX_LEN", "0", "management.audit_max_len", "must be from 1 to 10000000"},
		{"BLACKLIST_MANAGEMENT_AUDIT_MAX_LEN", "100k", "management.audit_max_len", "must be a whole number"},
		{"BLACKLIST_MANAGEMENT_SWEEP_INTERVAL", "30", "management.sweep_interval", "must be a duration with a unit, such as 300ms, 5s, 1h, 7d or 2w"},
		{"BLACKLIST_MANAGEMENT_SWEEP_INTERVAL", "1d", "management.sweep_interval", "must be from 1s to 1h"},
		{"BLACKLIST_MANAGEMENT_SWEEP_INTERVAL", "2h", "management.sweep_interval", "must be from 1s to 1h"},
		{"BLACKLIST_MANAGEMENT_SWEEP_BATCH", "10001", "management.sweep_batch", "must be from 1 to 10000"},
		{"BLACKLIST_MANAGEMENT_VERSION_REFRESH", "50ms", "management.version_refresh", "must be from 100ms to 10s"},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, _, err := loadYAML(t, "management:\n  sweep_batch: 10\n")
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("err = %v, want ErrInvalidValue", err)
			}
			e := problem(t, err, tt.key)
			if want := tt.key + " (from $" + tt.env + ") = \"" + tt.value + "\": " + tt.msg; e.Error() != want {
				t.Errorf("message = %q, want %q", e.Error(), want)
			}
		})
	}
}

func TestEnvVars(t *testing.T) {
	vars := EnvVars()
	for env, key := range map[string]string{
		"BLACKLIST_LISTEN":                               "listen",
		"BLACKLIST_KEY_PREFIX":                           "key_prefix",
		"BLACKLIST_REDIS_ADDR":                           "redis.addr",
		"BLACKLIST_REDIS_WRITE_TIMEOUT":                  "redis.write_timeout",
		"BLACKLIST_REDIS_MASTER_NAME":                    "redis.master_name",
		"BLACKLIST_REDIS_SENTINEL_PASSWORD":              "redis.sentinel_password",
		"BLACKLIST_REDIS_CLUSTER":                        "redis.cluster",
		"BLACKLIST_REDIS_TLS_CA_FILE":                    "redis.tls.ca_file",
		"BLACKLIST_ALLOWED_NETWORKS":                     "allowed_networks",
		"BLACKLIST_LIMITS_SHUTDOWN_TIMEOUT":              "limits.shutdown_timeout",
		"BLACKLIST_DEFAULTS_NUMBER_EXTENSION_MAX_LENGTH": "defaults.number.extension_max_length",
		"BLACKLIST_MANAGEMENT_AUDIT_MAX_LEN":             "management.audit_max_len",
		"BLACKLIST_MANAGEMENT_SWEEP_INTERVAL":            "management.sweep_interval",
		"BLACKLIST_MANAGEMENT_SWEEP_BATCH":               "management.sweep_batch",
		"BLACKLIST_MANAGEMENT_VERSION_REFRESH":           "management.version_refresh",
		"BLACKLIST_DEFAULTS_OPTOUT_REASON":               "defaults.optout.reason",
		"BLACKLIST_DEFAULTS_SPAM_TTL":                    "defaults.spam.ttl",
		"BLACKLIST_DEFAULTS_NO_ANSWER_ENABLED":           "defaults.no_answer.enabled",
		"BLACKLIST_DEFAULTS_NO_ANSWER_STATUSES":          "defaults.no_answer.statuses",
		"BLACKLIST_DEFAULTS_INVALID_CAUSES":              "defaults.invalid.causes",
	} {
		if vars[env] != key {
			t.Errorf("EnvVars()[%s] = %q, want %q", env, vars[env], key)
		}
	}
	// 4 top-level + 11 redis + 6 redis.tls + 7 limits + 2 log + 4 management + 7 admin +
	// 3 monitoring + 6 defaults + 4 number + 3 optout + 2 spam + 6
	// no_answer + 4 invalid.
	if len(vars) != 69 {
		t.Errorf("EnvVars() has %d entries, want 69: %v", len(vars), vars)
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		yaml, key string
		line      int
	}{
		{"lisen: \":1\"\n", "lisen", 1},
		{"Listen: \":1\"\n", "Listen", 1}, // keys are lower case
		{"redis:\n  adr: x\n", "redis.adr", 2},
		{"redis:\n  addr: \"a:1\"\n  colour:\n", "redis.colour", 3}, // null value
		{"lists:\n  spam:\n    colour: red\n", "lists[spam].colour", 3},
		{"defaults:\n  number:\n    area: \"11\"\n", "defaults.number.area", 3},
		{"file: x.yaml\n", "file", 1},
		{"management:\n  sweep_batch: 5\n  audit_maxlen: 10\n", "management.audit_maxlen", 3},
		{"lists:\n  nmp:\n    layuot: compact\n", "lists[nmp].layuot", 3},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, path, err := loadYAML(t, tt.yaml)
			if !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("err = %v, want ErrUnknownKey", err)
			}
			e := problem(t, err, tt.key)
			if e.File != path || e.Line != tt.line {
				t.Errorf("error at %s:%d, want %s:%d", e.File, e.Line, path, tt.line)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, tt.key) {
				t.Errorf("message %q does not name the file and key", msg)
			}
		})
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name, yaml, key string
		sentinel        error
	}{
		{"listen no port", `listen: "4573"`, "listen", ErrInvalidValue},
		{"listen port range", `listen: ":99999"`, "listen", ErrInvalidValue},
		{"listen list", `listen: [":1"]`, "listen", ErrInvalidValue},
		{"key_prefix empty", `key_prefix: ""`, "key_prefix", ErrInvalidValue},
		{"key_prefix space", `key_prefix: "a b:"`, "key_prefix", ErrInvalidValue},
		{"key_prefix brace", `key_prefix: "{bl}:"`, "key_prefix", ErrInvalidValue},
		{"campaigns_dir empty", `campaigns_dir: ""`, "campaigns_dir", ErrInvalidValue},
		{"redis not a mapping", `redis: "127.0.0.1:6379"`, "redis", ErrInvalidValue},
		{"redis.addr empty", "redis: {addr: \"\"}", "redis.addr", ErrInvalidValue},
		{"redis.addr no port", "redis: {addr: localhost}", "redis.addr", ErrInvalidValue},
		{"redis.addr empty host", "redis: {addr: \":6379\"}", "redis.addr", ErrInvalidValue},
		{"redis.addr port 0", "redis: {addr: \"h:0\"}", "redis.addr", ErrInvalidValue},
		{"redis.addr empty entry", "redis: {addr: \"a:1,,b:2\", cluster: true}", "redis.addr", ErrInvalidValue},
		{"redis.addr list alone", "redis: {addr: \"a:1,b:2\"}", "redis.addr", ErrInvalidValue},
		{"redis.db negative", "redis: {db: -1}", "redis.db", ErrInvalidValue},
		{"redis.db text", "redis: {db: one}", "redis.db", ErrInvalidValue},
		{"redis.pool_size negative", "redis: {pool_size: -1}", "redis.pool_size", ErrInvalidValue},
		{"redis.dial_timeout zero", "redis: {dial_timeout: 0s}", "redis.dial_timeout", ErrInvalidValue},
		{"redis.read_timeout no unit", "redis: {read_timeout: 500}", "redis.read_timeout", ErrInvalidValue},
		{"redis.write_timeout text", "redis: {write_timeout: soon}", "redis.write_timeout", ErrInvalidValue},
		{"redis.cluster text", "redis: {cluster: maybe}", "redis.cluster", ErrInvalidValue},
		{"redis.master_name with cluster", "redis: {master_name: mymaster, cluster: true}", "redis.master_name", ErrInvalidValue},
		{"redis.master_name spaces", "redis: {master_name: \" mymaster\"}", "redis.master_name", ErrInvalidValue},
		{"redis.db with cluster", "redis: {db: 2, cluster: true}", "redis.db", ErrInvalidValue},
		{"redis.sentinel_password list", "redis: {sentinel_password: [x]}", "redis.sentinel_password", ErrInvalidValue},
		{"limits.max_sessions zero", "limits: {max_sessions: 0}", "limits.max_sessions", ErrInvalidValue},
		{"limits.max_sessions float", "limits: {max_sessions: 1.5}", "limits.max_sessions", ErrInvalidValue},
		{"limits.env_timeout negative", "limits: {env_timeout: -1s}", "limits.env_timeout", ErrInvalidValue},
		{"limits.command_timeout zero", "limits: {command_timeout: 0s}", "limits.command_timeout", ErrInvalidValue},
		{"limits.session_timeout zero", "limits: {session_timeout: 0s}", "limits.session_timeout", ErrInvalidValue},
		{"limits.max_line_bytes zero", "limits: {max_line_bytes: 0}", "limits.max_line_bytes", ErrInvalidValue},
		{"limits.max_env_lines negative", "limits: {max_env_lines: -5}", "limits.max_env_lines", ErrInvalidValue},
		{"limits.shutdown_timeout zero", "limits: {shutdown_timeout: 0s}", "limits.shutdown_timeout", ErrInvalidValue},
		{"log.level", "log: {level: verbose}", "log.level", ErrInvalidValue},
		{"log.format", "log: {format: xml}", "log.format", ErrInvalidValue},
		{"list name", "lists: {\"bad name\": {}}", "lists[bad name]", ErrInvalidValue},
		{"list name start", "lists: {-spam: {}}", "lists[-spam]", ErrInvalidValue},
		{"list reason", "lists: {spam: {reason: \"a b\"}}", "lists[spam].reason", ErrInvalidValue},
		{"list all_campaigns", "lists: {spam: {all_campaigns: maybe}}", "lists[spam].all_campaigns", ErrInvalidValue},
		{"lists not a mapping", "lists: [spam]", "lists", ErrInvalidValue},
		{"list layout", "lists: {spam: {layout: intset}}", "lists[spam].layout", ErrInvalidValue},
		{"list layout case", "lists: {spam: {layout: Compact}}", "lists[spam].layout", ErrInvalidValue},
		{"list layout list", "lists: {spam: {layout: [compact]}}", "lists[spam].layout", ErrInvalidValue},
		{"management not a mapping", "management: 500", "management", ErrInvalidValue},
		{"audit_max_len zero", "management: {audit_max_len: 0}", "management.audit_max_len", ErrInvalidValue},
		{"audit_max_len negative", "management: {audit_max_len: -1}", "management.audit_max_len", ErrInvalidValue},
		{"audit_max_len too big", "management: {audit_max_len: 10000001}", "management.audit_max_len", ErrInvalidValue},
		{"audit_max_len float", "management: {audit_max_len: 1e5}", "management.audit_max_len", ErrInvalidValue},
		{"audit_max_len past int32", "management: {audit_max_len: 10000000000}", "management.audit_max_len", ErrInvalidValue},
		{"audit_max_len past int64", "management: {audit_max_len: 99999999999999999999}", "management.audit_max_len", ErrInvalidValue},
		{"sweep_interval too short", "management: {sweep_interval: 999ms}", "management.sweep_interval", ErrInvalidValue},
		{"sweep_interval too long", "management: {sweep_interval: 61m}", "management.sweep_interval", ErrInvalidValue},
		{"sweep_interval no unit", "management: {sweep_interval: 30}", "management.sweep_interval", ErrInvalidValue},
		{"sweep_batch zero", "management: {sweep_batch: 0}", "management.sweep_batch", ErrInvalidValue},
		{"sweep_batch too big", "management: {sweep_batch: 100001}", "management.sweep_batch", ErrInvalidValue},
		{"sweep_batch text", "management: {sweep_batch: all}", "management.sweep_batch", ErrInvalidValue},
		{"version_refresh too short", "management: {version_refresh: 99ms}", "management.version_refresh", ErrInvalidValue},
		{"version_refresh too long", "management: {version_refresh: 11s}", "management.version_refresh", ErrInvalidValue},
		{"version_refresh negative", "management: {version_refresh: -1s}", "management.version_refresh", ErrInvalidValue},
		{"defaults.lists undeclared", "defaults: {lists: [spam, nope]}", "defaults.lists[1]", ErrUndeclaredList},
		{"defaults.lists mapping", "defaults: {lists: {a: b}}", "defaults.lists", ErrInvalidValue},
		{"defaults.action", "defaults: {action: drop}", "defaults.action", ErrInvalidValue},
		{"defaults.hangup_cause 0", "defaults: {hangup_cause: 0}", "defaults.hangup_cause", ErrInvalidValue},
		{"defaults.hangup_cause 128", "defaults: {hangup_cause: 128}", "defaults.hangup_cause", ErrInvalidValue},
		{"defaults.goto missing", "defaults: {action: goto}", "defaults.goto", ErrInvalidValue},
		{"defaults.goto 4 parts", "defaults: {action: goto, goto: \"a,b,c,d\"}", "defaults.goto", ErrInvalidValue},
		{"defaults.goto empty exten", "defaults: {goto: \"ctx,,1\"}", "defaults.goto", ErrInvalidValue},
		{"defaults.goto priority 0", "defaults: {goto: \"ctx,s,0\"}", "defaults.goto", ErrInvalidValue},
		{"defaults.on_error", "defaults: {on_error: maybe}", "defaults.on_error", ErrInvalidValue},
		{"defaults.timeout zero", "defaults: {timeout: 0s}", "defaults.timeout", ErrInvalidValue},
		{"defaults.timeout too short", "defaults: {timeout: 500us}", "defaults.timeout", ErrInvalidValue},
		{"defaults.timeout too long", "defaults: {timeout: 61s}", "defaults.timeout", ErrInvalidValue},
		{"country_code empty", "defaults: {number: {country_code: \"\"}}", "defaults.number.country_code", ErrInvalidValue},
		{"country_code long", "defaults: {number: {country_code: \"1234\"}}", "defaults.number.country_code", ErrInvalidValue},
		{"country_code plus", "defaults: {number: {country_code: \"+55\"}}", "defaults.number.country_code", ErrInvalidValue},
		{"area_code 1 digit", "defaults: {number: {area_code: \"1\"}}", "defaults.number.area_code", ErrInvalidValue},
		{"area_code letters", "defaults: {number: {area_code: ab}}", "defaults.number.area_code", ErrInvalidValue},
		{"strip_prefixes empty", "defaults: {number: {strip_prefixes: [\"0\", \"\"]}}", "defaults.number.strip_prefixes[1]", ErrInvalidValue},
		{"strip_prefixes letters", "defaults: {number: {strip_prefixes: [0x]}}", "defaults.number.strip_prefixes[0]", ErrInvalidValue},
		{"extension_max_length 0", "defaults: {number: {extension_max_length: 0}}", "defaults.number.extension_max_length", ErrInvalidValue},
		{"extension_max_length 16", "defaults: {number: {extension_max_length: 16}}", "defaults.number.extension_max_length", ErrInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := loadYAML(t, tt.yaml+"\n")
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			e := problem(t, err, tt.key)
			if e.File != path || e.Line != 1 {
				t.Errorf("error at %s:%d, want %s:1", e.File, e.Line, path)
			}
			if msg := e.Error(); !strings.HasPrefix(msg, path+":1: "+tt.key) {
				t.Errorf("message %q does not start with file:line: key", msg)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	for name, content := range map[string]string{
		"bad yaml":       "listen: [\n",
		"duplicate key":  "listen: \":1\"\nlisten: \":2\"\n",
		"two documents":  "listen: \":1\"\n---\nlisten: \":2\"\n",
		"top-level list": "- listen\n",
		"merge key":      "base: &b {addr: \"a:1\"}\nredis:\n  <<: *b\n",
		"tab indent":     "redis:\n\taddr: x\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, path, err := loadYAML(t, content)
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("err = %v, want ErrSyntax", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("a folder as main file: no error")
	}
}

func TestValuesAreReadAsWritten(t *testing.T) {
	c, _, err := loadYAML(t, `
redis:
  password: 007
  db: 3
defaults:
  number:
    country_code: 055
    strip_prefixes: [00, 0]
    extension_max_length: "6"
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Password != "007" || c.Redis.DB != 3 {
		t.Errorf("redis = %+v", c.Redis)
	}
	n := c.Defaults.Number
	if n.CountryCode != "055" || !reflect.DeepEqual(n.StripPrefixes, []string{"00", "0"}) || n.ExtensionMaxLength != 6 {
		t.Errorf("number = %+v", n)
	}
}

func TestNullMeansDefault(t *testing.T) {
	c, _, err := loadYAML(t, "listen:\nredis:\nlimits:\n  max_sessions: ~\nmanagement:\n  sweep_batch:\ndefaults:\n  number:\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.File, want.CampaignsDir = c.File, c.CampaignsDir
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want defaults", c)
	}
}

func TestSharedLists(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       map[string]SharedList
	}{
		{"absent gives the defaults", "listen: \":1\"\n", defaultLists()},
		{"empty mapping", "lists: {}\n", map[string]SharedList{}},
		{"null", "lists:\n", map[string]SharedList{}},
		{"reason defaults to name, layout to plain, case kept", "lists:\n  Spam:\n  vip.list: {all_campaigns: true, description: VIPs}\n",
			map[string]SharedList{"Spam": {Reason: "Spam", Layout: LayoutPlain}, "vip.list": {Reason: "vip.list", AllCampaigns: true, Description: "VIPs", Layout: LayoutPlain}}},
		{"layouts", "lists:\n  nmp: {layout: compact}\n  spam: {layout: plain}\n  empty: {layout: \"\"}\n  null: {layout: ~}\n",
			map[string]SharedList{
				"nmp":   {Reason: "nmp", Layout: LayoutCompact},
				"spam":  {Reason: "spam", Layout: LayoutPlain},
				"empty": {Reason: "empty", Layout: LayoutPlain},
				"null":  {Reason: "null", Layout: LayoutPlain},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := loadYAML(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Lists, tt.want) {
				t.Errorf("lists = %+v, want %+v", c.Lists, tt.want)
			}
		})
	}
}

func TestSharedListCompact(t *testing.T) {
	for layout, want := range map[string]bool{LayoutCompact: true, LayoutPlain: false, "": false} {
		if got := (SharedList{Layout: layout}).Compact(); got != want {
			t.Errorf("SharedList{Layout: %q}.Compact() = %v, want %v", layout, got, want)
		}
	}
	// A SharedList built by hand without a layout is valid (plain).
	c := Default()
	c.Lists["vip"] = SharedList{Reason: "vip"}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

// The bounds of management are inclusive.
func TestManagementBounds(t *testing.T) {
	for _, yaml := range []string{
		"management: {audit_max_len: 1, sweep_interval: 1s, sweep_batch: 1, version_refresh: 100ms}\n",
		"management: {audit_max_len: 10000000, sweep_interval: 1h, sweep_batch: 10000, version_refresh: 10s}\n",
	} {
		if _, _, err := loadYAML(t, yaml); err != nil {
			t.Errorf("%s: %v", yaml, err)
		}
	}
	c, _, err := loadYAML(t, "management: {sweep_interval: 2m30s}\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Default().Management
	want.SweepInterval = 150 * time.Second
	if c.Management != want {
		t.Errorf("Management = %+v, want %+v", c.Management, want)
	}
}

func TestSharedListNames(t *testing.T) {
	c := Default()
	if got, want := c.SharedListNames(), []string{"nao-me-perturbe", "no-answer", "opt-out", "spam"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SharedListNames() = %q, want %q", got, want)
	}
	c.Lists = map[string]SharedList{"b": {}, "B": {}, "a": {}}
	if got, want := c.SharedListNames(), []string{"B", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SharedListNames() = %q, want %q", got, want)
	}
	c.Lists = map[string]SharedList{}
	if got := c.SharedListNames(); len(got) != 0 {
		t.Errorf("SharedListNames() = %q, want none", got)
	}
}

func TestCampaignsDirResolution(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ file, content, want string }{
		{"sub/main.yaml", "campaigns_dir: camp\n", filepath.Join(dir, "sub", "camp")},
		{"main.yaml", "", filepath.Join(dir, "campaigns")},
		{"abs.yaml", "campaigns_dir: /srv/campaigns\n", "/srv/campaigns"},
	}
	for _, tt := range tests {
		c, err := Load(writeFile(t, dir, tt.file, tt.content))
		if err != nil {
			t.Fatal(err)
		}
		if c.CampaignsDir != tt.want {
			t.Errorf("%s: CampaignsDir = %q, want %q", tt.file, c.CampaignsDir, tt.want)
		}
	}
	c, err := Load("")
	if err != nil || c.CampaignsDir != "campaigns" {
		t.Errorf("no file: CampaignsDir = %q, %v; want campaigns", c.CampaignsDir, err)
	}
}

func TestRedactedYAMLRoundTrip(t *testing.T) {
	c := Default()
	c.CampaignsDir = "/srv/campaigns"
	c.Redis.Password = "s3cret"
	c.Redis.MasterName = "mymaster"
	c.Redis.SentinelPassword = "s3ntinel"
	c.Defaults.Number.StripPrefixes = []string{"0", "00"}
	c.Lists["spam"] = SharedList{Reason: "spam", Layout: LayoutCompact}
	c.Management = ListManagement{AuditMaxLen: 7, SweepInterval: 90 * time.Second, SweepBatch: 3, VersionRefresh: 150 * time.Millisecond}
	c.Lists["spam"] = SharedList{Reason: "spam", Layout: LayoutPlain}
	c.Defaults.OptOut = OptOutRule{List: "opt-out", Reason: "consent-revoked", TTL: 2 * week}
	c.Defaults.NoAnswer = NoAnswerRule{Enabled: true, Attempts: 4, Window: 36 * time.Hour, Statuses: []string{"BUSY", "NOANSWER"}, List: "no-answer", TTL: 3 * day}
	c.Defaults.Invalid = InvalidRule{Enabled: true, Causes: []int{1, 28}, List: "spam", TTL: 30 * day}
	out, err := c.RedactedYAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret") || strings.Contains(string(out), "s3ntinel") || !strings.Contains(string(out), "<redacted>") {
		t.Fatalf("password not redacted:\n%s", out)
	}
	back, _, err := loadYAML(t, string(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c.Redis.Password = "<redacted>"
	c.Redis.SentinelPassword = "<redacted>"
	c.File = back.File
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, c)
	}
}

func TestParseGoto(t *testing.T) {
	tests := []struct {
		in   string
		want GotoTarget
		ok   bool
	}{
		{"blocked,s,1", GotoTarget{"blocked", "s", "1"}, true},
		{"from-internal,+5511999,hangup", GotoTarget{"from-internal", "+5511999", "hangup"}, true},
		{"s,10", GotoTarget{"", "s", "10"}, true},
		{"blocked", GotoTarget{"", "", "blocked"}, true},
		{"2", GotoTarget{"", "", "2"}, true},
		{"", GotoTarget{}, false},
		{"a,b,c,d", GotoTarget{}, false},
		{",s,1", GotoTarget{}, false},
		{"ctx,s,0", GotoTarget{}, false},
		{"ctx,s,01", GotoTarget{}, false},
		{"ctx,s,-1", GotoTarget{}, false},
		{"ctx,s ,1", GotoTarget{}, false},
		{"ctx,s,1 ", GotoTarget{}, false},
		{"c tx,s,1", GotoTarget{}, false},
		{"ctx,s,", GotoTarget{}, false},
	}
	for _, tt := range tests {
		got, err := ParseGoto(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseGoto(%q) = %+v, %v; want %+v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && (!errors.Is(err, ErrBadGoto) || !strings.Contains(err.Error(), tt.in)) {
			t.Errorf("ParseGoto(%q) error %q does not wrap ErrBadGoto and name the input", tt.in, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParseGoto(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"spam": true, "nao-me-perturbe": true, "a": true, "A1_b.c-d": true, "9x": true,
		strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
		"": false, "-a": false, "_a": false, ".a": false, "a b": false, "a/b": false, "ação": false, "a{b}": false,
	} {
		if got := ValidName(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{File: "a.yaml", Line: 3, Key: "log.level", Value: "x", Msg: "must be debug", Err: ErrInvalidValue, hasValue: true}, `a.yaml:3: log.level = "x": must be debug`},
		{&Error{File: "a.yaml", Key: "foo", Msg: "unknown key", Err: ErrUnknownKey}, `a.yaml: foo: unknown key`},
		{&Error{File: "a.yaml", Msg: "yaml: line 1: oops", Err: ErrSyntax}, `a.yaml: yaml: line 1: oops`},
		{&Error{Key: "listen", Value: "", Msg: "must be host:port", Err: ErrInvalidValue, hasValue: true}, `listen = "": must be host:port`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	// The password never appears in messages.
	_, _, err := loadYAML(t, "redis:\n  password: [s3cret]\n")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err = %v", err)
	}
}

func TestRedisTopology(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        map[string]string
		want       Redis
	}{
		{"sentinel", "redis: {addr: \"s1:26379, s2:26379\", master_name: mymaster, sentinel_password: pw}\n", nil,
			Redis{Addr: "s1:26379, s2:26379", MasterName: "mymaster", SentinelPassword: "pw"}},
		{"cluster", "redis: {addr: \"n1:7000,n2:7000\", cluster: true}\n", nil,
			Redis{Addr: "n1:7000,n2:7000", Cluster: true}},
		{"cluster from env", "", map[string]string{"BLACKLIST_REDIS_CLUSTER": "true", "BLACKLIST_REDIS_ADDR": "n1:7000"},
			Redis{Addr: "n1:7000", Cluster: true}},
		{"sentinel from env", "", map[string]string{"BLACKLIST_REDIS_MASTER_NAME": "m", "BLACKLIST_REDIS_SENTINEL_PASSWORD": "x"},
			Redis{Addr: "127.0.0.1:6379", MasterName: "m", SentinelPassword: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, _, err := loadYAML(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			got := Redis{Addr: c.Redis.Addr, MasterName: c.Redis.MasterName, SentinelPassword: c.Redis.SentinelPassword, Cluster: c.Redis.Cluster}
			if got != tt.want {
				t.Errorf("redis = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRedisSentinelAndClusterExclusive(t *testing.T) {
	_, path, err := loadYAML(t, "redis:\n  master_name: mymaster\n  cluster: true\n")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "redis.master_name") || !strings.Contains(msg, "redis.cluster") || !strings.Contains(msg, path) {
		t.Errorf("error %q must name %s, redis.master_name and redis.cluster", msg, path)
	}
}

func TestSentinelPasswordNeverPrinted(t *testing.T) {
	_, _, err := loadYAML(t, "redis:\n  sentinel_password: [t0ps3cret]\n")
	if err == nil || strings.Contains(err.Error(), "t0ps3cret") {
		t.Errorf("err = %v, want an error without the secret", err)
	}
}
