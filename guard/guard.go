// Package guard joins the FastAGI server to the blacklists: its Guard is the
// agi.Handler that an outbound dialplan calls before Dial(). For each call it
// normalizes the destination with the campaign's number rules, asks Redis
// about every list the campaign uses in one round trip, sets the verdict on
// the channel (BLACKLIST_STATUS and friends) and runs the campaign's action
// on a block: hang up with a cause, jump to a dialplan handler, or continue.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/manage"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// Channel variables the guard sets, documented in README.md.
const (
	VarStatus  = "BLACKLIST_STATUS"
	VarList    = "BLACKLIST_LIST"
	VarMatch   = "BLACKLIST_MATCH"
	VarReason  = "BLACKLIST_REASON"
	VarError   = "BLACKLIST_ERROR"
	VarOnError = "BLACKLIST_ON_ERROR"
)

// MaxVariableBytes is the longest value the guard sets in a channel variable
// from stored text (an entry's reason): longer text is cut there.
const MaxVariableBytes = 256

// Status is the value of BLACKLIST_STATUS.
type Status string

// The three verdicts a dialplan can see.
const (
	StatusAllowed Status = "ALLOWED"
	StatusBlocked Status = "BLOCKED"
	StatusError   Status = "ERROR"
)

// Verdict is the outcome of checking one dialed string for one campaign.
type Verdict struct {
	Status   Status
	Campaign string         // the campaign id as asked ("" when the dialplan gave none)
	Known    bool           // the campaign has a file; otherwise the defaults applied
	Dialed   string         // the dialed string as received
	Number   number.Number  // the normalized number (zero when normalization failed)
	List     string         // on a block: the list that matched (campaign id or shared list name)
	Entry    string         // on a block: the member that matched
	Reason   string         // on a block: the entry's reason, else the list's configured one
	Meta     blacklist.Meta // on a block: what is known of the entry (plain lists)
	Err      error          // on ERROR: what went wrong
	// Block says whether the call must not go out: true on BLOCKED, and on
	// ERROR when the campaign's on_error is block.
	Block bool
}

// Guard checks calls against the blacklists. It is safe for concurrent use;
// campaigns can be swapped at any time with SetCampaigns.
type Guard struct {
	checker *blacklist.Checker
	store   *blacklist.Store
	keys    blacklist.Keys
	cfg     *config.Config
	logger  *slog.Logger
	plans   atomic.Pointer[map[string]*plan]
	// manager resolves the lists of in-call additions (opt-out, spam,
	// no-answer) with the campaigns in force.
	manager atomic.Pointer[manage.Manager]
	// observers see every check after its verdict is sent.
	observers atomic.Pointer[[]Observer]
	// defaults is the plan for a missing or malformed campaign id.
	defaults *plan
}

// plan is a campaign compiled for the hot path: keys and commands are built
// once per reload, never per call.
type plan struct {
	id          string
	known       bool
	campaign    *config.Campaign
	lists       []blacklist.List
	reasons     []string // reasons[i] is the configured reason of lists[i]
	rules       number.Rules
	action      string
	hangupCause string
	gotoTarget  string
	onError     string
	timeout     time.Duration
}

// New returns a Guard for the given configuration, with no campaign files
// loaded yet (every campaign gets the defaults until SetCampaigns). The
// checker answers the calls' checks; the store takes the in-call additions.
func New(cfg *config.Config, checker *blacklist.Checker, store *blacklist.Store, logger *slog.Logger) *Guard {
	if logger == nil {
		logger = slog.Default()
	}
	g := &Guard{
		checker: checker,
		store:   store,
		keys:    blacklist.Keys{Prefix: cfg.KeyPrefix},
		cfg:     cfg,
		logger:  logger,
	}
	g.defaults = g.compile(cfg.DefaultCampaign(""), false)
	g.SetCampaigns(nil)
	return g
}

