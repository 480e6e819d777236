package agitest

import (
	"bytes"
	"strings"
	"testing"
)

// testSession is a session on a channel with known values, writing to buf.
func testSession(t testing.TB, call Call) (*session, *bytes.Buffer) {
	t.Helper()
	call.URL = "agi://127.0.0.1/blacklist"
	if call.Channel == "" {
		call.Channel = "Local/5511987654321@outbound-00000001;2"
	}
	if call.UniqueID == "" {
		call.UniqueID = "emu-1.1"
	}
	if call.CallerID == "" {
		call.CallerID = "5511999990000"
		call.CallerIDName = "Test Caller"
	}
	call, _ = call.withDefaults()
	var buf bytes.Buffer
	return newSession(call, &buf), &buf
}

// do runs one command line and returns what the emulator wrote.
func do(s *session, buf *bytes.Buffer, line string) string {
	buf.Reset()
	s.handleLine(line)
	return buf.String()
}

func TestCommands(t *testing.T) {
	const usageSetVar = "520-Invalid command syntax.  Proper usage follows:\nSets a variable to the current channel.\n520 End of proper usage.\n"
	tests := []struct {
		name  string
		call  Call
		lines []string // earlier commands
		line  string
		want  string
	}{
		{name: "unknown", line: "FOOBAR baz", want: "510 Invalid or unknown command\n"},
		{name: "first word only", line: "SET", want: "510 Invalid or unknown command\n"},
		{name: "empty", line: "", want: "510 Invalid or unknown command\n"},
		{name: "lower case", line: "set variable x 1", want: "200 result=1\n"},
		{name: "non-ASCII does not fold", line: "\u017fET VARIABLE x 1", want: "510 Invalid or unknown command\n"},
		{name: "set variable, 3 words", line: "SET VARIABLE ONLYNAME", want: usageSetVar},
		{name: "set variable, 5 words", line: "SET VARIABLE A b c", want: usageSetVar},
		{name: "get variable unset", line: "GET VARIABLE NOPE", want: "200 result=0\n"},
		{name: "get variable preset", call: Call{Vars: map[string]string{"P": "v"}}, line: "GET VARIABLE P", want: "200 result=1 (v)\n"},
		{name: "get variable inherited name", lines: []string{"SET VARIABLE __INH x"}, line: "GET VARIABLE INH", want: "200 result=1 (x)\n"},
		{name: "variables are case-sensitive", lines: []string{"SET VARIABLE abc 1"}, line: "GET VARIABLE ABC", want: "200 result=0\n"},
		{name: "builtin EXTEN", line: "GET VARIABLE EXTEN", want: "200 result=1 (5511987654321)\n"},
		{name: "builtin before a variable", call: Call{Vars: map[string]string{"EXTEN": "x"}}, line: "GET VARIABLE EXTEN", want: "200 result=1 (5511987654321)\n"},
		{name: "builtin HANGUPCAUSE", line: "GET VARIABLE HANGUPCAUSE", want: "200 result=1 (0)\n"},
		{name: "CALLERID(num)", line: "GET VARIABLE CALLERID(num)", want: "200 result=1 (5511999990000)\n"},
		{name: "CALLERID(all)", line: "GET VARIABLE CALLERID(all)", want: "200 result=1 (\"Test Caller\" <5511999990000>)\n"},
		{name: "CHANNEL(name)", line: "GET VARIABLE CHANNEL(name)", want: "200 result=1 (Local/5511987654321@outbound-00000001;2)\n"},
		{name: "unknown function", line: "GET VARIABLE NOSUCH(x)", want: "200 result=0\n"},
		{name: "DB_EXISTS", line: "GET VARIABLE DB_EXISTS(blacklist/1)", want: "200 result=1 (0)\n"},
		{name: "DB_EXISTS after put", lines: []string{"DATABASE PUT blacklist 1 yes"}, line: "GET VARIABLE DB_EXISTS(blacklist/1)", want: "200 result=1 (1)\n"},
		{name: "function preset", call: Call{Vars: map[string]string{"DB_EXISTS(blacklist/1)": "1"}}, line: "GET VARIABLE DB_EXISTS(blacklist/1)", want: "200 result=1 (1)\n"},
		{name: "get full variable", line: `GET FULL VARIABLE "${CALLERID(num)} ${EXTEN} ${NOPE}"`, want: "200 result=1 (5511999990000 5511987654321 )\n"},
		{name: "get full variable, other channel", line: "GET FULL VARIABLE ${EXTEN} SIP/other", want: "200 result=0\n"},
		{name: "get full variable, this channel", line: "GET FULL VARIABLE ${EXTEN} emu-1.1", want: "200 result=1 (5511987654321)\n"},
		{name: "get full variable, 3 words", line: "GET FULL VARIABLE", want: "520-Invalid command syntax.  Proper usage follows:\n" + usageGetFullVariable + "\n520 End of proper usage.\n"},
		{name: "set variable to a function", line: "SET VARIABLE CDR(userfield) blocked", want: "200 result=1\n"},
		{name: "set callerid(num)", lines: []string{"SET VARIABLE CALLERID(num) 123"}, line: "GET VARIABLE CALLERID(num)", want: "200 result=1 (123)\n"},
		{name: "exec unknown app", line: "EXEC NoSuchApp foo", want: "200 result=-2\n"},
		{name: "exec App(args) is not an app", line: "EXEC Set(X=1)", want: "200 result=-2\n"},
		{name: "exec Set", lines: []string{"EXEC Set X=a=b"}, line: "GET VARIABLE X", want: "200 result=1 (a=b)\n"},
		{name: "exec Set without =", line: "EXEC Set X", want: "200 result=0\n"},
		{name: "exec NoOp", line: "EXEC NoOp x", want: "200 result=0\n"},
		{name: "exec ignores the 4th word", lines: []string{"EXEC Set X=1 Y=2"}, line: "GET VARIABLE Y", want: "200 result=0\n"},
		{name: "exec without AGIEXECFULL", lines: []string{"EXEC Set X=${EXTEN}"}, line: "GET VARIABLE X", want: "200 result=1 (${EXTEN})\n"},
		{name: "exec with AGIEXECFULL", call: Call{Vars: map[string]string{"AGIEXECFULL": "yes"}}, lines: []string{"EXEC Set X=${EXTEN}"}, line: "GET VARIABLE X", want: "200 result=1 (5511987654321)\n"},
		{name: "exec Goto without target", line: "EXEC Goto", want: "200 result=-1\n"},
		{name: "exec Goto to a label", line: "EXEC Goto blocked,s,start", want: "200 result=-1\n"},
		{name: "exec Hangup by cause name", lines: []string{"EXEC Hangup USER_BUSY"}, line: "GET VARIABLE HANGUPCAUSE", want: "200 result=1 (17)\n"},
		{name: "exec Hangup, bad cause", lines: []string{"EXEC Hangup nonsense"}, line: "GET VARIABLE HANGUPCAUSE", want: "200 result=1 (16)\n"},
		{name: "hangup other channel", line: "HANGUP NoSuch/channel-0001", want: "200 result=-1\n"},
		{name: "hangup own channel by name", line: "HANGUP local/5511987654321@outbound-00000001;2", want: "200 result=1\nHANGUP\n"},
		{name: "hangup, 3 words", line: "HANGUP too many args", want: "520-Invalid command syntax.  Proper usage follows:\n" + usageHangup + "\n520 End of proper usage.\n"},
		{name: "noop", line: "NOOP whatever", want: "200 result=0\n"},
		{name: "verbose", line: `VERBOSE "hello there" 1`, want: "200 result=1\n"},
		{name: "answer", line: "ANSWER", want: "200 result=0\n"},
		{name: "channel status", line: "CHANNEL STATUS", want: "200 result=4\n"},
		{name: "channel status answered", lines: []string{"ANSWER"}, line: "CHANNEL STATUS", want: "200 result=6\n"},
		{name: "channel status preanswered", call: Call{Answered: true}, line: "CHANNEL STATUS", want: "200 result=6\n"},
		{name: "channel status other", line: "CHANNEL STATUS SIP/x", want: "200 result=-1\n"},
		{name: "set context", line: "SET CONTEXT blocked", want: "200 result=0\n"},
		{name: "set context, 2 words", line: "SET CONTEXT", want: "520-Invalid command syntax.  Proper usage follows:\n" + usageSetContext + "\n520 End of proper usage.\n"},
		{name: "set extension", line: "SET EXTENSION s", want: "200 result=0\n"},
		{name: "set extension, 4 words", line: "SET EXTENSION s t", want: "520-Invalid command syntax.  Proper usage follows:\n" + usageSetExtension + "\n520 End of proper usage.\n"},
		{name: "set priority label", line: "SET PRIORITY start", want: "520-Invalid command syntax.  Proper usage follows:\n" + usageSetPriority + "\n520 End of proper usage.\n"},
		{name: "stream file", line: `STREAM FILE beep ""`, want: "200 result=0 endpos=0\n"},
		{name: "stream file, bad offset", line: `STREAM FILE beep "" x`, want: "520-Invalid command syntax.  Proper usage follows:\n" + usageStreamFile + "\n520 End of proper usage.\n"},
		{name: "say digits", line: "SAY DIGITS 123 #", want: "200 result=0\n"},
		{name: "database get", lines: []string{"DATABASE PUT fam key val"}, line: "DATABASE GET fam key", want: "200 result=1 (val)\n"},
		{name: "database del missing", line: "DATABASE DEL fam key", want: "200 result=0\n"},
		{name: "gosub", line: "GOSUB ctx s 1", want: "200 result=-1 Gosub label not found\n"},
	}
	for _, tt := range tests {
		s, buf := testSession(t, tt.call)
		for _, line := range tt.lines {
			s.handleLine(line)
		}
		if got := do(s, buf, tt.line); got != tt.want {
			t.Errorf("%s: %q wrote %q, want %q", tt.name, tt.line, got, tt.want)
		}
	}
}

