package number

import (
	"errors"
	"strings"
	"testing"
)

var (
	// saoPaulo is a Brazilian campaign with default area code 11.
	saoPaulo = Rules{CountryCode: "55", AreaCode: "11"}
	// noArea is a Brazilian campaign without a default area code.
	noArea = DefaultRules()
	// pbx is a Brazilian campaign in Rio behind a PBX that wants the
	// outside-line digit 0 and a trunk that wants the tech prefix 1234#.
	pbx = Rules{CountryCode: "55", AreaCode: "21", StripPrefixes: []string{"0", "1234#"}}
	// newYork dials with the outside-line digit 9 and has 4-digit extensions.
	newYork = Rules{CountryCode: "1", AreaCode: "212", StripPrefixes: []string{"9"}, ExtensionMaxLength: 4}
	// london and lisbon are campaigns in countries with other national rules.
	london = Rules{CountryCode: "44", AreaCode: "20"}
	lisbon = Rules{CountryCode: "351"}
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		rules  Rules
		dialed string
		want   string // canonical; "" when an error is expected
		kind   Kind
		reason string // a part of the error's reason
	}{
		// Brazil, formatted and international forms.
		{"canonical", saoPaulo, "5511987654321", "5511987654321", Phone, ""},
		{"canonical landline", saoPaulo, "552133334444", "552133334444", Phone, ""},
		{"formatted with area", saoPaulo, "(11) 98765-4321", "5511987654321", Phone, ""},
		{"dots", saoPaulo, "11.98765.4321", "5511987654321", Phone, ""},
		{"surrounding spaces and tab", saoPaulo, " \t+55 11 98765-4321\n", "5511987654321", Phone, ""},
		{"plus 55", saoPaulo, "+5511987654321", "5511987654321", Phone, ""},
		{"plus 55 with (0)", saoPaulo, "+55 (0) 11 98765-4321", "5511987654321", Phone, ""},
		{"plus 55 landline", saoPaulo, "+55 21 3333-4444", "552133334444", Phone, ""},
		{"0055", saoPaulo, "0055 11 98765 4321", "5511987654321", Phone, ""},
		{"00 CSP 55", saoPaulo, "00 21 55 11 98765 4321", "5511987654321", Phone, ""},
		{"00 CSP US", saoPaulo, "00 21 1 212 555 1234", "12125551234", Phone, ""},
		{"00 CSP UK", saoPaulo, "0014 44 20 7946 0018", "442079460018", Phone, ""},
		{"00 unknown CSP Portugal", saoPaulo, "00 77 351 912 345 678", "351912345678", Phone, ""},
		{"00 CC without CSP", saoPaulo, "0044 20 7946 0018", "442079460018", Phone, ""},
		{"00 US without CSP", saoPaulo, "001 212 555 1234", "12125551234", Phone, ""},
		// National prefix 0, with and without a carrier selection code.
		{"0 area mobile", saoPaulo, "011987654321", "5511987654321", Phone, ""},
		{"0 area landline", saoPaulo, "01133334444", "551133334444", Phone, ""},
		{"0 (area) formatted", saoPaulo, "(011) 3333-4444", "551133334444", Phone, ""},
		{"0 CSP 21 mobile", saoPaulo, "0 21 11 98765 4321", "5511987654321", Phone, ""},
		{"0 CSP 15 landline", saoPaulo, "0 15 11 3333 4444", "551133334444", Phone, ""},
		{"0 CSP 99", saoPaulo, "0 99 11 98765 4321", "5511987654321", Phone, ""},
		{"0 CSP 41 other area", saoPaulo, "0 41 21 2222 3333", "552122223333", Phone, ""},
		{"0 unknown CSP 77", saoPaulo, "0 77 85 99876 5432", "5585998765432", Phone, ""},
		// Non-geographic.
		{"0800", saoPaulo, "0800 123 4567", "558001234567", Phone, ""},
		{"0800 six digits", saoPaulo, "0800 70 1234", "55800701234", Phone, ""},
		{"0300", saoPaulo, "0300 123 4567", "553001234567", Phone, ""},
		{"0303", saoPaulo, "0303-123-4567", "553031234567", Phone, ""},
		{"0500", saoPaulo, "0500 123 4567", "555001234567", Phone, ""},
		{"0900", saoPaulo, "0900 123 4567", "559001234567", Phone, ""},
		{"800 without 0", saoPaulo, "800 123 4567", "558001234567", Phone, ""},
		{"plus 55 800", saoPaulo, "+55 800 123 4567", "558001234567", Phone, ""},
		{"0300 six digits", saoPaulo, "0300 12 3456", "", 0, "0300 numbers have 7 digits"},
		{"0800 too short", saoPaulo, "0800 123 45", "", 0, "0800 numbers have 6 or 7 digits"},
		// Area code and local numbers.
		{"area mobile", saoPaulo, "11987654321", "5511987654321", Phone, ""},
		{"area landline", saoPaulo, "8533334444", "558533334444", Phone, ""},
		{"local mobile", saoPaulo, "98765-4321", "5511987654321", Phone, ""},
		{"local landline", saoPaulo, "3333-4444", "551133334444", Phone, ""},
		{"local without default area", noArea, "98765-4321", "", 0, "no default area code"},
		{"area without default area", noArea, "(21) 98765-4321", "5521987654321", Phone, ""},
		// Extensions.
		{"extension", saoPaulo, "2001", "2001", Extension, ""},
		{"extension formatted", saoPaulo, "20-01", "2001", Extension, ""},
		{"extension leading zero", saoPaulo, "0201", "0201", Extension, ""},
		{"extension of 7 digits", saoPaulo, "1234567", "1234567", Extension, ""},
		{"service number", saoPaulo, "190", "190", Extension, ""},
		{"plus is never an extension", saoPaulo, "+2001", "", 0, "too short for country code 20"},
		// Dial prefixes.
		{"outside 0 then national 0", pbx, "0 011 98765 4321", "5511987654321", Phone, ""},
		{"outside 0 then area", pbx, "0 11 98765 4321", "5511987654321", Phone, ""},
		{"outside 0 then local", pbx, "0 98765 4321", "5521987654321", Phone, ""},
		{"outside 0 then 0800", pbx, "0 0800 123 4567", "558001234567", Phone, ""},
		{"outside 0 then international", pbx, "0 00 21 1 212 555 1234", "12125551234", Phone, ""},
		{"outside 0 then plus", pbx, "0+5511987654321", "", 0, `"+" is allowed only at the start`},
		{"stripped plus", Rules{StripPrefixes: []string{"+"}}, "+55 11 98765 4321", "5511987654321", Phone, ""},
		{"tech prefix", pbx, "1234#011987654321", "5511987654321", Phone, ""},
		{"tech prefix local", pbx, "1234#3333-4444", "552133334444", Phone, ""},
		{"extension not stripped", pbx, "02001", "02001", Extension, ""},
		{"extension behind tech prefix", pbx, "1234#2001", "", 0, `'#' is not allowed`},
		{"star not a prefix", pbx, "*21#11987654321", "", 0, `'*' is not allowed`},
		// Other countries.
		{"foreign plus", saoPaulo, "+1 (212) 555-1234", "12125551234", Phone, ""},
		{"foreign plus UK", saoPaulo, "+44 20 7946 0018", "442079460018", Phone, ""},
		{"foreign plus Portugal", saoPaulo, "+351 912 345 678", "351912345678", Phone, ""},
		{"foreign plus Italy leading zero", saoPaulo, "+39 06 1234 5678", "390612345678", Phone, ""},
		{"foreign with (0)", saoPaulo, "+20 (0)2 1234 5678", "20212345678", Phone, ""},
		{"foreign (0) stripped to a fixed point", newYork, "011200000000000", "2000000000", Phone, ""},
		{"foreign local only", saoPaulo, "+1 555 1234", "", 0, "only possible locally"},
		{"foreign too long", saoPaulo, "+44 20 7946 0018 1234 5", "", 0, "too long"},
		{"unknown country code", saoPaulo, "+999 1234 5678", "", 0, "country code"},
		{"US national", newYork, "(212) 555-1234", "12125551234", Phone, ""},
		{"US with 1", newYork, "1 212 555 1234", "12125551234", Phone, ""},
		{"US outside 9", newYork, "9 1 212 555 1234", "12125551234", Phone, ""},
		{"US outside 9 local", newYork, "9 555 1234", "12125551234", Phone, ""},
		{"US local", newYork, "555-1234", "12125551234", Phone, ""},
		{"US international", newYork, "9 011 44 20 7946 0018", "442079460018", Phone, ""},
		{"US to Brazil", newYork, "011 55 11 98765 4321", "5511987654321", Phone, ""},
		{"US to Brazil old mobile", newYork, "011 55 11 8765 4321", "", 0, "mobile numbers have 9 digits"},
		{"US extension", newYork, "9001", "9001", Extension, ""},
		{"UK national", london, "020 7946 0018", "442079460018", Phone, ""},
		{"UK local", london, "7946 0018", "442079460018", Phone, ""},
		{"UK international", london, "00 1 212 555 1234", "12125551234", Phone, ""},
		{"Portugal national", lisbon, "912 345 678", "351912345678", Phone, ""},
		{"Portugal too short", lisbon, "912 345 67", "", 0, "too short"},
		// Garbage and impossible Brazilian numbers.
		{"empty", saoPaulo, "", "", 0, "no digits"},
		{"blank", saoPaulo, "   ", "", 0, "no digits"},
		{"only formatting", saoPaulo, "(-)", "", 0, "no digits"},
		{"letters", saoPaulo, "abc", "", 0, `'a' is not a dialable character`},
		{"extension text", saoPaulo, "11 98765-4321 ramal 2", "", 0, `'r' is not a dialable character`},
		{"0xx notation", saoPaulo, "(0xx11) 98765-4321", "", 0, `'x' is not a dialable character`},
		{"unicode digit", saoPaulo, "1198765432١", "", 0, `'١' is not a dialable character`},
		{"inner plus", saoPaulo, "55+11987654321", "", 0, `"+" is allowed only at the start`},
		{"plus alone", saoPaulo, "+", "", 0, `no digits after "+"`},
		{"area 20", saoPaulo, "20 98765 4321", "", 0, "area code 20 does not exist"},
		{"area 10 canonical", saoPaulo, "5510987654321", "", 0, "area code 10 does not exist"},
		{"old 8-digit mobile", saoPaulo, "11 8765 4321", "", 0, "mobile numbers have 9 digits starting with 9"},
		{"9 digits not starting with 9", saoPaulo, "11 88765 4321", "", 0, "mobile numbers have 9 digits starting with 9"},
		{"landline starting with 1", saoPaulo, "11 1876 5432", "", 0, "landline numbers have 8 digits starting with 2 to 5"},
		{"plus 55 too long", saoPaulo, "+55 11 98765 43210", "", 0, "want at most 11"},
		{"plus 55 too short", saoPaulo, "+55 11 9876", "", 0, "want a 2-digit area code"},
		{"12 digits not 55", saoPaulo, "541198765432", "", 0, "must start with the country code 55"},
		{"wrong length", saoPaulo, "123456789012345", "", 0, "not a Brazilian number"},
		{"0 wrong length", saoPaulo, "0 1234 5678", "", 0, "after the national prefix 0"},
		{"0055 bad", saoPaulo, "0055 11 8765 4321", "", 0, "mobile numbers have 9 digits"},
		{"00 garbage", saoPaulo, "00 00 000 000", "", 0, "after the international prefix 00"},
		{"too long", saoPaulo, strings.Repeat("1", 33), "", 0, "longer than 32"},
	}
	seen := make(map[string]bool)
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("duplicate test name %q", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.rules.Validate(); err != nil {
				t.Fatalf("rules of the test: %v", err)
			}
			got, err := tt.rules.Normalize(tt.dialed)
			if tt.reason != "" {
				if err == nil {
					t.Fatalf("Normalize(%q) = %+v, want an error with %q", tt.dialed, got, tt.reason)
				}
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Normalize(%q) error %v (%T): want an *Error matching ErrInvalid", tt.dialed, err, err)
				}
				if e.Input != tt.dialed {
					t.Errorf("Error.Input = %q, want %q", e.Input, tt.dialed)
				}
				if !strings.Contains(e.Reason, tt.reason) {
					t.Errorf("Normalize(%q) error %q, want it to contain %q", tt.dialed, err, tt.reason)
				}
				if !strings.Contains(err.Error(), tt.dialed) {
					t.Errorf("error %q does not name the input %q", err, tt.dialed)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.dialed, err)
			}
			if got.Canonical != tt.want || got.Kind != tt.kind {
				t.Errorf("Normalize(%q) = %q %v, want %q %v", tt.dialed, got.Canonical, got.Kind, tt.want, tt.kind)
			}
		})
	}
}

