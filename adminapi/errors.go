package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"

	"github.com/redis/go-redis/v9"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/blacklist/listfile"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/manage"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// httpError is a failure with the status it answers.
type httpError struct {
	status int
	msg    string
	allow  string // the Allow header of a 405
}

func (e *httpError) Error() string { return e.msg }

// errorf returns an *httpError with the status and the formatted message.
func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of every error.
type errorBody struct {
	Error string `json:"error"`
}

// writeError answers err with its status and {"error": message}.
func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	msg := err.Error()
	switch {
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="blacklist-agi admin"`)
	case errors.Is(err, context.DeadlineExceeded):
		msg += " (the request took longer than admin.request_timeout)"
	}
	writeJSON(w, status, errorBody{Error: msg})
}

// statusOf returns the status that answers err: 4xx for what the request
// got wrong, 503 for a Redis that cannot be reached, answers too late or
// cannot take writes for now (a read-only replica after a failover, a
// dataset loading, a cluster or master down), 507 for a Redis out of
// memory, 500 for the rest.
func statusOf(err error) int {
	var (
		he  *httpError
		mbe *http.MaxBytesError
		ne  net.Error
		re  redis.Error
		fe  *listfile.Error
	)
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, manage.ErrUnknownList):
		return http.StatusNotFound
	case errors.Is(err, blacklist.ErrInvalidName), errors.Is(err, blacklist.ErrInvalidEntry),
		errors.Is(err, blacklist.ErrInvalidCursor), errors.Is(err, blacklist.ErrCompactLayout),
		errors.Is(err, blacklist.ErrInvalidExpiry), errors.Is(err, blacklist.ErrInvalidMember),
		errors.Is(err, number.ErrInvalid), errors.Is(err, path.ErrBadPattern),
		errors.Is(err, listfile.ErrOption), errors.Is(err, ErrBadQuery), errors.As(err, &fe),
		errors.Is(err, callstats.ErrInvalidCursor), errors.Is(err, callstats.ErrInvalidWindow):
		return http.StatusBadRequest
	case errors.Is(err, blacklist.ErrListReplaced):
		return http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &ne), redis.IsReadOnlyError(err), redis.IsLoadingError(err), redis.IsMasterDownError(err),
		redis.IsClusterDownError(err), redis.IsTryAgainError(err):
		return http.StatusServiceUnavailable
	case redis.IsOOMError(err):
		return http.StatusInsufficientStorage
	case errors.As(err, &re):
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

// writeJSON answers v in JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client left
}
