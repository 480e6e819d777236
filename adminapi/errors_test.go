package adminapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

// TestStatusOfRedisErrors answers the error replies of a real Redis (a Lua
// script returns each, as Redis would send it) wrapped as the store wraps
// them: a write refused for now (READONLY after a failover, LOADING,
// MASTERDOWN, ...) is 503, out of memory 507, and the message names the
// reply.
func TestStatusOfRedisErrors(t *testing.T) {
	t.Parallel()
	rdb := redistest.Client(t)
	tests := []struct {
		reply  string
		status int
	}{
		{"READONLY You can't write against a read only replica.", http.StatusServiceUnavailable},
		{"LOADING Redis is loading the dataset in memory", http.StatusServiceUnavailable},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", http.StatusServiceUnavailable},
		{"CLUSTERDOWN The cluster is down", http.StatusServiceUnavailable},
		{"TRYAGAIN Multiple keys request during rehashing of slot", http.StatusServiceUnavailable},
		{"OOM command not allowed when used memory > 'maxmemory'.", http.StatusInsufficientStorage},
		{"ERR something else", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		err := rdb.Eval(context.Background(), "return redis.error_reply(ARGV[1])", nil, tt.reply).Err()
		if err == nil {
			t.Fatalf("%q: no error from the script", tt.reply)
		}
		err = fmt.Errorf("blacklist: adding %q to %s: %w", "5511987654321", "list:{opt-out}", err)
		if got := statusOf(err); got != tt.status {
			t.Errorf("%q: status %d, want %d", tt.reply, got, tt.status)
		}
		w := httptest.NewRecorder()
		writeError(w, err)
		code, _, _ := strings.Cut(tt.reply, " ")
		if w.Code != tt.status || !strings.Contains(w.Body.String(), code) {
			t.Errorf("%q: answered %d %s, want %d naming %s", tt.reply, w.Code, w.Body, tt.status, code)
		}
	}
}
