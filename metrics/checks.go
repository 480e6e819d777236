package metrics

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/blacklist-agi/blacklist-agi/guard"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// Values of the verdict label.
const (
	verdictAllowed = "allowed"
	verdictBlocked = "blocked"
	verdictError   = "error"
)

// checkLabels caches the children of checks_total for the configured
// campaigns and lists. It is rebuilt whole by SetCampaigns and SetLists and
// only read by ObserveCheck, apart from the blocked slots, which are filled
// on a campaign's first block by each list.
type checkLabels struct {
	campaigns map[string]*campaignCounters // by configured campaign id
	none      *campaignCounters            // no campaign given
	unknown   *campaignCounters            // a campaign not configured
	// lists gives the blocked slot of each configured shared list; slot
	// ownSlot is a configured campaign's own list and otherSlot any other.
	lists map[string]int
}

func (l *checkLabels) ownSlot() int   { return len(l.lists) }
func (l *checkLabels) otherSlot() int { return len(l.lists) + 1 }

// campaignCounters are one campaign label's children of checks_total.
type campaignCounters struct {
	label      string // the campaign label: a configured id, LabelNone or LabelUnknown
	configured bool   // label is a configured campaign id, whose own list is named label
	allowed    prometheus.Counter
	failed     prometheus.Counter
	// blocked holds the child of each list slot, created on the first
	// block: a series per campaign and list that never blocked anything
	// would only weigh on Prometheus.
	blocked []atomic.Pointer[counterRef]
}

type counterRef struct{ prometheus.Counter }

// SetCampaigns sets the campaign ids that have their own campaign label, the
// campaigns loaded from the configuration; other ids are counted as
// LabelUnknown. The series of campaigns no longer configured are removed.
func (m *Metrics) SetCampaigns(ids []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.campaignIDs
	m.campaignIDs = labelSet(ids)
	m.rebuildChecks()
	for _, id := range old {
		if !slices.Contains(m.campaignIDs, id) {
			m.checks.DeletePartialMatch(prometheus.Labels{"campaign": id})
		}
	}
}

// SetLists sets the shared list names that have their own list label, the
// lists declared in the configuration; blocks by other lists are counted as
// LabelOther, except a configured campaign's own list, which is labeled with
// the campaign id. The series of lists no longer configured are removed.
func (m *Metrics) SetLists(names []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.listNames
	m.listNames = labelSet(names)
	m.rebuildChecks()
	for _, name := range old {
		if slices.Contains(m.listNames, name) {
			continue
		}
		if !slices.Contains(m.campaignIDs, name) {
			m.checks.DeletePartialMatch(prometheus.Labels{"list": name})
			continue
		}
		// The campaign of that name still counts blocks by its own list.
		for _, campaign := range append([]string{LabelNone, LabelUnknown}, m.campaignIDs...) {
			if campaign != name {
				m.checks.DeleteLabelValues(campaign, name, verdictBlocked)
			}
		}
	}
}

// labelSet returns the distinct names usable as label values, sorted:
// names starting with "_" are reserved for the folded values (configured
// names start with a letter or a digit).
func labelSet(names []string) []string {
	set := make([]string, 0, len(names))
	for _, n := range names {
		if n != "" && n[0] != '_' {
			set = append(set, n)
		}
	}
	slices.Sort(set)
	return slices.Compact(set)
}

// rebuildChecks publishes new checkLabels for m.campaignIDs and m.listNames.
// m.mu is held (or m is not shared yet).
func (m *Metrics) rebuildChecks() {
	l := &checkLabels{
		campaigns: make(map[string]*campaignCounters, len(m.campaignIDs)),
		lists:     make(map[string]int, len(m.listNames)),
	}
	for i, name := range m.listNames {
		l.lists[name] = i
	}
	counters := func(label string, configured bool) *campaignCounters {
		return &campaignCounters{
			label:      label,
			configured: configured,
			allowed:    m.checks.WithLabelValues(label, "", verdictAllowed),
			failed:     m.checks.WithLabelValues(label, "", verdictError),
			blocked:    make([]atomic.Pointer[counterRef], l.otherSlot()+1),
		}
	}
	l.none = counters(LabelNone, false)
	l.unknown = counters(LabelUnknown, false)
	for _, id := range m.campaignIDs {
		l.campaigns[id] = counters(id, true)
	}
	m.checkLabels.Store(l)
}

// ObserveCheck counts one checked call: its verdict by campaign and list,
// its duration, and, on an ERROR verdict from Redis, the kind of error. It
// implements guard.Observer.
func (m *Metrics) ObserveCheck(o guard.Observation) {
	m.checkDuration.Observe(o.Took.Seconds())
	l := m.checkLabels.Load()
	c := l.campaign(o.Verdict.Campaign)
	switch o.Verdict.Status {
	case guard.StatusAllowed:
		c.allowed.Inc()
	case guard.StatusBlocked:
		m.blockedCounter(l, c, o.Verdict.List).Inc()
	default:
		c.failed.Inc()
		switch err := o.Verdict.Err; {
		case errors.Is(err, number.ErrInvalid):
			// The dialed string, not Redis.
		case isTimeout(err):
			m.redisTimeouts.Inc()
		default:
			m.redisOtherErrors.Inc()
		}
	}
}

// campaign returns the counters of the campaign id as the dialplan gave it.
func (l *checkLabels) campaign(id string) *campaignCounters {
	if c, ok := l.campaigns[id]; ok {
		return c
	}
	if id == "" {
		return l.none
	}
	return l.unknown
}

// blockedCounter returns the child of checks_total for a block of campaign c
// by the list named list, creating it on first use.
func (m *Metrics) blockedCounter(l *checkLabels, c *campaignCounters, list string) prometheus.Counter {
	slot, ok := l.lists[list]
	switch {
	case ok:
	case c.configured && list == c.label:
		slot = l.ownSlot()
	default:
		slot, list = l.otherSlot(), LabelOther
	}
	if ref := c.blocked[slot].Load(); ref != nil {
		return ref.Counter
	}
	// Concurrent first blocks get the same child from the vector. (A block
	// observed with labels of a moment ago, racing SetCampaigns, may bring
	// back the series of a campaign just removed: still a configured id.)
	ctr := m.checks.WithLabelValues(c.label, list, verdictBlocked)
	c.blocked[slot].Store(&counterRef{ctr})
	return ctr
}

// isTimeout reports whether err is a deadline: the check's own timeout or a
// network timeout talking to Redis.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

var _ guard.Observer = (*Metrics)(nil)
