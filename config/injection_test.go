package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHostileNamesRefused loads main files and campaign files whose list
// names, reasons, key prefix and campaign ids hold separators, quotes, line
// breaks, glob characters or hash-tag braces: each is refused with an
// *Error that names the value, so no key is ever built from it.
func TestHostileNamesRefused(t *testing.T) {
	dir := t.TempDir()
	hostile := []string{"a b", `a"b`, "a\nb", "a\rb", "*", "a?", "[a]", `a\b`, "{a}", "a}:b", "a:b", strings.Repeat("a", 65)}
	for _, v := range hostile {
		yq := strconv.Quote(v) // a YAML double-quoted scalar reads back as v
		for _, main := range []string{
			"lists:\n  " + yq + ": {reason: spam}\n",
			"lists:\n  spam: {reason: " + yq + "}\n",
			"defaults: {lists: [" + yq + "]}\n",
		} {
			path := filepath.Join(dir, "main.yaml")
			if err := os.WriteFile(path, []byte(main), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), strconv.Quote(v)) {
				t.Errorf("main file %q: error %v, want an *Error naming %q", main, err, v)
			}
		}
		path := filepath.Join(dir, "promo.yaml")
		if err := os.WriteFile(path, []byte("lists: ["+yq+"]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCampaignFile(Default(), path); err == nil || !strings.Contains(err.Error(), strconv.Quote(v)) {
			t.Errorf("campaign lists [%q]: error %v, want one naming it", v, err)
		}
	}
	for _, prefix := range []string{"bl:{x}:", "bl x:", "bl\n:", "bl\x00:"} {
		path := filepath.Join(dir, "main.yaml")
		if err := os.WriteFile(path, []byte("key_prefix: "+strconv.Quote(prefix)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "key_prefix") {
			t.Errorf("key_prefix %q: error %v", prefix, err)
		}
	}
	// A campaign file's name is its id.
	for _, name := range []string{"a b.yaml", "{a}.yaml", "a}:b.yaml", "a*.yaml", "a\nb.yaml"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("lists: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		id := strings.TrimSuffix(name, ".yaml")
		if _, err := LoadCampaignFile(Default(), path); err == nil || !strings.Contains(err.Error(), strconv.Quote(id)) {
			t.Errorf("campaign file %q: error %v, want one naming %q", name, err, id)
		}
	}
}
