package agitest

import (
	"strconv"
	"strings"
)

// outcome is what a command handler asks of agi_handle_command.
type outcome int

const (
	handled   outcome = iota // the handler wrote its reply
	showUsage                // write the 520 usage block
)

// command is one entry of Asterisk's AGI command table.
type command struct {
	words []string // the command's words, lower case, e.g. {"get", "variable"}
	dead  bool     // allowed on a hung-up channel (the "dead" column of res_agi.c)
	usage string   // the usage text of the 520 block
	run   func(s *session, argv []string) outcome
}

// findCommand is find_command(argv, 0): the first command whose words
// match the start of argv, ignoring ASCII case.
func findCommand(argv []string) *command {
	for i := range commands {
		c := &commands[i]
		if len(argv) < len(c.words) {
			continue
		}
		match := true
		for y, word := range c.words {
			if !asciiEqualFold(word, argv[y]) {
				match = false
				break
			}
		}
		if match {
			return c
		}
	}
	return nil
}

// Usage texts. The ones for SET VARIABLE, GET VARIABLE, EXEC and HANGUP are
// the bytes Asterisk 22.10.1 sent in the recorded transcripts; the others
// are rendered the same way (paragraphs of the XML documentation, one per
// line, markup kept) from res_agi.c's documentation.
const (
	usageSetVariable = "Sets a variable to the current channel."
	usageGetVariable = "Returns <literal>0</literal> if <replaceable>variablename</replaceable> is not set. " +
		"Returns <literal>1</literal> if <replaceable>variablename</replaceable> is set and returns the variable in parentheses.\n" +
		"Example return code: 200 result=1 (testvariable)"
	usageExec = "Executes <replaceable>application</replaceable> with given <replaceable>options</replaceable>.\n" +
		"Returns whatever the <replaceable>application</replaceable> returns, or <literal>-2</literal> on failure to find <replaceable>application</replaceable>.\n" +
		"<note>NOTE:</note> exec does not evaluate dialplan functions and variables unless it is explicitly enabled by setting the <variable>AGIEXECFULL</variable> variable to <literal>yes</literal>."
	usageHangup          = "Hangs up the specified channel. If no channel name is given, hangs up the current channel"
	usageGetFullVariable = "Evaluates the given <replaceable>expression</replaceable> against the channel specified by <replaceable>channelname</replaceable>, or the current channel if <replaceable>channelname</replaceable> is not provided.\n" +
		"Unlike GET VARIABLE, the <replaceable>expression</replaceable> is processed in a manner similar to dialplan evaluation, allowing complex and built-in variables to be accessed, e.g. <literal>The time is ${EPOCH}</literal>\n" +
		"Returns <literal>0</literal> if no channel matching <replaceable>channelname</replaceable> exists, <literal>1</literal> otherwise.\n" +
		"Example return code: 200 result=1 (The time is 1578493800)"
	usageChannelStatus = "Returns the status of the specified <replaceable>channelname</replaceable>. If no channel name is given then returns the status of the current channel.\n" +
		"Return values:"
	usageSetContext        = "Sets the context for continuation upon exiting the application."
	usageSetExtension      = "Changes the extension for continuation upon exiting the application."
	usageSetPriority       = "Changes the priority for continuation upon exiting the application. The priority must be a valid priority or label."
	usageVerbose           = "Sends <replaceable>message</replaceable> to the console via verbose message system. <replaceable>level</replaceable> is the verbose level (1-4). Always returns <literal>1</literal>"
	usageStreamFile        = "Send the given file, allowing playback to be interrupted by the given digits, if any. Returns <literal>0</literal> if playback completes without a digit being pressed, or the ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on error or if the channel was disconnected. If musiconhold is playing before calling stream file it will be automatically stopped and will not be restarted after completion."
	usageControlStreamFile = "Send the given file, allowing playback to be controlled by the given digits, if any. Use double quotes for the digits if you wish none to be permitted. Returns <literal>0</literal> if playback completes without a digit being pressed, or the ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on error or if the channel was disconnected."
	usageGetData           = "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n" +
		"Returns the digits received from the channel at the other end."
	usageGetOption     = "Behaves similar to STREAM FILE but used with a timeout option."
	usageWaitForDigit  = "Waits up to <replaceable>timeout</replaceable> milliseconds for channel to receive a DTMF digit. Returns <literal>-1</literal> on channel failure, <literal>0</literal> if no digit is received in the timeout, or the numerical value of the ascii of the digit if one is received. Use <literal>-1</literal> for the <replaceable>timeout</replaceable> value if you desire the call to block indefinitely."
	usageReceiveChar   = "Receives a character of text on a channel. Most channels do not support the reception of text. Returns the decimal value of the character if one is received, or <literal>0</literal> if the channel does not support text reception. Returns <literal>-1</literal> only on error/hangup."
	usageReceiveText   = "Receives a string of text on a channel. Most channels do not support the reception of text. Returns <literal>-1</literal> for failure or <literal>1</literal> for success, and the string in parenthesis."
	usageRecordFile    = "Record to a file until a given dtmf digit in the sequence is received. Returns <literal>-1</literal> on hangup or error.  The format will specify what kind of file will be recorded. The <replaceable>timeout</replaceable> is the maximum record time in milliseconds, or <literal>-1</literal> for no <replaceable>timeout</replaceable>. <replaceable>offset samples</replaceable> is optional, and, if provided, will seek to the offset without exceeding the end of the file. <replaceable>silence</replaceable> is the number of seconds of silence allowed before the function returns despite the lack of dtmf digits or reaching <replaceable>timeout</replaceable>. <replaceable>silence</replaceable> value must be preceded by <literal>s=</literal> and is also optional."
	sayReturns         = " Returns <literal>0</literal> if playback completes without a digit being pressed, or the ASCII numerical value of the digit if one was pressed or <literal>-1</literal> on error/hangup."
	usageSayAlpha      = "Say a given character string, returning early if any of the given DTMF digits are received on the channel." + sayReturns
	usageSayDigits     = "Say a given digit string, returning early if any of the given DTMF digits are received on the channel." + sayReturns
	usageSayNumber     = "Say a given number, returning early if any of the given DTMF digits are received on the channel." + sayReturns
	usageSayPhonetic   = "Say a given character string with phonetics, returning early if any of the given DTMF digits are received on the channel." + sayReturns
	usageSayDate       = "Say a given date, returning early if any of the given DTMF digits are received on the channel." + sayReturns
	usageSayTime       = "Say a given time, returning early if any of the given DTMF digits are received on the channel." + sayReturns
	usageSendImage     = "Sends the given image on a channel. Most channels do not support the transmission of images. Returns <literal>0</literal> if image is sent, or if the channel does not support image transmission.  Returns <literal>-1</literal> only on error/hangup. Image names should not include extensions."
	usageSendText      = "Sends the given text on a channel. Most channels do not support the transmission of text. Returns <literal>0</literal> if text is sent, or if the channel does not support text transmission. Returns <literal>-1</literal> only on error/hangup."
	usageSetAutohangup = "Cause the channel to automatically hangup at <replaceable>time</replaceable> seconds in the future. Of course it can be hungup before then as well. Setting to <literal>0</literal> will cause the autohangup feature to be disabled on this channel."
	usageSetMusic      = "Enables/Disables the music on hold generator. If <replaceable>class</replaceable> is not specified, then the <literal>default</literal> music on hold class will be used. This generator will be stopped automatically when playing a file.\n" +
		"Always returns <literal>0</literal>."
	usageTDDMode     = "Enable/Disable TDD transmission/reception on a channel. Returns <literal>1</literal> if successful, or <literal>0</literal> if channel is not TDD-capable."
	usageDatabaseDel = "Deletes an entry in the Asterisk database for a given <replaceable>family</replaceable> and <replaceable>key</replaceable>.\n" +
		"Returns <literal>1</literal> if successful, <literal>0</literal> otherwise."
	usageDatabaseDeltree = "Deletes a <replaceable>family</replaceable> or specific <replaceable>keytree</replaceable> within a <replaceable>family</replaceable> in the Asterisk database.\n" +
		"Returns <literal>1</literal> if successful, <literal>0</literal> otherwise."
	usageDatabaseGet = "Retrieves an entry in the Asterisk database for a given <replaceable>family</replaceable> and <replaceable>key</replaceable>.\n" +
		"Returns <literal>0</literal> if <replaceable>key</replaceable> is not set. Returns <literal>1</literal> if <replaceable>key</replaceable> is set and returns the variable in parenthesis.\n" +
		"Example return code: 200 result=1 (testvariable)"
	usageDatabasePut = "Adds or updates an entry in the Asterisk database for a given <replaceable>family</replaceable>, <replaceable>key</replaceable>, and <replaceable>value</replaceable>.\n" +
		"Returns <literal>1</literal> if successful, <literal>0</literal> otherwise."
	usageSpeechCreate     = "Create a speech object to be used by the other Speech AGI commands."
	usageSpeechSet        = "Set an engine-specific setting."
	usageSpeechLoad       = "Loads the specified grammar as the specified name."
	usageSpeechUnload     = "Unloads the specified grammar."
	usageSpeechActivate   = "Activates the specified grammar on the speech object."
	usageSpeechDeactivate = "Deactivates the specified grammar on the speech object."
	usageSpeechRecognize  = "Plays back given <replaceable>prompt</replaceable> while listening for speech and dtmf."
	usageGosub            = "Cause the channel to execute the specified dialplan subroutine, returning to the dialplan with execution of a Return()."
)

