package blacklist

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInvalidEntry is matched (errors.Is) by the errors of ValidEntry.
var ErrInvalidEntry = errors.New("invalid blacklist entry")

// ErrCompactLayout is matched (errors.Is) by the refusal of what a compact
// list cannot hold: a prefix entry, an extension, metadata, an expiry.
var ErrCompactLayout = errors.New("not possible in a compact list")

// ValidEntry reports whether entry can be written to a list: 1 to
// MaxMemberLength digits (a canonical number or an extension), optionally
// followed by one "*" that makes it a prefix entry. Entries are canonical:
// callers normalize numbers first (package number); this only checks the
// syntax.
func ValidEntry(entry string) error {
	digits := entry
	if n := len(entry); n > 0 && entry[n-1] == '*' {
		digits = entry[:n-1]
	}
	switch {
	case entry == "":
		return fmt.Errorf("entry %q: %w: empty", entry, ErrInvalidEntry)
	case digits == "":
		return fmt.Errorf("entry %q: %w: a lone '*' would block nothing", entry, ErrInvalidEntry)
	case len(digits) > MaxMemberLength:
		return fmt.Errorf("entry %q: %w: longer than %d digits", entry, ErrInvalidEntry, MaxMemberLength)
	}
	for i := 0; i < len(digits); i++ {
		if c := digits[i]; c < '0' || c > '9' {
			r, _ := utf8.DecodeRuneInString(digits[i:])
			if c == '*' {
				return fmt.Errorf("entry %q: %w: '*' may only end a prefix entry", entry, ErrInvalidEntry)
			}
			return fmt.Errorf("entry %q: %w: %q is not a digit; entries are canonical numbers (5511987654321), extensions (2001) or prefix entries (55900*)",
				entry, ErrInvalidEntry, r)
		}
	}
	return nil
}

// validEntryIn reports whether entry can be written to the list l: a valid
// entry (ValidEntry) and, for a compact list, a number that CompactSplit
// accepts.
func validEntryIn(l List, entry string) error {
	if err := ValidEntry(entry); err != nil {
		return err
	}
	if !l.Compact() {
		return nil
	}
	if entry[len(entry)-1] == '*' {
		return fmt.Errorf("entry %q: %w: %s holds numbers only, and a prefix entry goes in a plain list", entry, ErrCompactLayout, l.Key)
	}
	if _, _, ok := CompactSplit(entry); !ok {
		return fmt.Errorf("entry %q: %w: %s holds numbers of more than %d digits only, and an extension goes in a plain list",
			entry, ErrCompactLayout, l.Key, CompactDigits)
	}
	return nil
}

// Refusal is an entry that an operation refused, and why. The other
// entries of the operation went ahead.
type Refusal struct {
	Entry  string
	Reason string // the whole error message, naming the entry
	Err    error  // matches ErrInvalidEntry or ErrCompactLayout (errors.Is)
}

// Error returns the reason.
func (r Refusal) Error() string { return r.Reason }

// Unwrap returns the error behind the refusal.
func (r Refusal) Unwrap() error { return r.Err }

// sortEntries splits entries into those valid in l and refusals.
func sortEntries(l List, entries []string) (valid []string, refused []Refusal) {
	valid = make([]string, 0, len(entries))
	for _, e := range entries {
		if err := validEntryIn(l, e); err != nil {
			refused = append(refused, Refusal{Entry: e, Reason: err.Error(), Err: err})
			continue
		}
		valid = append(valid, e)
	}
	return valid, refused
}