// TestBrazilianAreaCodes checks every two-digit area code against the list
// of DDDs in service.
func TestBrazilianAreaCodes(t *testing.T) {
	inService := map[int]bool{}
	for _, ddd := range []int{11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38,
		41, 42, 43, 44, 45, 46, 47, 48, 49, 51, 53, 54, 55, 61, 62, 63, 64, 65, 66, 67, 68, 69,
		71, 73, 74, 75, 77, 79, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99} {
		inService[ddd] = true
	}
	if len(inService) != 67 {
		t.Fatalf("%d area codes in the test's list, want 67", len(inService))
	}
	for ddd := 10; ddd <= 99; ddd++ {
		area := string([]byte{byte('0' + ddd/10), byte('0' + ddd%10)})
		_, err := saoPaulo.Normalize(area + "987654321")
		if inService[ddd] && err != nil {
			t.Errorf("area code %s: %v", area, err)
		}
		if !inService[ddd] && (err == nil || !strings.Contains(err.Error(), "area code "+area+" does not exist")) {
			t.Errorf("area code %s: error %v, want it not to exist", area, err)
		}
		rules := Rules{AreaCode: area}
		if err := rules.Validate(); (err == nil) != inService[ddd] {
			t.Errorf("Rules{AreaCode: %q}.Validate() = %v", area, err)
		}
	}
}

