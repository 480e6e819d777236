// Package config loads and validates the configuration of blacklist-agi: a
// main YAML file with the server settings, the shared lists and the default
// campaign settings, overridable by BLACKLIST_* environment variables; and a
// folder of per-campaign YAML files that can be reloaded while the server
// runs.
//
// Every setting has a built-in default (see Default), so the server can run
// from environment variables alone. Precedence, highest first: environment
// variable, main file, built-in default. The variable for a key is
// BLACKLIST_ followed by the key path upper-cased with "_" for ".":
// BLACKLIST_REDIS_ADDR for redis.addr; EnvVars lists them all. List values
// (allowed_networks, defaults.lists, defaults.number.strip_prefixes) are
// comma-separated in environment variables, and so are
// defaults.no_answer.statuses and defaults.invalid.causes. The lists: section cannot be set from the
// environment; management: can (BLACKLIST_MANAGEMENT_SWEEP_BATCH), and so
// can the in-call blacklisting rules (BLACKLIST_DEFAULTS_NO_ANSWER_ENABLED),
// admin: and monitoring: (BLACKLIST_ADMIN_WRITE_TOKENS=token1,token2).
// Secrets (redis.password, redis.sentinel_password, admin.read_tokens,
// admin.write_tokens) are never printed: errors and RedactedYAML show
// "<redacted>" instead.
//
// Decoding is strict: unknown keys, values of the wrong type and out-of-range
// values are errors, and each *Error names the file, line, key, value and
// what is allowed. Keys are lower case, exactly as documented. Every value is
// read as the text that was written and then converted, the same way for
// files and environment variables: "0055" stays "0055" in a text setting,
// numbers are decimal, durations need a unit ("300ms", "5s", "1h"; whole
// days and weeks are written "7d", "2w"), null or an empty value means "not
// set" (the default applies).
//
// A campaign file is <campaigns_dir>/<id>.yaml (or .yml); every setting in
// it is optional and falls back, field by field, to the main file's
// defaults:. CampaignLoader reloads the folder and keeps the last good
// version of a campaign whose file turns bad; WatchDir reports changes.
package config

