package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Nothing is added automatically unless a campaign asks for it: the
// built-in rules send opt-outs and spam marks to the campaign's own list
// for ever, and the automatic rules are off.
func TestRuleDefaults(t *testing.T) {
	d := Default().Defaults
	want := struct {
		OptOut   OptOutRule
		Spam     SpamRule
		NoAnswer NoAnswerRule
		Invalid  InvalidRule
	}{
		OptOutRule{List: "", Reason: "opt-out", TTL: 0},
		SpamRule{List: "", TTL: 0},
		NoAnswerRule{Enabled: false, Attempts: 3, Window: 24 * time.Hour, Statuses: []string{"NOANSWER"}, List: "", TTL: 7 * 24 * time.Hour},
		InvalidRule{Enabled: false, Causes: []int{1}, List: "", TTL: 30 * 24 * time.Hour},
	}
	if d.OptOut != want.OptOut || d.Spam != want.Spam || !reflect.DeepEqual(d.NoAnswer, want.NoAnswer) || !reflect.DeepEqual(d.Invalid, want.Invalid) {
		t.Errorf("default rules = %+v %+v %+v %+v, want %+v", d.OptOut, d.Spam, d.NoAnswer, d.Invalid, want)
	}
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	camp := c.DefaultCampaign("x")
	if camp.NoAnswer.Enabled || camp.Invalid.Enabled || !reflect.DeepEqual(camp.NoAnswer, want.NoAnswer) || camp.OptOut != want.OptOut {
		t.Errorf("DefaultCampaign rules = %+v %+v %+v", camp.OptOut, camp.NoAnswer, camp.Invalid)
	}
	// A loaded configuration does not share the default slices: changing
	// one does not change the next Load.
	c.Defaults.NoAnswer.Statuses[0] = "BUSY"
	c.Defaults.Invalid.Causes[0] = 28
	again, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if again.Defaults.NoAnswer.Statuses[0] != "NOANSWER" || again.Defaults.Invalid.Causes[0] != 1 {
		t.Errorf("Load shares slices between configurations: %+v %+v", again.Defaults.NoAnswer, again.Defaults.Invalid)
	}
}

