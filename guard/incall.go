package guard

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blacklist-agi/blacklist-agi/agi"
	"github.com/blacklist-agi/blacklist-agi/blacklist"
)

// Variables the in-call endpoints set.
const (
	// VarReport is what a report did: COUNTED, ADDED, RESET, IGNORED or ERROR.
	VarReport = "BLACKLIST_REPORT"
	// VarAttempts is how many unanswered attempts the number has in the
	// campaign's window after a report that counted one.
	VarAttempts = "BLACKLIST_ATTEMPTS"
	// VarDequeued is how many queued contacts an addition removed from the
	// dialer queues.
	VarDequeued = "BLACKLIST_DEQUEUED"
)

// Status values of the in-call endpoints.
const (
	StatusAdded   Status = "ADDED"
	StatusCounted Status = "COUNTED"
	StatusReset   Status = "RESET"
	StatusIgnored Status = "IGNORED"
)

// dialStatuses are the values Asterisk's Dial() leaves in DIALSTATUS.
var dialStatuses = []string{"ANSWER", "NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL", "CANCEL", "DONTCALL", "TORTURE", "INVALIDARGS"}

// addition is one number to add to a list during a call.
type addition struct {
	campaign, number string
	list             string // "" = the campaign's own list
	reason, source   string
	ttl              time.Duration
}

