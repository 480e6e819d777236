package adminapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/manage"
)

// Kinds of list in the routes.
const (
	kindCampaign = "campaign" // a campaign's own list: the name is the campaign id
	kindShared   = "shared"   // a shared list declared in the main file
)

// Bounds of the list routes.
const (
	defaultPageCount = 100
	maxPageCount     = 10000
	maxSearchLimit   = 10000
	maxAuditLimit    = 10000
	// maxEntries bounds the entries of one add or remove: more is a file
	// to import.
	maxEntries = 10000
)

// sourceAPI is the source of every change made through the API (audit log,
// entry metadata).
const sourceAPI = "api"

// listRef names a list in answers.
type listRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func refOf(l blacklist.List) listRef {
	if l.Campaign {
		return listRef{Kind: kindCampaign, Name: l.Name}
	}
	return listRef{Kind: kindShared, Name: l.Name}
}

// manager returns the manager in force.
func (a *api) manager() (*manage.Manager, error) {
	if a.opt.Manager == nil {
		return nil, errorf(http.StatusServiceUnavailable, "the configuration is not loaded yet")
	}
	m := a.opt.Manager()
	if m == nil {
		return nil, errorf(http.StatusServiceUnavailable, "the configuration is not loaded yet")
	}
	return m, nil
}

// target resolves the list of the route's {kind} and {name}, as the CLI's
// --campaign and --list do: a campaign's own list exists for every valid
// campaign id (calls for that id are checked against it, with or without a
// campaign file); a shared list must be declared in the main file.
func (a *api) target(r *http.Request) (*manage.Manager, manage.Target, error) {
	m, err := a.manager()
	if err != nil {
		return nil, manage.Target{}, err
	}
	kind, name := r.PathValue("kind"), r.PathValue("name")
	var t manage.Target
	switch kind {
	case kindCampaign:
		t, err = m.Resolve(name, "")
	case kindShared:
		t, err = m.Resolve("", name)
	default:
		return nil, manage.Target{}, errorf(http.StatusNotFound, "list kind %q: want %q or %q", kind, kindCampaign, kindShared)
	}
	return m, t, err
}

