package blacklist

import "testing"

func TestPrefixEntry(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"55900*", "55900*", true},
		{"+55 900*", "55900*", true},
		{" (55) 11-9.8* ", "551198*", true},
		{"*", "", false},
		{"55900", "", false},
		{"55+900*", "", false},
		{"55a*", "", false},
		{"55**", "", false},
		{"+*", "", false},
	}
	for _, tt := range tests {
		got, ok := PrefixEntry(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("PrefixEntry(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
