package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Campaign is one campaign fully resolved: its file's settings merged over
// the main file's defaults. Campaigns are shared between goroutines and
// between the maps CampaignLoader.Load returns; do not modify them.
type Campaign struct {
	// ID names the campaign: the file name without extension.
	ID          string
	Description string
	// File is the campaign file, "" for DefaultCampaign.
	File string
	// Lists are the effective shared lists, in order: the campaign's (or
	// the defaults'), then every all_campaigns list not already named
	// (sorted by name); no duplicates.
	Lists       []string
	Action      string
	HangupCause int
	// Goto is the goto setting as written; GotoTarget is it parsed (zero
	// when Goto is "").
	Goto       string
	GotoTarget GotoTarget
	OnError    string
	Timeout    time.Duration
	Number     NumberRules
	// OptOut, Spam, NoAnswer and Invalid are the in-call blacklisting
	// rules. A rule's List "" means the campaign's own list.
	OptOut   OptOutRule
	Spam     SpamRule
	NoAnswer NoAnswerRule
	Invalid  InvalidRule
	// ContactsKey is the Redis key, verbatim, of the dialer's queue of
	// numbers to call for this campaign; a number added to a list the
	// campaign uses is removed from it. "" when the campaign has no queue
	// (always so for DefaultCampaign).
	ContactsKey string
	// ContactsType is the Redis type of ContactsKey: ContactsList,
	// ContactsSet or ContactsZSet; "" when ContactsKey is "".
	ContactsType string
	// ContactsFormat is how the queue writes numbers: FormatCanonical,
	// FormatE164 or FormatNational; "" when ContactsKey is "".
	ContactsFormat string
}

// Redis types of a campaign's contacts_key.
const (
	ContactsList = "list" // a LIST (LREM)
	ContactsSet  = "set"  // a SET (SREM)
	ContactsZSet = "zset" // a sorted set (ZREM)
)

// Number formats of a campaign's contacts_key, shown for the Brazilian
// mobile number 5511987654321.
const (
	FormatCanonical = "canonical" // 5511987654321: country code and national number, digits only
	FormatE164      = "e164"      // +5511987654321
	FormatNational  = "national"  // 11987654321: without the country code
)

// campaignFile is what a campaign file may contain; nil means "not set".
type campaignFile struct {
	ID          *string        `mapstructure:"id"`
	Description *string        `mapstructure:"description"`
	Lists       *[]string      `mapstructure:"lists"`
	Action      *string        `mapstructure:"action"`
	HangupCause *int           `mapstructure:"hangup_cause"`
	Goto        *string        `mapstructure:"goto"`
	OnError     *string        `mapstructure:"on_error"`
	Timeout     *time.Duration `mapstructure:"timeout"`
	Number      *numberFile    `mapstructure:"number"`
	OptOut      *optOutFile    `mapstructure:"optout"`
	Spam        *spamFile      `mapstructure:"spam"`
	NoAnswer    *noAnswerFile  `mapstructure:"no_answer"`
	Invalid     *invalidFile   `mapstructure:"invalid"`
	// The dialer's queue: per campaign only, never in defaults:.
	ContactsKey    *string `mapstructure:"contacts_key"`
	ContactsType   *string `mapstructure:"contacts_type"`
	ContactsFormat *string `mapstructure:"contacts_format"`
}

type numberFile struct {
	CountryCode        *string   `mapstructure:"country_code"`
	AreaCode           *string   `mapstructure:"area_code"`
	StripPrefixes      *[]string `mapstructure:"strip_prefixes"`
	ExtensionMaxLength *int      `mapstructure:"extension_max_length"`
}

type optOutFile struct {
	List   *string        `mapstructure:"list"`
	Reason *string        `mapstructure:"reason"`
	TTL    *time.Duration `mapstructure:"ttl"`
}

type spamFile struct {
	List *string        `mapstructure:"list"`
	TTL  *time.Duration `mapstructure:"ttl"`
}

type noAnswerFile struct {
	Enabled  *bool          `mapstructure:"enabled"`
	Attempts *int           `mapstructure:"attempts"`
	Window   *time.Duration `mapstructure:"window"`
	Statuses *[]string      `mapstructure:"statuses"`
	List     *string        `mapstructure:"list"`
	TTL      *time.Duration `mapstructure:"ttl"`
}

type invalidFile struct {
	Enabled *bool          `mapstructure:"enabled"`
	Causes  *[]int         `mapstructure:"causes"`
	List    *string        `mapstructure:"list"`
	TTL     *time.Duration `mapstructure:"ttl"`
}