// listView describes one list.
type listView struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Layout string `json:"layout"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	// UsedBy are the campaigns whose calls are checked against the list
	// (for a shared list declared all_campaigns: the campaigns with a
	// file; calls of every campaign are checked against it).
	UsedBy []string `json:"used_by"`
	// Declared: a shared list of the main file, or the own list of a
	// campaign with a file. A list found in Redis only is not.
	Declared bool `json:"declared"`
	// Exists: Redis holds the list.
	Exists       bool      `json:"exists"`
	Reason       string    `json:"reason,omitempty"`
	LastChange   time.Time `json:"last_change,omitzero"`
	LastChangeBy string    `json:"last_change_by,omitempty"`
	LastOp       string    `json:"last_op,omitempty"`
}

func layoutName(l string) string {
	if l == "" {
		return blacklist.LayoutPlain
	}
	return l
}

// view describes li as the CLI's "lists --json" does.
func view(m *manage.Manager, li blacklist.ListInfo, declared bool) listView {
	v := listView{
		Kind: kindShared, Name: li.List.Name, Layout: layoutName(li.List.Layout), Key: li.List.Key,
		Size: li.Size, Declared: declared, Exists: li.Exists,
		LastChange: li.LastChange, LastChangeBy: li.LastChangeBy, LastOp: li.LastOp,
	}
	if li.List.Campaign {
		v.Kind, v.UsedBy = kindCampaign, []string{li.List.Name}
	} else {
		v.UsedBy = m.UsedBy(li.List.Name)
	}
	if v.UsedBy == nil {
		v.UsedBy = []string{}
	}
	return v
}

func declaredKeys(m *manage.Manager) map[string]bool {
	keys := map[string]bool{}
	for _, l := range m.DeclaredLists() {
		keys[l.Key] = true
	}
	return keys
}

// lists answers GET /api/v1/lists: every declared list, then every other
// list found in Redis.
func (a *api) lists(w http.ResponseWriter, r *http.Request) error {
	m, err := a.manager()
	if err != nil {
		return err
	}
	declared := m.DeclaredLists()
	infos, err := m.Store().Lists(r.Context(), declared)
	if err != nil {
		return err
	}
	isDeclared := declaredKeys(m)
	out := struct {
		Lists []listView `json:"lists"`
	}{Lists: make([]listView, 0, len(infos))}
	for _, li := range infos {
		out.Lists = append(out.Lists, view(m, li, isDeclared[li.List.Key]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// stat answers GET /api/v1/lists/{kind}/{name}.
func (a *api) stat(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	li, err := m.Store().Stat(r.Context(), t.List)
	if err != nil {
		return err
	}
	v := view(m, li, declaredKeys(m)[t.List.Key])
	v.Reason = t.Reason
	writeJSON(w, http.StatusOK, v)
	return nil
}

// page answers GET .../entries: one page of a list (SSCAN), as "ls" prints.
func (a *api) page(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	cursor, err := textParam(r, "cursor")
	if err != nil {
		return err
	}
	match, err := textParam(r, "match")
	if err != nil {
		return err
	}
	count, err := intParam(r, "count", defaultPageCount, 1, maxPageCount)
	if err != nil {
		return err
	}
	entries, next, err := m.Store().Scan(r.Context(), t.List, cursor, match, count)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []string{}
	}
	writeJSON(w, http.StatusOK, struct {
		List    listRef  `json:"list"`
		Entries []string `json:"entries"`
		Next    string   `json:"next"`
	}{refOf(t.List), entries, next})
	return nil
}

// entryView is what a list holds about one entry.
type entryView struct {
	Entry   string          `json:"entry"`
	Present bool            `json:"present"`
	Expired bool            `json:"expired"`
	Meta    *blacklist.Meta `json:"meta,omitempty"`
}

func entryOf(e blacklist.Entry) entryView {
	v := entryView{Entry: e.Member, Present: e.Present, Expired: e.Expired}
	if e.Meta != (blacklist.Meta{}) {
		v.Meta = &e.Meta
	}
	return v
}

// search answers GET .../entries/search?q=: a number in any shape, or
// every entry that starts with a prefix ("5511*"), as "search" does.
func (a *api) search(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	query, err := textParam(r, "q")
	if err != nil {
		return err
	}
	if query == "" {
		return errorf(http.StatusBadRequest, "q: empty; give a number in any shape, or a prefix ending in * (5511*)")
	}
	limit, err := intParam(r, "limit", blacklist.DefaultSearchLimit, 1, maxSearchLimit)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(query, "*") {
		n := t.Normalize([]string{query})
		if len(n.Refused) > 0 {
			return errorf(http.StatusBadRequest, "q %q: %s", query, n.Refused[0].Reason)
		}
		query = n.Members[0]
	} else if n := t.Normalize([]string{query}); len(n.Members) == 1 {
		query = n.Members[0]
	}
	found, err := m.Store().Search(r.Context(), t.List, query, int(limit))
	if err != nil {
		return err
	}
	out := struct {
		List    listRef     `json:"list"`
		Query   string      `json:"query"`
		Entries []entryView `json:"entries"`
	}{List: refOf(t.List), Query: query, Entries: make([]entryView, 0, len(found))}
	for _, e := range found {
		out.Entries = append(out.Entries, entryOf(e))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// lookup answers GET .../entries/{entry}: what the list holds about one
// entry, normalized as add normalizes it. An entry the list does not hold
// is answered with present false.
func (a *api) lookup(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	in := r.PathValue("entry")
	n := t.Normalize([]string{in})
	if len(n.Refused) > 0 {
		return errorf(http.StatusBadRequest, "entry %q: %s", in, n.Refused[0].Reason)
	}
	e, err := m.Store().Lookup(r.Context(), t.List, n.Members[0])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		List listRef `json:"list"`
		entryView
	}{refOf(t.List), entryOf(e)})
	return nil
}

// addBody is the body of POST .../entries.
type addBody struct {
	Entries []string `json:"entries"`
	Reason  string   `json:"reason"`
	Note    string   `json:"note"`
	By      string   `json:"by"`
	TTL     string   `json:"ttl"`
	Until   string   `json:"until"`
}

// removeBody is the body of DELETE .../entries.
type removeBody struct {
	Entries []string `json:"entries"`
	Reason  string   `json:"reason"`
	Note    string   `json:"note"`
	By      string   `json:"by"`
}

// Results of one entry of an add or a remove.
const (
	resultAdded     = "added"     // it was not in the list
	resultPresent   = "present"   // it was already there (metadata and expiry updated)
	resultRemoved   = "removed"   // it was in the list
	resultAbsent    = "absent"    // it was not
	resultDuplicate = "duplicate" // an earlier input of the request is the same entry
	resultRefused   = "refused"   // not taken: Reason says why
)

// entryResult is what an add or a remove did with one input.
type entryResult struct {
	Input  string `json:"input"`
	Entry  string `json:"entry,omitempty"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// addAnswer is the answer of an add.
