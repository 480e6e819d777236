package blacklist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Companion keys. Every key that belongs to one list starts with the list's
// key, so it carries the same Cluster hash tag:
//
//	<list>            SET     the members (plain layout): what redis-cli edits
//	<list>:meta       HASH    member -> Meta as JSON (optional, per entry)
//	<list>:exp        ZSET    member -> expiry as Unix seconds (only expiring entries)
//	<list>:audit      STREAM  one record per add, remove, import (AuditRecord)
//	<list>:version    STRING  compact layout: the live version
//	<list>:v<ver>:<bucket>  SET (intset) compact layout: the last 4 digits of
//	                  each number whose other digits are <bucket>
//	<list>:v<ver>:count     STRING compact layout: how many numbers version ver holds
//	<list>:staging:<id>     a list being built by an import --replace
//
// The events channel, <prefix>events, carries one Event per change.

// MetaKey returns the key of a list's metadata hash.
func MetaKey(list string) string { return list + ":meta" }

// ExpiryKey returns the key of a list's expiry index.
func ExpiryKey(list string) string { return list + ":exp" }

// AuditKey returns the key of a list's audit stream.
func AuditKey(list string) string { return list + ":audit" }

// VersionKey returns the key that names the live version of a compact list.
func VersionKey(list string) string { return list + ":version" }

// BucketKey returns the key of one bucket of version ver of a compact list.
func BucketKey(list, ver, bucket string) string { return list + ":v" + ver + ":" + bucket }

// CompactCountKey returns the key that counts the numbers in version ver of
// a compact list (a compact list's size cannot be had from one SCARD).
func CompactCountKey(list, ver string) string { return list + ":v" + ver + ":count" }

// StagingKey returns the key under which an import builds a replacement of
// a list before swapping it in.
func StagingKey(list, id string) string { return list + ":staging:" + id }

// Events returns the Pub/Sub channel that carries one Event per change.
func (k Keys) Events() string { return k.prefix() + "events" }

// CompactDigits is how many trailing digits of a number a compact bucket
// holds as an integer member.
const CompactDigits = 4

// CompactSplit splits a canonical number into its compact bucket (every
// digit but the last four) and member (the last four digits as an integer,
// so "0042" is 42). ok is false for anything a compact list cannot hold: a
// string shorter than five characters, or with a non-digit.
func CompactSplit(number string) (bucket string, member int64, ok bool) {
	if len(number) <= CompactDigits {
		return "", 0, false
	}
	for i := 0; i < len(number); i++ {
		if number[i] < '0' || number[i] > '9' {
			return "", 0, false
		}
	}
	cut := len(number) - CompactDigits
	m, _ := strconv.ParseInt(number[cut:], 10, 64)
	return number[:cut], m, true
}

// CompactJoin is the inverse of CompactSplit.
func CompactJoin(bucket string, member int64) string {
	return fmt.Sprintf("%s%0*d", bucket, CompactDigits, member)
}

// Meta is what is known about one entry besides its presence in the set.
// An entry added with plain SADD has none, and is a full entry all the same.
type Meta struct {
	Reason    string    `json:"reason,omitempty"`    // a Reason* value or free text
	Source    string    `json:"source,omitempty"`    // where it came from: cli, api, agi, import:<file>...
	AddedBy   string    `json:"added_by,omitempty"`  // who
	AddedAt   time.Time `json:"added_at,omitzero"`   // when
	ExpiresAt time.Time `json:"expires_at,omitzero"` // zero: never
	Note      string    `json:"note,omitempty"`      // free text
	Channel   string    `json:"channel,omitempty"`   // for entries added during a call: the Asterisk channel
	UniqueID  string    `json:"uniqueid,omitempty"`  // and its uniqueid
}

// The documented reasons. Free text is accepted too.
const (
	ReasonOptOut         = "opt-out"
	ReasonConsentRevoked = "consent-revoked"
	ReasonNaoMePerturbe  = "nao-me-perturbe"
	ReasonSpam           = "spam"
	ReasonNoAnswer       = "no-answer"
	ReasonInvalid        = "invalid"
	ReasonManual         = "manual"
	ReasonLegal          = "legal"
	ReasonDeceased       = "deceased"
)