// result formats a "200 result=<n>" reply.
func result(n int) string { return "200 result=" + strconv.Itoa(n) + "\n" }

// argcIn returns a handler that checks lo <= argc <= hi, then replies text.
func argcIn(lo, hi int, text string) func(*session, []string) outcome {
	return func(s *session, argv []string) outcome {
		if len(argv) < lo || len(argv) > hi {
			return showUsage
		}
		s.reply(text)
		return handled
	}
}

// numericArg returns a handler for commands that need argc in [lo, hi] and
// a number (sscanf "%d") at argv[i].
func numericArg(lo, hi, i int, text string) func(*session, []string) outcome {
	return func(s *session, argv []string) outcome {
		if len(argv) < lo || len(argv) > hi {
			return showUsage
		}
		if _, _, ok := scanInt(argv[i]); !ok {
			return showUsage
		}
		s.reply(text)
		return handled
	}
}

const manyArgs = 1 << 30

// commands is Asterisk 22's AGI command table in registration order, with
// the dead flags of res_agi.c (and app_stack.c for GOSUB).
var commands = []command{
	{words: []string{"answer"}, run: handleAnswer},
	{words: []string{"asyncagi", "break"}, dead: true, run: argcIn(0, manyArgs, result(0))},
	{words: []string{"channel", "status"}, usage: usageChannelStatus, run: handleChannelStatus},
	{words: []string{"control", "stream", "file"}, usage: usageControlStreamFile, run: handleControlStreamFile},
	{words: []string{"database", "del"}, dead: true, usage: usageDatabaseDel, run: handleDatabaseDel},
	{words: []string{"database", "deltree"}, dead: true, usage: usageDatabaseDeltree, run: handleDatabaseDeltree},
	{words: []string{"database", "get"}, dead: true, usage: usageDatabaseGet, run: handleDatabaseGet},
	{words: []string{"database", "put"}, dead: true, usage: usageDatabasePut, run: handleDatabasePut},
	{words: []string{"exec"}, dead: true, usage: usageExec, run: handleExec},
	{words: []string{"get", "data"}, usage: usageGetData, run: argcIn(3, manyArgs, "200 result= (timeout)\n")},
	{words: []string{"get", "full", "variable"}, dead: true, usage: usageGetFullVariable, run: handleGetFullVariable},
	{words: []string{"get", "option"}, usage: usageGetOption, run: argcIn(4, 5, "200 result=0 endpos=0\n")},
	{words: []string{"get", "variable"}, dead: true, usage: usageGetVariable, run: handleGetVariable},
	{words: []string{"hangup"}, usage: usageHangup, run: handleHangup},
	{words: []string{"noop"}, dead: true, run: argcIn(0, manyArgs, result(0))},
	{words: []string{"receive", "char"}, usage: usageReceiveChar, run: argcIn(3, 3, "200 result=0 (timeout)\n")},
	{words: []string{"receive", "text"}, usage: usageReceiveText, run: argcIn(3, 3, result(-1))},
	{words: []string{"record", "file"}, usage: usageRecordFile, run: numericArg(6, manyArgs, 5, "200 result=0 (timeout) endpos=0\n")},
	{words: []string{"say", "alpha"}, usage: usageSayAlpha, run: argcIn(4, 4, result(0))},
	{words: []string{"say", "digits"}, usage: usageSayDigits, run: numericArg(4, 4, 2, result(0))},
	{words: []string{"say", "number"}, usage: usageSayNumber, run: numericArg(4, 5, 2, result(0))},
	{words: []string{"say", "phonetic"}, usage: usageSayPhonetic, run: argcIn(4, 4, result(0))},
	{words: []string{"say", "date"}, usage: usageSayDate, run: numericArg(4, 4, 2, result(0))},
	{words: []string{"say", "time"}, usage: usageSayTime, run: numericArg(4, 4, 2, result(0))},
	{words: []string{"say", "datetime"}, usage: usageSayTime, run: numericArg(4, manyArgs, 2, result(0))},
	{words: []string{"send", "image"}, usage: usageSendImage, run: argcIn(3, 3, result(0))},
	{words: []string{"send", "text"}, usage: usageSendText, run: argcIn(3, 3, result(0))},
	{words: []string{"set", "autohangup"}, usage: usageSetAutohangup, run: handleSetAutohangup},
	{words: []string{"set", "callerid"}, run: handleSetCallerID},
	{words: []string{"set", "context"}, usage: usageSetContext, run: handleSetContext},
	{words: []string{"set", "extension"}, usage: usageSetExtension, run: handleSetExtension},
	{words: []string{"set", "music"}, usage: usageSetMusic, run: argcIn(3, manyArgs, result(0))},
	{words: []string{"set", "priority"}, usage: usageSetPriority, run: handleSetPriority},
	{words: []string{"set", "variable"}, dead: true, usage: usageSetVariable, run: handleSetVariable},
	{words: []string{"stream", "file"}, usage: usageStreamFile, run: handleStreamFile},
	{words: []string{"tdd", "mode"}, usage: usageTDDMode, run: argcIn(3, 3, result(0))},
	{words: []string{"verbose"}, dead: true, usage: usageVerbose, run: argcIn(2, manyArgs, result(1))},
	{words: []string{"wait", "for", "digit"}, usage: usageWaitForDigit, run: numericArg(4, 4, 3, result(0))},
	{words: []string{"speech", "create"}, usage: usageSpeechCreate, run: argcIn(3, 3, result(0))},
	{words: []string{"speech", "set"}, usage: usageSpeechSet, run: argcIn(4, 4, result(0))},
	{words: []string{"speech", "destroy"}, dead: true, run: argcIn(0, manyArgs, result(0))},
	{words: []string{"speech", "load", "grammar"}, usage: usageSpeechLoad, run: argcIn(5, 5, result(0))},
	{words: []string{"speech", "unload", "grammar"}, dead: true, usage: usageSpeechUnload, run: argcIn(4, 4, result(0))},
	{words: []string{"speech", "activate", "grammar"}, usage: usageSpeechActivate, run: argcIn(4, 4, result(0))},
	{words: []string{"speech", "deactivate", "grammar"}, usage: usageSpeechDeactivate, run: argcIn(4, 4, result(0))},
	{words: []string{"speech", "recognize"}, usage: usageSpeechRecognize, run: argcIn(4, manyArgs, result(0))},
	{words: []string{"gosub"}, usage: usageGosub, run: handleGosub},
}

