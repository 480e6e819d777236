package agitest

import (
	"strconv"
	"strings"
	"time"
)

// channel is the emulated channel: its variables, dialplan position and
// state, as GET/SET VARIABLE, EXEC and the hangup handler see them.
type channel struct {
	name, uniqueID    string
	callerID, cidName string // "unknown" when not set, as in the env block

	vars      map[string]string // channel variables, by name without leading "_"
	presets   map[string]string // Call.Vars keys that look like function calls
	functions map[string]string // writes to functions the emulator does not model
	db        map[string]string // AstDB, "family/key" -> value

	context, exten string
	priority       int  // ast_channel_priority: the AGI() line's, or a goto target minus one
	moved          bool // EXEC Goto or SET CONTEXT/EXTENSION/PRIORITY was used
	answered       bool
	hangupCause    int
}

func newChannel(c Call) *channel {
	ch := &channel{
		name:      c.Channel,
		uniqueID:  c.UniqueID,
		callerID:  c.CallerID,
		cidName:   c.CallerIDName,
		vars:      presetVars(c.Vars),
		presets:   make(map[string]string),
		functions: make(map[string]string),
		db:        make(map[string]string),
		context:   c.Context,
		exten:     c.Extension,
		priority:  c.Priority,
		answered:  c.Answered,
	}
	for name, value := range c.Vars {
		if strings.HasSuffix(name, ")") {
			ch.presets[name] = value
		}
	}
	return ch
}

// presetVars copies Call.Vars into channel variables; keys that look like
// function calls are not variables and stay out.
func presetVars(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for name, value := range in {
		if !strings.HasSuffix(name, ")") {
			out[varNameTail(name)] = value
		}
	}
	return out
}

// varNameTail strips the one or two leading underscores that mark an
// inherited variable; Asterisk looks variables up by the rest.
func varNameTail(name string) string {
	if strings.HasPrefix(name, "__") {
		return name[2:]
	}
	return strings.TrimPrefix(name, "_")
}

// isMe reports whether name designates this channel, as
// ast_channel_get_by_name does: by name (ignoring ASCII case) or unique ID.
func (ch *channel) isMe(name string) bool {
	return asciiEqualFold(name, ch.name) || name == ch.uniqueID
}

// state is ast_channel_state: 4 (ringing) before the answer, 6 (up) after.
func (ch *channel) state() int {
	if ch.answered {
		return 6
	}
	return 4
}

// setVar is pbx_builtin_setvar_helper: a name ending in ")" writes a
// function, anything else replaces the variable.
func (ch *channel) setVar(name, value string) {
	if strings.HasSuffix(name, ")") {
		ch.writeFunction(name, value)
		return
	}
	ch.vars[varNameTail(name)] = value
}

// variable is pbx_retrieve_variable: the built-in variables first, then the
// channel's own.
func (ch *channel) variable(name string) (string, bool) {
	switch name {
	case "CALLINGPRES":
		return strconv.Itoa(callingPres(ch.callerID, ch.cidName)), true
	case "CALLINGANI2", "CALLINGTON", "CALLINGTNS":
		return "0", true
	case "EXTEN":
		return ch.exten, true
	case "CONTEXT":
		return ch.context, true
	case "PRIORITY":
		return strconv.Itoa(ch.priority), true
	case "CHANNEL":
		return ch.name, true
	case "UNIQUEID":
		return ch.uniqueID, true
	case "HANGUPCAUSE":
		return strconv.Itoa(ch.hangupCause), true
	case "EPOCH":
		return strconv.FormatInt(time.Now().Unix(), 10), true
	}
	v, ok := ch.vars[name]
	return v, ok
}

// readFunction is ast_func_read for the functions the emulator models:
// CALLERID, CHANNEL, DB_EXISTS, EXISTS, ISNULL and LEN. Call.Vars entries
// named like the expression win. ok is false where Asterisk's read fails.
func (ch *channel) readFunction(expr string) (string, bool) {
	if v, ok := ch.presets[expr]; ok {
		return v, true
	}
	name, args := splitFunction(expr)
	switch {
	case asciiEqualFold(name, "CALLERID"):
		num, cidName := "", ""
		if callerIDSet(ch.callerID) {
			num = ch.callerID
		}
		if callerIDSet(ch.cidName) {
			cidName = ch.cidName
		}
		switch {
		case asciiHasPrefixFold(args, "all"):
			switch {
			case num != "" && cidName != "":
				return `"` + cidName + `" <` + num + `>`, true
			case cidName != "":
				return cidName, true
			default:
				return num, true
			}
		case asciiHasPrefixFold(args, "name"):
			return cidName, true
		case asciiHasPrefixFold(args, "num"):
			return num, true
		}
		return "", false
	case asciiEqualFold(name, "CHANNEL"):
		switch {
		case asciiEqualFold(args, "name"):
			return ch.name, true
		case asciiEqualFold(args, "language"):
			return "en", true
		case asciiEqualFold(args, "channeltype"):
			return channelType(ch.name), true
		case asciiEqualFold(args, "state"):
			if ch.answered {
				return "Up", true
			}
			return "Ring", true
		}
		return "", false
	case asciiEqualFold(name, "DB_EXISTS"):
		if _, ok := ch.db[args]; ok {
			return "1", true
		}
		return "0", true
	case asciiEqualFold(name, "EXISTS"):
		return boolDigit(args != ""), true
	case asciiEqualFold(name, "ISNULL"):
		return boolDigit(args == ""), true
	case asciiEqualFold(name, "LEN"):
		return strconv.Itoa(len(args)), true
	}
	return "", false
}

