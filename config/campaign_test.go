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

// testConfig is a valid configuration whose defaults differ from the
// built-in ones in every field, so that merges are visible.
func testConfig(t *testing.T) *Config {
	t.Helper()
	c := Default()
	c.CampaignsDir = t.TempDir()
	c.Lists["vip"] = SharedList{Reason: "vip"}
	c.Defaults = CampaignSettings{
		Lists:       []string{"no-answer"},
		Action:      ActionContinue,
		HangupCause: 17,
		Goto:        "default-ctx,s,1",
		OnError:     OnErrorAllow,
		Timeout:     250 * time.Millisecond,
		Number: NumberRules{
			CountryCode:        "55",
			AreaCode:           "21",
			StripPrefixes:      []string{"0"},
			ExtensionMaxLength: 5,
		},
		OptOut: OptOutRule{List: "opt-out", Reason: "consent-revoked", TTL: 90 * day},
		Spam:   SpamRule{List: "spam", TTL: week},
		NoAnswer: NoAnswerRule{
			Enabled:  true,
			Attempts: 5,
			Window:   2 * time.Hour,
			Statuses: []string{DialStatusNoAnswer, DialStatusBusy},
			List:     "no-answer",
			TTL:      3 * day,
		},
		Invalid: InvalidRule{Enabled: true, Causes: []int{1, 28}, List: "spam", TTL: 10 * day},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCampaignMerge(t *testing.T) {
	c := testConfig(t)
	def := c.DefaultCampaign("promo")
	tests := []struct {
		name, yaml string
		change     func(*Campaign)
	}{
		{"empty file", "", func(*Campaign) {}},
		{"only comments", "# nothing\n", func(*Campaign) {}},
		{"description and id", "id: promo\ndescription: Sales\n", func(w *Campaign) { w.Description = "Sales" }},
		{"own lists", "lists: [spam, vip]\n", func(w *Campaign) {
			w.Lists = []string{"spam", "vip", "nao-me-perturbe", "opt-out"}
		}},
		{"own lists with duplicates and an all_campaigns list", "lists: [spam, opt-out, spam]\n", func(w *Campaign) {
			w.Lists = []string{"spam", "opt-out", "nao-me-perturbe"}
		}},
		{"no own lists", "lists: []\n", func(w *Campaign) { w.Lists = []string{"nao-me-perturbe", "opt-out"} }},
		{"null lists keeps defaults", "lists:\n", func(*Campaign) {}},
		{"action and cause", "action: hangup\nhangup_cause: 21\n", func(w *Campaign) { w.Action, w.HangupCause = ActionHangup, 21 }},
		{"goto", "action: goto\ngoto: \"blocked,s,1\"\n", func(w *Campaign) {
			w.Action, w.Goto, w.GotoTarget = ActionGoto, "blocked,s,1", GotoTarget{"blocked", "s", "1"}
		}},
		{"on_error and timeout", "on_error: block\ntimeout: 2s\n", func(w *Campaign) { w.OnError, w.Timeout = OnErrorBlock, 2*time.Second }},
		{"only area code", "number:\n  area_code: \"11\"\n", func(w *Campaign) { w.Number.AreaCode = "11" }},
		{"clear area code", "number: {area_code: \"\"}\n", func(w *Campaign) { w.Number.AreaCode = "" }},
		{"number rest", "number: {country_code: \"1\", strip_prefixes: [\"00\", \"0\"], extension_max_length: 4}\n", func(w *Campaign) {
			w.Number.CountryCode, w.Number.StripPrefixes, w.Number.ExtensionMaxLength = "1", []string{"00", "0"}, 4
		}},
		{"empty number", "number: {}\n", func(*Campaign) {}},
		{"only no_answer.attempts", "no_answer:\n  attempts: 4\n", func(w *Campaign) { w.NoAnswer.Attempts = 4 }},
		{"only invalid.enabled", "invalid: {enabled: false}\n", func(w *Campaign) { w.Invalid.Enabled = false }},
		{"optout own list", "optout: {list: \"\", reason: opt-out}\n", func(w *Campaign) { w.OptOut.List, w.OptOut.Reason = "", "opt-out" }},
		{"optout ttl in weeks", "optout:\n  ttl: 2w\n", func(w *Campaign) { w.OptOut.TTL = 14 * day }},
		{"optout permanent", "optout: {ttl: 0}\n", func(w *Campaign) { w.OptOut.TTL = 0 }},
		{"spam", "spam: {list: vip, ttl: 1h30m}\n", func(w *Campaign) { w.Spam = SpamRule{List: "vip", TTL: 90 * time.Minute} }},
		{"no_answer all", "no_answer: {enabled: false, attempts: 2, window: 30d, statuses: [CHANUNAVAIL, CONGESTION], list: \"\", ttl: 365d}\n", func(w *Campaign) {
			w.NoAnswer = NoAnswerRule{Attempts: 2, Window: 30 * day, Statuses: []string{"CHANUNAVAIL", "CONGESTION"}, TTL: 365 * day}
		}},
		{"invalid to a compact list, permanent", "invalid: {causes: [1, 3, 28], list: nao-me-perturbe, ttl: 0}\n", func(w *Campaign) {
			w.Invalid = InvalidRule{Enabled: true, Causes: []int{1, 3, 28}, List: "nao-me-perturbe"}
		}},
		{"causes as text", "invalid: {causes: \"1, 28\"}\n", func(*Campaign) {}},
		{"null and empty rules keep defaults", "optout:\nspam: ~\nno_answer: {}\ninvalid:\n  causes:\n  ttl: ~\n", func(*Campaign) {}},
		{"contacts_key alone", "contacts_key: \"dialer:queue:promo\"\n", func(w *Campaign) {
			w.ContactsKey, w.ContactsType, w.ContactsFormat = "dialer:queue:promo", ContactsSet, FormatCanonical
		}},
		{"contacts all", "contacts_key: \"{q}:promo\"\ncontacts_type: zset\ncontacts_format: e164\n", func(w *Campaign) {
			w.ContactsKey, w.ContactsType, w.ContactsFormat = "{q}:promo", ContactsZSet, FormatE164
		}},
		{"contacts list national", "contacts_key: q\ncontacts_type: list\ncontacts_format: national\n", func(w *Campaign) {
			w.ContactsKey, w.ContactsType, w.ContactsFormat = "q", ContactsList, FormatNational
		}},
		{"contacts key verbatim", "contacts_key: \"Fila:Promoção/ÉÇ#1\"\n", func(w *Campaign) {
			w.ContactsKey, w.ContactsType, w.ContactsFormat = "Fila:Promoção/ÉÇ#1", ContactsSet, FormatCanonical
		}},
		{"contacts key longest", "contacts_key: " + strings.Repeat("k", MaxContactsKeyLen) + "\n", func(w *Campaign) {
			w.ContactsKey, w.ContactsType, w.ContactsFormat = strings.Repeat("k", MaxContactsKeyLen), ContactsSet, FormatCanonical
		}},
		{"null contacts keys are unset", "contacts_key:\ncontacts_type: ~\ncontacts_format:\n", func(*Campaign) {}},
		{"contacts_type null", "contacts_key: q\ncontacts_type:\n", func(w *Campaign) {
			w.ContactsKey, w.ContactsType, w.ContactsFormat = "q", ContactsSet, FormatCanonical
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "promo.yaml", tt.yaml)
			got, err := LoadCampaignFile(c, path)
			if err != nil {
				t.Fatal(err)
			}
			want := *def
			want.Number.StripPrefixes = append([]string(nil), def.Number.StripPrefixes...)
			want.File = path
			tt.change(&want)
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, &want)
			}
		})
	}
}