func handleAnswer(s *session, argv []string) outcome {
	s.ch.answered = true
	s.reply(result(0))
	return handled
}

func handleChannelStatus(s *session, argv []string) outcome {
	switch len(argv) {
	case 2:
		s.reply(result(s.ch.state()))
	case 3:
		if s.ch.isMe(argv[2]) {
			s.reply(result(s.ch.state()))
		} else {
			s.reply(result(-1))
		}
	default:
		return showUsage
	}
	return handled
}

func handleControlStreamFile(s *session, argv []string) outcome {
	if len(argv) < 5 || len(argv) > 10 {
		return showUsage
	}
	if len(argv) > 5 {
		if _, _, ok := scanInt(argv[5]); !ok {
			return showUsage
		}
	}
	s.reply(result(0))
	return handled
}

func handleStreamFile(s *session, argv []string) outcome {
	if len(argv) < 4 || len(argv) > 5 {
		return showUsage
	}
	if len(argv) > 4 {
		if _, _, ok := scanInt(argv[4]); !ok {
			return showUsage
		}
	}
	// The emulator has no sound files: every file plays to its end.
	s.reply("200 result=0 endpos=0\n")
	return handled
}

func handleDatabaseGet(s *session, argv []string) outcome {
	if len(argv) != 4 {
		return showUsage
	}
	if v, ok := s.ch.db[argv[2]+"/"+argv[3]]; ok {
		s.reply("200 result=1 (" + v + ")\n")
	} else {
		s.reply(result(0))
	}
	return handled
}