type addAnswer struct {
	Error    string           `json:"error,omitempty"`
	List     listRef          `json:"list"`
	Results  []entryResult    `json:"results"`
	Added    int              `json:"added"`
	Present  int              `json:"present"`
	Refused  int              `json:"refused"`
	Dequeued map[string]int64 `json:"dequeued,omitempty"`
}

// removeAnswer is the answer of a remove.
type removeAnswer struct {
	Error   string        `json:"error,omitempty"`
	List    listRef       `json:"list"`
	Results []entryResult `json:"results"`
	Removed int           `json:"removed"`
	Absent  int           `json:"absent"`
	Refused int           `json:"refused"`
}

func checkEntries(entries []string) error {
	switch {
	case len(entries) == 0:
		return errorf(http.StatusBadRequest, "entries: none; give at least one number, extension or prefix entry")
	case len(entries) > maxEntries:
		return errorf(http.StatusBadRequest, "entries: %d, at most %d per request; import a file for more", len(entries), maxEntries)
	}
	return nil
}

func byOf(by string) string {
	if by = strings.TrimSpace(by); by != "" {
		return by
	}
	return sourceAPI
}

// outcomes builds the result of each input of an add or a remove: the
// target normalizes each input as the operation did (refusing what it
// refused); done maps an entry to what happened to it, and refused an entry
// that the store refused to why.
func outcomes(t manage.Target, inputs []string, done map[string]string, refused map[string]string) []entryResult {
	results := make([]entryResult, len(inputs))
	seen := make(map[string]bool, len(inputs))
	for i, in := range inputs {
		res := entryResult{Input: in}
		n := t.Normalize([]string{in})
		switch {
		case len(n.Refused) > 0:
			res.Result, res.Reason = resultRefused, n.Refused[0].Reason
		case seen[n.Members[0]]:
			res.Entry, res.Result = n.Members[0], resultDuplicate
		default:
			e := n.Members[0]
			seen[e] = true
			res.Entry = e
			if why, ok := refused[e]; ok {
				res.Result, res.Reason = resultRefused, why
			} else {
				res.Result = done[e]
			}
		}
		results[i] = res
	}
	return results
}

// add answers POST .../entries: the entries go in as with "add" (normalized
// with the list's rules, out of the dialer queues of the campaigns that use
// it, audited and published), by the body's "by" or "api", source "api".
func (a *api) add(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	var body addBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if err := checkEntries(body.Entries); err != nil {
		return err
	}
	if body.TTL != "" && body.Until != "" {
		return errorf(http.StatusBadRequest, "ttl %q and until %q: give one or the other, not both", body.TTL, body.Until)
	}
	expires, err := manage.Expiry(body.TTL, body.Until, time.Now(), time.Local)
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	res, refused, err := m.Add(r.Context(), t, body.Entries, blacklist.AddOptions{Meta: blacklist.Meta{
		Reason: body.Reason, Source: sourceAPI, AddedBy: byOf(body.By), Note: body.Note, ExpiresAt: expires,
	}})
	if err != nil && len(res.Added)+len(res.Present) == 0 {
		return err
	}
	done := map[string]string{}
	for _, e := range res.Added {
		done[e] = resultAdded
	}
	for _, e := range res.Present {
		done[e] = resultPresent
	}
	why := map[string]string{}
	for _, f := range res.Refused {
		why[f.Entry] = f.Reason
	}
	out := addAnswer{
		List: refOf(t.List), Results: outcomes(t, body.Entries, done, why),
		Added: len(res.Added), Present: len(res.Present), Refused: len(refused) + len(res.Refused),
		Dequeued: res.Dequeued,
	}
	writeJSON(w, writeStatus(&out.Error, out.Refused, len(body.Entries), err), out)
	return nil
}

