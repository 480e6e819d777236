package adminapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/blacklist-agi/blacklist-agi/manage"
)

// decodeJSON reads the request body, one JSON object, into v. Unknown
// fields, a second value and a content type other than JSON are refused.
func decodeJSON(r *http.Request, v any) error {
	if err := jsonContent(r); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		if err == nil {
			return errorf(http.StatusBadRequest, "request body: more than one JSON value; send one object")
		}
		return bodyError(err)
	}
	return nil
}

// jsonContent refuses a request body that is not declared JSON. A browser
// cannot send JSON to another origin without asking first (CORS preflight,
// which this API never grants), so this also keeps other web sites from
// writing through a user's browser.
func jsonContent(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "request body: content type %q: want application/json", ct)
	}
	return nil
}

// bodyError describes an error of decoding a JSON request body.
func bodyError(err error) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		mbe  *http.MaxBytesError
		none = errors.Is(err, io.EOF)
	)
	switch {
	case none:
		return errorf(http.StatusBadRequest, "request body: empty; want a JSON object")
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, "request body: larger than %d bytes (admin.max_body_bytes)", mbe.Limit)
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, "request body: invalid JSON at byte %d: %v", syn.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "request body: the JSON ends before it is complete")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the body"
		}
		return errorf(http.StatusBadRequest, "request body: %s: want %s, not JSON %s", field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errorf(http.StatusBadRequest, "request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return errorf(http.StatusBadRequest, "request body: %v", err)
}

// timeForms describes what parseTime reads, for its errors.
const timeForms = "want an RFC 3339 time (2026-11-28T10:00:00-03:00), a date (2026-11-28) or a duration back from now (90m, 24h, 7d, 2w)"

// parseTime reads the time parameter name: an RFC 3339 time, a date (the
// start of that day in loc), or a duration back from now ("24h", "7d",
// "2w", as manage.ParseTTL reads them). "" is the zero time.
func parseTime(name, s string, now time.Time, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	if len(s) <= 32 && s[0] >= '0' && s[0] <= '9' {
		if d, err := manage.ParseTTL(s); err == nil {
			return now.Add(-d), nil
		}
	}
	return time.Time{}, errorf(http.StatusBadRequest, "%s %q: %s", name, s, timeForms)
}

// intParam reads the whole-number query parameter name, from lo to hi; def
// when it is absent.
func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, errorf(http.StatusBadRequest, "%s %q: want a whole number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// boolParam reads the query parameter name as true or false; nil when it
// is absent.
func boolParam(r *http.Request, name string) (*bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%s %q: want true or false", name, s)
	}
	return &b, nil
}

// maxParamLength bounds the text parameters that are names, cursors and
// patterns.
const maxParamLength = 256

// textParam reads the query parameter name, at most maxParamLength bytes.
func textParam(r *http.Request, name string) (string, error) {
	s := r.URL.Query().Get(name)
	if len(s) > maxParamLength {
		return "", errorf(http.StatusBadRequest, "%s: %d bytes, at most %d", name, len(s), maxParamLength)
	}
	return s, nil
}
