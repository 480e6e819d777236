package adminapi

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/callstats"
	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// Bounds of the monitoring routes.
const (
	defaultBlockedCount = 100
	maxBlockedCount     = 1000
	defaultStatsSince   = 24 * time.Hour
	maxCampaigns        = 100
)

type statusBody struct {
	Status string `json:"status"`
}

// healthz answers GET /healthz: the process is alive.
func (a *api) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
	return nil
}

// readyz answers GET /readyz: 200 when the server can serve calls, 503
// with the reason otherwise.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) error {
	var err error
	switch {
	case a.opt.Ready != nil:
		err = a.opt.Ready(r.Context())
	case a.opt.Redis != nil:
		err = a.opt.Redis.Ping(r.Context()).Err()
	}
	if err != nil {
		return errorf(http.StatusServiceUnavailable, "not ready: %v", err)
	}
	writeJSON(w, http.StatusOK, statusBody{Status: "ready"})
	return nil
}

// metrics answers GET /metrics with Options.Metrics.
func (a *api) metrics(w http.ResponseWriter, r *http.Request) error {
	if a.opt.Metrics == nil {
		return errorf(http.StatusNotFound, "metrics are not served by this server")
	}
	a.opt.Metrics.ServeHTTP(w, r)
	return nil
}

// check answers GET /api/v1/check?campaign=&number=: the verdict a call
// for the campaign to the number would get now. An ERROR verdict answers
// 400 when the number is not a number, 503 when Redis failed.
func (a *api) check(w http.ResponseWriter, r *http.Request) error {
	if a.opt.Checker == nil {
		return errorf(http.StatusNotFound, "checks are not served by this server")
	}
	campaign, err := textParam(r, "campaign")
	if err != nil {
		return err
	}
	dialed, err := textParam(r, "number")
	if err != nil {
		return err
	}
	if strings.TrimSpace(dialed) == "" {
		return errorf(http.StatusBadRequest, "number: empty; give the number as dialed, in any shape")
	}
	v := a.opt.Checker(r.Context(), campaign, dialed)
	out := v.View()
	status := http.StatusOK
	if v.Status == guard.StatusError {
		status = http.StatusServiceUnavailable
		if errors.Is(v.Err, number.ErrInvalid) {
			status = http.StatusBadRequest
		}
		if v.Err == nil {
			out.Error = "the check failed"
		}
	}
	writeJSON(w, status, out)
	return nil
}

// validCampaign reports a campaign filter of the statistics that is not a
// campaign id, nor callstats.NoCampaign (the calls without a valid id).
func validCampaign(param, id string) error {
	if id == callstats.NoCampaign {
		return nil
	}
	if err := blacklist.ValidName("campaign id", id); err != nil {
		return errorf(http.StatusBadRequest, "%s: %v (or %q for the calls without a valid campaign id)", param, err, callstats.NoCampaign)
	}
	return nil
}

// campaignsParam reads the campaign parameter: one campaign id, several
// separated by commas, or none (every campaign).
func campaignsParam(r *http.Request) ([]string, error) {
	s, err := textParam(r, "campaign")
	if err != nil || s == "" {
		return nil, err
	}
	ids := strings.Split(s, ",")
	if len(ids) > maxCampaigns {
		return nil, errorf(http.StatusBadRequest, "campaign: %d ids, at most %d", len(ids), maxCampaigns)
	}
	for i, id := range ids {
		ids[i] = strings.TrimSpace(id)
		if err := validCampaign("campaign", ids[i]); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// emptyIfNil turns a nil slice (in v) into an empty one, so that a list
// is [] in JSON, never null.
func emptyIfNil(v any) any {
	if v == nil {
		return []any{}
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		return reflect.MakeSlice(rv.Type(), 0, 0).Interface()
	}
	return v
}

// stats answers GET /api/v1/stats?campaign=&since=&until=: the figures per
// campaign and list, from since (default 24h ago) to until (default now).
func (a *api) stats(w http.ResponseWriter, r *http.Request) error {
	if a.opt.Stats == nil {
		return errorf(http.StatusNotFound, "statistics are not served by this server")
	}
	campaigns, err := campaignsParam(r)
	if err != nil {
		return err
	}
	now := time.Now()
	q := r.URL.Query()
	since, err := parseTime("since", q.Get("since"), now, time.Local)
	if err != nil {
		return err
	}
	if since.IsZero() {
		since = now.Add(-defaultStatsSince)
	}
	until, err := parseTime("until", q.Get("until"), now, time.Local)
	if err != nil {
		return err
	}
	if until.IsZero() {
		until = now
	}
	if !since.Before(until) {
		return errorf(http.StatusBadRequest, "since %s is not before until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	stats, err := a.opt.Stats.Stats(r.Context(), campaigns, since, until)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Since     time.Time `json:"since"`
		Until     time.Time `json:"until"`
		Campaigns any       `json:"campaigns"`
	}{since, until, emptyIfNil(stats)})
	return nil
}

// blocked answers GET /api/v1/blocked: one page of the blocked-call log,
// newest first, filtered by campaign, list and time.
func (a *api) blocked(w http.ResponseWriter, r *http.Request) error {
	if a.opt.Stats == nil {
		return errorf(http.StatusNotFound, "the blocked-call log is not served by this server")
	}
	var bq BlockedQuery
	var err error
	if bq.Campaign, err = textParam(r, "campaign"); err != nil {
		return err
	}
	if bq.Campaign != "" {
		if err := validCampaign("campaign", bq.Campaign); err != nil {
			return err
		}
	}
	if bq.List, err = textParam(r, "list"); err != nil {
		return err
	}
	if bq.List != "" {
		if err := blacklist.ValidName("list name", bq.List); err != nil {
			return errorf(http.StatusBadRequest, "list: %v", err)
		}
	}
	now := time.Now()
	q := r.URL.Query()
	if bq.From, err = parseTime("from", q.Get("from"), now, time.Local); err != nil {
		return err
	}
	if bq.To, err = parseTime("to", q.Get("to"), now, time.Local); err != nil {
		return err
	}
	if !bq.From.IsZero() && !bq.To.IsZero() && bq.To.Before(bq.From) {
		return errorf(http.StatusBadRequest, "to %s is before from %s", bq.To.Format(time.RFC3339), bq.From.Format(time.RFC3339))
	}
	if bq.Count, err = intParam(r, "count", defaultBlockedCount, 1, maxBlockedCount); err != nil {
		return err
	}
	if bq.Before, err = textParam(r, "before"); err != nil {
		return err
	}
	if bq.Before != "" && !callstats.ValidCursor(bq.Before) {
		return errorf(http.StatusBadRequest, "before %q: want the next of a previous page, a stream ID such as 1700000000000-0", bq.Before)
	}
	calls, next, err := a.opt.Stats.Blocked(r.Context(), bq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Calls any    `json:"calls"`
		Next  string `json:"next"`
	}{emptyIfNil(calls), next})
	return nil
}

// config answers GET /api/v1/config with Options.ConfigStatus.
func (a *api) config(w http.ResponseWriter, r *http.Request) error {
	if a.opt.ConfigStatus == nil {
		return errorf(http.StatusNotFound, "the configuration status is not served by this server")
	}
	writeJSON(w, http.StatusOK, a.opt.ConfigStatus())
	return nil
}
