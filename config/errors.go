package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, matched with errors.Is against what Load, Validate,
// LoadCampaignFile and CampaignLoader.Load return. Each problem is an *Error
// whose Err field is one of these; several problems are joined with
// errors.Join.
var (
	// ErrSyntax means a file cannot be read as configuration: bad YAML,
	// duplicate keys, more than one document, not a mapping, too large.
	ErrSyntax = errors.New("malformed configuration file")
	// ErrUnknownKey means a key that is not a setting of this program.
	ErrUnknownKey = errors.New("unknown key")
	// ErrInvalidValue means a value of the wrong type or outside what is
	// allowed.
	ErrInvalidValue = errors.New("invalid value")
	// ErrUndeclaredList means a list name that is not declared under
	// lists: in the main file.
	ErrUndeclaredList = errors.New("list not declared in the main file")
	// ErrDuplicateCampaign means two files in the campaigns folder define
	// the same campaign (promo.yaml and promo.yml).
	ErrDuplicateCampaign = errors.New("campaign defined by two files")
)

// Error is one problem in the configuration: where it is, which key, the
// offending value and what is allowed. Use errors.As to get it and errors.Is
// with the sentinels above to classify it.
type Error struct {
	// File is the main or campaign file; "" when there is no file (the
	// value came from the built-in defaults or the environment).
	File string
	// Line is the line in File where Key is written, 0 when unknown.
	Line int
	// Key is the setting, in the notation of the file: "redis.addr",
	// "lists[spam].reason", "number.strip_prefixes[1]". "" for a problem
	// with the whole file.
	Key string
	// Env is the environment variable the value came from, if any.
	Env string
	// Value is the offending value as it was read.
	Value string
	// Msg says what is wrong and what is allowed.
	Msg string
	// Err is the sentinel (ErrSyntax, ErrUnknownKey, ...) or the underlying
	// error.
	Err error

	hasValue bool // Value is worth printing (it may be "")
}

// Error formats the problem as "file:line: key (from $ENV) = "value": msg",
// leaving out the parts that are not known.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" && e.Env == "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		if e.Env != "" {
			b.WriteString(" (from $" + e.Env + ")")
		}
		if e.hasValue {
			fmt.Fprintf(&b, " = %q", e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel or underlying error.
func (e *Error) Unwrap() error { return e.Err }

// problems collects the problems found in one file.
type problems struct {
	file string
	errs []error
}

// invalid records that key has a bad value.
func (p *problems) invalid(key, value, msg string) {
	p.errs = append(p.errs, &Error{File: p.file, Key: key, Value: value, Msg: msg, Err: ErrInvalidValue, hasValue: true})
}

// add records a problem with an explicit sentinel.
func (p *problems) add(key, value, msg string, sentinel error) {
	p.errs = append(p.errs, &Error{File: p.file, Key: key, Value: value, Msg: msg, Err: sentinel, hasValue: value != "" || sentinel == ErrInvalidValue})
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// eachError calls fn for every *Error in err, looking inside joined errors.
func eachError(err error, fn func(*Error)) {
	switch e := err.(type) {
	case nil:
	case *Error:
		fn(e)
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			eachError(inner, fn)
		}
	}
}
