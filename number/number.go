// Package number turns the strings that dialers send into the canonical form
// that blacklists store, so that a number added by a supervisor and the same
// number dialed by a campaign compare equal however each was written.
//
// The canonical form of a phone number is the country code followed by the
// national significant number, digits only and without "+": 5511987654321
// for (11) 98765-4321 in Brazil, 12125551234 for +1 212 555 1234. Extensions
// (short internal numbers such as 2001) are kept verbatim.
//
// Brazilian dialing (country code 55) is handled by hand-written code that
// knows the national prefix 0, carrier selection codes (CSP), the
// international access code 00+CSP, the area codes (DDD) in service and the
// non-geographic 0300/0303/0500/0800/0900 ranges; it allocates nothing but
// the canonical string, and nothing at all when the input is already
// canonical. Numbers of other countries go through
// github.com/nyaruka/phonenumbers (libphonenumber's metadata).
package number

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// DefaultCountryCode is the country code of the campaigns' country when
// Rules.CountryCode is empty: Brazil.
const DefaultCountryCode = "55"

// DefaultExtensionMaxLength is the extension length limit used when
// Rules.ExtensionMaxLength is 0: one digit shorter than the shortest Brazilian
// subscriber number.
const DefaultExtensionMaxLength = 7

// maxExtensionMaxLength bounds Rules.ExtensionMaxLength: no phone number
// (E.164 allows 15 digits) could survive a longer limit.
const maxExtensionMaxLength = 15

// maxDialedLength is the most characters accepted after formatting characters
// are dropped: enough for any E.164 number behind an international access
// code, a carrier code and a dial prefix. Longer strings are rejected before
// any work is done on them.
const maxDialedLength = 32

// brazil is the Brazilian country code, which has a fast path of its own.
const brazil = "55"

// ErrInvalid is matched (errors.Is) by every error that Normalize returns.
var ErrInvalid = errors.New("invalid dialed number")

// ErrInvalidRules is matched (errors.Is) by every error that Rules.Validate
// returns.
var ErrInvalidRules = errors.New("invalid number rules")

// Error is the error Normalize returns: the dialed string as received and why
// it cannot be turned into a number.
type Error struct {
	Input  string // the dialed string, exactly as passed to Normalize
	Reason string // what is wrong with it, e.g. "area code 20 does not exist"
}