// writeFunction is ast_func_write: CALLERID is modelled, every other write
// is recorded in Result.FunctionWrites.
func (ch *channel) writeFunction(expr, value string) {
	name, args := splitFunction(expr)
	if asciiEqualFold(name, "CALLERID") {
		switch {
		case asciiHasPrefixFold(args, "all"):
			ch.cidName, ch.callerID = parseCallerID(value)
			return
		case asciiHasPrefixFold(args, "name"):
			ch.cidName = orUnknown(value)
			return
		case asciiHasPrefixFold(args, "num"):
			ch.callerID = orUnknown(value)
			return
		}
	}
	ch.functions[expr] = value
}

// splitFunction splits "NAME(args)" as Asterisk's func_args does: the name
// ends at the first "(", the arguments at the last ")".
func splitFunction(expr string) (name, args string) {
	open := strings.IndexByte(expr, '(')
	if open < 0 {
		return expr, ""
	}
	name, args = expr[:open], expr[open+1:]
	if close := strings.LastIndexByte(args, ')'); close >= 0 {
		args = args[:close]
	}
	return name, args
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func orUnknown(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}

// parseCallerID splits `"Name" <number>`, `Name <number>`, a bare number or
// a bare name, as ast_callerid_parse does for the usual forms.
func parseCallerID(s string) (name, number string) {
	s = strings.TrimSpace(s)
	if open := strings.LastIndexByte(s, '<'); open >= 0 {
		if close := strings.IndexByte(s[open:], '>'); close >= 0 {
			number = s[open+1 : open+close]
			name = strings.Trim(strings.TrimSpace(s[:open]), `"`)
			return orUnknown(name), orUnknown(number)
		}
	}
	if s != "" && strings.Trim(s, "0123456789+-()#*. ") == "" {
		return "unknown", s
	}
	return orUnknown(strings.Trim(s, `"`)), "unknown"
}

// substitute is ast_str_substitute_variables for ${NAME}, ${NAME:offset:length}
// and ${FUNC(args)}, with nested ${} in the name; unknown names give "".
// $[expressions] are copied as they are, not evaluated.
func (ch *channel) substitute(in string) string {
	var out strings.Builder
	for in != "" {
		dollar := strings.Index(in, "${")
		if dollar < 0 {
			out.WriteString(in)
			break
		}
		out.WriteString(in[:dollar])
		// Find the closing brace the way Asterisk does: count { and },
		// and note nested ${ or $[ that need a substitution of the name.
		rest := in[dollar+2:]
		brackets, needSub, end := 1, false, 0
		for end < len(rest) && brackets > 0 {
			switch {
			case rest[end] == '$' && end+1 < len(rest) && (rest[end+1] == '{' || rest[end+1] == '['):
				needSub = true
			case rest[end] == '{':
				brackets++
			case rest[end] == '}':
				brackets--
			}
			end++
		}
		name := rest[:end]
		if brackets == 0 {
			name = rest[:end-1] // without the closing brace
		}
		in = rest[end:]
		if needSub {
			name = ch.substitute(name)
		}
		name, offset, length, isFunction := parseVariableName(name)
		var value string
		var ok bool
		if isFunction {
			value, ok = ch.readFunction(name)
		} else {
			value, ok = ch.variable(name)
		}
		if ok {
			out.WriteString(substring(value, offset, length))
		}
	}
	return out.String()
}

// parseVariableName is Asterisk's parse_variable_name: a ":" outside
// parentheses starts ":offset:length".
func parseVariableName(v string) (name string, offset, length int, isFunction bool) {
	length = 1<<31 - 1
	parens := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '(':
			isFunction = true
			parens++
		case ')':
			parens--
		case ':':
			if parens == 0 {
				if n, rest, ok := scanInt(v[i+1:]); ok {
					offset = n
					if len(rest) > 0 && rest[0] == ':' {
						if m, _, ok := scanInt(rest[1:]); ok {
							length = m
						}
					}
				}
				return v[:i], offset, length, isFunction
			}
		}
	}
	return v, 0, length, isFunction
}

// substring is ast_str_substring: a negative offset counts from the end, a
// negative length leaves that many bytes off the end.
func substring(v string, offset, length int) string {
	if offset == 0 && length >= len(v) {
		return v
	}
	if offset < 0 {
		offset = max(len(v)+offset, 0)
	}
	if offset >= len(v) {
		return ""
	}
	v = v[offset:]
	switch {
	case length >= 0 && length < len(v):
		return v[:length]
	case length < 0:
		if len(v) > -length {
			return v[:len(v)+length]
		}
		return ""
	}
	return v
}