func TestNormalizeZeroRules(t *testing.T) {
	var zero Rules
	if err := zero.Validate(); err != nil {
		t.Fatalf("zero Rules: %v", err)
	}
	for dialed, want := range map[string]Number{
		"1234567":         {"1234567", Extension},
		"(11) 98765-4321": {"5511987654321", Phone},
	} {
		got, err := zero.Normalize(dialed)
		if err != nil || got != want {
			t.Errorf("zero Rules: Normalize(%q) = %+v, %v; want %+v", dialed, got, err, want)
		}
	}
	if _, err := zero.Normalize("3333-4444"); err == nil {
		t.Errorf("zero Rules: a local number without a default area code was accepted")
	}
}

func TestRulesValidate(t *testing.T) {
	tests := []struct {
		name  string
		rules Rules
		want  string // a part of the error; "" for valid rules
	}{
		{"default", DefaultRules(), ""},
		{"zero", Rules{}, ""},
		{"sao paulo", saoPaulo, ""},
		{"pbx", pbx, ""},
		{"new york", newYork, ""},
		{"london", london, ""},
		{"tech prefixes", Rules{StripPrefixes: []string{"*99#", "0", "1234#"}}, ""},
		{"country code letters", Rules{CountryCode: "BR"}, `country code "BR"`},
		{"country code plus", Rules{CountryCode: "+55"}, `country code "+55"`},
		{"country code too long", Rules{CountryCode: "5555"}, `country code "5555"`},
		{"country code leading zero", Rules{CountryCode: "055"}, `country code "055"`},
		{"country code unassigned", Rules{CountryCode: "999"}, `country code "999" is not assigned`},
		{"country code non-geographic", Rules{CountryCode: "800"}, `country code "800" is not assigned`},
		{"area code 20", Rules{AreaCode: "20"}, `area code "20" is not a Brazilian area code`},
		{"area code with 0", Rules{AreaCode: "011"}, `area code "011"`},
		{"area code letters", Rules{AreaCode: "1a"}, `area code "1a"`},
		{"foreign area code letters", Rules{CountryCode: "1", AreaCode: "21x"}, `area code "21x"`},
		{"foreign area code too long", Rules{CountryCode: "1", AreaCode: "123456"}, `area code "123456"`},
		{"negative extension length", Rules{ExtensionMaxLength: -1}, "extension max length -1"},
		{"huge extension length", Rules{ExtensionMaxLength: 16}, "extension max length 16"},
		{"empty prefix", Rules{StripPrefixes: []string{"0", ""}}, "empty prefix"},
		{"prefix with letter", Rules{StripPrefixes: []string{"9a"}}, `strip prefix "9a": 'a' cannot be dialed there`},
		{"prefix starting with plus", Rules{StripPrefixes: []string{"+"}}, ""},
		{"prefix with inner plus", Rules{StripPrefixes: []string{"0+"}}, `strip prefix "0+": '+' cannot be dialed there`},
		{"prefix with space", Rules{StripPrefixes: []string{"0 "}}, `strip prefix "0 "`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rules.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidRules) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an ErrInvalidRules error containing %q", err, tt.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Phone: "phone", Extension: "extension", 0: "Kind(0)", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

// TestNormalizeAllocations pins the fast path's promise: canonical input
// costs nothing, anything else one allocation (the canonical string).
func TestNormalizeAllocations(t *testing.T) {
	for dialed, want := range map[string]float64{
		"5511987654321":      0,
		"2001":               0,
		"(11) 98765-4321":    1,
		"0 21 11 98765 4321": 1,
		"+55 11 98765-4321":  1,
		"98765-4321":         1,
		"0800 123 4567":      1,
	} {
		got := testing.AllocsPerRun(100, func() {
			if _, err := saoPaulo.Normalize(dialed); err != nil {
				t.Fatal(err)
			}
		})
		if got != want {
			t.Errorf("Normalize(%q): %v allocations, want %v", dialed, got, want)
		}
	}
}

func BenchmarkNormalizeBrazil(b *testing.B) {
	for _, dialed := range []string{
		"5511987654321",
		"(11) 98765-4321",
		"0 21 11 98765 4321",
		"+55 11 98765-4321",
		"98765-4321",
	} {
		b.Run(dialed, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := saoPaulo.Normalize(dialed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNormalizeForeign(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := saoPaulo.Normalize("+1 212 555 1234"); err != nil {
			b.Fatal(err)
		}
	}
}
