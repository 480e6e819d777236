package blacklist

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		keys           Keys
		campaign, list string
	}{
		{Keys{}, "blacklist:campaign:{vendas-sp}", "blacklist:list:{nao-me-perturbe}"},
		{Keys{Prefix: DefaultPrefix}, "blacklist:campaign:{vendas-sp}", "blacklist:list:{nao-me-perturbe}"},
		{Keys{Prefix: "acme:bl:"}, "acme:bl:campaign:{vendas-sp}", "acme:bl:list:{nao-me-perturbe}"},
	}
	for _, tt := range tests {
		if got := tt.keys.Campaign("vendas-sp"); got != tt.campaign {
			t.Errorf("%+v.Campaign = %q, want %q", tt.keys, got, tt.campaign)
		}
		if got := tt.keys.Shared("nao-me-perturbe"); got != tt.list {
			t.Errorf("%+v.Shared = %q, want %q", tt.keys, got, tt.list)
		}
		if got, want := CampaignList(tt.keys, "vendas-sp"), (List{Name: "vendas-sp", Key: tt.campaign, Campaign: true}); got != want {
			t.Errorf("CampaignList = %+v, want %+v", got, want)
		}
		if got, want := SharedList(tt.keys, "nao-me-perturbe"), (List{Name: "nao-me-perturbe", Key: tt.list}); got != want {
			t.Errorf("SharedList = %+v, want %+v", got, want)
		}
	}
}

func TestKeysValidate(t *testing.T) {
	for prefix, valid := range map[string]bool{
		"":           true,
		"blacklist:": true,
		"acme:bl:":   true,
		"acme{x}:":   false,
		"acme}:":     false,
	} {
		err := Keys{Prefix: prefix}.Validate()
		if valid && err != nil || !valid && !errors.Is(err, ErrInvalidName) {
			t.Errorf("Keys{Prefix: %q}.Validate() = %v", prefix, err)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		want string // a part of the error; "" when valid
	}{
		{"vendas-sp", ""},
		{"nao-me-perturbe", ""},
		{"spam", ""},
		{"Campanha_2024.v2", ""},
		{"7", ""},
		{"0800", ""},
		{strings.Repeat("a", MaxNameLength), ""},
		{"", "empty"},
		{strings.Repeat("a", MaxNameLength+1), "longer than 64"},
		{"a b", `' ' is not allowed`},
		{"a}b", `'}' is not allowed`},
		{"a{b", `'{' is not allowed`},
		{"{", `starts with '{'`},
		{"}", `starts with '}'`},
		{"a:b", `':' is not allowed`},
		{":", `starts with ':'`},
		{"x*", `'*' is not allowed`},
		{"x?", `'?' is not allowed`},
		{"x[ab]", `'[' is not allowed`},
		{"../", `starts with '.'`},
		{"a/../b", `'/' is not allowed`},
		{".hidden", `starts with '.'`},
		{"-x", `starts with '-'`},
		{"_x", `starts with '_'`},
		{"a\n", `'\n' is not allowed`},
		{"\n", `starts with '\n'`},
		{"a\r\nFLUSHALL", `'\r' is not allowed`},
		{"a\x00", `'\x00' is not allowed`},
		{"não", `'ã' is not allowed`},
		{"a\"b", `'"' is not allowed`},
		{"a\\b", `'\\' is not allowed`},
	}
	for _, tt := range tests {
		err := ValidName("campaign id", tt.name)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ValidName(%q) = %v, want nil", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidName(%q) = %v, want ErrInvalidName", tt.name, err)
			continue
		}
		// The error names the kind and quotes the input.
		if head := "campaign id " + strconv.Quote(tt.name) + ": "; !strings.HasPrefix(err.Error(), head) {
			t.Errorf("ValidName(%q) = %q: want it to start with %q", tt.name, err, head)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidName(%q) = %q, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestCandidates(t *testing.T) {
	tests := []struct {
		member string
		want   []string
	}{
		{"1", []string{"1", "1*"}},
		{"2001", []string{"2001", "2001*", "200*", "20*", "2*"}},
		{"5511987654321", []string{"5511987654321", "5511987654321*", "551198765432*", "55119876543*",
			"5511987654*", "551198765*", "55119876*", "5511987*", "551198*", "55119*", "5511*", "551*", "55*", "5*"}},
	}
	for _, tt := range tests {
		if got := candidates(tt.member); !slices.Equal(got, tt.want) {
			t.Errorf("candidates(%q) = %q, want %q", tt.member, got, tt.want)
		}
	}
}

// FuzzValidName checks that a name ValidName accepts stays inside its key:
// the key's hash tag is exactly the name, and the name holds nothing that
// redis-cli or a glob would read specially.
func FuzzValidName(f *testing.F) {
	for _, seed := range []string{"vendas-sp", "a}b", "a b", "x*", "../", "\n", "{", ":", "a{b}c", "não", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidName("list name", name)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) || !strings.HasPrefix(err.Error(), "list name "+strconv.Quote(name)+": ") {
				t.Fatalf("ValidName(%q) = %q: want ErrInvalidName naming the kind and the input", name, err)
			}
			return
		}
		if strings.ContainsAny(name, "{}:*?[] \\\"'\r\n\t/") || len(name) > MaxNameLength {
			t.Fatalf("ValidName accepted %q", name)
		}
		for _, key := range []string{Keys{}.Campaign(name), Keys{}.Shared(name)} {
			open, end := strings.IndexByte(key, '{'), strings.IndexByte(key, '}')
			if open < 0 || end < open || key[open+1:end] != name || end != len(key)-1 {
				t.Fatalf("key %q of name %q: the hash tag is not the name", key, name)
			}
		}
	})
}

// FuzzCandidates checks the entries a check asks for any member: the
// member, then every prefix of it with a "*", longest first.
func FuzzCandidates(f *testing.F) {
	for _, seed := range []string{"1", "2001", "5511987654321"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, member string) {
		if validMember(member) != nil {
			return
		}
		lk := &lookup{members: []string{member}}
		lk.candidates()
		var got []string
		for _, u := range lk.slots[lk.off[0]:lk.off[1]] {
			got = append(got, lk.cands[u])
		}
		if len(got) != len(member)+1 || len(lk.cands) != len(got) || got[0] != member {
			t.Fatalf("candidates of %q = %q (%d asked)", member, got, len(lk.cands))
		}
		for i, e := range got[1:] {
			if want := member[:len(member)-i] + "*"; e != want {
				t.Fatalf("candidates(%q)[%d] = %q, want %q", member, i+1, e, want)
			}
		}
	})
}

// candidates is the reference of what a check asks for member: the
// entries that block it, best first: member itself, then its prefix
// entries from the longest (member+"*") to the shortest (member[:1]+"*").
func candidates(member string) []string {
	entries := []string{member}
	for i := len(member); i >= 1; i-- {
		entries = append(entries, member[:i]+"*")
	}
	return entries
}