// Reasons lists the documented reasons with what each means.
var Reasons = []struct{ Name, Meaning string }{
	{ReasonOptOut, "the person asked not to be called (by this company or campaign)"},
	{ReasonConsentRevoked, "the person revoked consent given before (LGPD art. 8 §5)"},
	{ReasonNaoMePerturbe, "registered in Anatel's Não Me Perturbe list"},
	{ReasonSpam, "the number is spam or abuse"},
	{ReasonNoAnswer, "the number never answers"},
	{ReasonInvalid, "the number does not exist or is not allocated"},
	{ReasonManual, "added by a supervisor with no other reason"},
	{ReasonLegal, "a court order, a Procon complaint or legal advice"},
	{ReasonDeceased, "the owner has died"},
}

// MarshalMeta encodes m for the metadata hash.
func MarshalMeta(m Meta) string {
	b, _ := json.Marshal(m) // a struct of strings and times cannot fail
	return string(b)
}

// UnmarshalMeta decodes a value of the metadata hash; a value that is not
// JSON (someone wrote it with redis-cli) becomes a Note.
func UnmarshalMeta(s string) Meta {
	var m Meta
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return Meta{Note: s}
	}
	return m
}

// AuditRecord is one entry of a list's audit stream.
type AuditRecord struct {
	Op     string // "add", "remove", "import-merge", "import-replace", "expire", "clear"
	Member string // the entry, or "" for a bulk operation
	Count  int64  // for bulk operations: how many entries
	By     string // who
	Reason string
	Source string
	Note   string
	At     time.Time
	// ExpiresAt is the entry's expiry, zero for none.
	ExpiresAt time.Time
	// Channel and UniqueID name the Asterisk call during which the entry
	// was added, if any.
	Channel  string
	UniqueID string
}