func handleDatabasePut(s *session, argv []string) outcome {
	if len(argv) != 5 {
		return showUsage
	}
	s.ch.db[argv[2]+"/"+argv[3]] = argv[4]
	s.reply(result(1))
	return handled
}

func handleDatabaseDel(s *session, argv []string) outcome {
	if len(argv) != 4 {
		return showUsage
	}
	key := argv[2] + "/" + argv[3]
	if _, ok := s.ch.db[key]; ok {
		delete(s.ch.db, key)
		s.reply(result(1))
	} else {
		s.reply(result(0))
	}
	return handled
}

func handleDatabaseDeltree(s *session, argv []string) outcome {
	if len(argv) < 3 || len(argv) > 4 {
		return showUsage
	}
	prefix := argv[2] + "/"
	if len(argv) == 4 {
		prefix += argv[3]
	}
	deleted := 0
	for key := range s.ch.db {
		if strings.HasPrefix(key, prefix) {
			delete(s.ch.db, key)
			deleted++
		}
	}
	// res_agi.c answers '0' when something was deleted and '1' otherwise.
	if deleted > 0 {
		s.reply(result(0))
	} else {
		s.reply(result(1))
	}
	return handled
}

func handleExec(s *session, argv []string) outcome {
	if len(argv) < 2 {
		return showUsage
	}
	data := ""
	if len(argv) > 2 {
		data = argv[2]
		if v, _ := s.ch.variable("AGIEXECFULL"); isTrue(v) {
			data = s.ch.substitute(data)
		}
	}
	app := argv[1]
	switch {
	case asciiEqualFold(app, "Hangup"):
		// pbx_builtin_hangup sets the cause, hangs up and returns -1.
		s.ch.hangupCause = s.ch.hangupAppCause(data)
		s.reply(result(-1))
		s.hangup()
	case asciiEqualFold(app, "Goto"):
		if s.ch.gotoTarget(data) {
			s.reply(result(0))
		} else {
			s.reply(result(-1))
		}
	case asciiEqualFold(app, "Set"):
		// pbx_builtin_setvar: "name=value"; without "=" it only warns.
		if name, value, ok := strings.Cut(data, "="); ok {
			s.ch.setVar(name, value)
		}
		s.reply(result(0))
	case asciiEqualFold(app, "Answer"):
		if s.dead {
			s.reply(result(-1))
			break
		}
		s.ch.answered = true
		s.reply(result(0))
	case asciiEqualFold(app, "NoOp"), asciiEqualFold(app, "Verbose"), asciiEqualFold(app, "Log"):
		s.reply(result(0))
	default:
		// pbx_findapp fails: "Could not find application".
		s.reply(result(-2))
	}
	return handled
}