// TestDeadChannel checks the dead column of the command table after
// AGI HANGUP: commands Asterisk refuses get 511, the others run.
func TestDeadChannel(t *testing.T) {
	const notPermitted = "511 Command Not Permitted on a dead channel or intercept routine\n"
	deadAllowed := map[string]bool{
		"asyncagi break": true, "database del": true, "database deltree": true, "database get": true,
		"database put": true, "exec": true, "get full variable": true, "get variable": true,
		"noop": true, "set variable": true, "verbose": true, "speech destroy": true,
		"speech unload grammar": true,
	}
	for _, c := range commands {
		name := strings.Join(c.words, " ")
		if c.dead != deadAllowed[name] {
			t.Errorf("%s: dead = %v, want %v", name, c.dead, deadAllowed[name])
		}
		s, buf := testSession(t, Call{})
		s.handleLine("HANGUP")
		got := do(s, buf, strings.ToUpper(name))
		if refused := got == notPermitted; refused == c.dead {
			t.Errorf("%s on a dead channel wrote %q", name, got)
		}
	}
}

func TestResultAfterCommands(t *testing.T) {
	tests := []struct {
		name      string
		lines     []string
		status    string
		cause     int
		gotoWant  string
		functions map[string]string
	}{
		{name: "nothing", status: StatusSuccess, cause: 16},
		{name: "exec hangup", lines: []string{"EXEC Hangup 21"}, status: StatusHangup, cause: 21},
		{name: "exec hangup default", lines: []string{"EXEC Hangup"}, status: StatusHangup, cause: 16},
		{name: "agi hangup", lines: []string{"HANGUP"}, status: StatusHangup, cause: 0},
		{name: "agi hangup then exec hangup", lines: []string{"HANGUP", "EXEC Hangup"}, status: StatusHangup, cause: 16},
		{name: "goto", lines: []string{"EXEC Goto blocked,s,1"}, status: StatusSuccess, cause: 16, gotoWant: "blocked,s,1"},
		{name: "goto exten,prio", lines: []string{"EXEC Goto s,5"}, status: StatusSuccess, cause: 16, gotoWant: "outbound,s,5"},
		{name: "goto prio", lines: []string{"EXEC Goto 7"}, status: StatusSuccess, cause: 16, gotoWant: "outbound,5511987654321,7"},
		{name: "goto relative", lines: []string{"EXEC Goto +2"}, status: StatusSuccess, cause: 16, gotoWant: "outbound,5511987654321,3"},
		{name: "set context", lines: []string{"SET CONTEXT blocked"}, status: StatusSuccess, cause: 16, gotoWant: "blocked,5511987654321,2"},
		{name: "set extension", lines: []string{"SET EXTENSION s"}, status: StatusSuccess, cause: 16, gotoWant: "outbound,s,2"},
		{name: "set empty context", lines: []string{`SET CONTEXT ""`}, status: StatusSuccess, cause: 16, gotoWant: ",5511987654321,2"},
		{name: "set context, extension, priority", lines: []string{"SET CONTEXT c", "SET EXTENSION e", "SET PRIORITY 9"}, status: StatusSuccess, cause: 16, gotoWant: "c,e,9"},
		{name: "gosub fails", lines: []string{"GOSUB ctx s 1"}, status: StatusFailure, cause: 16},
		{name: "function write", lines: []string{"SET VARIABLE CDR(userfield) blocked"}, status: StatusSuccess, cause: 16,
			functions: map[string]string{"CDR(userfield)": "blocked"}},
	}
	for _, tt := range tests {
		s, _ := testSession(t, Call{})
		for _, line := range tt.lines {
			s.handleLine(line)
		}
		cause := CauseNormalClearing
		if s.dead {
			cause = s.ch.hangupCause
		}
		if s.status() != tt.status || cause != tt.cause || s.ch.gotoString() != tt.gotoWant {
			t.Errorf("%s: status %q, cause %d, goto %q; want %q, %d, %q",
				tt.name, s.status(), cause, s.ch.gotoString(), tt.status, tt.cause, tt.gotoWant)
		}
		if tt.functions != nil && !mapsEqual(s.ch.functions, tt.functions) {
			t.Errorf("%s: function writes %v, want %v", tt.name, s.ch.functions, tt.functions)
		}
	}
}

