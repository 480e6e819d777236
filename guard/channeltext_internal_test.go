package guard

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestChannelText(t *testing.T) {
	long := strings.Repeat("a", MaxVariableBytes-1) + "ção"
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"court order", "court order"},
		{"legal\nEXEC Dial x", "legal EXEC Dial x"},
		{"a\r\nb\x00c", "a  b c"},
		{strings.Repeat("r", 5000), strings.Repeat("r", MaxVariableBytes)},
		// A character cut in the middle is dropped whole.
		{long, strings.Repeat("a", MaxVariableBytes-1)},
		{"não ligar \"x\" \\ ${EXTEN}", "não ligar \"x\" \\ ${EXTEN}"},
	} {
		got := channelText(tc.in)
		if got != tc.want {
			t.Errorf("channelText(%.40q) = %.40q (%d bytes), want %.40q (%d bytes)", tc.in, got, len(got), tc.want, len(tc.want))
		}
		if !utf8.ValidString(got) && utf8.ValidString(tc.in) {
			t.Errorf("channelText(%.40q) = %.40q: not UTF-8", tc.in, got)
		}
	}
}
