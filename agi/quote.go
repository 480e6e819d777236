package agi

import (
	"fmt"
	"strconv"
)

// Limits of Asterisk's command reader (res_agi.c).
const (
	// maxCommandBytes is the longest command line, line feed included:
	// run_agi reads commands into a 2048-byte buffer (AGI_BUF_LEN) and
	// executes a longer line in pieces, each piece answered separately,
	// which would put every later reply out of step.
	maxCommandBytes = 2047
	// maxCommandWords is the most words parse_args keeps (MAX_ARGS - 1);
	// it silently drops the rest.
	maxCommandWords = 127
)

// appendCommand appends the command line for cmd and args to dst: cmd
// verbatim, then each argument quoted for Asterisk's parse_args, then a line
// feed. It fails with ErrBadArgument, leaving nothing to send, when cmd or an
// argument contains CR, LF or NUL or the line is too long for Asterisk.
func appendCommand(dst []byte, cmd string, args []string) ([]byte, error) {
	if i := badByte(cmd); i >= 0 {
		return dst, fmt.Errorf("%w: command %q has %s at byte %d", ErrBadArgument, clip(cmd), byteName(cmd[i]), i)
	}
	start := len(dst)
	dst = append(dst, cmd...)
	for n, a := range args {
		if i := badByte(a); i >= 0 {
			return dst[:start], fmt.Errorf("%w: argument %d of %q has %s at byte %d", ErrBadArgument, n+1, clip(cmd), byteName(a[i]), i)
		}
		dst = append(dst, ' ')
		dst = appendArg(dst, a)
	}
	dst = append(dst, '\n')
	if n := len(dst) - start; n > maxCommandBytes {
		return dst[:start], fmt.Errorf("%w: command %q is %d bytes long; Asterisk reads at most %d", ErrBadArgument, clip(cmd), n, maxCommandBytes)
	}
	if n := countWords(cmd) + len(args); n > maxCommandWords {
		return dst[:start], fmt.Errorf("%w: command %q has %d words; Asterisk keeps at most %d", ErrBadArgument, clip(cmd), n, maxCommandWords)
	}
	return dst, nil
}

// appendArg appends a as one argument that Asterisk's parse_args reads back
// unchanged. parse_args splits words on spaces and tabs, a double quote
// toggles quoting (and is dropped), and a backslash makes the next byte
// literal. A non-empty argument without space, tab, double quote or
// backslash is written bare; any other is written in double quotes with
// double quotes and backslashes escaped; the empty argument is "".
func appendArg(dst []byte, a string) []byte {
	if a != "" && !needsQuotes(a) {
		return append(dst, a...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(a); i++ {
		if c := a[i]; c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, a[i])
	}
	return append(dst, '"')
}

func needsQuotes(a string) bool {
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case ' ', '\t', '"', '\\':
			return true
		}
	}
	return false
}

// badByte returns the index of the first byte of s that cannot be sent in a
// command line (CR, LF or NUL), or -1.
func badByte(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r', '\n', 0:
			return i
		}
	}
	return -1
}

func byteName(c byte) string {
	switch c {
	case '\r':
		return "a carriage return"
	case '\n':
		return "a line feed"
	case 0:
		return "a NUL byte"
	}
	return strconv.QuoteRune(rune(c))
}

// countWords counts the words of cmd as parse_args splits them, ignoring
// quotes.
func countWords(cmd string) int {
	n, inWord := 0, false
	for i := 0; i < len(cmd); i++ {
		if c := cmd[i]; c == ' ' || c == '\t' {
			inWord = false
		} else if !inWord {
			inWord = true
			n++
		}
	}
	return n
}
