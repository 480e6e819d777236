// Package callstats records what the guard decided about each call in Redis,
// so that every server instance adds to the same figures, and reads them
// back for the CLI and the admin API: calls checked, allowed, blocked and
// failed per campaign and per hour, blocks per list, the time of the last
// block, and a log of the blocked calls themselves (the evidence a
// compliance team shows a regulator).
//
// A Recorder is the guard's Observer: ObserveCheck only queues, and Run
// writes the queue in batches, one pipeline per batch, after the verdicts
// were sent. A call is never slower for being counted; when Redis cannot
// keep up the queue overflows and observations are dropped and counted
// (Dropped), never waited for.
//
// # Keys
//
//	<prefix>stats:{<campaign>}:<yyyymmddhh>  HASH  one hour (UTC) of one campaign:
//	                 checked, allowed, blocked, errors (HINCRBY), and
//	                 blocked:<list> per list that blocked; expires Retention
//	                 after the end of the hour
//	<prefix>stats:{<campaign>}  HASH  last_block and last_check (Unix ms);
//	                 expires Retention after the last call
//	<prefix>blocked  STREAM  one entry per blocked call (XADD MAXLEN ~):
//	                 time (RFC 3339, UTC), campaign, number, dialed, list,
//	                 entry, reason, uniqueid, channel, instance, status
//	                 (BLOCKED, or ERROR for a call that on_error blocked:
//	                 reason then holds the error); empty fields are left out
//
// <campaign> is the campaign id as the dialplan gave it when it is a valid
// name (blacklist.ValidName), and "-" when it gave none or an invalid one
// (FoldCampaign), so that hostile input cannot create keys. The braces are
// Redis Cluster hash tags: every key of one campaign is in one slot.
package callstats

import (
	"time"

	"github.com/blacklist-agi/blacklist-agi/blacklist"
)

// NoCampaign is the campaign under which calls without a campaign id, or
// with an invalid one, are counted. It is not a valid campaign id, so it
// never collides with one.
const NoCampaign = "-"

// Status values of BlockedCall.
const (
	StatusBlocked = "BLOCKED" // a list matched
	StatusError   = "ERROR"   // the check failed and on_error blocked the call
)

// hourLayout names an hour in the keys: yyyymmddhh, UTC.
const hourLayout = "2006010215"

// FoldCampaign returns the campaign name under which a call for the
// campaign id is counted: the id itself when it is a valid name, else
// NoCampaign.
func FoldCampaign(id string) string {
	if id == "" || blacklist.ValidName("campaign id", id) != nil {
		return NoCampaign
	}
	return id
}

// keyPrefix is the prefix of every key, as blacklist.Keys applies it.
func keyPrefix(k blacklist.Keys) string {
	if k.Prefix == "" {
		return blacklist.DefaultPrefix
	}
	return k.Prefix
}

// CampaignKey returns the key of a campaign's summary hash,
// <prefix>stats:{campaign}. The campaign must be folded (FoldCampaign).
func CampaignKey(k blacklist.Keys, campaign string) string {
	return keyPrefix(k) + "stats:{" + campaign + "}"
}

// HourKey returns the key of the hash that counts the calls of campaign
// during the UTC hour that holds t, <prefix>stats:{campaign}:yyyymmddhh.
func HourKey(k blacklist.Keys, campaign string, t time.Time) string {
	return CampaignKey(k, campaign) + ":" + t.UTC().Format(hourLayout)
}

// BlockedKey returns the key of the blocked-call stream, <prefix>blocked.
func BlockedKey(k blacklist.Keys) string {
	return keyPrefix(k) + "blocked"
}

// Counts are the calls of one campaign over a time window.
type Counts struct {
	Checked int64 `json:"checked"` // every check: Allowed + Blocked + Errors
	Allowed int64 `json:"allowed"`
	Blocked int64 `json:"blocked"` // a list matched
	Errors  int64 `json:"errors"`  // the check failed (on_error decided the call)
	// LastBlock is the time of the campaign's last block that is still
	// retained, whatever the window; zero if none.
	LastBlock time.Time `json:"last_block,omitzero"`
}

// CampaignStats are the figures of one campaign.
type CampaignStats struct {
	Campaign string `json:"campaign"` // the folded campaign id ("-": none or invalid)
	Counts
	// Lists is how many calls each list blocked (the campaign's own list
	// under the campaign id).
	Lists map[string]int64 `json:"lists"`
}

// BlockedCall is one entry of the blocked-call log.
type BlockedCall struct {
	ID       string    `json:"id"` // the stream entry's ID, also a paging cursor
	At       time.Time `json:"at"` // when the call was checked
	Campaign string    `json:"campaign"`
	Number   string    `json:"number,omitempty"` // the normalized number
	Dialed   string    `json:"dialed,omitempty"` // as the dialplan gave it
	List     string    `json:"list,omitempty"`
	Entry    string    `json:"entry,omitempty"`
	Reason   string    `json:"reason,omitempty"` // on ERROR: the error
	UniqueID string    `json:"uniqueid,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	Instance string    `json:"instance,omitempty"` // the server instance that checked the call
	Status   string    `json:"status"`             // StatusBlocked or StatusError
}
