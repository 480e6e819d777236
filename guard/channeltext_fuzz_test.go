package guard

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzChannelText checks that any stored text becomes a value one AGI
// command can carry: no CR, LF or NUL, at most MaxVariableBytes, still UTF-8
// when it was, and otherwise the text itself: unchanged when it was already
// fit, else its start with line breaks and NUL turned into spaces.
func FuzzChannelText(f *testing.F) {
	for _, s := range []string{
		"", "opt-out", "legal\nEXEC Dial PJSIP/1", "a\r\nb\x00c", strings.Repeat("r", 300),
		strings.Repeat("a", MaxVariableBytes-1) + "ção", "não ligar \"x\" \\ ${EXTEN}", "\xff\xfe",
	} {
		f.Add(s)
	}
	clean := strings.NewReplacer("\r", " ", "\n", " ", "\x00", " ")
	f.Fuzz(func(t *testing.T, s string) {
		got := channelText(s)
		if strings.ContainsAny(got, "\r\n\x00") || len(got) > MaxVariableBytes {
			t.Fatalf("channelText(%q) = %q (%d bytes)", s, got, len(got))
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("channelText(%q) = %q: not UTF-8", s, got)
		}
		if len(s) <= MaxVariableBytes {
			if want := clean.Replace(s); got != want {
				t.Fatalf("channelText(%q) = %q, want %q", s, got, want)
			}
			return
		}
		if got != clean.Replace(s[:len(got)]) || len(got) < MaxVariableBytes-utf8.UTFMax+1 {
			t.Fatalf("channelText(%q) = %q: not the start of the text", s, got)
		}
	})
}