// mergeRules sets in s the rule fields that campaign file f gives.
func mergeRules(s *CampaignSettings, f *campaignFile) {
	if r := f.OptOut; r != nil {
		set(&s.OptOut.List, r.List)
		set(&s.OptOut.Reason, r.Reason)
		set(&s.OptOut.TTL, r.TTL)
	}
	if r := f.Spam; r != nil {
		set(&s.Spam.List, r.List)
		set(&s.Spam.TTL, r.TTL)
	}
	if r := f.NoAnswer; r != nil {
		set(&s.NoAnswer.Enabled, r.Enabled)
		set(&s.NoAnswer.Attempts, r.Attempts)
		set(&s.NoAnswer.Window, r.Window)
		set(&s.NoAnswer.Statuses, r.Statuses)
		set(&s.NoAnswer.List, r.List)
		set(&s.NoAnswer.TTL, r.TTL)
	}
	if r := f.Invalid; r != nil {
		set(&s.Invalid.Enabled, r.Enabled)
		set(&s.Invalid.Causes, r.Causes)
		set(&s.Invalid.List, r.List)
		set(&s.Invalid.TTL, r.TTL)
	}
}

// DefaultCampaign returns the settings for a campaign that has no file
// (unknown or missing): the defaults plus the all_campaigns lists, with the
// ID as given. It builds a new Campaign on each call; callers on a hot path
// should build it once per configuration and share it (set the ID
// themselves if they need it).
func (c *Config) DefaultCampaign(id string) *Campaign {
	return c.resolve(id, "", "", c.Defaults)
}

// resolve builds a Campaign from settings s.
func (c *Config) resolve(id, description, file string, s CampaignSettings) *Campaign {
	camp := &Campaign{
		ID:          id,
		Description: description,
		File:        file,
		Lists:       c.effectiveLists(s.Lists),
		Action:      s.Action,
		HangupCause: s.HangupCause,
		Goto:        s.Goto,
		OnError:     s.OnError,
		Timeout:     s.Timeout,
		Number:      s.Number,
		OptOut:      s.OptOut,
		Spam:        s.Spam,
		NoAnswer:    s.NoAnswer,
		Invalid:     s.Invalid,
	}
	camp.Number.StripPrefixes = slices.Clone(s.Number.StripPrefixes)
	if camp.Number.StripPrefixes == nil {
		camp.Number.StripPrefixes = []string{}
	}
	camp.NoAnswer.Statuses = slices.Clone(s.NoAnswer.Statuses)
	camp.Invalid.Causes = slices.Clone(s.Invalid.Causes)
	if s.Goto != "" {
		camp.GotoTarget, _ = parseGoto(s.Goto)
	}
	return camp
}

