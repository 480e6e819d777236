package agitest

import "strings"

// maxArgs is the number of words Asterisk keeps from a command line
// (MAX_ARGS - 1 in res_agi.c); later words are dropped.
const maxArgs = 127

// ParseArgs splits an AGI command line into words exactly as Asterisk's
// parse_args (res/res_agi.c) does:
//   - words are separated by spaces and tabs;
//   - a double quote toggles quoting and is removed, so `ab"c d"ef` is one
//     word "abc def" and `""` is an empty word;
//   - a backslash makes the next byte literal and is removed: `\"` is a
//     quote, `\\` a backslash, `\ ` a space inside a word, `\x` just x;
//   - single quotes are ordinary bytes; an unterminated quote runs to the end
//     of the line; a CR before the LF is an ordinary byte and stays in the
//     last word;
//   - the line ends at a NUL byte, as a C string does;
//   - words after the 127th are dropped.
//
// line is one command without its trailing "\n".
func ParseArgs(line string) []string {
	if i := strings.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	var (
		args       []string
		word       []byte
		inWord     bool
		whitespace = true
		quoted     bool
		escaped    bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"' && !escaped:
			quoted = !quoted
			if quoted && whitespace && len(args) < maxArgs {
				// An opening quote after whitespace starts a word.
				inWord, whitespace = true, false
			}
			continue
		case (c == ' ' || c == '\t') && !quoted && !escaped:
			whitespace = true
			if inWord {
				args = append(args, string(word))
				word, inWord = word[:0], false
			}
			continue
		case c == '\\' && !escaped:
			escaped = true
			continue
		}
		if whitespace {
			if len(args) >= maxArgs {
				// Asterisk logs "Too many arguments, truncating" and drops
				// the byte, leaving the escape state as it was.
				continue
			}
			inWord, whitespace = true, false
		}
		word = append(word, c)
		escaped = false
	}
	if inWord {
		args = append(args, string(word))
	}
	return args
}

// asciiEqualFold is strcasecmp(a, b) == 0 in the C locale: only ASCII
// letters fold.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// asciiHasPrefixFold is strncasecmp(s, prefix, len(prefix)) == 0.
func asciiHasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && asciiEqualFold(s[:len(prefix)], prefix)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// scanInt is sscanf(s, "%30d", &n) == 1: optional leading white space, an
// optional sign and at least one digit; trailing bytes are ignored. rest is
// what follows the number.
func scanInt(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	start := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	digits := i
	for i < len(s) && i-start < 30 && '0' <= s[i] && s[i] <= '9' {
		if n < 1<<31 {
			n = n*10 + int(s[i]-'0')
		}
		i++
	}
	if i == digits {
		return 0, s, false
	}
	if n > 1<<31-1 {
		n = 1<<31 - 1
	}
	if neg {
		n = -n
	}
	return n, s[i:], true
}

// scanFloat is sscanf(s, "%30lf", &f) == 1 for plain decimal numbers.
func scanFloat(s string) bool {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			digits++
		}
	}
	return digits > 0
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
