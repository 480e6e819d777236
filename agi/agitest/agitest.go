// Package agitest plays the Asterisk side of a FastAGI session, the way
// net/http/httptest plays the client side of HTTP, so that tests, benchmarks
// and load tools can drive a FastAGI server over a real connection and check
// what a real dialplan would see afterwards.
//
// The emulator copies Asterisk 22.10.1 (res/res_agi.c) byte for byte where the
// recorded transcripts in shared/asterisk show its behaviour: the environment
// block (written in several chunks, as TCP delivered it), the argument parser
// (parse_args), the replies and usage blocks, the "dead channel" rules after a
// hangup, the unsolicited "HANGUP" lines, and the AGISTATUS and HANGUPCAUSE
// the dialplan sees after the server closes the connection.
//
// A minimal use:
//
//	res, err := agitest.Run(ctx, agitest.Call{URL: "agi://127.0.0.1:4573/blacklist"})
//	// res.AGIStatus == "SUCCESS", res.Vars["BLACKLIST_STATUS"] == "ALLOWED", ...
//
// The emulator has no dialplan, no sound files and no other channels: EXEC
// knows Answer, Goto, Hangup, Log, NoOp, Set and Verbose (any other
// application answers -2, "not found"); STREAM FILE and the other media
// commands answer as if the file played to its end with no digit pressed.
//
// ReadTranscript reads the sessions recorded from real Asterisk in
// shared/asterisk (scenario-*.txt), so that tests and tools can replay them.
package agitest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// AGISTATUS values, as Asterisk sets them when AGI() returns.
const (
	StatusSuccess = "SUCCESS" // the server closed the connection; the channel is still up
	StatusFailure = "FAILURE" // the connection could not be made, or the session failed
	StatusHangup  = "HANGUP"  // the channel was hung up during the session
)

// AsteriskVersion is the version the emulator reports in agi_version.
const AsteriskVersion = "22.10.1"

// DefaultPort is the FastAGI port Asterisk dials when the URL has none.
const DefaultPort = "4573"

// maxConnect is Asterisk's MAX_AGI_CONNECT: the longest a connect may take
// before AGI() gives up with AGISTATUS=FAILURE.
const maxConnect = 2 * time.Second

// Defaults for the zero fields of a Call.
const (
	DefaultExtension = "5511987654321"
	DefaultContext   = "outbound"
	DefaultTimeout   = 10 * time.Second
)

// Hangup causes (Asterisk's AST_CAUSE_*) that tests of a blacklist check.
const (
	CauseNormalClearing = 16 // a call that ends normally; the Hangup application's default
	CauseCallRejected   = 21 // what a blocked call is hung up with
)

// ErrBadURL reports a Call.URL that is not an agi://host[:port][/script] URL.
var ErrBadURL = errors.New("not an agi:// URL")

// Call describes the channel and the AGI() invocation.
type Call struct {
	// URL is the AGI() argument, e.g. "agi://127.0.0.1:4573/blacklist?campaign=promo".
	// Run dials its host:port (default port 4573); the path and query after
	// host:port/ become agi_network_script.
	URL string
	// Args are the AGI() arguments after the URL: agi_arg_1..N.
	Args []string
	// Extension is agi_extension and ${EXTEN}; default DefaultExtension.
	Extension string
	// Context is agi_context and ${CONTEXT}; default DefaultContext.
	Context string
	// Priority is agi_priority, the priority of the AGI() line; default 1.
	Priority int
	// Channel is agi_channel and ${CHANNEL}; default "Local/<ext>@<context>-00000001;2".
	// agi_type is the part before the first "/".
	Channel string
	// UniqueID is agi_uniqueid; default generated, unique per call ("emu-<unix>.<seq>").
	UniqueID string
	// CallerID and CallerIDName are agi_callerid and agi_calleridname;
	// default "unknown", which Asterisk writes when they are not set.
	CallerID, CallerIDName string
	// Vars are channel variables set before AGI() runs; GET VARIABLE and
	// GET FULL VARIABLE read them. A key that looks like a function call, such
	// as "DB_EXISTS(blacklist/5511987654321)", answers reads of exactly that
	// expression. AGISIGHUP=no and AGIEXITONHANGUP=yes change the hangup
	// behaviour as in Asterisk; AGIEXECFULL=yes makes EXEC substitute ${...}.
	Vars map[string]string
	// HangupBeforeReply, if > 0, makes the caller hang up while the server is
	// busy with command number N (1-based): "HANGUP\n" is written before the
	// reply to command N and the channel is dead from then on (scenario h1).
	HangupBeforeReply int
	// AsyncHangupDelay delays the unsolicited "HANGUP\n" line Asterisk writes
	// after a hangup. Zero writes it at once; real Asterisk's line arrives
	// about 42ms late because of Nagle's algorithm. A reply never overtakes
	// it: the line is written before any later reply, as on the real wire.
	AsyncHangupDelay time.Duration
	// Timeout bounds the whole session so a stuck server cannot hang the
	// test; default DefaultTimeout. On expiry the emulator closes the
	// connection and reports Result.TimedOut.
	Timeout time.Duration

	// Answered makes the channel already answered when AGI() runs:
	// CHANNEL STATUS answers 6 instead of 4.
	Answered bool
	// HangupAfter, if > 0, makes the caller hang up this long after the
	// environment block was written, whether or not the server is busy
	// (scenarios f1, f1t).
	HangupAfter time.Duration
	// CallerHangupCause is HANGUPCAUSE after a hangup by the caller
	// (HangupBeforeReply, HangupAfter); default 0, as recorded in h1 and f1t.
	CallerHangupCause int
	// ThreadID is agi_threadid; default generated.
	ThreadID int64
}

