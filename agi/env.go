package agi

import (
	"bytes"
	"errors"
	"io"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Env is the environment block Asterisk sends at the start of a session
// ("agi_channel: SIP/100-0001", "agi_extension: 5511987654321", ...), in the
// order received. Each line is split at its first ": "; a trailing CR is
// dropped. The zero Env is empty.
type Env struct {
	fields []envField
}

type envField struct {
	name, value string
}

// Get returns the value of the variable name (e.g. "agi_extension"), or ""
// when there is none.
func (e Env) Get(name string) string {
	v, _ := e.Lookup(name)
	return v
}

// Lookup returns the value of the variable name and whether it was present.
// A variable sent with an empty value (Asterisk writes "agi_accountcode: "
// for an empty account code) is present.
func (e Env) Lookup(name string) (string, bool) {
	for _, f := range e.fields {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}

// Len returns the number of variables.
func (e Env) Len() int { return len(e.fields) }

// All returns the variables in the order received.
func (e Env) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, f := range e.fields {
			if !yield(f.name, f.value) {
				return
			}
		}
	}
}

// Request is what Asterisk asked for: the script path, query and arguments
// of AGI(agi://host:port/script?query,arg1,arg2).
type Request struct {
	// Script is the path of the AGI URL without its leading "/" and without
	// the query, e.g. "blacklist"; "" when the URL has no path. It is taken
	// verbatim (not URL-unescaped).
	Script string
	// Query holds the parsed query of the AGI URL; nil when there is none.
	// Malformed pairs are dropped, as url.ParseQuery does.
	Query url.Values
	// Args are the AGI application arguments after the URL (agi_arg_1,
	// agi_arg_2, ...), in order.
	Args []string
}

// parseRequest builds a Request from agi_network_script, which Asterisk sends
// only when the URL has a path, or else from agi_request, the full URL
// (agi://host:port/path?query or hagi://...).
func parseRequest(networkScript string, hasNetworkScript bool, request string) Request {
	var target string
	if hasNetworkScript {
		target = networkScript
	} else if _, rest, ok := strings.Cut(request, "://"); ok {
		if slash := strings.IndexByte(rest, '/'); slash >= 0 {
			target = rest[slash+1:]
		}
	}
	script, rawQuery, _ := strings.Cut(target, "?")
	req := Request{Script: strings.TrimLeft(script, "/")}
	if rawQuery != "" {
		req.Query, _ = url.ParseQuery(rawQuery)
	}
	return req
}

// envBytesLimit bounds the whole environment block. Asterisk sends well under
// a kilobyte plus the AGI arguments.
const envBytesLimit = 64 << 10

const argPrefix = "agi_arg_"

// readEnv reads the environment block up to its empty line and fills s.env
// and s.req.
func (s *Session) readEnv(maxLines int) error {
	buf := s.bufs.env[:0]
	bounds := s.bufs.bounds[:0] // per variable: end of name, end of value in buf
	var received int
	for {
		line, err := s.readLine()
		if err != nil {
			s.bufs.env, s.bufs.bounds = buf, bounds
			switch {
			case errors.Is(err, io.EOF) && received == 0 && len(line) == 0:
				return protocolErrorf("connection closed before the environment block: %w", io.EOF)
			case errors.Is(err, io.EOF):
				return protocolErrorf("connection closed after %d environment lines, before the empty line that ends the block: %w",
					len(bounds)/2, io.ErrUnexpectedEOF)
			}
			return err
		}
		received += len(line) + 1
		line = bytes.TrimSuffix(line, []byte("\r"))
		n := len(bounds) / 2
		if len(line) == 0 {
			if n == 0 {
				return protocolErrorf("empty environment block")
			}
			break
		}
		if n == maxLines {
			return protocolErrorf("environment line %d %q is over the limit of %d lines", n+1, clip(string(line)), maxLines)
		}
		sep := bytes.Index(line, []byte(": "))
		if sep <= 0 {
			return protocolErrorf("environment line %d is not \"name: value\": %q", n+1, clip(string(line)))
		}
		if n == 0 && string(line[:sep]) != "agi_network" {
			return protocolErrorf("environment block does not start with agi_network: %q", clip(string(line)))
		}
		if len(buf)+len(line) > envBytesLimit {
			return protocolErrorf("environment block longer than %d bytes", envBytesLimit)
		}
		buf = append(buf, line[:sep]...)
		nameEnd := len(buf)
		buf = append(buf, line[sep+2:]...)
		bounds = append(bounds, nameEnd, len(buf))
	}
	s.bufs.env, s.bufs.bounds = buf, bounds

	// One string holds the whole block; names and values are substrings.
	block := string(buf)
	fields := make([]envField, len(bounds)/2)
	var (
		start            int
		networkScript    string
		request          string
		hasNetworkScript bool
		args             []string
		argsInOrder      = true
	)
	for i := range fields {
		nameEnd, valueEnd := bounds[2*i], bounds[2*i+1]
		f := envField{name: block[start:nameEnd], value: block[nameEnd:valueEnd]}
		fields[i] = f
		start = valueEnd
		switch {
		case f.name == "agi_network_script":
			networkScript, hasNetworkScript = f.value, true
		case f.name == "agi_request":
			request = f.value
		default:
			num, ok := argNumber(f.name)
			if !ok {
				continue
			}
			if num != len(args)+1 {
				argsInOrder = false
			}
			if args == nil {
				args = make([]string, 0, 4)
			}
			args = append(args, f.value)
		}
	}
	s.env = Env{fields: fields}
	s.req = parseRequest(networkScript, hasNetworkScript, request)
	if !argsInOrder {
		args = sortedArgs(fields, len(args))
	}
	s.req.Args = args
	return nil
}

// argNumber returns N for a variable named agi_arg_N.
func argNumber(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, argPrefix)
	if !ok {
		return 0, false
	}
	num, err := strconv.Atoi(digits)
	return num, err == nil && num > 0
}

// sortedArgs returns the n agi_arg_N values of fields ordered by N.
func sortedArgs(fields []envField, n int) []string {
	type arg struct {
		num   int
		value string
	}
	list := make([]arg, 0, n)
	for _, f := range fields {
		if num, ok := argNumber(f.name); ok {
			list = append(list, arg{num, f.value})
		}
	}
	slices.SortStableFunc(list, func(a, b arg) int { return a.num - b.num })
	args := make([]string, len(list))
	for i, a := range list {
		args[i] = a.value
	}
	return args
}
