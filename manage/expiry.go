package manage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTTL reads a time to live: a Go duration ("36h", "90m") or a whole
// number of days or weeks ("30d", "2w"). It must be positive.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		var k int
		k, err = strconv.Atoi(s[:n-1])
		unit := 24 * time.Hour
		if s[n-1] == 'w' {
			unit *= 7
		}
		if err == nil && k > 100*366 {
			err = errors.New("too long")
		}
		d = time.Duration(k) * unit
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("ttl %q: want a positive duration such as 30d, 2w, 36h or 90m", s)
	}
	return d, nil
}

// ParseUntil reads the last day an entry blocks: a date ("2026-12-31": it
// blocks through the end of that day, in loc) or an RFC 3339 time
// ("2026-12-31T18:00:00-03:00": it blocks until then). The time must be
// after now.
func ParseUntil(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		var day time.Time
		day, err = time.ParseInLocation(time.DateOnly, s, loc)
		t = day.AddDate(0, 0, 1)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("until %q: want a date (2026-12-31) or an RFC 3339 time (2026-12-31T18:00:00-03:00)", s)
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("until %q: already past", s)
	}
	return t, nil
}

// Expiry turns the --ttl and --until of a command into an expiry time (zero
// for none). Giving both is an error.
func Expiry(ttl, until string, now time.Time, loc *time.Location) (time.Time, error) {
	switch {
	case ttl != "" && until != "":
		return time.Time{}, errors.New("give --ttl or --until, not both")
	case ttl != "":
		d, err := ParseTTL(ttl)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d), nil
	case until != "":
		return ParseUntil(until, now, loc)
	}
	return time.Time{}, nil
}