// effectiveLists returns own without duplicates, followed by every
// all_campaigns list not in own, sorted by name.
func (c *Config) effectiveLists(own []string) []string {
	out := make([]string, 0, len(own)+len(c.Lists))
	for _, name := range own {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, name := range c.SharedListNames() {
		if c.Lists[name].AllCampaigns && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// campaignExts are the file name extensions of campaign files.
var campaignExts = []string{".yaml", ".yml"}

// campaignID returns the campaign id for file name (base name), and whether
// the file is a campaign file at all: hidden files and other extensions are
// not.
func campaignID(name string) (string, bool) {
	if strings.HasPrefix(name, ".") {
		return "", false
	}
	for _, ext := range campaignExts {
		if id, ok := strings.CutSuffix(name, ext); ok {
			return id, true
		}
	}
	return "", false
}

// LoadCampaignFile reads one campaign file and returns it merged over c's
// defaults and validated. The campaign id is the file name without its
// .yaml or .yml extension; an id: key, if present, must equal it. Errors are
// *Error values naming path, the key and what is wrong.
func LoadCampaignFile(c *Config, path string) (*Campaign, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	doc := newDocument(path)
	tree := doc.parse(data, reflect.TypeFor[campaignFile]())
	if tree == nil {
		return nil, doc.err()
	}
	var f campaignFile
	if err := decode(tree, &f); err != nil {
		return nil, doc.decodeErrors(err)
	}

	base := filepath.Base(path)
	id, ok := campaignID(base)
	if !ok {
		id = base
	}
	if !ValidName(id) {
		doc.add("", "", fmt.Sprintf("file name gives campaign id %q, but a %s", id, nameRule("campaign id")), ErrInvalidValue)
	}
	if f.ID != nil && *f.ID != id {
		doc.invalid("id", *f.ID, fmt.Sprintf("must equal the file name without extension (%q) or be left out", id))
	}

	s := c.Defaults
	set(&s.Lists, f.Lists)
	set(&s.Action, f.Action)
	set(&s.HangupCause, f.HangupCause)
	set(&s.Goto, f.Goto)
	set(&s.OnError, f.OnError)
	set(&s.Timeout, f.Timeout)
	if n := f.Number; n != nil {
		set(&s.Number.CountryCode, n.CountryCode)
		set(&s.Number.AreaCode, n.AreaCode)
		set(&s.Number.StripPrefixes, n.StripPrefixes)
		set(&s.Number.ExtensionMaxLength, n.ExtensionMaxLength)
	}
	mergeRules(&s, &f)
	c.validateSettings(&doc.problems, "", s)
	contactsKey, contactsType, contactsFormat := c.contacts(&doc.problems, &f)
	if err := doc.annotate(doc.err()); err != nil {
		return nil, err
	}
	var description string
	set(&description, f.Description)
	camp := c.resolve(id, description, path, s)
	camp.ContactsKey, camp.ContactsType, camp.ContactsFormat = contactsKey, contactsType, contactsFormat
	return camp, nil
}

// contacts resolves and checks the dialer queue settings of campaign file
// f: contacts_type and contacts_format default to ContactsSet and
// FormatCanonical, and need contacts_key.
func (c *Config) contacts(p *problems, f *campaignFile) (key, typ, format string) {
	if f.ContactsKey == nil {
		if f.ContactsType != nil {
			p.invalid("contacts_type", *f.ContactsType, "needs contacts_key, the Redis key of the dialer's queue")
		}
		if f.ContactsFormat != nil {
			p.invalid("contacts_format", *f.ContactsFormat, "needs contacts_key, the Redis key of the dialer's queue")
		}
		return "", "", ""
	}
	key, typ, format = *f.ContactsKey, ContactsSet, FormatCanonical
	set(&typ, f.ContactsType)
	set(&format, f.ContactsFormat)
	c.validateContacts(p, key, typ, format)
	return key, typ, format
}

// validateContacts checks a campaign's queue settings when it has a queue.
func (c *Config) validateContacts(p *problems, key, typ, format string) {
	if problem := c.contactsKeyProblem(key); problem != "" {
		p.invalid("contacts_key", key, problem)
	}
	oneOf(p, "contacts_type", typ, ContactsList, ContactsSet, ContactsZSet)
	oneOf(p, "contacts_format", format, FormatCanonical, FormatE164, FormatNational)
}

// contactsKeyProblem says what is wrong with key as a contacts_key, "" if
// nothing.
func (c *Config) contactsKeyProblem(key string) string {
	switch {
	case key == "":
		return "must not be empty; leave contacts_key out when the campaign has no queue in Redis"
	case len(key) > MaxContactsKeyLen:
		return fmt.Sprintf("must be at most %d bytes, not %d", MaxContactsKeyLen, len(key))
	case !utf8.ValidString(key):
		return "must be valid UTF-8"
	case strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "must not contain spaces or control characters"
	case c.KeyPrefix != "" && strings.HasPrefix(key, c.KeyPrefix):
		return fmt.Sprintf("must not start with key_prefix %q: numbers are removed from this key, and the blacklists live under that prefix", c.KeyPrefix)
	}
	return ""
}

// CampaignsUsing returns the campaigns whose effective Lists contain the
// shared list called list, sorted by ID. Nil entries are skipped.
func CampaignsUsing(list string, campaigns map[string]*Campaign) []*Campaign {
	var out []*Campaign
	for _, camp := range campaigns {
		if camp != nil && slices.Contains(camp.Lists, list) {
			out = append(out, camp)
		}
	}
	slices.SortFunc(out, func(a, b *Campaign) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// set stores *v in dst when the file set it.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// CampaignLoader reads the campaigns folder and remembers the last good
// version of each campaign. It is safe for concurrent use.
type CampaignLoader struct {
	cfg  *Config
	mu   sync.Mutex
	good map[string]*Campaign // the last set returned
}

// NewCampaignLoader returns a loader for c.CampaignsDir that resolves
// campaigns against c.
func NewCampaignLoader(c *Config) *CampaignLoader {
	return &CampaignLoader{cfg: c, good: map[string]*Campaign{}}
}

// Load reads every campaign file (<id>.yaml or <id>.yml; hidden files,
// folders and other names are ignored). A file that fails (unreadable, bad
// YAML, unknown key, bad value, undeclared list) is reported in the joined
// error and the last good version of its campaign, if any, is kept in the
// returned set; a removed file removes its campaign. When the folder itself
// cannot be read, the previous set is returned with the error (which
// matches fs.ErrNotExist if the folder is missing). The returned map is new
// each call and never modified afterwards.
func (l *CampaignLoader) Load() (map[string]*Campaign, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	dir := l.cfg.CampaignsDir
	entries, err := os.ReadDir(dir)
	if err != nil {
		return maps.Clone(l.good), fmt.Errorf("campaigns folder: %w", err)
	}
	files := make(map[string][]string) // id -> file names
	for _, e := range entries {
		id, ok := campaignID(e.Name())
		if !ok {
			continue
		}
		if e.Type()&os.ModeSymlink != 0 {
			// Kubernetes ConfigMap volumes hold symlinks; look at the target.
			st, err := os.Stat(filepath.Join(dir, e.Name()))
			if err == nil && st.IsDir() {
				continue
			}
		} else if e.IsDir() {
			continue
		}
		files[id] = append(files[id], e.Name())
	}

	next := make(map[string]*Campaign, len(files))
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(files)) {
		names := files[id]
		var err error
		var camp *Campaign
		if len(names) > 1 {
			err = &Error{File: filepath.Join(dir, names[0]), Msg: fmt.Sprintf("campaign %q is also defined by %s; remove one of them", id, names[1]), Err: ErrDuplicateCampaign}
		} else {
			camp, err = LoadCampaignFile(l.cfg, filepath.Join(dir, names[0]))
		}
		if err != nil {
			errs = append(errs, err)
			camp = l.good[id]
		}
		if camp != nil {
			next[id] = camp
		}
	}
	l.good = next
	return next, errors.Join(errs...)
}