// Result is what the dialplan and the recorder saw after the session.
type Result struct {
	// AGIStatus is what Asterisk sets: StatusSuccess, StatusFailure or
	// StatusHangup. When TimedOut is set, it is what Asterisk would have set
	// had the server closed at that moment.
	AGIStatus string
	// Vars are the channel variables after the session: Call.Vars plus
	// SET VARIABLE and EXEC Set.
	Vars map[string]string
	// FunctionWrites are writes to dialplan functions the emulator does not
	// model (SET VARIABLE CDR(userfield) x), by expression.
	FunctionWrites map[string]string
	// HungUp reports that the channel was hung up: AGI HANGUP, EXEC Hangup,
	// or a caller hangup (HangupBeforeReply, HangupAfter).
	HungUp bool
	// HangupCause is HANGUPCAUSE as the hangup handler sees it: the cause of
	// EXEC Hangup (default 16), 0 after AGI HANGUP, CallerHangupCause after a
	// caller hangup, and 16 when the channel went on and ended normally.
	HangupCause int
	// Goto is "context,exten,priority", where the dialplan goes on after
	// EXEC Goto or SET CONTEXT/EXTENSION/PRIORITY; "" when none was used.
	Goto string
	// Commands are the command lines received, without the "\n".
	Commands []string
	// Replies are the lines written after the environment block, without
	// the "\n", including usage lines and "HANGUP" notifications. The final
	// "HANGUP" Asterisk writes after the session is included even when the
	// server had already closed its end.
	Replies []string
	// Violations describe input Asterisk handles in surprising ways: NUL
	// bytes, lines longer than Asterisk's 2047-byte buffer.
	Violations []string
	// ServerClosed reports that the server ended the session by closing
	// (or half-closing) the connection.
	ServerClosed bool
	// TimedOut reports that Call.Timeout expired or the context was done
	// before the server closed the connection.
	TimedOut bool
	// Duration runs from the connect to the end of the session.
	Duration time.Duration
}

// callSeq numbers calls for generated unique IDs, thread IDs and chunking.
var callSeq atomic.Uint64