// AddAudit queues on pipe the XADD of rec to the audit stream of the list
// with key list, trimmed to about maxLen entries (0: not trimmed).
func AddAudit(ctx context.Context, pipe redis.Pipeliner, list string, rec AuditRecord, maxLen int64) {
	values := []any{"op", rec.Op, "at", rec.At.UTC().Format(time.RFC3339Nano)}
	add := func(k, v string) {
		if v != "" {
			values = append(values, k, v)
		}
	}
	add("member", rec.Member)
	if rec.Count != 0 {
		add("count", strconv.FormatInt(rec.Count, 10))
	}
	add("by", rec.By)
	add("reason", rec.Reason)
	add("source", rec.Source)
	add("note", rec.Note)
	add("channel", rec.Channel)
	add("uniqueid", rec.UniqueID)
	if !rec.ExpiresAt.IsZero() {
		add("expires_at", rec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	args := &redis.XAddArgs{Stream: AuditKey(list), Values: values}
	if maxLen > 0 {
		args.MaxLen, args.Approx = maxLen, true
	}
	pipe.XAdd(ctx, args)
}

// Event is the JSON payload published on the events channel for every
// change, so that a dialer whose queue lives elsewhere can react at once.
type Event struct {
	Op        string    `json:"op"`       // "add" or "remove"
	List      string    `json:"list"`     // the list's name (campaign id or shared list name)
	Campaign  bool      `json:"campaign"` // whether it is a campaign's own list
	Member    string    `json:"member"`   // the canonical entry
	Reason    string    `json:"reason,omitempty"`
	By        string    `json:"by,omitempty"`
	At        time.Time `json:"at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Dequeued is how many queued contacts this change removed, per
	// campaign. Store.Add publishes in the same round trip as the removal,
	// before the counts are known, and leaves it out: AddResult.Dequeued
	// has them.
	Dequeued map[string]int64 `json:"dequeued,omitempty"`
}

// Queue is a dialer's queue of numbers to call (a campaign's contacts_key):
// a Redis LIST, SET or ZSET whose members are numbers in the dialer's format.
type Queue struct {
	Campaign string
	Key      string // the Redis key, verbatim
	Type     string // QueueList, QueueSet or QueueZSet
	Format   string // FormatCanonical ("" too), FormatE164 or FormatNational
	// CountryCode is the campaign's country code, for FormatNational.
	CountryCode string
}

// ErrInvalidQueue is matched (errors.Is) by the error of Queue.Validate.
var ErrInvalidQueue = errors.New("invalid contacts queue")

// Validate reports a queue that Remove cannot use: no key, an unknown type
// or format, or the national format without a country code.
func (q Queue) Validate() error {
	switch {
	case q.Key == "":
		return fmt.Errorf("contacts queue of campaign %q: %w: no key", q.Campaign, ErrInvalidQueue)
	case q.Type != QueueList && q.Type != QueueSet && q.Type != QueueZSet:
		return fmt.Errorf("contacts queue %s of campaign %q: %w: type %q, want %q, %q or %q",
			q.Key, q.Campaign, ErrInvalidQueue, q.Type, QueueList, QueueSet, QueueZSet)
	case q.Format != "" && q.Format != FormatCanonical && q.Format != FormatE164 && q.Format != FormatNational:
		return fmt.Errorf("contacts queue %s of campaign %q: %w: format %q, want %q, %q or %q",
			q.Key, q.Campaign, ErrInvalidQueue, q.Format, FormatCanonical, FormatE164, FormatNational)
	case q.Format == FormatNational && q.CountryCode == "":
		return fmt.Errorf("contacts queue %s of campaign %q: %w: the national format needs the country code",
			q.Key, q.Campaign, ErrInvalidQueue)
	}
	return nil
}

// Queue types and number formats.
const (
	QueueList = "list"
	QueueSet  = "set"
	QueueZSet = "zset"

	FormatCanonical = "canonical" // 5511987654321
	FormatE164      = "e164"      // +5511987654321
	FormatNational  = "national"  // 11987654321 (the country code dropped)
)

// Formatted writes a canonical number in the queue's format. Extensions and
// numbers of another country are written as they are.
func (q Queue) Formatted(canonical string) string {
	switch q.Format {
	case FormatE164:
		return "+" + canonical
	case FormatNational:
		if cc := q.CountryCode; cc != "" && len(canonical) > len(cc) && canonical[:len(cc)] == cc {
			return canonical[len(cc):]
		}
	}
	return canonical
}

// Remove queues on pipe the commands that remove the numbers (canonical)
// from the queue, and returns them: each answers how many queued contacts it
// removed (IntCmd).
func (q Queue) Remove(ctx context.Context, pipe redis.Pipeliner, canonical ...string) []*redis.IntCmd {
	if len(canonical) == 0 {
		return nil
	}
	members := make([]any, len(canonical))
	for i, n := range canonical {
		members[i] = q.Formatted(n)
	}
	switch q.Type {
	case QueueList:
		cmds := make([]*redis.IntCmd, len(members))
		for i, m := range members {
			cmds[i] = pipe.LRem(ctx, q.Key, 0, m)
		}
		return cmds
	case QueueZSet:
		return []*redis.IntCmd{pipe.ZRem(ctx, q.Key, members...)}
	default:
		return []*redis.IntCmd{pipe.SRem(ctx, q.Key, members...)}
	}
}

// PrefixEntry reads a prefix entry as people type it: digits ending in "*",
// with spaces, dashes, dots, parentheses and a leading "+" ignored
// ("+55 900*" is "55900*"). ok is false for anything else. A prefix is not a
// whole number, so it is not normalized: it is typed in canonical digits,
// country code first.
func PrefixEntry(in string) (entry string, ok bool) {
	in = strings.TrimSpace(in)
	if len(in) < 2 || in[len(in)-1] != '*' {
		return "", false
	}
	digits := make([]byte, 0, len(in))
	for i := 0; i < len(in)-1; i++ {
		switch c := in[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || (c == '+' && len(digits) == 0):
		default:
			return "", false
		}
	}
	if len(digits) == 0 {
		return "", false
	}
	return string(append(digits, '*')), true
}