func TestDefaultCampaign(t *testing.T) {
	c := testConfig(t)
	got := c.DefaultCampaign("unknown-1")
	want := &Campaign{
		ID:          "unknown-1",
		Lists:       []string{"no-answer", "nao-me-perturbe", "opt-out"},
		Action:      ActionContinue,
		HangupCause: 17,
		Goto:        "default-ctx,s,1",
		GotoTarget:  GotoTarget{"default-ctx", "s", "1"},
		OnError:     OnErrorAllow,
		Timeout:     250 * time.Millisecond,
		Number:      c.Defaults.Number,
		OptOut:      OptOutRule{List: "opt-out", Reason: "consent-revoked", TTL: 90 * day},
		Spam:        SpamRule{List: "spam", TTL: week},
		NoAnswer:    NoAnswerRule{Enabled: true, Attempts: 5, Window: 2 * time.Hour, Statuses: []string{"NOANSWER", "BUSY"}, List: "no-answer", TTL: 3 * day},
		Invalid:     InvalidRule{Enabled: true, Causes: []int{1, 28}, List: "spam", TTL: 10 * day},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	// The campaign does not share memory with the configuration.
	got.Number.StripPrefixes[0] = "9"
	got.Lists[0] = "x"
	got.NoAnswer.Statuses[0] = "x"
	got.Invalid.Causes[0] = 99
	if c.Defaults.Number.StripPrefixes[0] != "0" || c.Defaults.Lists[0] != "no-answer" ||
		c.Defaults.NoAnswer.Statuses[0] != "NOANSWER" || c.Defaults.Invalid.Causes[0] != 1 {
		t.Error("DefaultCampaign shares slices with the configuration")
	}
}

func TestCampaignFileErrors(t *testing.T) {
	c := testConfig(t)
	tests := []struct {
		name, file, yaml, key string
		sentinel              error
	}{
		{"unknown key", "promo.yaml", "acton: hangup\n", "acton", ErrUnknownKey},
		{"unknown number key", "promo.yaml", "number:\n  area: \"11\"\n", "number.area", ErrUnknownKey},
		{"undeclared list", "promo.yaml", "lists: [spam, nope]\n", "lists[1]", ErrUndeclaredList},
		{"bad list name", "promo.yaml", "lists: [\"a b\"]\n", "lists[0]", ErrUndeclaredList},
		{"lists mapping", "promo.yaml", "lists: {spam: 1}\n", "lists", ErrInvalidValue},
		{"action", "promo.yaml", "action: drop\n", "action", ErrInvalidValue},
		{"hangup_cause", "promo.yaml", "hangup_cause: 200\n", "hangup_cause", ErrInvalidValue},
		{"hangup_cause text", "promo.yaml", "hangup_cause: busy\n", "hangup_cause", ErrInvalidValue},
		{"goto", "promo.yaml", "goto: \"a,,1\"\n", "goto", ErrInvalidValue},
		{"on_error", "promo.yaml", "on_error: retry\n", "on_error", ErrInvalidValue},
		{"timeout range", "promo.yaml", "timeout: 2m\n", "timeout", ErrInvalidValue},
		{"timeout unit", "promo.yaml", "timeout: 300\n", "timeout", ErrInvalidValue},
		{"country_code", "promo.yaml", "number: {country_code: \"55x\"}\n", "number.country_code", ErrInvalidValue},
		{"area_code", "promo.yaml", "number: {area_code: \"011\"}\n", "number.area_code", ErrInvalidValue},
		{"strip_prefixes", "promo.yaml", "number: {strip_prefixes: [\"0\", \"a\"]}\n", "number.strip_prefixes[1]", ErrInvalidValue},
		{"extension_max_length", "promo.yaml", "number: {extension_max_length: 20}\n", "number.extension_max_length", ErrInvalidValue},
		{"id mismatch", "promo.yaml", "id: vendas\n", "id", ErrInvalidValue},
		{"contacts_type without key", "promo.yaml", "contacts_type: list\n", "contacts_type", ErrInvalidValue},
		{"contacts_format without key", "promo.yaml", "contacts_format: e164\n", "contacts_format", ErrInvalidValue},
		{"contacts_key empty", "promo.yaml", "contacts_key: \"\"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key space", "promo.yaml", "contacts_key: \"dialer queue\"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key trailing space", "promo.yaml", "contacts_key: \"q \"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key tab", "promo.yaml", "contacts_key: \"q\\tx\"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key newline", "promo.yaml", "contacts_key: \"q\\nx\"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key NUL", "promo.yaml", "contacts_key: \"q\\0x\"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key DEL", "promo.yaml", "contacts_key: \"q\\x7fx\"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key no-break space", "promo.yaml", "contacts_key: \"q\\u00a0x\"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key too long", "promo.yaml", "contacts_key: " + strings.Repeat("k", MaxContactsKeyLen+1) + "\n", "contacts_key", ErrInvalidValue},
		{"contacts_key a blacklist", "promo.yaml", "contacts_key: \"blacklist:list:{opt-out}\"\n", "contacts_key", ErrInvalidValue},
		{"contacts_key list", "promo.yaml", "contacts_key: [a, b]\n", "contacts_key", ErrInvalidValue},
		{"contacts_type", "promo.yaml", "contacts_key: q\ncontacts_type: hash\n", "contacts_type", ErrInvalidValue},
		{"contacts_type case", "promo.yaml", "contacts_key: q\ncontacts_type: ZSET\n", "contacts_type", ErrInvalidValue},
		{"contacts_format", "promo.yaml", "contacts_key: q\ncontacts_format: E.164\n", "contacts_format", ErrInvalidValue},
		{"contacts_format empty", "promo.yaml", "contacts_key: q\ncontacts_format: \"\"\n", "contacts_format", ErrInvalidValue},
		{"file name not an id", "my promo.yaml", "", "", ErrInvalidValue},
		{"bad yaml", "promo.yaml", "lists: [spam\n", "", ErrSyntax},
		{"not a mapping", "promo.yaml", "just text\n", "", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), tt.file, tt.yaml)
			got, err := LoadCampaignFile(c, path)
			if got != nil || !errors.Is(err, tt.sentinel) {
				t.Fatalf("got %+v, %v; want error %v", got, err, tt.sentinel)
			}
			e := problem(t, err, tt.key)
			if e.File != path {
				t.Errorf("error names file %q, want %q", e.File, path)
			}
			if tt.key != "" && e.Line != 1 && e.Line != 2 {
				t.Errorf("error line = %d", e.Line)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("message %q does not name the file and key", err)
			}
		})
	}
}