func handleGetVariable(s *session, argv []string) outcome {
	if len(argv) != 3 {
		return showUsage
	}
	name := argv[2]
	var value string
	var ok bool
	if strings.HasSuffix(name, ")") {
		value, ok = s.ch.readFunction(name)
	} else {
		value, ok = s.ch.variable(name)
	}
	if ok {
		s.reply("200 result=1 (" + value + ")\n")
	} else {
		s.reply(result(0))
	}
	return handled
}

func handleGetFullVariable(s *session, argv []string) outcome {
	if len(argv) != 4 && len(argv) != 5 {
		return showUsage
	}
	if len(argv) == 5 && !s.ch.isMe(argv[4]) {
		s.reply(result(0))
		return handled
	}
	s.reply("200 result=1 (" + s.ch.substitute(argv[3]) + ")\n")
	return handled
}

func handleHangup(s *session, argv []string) outcome {
	switch {
	case len(argv) == 1 || (len(argv) == 2 && s.ch.isMe(argv[1])):
		// ast_softhangup sets no cause: HANGUPCAUSE stays as it was (0).
		s.reply(result(1))
		s.hangup()
	case len(argv) == 2:
		s.reply(result(-1))
	default:
		return showUsage
	}
	return handled
}

func handleSetAutohangup(s *session, argv []string) outcome {
	if len(argv) != 3 || !scanFloat(argv[2]) {
		return showUsage
	}
	s.reply(result(0))
	return handled
}