// gotoTarget is ast_parseable_goto followed by ast_explicit_goto:
// "[[context,]exten,]priority" with a numeric, "+n" or "-n" priority. It
// reports false for what Asterisk rejects: an empty target, or a label (the
// emulator has no dialplan to find labels in).
func (ch *channel) gotoTarget(target string) bool {
	if target == "" {
		return false
	}
	parts := strings.SplitN(target, ",", 3)
	var context, exten, pri string
	switch len(parts) {
	case 1:
		pri = parts[0]
	case 2:
		exten, pri = parts[0], parts[1]
	default:
		context, exten, pri = parts[0], parts[1], parts[2]
	}
	mode := 0
	if pri != "" && (pri[0] == '+' || pri[0] == '-') {
		mode = 1
		if pri[0] == '-' {
			mode = -1
		}
		pri = pri[1:]
	}
	n, rest, ok := scanInt(pri)
	if !ok || strings.TrimLeft(rest, " \t\n\v\f\r") != "" {
		return false // a label: ast_findlabel_extension finds nothing
	}
	if mode != 0 {
		n = ch.priority + n*mode
	}
	ch.explicitGoto(context, exten, n)
	return true
}

// explicitGoto is ast_explicit_goto on a channel running in the PBX loop:
// the loop adds one to the priority before it runs the next step.
func (ch *channel) explicitGoto(context, exten string, priority int) {
	if context != "" {
		ch.context = context
	}
	if exten != "" {
		ch.exten = exten
	}
	if priority > -1 {
		ch.priority = priority - 1
	}
	ch.moved = true
}

// gotoString is Result.Goto: where the dialplan goes on after AGI().
func (ch *channel) gotoString() string {
	if !ch.moved {
		return ""
	}
	return ch.context + "," + ch.exten + "," + strconv.Itoa(ch.priority+1)
}

// hangupCauses is Asterisk's cause name table (ast_str2cause).
var hangupCauses = map[string]int{
	"UNALLOCATED": 1, "NO_ROUTE_TRANSIT_NET": 2, "NO_ROUTE_DESTINATION": 3,
	"MISDIALLED_TRUNK_PREFIX": 5, "CHANNEL_UNACCEPTABLE": 6, "CALL_AWARDED_DELIVERED": 7,
	"PRE_EMPTED": 8, "NUMBER_PORTED_NOT_HERE": 14, "NORMAL_CLEARING": 16, "USER_BUSY": 17,
	"NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21,
	"NUMBER_CHANGED": 22, "REDIRECTED_TO_NEW_DESTINATION": 23, "ANSWERED_ELSEWHERE": 26,
	"DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28, "FACILITY_REJECTED": 29,
	"RESPONSE_TO_STATUS_ENQUIRY": 30, "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34,
	"NETWORK_OUT_OF_ORDER": 38, "NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42,
	"ACCESS_INFO_DISCARDED": 43, "REQUESTED_CHAN_UNAVAIL": 44, "FACILITY_NOT_SUBSCRIBED": 50,
	"OUTGOING_CALL_BARRED": 52, "INCOMING_CALL_BARRED": 54, "BEARERCAPABILITY_NOTAUTH": 57,
	"BEARERCAPABILITY_NOTAVAIL": 58, "BEARERCAPABILITY_NOTIMPL": 65, "CHAN_NOT_IMPLEMENTED": 66,
	"FACILITY_NOT_IMPLEMENTED": 69, "INVALID_CALL_REFERENCE": 81, "INCOMPATIBLE_DESTINATION": 88,
	"INVALID_MSG_UNSPECIFIED": 95, "MANDATORY_IE_MISSING": 96, "MESSAGE_TYPE_NONEXIST": 97,
	"WRONG_MESSAGE": 98, "IE_NONEXIST": 99, "INVALID_IE_CONTENTS": 100, "WRONG_CALL_STATE": 101,
	"RECOVERY_ON_TIMER_EXPIRE": 102, "MANDATORY_IE_LENGTH_ERROR": 103, "PROTOCOL_ERROR": 111,
	"INTERWORKING": 127,
}

// hangupAppCause is the cause the Hangup application sets for its argument:
// a cause name or a positive number; otherwise the channel's cause if it has
// one, else NORMAL_CLEARING.
func (ch *channel) hangupAppCause(data string) int {
	cause := 0
	if data != "" {
		for name, n := range hangupCauses {
			if asciiEqualFold(data, name) {
				cause = n
			}
		}
		if n, _, ok := scanInt(data); cause == 0 && ok && n > 0 {
			cause = n
		}
	}
	if cause <= 0 {
		cause = ch.hangupCause
		if cause <= 0 {
			cause = CauseNormalClearing
		}
	}
	return cause
}
