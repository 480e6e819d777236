package number

import (
	"errors"
	"testing"
)

// FuzzNormalize checks, for any input and several campaigns' rules, that
// Normalize never panics, that its results are digits, that its errors say
// what they are, and that a phone number's canonical form is a fixed point:
// "+" and the canonical form normalizes to the same canonical form.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"5511987654321", "(11) 98765-4321", "+55 (0) 11 98765-4321", "0055 11 98765 4321",
		"00 21 1 212 555 1234", "0044 20 7946 0018", "0 21 11 98765 4321", "011987654321",
		"0800 123 4567", "0800 70 1234", "98765-4321", "3333-4444", "2001", "02001",
		"0 00 21 1 212 555 1234", "1234#011987654321", "9 011 44 20 7946 0018",
		"+1 212 555 1234", "+39 06 1234 5678", "+999 1234", "+", "", " ", "abc", "1234#",
		"*21#", "55+11", "0000000000", "+800 1234 5678", "+883 5100 0000 0000",
	} {
		f.Add(seed)
	}
	rulesets := []Rules{saoPaulo, noArea, pbx, newYork, london, lisbon}
	f.Fuzz(func(t *testing.T, dialed string) {
		for _, rules := range rulesets {
			n, err := rules.Normalize(dialed)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Input != dialed || e.Reason == "" {
					t.Fatalf("%+v: Normalize(%q) error %#v: want an *Error naming the input", rules, dialed, err)
				}
				continue
			}
			if !isDigits(n.Canonical) {
				t.Fatalf("%+v: Normalize(%q) = %q: not all digits", rules, dialed, n.Canonical)
			}
			switch n.Kind {
			case Extension:
				if len(n.Canonical) > rules.extensionMaxLength() {
					t.Fatalf("%+v: Normalize(%q) = extension %q: longer than %d", rules, dialed, n.Canonical, rules.extensionMaxLength())
				}
			case Phone:
				again, err := rules.Normalize("+" + n.Canonical)
				if err != nil || again != n {
					t.Fatalf("%+v: Normalize(%q) = %q but Normalize(%q) = %+v, %v", rules, dialed, n.Canonical, "+"+n.Canonical, again, err)
				}
			default:
				t.Fatalf("%+v: Normalize(%q) = %+v: kind %v", rules, dialed, n, n.Kind)
			}
		}
	})
}