func handleSetCallerID(s *session, argv []string) outcome {
	if len(argv) > 2 {
		s.ch.cidName, s.ch.callerID = parseCallerID(argv[2])
	}
	s.reply(result(1))
	return handled
}

func handleSetContext(s *session, argv []string) outcome {
	return setLocation(s, argv, &s.ch.context)
}

func handleSetExtension(s *session, argv []string) outcome {
	return setLocation(s, argv, &s.ch.exten)
}

// setLocation is SET CONTEXT and SET EXTENSION: the word argv[2], even an
// empty one, becomes where the dialplan goes on; the priority stays.
func setLocation(s *session, argv []string, field *string) outcome {
	if len(argv) != 3 {
		return showUsage
	}
	*field = argv[2]
	s.ch.moved = true
	s.reply(result(0))
	return handled
}

func handleSetPriority(s *session, argv []string) outcome {
	if len(argv) != 3 {
		return showUsage
	}
	pri, _, ok := scanInt(argv[2])
	if !ok {
		return showUsage // a label: there is no dialplan to find it in
	}
	s.ch.explicitGoto("", "", pri)
	s.reply(result(0))
	return handled
}

func handleSetVariable(s *session, argv []string) outcome {
	if len(argv) != 4 {
		return showUsage
	}
	s.ch.setVar(argv[2], argv[3])
	s.reply(result(1))
	return handled
}

func handleGosub(s *session, argv []string) outcome {
	if len(argv) < 4 || len(argv) > 5 {
		return showUsage
	}
	// There is no dialplan, so no label exists; Asterisk's handler returns
	// RESULT_FAILURE, which makes AGISTATUS=FAILURE.
	s.reply("200 result=-1 Gosub label not found\n")
	s.failed = true
	return handled
}