// writeStatus returns the status of an add or a remove and sets its error
// message: 500 when the entries were written but what followed failed, 422
// when some entry was refused (the others were written), 200 otherwise.
func writeStatus(msg *string, refused, inputs int, err error) int {
	switch {
	case err != nil:
		*msg = fmt.Sprintf("the entries were written, but then: %v", err)
		return http.StatusInternalServerError
	case refused > 0:
		*msg = fmt.Sprintf("%d of %d entries refused (see results); the others were written", refused, inputs)
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// remove answers DELETE .../entries, as "rm" does.
func (a *api) remove(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	var body removeBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	return a.removeEntries(w, r, m, t, body)
}

// removeOne answers DELETE .../entries/{entry}; reason, note and by come
// from the query.
func (a *api) removeOne(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	return a.removeEntries(w, r, m, t, removeBody{
		Entries: []string{r.PathValue("entry")}, Reason: q.Get("reason"), Note: q.Get("note"), By: q.Get("by"),
	})
}

func (a *api) removeEntries(w http.ResponseWriter, r *http.Request, m *manage.Manager, t manage.Target, body removeBody) error {
	if err := checkEntries(body.Entries); err != nil {
		return err
	}
	res, refused, err := m.Remove(r.Context(), t, body.Entries, blacklist.RemoveOptions{
		By: byOf(body.By), Reason: body.Reason, Source: sourceAPI, Note: body.Note,
	})
	if err != nil && len(res.Removed)+len(res.Absent) == 0 {
		return err
	}
	done := map[string]string{}
	for _, e := range res.Removed {
		done[e] = resultRemoved
	}
	for _, e := range res.Absent {
		done[e] = resultAbsent
	}
	why := map[string]string{}
	for _, f := range res.Refused {
		why[f.Entry] = f.Reason
	}
	out := removeAnswer{
		List: refOf(t.List), Results: outcomes(t, body.Entries, done, why),
		Removed: len(res.Removed), Absent: len(res.Absent), Refused: len(refused) + len(res.Refused),
	}
	writeJSON(w, writeStatus(&out.Error, out.Refused, len(body.Entries), err), out)
	return nil
}

// auditView is one record of a list's audit log.
type auditView struct {
	Op        string    `json:"op"`
	Entry     string    `json:"entry,omitempty"`
	Count     int64     `json:"count,omitempty"`
	By        string    `json:"by,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Source    string    `json:"source,omitempty"`
	Note      string    `json:"note,omitempty"`
	At        time.Time `json:"at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Channel   string    `json:"channel,omitempty"`
	UniqueID  string    `json:"uniqueid,omitempty"`
}

// audit answers GET .../audit?since=&limit=: the list's audit log, newest
// first.
func (a *api) audit(w http.ResponseWriter, r *http.Request) error {
	m, t, err := a.target(r)
	if err != nil {
		return err
	}
	since, err := parseTime("since", r.URL.Query().Get("since"), time.Now(), time.Local)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", blacklist.DefaultAuditLimit, 1, maxAuditLimit)
	if err != nil {
		return err
	}
	recs, err := m.Store().Audit(r.Context(), t.List, since, limit)
	if err != nil {
		return err
	}
	out := struct {
		List    listRef     `json:"list"`
		Records []auditView `json:"records"`
	}{List: refOf(t.List), Records: make([]auditView, 0, len(recs))}
	for _, rec := range recs {
		out.Records = append(out.Records, auditView{
			Op: rec.Op, Entry: rec.Member, Count: rec.Count, By: rec.By, Reason: rec.Reason, Source: rec.Source,
			Note: rec.Note, At: rec.At, ExpiresAt: rec.ExpiresAt, Channel: rec.Channel, UniqueID: rec.UniqueID,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