func TestSubstitute(t *testing.T) {
	s, _ := testSession(t, Call{Vars: map[string]string{
		"Q9": "dollar ${EXTEN} $[1+1]", "NAME": "EXTEN", "S": "abcdef", "A": "x"}})
	tests := []struct{ in, want string }{
		{"${Q9}", "dollar ${EXTEN} $[1+1]"}, // values are not substituted again
		{"${NO_SUCH_VAR}", ""},
		{"plain $ text $[1+1]", "plain $ text $[1+1]"},
		{"${${NAME}}", "5511987654321"},
		{"${S:1}", "bcdef"},
		{"${S:1:2}", "bc"},
		{"${S:-2}", "ef"},
		{"${S:0:-2}", "abcd"},
		{"${S:10}", ""},
		{"${S:-10:2}", "ab"},
		{"${LEN(${S})}", "6"},
		{"${CALLERID(num):0:4}", "5511"},
		{"${A}${A}", "xx"},
		{"${A", "x"}, // a missing brace ends the name at the end of input
		{"${}", ""},
		{"${{A}}", ""},
	}
	for _, tt := range tests {
		if got := s.ch.substitute(tt.in); got != tt.want {
			t.Errorf("substitute(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDialAddress(t *testing.T) {
	tests := []struct{ url, want string }{
		{"agi://127.0.0.1:4575/blacklist?x=1", "127.0.0.1:4575"},
		{"agi://127.0.0.1/blacklist", "127.0.0.1:4573"},
		{"AGI://host", "host:4573"},
		{"agi://[::1]:4000/x", "[::1]:4000"},
		{"agi://[::1]/x", "[::1]:4573"},
	}
	for _, tt := range tests {
		if got, err := dialAddress(tt.url); err != nil || got != tt.want {
			t.Errorf("dialAddress(%q) = %q, %v; want %q", tt.url, got, err, tt.want)
		}
	}
}

func TestEnvBlockDefaults(t *testing.T) {
	call := Call{URL: "agi://127.0.0.1:4573", UniqueID: "u1", ThreadID: 7}
	want := "agi_network: yes\n" +
		"agi_request: agi://127.0.0.1:4573\n" +
		"agi_channel: Local/5511987654321@outbound-00000001;2\n" +
		"agi_language: en\nagi_type: Local\nagi_uniqueid: u1\nagi_version: 22.10.1\n" +
		"agi_callerid: unknown\nagi_calleridname: unknown\nagi_callingpres: 67\n" +
		"agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\n" +
		"agi_dnid: unknown\nagi_rdnis: unknown\nagi_context: outbound\n" +
		"agi_extension: 5511987654321\nagi_priority: 1\nagi_enhanced: 0.0\n" +
		"agi_accountcode: \nagi_threadid: 7\n\n"
	if got := string(call.EnvBlock()); got != want {
		t.Errorf("EnvBlock() =\n%s\nwant\n%s", got, want)
	}
	a, b := Call{}, Call{}
	a, _ = a.withDefaults()
	b, _ = b.withDefaults()
	if a.UniqueID == b.UniqueID || a.ThreadID == b.ThreadID {
		t.Errorf("two calls share UniqueID %q or ThreadID %d", a.UniqueID, a.ThreadID)
	}
}

func FuzzSubstitute(f *testing.F) {
	for _, seed := range []string{"${Q9}", "${${NAME}}", "${S:1:2}", "${LEN(${S})}", "${", "${{}}}", "$[1+1]", "${CALLERID(all):-3}"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, _ := testSession(t, Call{Vars: map[string]string{"NAME": "S", "S": "abcdef"}})
		out := s.ch.substitute(in) // must not panic
		if !strings.Contains(in, "${") && out != in {
			t.Fatalf("substitute(%q) = %q, want the input unchanged", in, out)
		}
	})
}

// FuzzCommand runs arbitrary command lines: the emulator must not panic and
// must answer each one with a final "NNN " line, as Asterisk does.
func FuzzCommand(f *testing.F) {
	for _, seed := range []string{
		"SET VARIABLE BLACKLIST_STATUS ALLOWED", "EXEC Hangup 21", "HANGUP", "EXEC Goto a,b,+1",
		`GET FULL VARIABLE "${CALLERID(num)} ${EXTEN}"`, "SET PRIORITY -5", "CHANNEL STATUS x y",
		"DATABASE DELTREE fam", "RECORD FILE f wav # 1000 0 BEEP s=5", "EXEC Set CALLERID(all)=\"A\" <1>",
		"SET CALLERID \"Name\" <123>", "SAY DATETIME 0 # ABdY", "\"\\",
	} {
		f.Add(seed, seed)
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		s, buf := testSession(t, Call{})
		for _, line := range []string{first, second} {
			if strings.ContainsAny(line, "\n") || asciiHasPrefixFold(line, "failure") {
				return
			}
			out := do(s, buf, line)
			replied := false
			for l := range strings.SplitSeq(out, "\n") {
				if finalReply.MatchString(l) {
					replied = true
				}
			}
			if !replied {
				t.Fatalf("%q wrote %q: no final reply line", line, out)
			}
		}
	})
}

func TestIsTrueIsFalse(t *testing.T) {
	tests := []struct {
		v       string
		yes, no bool // what isTrue and isFalse return
	}{
		{"yes", true, false}, {"YES", true, false}, {"True", true, false}, {"y", true, false},
		{"T", true, false}, {"1", true, false}, {"oN", true, false},
		{"no", false, true}, {"NO", false, true}, {"false", false, true}, {"N", false, true},
		{"f", false, true}, {"0", false, true}, {"Off", false, true},
		{"", false, false}, {"yes ", false, false}, {"2", false, false}, {"ja", false, false}, {"\u017fes", false, false},
	}
	for _, tt := range tests {
		if isTrue(tt.v) != tt.yes || isFalse(tt.v) != tt.no {
			t.Errorf("isTrue(%q), isFalse(%q) = %v, %v; want %v, %v", tt.v, tt.v, isTrue(tt.v), isFalse(tt.v), tt.yes, tt.no)
		}
	}
}
