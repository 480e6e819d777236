package agi

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/agi/agitest"
)

func TestAppendCommand(t *testing.T) {
	tests := []struct {
		cmd  string
		args []string
		want string
	}{
		{"SET VARIABLE", []string{"BLACKLIST_STATUS", "ALLOWED"}, "SET VARIABLE BLACKLIST_STATUS ALLOWED\n"},
		{"SET VARIABLE", []string{"BLACKLIST_REASON", "opt out: customer asked"}, `SET VARIABLE BLACKLIST_REASON "opt out: customer asked"` + "\n"},
		{"SET VARIABLE", []string{"Q2", `he said "stop" now`}, `SET VARIABLE Q2 "he said \"stop\" now"` + "\n"},
		{"SET VARIABLE", []string{"Q5", `back\slash`}, `SET VARIABLE Q5 "back\\slash"` + "\n"},
		{"SET VARIABLE", []string{"Q6", ""}, `SET VARIABLE Q6 ""` + "\n"},
		{"SET VARIABLE", []string{"Q11", "tab\tsep"}, "SET VARIABLE Q11 \"tab\tsep\"\n"},
		{"SET VARIABLE", []string{"Q10", "n\u00e3o"}, "SET VARIABLE Q10 n\u00e3o\n"},
		{"SET VARIABLE", []string{"Q9", "${EXTEN};a,b=c|d'e"}, "SET VARIABLE Q9 ${EXTEN};a,b=c|d'e\n"},
		{"STREAM FILE", []string{"beep", ""}, `STREAM FILE beep ""` + "\n"},
		{"NOOP", nil, "NOOP\n"},
		{"", nil, "\n"},
	}
	for _, tt := range tests {
		got, err := appendCommand([]byte("keep"), tt.cmd, tt.args)
		if err != nil || string(got) != "keep"+tt.want {
			t.Errorf("appendCommand(%q, %q) = %q, %v; want %q", tt.cmd, tt.args, got, err, tt.want)
		}
	}
}

func TestAppendCommandRejects(t *testing.T) {
	tests := []struct {
		cmd  string
		args []string
		want string // in the error message
	}{
		{"SET VARIABLE", []string{"X", "a\nb"}, "argument 2"},
		{"SET VARIABLE", []string{"X\r", "a"}, "carriage return"},
		{"SET VARIABLE", []string{"X", "a\x00"}, "NUL"},
		{"NOOP\n", nil, "line feed"},
		{"SET VARIABLE", []string{"X", strings.Repeat("v", maxCommandBytes)}, "bytes long"},
		{"VERBOSE", slices.Repeat([]string{"w"}, maxCommandWords), "words"},
		{strings.Repeat("W ", 100), slices.Repeat([]string{"w"}, 28), "128 words"},
	}
	for _, tt := range tests {
		got, err := appendCommand([]byte("keep"), tt.cmd, tt.args)
		if !errors.Is(err, ErrBadArgument) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("appendCommand(%q, %.20q) error = %v, want ErrBadArgument mentioning %q", tt.cmd, tt.args, err, tt.want)
		}
		if string(got) != "keep" {
			t.Errorf("appendCommand(%q) left %q in the buffer, want it unchanged", tt.cmd, got)
		}
	}
	// The longest line Asterisk reads whole is accepted.
	value := strings.Repeat("v", maxCommandBytes-len("SET VARIABLE X \n"))
	if _, err := appendCommand(nil, "SET VARIABLE", []string{"X", value}); err != nil {
		t.Errorf("command of exactly %d bytes: %v", maxCommandBytes, err)
	}
	if _, err := appendCommand(nil, "VERBOSE", slices.Repeat([]string{"w"}, maxCommandWords-1)); err != nil {
		t.Errorf("command of exactly %d words: %v", maxCommandWords, err)
	}
}

// FuzzQuoteRoundTrip checks that any arguments without CR, LF or NUL reach
// Asterisk unchanged: Asterisk's parse_args (agitest.ParseArgs) reads back
// exactly the arguments appendCommand wrote.
func FuzzQuoteRoundTrip(f *testing.F) {
	seeds := [][2]string{
		{"BLACKLIST_REASON", "opt out: customer asked"},
		{"Q2", `he said "stop" now`},
		{"Q3", "'single quoted value'"},
		{"Q5", `back\slash\x`},
		{"Q6", ""},
		{"Q8", `ab"c d"ef`},
		{"Q9", "dollar ${EXTEN} $[1+1]"},
		{"Q10", "n\u00e3o ligar"},
		{"Q11", "tab\tsep"},
		{"Q12", `"unterminated quote`},
		{"", `\`},
		{`\"`, `"\`},
		{" ", "\t\t"},
		{"a\nb", "c"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		line, err := appendCommand(nil, "SET VARIABLE", []string{name, value})
		if badByte(name) >= 0 || badByte(value) >= 0 {
			if !errors.Is(err, ErrBadArgument) {
				t.Fatalf("appendCommand(%q, %q) = %q, %v; want ErrBadArgument", name, value, line, err)
			}
			return
		}
		if len("SET VARIABLE")+2*len(name)+2*len(value)+7 <= maxCommandBytes && err != nil {
			t.Fatalf("appendCommand(%q, %q): %v", name, value, err)
		}
		if err != nil {
			return
		}
		if line[len(line)-1] != '\n' || strings.Count(string(line), "\n") != 1 {
			t.Fatalf("appendCommand(%q, %q) = %q, want one line", name, value, line)
		}
		got := agitest.ParseArgs(string(line[:len(line)-1]))
		want := []string{"SET", "VARIABLE", name, value}
		if !slices.Equal(got, want) {
			t.Fatalf("Asterisk reads %q back as %q, want %q", line, got, want)
		}
	})
}