// withDefaults returns c with its zero fields filled in and the sequence
// number that seeds its generated values.
func (c Call) withDefaults() (Call, uint64) {
	seq := callSeq.Add(1)
	if c.Extension == "" {
		c.Extension = DefaultExtension
	}
	if c.Context == "" {
		c.Context = DefaultContext
	}
	if c.Priority == 0 {
		c.Priority = 1
	}
	if c.Channel == "" {
		c.Channel = "Local/" + c.Extension + "@" + c.Context + "-00000001;2"
	}
	if c.UniqueID == "" {
		c.UniqueID = "emu-" + strconv.FormatInt(time.Now().Unix(), 10) + "." + strconv.FormatUint(seq, 10)
	}
	if c.CallerID == "" {
		c.CallerID = "unknown"
	}
	if c.CallerIDName == "" {
		c.CallerIDName = "unknown"
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ThreadID == 0 {
		c.ThreadID = 139983128000000 + int64(seq%1_000_000)*4096
	}
	return c, seq
}

// EnvBlock returns the environment block Asterisk writes for this call, in
// Asterisk's field order, ending with the empty line. Zero fields take their
// defaults; a generated UniqueID or ThreadID differs from one call to the
// next, so set them to compare blocks.
func (c Call) EnvBlock() []byte {
	c, _ = c.withDefaults()
	return c.envBlock()
}

func (c Call) envBlock() []byte {
	var b strings.Builder
	field := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteByte('\n')
	}
	field("agi_network", "yes")
	if script := networkScript(c.URL); script != "" {
		field("agi_network_script", script)
	}
	field("agi_request", c.URL)
	field("agi_channel", c.Channel)
	field("agi_language", "en")
	field("agi_type", channelType(c.Channel))
	field("agi_uniqueid", c.UniqueID)
	field("agi_version", AsteriskVersion)
	field("agi_callerid", c.CallerID)
	field("agi_calleridname", c.CallerIDName)
	field("agi_callingpres", strconv.Itoa(callingPres(c.CallerID, c.CallerIDName)))
	field("agi_callingani2", "0")
	field("agi_callington", "0")
	field("agi_callingtns", "0")
	field("agi_dnid", "unknown")
	field("agi_rdnis", "unknown")
	field("agi_context", c.Context)
	field("agi_extension", c.Extension)
	field("agi_priority", strconv.Itoa(c.Priority))
	field("agi_enhanced", "0.0")
	field("agi_accountcode", "")
	field("agi_threadid", strconv.FormatInt(c.ThreadID, 10))
	for i, arg := range c.Args {
		field("agi_arg_"+strconv.Itoa(i+1), arg)
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

// networkScript is what launch_netscript sends as agi_network_script: the
// part of the URL after the first "/" that follows "agi://".
func networkScript(url string) string {
	if len(url) < len("agi://") {
		return ""
	}
	host := url[len("agi://"):]
	if i := strings.IndexByte(host, '/'); i >= 0 {
		return host[i+1:]
	}
	return ""
}

// channelType is agi_type: the channel technology, "Local" for "Local/...".
func channelType(channel string) string {
	if i := strings.IndexByte(channel, '/'); i >= 0 {
		return channel[:i]
	}
	return channel
}

// callerIDSet reports whether a caller ID field holds a value; "unknown" is
// what Asterisk writes for an unset one.
func callerIDSet(v string) bool { return v != "" && v != "unknown" }

// callingPres is ast_party_id_presentation for an allowed, unscreened caller
// ID: 0 when a number or name is set, 67 (number not available) otherwise.
func callingPres(number, name string) int {
	if callerIDSet(number) || callerIDSet(name) {
		return 0
	}
	return 67
}

// dialAddress returns the host:port Run dials for an agi:// URL.
func dialAddress(url string) (string, error) {
	const scheme = "agi://"
	if len(url) < len(scheme) || !asciiEqualFold(url[:len(scheme)], scheme) {
		return "", fmt.Errorf("agitest: URL %q: %w", url, ErrBadURL)
	}
	host := url[len(scheme):]
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	if host == "" {
		return "", fmt.Errorf("agitest: URL %q has no host: %w", url, ErrBadURL)
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host, nil
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), DefaultPort), nil
}

// Run dials call.URL's host:port and plays the Asterisk side of the session.
// A connection that cannot be made within Asterisk's 2s connect limit (or
// call.Timeout, if shorter) gives Result{AGIStatus: StatusFailure} and a nil
// error, as AGI() does. The error is non-nil only for a bad URL or when ctx
// is done before the session ends (then Result.TimedOut is set too).
func Run(ctx context.Context, call Call) (Result, error) {
	addr, err := dialAddress(call.URL)
	if err != nil {
		return Result{}, err
	}
	call, seq := call.withDefaults()
	dialer := net.Dialer{Timeout: min(maxConnect, call.Timeout)}
	start := time.Now()
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		res := Result{
			AGIStatus:   StatusFailure,
			Vars:        presetVars(call.Vars),
			HangupCause: CauseNormalClearing,
			Duration:    time.Since(start),
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			res.TimedOut = true
			return res, ctxErr
		}
		return res, nil
	}
	return runSession(ctx, conn, call, seq)
}

// RunConn plays the Asterisk side of a session over conn, which it closes
// when the session ends. It is Run without the dial: use it with net.Pipe or
// a connection the test set up itself. The error is non-nil only when ctx is
// done before the session ends.
func RunConn(ctx context.Context, conn net.Conn, call Call) (Result, error) {
	call, seq := call.withDefaults()
	return runSession(ctx, conn, call, seq)
}
