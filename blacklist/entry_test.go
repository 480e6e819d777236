package blacklist

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestValidEntry(t *testing.T) {
	tests := []struct {
		entry string
		want  string // a part of the error; "" when valid
	}{
		{"5511987654321", ""},
		{"2001", ""},
		{"55900*", ""},
		{"5*", ""},
		{"0", ""},
		{strings.Repeat("9", MaxMemberLength), ""},
		{strings.Repeat("9", MaxMemberLength) + "*", ""},
		{"", "empty"},
		{"*", "a lone '*'"},
		{"**", "'*' may only end a prefix entry"},
		{"55*9", "'*' may only end a prefix entry"},
		{"5511987654321**", "'*' may only end a prefix entry"},
		{"+5511987654321", "'+' is not a digit"},
		{"55 11", "' ' is not a digit"},
		{"abc", "'a' is not a digit"},
		{"551198765432١", "'١' is not a digit"},
		{"5511\n", `'\n' is not a digit`},
		{"55?", "'?' is not a digit"},
		{strings.Repeat("9", MaxMemberLength+1), "longer than 64 digits"},
	}
	for _, tt := range tests {
		err := ValidEntry(tt.entry)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ValidEntry(%q) = %v, want nil", tt.entry, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidEntry) || !strings.HasPrefix(err.Error(), "entry "+strconv.Quote(tt.entry)+": ") ||
			!strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidEntry(%q) = %v; want ErrInvalidEntry naming the entry and saying %q", tt.entry, err, tt.want)
		}
	}
}

func TestValidEntryInCompact(t *testing.T) {
	l := SharedListLayout(Keys{}, "nao-me-perturbe", LayoutCompact)
	for entry, want := range map[string]error{
		"5511987654321": nil,
		"55119":         nil,
		"55900*":        ErrCompactLayout,
		"2001":          ErrCompactLayout,
		"abc":           ErrInvalidEntry,
	} {
		err := validEntryIn(l, entry)
		if want == nil && err != nil || want != nil && (!errors.Is(err, want) || !strings.Contains(err.Error(), strconv.Quote(entry))) {
			t.Errorf("validEntryIn(compact, %q) = %v, want %v", entry, err, want)
		}
		if want == ErrCompactLayout && !strings.Contains(err.Error(), l.Key) {
			t.Errorf("validEntryIn(compact, %q) = %v: want it to name the list %s", entry, err, l.Key)
		}
	}
}

// FuzzValidEntry checks that an accepted entry is digits with at most a
// final "*", that Check can look it up (without the "*"), and that a
// refusal names the entry.
func FuzzValidEntry(f *testing.F) {
	for _, seed := range []string{"5511987654321", "55900*", "*", "", "2001", "55*9", "+55", "٣", "9*\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		err := ValidEntry(entry)
		if err != nil {
			if !errors.Is(err, ErrInvalidEntry) || !strings.HasPrefix(err.Error(), "entry "+strconv.Quote(entry)+": ") {
				t.Fatalf("ValidEntry(%q) = %q: want ErrInvalidEntry naming the entry", entry, err)
			}
			return
		}
		digits := strings.TrimSuffix(entry, "*")
		if digits == "" || len(digits) > MaxMemberLength || strings.Trim(digits, "0123456789") != "" {
			t.Fatalf("ValidEntry accepted %q", entry)
		}
		if err := validMember(digits); err != nil {
			t.Fatalf("ValidEntry accepted %q, which Check cannot look up: %v", entry, err)
		}
		if _, _, ok := CompactSplit(digits); ok != (len(digits) > CompactDigits) {
			t.Fatalf("CompactSplit(%q) = %v", digits, ok)
		}
	})
}

// FuzzLookupCandidates checks that a batch asks each distinct entry once,
// and that every member's candidates are those of candidates, best first.
func FuzzLookupCandidates(f *testing.F) {
	f.Add("5511987654321,5511987654322,55119,5511987654321,2001,1")
	f.Add("12,1,123,12")
	f.Add("9")
	f.Fuzz(func(t *testing.T, batch string) {
		var members []string
		for _, m := range strings.Split(batch, ",") {
			if validMember(m) == nil {
				members = append(members, m)
			}
		}
		if len(members) == 0 {
			return
		}
		lk := &lookup{members: members}
		lk.candidates()
		seen := make(map[string]bool)
		for _, c := range lk.cands {
			if seen[c] {
				t.Fatalf("batch %q: %q asked twice", members, c)
			}
			seen[c] = true
		}
		for i, m := range members {
			var got []string
			for _, u := range lk.slots[lk.off[i]:lk.off[i+1]] {
				got = append(got, lk.cands[u])
			}
			if want := candidates(m); !slices.Equal(got, want) {
				t.Fatalf("batch %q, member %q: candidates %q, want %q", members, m, got, want)
			}
		}
	})
}

func TestCompactModulus(t *testing.T) {
	n := 1
	for range CompactDigits {
		n *= 10
	}
	if compactModulus != n {
		t.Fatalf("compactModulus = %d, want 10^%d", compactModulus, CompactDigits)
	}
}