// SetCampaigns replaces the campaigns the guard knows. Calls in flight finish
// with the set they started with.
func (g *Guard) SetCampaigns(campaigns map[string]*config.Campaign) {
	plans := make(map[string]*plan, len(campaigns))
	for id, c := range campaigns {
		plans[id] = g.compile(c, true)
	}
	g.plans.Store(&plans)
	g.manager.Store(manage.New(g.cfg, campaigns, g.store))
}

// LoadCampaigns reads the campaigns folder through l, installs the result
// and returns it. A bad file is logged and returned; the last good version
// of its campaign keeps serving.
func (g *Guard) LoadCampaigns(l *config.CampaignLoader) (map[string]*config.Campaign, error) {
	campaigns, err := l.Load()
	g.SetCampaigns(campaigns)
	if err != nil {
		g.logger.Error("campaign files rejected; last good versions keep serving", "err", err)
	} else {
		g.logger.Info("campaigns loaded", "count", len(campaigns), "dir", g.cfg.CampaignsDir)
	}
	return campaigns, err
}

// compactLists returns every compact list a loaded campaign (or the
// defaults) checks.
func (g *Guard) compactLists() []blacklist.List {
	seen := map[string]bool{}
	var lists []blacklist.List
	add := func(p *plan) {
		for _, l := range p.lists {
			if l.Layout == blacklist.LayoutCompact && !seen[l.Key] {
				seen[l.Key] = true
				lists = append(lists, l)
			}
		}
	}
	add(g.defaults)
	for _, p := range *g.plans.Load() {
		add(p)
	}
	return lists
}