func (e *Error) Error() string {
	return "dialed number " + strconv.Quote(e.Input) + ": " + e.Reason
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func invalid(input, reason string) error {
	return &Error{Input: input, Reason: reason}
}

// Kind says what a normalized number is.
type Kind uint8

const (
	// Phone is a public phone number in canonical form.
	Phone Kind = iota + 1
	// Extension is a short internal number, kept as dialed.
	Extension
)

func (k Kind) String() string {
	switch k {
	case Phone:
		return "phone"
	case Extension:
		return "extension"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Number is a normalized dialed string.
type Number struct {
	// Canonical is country code and national number, digits only, for a
	// Phone (5511987654321), or the extension's digits for an Extension.
	Canonical string
	Kind      Kind
}

// Rules say how the dialed strings of one campaign are to be read. The zero
// value is usable: Brazil, no default area code, no dial prefixes, extensions
// of up to 7 digits. Call Validate once when the rules are loaded; Normalize
// does not check them again.
type Rules struct {
	// CountryCode is the country the campaign dials from and the country
	// of numbers dialed without an international prefix: "55" (the default
	// when empty) for Brazil, "1" for the NANP, "351" for Portugal...
	CountryCode string

	// AreaCode is prepended to local numbers, those dialed without an area
	// code (8 or 9 digits in Brazil). Empty means none: a local number is
	// then an error, because its canonical form cannot be known.
	AreaCode string

	// StripPrefixes are dial prefixes removed before the number is read: an
	// outside-line digit ("0", "9"), a trunk technology prefix ("1234#")...
	// The longest one that matches is removed, once, and only when what
	// remains is longer than the extension length limit: stripping never
	// turns a phone number into an extension, and an extension is never
	// stripped (with "9" as outside-line digit, 9001 stays extension 9001).
	// A prefix may hold the digits, "*" and "#", and "+" as its first
	// character (a "+" anywhere else in a dialed string is an error).
	StripPrefixes []string

	// ExtensionMaxLength is the longest extension: a dialed string of only
	// digits and at most this long is an Extension, kept verbatim. 0 means
	// DefaultExtensionMaxLength (7), shorter than any Brazilian subscriber
	// number; 8 or more would turn Brazilian local numbers into extensions.
	ExtensionMaxLength int
}

// DefaultRules returns the rules of a Brazilian campaign without a default
// area code.
func DefaultRules() Rules {
	return Rules{CountryCode: DefaultCountryCode, ExtensionMaxLength: DefaultExtensionMaxLength}
}

func (r Rules) countryCode() string {
	if r.CountryCode == "" {
		return DefaultCountryCode
	}
	return r.CountryCode
}

func (r Rules) extensionMaxLength() int {
	if r.ExtensionMaxLength == 0 {
		return DefaultExtensionMaxLength
	}
	return r.ExtensionMaxLength
}

// Validate reports the first field of r that cannot work: a country code that
// no country uses, an area code that does not exist (for Brazil, one that is
// not a DDD in service), a dial prefix with characters that cannot be dialed,
// an extension length out of range. The error names the field and its value.
func (r Rules) Validate() error {
	cc := r.countryCode()
	if len(cc) > 3 || !isDigits(cc) || cc[0] == '0' {
		return fmt.Errorf("%w: country code %q: want 1 to 3 digits, not starting with 0", ErrInvalidRules, r.CountryCode)
	}
	if region := regionOf(cc); region == "" {
		return fmt.Errorf("%w: country code %q is not assigned to a country", ErrInvalidRules, r.CountryCode)
	}
	if r.AreaCode != "" {
		if cc == brazil {
			if len(r.AreaCode) != 2 || !isDigits(r.AreaCode) || !isAreaCode(r.AreaCode[0], r.AreaCode[1]) {
				return fmt.Errorf("%w: area code %q is not a Brazilian area code (DDD) in service", ErrInvalidRules, r.AreaCode)
			}
		} else if len(r.AreaCode) > 5 || !isDigits(r.AreaCode) {
			return fmt.Errorf("%w: area code %q: want 1 to 5 digits", ErrInvalidRules, r.AreaCode)
		}
	}
	if r.ExtensionMaxLength < 0 || r.ExtensionMaxLength > maxExtensionMaxLength {
		return fmt.Errorf("%w: extension max length %d: want 1 to %d, or 0 for %d", ErrInvalidRules,
			r.ExtensionMaxLength, maxExtensionMaxLength, DefaultExtensionMaxLength)
	}
	for _, p := range r.StripPrefixes {
		if p == "" {
			return fmt.Errorf("%w: strip prefixes %q: empty prefix", ErrInvalidRules, r.StripPrefixes)
		}
		if len(p) > maxDialedLength {
			return fmt.Errorf("%w: strip prefix %q: longer than %d characters", ErrInvalidRules, p, maxDialedLength)
		}
		for i := 0; i < len(p); i++ {
			if c := p[i]; !isDigit(c) && c != '*' && c != '#' && !(c == '+' && i == 0) {
				ch, _ := utf8.DecodeRuneInString(p[i:])
				return fmt.Errorf("%w: strip prefix %q: %q cannot be dialed there (want digits, * and #, and + only first)", ErrInvalidRules, p, ch)
			}
		}
	}
	return nil
}

// Normalize reads a dialed string and returns its canonical form.
//
// Spaces around it and the formatting characters " -()." anywhere in it are
// dropped; a leading "+" marks an international number; any other character
// is an error. A string of only digits no longer than the extension limit is
// an Extension, verbatim. Otherwise the dial prefixes of r are stripped and
// what remains is read with the rules of r's country: for Brazil, see the
// package documentation and the tests; for other countries, libphonenumber's
// parsing for that country's region, with AreaCode prepended to numbers that
// are only possible locally.
//
// Every error is an *Error and matches ErrInvalid.
func (r Rules) Normalize(dialed string) (Number, error) {
	s := strings.TrimSpace(dialed)
	var buf [maxDialedLength]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
			continue
		case c == '+':
			if n != 0 {
				return Number{}, invalid(dialed, `"+" is allowed only at the start`)
			}
		case isDigit(c), c == '*', c == '#':
			// '*' and '#' may only be part of a dial prefix; what is left
			// of them after stripping is rejected below.
		default:
			ch, _ := utf8.DecodeRuneInString(s[i:])
			return Number{}, invalid(dialed, fmt.Sprintf("%q is not a dialable character", ch))
		}
		if n == len(buf) {
			return Number{}, invalid(dialed, fmt.Sprintf("longer than %d digits", maxDialedLength))
		}
		buf[n] = c
		n++
	}
	if n == 0 {
		return Number{}, invalid(dialed, "no digits")
	}
	d := buf[:n]
	extMax := r.extensionMaxLength()
	if len(d) <= extMax && isDigitBytes(d) {
		return Number{Canonical: stringOf(dialed, d), Kind: Extension}, nil
	}
	d = r.stripPrefix(d, extMax)

	intl := d[0] == '+'
	if intl {
		d = d[1:]
	}
	for i, c := range d {
		if !isDigit(c) {
			return Number{}, invalid(dialed, fmt.Sprintf("%q is not allowed here (after %q)", c, string(d[:i])))
		}
	}
	if len(d) == 0 {
		return Number{}, invalid(dialed, `no digits after "+"`)
	}

	cc := r.countryCode()
	if intl {
		return international(dialed, d)
	}
	if cc == brazil {
		return r.brazilian(dialed, d)
	}
	return r.otherCountry(dialed, d, cc)
}

// stripPrefix removes the longest configured prefix of d that leaves more
// than extMax characters.
func (r Rules) stripPrefix(d []byte, extMax int) []byte {
	best := 0
	for _, p := range r.StripPrefixes {
		if len(p) > best && len(d)-len(p) > extMax && string(d[:len(p)]) == p {
			best = len(p)
		}
	}
	return d[best:]
}

// international reads digits dialed after "+" (or an international access
// code): a country code and a national number. Brazilian numbers are checked
// by the Brazilian rules whatever the campaign's country, so that a number
// has one canonical form everywhere.
func international(dialed string, d []byte) (Number, error) {
	n, _, err := internationalValid(dialed, d)
	return n, err
}

// internationalValid is international that also reports whether the number
// is known to be in service (libphonenumber's IsValidNumber; always true for
// Brazilian numbers, which the Brazilian rules check) rather than only of a
// possible length.
func internationalValid(dialed string, d []byte) (n Number, valid bool, err error) {
	if hasPrefix(d, brazil) {
		n, err := brazilianNSN(dialed, d[len(brazil):])
		return n, err == nil, err
	}
	num, err := phonenumbers.Parse("+"+string(d), "")
	if err != nil {
		return Number{}, false, invalid(dialed, "not an international number: "+err.Error())
	}
	n, err = possible(dialed, num)
	return n, err == nil && phonenumbers.IsValidNumber(num), err
}

// otherCountry reads a number dialed in a country other than Brazil, with
// that country's national and international prefixes.
func (r Rules) otherCountry(dialed string, d []byte, cc string) (Number, error) {
	region := regionOf(cc)
	if region == "" {
		return Number{}, invalid(dialed, fmt.Sprintf("country code %s of the rules is not assigned to a country", cc))
	}
	num, err := phonenumbers.Parse(string(d), region)
	if err == nil && phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE {
		return possible(dialed, num)
	}
	if r.AreaCode != "" {
		if withArea, err := phonenumbers.Parse(r.AreaCode+string(d), region); err == nil &&
			strconv.Itoa(int(withArea.GetCountryCode())) == cc &&
			phonenumbers.IsPossibleNumberWithReason(withArea) == phonenumbers.IS_POSSIBLE {
			return possible(dialed, withArea)
		}
	}
	if err != nil {
		return Number{}, invalid(dialed, "not a number of country code "+cc+": "+err.Error())
	}
	return possible(dialed, num)
}

// possible returns the canonical form of a parsed number when its length is
// possible for its country (and, for Brazil, when it passes the Brazilian
// rules).
func possible(dialed string, num *phonenumbers.PhoneNumber) (Number, error) {
	// Parsing a formatted number again can strip more (a national prefix
	// after some country codes: +20 0...), so the canonical form is the
	// fixed point, for Normalize("+"+canonical) to return canonical.
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	for attempt := 0; ; attempt++ {
		again, err := phonenumbers.Parse(e164, "")
		if err != nil {
			return Number{}, invalid(dialed, "not an international number: "+err.Error())
		}
		formatted := phonenumbers.Format(again, phonenumbers.E164)
		if formatted == e164 {
			break
		}
		if attempt == 3 {
			return Number{}, invalid(dialed, "no stable international form")
		}
		num, e164 = again, formatted
	}
	digits := strings.TrimPrefix(e164, "+")
	if num.GetCountryCode() == 55 {
		return brazilianNSN(dialed, []byte(digits[len(brazil):]))
	}
	switch reason := phonenumbers.IsPossibleNumberWithReason(num); reason {
	case phonenumbers.IS_POSSIBLE:
		if !isDigits(digits) {
			return Number{}, invalid(dialed, "not a phone number")
		}
		return Number{Canonical: digits, Kind: Phone}, nil
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return Number{}, invalid(dialed, "local number without area code (+"+digits+" is only possible locally)")
	case phonenumbers.INVALID_COUNTRY_CODE:
		return Number{}, invalid(dialed, fmt.Sprintf("country code %d does not exist", num.GetCountryCode()))
	case phonenumbers.TOO_SHORT:
		return Number{}, invalid(dialed, "too short for country code "+strconv.Itoa(int(num.GetCountryCode())))
	case phonenumbers.TOO_LONG:
		return Number{}, invalid(dialed, "too long for country code "+strconv.Itoa(int(num.GetCountryCode())))
	default:
		return Number{}, invalid(dialed, "impossible length for country code "+strconv.Itoa(int(num.GetCountryCode())))
	}
}

// regionOf returns the main region (ISO 3166 code) of a country code, or ""
// when the code is not assigned to a country.
func regionOf(cc string) string {
	code, err := strconv.Atoi(cc)
	if err != nil {
		return ""
	}
	region := phonenumbers.GetRegionCodeForCountryCode(code)
	if region == "ZZ" || region == "001" { // unknown, or non-geographic (+800...)
		return ""
	}
	return region
}

// stringOf returns b as a string, reusing s when it holds the same bytes so
// that input already in canonical form costs no allocation.
func stringOf(s string, b []byte) string {
	if string(b) == s {
		return s
	}
	return string(b)
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDigitBytes(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) != 0
}
