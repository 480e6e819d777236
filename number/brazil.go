package number

import "fmt"

// Brazilian dialing, as Brazilian dialers and PBXes send it:
//
//	+55 11 98765-4321, 0055 11 98765 4321   country code, area code (DDD), subscriber
//	00 21 1 212 555 1234                    international: 00, carrier (CSP), country code
//	011 98765 4321, 0 11 3333 4444          national prefix 0, area code, subscriber
//	0 21 11 98765 4321                      national prefix 0, any carrier (CSP), area code, subscriber
//	0800 123 4567, 800 123 4567             non-geographic: 0300, 0303, 0500, 0800, 0900
//	11 98765 4321                           area code and subscriber
//	98765 4321, 3333 4444                   local: the default area code is prepended
//	55 11 98765 4321                        already canonical (12 or 13 digits starting with 55)
//
// The digit counts tell the forms apart: after the national prefix 0, a
// non-geographic number has 9 or 10 digits, area code and subscriber 10 or
// 11, carrier, area code and subscriber 12 or 13.
//
// A subscriber number has 9 digits starting with 9 (mobile) or 8 digits
// starting with 2 to 5 (landline). An 8-digit number starting with 6 to 9 is
// a mobile number from before the ninth digit was added (completed in 2016):
// it is rejected rather than guessed, since the network rejects it too.
// Non-geographic numbers are 300 or 303 followed by 7 digits, or 500, 800 or
// 900 followed by 6 or 7 digits (the 6-digit form only with its leading 0 or
// after +55, since without it 9 digits are a local number).

// maxBrazilianCanonical is the length of the longest Brazilian canonical
// number: 55, area code, 9-digit subscriber.
const maxBrazilianCanonical = 13

// areaCodes holds the Brazilian area codes (DDD) in service, indexed by
// their two digits.
var areaCodes = func() (t [100]bool) {
	for _, ddd := range []int{
		11, 12, 13, 14, 15, 16, 17, 18, 19, // São Paulo
		21, 22, 24, 27, 28, // Rio de Janeiro, Espírito Santo
		31, 32, 33, 34, 35, 37, 38, // Minas Gerais
		41, 42, 43, 44, 45, 46, 47, 48, 49, // Paraná, Santa Catarina
		51, 53, 54, 55, // Rio Grande do Sul
		61, 62, 63, 64, 65, 66, 67, 68, 69, // Centre-West, Tocantins, Acre, Rondônia
		71, 73, 74, 75, 77, 79, // Bahia, Sergipe
		81, 82, 83, 84, 85, 86, 87, 88, 89, // North-East
		91, 92, 93, 94, 95, 96, 97, 98, 99, // North, Maranhão
	} {
		t[ddd] = true
	}
	return t
}()

func isAreaCode(tens, units byte) bool {
	return isDigit(tens) && isDigit(units) && areaCodes[(tens-'0')*10+units-'0']
}

// brazilian reads digits (no "+") dialed in a Brazilian campaign.
func (r Rules) brazilian(dialed string, d []byte) (Number, error) {
	if hasPrefix(d, "00") {
		return brazilianInternational(dialed, d[2:])
	}
	var out [maxBrazilianCanonical]byte
	if d[0] == '0' {
		rest := d[1:]
		if isNonGeographic(rest) {
			return brazilianCanonical(dialed, append(append(out[:0], brazil...), rest...))
		}
		switch len(rest) {
		case 10, 11: // area code and subscriber
			return brazilianCanonical(dialed, append(append(out[:0], brazil...), rest...))
		case 12, 13: // carrier selection code, area code and subscriber
			return brazilianCanonical(dialed, append(append(out[:0], brazil...), rest[2:]...))
		}
		return Number{}, invalid(dialed, fmt.Sprintf(
			"%d digits after the national prefix 0: want 10 or 11 (area code and number), 12 or 13 (carrier code, area code and number) or a 0300/0303/0500/0800/0900 number",
			len(rest)))
	}
	switch len(d) {
	case 8, 9: // local number
		if r.AreaCode == "" {
			return Number{}, invalid(dialed, fmt.Sprintf("%d-digit local number and no default area code is configured", len(d)))
		}
		return brazilianCanonical(dialed, append(append(append(out[:0], brazil...), r.AreaCode...), d...))
	case 10, 11: // area code and subscriber, or non-geographic
		return brazilianCanonical(dialed, append(append(out[:0], brazil...), d...))
	case 12, 13:
		if hasPrefix(d, brazil) { // already canonical
			return brazilianCanonical(dialed, d)
		}
		return Number{}, invalid(dialed, fmt.Sprintf("%d digits without a prefix must start with the country code 55", len(d)))
	}
	return Number{}, invalid(dialed, fmt.Sprintf("%d digits without a prefix is not a Brazilian number", len(d)))
}