// The contacts settings are per campaign: the main file's defaults: has
// none, and an unknown campaign has no queue.
func TestContactsArePerCampaign(t *testing.T) {
	_, _, err := loadYAML(t, "defaults:\n  contacts_key: q\n")
	if e := problem(t, err, "defaults.contacts_key"); !errors.Is(e, ErrUnknownKey) {
		t.Errorf("error = %v, want unknown key", e)
	}
	c := testConfig(t)
	if d := c.DefaultCampaign("x"); d.ContactsKey != "" || d.ContactsType != "" || d.ContactsFormat != "" {
		t.Errorf("DefaultCampaign has a queue: %+v", d)
	}
	path := writeFile(t, t.TempDir(), "promo.yaml", "description: x\n\ncontacts_type: list\n")
	_, err = LoadCampaignFile(c, path)
	e := problem(t, err, "contacts_type")
	if want := path + `:3: contacts_type = "list": needs contacts_key, the Redis key of the dialer's queue`; e.Error() != want {
		t.Errorf("message = %q, want %q", e.Error(), want)
	}
}

func TestCampaignsUsing(t *testing.T) {
	c := testConfig(t)
	dir := c.CampaignsDir
	writeFile(t, dir, "promo.yaml", "lists: [spam]\n")
	writeFile(t, dir, "cobranca.yaml", "lists: [spam, vip]\n")
	writeFile(t, dir, "avisos.yaml", "lists: []\n")
	writeFile(t, dir, "vendas.yaml", "") // defaults.lists: no-answer
	set, err := NewCampaignLoader(c).Load()
	if err != nil {
		t.Fatal(err)
	}
	set["nil"] = nil
	tests := []struct {
		list string
		want []string
	}{
		{"spam", []string{"cobranca", "promo"}},
		{"vip", []string{"cobranca"}},
		{"no-answer", []string{"vendas"}},
		{"opt-out", []string{"avisos", "cobranca", "promo", "vendas"}}, // all_campaigns
		{"nao-me-perturbe", []string{"avisos", "cobranca", "promo", "vendas"}},
		{"undeclared", nil},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, camp := range CampaignsUsing(tt.list, set) {
			got = append(got, camp.ID)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CampaignsUsing(%q) = %q, want %q", tt.list, got, tt.want)
		}
	}
	if got := CampaignsUsing("spam", nil); len(got) != 0 {
		t.Errorf("CampaignsUsing with no campaigns = %v", got)
	}
}