// FollowVersions re-reads the live version of every compact list each
// interval until ctx ends, so that a list replaced by an import is followed
// within that interval; the check itself stays one round trip.
func (g *Guard) FollowVersions(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if lists := g.compactLists(); len(lists) > 0 {
			if err := g.checker.RefreshVersions(ctx, lists); err != nil && ctx.Err() == nil {
				g.logger.Debug("re-reading compact list versions failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Campaigns returns the ids of the campaigns loaded from files.
func (g *Guard) Campaigns() []string {
	plans := *g.plans.Load()
	ids := make([]string, 0, len(plans))
	for id := range plans {
		ids = append(ids, id)
	}
	return ids
}

func (g *Guard) compile(c *config.Campaign, known bool) *plan {
	p := &plan{
		id:          c.ID,
		known:       known,
		campaign:    c,
		action:      c.Action,
		hangupCause: strconv.Itoa(c.HangupCause),
		gotoTarget:  c.Goto,
		onError:     c.OnError,
		timeout:     c.Timeout,
		rules: number.Rules{
			CountryCode:        c.Number.CountryCode,
			AreaCode:           c.Number.AreaCode,
			StripPrefixes:      c.Number.StripPrefixes,
			ExtensionMaxLength: c.Number.ExtensionMaxLength,
		},
	}
	if c.ID != "" && blacklist.ValidName("campaign id", c.ID) == nil {
		p.lists = append(p.lists, blacklist.CampaignList(g.keys, c.ID))
		p.reasons = append(p.reasons, "")
	}
	for _, name := range c.Lists {
		l := blacklist.SharedList(g.keys, name)
		l.Layout = g.cfg.Lists[name].Layout
		p.lists = append(p.lists, l)
		p.reasons = append(p.reasons, g.cfg.Lists[name].Reason)
	}
	return p
}

// lookup returns the plan for a campaign id: its file's, or the defaults
// (which still include the campaign's own list when the id is valid, and
// every list that applies to all campaigns).
func (g *Guard) lookup(id string) *plan {
	if p, ok := (*g.plans.Load())[id]; ok {
		return p
	}
	if id == "" || blacklist.ValidName("campaign id", id) != nil {
		return g.defaults
	}
	return g.compile(g.cfg.DefaultCampaign(id), false)
}

// Check decides whether dialed may be called for campaign. It never returns
// an error: failures are an ERROR verdict with Err set, and Block follows the
// campaign's on_error.
func (g *Guard) Check(ctx context.Context, campaign, dialed string) Verdict {
	p := g.lookup(campaign)
	return g.check(ctx, p, campaign, dialed)
}

func (g *Guard) check(ctx context.Context, p *plan, campaign, dialed string) Verdict {
	v := Verdict{Campaign: campaign, Known: p.known, Dialed: dialed}
	n, err := p.rules.Normalize(dialed)
	if err != nil {
		return p.failed(v, err)
	}
	v.Number = n
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	m, blocked, err := g.checker.Check(ctx, n.Canonical, p.lists)
	cancel()
	if err != nil {
		return p.failed(v, fmt.Errorf("redis check of %q: %w", n.Canonical, err))
	}
	if !blocked {
		v.Status = StatusAllowed
		return v
	}
	v.Status, v.Block = StatusBlocked, true
	v.List, v.Entry, v.Meta = m.List.Name, m.Entry, m.Meta
	v.Reason = m.Meta.Reason
	for i := 0; v.Reason == "" && i < len(p.lists); i++ {
		if p.lists[i].Key == m.List.Key {
			v.Reason = p.reasons[i]
			break
		}
	}
	return v
}

// failed turns an error into an ERROR verdict under the campaign's on_error.
func (p *plan) failed(v Verdict, err error) Verdict {
	v.Status, v.Err = StatusError, err
	v.Block = p.onError != config.OnErrorAllow
	return v
}

// Observation is what the guard saw of one call's check.
type Observation struct {
	Verdict  Verdict       // the verdict (Campaign as the dialplan gave it)
	Known    bool          // the campaign has a file
	Took     time.Duration // normalization and the Redis round trip
	UniqueID string        // the call's agi_uniqueid
	Channel  string        // the call's agi_channel
}

// An Observer receives one Observation per checked call, after the verdict
// was sent to Asterisk, on the session's goroutine: it must not block (queue
// the work and return).
type Observer interface {
	ObserveCheck(Observation)
}

// SetObservers replaces the observers of checks.
func (g *Guard) SetObservers(observers ...Observer) {
	g.observers.Store(&observers)
}

// ServeAGI answers one FastAGI session: the dialplan's
// AGI(agi://host:4573/blacklist?campaign=<id>[&number=<n>]).
func (g *Guard) ServeAGI(ctx context.Context, s *agi.Session) error {
	req := s.Request()
	campaign := req.Query.Get("campaign")
	dialed := req.Query.Get("number")
	if dialed == "" {
		dialed = s.Env().Get("agi_extension")
	}
	p := g.lookup(campaign)
	if !p.known {
		g.logger.Warn("unknown or missing campaign: checking the default lists",
			"campaign", campaign, "uniqueid", s.Env().Get("agi_uniqueid"))
	}
	start := time.Now()
	v := g.check(ctx, p, campaign, dialed)
	took := time.Since(start)
	err := g.answer(ctx, s, p, campaign, dialed, v)
	// Observers (statistics, metrics) run after the verdict is sent and the
	// action run: they never make a call slower.
	if obs := g.observers.Load(); obs != nil {
		o := Observation{Verdict: v, Known: p.known, Took: took,
			UniqueID: s.Env().Get("agi_uniqueid"), Channel: s.Env().Get("agi_channel")}
		for _, ob := range *obs {
			ob.ObserveCheck(o)
		}
	}
	return err
}

// answer sets the verdict on the channel and runs the campaign's action.
func (g *Guard) answer(ctx context.Context, s *agi.Session, p *plan, campaign, dialed string, v Verdict) error {
	switch v.Status {
	case StatusAllowed:
		return s.SetVariable(ctx, VarStatus, string(StatusAllowed))
	case StatusBlocked:
		g.logger.Info("call blocked",
			"campaign", campaign, "number", v.Number.Canonical, "dialed", dialed,
			"list", v.List, "entry", v.Entry, "reason", v.Reason,
			"uniqueid", s.Env().Get("agi_uniqueid"), "channel", s.Env().Get("agi_channel"))
		if err := setVariables(ctx, s,
			VarStatus, string(StatusBlocked),
			VarList, v.List,
			VarMatch, v.Entry,
			// The reason is free text from the list: it must not keep
			// the command that sets it, and so the hangup, from being sent.
			VarReason, channelText(v.Reason),
		); err != nil {
			return err
		}
	default:
		onError := config.OnErrorAllow
		if v.Block {
			onError = config.OnErrorBlock
			g.logger.Warn("check failed: call blocked by on_error",
				"campaign", campaign, "dialed", dialed, "err", v.Err,
				"uniqueid", s.Env().Get("agi_uniqueid"), "channel", s.Env().Get("agi_channel"))
		} else {
			g.logger.Warn("check failed: call allowed by on_error",
				"campaign", campaign, "dialed", dialed, "err", v.Err,
				"uniqueid", s.Env().Get("agi_uniqueid"))
		}
		if err := setVariables(ctx, s,
			VarStatus, string(StatusError),
			VarError, errorCode(v.Err),
			VarOnError, onError,
		); err != nil {
			return err
		}
		if !v.Block {
			return nil
		}
	}
	return p.act(ctx, s)
}

// act runs the campaign's action for a call that must not go out.
func (p *plan) act(ctx context.Context, s *agi.Session) error {
	switch p.action {
	case config.ActionContinue:
		return nil
	case config.ActionGoto:
		_, err := s.Exec(ctx, "Goto", p.gotoTarget)
		return err
	default:
		_, err := s.Exec(ctx, "Hangup", p.hangupCause)
		return err
	}
}

// setVariables sets name/value pairs in order, skipping empty values.
func setVariables(ctx context.Context, s *agi.Session, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		if err := s.SetVariable(ctx, pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// channelText returns stored text fit for one AGI command: CR, LF and NUL
// become spaces, and text longer than MaxVariableBytes is cut there, at a
// character boundary.
func channelText(s string) string {
	if len(s) > MaxVariableBytes {
		// Back to the start of the character cut in two (three bytes
		// back at most: a longer run is not UTF-8, and is cut anywhere).
		n := MaxVariableBytes
		for i := 1; i < utf8.UTFMax && !utf8.RuneStart(s[n]); i++ {
			n--
		}
		s = s[:n]
	}
	if !strings.ContainsAny(s, "\r\n\x00") {
		return s
	}
	// Byte by byte: the rest of the text, valid UTF-8 or not, is kept.
	b := []byte(s)
	for i, c := range b {
		if c == '\r' || c == '\n' || c == 0 {
			b[i] = ' '
		}
	}
	return string(b)
}

// errorCode is the short, stable value of BLACKLIST_ERROR: a dialplan can
// branch on it, and it never carries raw input into the channel.
func errorCode(err error) string {
	var timeout net.Error
	switch {
	case errors.Is(err, number.ErrInvalid), errors.Is(err, blacklist.ErrInvalidEntry), errors.Is(err, blacklist.ErrCompactLayout):
		return "INVALID_NUMBER"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		return "TIMEOUT"
	default:
		return "REDIS"
	}
}

// View is a verdict as people and scripts read it: `check --json` prints it
// and the admin API returns it.
type View struct {
	Error    string          `json:"error,omitempty"`
	Campaign string          `json:"campaign"`
	Known    bool            `json:"known_campaign"`
	Dialed   string          `json:"dialed"`
	Number   string          `json:"number,omitempty"`
	Kind     string          `json:"kind,omitempty"`
	Status   string          `json:"status"`
	List     string          `json:"list,omitempty"`
	Entry    string          `json:"entry,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Meta     *blacklist.Meta `json:"meta,omitempty"`
	Block    bool            `json:"block"`
}

// View returns the verdict's View.
func (v Verdict) View() View {
	out := View{
		Campaign: v.Campaign, Known: v.Known, Dialed: v.Dialed, Number: v.Number.Canonical,
		Status: string(v.Status), List: v.List, Entry: v.Entry, Reason: v.Reason, Block: v.Block,
	}
	if v.Number.Canonical != "" {
		out.Kind = v.Number.Kind.String()
	}
	if v.Meta != (blacklist.Meta{}) {
		out.Meta = &v.Meta
	}
	if v.Err != nil {
		out.Error = v.Err.Error()
	}
	return out
}