import (
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// Config is the main configuration file, with environment overrides and
// defaults applied.
type Config struct {
	// Listen is the FastAGI listener address, host:port; the host may be
	// empty (all interfaces) and port 0 picks a free port.
	Listen string `mapstructure:"listen" yaml:"listen"`
	// AllowedNetworks are the client networks that may connect to Listen
	// (the Asterisk hosts): CIDR prefixes ("10.0.0.0/8") or single
	// addresses ("192.0.2.10"). Connections from elsewhere are closed at
	// once and counted. Empty means every client may connect. See
	// AllowedPrefixes.
	AllowedNetworks []string `mapstructure:"allowed_networks" yaml:"allowed_networks"`
	// KeyPrefix is prepended to list names to form Redis keys.
	KeyPrefix string `mapstructure:"key_prefix" yaml:"key_prefix"`
	// CampaignsDir is the campaigns folder. Load resolves a relative path
	// against the main file's folder (against the working directory when
	// there is no file).
	CampaignsDir string `mapstructure:"campaigns_dir" yaml:"campaigns_dir"`
	// Redis is how to reach Redis.
	Redis Redis `mapstructure:"redis" yaml:"redis"`
	// Limits bound the FastAGI server's resources.
	Limits Limits `mapstructure:"limits" yaml:"limits"`
	// Log configures logging.
	Log Log `mapstructure:"log" yaml:"log"`
	// Lists are the shared lists this server knows, by name (case is
	// kept). Campaigns may only use lists declared here. When the main file
	// has no lists: key, the four lists of Default are used; "lists: {}" or
	// an empty "lists:" declares none.
	Lists map[string]SharedList `mapstructure:"lists" yaml:"lists"`
	// Management tunes the upkeep of lists: audit streams, removal of
	// expired entries, following compact lists' versions.
	Management ListManagement `mapstructure:"management" yaml:"management"`
	// Admin configures the admin HTTP listener (metrics, probes, JSON API).
	Admin Admin `mapstructure:"admin" yaml:"admin"`
	// Monitoring configures the blocked-call log and statistics in Redis.
	Monitoring Monitoring `mapstructure:"monitoring" yaml:"monitoring"`
	// Defaults are the campaign settings used where a campaign file is
	// silent, and for unknown or missing campaigns.
	Defaults CampaignSettings `mapstructure:"defaults" yaml:"defaults"`
	// File is the main file's path as given to Load, "" if none.
	File string `mapstructure:"-" yaml:"-"`
}

// Redis is how to reach Redis: one server (the default), a Sentinel setup
// (MasterName set; Addr lists the Sentinels) or a Cluster (Cluster set; Addr
// lists seed nodes). MasterName and Cluster are mutually exclusive.
type Redis struct {
	// Addr is host:port, or a comma-separated list of them (see Addrs).
	Addr     string `mapstructure:"addr" yaml:"addr"`
	Username string `mapstructure:"username" yaml:"username"`
	Password string `mapstructure:"password" yaml:"password"`
	DB       int    `mapstructure:"db" yaml:"db"`
	// MasterName is the Sentinel master name; "" means no Sentinel. With it,
	// Addr lists the Sentinels and the client follows failovers.
	MasterName string `mapstructure:"master_name" yaml:"master_name"`
	// SentinelPassword authenticates to the Sentinels when they need it
	// (Password is for the master and replicas).
	SentinelPassword string `mapstructure:"sentinel_password" yaml:"sentinel_password"`
	// Cluster makes Addr a list of Redis Cluster seed nodes, even when it
	// has only one.
	Cluster bool `mapstructure:"cluster" yaml:"cluster"`
	// TLS encrypts the connections to Redis (and to the Sentinels).
	TLS RedisTLS `mapstructure:"tls" yaml:"tls"`
	// PoolSize is the connection pool size; 0 means go-redis's default.
	PoolSize     int           `mapstructure:"pool_size" yaml:"pool_size"`
	DialTimeout  time.Duration `mapstructure:"dial_timeout" yaml:"dial_timeout"`
	ReadTimeout  time.Duration `mapstructure:"read_timeout" yaml:"read_timeout"`
	WriteTimeout time.Duration `mapstructure:"write_timeout" yaml:"write_timeout"`
}

// Addrs returns the addresses in Addr, split at commas and trimmed, without
// empty entries. A single address gives a one-element slice; more are meant
// for cluster or sentinel setups.
func (r Redis) Addrs() []string {
	var out []string
	for a := range strings.SplitSeq(r.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Limits bound the FastAGI server's resources. All must be positive.
type Limits struct {
	MaxSessions     int           `mapstructure:"max_sessions" yaml:"max_sessions"`
	EnvTimeout      time.Duration `mapstructure:"env_timeout" yaml:"env_timeout"`
	CommandTimeout  time.Duration `mapstructure:"command_timeout" yaml:"command_timeout"`
	SessionTimeout  time.Duration `mapstructure:"session_timeout" yaml:"session_timeout"`
	MaxLineBytes    int           `mapstructure:"max_line_bytes" yaml:"max_line_bytes"`
	MaxEnvLines     int           `mapstructure:"max_env_lines" yaml:"max_env_lines"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" yaml:"shutdown_timeout"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level" yaml:"level"`
	// Format is text or json.
	Format string `mapstructure:"format" yaml:"format"`
}

// SharedList is a list of numbers kept in Redis (key KeyPrefix + name) that
// campaigns can use.
type SharedList struct {
	// Reason is reported when a number is found in this list. Load sets it
	// to the list's name when the file leaves it out.
	Reason      string `mapstructure:"reason" yaml:"reason"`
	Description string `mapstructure:"description" yaml:"description,omitempty"`
	// AllCampaigns lists are checked for every campaign, including unknown
	// ones, whatever the campaign's own lists.
	AllCampaigns bool `mapstructure:"all_campaigns" yaml:"all_campaigns,omitempty"`
	// Layout is how the list is stored in Redis: LayoutPlain or
	// LayoutCompact. Load sets it to LayoutPlain when the file leaves it
	// out; "" in a SharedList built by hand also means plain.
	Layout string `mapstructure:"layout" yaml:"layout"`
}

// Layouts of a shared list in Redis.
const (
	// LayoutPlain is one Redis SET of entries (canonical numbers,
	// extensions, prefix entries), with optional metadata and expiry: what
	// redis-cli SADD edits.
	LayoutPlain = "plain"
	// LayoutCompact stores canonical numbers only, split into intset
	// buckets (about 3 bytes per number instead of about 68), for
	// national-size lists; it has no metadata, expiry or prefix entries.
	LayoutCompact = "compact"
)

// Compact reports whether the list uses LayoutCompact.
func (l SharedList) Compact() bool { return l.Layout == LayoutCompact }

// ListManagement tunes the upkeep of lists done by the server and the
// command line tools.
type ListManagement struct {
	// AuditMaxLen is about how many entries each list's audit stream keeps
	// (older ones are trimmed, approximately), MinAuditMaxLen to
	// MaxAuditMaxLen.
	AuditMaxLen int64 `mapstructure:"audit_max_len" yaml:"audit_max_len"`
	// SweepInterval is how often the server removes expired entries from
	// the lists, MinSweepInterval to MaxSweepInterval.
	SweepInterval time.Duration `mapstructure:"sweep_interval" yaml:"sweep_interval"`
	// SweepBatch is the most expired entries removed from one list in one
	// step of a sweep, 1 to MaxSweepBatch.
	SweepBatch int64 `mapstructure:"sweep_batch" yaml:"sweep_batch"`
	// VersionRefresh is how often the server re-reads the live version of
	// each compact list (so a replaced list is followed within it),
	// MinVersionRefresh to MaxVersionRefresh.
	VersionRefresh time.Duration `mapstructure:"version_refresh" yaml:"version_refresh"`
}

// NumberRules say how a dialed number is normalized.
type NumberRules struct {
	// CountryCode is 1-3 digits, without "+".
	CountryCode string `mapstructure:"country_code" yaml:"country_code"`
	// AreaCode is "" or 2 digits, prepended to local numbers.
	AreaCode string `mapstructure:"area_code" yaml:"area_code"`
	// StripPrefixes are dialing prefixes removed first (0-9 * # +).
	StripPrefixes []string `mapstructure:"strip_prefixes" yaml:"strip_prefixes"`
	// ExtensionMaxLength: numbers this short or shorter are extensions.
	ExtensionMaxLength int `mapstructure:"extension_max_length" yaml:"extension_max_length"`
}

// CampaignSettings are the settings a campaign file may give; in the main
// file they are the defaults.
type CampaignSettings struct {
	// Lists are the shared lists the campaign uses (all_campaigns lists are
	// added to them).
	Lists []string `mapstructure:"lists" yaml:"lists"`
	// Action is what to do with a blocked call: ActionHangup,
	// ActionContinue or ActionGoto.
	Action string `mapstructure:"action" yaml:"action"`
	// HangupCause is the Q.850 cause for ActionHangup, 1..127.
	HangupCause int `mapstructure:"hangup_cause" yaml:"hangup_cause"`
	// Goto is the dialplan target for ActionGoto; see ParseGoto.
	Goto string `mapstructure:"goto" yaml:"goto"`
	// OnError is what to do when Redis cannot answer in time: OnErrorAllow
	// or OnErrorBlock.
	OnError string `mapstructure:"on_error" yaml:"on_error"`
	// Timeout is the time budget for the Redis check, 1ms..60s.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
	Number  NumberRules   `mapstructure:"number" yaml:"number"`
	// OptOut is what the optout endpoint does.
	OptOut OptOutRule `mapstructure:"optout" yaml:"optout"`
	// Spam is what the spam endpoint does.
	Spam SpamRule `mapstructure:"spam" yaml:"spam"`
	// NoAnswer blocks numbers that do not answer (report endpoint); off
	// by default.
	NoAnswer NoAnswerRule `mapstructure:"no_answer" yaml:"no_answer"`
	// Invalid blocks numbers that fail as invalid (report endpoint); off
	// by default.
	Invalid InvalidRule `mapstructure:"invalid" yaml:"invalid"`
}

// Actions for a blocked call.
const (
	ActionHangup   = "hangup"   // hang up with HangupCause
	ActionContinue = "continue" // only report (set variables) and go on
	ActionGoto     = "goto"     // jump to Goto in the dialplan
)

// What to do when Redis cannot answer within the timeout.
const (
	OnErrorAllow = "allow" // let the call through
	OnErrorBlock = "block" // treat the number as blocked
)

// EnvPrefix starts every environment variable that overrides a setting.
const EnvPrefix = "BLACKLIST"

// Default returns the built-in configuration used where the main file and
// the environment are silent.
func Default() *Config {
	return &Config{
		Listen:          ":4573",
		AllowedNetworks: []string{},
		KeyPrefix:       "blacklist:",
		CampaignsDir:    "campaigns",
		Redis: Redis{
			Addr:         "127.0.0.1:6379",
			DialTimeout:  time.Second,
			ReadTimeout:  500 * time.Millisecond,
			WriteTimeout: 500 * time.Millisecond,
		},
		Limits: Limits{
			MaxSessions:     10000,
			EnvTimeout:      5 * time.Second,
			CommandTimeout:  5 * time.Second,
			SessionTimeout:  30 * time.Second,
			MaxLineBytes:    8192,
			MaxEnvLines:     512,
			ShutdownTimeout: 10 * time.Second,
		},
		Log:   Log{Level: "info", Format: "text"},
		Lists: defaultLists(),
		Management: ListManagement{
			AuditMaxLen:    100000,
			SweepInterval:  30 * time.Second,
			SweepBatch:     500,
			VersionRefresh: time.Second,
		},
		Admin: Admin{
			Listen:         "127.0.0.1:9573",
			ReadTokens:     []string{},
			WriteTokens:    []string{},
			MaxBodyBytes:   1 << 20,
			MaxUploadBytes: 2 << 30,
			RequestTimeout: 30 * time.Second,
		},
		Monitoring: Monitoring{
			StreamMaxLen:   1_000_000,
			StatsRetention: 35 * day,
		},
		Defaults: CampaignSettings{
			Lists:       []string{},
			Action:      ActionHangup,
			HangupCause: 21,
			OnError:     OnErrorBlock,
			Timeout:     300 * time.Millisecond,
			Number: NumberRules{
				CountryCode:        "55",
				StripPrefixes:      []string{},
				ExtensionMaxLength: 7,
			},
			OptOut: OptOutRule{Reason: "opt-out"},
			Spam:   SpamRule{},
			NoAnswer: NoAnswerRule{
				Attempts: 3,
				Window:   day,
				Statuses: []string{DialStatusNoAnswer},
				TTL:      week,
			},
			Invalid: InvalidRule{Causes: []int{1}, TTL: 30 * day},
		},
	}
}

// defaultLists are the shared lists when the main file has no lists: key.
// Não Me Perturbe is national-size (about 14 million numbers), so it is
// compact.
func defaultLists() map[string]SharedList {
	return map[string]SharedList{
		"opt-out":         {Reason: "opt-out", AllCampaigns: true, Description: "Company-wide opt-outs", Layout: LayoutPlain},
		"nao-me-perturbe": {Reason: "nao-me-perturbe", AllCampaigns: true, Description: "Anatel's Não Me Perturbe", Layout: LayoutCompact},
		"spam":            {Reason: "spam", Layout: LayoutPlain},
		"no-answer":       {Reason: "no-answer", Layout: LayoutPlain},
	}
}

// setting is one leaf setting that viper knows: its path, built-in default
// and environment variable.
type setting struct {
	key   string // "redis.addr"
	value any
	env   string
}

// settings lists every leaf setting except lists: (which is a map of
// user-chosen names and is decoded without viper).
var settings = sync.OnceValue(func() []setting {
	var out []setting
	var walk func(v reflect.Value, path []string)
	walk = func(v reflect.Value, path []string) {
		for _, f := range reflect.VisibleFields(v.Type()) {
			name := tagName(f)
			if name == "" || (len(path) == 0 && name == "lists") {
				continue
			}
			p := append(slices.Clip(path), name)
			fv := v.FieldByIndex(f.Index)
			if f.Type.Kind() == reflect.Struct {
				walk(fv, p)
				continue
			}
			out = append(out, setting{
				key:   strings.Join(p, "."),
				value: fv.Interface(),
				env:   EnvPrefix + "_" + strings.ToUpper(strings.Join(p, "_")),
			})
		}
	}
	walk(reflect.ValueOf(Default()).Elem(), nil)
	return out
})

// EnvVars returns every environment variable that overrides a setting,
// mapped to the key it sets: "BLACKLIST_REDIS_ADDR" -> "redis.addr".
func EnvVars() map[string]string {
	out := make(map[string]string)
	for _, s := range settings() {
		out[s.env] = s.key
	}
	return out
}

// envFor returns the environment variable set for key (or for the list
// that key is an element of), "" if none is set.
func envFor(key string) string {
	base, _, _ := strings.Cut(key, "[")
	for _, s := range settings() {
		if s.key == base {
			if os.Getenv(s.env) != "" {
				return s.env
			}
			return ""
		}
	}
	return ""
}

// Load reads the main configuration file at path (YAML), applies the
// BLACKLIST_* environment variables over it and the built-in defaults under
// it, and validates the result. With path "" only defaults and environment
// are used. Errors are *Error values (joined when there are several) naming
// the file, line, key and what is wrong; a missing file gives an error
// matching fs.ErrNotExist.
func Load(path string) (*Config, error) {
	doc := newDocument(path)
	tree := map[string]any{}
	if path != "" {
		data, err := readFile(path)
		if err != nil {
			return nil, err
		}
		if tree = doc.parse(data, reflect.TypeFor[Config]()); tree == nil {
			return nil, doc.err()
		}
	}
	listsTree, hasLists := tree["lists"]
	delete(tree, "lists")
	dropNulls(tree)

	// Every key gets a default and an explicitly bound variable: viper's
	// Unmarshal only sees environment values for keys it knows.
	v := viper.New()
	for _, s := range settings() {
		v.SetDefault(s.key, s.value)
		if err := v.BindEnv(s.key, s.env); err != nil {
			return nil, err
		}
	}
	if err := v.MergeConfigMap(tree); err != nil {
		return nil, &Error{File: path, Msg: err.Error(), Err: ErrSyntax}
	}
	var c Config
	if err := v.UnmarshalExact(&c, viper.DecoderConfigOption(decoderConfig)); err != nil {
		return nil, doc.annotate(doc.decodeErrors(err))
	}
	if hasLists {
		var l struct {
			Lists map[string]SharedList `mapstructure:"lists"`
		}
		if err := decode(map[string]any{"lists": listsTree}, &l); err != nil {
			return nil, doc.decodeErrors(err)
		}
		c.Lists = l.Lists
		if c.Lists == nil {
			c.Lists = map[string]SharedList{}
		}
	} else {
		c.Lists = defaultLists()
	}
	for name, l := range c.Lists {
		if l.Reason == "" {
			l.Reason = name
		}
		if l.Layout == "" {
			l.Layout = LayoutPlain
		}
		c.Lists[name] = l
	}
	if c.Defaults.Lists == nil {
		c.Defaults.Lists = []string{}
	}
	if c.Defaults.Number.StripPrefixes == nil {
		c.Defaults.Number.StripPrefixes = []string{}
	}
	if c.AllowedNetworks == nil {
		c.AllowedNetworks = []string{}
	}
	if c.Admin.ReadTokens == nil {
		c.Admin.ReadTokens = []string{}
	}
	if c.Admin.WriteTokens == nil {
		c.Admin.WriteTokens = []string{}
	}
	if path != "" {
		for _, p := range []*string{&c.CampaignsDir, &c.Redis.TLS.CAFile, &c.Redis.TLS.CertFile, &c.Redis.TLS.KeyFile} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(filepath.Dir(path), *p)
			}
		}
	}
	c.File = path
	if err := c.Validate(); err != nil {
		return nil, doc.annotate(err)
	}
	return &c, nil
}

// annotate fills in, for each *Error in err, the line its key is on or the
// environment variable its value came from.
func (d *document) annotate(err error) error {
	eachError(err, func(e *Error) {
		if e.Key == "" {
			return
		}
		if env := envFor(e.Key); env != "" {
			e.Env, e.Line = env, 0
		} else if e.Line == 0 {
			e.Line = d.lineOf(e.Key)
		}
	})
	return err
}

// lineOf returns the line where key is written or, for a key the file does
// not set (goto required by action: goto), where its parent is; 0 if none.
func (d *document) lineOf(key string) int {
	for key != "" {
		if line, ok := d.lines[key]; ok {
			return line
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// dropNulls removes null values from mappings (a null setting is an unset
// one), so that viper falls back to the default for them.
func dropNulls(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			dropNulls(v)
		}
	}
}

// Check loads the main file at path and every campaign file, reporting all
// problems at once; it is meant for a check-config command line mode. The
// returned values are nil when the main file itself is not valid.
func Check(path string) (*Config, map[string]*Campaign, error) {
	c, err := Load(path)
	if err != nil {
		return nil, nil, err
	}
	campaigns, err := NewCampaignLoader(c).Load()
	return c, campaigns, err
}

// RedactedYAML returns the configuration as YAML, in the main file's format,
// with the secrets (the Redis passwords and each admin token) replaced by
// "<redacted>": for showing the effective configuration. With admin tokens
// set, the output does not load back as it is (the placeholders are not
// valid tokens).
func (c *Config) RedactedYAML() ([]byte, error) {
	cp := *c
	if cp.Redis.Password != "" {
		cp.Redis.Password = redacted
	}
	if cp.Redis.SentinelPassword != "" {
		cp.Redis.SentinelPassword = redacted
	}
	cp.Admin.ReadTokens = redactAll(cp.Admin.ReadTokens)
	cp.Admin.WriteTokens = redactAll(cp.Admin.WriteTokens)
	return yaml.Marshal(&cp)
}

// redactAll returns a list as long as secrets with each one replaced by
// "<redacted>".
func redactAll(secrets []string) []string {
	out := make([]string, len(secrets))
	for i := range out {
		out[i] = redacted
	}
	return out
}

// SharedListNames returns the names of the shared lists (c.Lists), sorted.
func (c *Config) SharedListNames() []string {
	return slices.Sorted(maps.Keys(c.Lists))
}

// validHostPort reports whether s is host:port with a decimal port in
// [minPort, 65535]; an empty host is allowed when emptyHost is set.
func validHostPort(s string, emptyHost bool, minPort int) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || (host == "" && !emptyHost) || port == "" || len(port) > 5 {
		return false
	}
	n := 0
	for _, r := range port {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
	}
	return n >= minPort && n <= 65535 && !strings.ContainsAny(host, " \t,")
}

// describeSet formats allowed values for messages: "a, b or c".
func describeSet(values ...string) string {
	sort.Strings(values)
	if len(values) == 1 {
		return values[0]
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}