// brazilianInternational reads what follows the international access code 00
// in Brazil: a carrier selection code then a country code, or (as some
// PBXes send it) the country code directly. When both readings are possible,
// 00 55 is taken as Brazil, then a number that libphonenumber knows to be
// valid beats one that merely has a possible length, and the reading with a
// carrier code beats the one without.
func brazilianInternational(dialed string, d []byte) (Number, error) {
	var brazilErr error
	if hasPrefix(d, brazil) { // 00 55: straight to Brazil
		n, err := brazilianNSN(dialed, d[len(brazil):])
		if err == nil {
			return n, nil
		}
		brazilErr = err
	}
	var withCarrier, direct Number
	var withCarrierValid, directValid bool
	if len(d) > 2 { // 00 CSP CC
		n, valid, err := internationalValid(dialed, d[2:])
		switch {
		case err == nil && valid:
			return n, nil
		case err == nil:
			withCarrier = n
		case hasPrefix(d[2:], brazil) && brazilErr == nil:
			brazilErr = err
		}
		withCarrierValid = err == nil
	}
	if !hasPrefix(d, brazil) { // 00 CC of another country
		n, valid, err := internationalValid(dialed, d)
		if err == nil && valid {
			return n, nil
		}
		direct, directValid = n, err == nil
	}
	switch {
	case withCarrierValid:
		return withCarrier, nil
	case directValid:
		return direct, nil
	case brazilErr != nil:
		return Number{}, brazilErr
	}
	return Number{}, invalid(dialed, "no country code and possible number after the international prefix 00 (and a carrier code)")
}

// brazilianNSN reads what follows the country code 55: the national
// significant number, possibly after the national prefix 0 that people
// write as "+55 (0) 11 ...".
func brazilianNSN(dialed string, nsn []byte) (Number, error) {
	if len(nsn) > 0 && nsn[0] == '0' {
		nsn = nsn[1:]
	}
	if len(nsn) > maxBrazilianCanonical-len(brazil) {
		return Number{}, invalid(dialed, fmt.Sprintf("%d digits after the country code 55: want at most 11", len(nsn)))
	}
	var out [maxBrazilianCanonical]byte
	return brazilianCanonical(dialed, append(append(out[:0], brazil...), nsn...))
}

// brazilianCanonical checks a candidate canonical number (55 and the
// national significant number) and returns it.
func brazilianCanonical(dialed string, canonical []byte) (Number, error) {
	if reason := checkBrazilianNSN(canonical[len(brazil):]); reason != "" {
		return Number{}, invalid(dialed, reason)
	}
	return Number{Canonical: stringOf(dialed, canonical), Kind: Phone}, nil
}

// isNonGeographic reports whether nsn starts like a non-geographic number;
// none of 30, 50, 80 and 90 is an area code.
func isNonGeographic(nsn []byte) bool {
	if len(nsn) < 3 {
		return false
	}
	switch string(nsn[:3]) {
	case "300", "303", "500", "800", "900":
		return true
	}
	return false
}

// checkBrazilianNSN returns why nsn (the digits after the country code) is
// not a Brazilian number, or "".
func checkBrazilianNSN(nsn []byte) string {
	if isNonGeographic(nsn) {
		prefix := string(nsn[:3])
		switch {
		case len(nsn) == 10, len(nsn) == 9 && nsn[0] != '3':
			return ""
		case nsn[0] == '3':
			return "non-geographic 0" + prefix + " numbers have 7 digits after 0" + prefix
		}
		return "non-geographic 0" + prefix + " numbers have 6 or 7 digits after 0" + prefix
	}
	if len(nsn) != 10 && len(nsn) != 11 {
		return fmt.Sprintf("%d digits after the country code 55: want a 2-digit area code and an 8 or 9-digit number", len(nsn))
	}
	if !isAreaCode(nsn[0], nsn[1]) {
		return "area code " + string(nsn[:2]) + " does not exist"
	}
	subscriber := nsn[2:]
	switch first := subscriber[0]; {
	case len(subscriber) == 9 && first != '9':
		return "mobile numbers have 9 digits starting with 9 (a 9-digit number starts with 9)"
	case len(subscriber) == 8 && first >= '6':
		return "mobile numbers have 9 digits starting with 9 (8-digit numbers are landlines starting with 2 to 5)"
	case len(subscriber) == 8 && first < '2':
		return "landline numbers have 8 digits starting with 2 to 5"
	}
	return ""
}
