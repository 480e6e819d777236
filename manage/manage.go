// Package manage is list management as people do it: it takes what a
// supervisor types (a campaign id or a list name, numbers in any shape),
// resolves it against the configuration (which key, which number rules,
// which dialer queues to clean) and runs the operation in package blacklist.
// The CLI and the HTTP API both sit on it, so that no operation is written
// twice.
package manage

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
	"github.com/blacklist-agi/blacklist-agi/config"
	"github.com/blacklist-agi/blacklist-agi/number"
)

// ErrUnknownList is matched by the error of a list name that the main file
// does not declare.
var ErrUnknownList = errors.New("unknown shared list")

// Manager runs list operations for one configuration.
type Manager struct {
	cfg       *config.Config
	campaigns map[string]*config.Campaign
	keys      blacklist.Keys
	store     *blacklist.Store
}

// New returns a Manager over the configuration, its campaigns and store.
func New(cfg *config.Config, campaigns map[string]*config.Campaign, store *blacklist.Store) *Manager {
	return &Manager{cfg: cfg, campaigns: campaigns, keys: blacklist.Keys{Prefix: cfg.KeyPrefix}, store: store}
}

// Store returns the store the manager writes to.
func (m *Manager) Store() *blacklist.Store { return m.store }

// Target is a list resolved for an operation.
type Target struct {
	List blacklist.List
	// Rules normalize what people type: the campaign's number rules for a
	// campaign list, the defaults for a shared list.
	Rules number.Rules
	// Queues are the dialer queues of every campaign that uses the list:
	// a number added to the list leaves them in the same operation.
	Queues []blacklist.Queue
	// Reason is the list's configured reason (shared lists), the default
	// reason of entries added without one.
	Reason string
}

// Resolve names the target of an operation: exactly one of campaign (its
// own list) and list (a shared list declared in the main file).
func (m *Manager) Resolve(campaign, list string) (Target, error) {
	switch {
	case campaign != "" && list != "":
		return Target{}, errors.New("give either a campaign or a list, not both")
	case campaign != "":
		if err := blacklist.ValidName("campaign id", campaign); err != nil {
			return Target{}, err
		}
		c := m.campaign(campaign)
		t := Target{List: blacklist.CampaignList(m.keys, campaign), Rules: rules(c.Number)}
		if q, ok := queue(c); ok {
			t.Queues = []blacklist.Queue{q}
		}
		return t, nil
	case list != "":
		sl, ok := m.cfg.Lists[list]
		if !ok {
			return Target{}, fmt.Errorf("list %q: %w: declare it under lists: in %s (known: %v)",
				list, ErrUnknownList, m.configName(), m.cfg.SharedListNames())
		}
		l := blacklist.SharedList(m.keys, list)
		l.Layout = sl.Layout
		t := Target{List: l, Rules: rules(m.cfg.Defaults.Number), Reason: sl.Reason}
		for _, c := range config.CampaignsUsing(list, m.campaigns) {
			if q, ok := queue(c); ok {
				t.Queues = append(t.Queues, q)
			}
		}
		return t, nil
	}
	return Target{}, errors.New("name a list: --campaign ID (the campaign's own list) or --list NAME (a shared list)")
}

func (m *Manager) configName() string {
	if m.cfg.File != "" {
		return m.cfg.File
	}
	return "the main config file"
}

// campaign returns the campaign's settings, or the defaults for a campaign
// with no file.
func (m *Manager) campaign(id string) *config.Campaign {
	if c, ok := m.campaigns[id]; ok {
		return c
	}
	return m.cfg.DefaultCampaign(id)
}

// CheckLists returns the lists a call for campaign is checked against, in
// order, as the server checks them, with the rules that normalize its numbers.
func (m *Manager) CheckLists(campaign string) ([]blacklist.List, number.Rules) {
	c := m.campaign(campaign)
	var lists []blacklist.List
	if campaign != "" && blacklist.ValidName("campaign id", campaign) == nil {
		lists = append(lists, blacklist.CampaignList(m.keys, campaign))
	}
	for _, name := range c.Lists {
		l := blacklist.SharedList(m.keys, name)
		l.Layout = m.cfg.Lists[name].Layout
		lists = append(lists, l)
	}
	return lists, rules(c.Number)
}

// UsedBy returns the ids of the campaigns whose calls are checked against
// the shared list name.
func (m *Manager) UsedBy(name string) []string {
	var ids []string
	for _, c := range config.CampaignsUsing(name, m.campaigns) {
		ids = append(ids, c.ID)
	}
	return ids
}