// The rules merge field by field at both levels: built-in defaults under
// the main file's defaults:, and those under a campaign file.
func TestRuleMergeFieldByField(t *testing.T) {
	c, _, err := loadYAML(t, "defaults:\n  no_answer:\n    enabled: true\n    list: no-answer\n  invalid:\n    ttl: 2w\n  optout:\n    reason: consent-revoked\n")
	if err != nil {
		t.Fatal(err)
	}
	wantDefaults := Default().Defaults
	wantDefaults.NoAnswer.Enabled, wantDefaults.NoAnswer.List = true, "no-answer"
	wantDefaults.Invalid.TTL = 14 * day
	wantDefaults.OptOut.Reason = "consent-revoked"
	if !reflect.DeepEqual(c.Defaults, wantDefaults) {
		t.Fatalf("defaults =\n%+v\nwant\n%+v", c.Defaults, wantDefaults)
	}

	// A campaign that sets only no_answer.attempts keeps every other
	// field from the main file's defaults.
	camp, err := LoadCampaignFile(c, writeFile(t, t.TempDir(), "promo.yaml", "no_answer:\n  attempts: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := NoAnswerRule{Enabled: true, Attempts: 4, Window: day, Statuses: []string{"NOANSWER"}, List: "no-answer", TTL: week}
	if !reflect.DeepEqual(camp.NoAnswer, want) {
		t.Errorf("no_answer = %+v, want %+v", camp.NoAnswer, want)
	}
	if camp.OptOut.Reason != "consent-revoked" || camp.Invalid.TTL != 14*day || camp.Invalid.Enabled {
		t.Errorf("other rules = %+v %+v", camp.OptOut, camp.Invalid)
	}
}

func TestRuleErrors(t *testing.T) {
	tests := []struct {
		name, yaml, key, value, msg string
		sentinel                    error
	}{
		{"optout list undeclared", "optout: {list: nope}", "optout.list", "nope", "not declared under lists:", ErrUndeclaredList},
		{"optout list compact with ttl", "optout: {list: nao-me-perturbe, ttl: 1d}", "optout.list", "nao-me-perturbe", "compact list, which holds permanent entries only, so it cannot take entries with ttl 1d", ErrInvalidValue},
		{"optout reason space", "optout: {reason: \"opt out\"}", "optout.reason", "opt out", "reason must be 1 to 64", ErrInvalidValue},
		{"optout reason empty", "optout: {reason: \"\"}", "optout.reason", "", "reason must be 1 to 64", ErrInvalidValue},
		{"optout reason list", "optout: {reason: [a]}", "optout.reason", "", "must be a single value", ErrInvalidValue},
		{"optout ttl negative", "optout: {ttl: -1h}", "optout.ttl", "-1h0m0s", "must be 0 (for ever) or from 1m to 3650d", ErrInvalidValue},
		{"optout ttl too short", "optout: {ttl: 30s}", "optout.ttl", "30s", "must be 0 (for ever) or from 1m to 3650d", ErrInvalidValue},
		{"optout ttl too long", "optout: {ttl: 3651d}", "optout.ttl", "3651d", "must be 0 (for ever) or from 1m to 3650d", ErrInvalidValue},
		{"optout ttl no unit", "optout: {ttl: 7}", "optout.ttl", "7", durationSyntax, ErrInvalidValue},
		{"optout ttl fraction of days", "optout: {ttl: 1.5d}", "optout.ttl", "1.5d", durationSyntax, ErrInvalidValue},
		{"optout ttl days and hours", "optout: {ttl: 1d12h}", "optout.ttl", "1d12h", durationSyntax, ErrInvalidValue},
		{"optout not a mapping", "optout: opt-out", "optout", "", "must be a mapping", ErrInvalidValue},
		{"spam list undeclared", "spam: {list: Spam}", "spam.list", "Spam", "not declared under lists:", ErrUndeclaredList},
		{"spam list compact with ttl", "spam: {list: nao-me-perturbe, ttl: 2w}", "spam.list", "nao-me-perturbe", "with ttl 2w: name a plain list", ErrInvalidValue},
		{"spam ttl", "spam: {ttl: 1ms}", "spam.ttl", "1ms", "must be 0 (for ever)", ErrInvalidValue},
		{"no_answer enabled", "no_answer: {enabled: yes}", "no_answer.enabled", "yes", "must be true or false", ErrInvalidValue},
		{"no_answer attempts 1", "no_answer: {attempts: 1}", "no_answer.attempts", "1", "must be from 2 to 100", ErrInvalidValue},
		{"no_answer attempts 101", "no_answer: {attempts: 101}", "no_answer.attempts", "101", "must be from 2 to 100", ErrInvalidValue},
		{"no_answer attempts text", "no_answer: {attempts: three}", "no_answer.attempts", "three", "must be a whole number", ErrInvalidValue},
		{"no_answer window short", "no_answer: {window: 59s}", "no_answer.window", "59s", "must be from 1m to 30d", ErrInvalidValue},
		{"no_answer window long", "no_answer: {window: 5w}", "no_answer.window", "5w", "must be from 1m to 30d", ErrInvalidValue},
		{"no_answer window zero", "no_answer: {window: 0}", "no_answer.window", "0s", "must be from 1m to 30d", ErrInvalidValue},
		{"no_answer status lower case", "no_answer: {statuses: [noanswer]}", "no_answer.statuses[0]", "noanswer", "must be BUSY, CHANUNAVAIL, CONGESTION or NOANSWER, in upper case", ErrInvalidValue},
		{"no_answer status ANSWER", "no_answer: {statuses: [BUSY, ANSWER]}", "no_answer.statuses[1]", "ANSWER", "must be BUSY, CHANUNAVAIL, CONGESTION or NOANSWER", ErrInvalidValue},
		{"no_answer status twice", "no_answer: {statuses: [NOANSWER, BUSY, NOANSWER]}", "no_answer.statuses[2]", "NOANSWER", "is listed twice", ErrInvalidValue},
		{"no_answer statuses empty", "no_answer: {statuses: []}", "no_answer.statuses", "", "must name at least one of BUSY, CHANUNAVAIL, CONGESTION or NOANSWER", ErrInvalidValue},
		{"no_answer statuses mapping", "no_answer: {statuses: {a: b}}", "no_answer.statuses", "", "must be a list", ErrInvalidValue},
		{"no_answer list undeclared", "no_answer: {list: noanswer}", "no_answer.list", "noanswer", "not declared under lists:", ErrUndeclaredList},
		{"no_answer list compact", "no_answer: {list: nao-me-perturbe}", "no_answer.list", "nao-me-perturbe", `with ttl 1w: name a plain list, or "" for the campaign's own list`, ErrInvalidValue},
		{"no_answer ttl zero", "no_answer: {ttl: 0}", "no_answer.ttl", "0s", "must be from 1m to 365d", ErrInvalidValue},
		{"no_answer ttl long", "no_answer: {ttl: 366d}", "no_answer.ttl", "366d", "must be from 1m to 365d", ErrInvalidValue},
		{"invalid cause 0", "invalid: {causes: [0]}", "invalid.causes[0]", "0", "must be a Q.850 cause from 1 to 127", ErrInvalidValue},
		{"invalid cause 128", "invalid: {causes: [1, 128]}", "invalid.causes[1]", "128", "must be a Q.850 cause from 1 to 127", ErrInvalidValue},
		{"invalid cause twice", "invalid: {causes: [1, 1]}", "invalid.causes[1]", "1", "is listed twice", ErrInvalidValue},
		{"invalid cause text", "invalid: {causes: [unallocated]}", "invalid.causes[0]", "unallocated", "must be a whole number", ErrInvalidValue},
		{"invalid causes empty", "invalid: {causes: []}", "invalid.causes", "", "must name at least one Q.850 cause", ErrInvalidValue},
		{"invalid list compact with default ttl", "invalid: {list: nao-me-perturbe}", "invalid.list", "nao-me-perturbe", "with ttl 30d: name a plain list, or \"\" for the campaign's own list, or set ttl: 0", ErrInvalidValue},
		{"invalid ttl", "invalid: {ttl: 1000w}", "invalid.ttl", "1000w", "must be 0 (for ever) or from 1m to 3650d", ErrInvalidValue},
		{"invalid unknown key", "invalid: {cause: [1]}", "invalid.cause", "", "unknown key", ErrUnknownKey},
	}
	c := Default()
	for _, tt := range tests {
		check := func(t *testing.T, err error, path, key string) {
			t.Helper()
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			e := problem(t, err, key)
			if e.File != path || e.Line != 1 {
				t.Errorf("error at %s:%d, want %s:1", e.File, e.Line, path)
			}
			if e.Value != tt.value {
				t.Errorf("error value = %q, want %q", e.Value, tt.value)
			}
			prefix := path + ":1: " + key
			if msg := e.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q, want it to start with %q and contain %q", msg, prefix, tt.msg)
			}
		}
		t.Run("campaign/"+tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "promo.yaml", tt.yaml+"\n")
			camp, err := LoadCampaignFile(c, path)
			if camp != nil {
				t.Fatalf("campaign %+v loaded", camp)
			}
			check(t, err, path, tt.key)
		})
		t.Run("defaults/"+tt.name, func(t *testing.T) {
			_, path, err := loadYAML(t, "defaults: {"+tt.yaml+"}\n")
			check(t, err, path, "defaults."+tt.key)
		})
	}
}

