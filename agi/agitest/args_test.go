package agitest

import (
	"slices"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		// Scenario d, as Asterisk 22.10.1 parsed it.
		{`SET VARIABLE "BLACKLIST_REASON" "opt out: customer asked"`, []string{"SET", "VARIABLE", "BLACKLIST_REASON", "opt out: customer asked"}},
		{`SET VARIABLE Q2 "he said \"stop\" now"`, []string{"SET", "VARIABLE", "Q2", `he said "stop" now`}},
		{`SET VARIABLE Q3 'single quoted value'`, []string{"SET", "VARIABLE", "Q3", "'single", "quoted", "value'"}},
		{`SET VARIABLE Q5 back\\slash\x`, []string{"SET", "VARIABLE", "Q5", `back\slashx`}},
		{`SET VARIABLE Q6 ""`, []string{"SET", "VARIABLE", "Q6", ""}},
		{`SET VARIABLE Q8 ab"c d"ef`, []string{"SET", "VARIABLE", "Q8", "abc def"}},
		{"SET VARIABLE Q11 tab\\\tsep", []string{"SET", "VARIABLE", "Q11", "tab\tsep"}},
		{`SET VARIABLE Q12 "unterminated quote`, []string{"SET", "VARIABLE", "Q12", "unterminated quote"}},
		{"SET VARIABLE Q13 \"trailing cr\"\r", []string{"SET", "VARIABLE", "Q13", "trailing cr\r"}},
		{"SET VARIABLE Q10 \"n\xc3\xa3o ligar\"", []string{"SET", "VARIABLE", "Q10", "n\xc3\xa3o ligar"}},
		// Scenario e.
		{"", nil},
		{"   ", nil},
		{"\t", nil},
		// Separators and escapes.
		{"  NOOP \t x  ", []string{"NOOP", "x"}},
		{`a\ b`, []string{"a b"}},
		{`a \`, []string{"a"}},
		{`\`, nil},
		{`""""`, []string{""}},
		{`"" ""`, []string{"", ""}},
		{`a"b`, []string{"ab"}},
		{`"a\\"b`, []string{`a\b`}},
		{"x\x00y z", []string{"x"}},
		{"a\x00b", []string{"a"}},
	}
	for _, tt := range tests {
		if got := ParseArgs(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("ParseArgs(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestParseArgsDropsWordsAfter127(t *testing.T) {
	words := make([]string, 130)
	for i := range words {
		words[i] = "w"
	}
	line := strings.Join(words, " ") + ` "quoted" tail\ x`
	if got := ParseArgs(line); len(got) != maxArgs {
		t.Errorf("ParseArgs of %d words kept %d, want %d", len(words)+2, len(got), maxArgs)
	}
}

// quoteArg quotes s so that ParseArgs gives it back: double quotes around
// it, a backslash before every double quote and backslash.
func quoteArg(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

func FuzzParseArgs(f *testing.F) {
	for _, seed := range []string{
		`SET VARIABLE "BLACKLIST_REASON" "opt out: customer asked"`,
		`SET VARIABLE Q2 "he said \"stop\" now"`,
		`SET VARIABLE Q5 back\\slash\x`,
		`SET VARIABLE Q8 ab"c d"ef`,
		"SET VARIABLE Q11 tab\\\tsep",
		"a\x1fb\x1f\x1f\"\\\r",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := ParseArgs(s) // must not panic
		if len(args) > maxArgs {
			t.Fatalf("ParseArgs(%q) returned %d words, more than %d", s, len(args), maxArgs)
		}
		// Round trip: words cut from s at 0x1f bytes, quoted and joined with
		// spaces, parse back to the same words.
		if strings.IndexByte(s, 0) >= 0 {
			return // a NUL ends the line, as in C
		}
		words := strings.Split(s, "\x1f")
		if len(words) > maxArgs {
			words = words[:maxArgs]
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = quoteArg(w)
		}
		line := strings.Join(quoted, " ")
		if got := ParseArgs(line); !slices.Equal(got, words) {
			t.Fatalf("ParseArgs(%q) = %q, want %q", line, got, words)
		}
	})
}