// DeclaredLists returns every shared list of the main file and the own list
// of every campaign with a file.
func (m *Manager) DeclaredLists() []blacklist.List {
	var lists []blacklist.List
	for _, name := range m.cfg.SharedListNames() {
		l := blacklist.SharedList(m.keys, name)
		l.Layout = m.cfg.Lists[name].Layout
		lists = append(lists, l)
	}
	ids := make([]string, 0, len(m.campaigns))
	for id := range m.campaigns {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		lists = append(lists, blacklist.CampaignList(m.keys, id))
	}
	return lists
}

func rules(n config.NumberRules) number.Rules {
	return number.Rules{
		CountryCode:        n.CountryCode,
		AreaCode:           n.AreaCode,
		StripPrefixes:      n.StripPrefixes,
		ExtensionMaxLength: n.ExtensionMaxLength,
	}
}

func queue(c *config.Campaign) (blacklist.Queue, bool) {
	if c.ContactsKey == "" {
		return blacklist.Queue{}, false
	}
	return blacklist.Queue{
		Campaign:    c.ID,
		Key:         c.ContactsKey,
		Type:        c.ContactsType,
		Format:      c.ContactsFormat,
		CountryCode: c.Number.CountryCode,
	}, true
}

// Refusal is an input that was not taken, and why.
type Refusal struct {
	Input  string
	Reason string
	Err    error // the error behind Reason (errors.Is number.ErrInvalid, ...)
}

// Normalized is what people typed, turned into list members.
type Normalized struct {
	Members []string
	// Inputs maps each member back to what was typed first for it.
	Inputs  map[string]string
	Refused []Refusal
}

// Normalize turns typed entries into members with the target's rules.
// Garbage is refused, naming the entry and why; duplicates are dropped. A
// prefix entry (digits ending in "*"; spaces, dashes, dots, parentheses and
// a leading "+" are ignored) is kept as its digits and "*": a prefix is not
// a whole number, so it is typed in canonical digits, country code first
// ("55900*").
func (t Target) Normalize(inputs []string) Normalized {
	out := Normalized{Inputs: make(map[string]string, len(inputs))}
	for _, in := range inputs {
		member, err := t.member(in)
		if err != nil {
			out.Refused = append(out.Refused, Refusal{Input: in, Reason: err.Error(), Err: err})
			continue
		}
		if _, dup := out.Inputs[member]; dup {
			continue
		}
		out.Inputs[member] = in
		out.Members = append(out.Members, member)
	}
	return out
}

func (t Target) member(in string) (string, error) {
	if p, ok := blacklist.PrefixEntry(in); ok {
		if t.List.Layout == blacklist.LayoutCompact {
			return "", fmt.Errorf("list %s is compact: %w: it holds whole numbers only, not prefix entries", t.List.Name, blacklist.ErrCompactLayout)
		}
		return p, nil
	}
	n, err := t.Rules.Normalize(in)
	if err != nil {
		return "", err
	}
	if n.Kind == number.Extension && t.List.Layout == blacklist.LayoutCompact {
		return "", fmt.Errorf("list %s is compact: %w: it holds whole numbers only, not extensions", t.List.Name, blacklist.ErrCompactLayout)
	}
	return n.Canonical, nil
}

// Add normalizes inputs with the target's rules and adds them, removing
// them from the dialer queues of the campaigns that use the list.
func (m *Manager) Add(ctx context.Context, t Target, inputs []string, opt blacklist.AddOptions) (blacklist.AddResult, []Refusal, error) {
	n := t.Normalize(inputs)
	if opt.Meta.Reason == "" {
		opt.Meta.Reason = t.Reason
	}
	if opt.Queues == nil {
		opt.Queues = t.Queues
	}
	if len(n.Members) == 0 {
		return blacklist.AddResult{}, n.Refused, nil
	}
	res, err := m.store.Add(ctx, t.List, n.Members, opt)
	return res, n.Refused, err
}

// Remove normalizes inputs with the target's rules and removes them.
func (m *Manager) Remove(ctx context.Context, t Target, inputs []string, opt blacklist.RemoveOptions) (blacklist.RemoveResult, []Refusal, error) {
	n := t.Normalize(inputs)
	if len(n.Members) == 0 {
		return blacklist.RemoveResult{}, n.Refused, nil
	}
	res, err := m.store.Remove(ctx, t.List, n.Members, opt)
	return res, n.Refused, err
}