func TestCampaignGotoRequired(t *testing.T) {
	c := testConfig(t)
	c.Defaults.Goto = ""
	path := writeFile(t, t.TempDir(), "promo.yml", "action: goto\n")
	_, err := LoadCampaignFile(c, path)
	if e := problem(t, err, "goto"); !strings.Contains(e.Error(), "required") || e.File != path {
		t.Errorf("error = %v", e)
	}
}

// loadCampaigns runs l.Load and returns the ids found and the error.
func loadCampaigns(t *testing.T, l *CampaignLoader) (map[string]*Campaign, error) {
	t.Helper()
	set, err := l.Load()
	if set == nil {
		t.Fatal("Load returned a nil map")
	}
	return set, err
}

func TestCampaignLoader(t *testing.T) {
	c := testConfig(t)
	dir := c.CampaignsDir
	writeFile(t, dir, "promo.yaml", "description: v1\n")
	writeFile(t, dir, "cobranca.yml", "lists: [spam]\n")
	writeFile(t, dir, "README.md", "not a campaign")
	writeFile(t, dir, ".hidden.yaml", "bad: [")
	writeFile(t, dir, "promo.yaml.swp", "bad: [")
	if err := os.Mkdir(filepath.Join(dir, "folder.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := NewCampaignLoader(c)

	first, err := loadCampaigns(t, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first["promo"].Description != "v1" || first["cobranca"].Lists[0] != "spam" {
		t.Fatalf("first load = %v", first)
	}
	promoV1 := first["promo"]

	// promo turns bad: reported, last good version kept.
	promoPath := writeFile(t, dir, "promo.yaml", "description: v2\nacton: hangup\n")
	second, err := loadCampaigns(t, l)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), promoPath) {
		t.Fatalf("err = %v, want unknown key in %s", err, promoPath)
	}
	if second["promo"] != promoV1 || len(second) != 2 {
		t.Errorf("bad file did not keep the last good version: %v", second)
	}

	// cobranca removed, vendas added, promo still bad.
	if err := os.Remove(filepath.Join(dir, "cobranca.yml")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "vendas.yaml", "action: hangup\n")
	third, err := loadCampaigns(t, l)
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("err = %v", err)
	}
	if third["cobranca"] != nil || third["vendas"] == nil || third["promo"] != promoV1 {
		t.Errorf("third load = %v", third)
	}

	// promo fixed.
	writeFile(t, dir, "promo.yaml", "description: v3\n")
	fourth, err := loadCampaigns(t, l)
	if err != nil {
		t.Fatal(err)
	}
	if fourth["promo"].Description != "v3" || len(fourth) != 2 {
		t.Errorf("fourth load = %v", fourth)
	}

	// Earlier sets are never modified.
	if len(first) != 2 || first["cobranca"] == nil || first["promo"] != promoV1 || len(second) != 2 {
		t.Error("Load modified a map it returned before")
	}

	// Two files for one campaign: reported, last good kept.
	writeFile(t, dir, "promo.yml", "description: other\n")
	fifth, err := loadCampaigns(t, l)
	if !errors.Is(err, ErrDuplicateCampaign) || fifth["promo"] != fourth["promo"] {
		t.Errorf("duplicate: err = %v, promo = %+v", err, fifth["promo"])
	}

	// A bad new file is reported and absent.
	writeFile(t, dir, "novo.yaml", "timeout: forever\n")
	sixth, err := loadCampaigns(t, l)
	if !errors.Is(err, ErrInvalidValue) || sixth["novo"] != nil {
		t.Errorf("bad new file: err = %v, set = %v", err, sixth)
	}

	// The folder disappears: error, previous set kept.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	seventh, err := loadCampaigns(t, l)
	if !errors.Is(err, fs.ErrNotExist) || len(seventh) != len(sixth) {
		t.Errorf("missing folder: err = %v, set = %v", err, seventh)
	}
}

func TestCampaignLoaderFollowsSymlinks(t *testing.T) {
	// A Kubernetes ConfigMap volume: files are symlinks into ..data.
	c := testConfig(t)
	dir := c.CampaignsDir
	writeFile(t, dir, "..2024_01_01/promo.yaml", "description: k8s\n")
	if err := os.Symlink("..2024_01_01", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/promo.yaml", filepath.Join(dir, "promo.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("missing.yaml", filepath.Join(dir, "dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	set, err := NewCampaignLoader(c).Load()
	if set["promo"] == nil || set["promo"].Description != "k8s" {
		t.Errorf("set = %v", set)
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "dangling.yaml") {
		t.Errorf("err = %v, want the dangling link reported", err)
	}
}