// A rule whose list is set in defaults: and whose ttl is set in the
// campaign file is checked as merged, and the error points at the rule.
func TestRuleCompactListAfterMerge(t *testing.T) {
	c, _, err := loadYAML(t, "defaults:\n  optout:\n    list: nao-me-perturbe\n")
	if err != nil {
		t.Fatal(err) // permanent entries in a compact list are fine
	}
	path := writeFile(t, t.TempDir(), "promo.yaml", "description: x\noptout:\n  ttl: 30d\n")
	_, err = LoadCampaignFile(c, path)
	e := problem(t, err, "optout.list")
	if e.Line != 2 || e.Value != "nao-me-perturbe" {
		t.Errorf("error = %v (line %d)", e, e.Line)
	}
}

func TestRuleEnvOverrides(t *testing.T) {
	for k, v := range map[string]string{
		"BLACKLIST_DEFAULTS_OPTOUT_LIST":         "opt-out",
		"BLACKLIST_DEFAULTS_OPTOUT_REASON":       "consent-revoked",
		"BLACKLIST_DEFAULTS_OPTOUT_TTL":          "0",
		"BLACKLIST_DEFAULTS_SPAM_LIST":           "spam",
		"BLACKLIST_DEFAULTS_SPAM_TTL":            "52w",
		"BLACKLIST_DEFAULTS_NO_ANSWER_ENABLED":   "true",
		"BLACKLIST_DEFAULTS_NO_ANSWER_ATTEMPTS":  "5",
		"BLACKLIST_DEFAULTS_NO_ANSWER_WINDOW":    "2d",
		"BLACKLIST_DEFAULTS_NO_ANSWER_STATUSES":  "NOANSWER, BUSY",
		"BLACKLIST_DEFAULTS_NO_ANSWER_LIST":      "no-answer",
		"BLACKLIST_DEFAULTS_NO_ANSWER_TTL":       "2w",
		"BLACKLIST_DEFAULTS_INVALID_ENABLED":     "TRUE",
		"BLACKLIST_DEFAULTS_INVALID_CAUSES":      "1,28",
		"BLACKLIST_DEFAULTS_INVALID_LIST":        "spam",
		"BLACKLIST_DEFAULTS_INVALID_TTL":         "90d",
		"BLACKLIST_MANAGEMENT_SWEEP_INTERVAL":    "1h",
		"BLACKLIST_DEFAULTS_NUMBER_AREA_CODE":    "11",
		"BLACKLIST_DEFAULTS_NO_ANSWER_UNKNOWN_X": "ignored", // not a setting
	} {
		t.Setenv(k, v)
	}
	// The file sets some of the same keys: the environment wins.
	c, _, err := loadYAML(t, "defaults:\n  no_answer:\n    enabled: false\n    attempts: 9\n  invalid:\n    causes: [3]\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Default().Defaults
	want.Number.AreaCode = "11"
	want.OptOut = OptOutRule{List: "opt-out", Reason: "consent-revoked"}
	want.Spam = SpamRule{List: "spam", TTL: 52 * week}
	want.NoAnswer = NoAnswerRule{Enabled: true, Attempts: 5, Window: 2 * day, Statuses: []string{"NOANSWER", "BUSY"}, List: "no-answer", TTL: 2 * week}
	want.Invalid = InvalidRule{Enabled: true, Causes: []int{1, 28}, List: "spam", TTL: 90 * day}
	if !reflect.DeepEqual(c.Defaults, want) {
		t.Errorf("defaults =\n%+v\nwant\n%+v", c.Defaults, want)
	}
}

func TestRuleEnvBadValues(t *testing.T) {
	tests := []struct{ env, value, key, msg string }{
		{"BLACKLIST_DEFAULTS_NO_ANSWER_STATUSES", "NOANSWER,answer", "defaults.no_answer.statuses[1]", `"answer": must be BUSY, CHANUNAVAIL, CONGESTION or NOANSWER`},
		{"BLACKLIST_DEFAULTS_NO_ANSWER_STATUSES", ",", "defaults.no_answer.statuses", "must name at least one"},
		{"BLACKLIST_DEFAULTS_NO_ANSWER_ENABLED", "on", "defaults.no_answer.enabled", `"on": must be true or false`},
		{"BLACKLIST_DEFAULTS_NO_ANSWER_TTL", "0s", "defaults.no_answer.ttl", `"0s": must be from 1m to 365d`},
		{"BLACKLIST_DEFAULTS_NO_ANSWER_WINDOW", "1d1h", "defaults.no_answer.window", `"1d1h": ` + durationSyntax},
		{"BLACKLIST_DEFAULTS_INVALID_CAUSES", "1,x", "defaults.invalid.causes[1]", `"x": must be a whole number`},
		{"BLACKLIST_DEFAULTS_OPTOUT_LIST", "nao-me-perturbe", "", ""}, // permanent: fine
		{"BLACKLIST_DEFAULTS_SPAM_LIST", "nope", "defaults.spam.list", `"nope": not declared under lists:`},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, _, err := loadYAML(t, "defaults:\n  no_answer: {enabled: false}\n")
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := problem(t, err, tt.key)
			if e.Env != tt.env {
				t.Errorf("error %q does not name $%s", e, tt.env)
			}
			if want := tt.key + " (from $" + tt.env + ")"; !strings.HasPrefix(e.Error(), want) || !strings.Contains(e.Error(), tt.msg) {
				t.Errorf("message = %q, want it to start with %q and contain %q", e.Error(), want, tt.msg)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7d", 7 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"0d", 0, true},
		{"0w", 0, true},
		{"30d", 720 * time.Hour, true},
		{" 7d ", 7 * 24 * time.Hour, true},
		{"007d", 7 * 24 * time.Hour, true},
		{"106751d", 106751 * 24 * time.Hour, true}, // the longest time.Duration holds
		{"15250w", 15250 * 7 * 24 * time.Hour, true},
		{"300ms", 300 * time.Millisecond, true},
		{"1h30m", 90 * time.Minute, true},
		{"0", 0, true},
		{"-5s", -5 * time.Second, true},
		{"106752d", 0, false},
		{"15251w", 0, false},
		{"99999999999999999999d", 0, false},
		{"+7d", 0, false},
		{"-7d", 0, false},
		{"1.5d", 0, false},
		{"1d12h", 0, false},
		{"7D", 0, false},
		{"7 d", 0, false},
		{"d", 0, false},
		{"w", 0, false},
		{"7", 0, false},
		{"", 0, false},
		{"7days", 0, false},
		{"1y", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDuration(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2 * week:                "2w",
		30 * day:                "30d",
		365 * day:               "365d",
		day:                     "1d",
		36 * time.Hour:          "36h",
		time.Minute:             "1m",
		90 * time.Second:        "90s",
		100 * time.Millisecond:  "100ms",
		0:                       "0s",
		-time.Hour:              "-1h0m0s",
		1500 * time.Microsecond: "1.5ms",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRuleMatching(t *testing.T) {
	n := NoAnswerRule{Statuses: []string{DialStatusNoAnswer, DialStatusBusy}}
	for status, want := range map[string]bool{"NOANSWER": true, "BUSY": true, "CONGESTION": false, "ANSWER": false, "noanswer": false, "": false} {
		if got := n.Counts(status); got != want {
			t.Errorf("Counts(%q) = %v, want %v", status, got, want)
		}
	}
	v := InvalidRule{Causes: []int{1, 28}}
	for cause, want := range map[int]bool{1: true, 28: true, 16: false, 0: false} {
		if got := v.Matches(cause); got != want {
			t.Errorf("Matches(%d) = %v, want %v", cause, got, want)
		}
	}
}

// FuzzParseDuration checks that what parseDuration accepts is written back
// by formatDuration in a form it reads as the same duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"7d", "2w", "0d", "106751d", "15251w", "1h30m", "-1.5h", "1d12h", "+7d", "9223372036854775807ns", " 3w "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseDuration(s)
		if !ok {
			if d != 0 {
				t.Fatalf("parseDuration(%q) = %v with an error", s, d)
			}
			return
		}
		text := formatDuration(d)
		back, ok := parseDuration(text)
		if !ok || back != d {
			t.Fatalf("parseDuration(%q) = %v, formatted %q, read back as %v, %v", s, d, text, back, ok)
		}
	})
}
