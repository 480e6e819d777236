package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzLoadCampaignFile feeds arbitrary bytes as a campaign file: loading
// never panics and gives either a valid campaign or an *Error.
func FuzzLoadCampaignFile(f *testing.F) {
	for _, name := range []string{"campaigns/promo.yaml", "campaigns/cobranca.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "~", "[]", "id: fuzz\n", "lists: [spam, spam, opt-out]\n", "lists: []\n", "lists: spam,no-answer\n",
		"number: {area_code: \"11\"}\n", "number:\n  1: x\n", "timeout: 300\n", "timeout: 1h\n",
		"a: &a [*a]\n", "x: &x {y: *x}\n", "goto: \"a,b,c\"\naction: goto\n", "hangup_cause: 99999999999999999999\n",
		"? [a]\n: b\n", "<<: {action: hangup}\n", "action: hangup\naction: continue\n", "--- \n...\n---\n", "\xff\xfe",
		"number: !!binary aGVsbG8=\n", "description: !custom x\n",
		"contacts_key: q\n", "contacts_key: \"a b\"\n", "contacts_type: list\n", "contacts_key: q\ncontacts_type: zset\ncontacts_format: e164\n",
		"contacts_key: \"\\u2028\"\n", "contacts_key: \"blacklist:x\"\n", "contacts_key: ~\ncontacts_format: national\n",
		"optout: {list: opt-out, reason: consent-revoked, ttl: 2w}\n", "spam: {list: nao-me-perturbe, ttl: 7d}\n",
		"no_answer: {enabled: true, attempts: 3, window: 24h, statuses: [NOANSWER, BUSY], list: no-answer, ttl: 7d}\n",
		"no_answer: {statuses: NOANSWER,BUSY}\n", "no_answer: {attempts: 1, window: 31d, ttl: 0}\n",
		"invalid: {enabled: true, causes: [1, 28], list: spam, ttl: 30d}\n", "invalid: {causes: [0, 128, 1, 1]}\n",
		"invalid: {causes: 1,28}\n", "optout: {ttl: 99999999999999999999d}\n", "spam: {ttl: 15251w}\n",
	} {
		f.Add([]byte(s))
	}
	c := Default()
	// One file per fuzzing process, rewritten for each input (inputs run
	// one at a time in a process).
	path := filepath.Join(f.TempDir(), "fuzz.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		camp, err := LoadCampaignFile(c, path)
		if err != nil {
			if camp != nil {
				t.Fatalf("campaign %+v returned with error %v", camp, err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			if e.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if camp.ID != "fuzz" || camp.File != path {
			t.Fatalf("campaign %+v", camp)
		}
		// The resolved campaign passes validation.
		p := &problems{}
		c.validateSettings(p, "", CampaignSettings{
			Lists: camp.Lists, Action: camp.Action, HangupCause: camp.HangupCause, Goto: camp.Goto,
			OnError: camp.OnError, Timeout: camp.Timeout, Number: camp.Number,
			OptOut: camp.OptOut, Spam: camp.Spam, NoAnswer: camp.NoAnswer, Invalid: camp.Invalid,
		})
		if camp.ContactsKey != "" {
			c.validateContacts(p, camp.ContactsKey, camp.ContactsType, camp.ContactsFormat)
		} else if camp.ContactsType != "" || camp.ContactsFormat != "" {
			t.Fatalf("contacts type %q, format %q without a key", camp.ContactsType, camp.ContactsFormat)
		}
		if err := p.err(); err != nil {
			t.Fatalf("loaded campaign is invalid: %v", err)
		}
		for i, l := range camp.Lists {
			if slices.Contains(camp.Lists[:i], l) {
				t.Fatalf("duplicate list %q in %q", l, camp.Lists)
			}
		}
		for _, name := range []string{"opt-out", "nao-me-perturbe"} {
			if !slices.Contains(camp.Lists, name) {
				t.Fatalf("all_campaigns list %q missing from %q", name, camp.Lists)
			}
		}
	})
}

// FuzzLoad feeds arbitrary bytes as the main file: never a panic; either a
// valid configuration or an error.
func FuzzLoad(f *testing.F) {
	data, err := os.ReadFile("blacklist-agi.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, s := range []string{
		"", "lists:\n", "lists: {Spam: ~}\n", "redis: ~\n", "redis: x\n", "defaults: {number: {strip_prefixes: 0,00}}\n",
		"listen: [a]\n", "limits: {max_sessions: 1e3}\n", "a: &a [*a, *a]\nb: *a\n",
		"lists: {nmp: {layout: compact}}\n", "lists: {nmp: {layout: x}}\n", "management: {sweep_interval: 1s, audit_max_len: 10000000}\n",
		"management: {version_refresh: 99999999999999999999h}\n",
		"defaults: {no_answer: {enabled: true, statuses: [BUSY]}, invalid: {causes: [1]}}\n", "management: {sweep_interval: 1d}\n",
		"defaults: {optout: {list: nao-me-perturbe, ttl: 1w}}\n",
		"admin: {listen: \":9573\", read_tokens: [0123456789abcdef], write_tokens: [0123456789abcdef]}\n",
		"admin: {listen: \"[::1]:0\", max_upload_bytes: 68719476736}\nmonitoring: {instance: pbx-1, stats_retention: 400d}\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "main.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			if c != nil {
				t.Fatal("configuration returned with an error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load returned an invalid configuration: %v", err)
		}
		for name, l := range c.Lists {
			if l.Layout != LayoutPlain && l.Layout != LayoutCompact {
				t.Fatalf("list %q has layout %q after Load", name, l.Layout)
			}
		}
	})
}

// FuzzParseGoto checks that what ParseGoto accepts formats back to itself.
func FuzzParseGoto(f *testing.F) {
	for _, s := range []string{"blocked,s,1", "s,1", "label", "a,b,c,d", ",,", "ctx,+55*#,n-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGoto(s)
		if err != nil {
			return
		}
		if g.String() != s {
			t.Fatalf("ParseGoto(%q).String() = %q", s, g.String())
		}
		if again, err := ParseGoto(g.String()); err != nil || again != g {
			t.Fatalf("reparse of %q: %+v, %v", s, again, err)
		}
	})
}