// add resolves the list and adds the number with the call's channel and
// uniqueid in its metadata, removing it from the dialer queues of the
// campaigns that use the list.
func (g *Guard) add(ctx context.Context, s *agi.Session, p *plan, a addition) (list string, dequeued int64, err error) {
	mgr := g.manager.Load()
	own := ""
	if a.list == "" {
		if a.campaign == "" {
			return "", 0, fmt.Errorf("no campaign= in the AGI URL and no shared list configured: nowhere to add %q", a.number)
		}
		own = a.campaign
	}
	t, err := mgr.Resolve(own, a.list)
	if err != nil {
		return "", 0, err
	}
	meta := blacklist.Meta{
		Reason:   a.reason,
		Source:   a.source,
		AddedBy:  "agi",
		Channel:  s.Env().Get("agi_channel"),
		UniqueID: s.Env().Get("agi_uniqueid"),
	}
	if a.ttl > 0 {
		meta.ExpiresAt = time.Now().Add(a.ttl)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	res, refused, err := mgr.Add(ctx, t, []string{a.number}, blacklist.AddOptions{Meta: meta})
	if err == nil && len(refused) > 0 {
		err = refused[0].Err
	}
	if err == nil && len(res.Refused) > 0 {
		err = res.Refused[0]
	}
	for _, n := range res.Dequeued {
		dequeued += n
	}
	return t.List.Name, dequeued, err
}

// params reads campaign= and number= (default agi_extension) of an in-call
// endpoint.
func params(s *agi.Session) (campaign, number string) {
	q := s.Request().Query
	campaign, number = q.Get("campaign"), q.Get("number")
	if number == "" {
		number = s.Env().Get("agi_extension")
	}
	return campaign, number
}

// ServeOptOut adds the number to the campaign's opt-out list: the person
// asked not to be called, or revoked consent.
//
//	AGI(agi://HOST:4573/optout?campaign=<id>&number=<n>[&reason=consent-revoked])
//
// It sets BLACKLIST_STATUS to ADDED (also when the number was already there:
// the same call twice changes nothing) or ERROR.
func (g *Guard) ServeOptOut(ctx context.Context, s *agi.Session) error {
	campaign, number := params(s)
	p := g.lookup(campaign)
	rule := p.campaign.OptOut
	reason := rule.Reason
	if r := s.Request().Query.Get("reason"); r != "" {
		if err := blacklist.ValidName("reason", r); err != nil {
			return g.addFailed(ctx, s, "optout", campaign, number, err)
		}
		reason = r
	}
	return g.serveAddition(ctx, s, p, "optout", addition{
		campaign: campaign, number: number, list: rule.List, reason: reason, source: "agi:optout", ttl: rule.TTL,
	})
}

// ServeSpam adds the number to the campaign's spam list: an agent's
// disposition.
//
//	AGI(agi://HOST:4573/spam?campaign=<id>&number=<n>)
func (g *Guard) ServeSpam(ctx context.Context, s *agi.Session) error {
	campaign, number := params(s)
	p := g.lookup(campaign)
	rule := p.campaign.Spam
	return g.serveAddition(ctx, s, p, "spam", addition{
		campaign: campaign, number: number, list: rule.List, reason: blacklist.ReasonSpam, source: "agi:spam", ttl: rule.TTL,
	})
}

func (g *Guard) serveAddition(ctx context.Context, s *agi.Session, p *plan, endpoint string, a addition) error {
	list, dequeued, err := g.add(ctx, s, p, a)
	if err != nil {
		return g.addFailed(ctx, s, endpoint, a.campaign, a.number, err)
	}
	g.logger.Info("number added during a call", "endpoint", endpoint, "campaign", a.campaign,
		"number", a.number, "list", list, "reason", a.reason, "dequeued", dequeued,
		"uniqueid", s.Env().Get("agi_uniqueid"), "channel", s.Env().Get("agi_channel"))
	return setVariables(ctx, s,
		VarStatus, string(StatusAdded),
		VarList, list,
		VarDequeued, strconv.FormatInt(dequeued, 10),
	)
}

func (g *Guard) addFailed(ctx context.Context, s *agi.Session, endpoint, campaign, number string, err error) error {
	g.logger.Warn("in-call addition failed", "endpoint", endpoint, "campaign", campaign, "number", number,
		"err", err, "uniqueid", s.Env().Get("agi_uniqueid"))
	return setVariables(ctx, s, VarStatus, string(StatusError), VarError, errorCode(err))
}

// ServeReport takes the outcome of an outbound call, from its hangup
// handler, and applies the campaign's rules:
//
//	AGI(agi://HOST:4573/report?campaign=<id>&number=<n>&status=${DIALSTATUS}&cause=${HANGUPCAUSE})
//
// An answered call resets the number's count of unanswered attempts; an
// attempt whose status the no_answer rule counts adds one, and the number
// goes to the rule's list (with its expiry) once it reaches the rule's
// attempts within the window; a call that failed with one of the invalid
// rule's hangup causes adds the number to that rule's list. It sets
// BLACKLIST_REPORT to COUNTED (and BLACKLIST_ATTEMPTS), ADDED, RESET,
// IGNORED (nothing applies, or a bad campaign id, status or number: logged,
// no list changes) or ERROR (Redis).
func (g *Guard) ServeReport(ctx context.Context, s *agi.Session) error {
	campaign, dialed := params(s)
	q := s.Request().Query
	status := strings.ToUpper(strings.TrimSpace(q.Get("status")))
	p := g.lookup(campaign)
	ignore := func(why string, args ...any) error {
		g.logger.Warn("report ignored: "+why, append(args, "campaign", campaign, "number", dialed,
			"status", q.Get("status"), "uniqueid", s.Env().Get("agi_uniqueid"))...)
		return s.SetVariable(ctx, VarReport, string(StatusIgnored))
	}
	if campaign != "" {
		// The campaign id names the key of the attempts counter.
		if err := blacklist.ValidName("campaign id", campaign); err != nil {
			return ignore("campaign= is not a valid campaign id", "err", err)
		}
	}
	if !slices.Contains(dialStatuses, status) {
		return ignore("status= is not a DIALSTATUS value", "allowed", strings.Join(dialStatuses, ","))
	}
	var cause int
	if c := q.Get("cause"); c != "" {
		var err error
		if cause, err = strconv.Atoi(c); err != nil || cause < 0 || cause > 127 {
			return ignore("cause= is not a Q.850 cause (0-127)")
		}
	}
	n, err := p.rules.Normalize(dialed)
	if err != nil {
		return ignore("number is not a number", "err", err)
	}
	c := p.campaign
	key := g.keys.Attempts(campaign, n.Canonical)
	// Redis gets the campaign's time budget; the AGI replies keep the
	// session's, so that a slow Redis still ends in BLACKLIST_REPORT=ERROR.
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	switch {
	case status == "ANSWER":
		if !c.NoAnswer.Enabled {
			return s.SetVariable(ctx, VarReport, string(StatusIgnored))
		}
		if err := g.store.ResetAttempts(rctx, key); err != nil {
			return g.reportFailed(ctx, s, campaign, dialed, err)
		}
		return s.SetVariable(ctx, VarReport, string(StatusReset))

	case c.Invalid.Enabled && c.Invalid.Matches(cause):
		list, dequeued, err := g.add(ctx, s, p, addition{campaign: campaign, number: n.Canonical, list: c.Invalid.List,
			reason: blacklist.ReasonInvalid, source: "agi:report", ttl: c.Invalid.TTL})
		if err != nil {
			return g.reportFailed(ctx, s, campaign, dialed, err)
		}
		g.logger.Info("number added during a call", "endpoint", "report", "rule", "invalid", "campaign", campaign,
			"number", n.Canonical, "list", list, "cause", cause, "dequeued", dequeued, "uniqueid", s.Env().Get("agi_uniqueid"))
		return setVariables(ctx, s, VarReport, string(StatusAdded), VarList, list)

	case c.NoAnswer.Enabled && c.NoAnswer.Counts(status):
		count, err := g.store.CountAttempt(rctx, key, s.Env().Get("agi_uniqueid"), c.NoAnswer.Window)
		if err != nil {
			return g.reportFailed(ctx, s, campaign, dialed, err)
		}
		if count < int64(c.NoAnswer.Attempts) {
			return setVariables(ctx, s, VarReport, string(StatusCounted), VarAttempts, strconv.FormatInt(count, 10))
		}
		list, dequeued, err := g.add(ctx, s, p, addition{campaign: campaign, number: n.Canonical, list: c.NoAnswer.List,
			reason: blacklist.ReasonNoAnswer, source: "agi:report", ttl: c.NoAnswer.TTL})
		if err != nil {
			return g.reportFailed(ctx, s, campaign, dialed, err)
		}
		if err := g.store.ResetAttempts(rctx, key); err != nil {
			g.logger.Warn("resetting the attempts after adding the number failed", "key", key, "err", err)
		}
		g.logger.Info("number added during a call", "endpoint", "report", "rule", "no_answer", "campaign", campaign,
			"number", n.Canonical, "list", list, "attempts", count, "dequeued", dequeued, "uniqueid", s.Env().Get("agi_uniqueid"))
		return setVariables(ctx, s, VarReport, string(StatusAdded), VarList, list, VarAttempts, strconv.FormatInt(count, 10))
	}
	return s.SetVariable(ctx, VarReport, string(StatusIgnored))
}

func (g *Guard) reportFailed(ctx context.Context, s *agi.Session, campaign, number string, err error) error {
	g.logger.Warn("report failed", "campaign", campaign, "number", number, "err", err, "uniqueid", s.Env().Get("agi_uniqueid"))
	return setVariables(ctx, s, VarReport, string(StatusError), VarError, errorCode(err))
}
