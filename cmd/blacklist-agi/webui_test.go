package main_test

// Browser tests of the supervisors' page (issue #8): Debian's chromium,
// headless, driven through the DevTools protocol with chromedp, against the
// built server, a real redis-server and calls from the Asterisk emulator.
// The page's elements are found by their data-test attributes, the contract
// between the page and these tests. Every step is bounded by a deadline and
// waits on a condition of the page, never on a clock.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/blacklist-agi/blacklist-agi/internal/redistest"
)

const (
	// Admin tokens of the page's server.
	webUIReadToken  = "webui-read-token-0123456789"
	webUIWriteToken = "webui-write-token-abcdefghij"

	// webUIStep is the longest one step of a browser test may wait (a
	// loaded 2-core machine running the server with -race).
	webUIStep = 10 * time.Second

	// The page's storage keys (the contract).
	tokenStorageKey = "blacklist-agi-token"
	langStorageKey  = "blacklist-agi-lang"

	// The screen size of the tests and the screenshots.
	screenWidth, screenHeight = 1366, 900
)

// Numbers of the fixture.
const (
	dncNumber   = "5511987654321" // in shared/nao-me-perturbe
	dncReason   = "pediu para não ligar"
	spamReason  = "spam reportado"
	addedNumber = "5511955550001" // added and removed from the page
)

// pagedEntries are the entries of campaign/cobranca: prefixes, so that
// Redis keeps them in a hash table (not an intset or a listpack, which SSCAN
// returns whole) and the list page has several pages of them.
func pagedEntries() []string {
	var e []string
	for i := range 300 {
		e = append(e, fmt.Sprintf("5521900%03d*", i))
	}
	return e
}

// monitorNumbers are in shared/nao-me-perturbe: the monitoring test calls
// them to make blocked calls it can recognize in the log.
var monitorNumbers = []string{"5511977770001", "5511977770002", "5511977770003", "5511977770004", "5511977770005"}

// webUI is a running server with the page, its fixture data and a browser.
type webUI struct {
	s       *server
	base    string          // http://<admin address>
	browser context.Context // the browser's chromedp context
}

// browserPath returns the path of a Chromium-family browser. None found
// fails the test when BLACKLIST_REQUIRE_BROWSER=1 (CI), and skips it
// otherwise.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("BLACKLIST_REQUIRE_BROWSER") == "1" {
		t.Fatal("no browser (chromium, chromium-browser, google-chrome) on PATH, and BLACKLIST_REQUIRE_BROWSER=1")
	}
	t.Skip("no browser (chromium, chromium-browser, google-chrome) on PATH: set BLACKLIST_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// startWebUI starts the browser, the server with admin tokens, and writes
// the fixture's entries through the admin API.
func startWebUI(t *testing.T) *webUI {
	t.Helper()
	exe := browserPath(t)
	rdb := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)

	const listen = "admin:\n  listen: \"127.0.0.1:0\"\n"
	base := fmt.Sprintf(mainConfig, prefix, redistest.Addr(t))
	if !strings.Contains(base, listen) {
		t.Fatalf("mainConfig has no %q to add the tokens to", listen)
	}
	mainFile := strings.Replace(base, listen, listen+
		"  read_tokens: ["+webUIReadToken+"]\n  write_tokens: ["+webUIWriteToken+"]\n", 1)
	s := startServerConfig(t, mainFile, map[string]string{
		"promo.yaml":    "lists: [spam]\n",
		"cobranca.yaml": "lists: [national]\n",
	})
	ui := &webUI{s: s, base: "http://" + s.admin}

	ui.add(t, "shared/nao-me-perturbe", dncReason, append([]string{dncNumber}, monitorNumbers...)...)
	ui.add(t, "shared/spam", spamReason, "5511955554444", "5511955553333", "5511955552222")
	ui.add(t, "campaign/promo", "opt-out", "2001", "5511911112222")
	ui.add(t, "campaign/cobranca", "spam", pagedEntries()...)

	ui.browser = startBrowser(t, exe)
	return ui
}

// startBrowser starts a headless browser with a profile of its own, closed
// when the test ends.
func startBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(screenWidth, screenHeight),
		chromedp.Flag("lang", "en-US"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Do starts the browser and binds its life to ctx, so it gets
	// no deadline of its own: the wait is bounded here instead.
	within(t, 30*time.Second, "start the browser", func() error { return chromedp.Do(ctx) })
	return ctx
}

// within runs f and fails the test when f fails or takes longer than d (f
// is then left to end with the test's cleanups).
func within(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(d):
		t.Fatalf("%s: not done within %v", what, d)
	}
}

// api sends a request to the admin API with the write token and returns the
// status and the body.
func (ui *webUI) api(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), webUIStep)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, ui.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+webUIWriteToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// add adds entries to a list ("kind/name") through the admin API.
func (ui *webUI) add(t *testing.T, list, reason string, entries ...string) {
	t.Helper()
	code, body := ui.api(t, "POST", "/api/v1/lists/"+list+"/entries", map[string]any{"entries": entries, "reason": reason})
	if code != http.StatusOK {
		t.Fatalf("add %v to %s: %d %s", entries, list, code, body)
	}
}

// checkView is the part of GET /api/v1/check the page shows.
type checkView struct {
	Status string `json:"status"`
	Number string `json:"number"`
	List   string `json:"list"`
	Entry  string `json:"entry"`
	Reason string `json:"reason"`
	Meta   *struct {
		Reason string `json:"reason"`
	} `json:"meta"`
}

// check asks the admin API what the page should show for a number.
func (ui *webUI) check(t *testing.T, campaign, dialed string) checkView {
	t.Helper()
	_, body := ui.api(t, "GET", "/api/v1/check?campaign="+campaign+"&number="+url.QueryEscape(dialed), nil)
	var v checkView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("check %s %q: %v: %s", campaign, dialed, err, body)
	}
	return v
}

// newestBlocked returns the number of the newest call in the blocked-call
// log, "" when there is none.
func (ui *webUI) newestBlocked(t *testing.T) string {
	t.Helper()
	code, body := ui.api(t, "GET", "/api/v1/blocked?count=1", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/blocked: %d %s", code, body)
	}
	var out struct {
		Calls []struct {
			Number string `json:"number"`
		} `json:"calls"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET /api/v1/blocked: %v: %s", err, body)
	}
	if len(out.Calls) == 0 {
		return ""
	}
	return out.Calls[0].Number
}

// waitBlockedLogged waits until the blocked-call log's newest call is
// number: the server writes its log in the background.
func (ui *webUI) waitBlockedLogged(t *testing.T, number string) {
	t.Helper()
	deadline := time.Now().Add(webUIStep)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for newest := ui.newestBlocked(t); newest != number; newest = ui.newestBlocked(t) {
		if time.Now().After(deadline) {
			t.Fatalf("the blocked-call log does not show %s within %v (newest: %q)", number, webUIStep, newest)
		}
		<-tick.C
	}
}

// dictionary returns the values of one of the page's dictionaries, as served.
func (ui *webUI) dictionary(t *testing.T, lang string) map[string]string {
	t.Helper()
	resp, err := http.Get(ui.base + "/ui/assets/i18n/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ui/assets/i18n/%s.json: %d %v", lang, resp.StatusCode, err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatalf("/ui/assets/i18n/%s.json: %v", lang, err)
	}
	flat := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				walk(prefix+"."+k, c)
			}
		case string:
			flat[strings.TrimPrefix(prefix, ".")] = v
		}
	}
	walk("", tree)
	return flat
}

// tabOptions set up a new tab before it opens the page.
type tabOptions struct {
	token          string // put in sessionStorage, as a login would
	lang           string // put in localStorage, as the language menu would
	acceptLanguage string // the browser's languages (navigator.languages)
}

// tab is one browser tab, in a browser context of its own (its own
// storage), with the console messages of its page.
type tab struct {
	t   *testing.T
	ui  *webUI
	ctx context.Context

	mu         sync.Mutex
	console    []string
	exceptions []string // uncaught exceptions and promise rejections
}

// newTab opens a tab for the test; it is closed, after a dump of the page
// and its console when the test failed, when the test ends.
func (ui *webUI) newTab(t *testing.T, opt tabOptions) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(ui.browser, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, ui: ui, ctx: ctx}
	t.Cleanup(func() {
		tb.mu.Lock()
		if len(tb.exceptions) > 0 {
			t.Errorf("the page threw: %q", tb.exceptions)
		}
		tb.mu.Unlock()
		if t.Failed() {
			tb.dump()
		}
		cancel()
	})
	// As for the browser, the first Do opens the tab and binds it to ctx.
	within(t, webUIStep, "open a tab", func() error { return chromedp.Do(ctx) })
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m.String()+" ("+m.URL+")")
			if m.IsException() {
				tb.exceptions = append(tb.exceptions, m.String())
			}
			tb.mu.Unlock()
		}
	}()

	var script strings.Builder
	if opt.token != "" {
		fmt.Fprintf(&script, "sessionStorage.setItem(%s, %s);\n", jsString(tokenStorageKey), jsString(opt.token))
	}
	if opt.lang != "" {
		fmt.Fprintf(&script, "if (!localStorage.getItem(%[1]s)) localStorage.setItem(%[1]s, %[2]s);\n", jsString(langStorageKey), jsString(opt.lang))
	}
	tb.do("set the viewport", chromedp.EmulateViewport(screenWidth, screenHeight),
		func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
			if script.Len() > 0 {
				if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
					page.AddScriptToEvaluateOnNewDocumentParams{Source: script.String()}); err != nil {
					return chromedp.Void{}, err
				}
			}
			if opt.acceptLanguage != "" {
				v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
				if err != nil {
					return chromedp.Void{}, err
				}
				if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride,
					emulation.SetUserAgentOverrideParams{UserAgent: v.UserAgent, AcceptLanguage: opt.acceptLanguage}); err != nil {
					return chromedp.Void{}, err
				}
			}
			return chromedp.Void{}, nil
		})
	return tb
}

// allowDownloads makes the tab's downloads go to a folder of the test's
// own, and returns it.
func (tb *tab) allowDownloads() string {
	tb.t.Helper()
	dir := tb.t.TempDir()
	tb.do("allow downloads", func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: "allow", BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID, DownloadPath: dir})
		return chromedp.Void{}, err
	})
	return dir
}

// waitDownload waits until the browser has saved the file name into dir
// (it writes a .crdownload file and renames it when done), and returns its
// content.
func (tb *tab) waitDownload(dir, name string) string {
	tb.t.Helper()
	deadline := time.Now().Add(webUIStep)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return string(b)
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			tb.t.Fatalf("no download %s within %v (the folder has %q)", name, webUIStep, names)
		}
		<-tick.C
	}
}

// dump logs what the page shows and what it wrote to its console.
func (tb *tab) dump() {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		text = "(unreadable: " + err.Error() + ")"
	}
	if len(text) > 3000 {
		text = text[:3000] + "..."
	}
	tb.mu.Lock()
	console := strings.Join(tb.console, "\n")
	tb.mu.Unlock()
	tb.t.Logf("the page at the failure:\n%s\nits console:\n%s", text, console)
}

// do runs actions within one step's deadline.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, webUIStep)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// evalJS returns the value of a JavaScript expression in the page.
func evalJS[T any](tb *tab, what, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, webUIStep)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is truthy in the page. It
// evaluates the expression from here rather than with chromedp.Poll, whose
// page function needs eval, which the page's Content-Security-Policy
// (rightly) forbids.
func (tb *tab) waitJS(what, expr string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, webUIStep)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			tb.t.Fatalf("%s: not seen within %v (last error: %v)", what, webUIStep, err)
		case <-tick.C:
		}
	}
}

// dt is the CSS selector of the elements with a data-test name.
func dt(name string) string { return `[data-test="` + name + `"]` }

// dtWith is dt for the elements whose attribute attr is value.
func dtWith(name, attr, value string) string {
	return fmt.Sprintf(`[data-test=%q][%s=%q]`, name, attr, value)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// jsQuery is the JavaScript expression of the first element of sel.
func jsQuery(sel string) string { return "document.querySelector(" + jsString(sel) + ")" }

// open shows a route of the page ("/lists", "/check"...).
func (tb *tab) open(route string) {
	tb.t.Helper()
	tb.do("open #"+route, chromedp.Navigate(tb.ui.base+"/ui/#"+route))
}

// waitVisible waits until the first element of sel is visible.
func (tb *tab) waitVisible(sel string) {
	tb.t.Helper()
	tb.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// click clicks the first element of sel with the mouse, once it is visible.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// typeIn types text into the first element of sel, as a keyboard would.
func (tb *tab) typeIn(sel, text string) {
	tb.t.Helper()
	tb.fill(sel, "")
	tb.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// fill sets the value of an input, a text area or a select (as a paste or a
// choice would) and fires its input and change events.
func (tb *tab) fill(sel, value string) {
	tb.t.Helper()
	tb.waitVisible(sel)
	ok := evalJS[bool](tb, "fill "+sel, fmt.Sprintf(`((el, v) => {
		el.focus();
		el.value = v;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return el.value === v;
	})(%s, %s)`, jsQuery(sel), jsString(value)))
	if !ok {
		tb.t.Fatalf("%s does not take the value %q (a select without that option?)", sel, value)
	}
}

// text returns the text of the first element of sel, failing when there is
// none.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	v := evalJS[*string](tb, "read "+sel, fmt.Sprintf(`((el) => el ? el.innerText : null)(%s)`, jsQuery(sel)))
	if v == nil {
		tb.t.Fatalf("no %s on the page", sel)
	}
	return *v
}

// count returns how many elements sel selects.
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	return evalJS[int](tb, "count "+sel, "document.querySelectorAll("+jsString(sel)+").length")
}

// hidden is a JavaScript expression true when sel selects no visible element.
func hidden(sel string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%s)].every(el => el.getClientRects().length === 0)`, jsString(sel))
}

// digits returns the digits of s: numbers may be shown with separators.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// TestWebUI runs the page's scenarios against one server and one browser,
// each subtest in a tab and browser context (storage) of its own.
func TestWebUI(t *testing.T) {
	ui := startWebUI(t)

	t.Run("Login", ui.testLogin)
	t.Run("Check", ui.testCheck)
	t.Run("AddRemove", ui.testAddRemove)
	t.Run("PagingExport", ui.testPagingExport)
	t.Run("Import", ui.testImport)
	t.Run("Monitor", ui.testMonitor)
	t.Run("Language", ui.testLanguage)
	t.Run("Scrub", ui.testScrub)
	t.Run("ReadToken", ui.testReadToken)
	t.Run("Accessibility", ui.testAccessibility)
}

// testScrub: a lead file uploaded on the scrub page, with a read token
// (a scrub changes no list), comes back clean: the blocked row removed and
// reported, the others kept as they were.
func (ui *webUI) testScrub(t *testing.T) {
	file := filepath.Join(t.TempDir(), "leads.csv")
	const leads = "nome,telefone\nAna,(11) 95555-2222\nBia,11966661111\nCai,11966662222\n"
	writeFile(t, file, leads)

	tb := ui.newTab(t, tabOptions{token: webUIReadToken, lang: "en"})
	downloads := tb.allowDownloads()
	tb.open("/lists")
	tb.click(dt("nav-scrub"))
	tb.fill(dt("scrub-campaign"), "promo")
	tb.fill(dt("scrub-column"), "telefone")
	tb.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS(dt("scrub-file")), []string{file}))
	tb.click(dt("scrub-button"))
	summary := dt("scrub-summary")
	tb.waitJS("the scrub's end", fmt.Sprintf(`["done", "failed"].includes((%s || {dataset: {}}).dataset.state)`, jsQuery(summary)))
	if state := evalJS[string](tb, "the scrub's state", jsQuery(summary)+".dataset.state"); state != "done" {
		t.Fatalf("scrub-summary data-state %q: %s", state, tb.text(summary))
	}
	if read, removed := digits(tb.text(summary+" "+dt("scrub-read"))), digits(tb.text(summary+" "+dt("scrub-removed"))); read != "3" || removed != "1" {
		t.Errorf("scrub-summary: %s read, %s removed; want 3 and 1", read, removed)
	}

	tb.click(dt("scrub-clean"))
	if got := tb.waitDownload(downloads, "leads.clean.csv"); got != "nome,telefone\nBia,11966661111\nCai,11966662222\n" {
		t.Errorf("the clean file:\n%s\nwant the header, Bia and Cai", got)
	}
	tb.click(dt("scrub-report"))
	if got := tb.waitDownload(downloads, "leads.removed.csv"); !strings.Contains(got, "5511955552222") || !strings.Contains(got, "spam") || strings.Contains(got, "1196666") {
		t.Errorf("the removed rows:\n%s\nwant Ana's row alone, blocked by spam", got)
	}
	if got := ui.s.call(t, "promo", "5511955552222").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Errorf("5511955552222 after the scrub: %s, want still BLOCKED (a scrub changes no list)", got)
	}
}

// testReadToken: a supervisor with a read token cannot change a list from
// the page.
func (ui *webUI) testReadToken(t *testing.T) {
	const n = "5511955550009"
	tb := ui.newTab(t, tabOptions{token: webUIReadToken, lang: "en"})
	tb.open("/lists/shared/spam")
	tb.waitVisible(dtWith("entry-row", "data-entry", "5511955554444"))
	if evalJS[bool](tb, "the add form", hidden(dt("add-button"))) {
		t.Log("the page hides the add form from a read token")
		return
	}
	tb.fill(dt("add-entries"), n)
	tb.click(dt("add-button"))
	// The API's 403 is shown as an alert (outside the contract).
	tb.waitJS("the refusal shown", `[...document.querySelectorAll("[role=alert]")].some(el => el.getClientRects().length > 0 && el.innerText.trim())`)
	if tb.count(dtWith("add-result", "data-outcome", "added")) != 0 {
		t.Errorf("a read token shows an entry added")
	}
	if got := ui.s.call(t, "promo", n).Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Errorf("%s after an add with a read token: %s", n, got)
	}
}

// unlabelledJS lists the visible form controls with no accessible name
// (a <label>, aria-label or aria-labelledby; for buttons, their text).
const unlabelledJS = `[...document.querySelectorAll("input, select, textarea, button")]
	.filter(el => el.type !== "hidden" && el.getClientRects().length > 0)
	.filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby") &&
		!(el.tagName === "BUTTON" && el.innerText.trim()))
	.map(el => el.outerHTML.slice(0, 120))`

// testAccessibility: every control of every screen has a name, in both
// languages, and the check works from the keyboard alone.
func (ui *webUI) testAccessibility(t *testing.T) {
	tb := ui.newTab(t, tabOptions{token: webUIWriteToken, lang: "pt-BR"})
	tb.open("/lists")
	for _, lang := range []string{"pt-BR", "en"} {
		tb.fill(dt("lang-select"), lang)
		tb.waitJS("<html lang="+lang+">", "document.documentElement.lang === "+jsString(lang))
		for _, screen := range []struct{ route, ready string }{
			{"/lists", dtWith("list-row", "data-list", "shared/spam")},
			{"/lists/shared/spam", dtWith("entry-row", "data-entry", "5511955554444")},
			{"/check", dt("check-number")},
			{"/monitor", dt("blocked-chart")},
		} {
			tb.open(screen.route)
			tb.waitVisible(screen.ready)
			if bad := evalJS[[]string](tb, "unlabelled controls", unlabelledJS); len(bad) > 0 {
				t.Errorf("%s #%s: controls without a name: %q", lang, screen.route, bad)
			}
		}
	}

	// The check from the keyboard: type the number, press Enter.
	tb.open("/check")
	tb.typeIn(dt("check-campaign"), "promo")
	tb.typeIn(dt("check-number"), "(11) 98765-4321\r")
	tb.waitJS("the check after Enter", jsQuery(dtWith("check-result", "data-status", "BLOCKED")))
}

// noData is a JavaScript expression true when the page shows none of the
// server's data.
var noData = fmt.Sprintf(`%s && !document.body.innerText.includes(%s) && !document.body.innerText.includes("nao-me-perturbe")`,
	hidden(strings.Join([]string{dt("list-row"), dt("entry-row"), dt("blocked-row"), dt("check-result"), dt("chart-bar")}, ",")),
	jsString(dncNumber))

// testLogin: without a token the page asks for one and shows no data; a
// wrong token is refused; the read token shows the lists.
func (ui *webUI) testLogin(t *testing.T) {
	// The static routes are public and / leads to the page.
	resp, err := http.Get(ui.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/" {
		t.Errorf("GET / without a token: %d at %s, want 200 at /ui/", resp.StatusCode, resp.Request.URL.Path)
	}

	tb := ui.newTab(t, tabOptions{lang: "en"})
	tb.open("/lists")
	tb.waitVisible(dt("token-input"))
	if !evalJS[bool](tb, "data without a token", noData) {
		t.Errorf("without a token the page shows data")
	}

	tb.fill(dt("token-input"), "wrong-token-0123456789")
	tb.click(dt("login-button"))
	tb.waitVisible(dt("login-error"))
	if !evalJS[bool](tb, "data with a wrong token", noData) {
		t.Errorf("with a wrong token the page shows data")
	}

	tb.fill(dt("token-input"), webUIReadToken)
	tb.click(dt("login-button"))
	spam := dtWith("list-row", "data-list", "shared/spam")
	tb.waitVisible(spam)
	tb.waitJS("the login error hidden after a good token", hidden(dt("login-error")))
	if evalJS[bool](tb, "data after the login", noData) {
		t.Errorf("after the login the page shows no data")
	}
	if got := evalJS[string](tb, "the stored token", "sessionStorage.getItem("+jsString(tokenStorageKey)+") || ''"); got != webUIReadToken {
		t.Errorf("sessionStorage %s = %q, want the token given", tokenStorageKey, got)
	}

	// The lists page: every configured list, sizes and campaigns.
	for _, list := range []string{"shared/opt-out", "shared/nao-me-perturbe", "shared/spam", "shared/national", "campaign/promo"} {
		if tb.count(dtWith("list-row", "data-list", list)) != 1 {
			t.Errorf("no list-row for %s", list)
		}
	}
	if got := digits(tb.text(spam + " " + dt("list-size"))); got != "3" {
		t.Errorf("shared/spam list-size %q, want 3", got)
	}
	if got := tb.text(spam + " " + dt("list-campaigns")); !strings.Contains(got, "promo") {
		t.Errorf("shared/spam list-campaigns %q, want promo", got)
	}
	if tb.count(spam+" "+dt("list-link")) != 1 {
		t.Errorf("shared/spam has no list-link")
	}
	// The lists one campaign uses.
	tb.fill(dt("campaign-select"), "cobranca")
	tb.waitJS("cobranca's lists", jsQuery(dtWith("campaign-list", "data-list", "shared/national")))
	if tb.count(dtWith("campaign-list", "data-list", "shared/spam")) != 0 {
		t.Errorf("campaign cobranca shown using shared/spam")
	}
}

// testCheck: numbers typed as people write them are normalized as a call
// would be, with the list, entry and reason that block them.
func (ui *webUI) testCheck(t *testing.T) {
	tb := ui.newTab(t, tabOptions{token: webUIReadToken, lang: "pt-BR"})
	tb.open("/check")
	for _, c := range []struct {
		campaign, dialed, status string
	}{
		{"promo", "(11) 98765-4321", "BLOCKED"}, // shared/nao-me-perturbe
		{"promo", "11 91234-5678", "ALLOWED"},
		{"promo", "2001", "BLOCKED"},              // campaign/promo, an extension
		{"promo", "+55 11 95555-4444", "BLOCKED"}, // shared/spam
		{"cobranca", "011 95555-4444", "ALLOWED"}, // cobranca does not use spam
		{"promo", "abc", "ERROR"},
	} {
		want := ui.check(t, c.campaign, c.dialed)
		if want.Status != c.status {
			t.Fatalf("the API's check of %s %q: %s, want %s", c.campaign, c.dialed, want.Status, c.status)
		}
		tb.fill(dt("check-campaign"), c.campaign)
		tb.typeIn(dt("check-number"), c.dialed)
		tb.click(dt("check-button"))
		result := dtWith("check-result", "data-status", c.status)
		cond := jsQuery(result)
		if want.Number != "" { // the previous result may have had the same status
			cond = fmt.Sprintf(`%s && (%s || {}).innerText?.replace(/\D/g, "") === %s`,
				cond, jsQuery(result+" "+dt("check-normalized")), jsString(want.Number))
		}
		tb.waitJS(fmt.Sprintf("check %s %q: %s for %s", c.campaign, c.dialed, c.status, want.Number), cond)
		if c.status != "BLOCKED" {
			continue
		}
		if got := tb.text(result + " " + dt("check-list")); !strings.Contains(got, want.List) {
			t.Errorf("check %q: check-list %q, want %q", c.dialed, got, want.List)
		}
		if got := digits(tb.text(result + " " + dt("check-entry"))); got != digits(want.Entry) {
			t.Errorf("check %q: check-entry %q, want %q", c.dialed, got, want.Entry)
		}
		reasons := []string{want.Reason}
		if want.Meta != nil && want.Meta.Reason != "" {
			reasons = append(reasons, want.Meta.Reason)
		}
		got := tb.text(result + " " + dt("check-reason"))
		if !slices.ContainsFunc(reasons, func(r string) bool { return r != "" && strings.Contains(got, r) }) {
			t.Errorf("check %q: check-reason %q, want one of %q", c.dialed, got, reasons)
		}
	}
}

// addResult is one add-result row.
type addResult struct {
	Entry   string `json:"entry"`
	Outcome string `json:"outcome"`
	Text    string `json:"text"`
}

// testAddRemove: entries pasted on the list page are added (the result of
// each shown) and block the next call; an entry removed from the page stops
// blocking it.
func (ui *webUI) testAddRemove(t *testing.T) {
	if got := ui.s.call(t, "promo", addedNumber).Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Fatalf("%s before the add: %s", addedNumber, got)
	}
	tb := ui.newTab(t, tabOptions{token: webUIWriteToken, lang: "pt-BR"})
	tb.open("/lists/shared/spam")
	tb.waitVisible(dt("entries-table"))
	tb.waitVisible(dtWith("entry-row", "data-entry", "5511955554444"))

	inputs := []struct{ input, entry, outcome string }{
		{"(11) 95555-0001", addedNumber, "added"},
		{"11955550002", "5511955550002", "added"},
		{"5511955554444", "5511955554444", "present"},
		{"not-a-number", "", "refused"},
	}
	var pasted []string
	for _, in := range inputs {
		pasted = append(pasted, in.input)
	}
	tb.fill(dt("add-entries"), strings.Join(pasted, "\n"))
	tb.fill(dt("add-reason"), "pediu por e-mail")
	tb.fill(dt("add-ttl"), "30d")
	tb.click(dt("add-button"))
	tb.waitJS("4 add-result rows", fmt.Sprintf("document.querySelectorAll(%s).length === %d", jsString(dt("add-result")), len(inputs)))
	results := evalJS[[]addResult](tb, "read the add results", fmt.Sprintf(`[...document.querySelectorAll(%s)].map(el => ({
		entry: el.dataset.entry || "", outcome: el.dataset.outcome || "", text: el.innerText}))`, jsString(dt("add-result"))))
	for i, in := range inputs {
		got := results[i]
		if got.Outcome != in.outcome || in.entry != "" && got.Entry != in.entry && got.Entry != in.input {
			t.Errorf("add-result %d (%q): entry %q outcome %q, want %q %s", i, in.input, got.Entry, got.Outcome, in.entry, in.outcome)
		}
		if in.outcome == "refused" && !strings.Contains(got.Text, in.input) && len(strings.TrimSpace(got.Text)) < len(in.input)+5 {
			t.Errorf("add-result %d (%q): refused without a reason: %q", i, in.input, got.Text)
		}
	}

	// The reason and the expiry were recorded; the next call is blocked.
	code, body := ui.api(t, "GET", "/api/v1/lists/shared/spam/entries/"+addedNumber, nil)
	var entry struct {
		Present bool `json:"present"`
		Meta    struct {
			Reason    string    `json:"reason"`
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &entry); err != nil || code != http.StatusOK {
		t.Fatalf("lookup %s: %d %v %s", addedNumber, code, err, body)
	}
	if left := time.Until(entry.Meta.ExpiresAt); !entry.Present || entry.Meta.Reason != "pediu por e-mail" || left < 29*24*time.Hour || left > 31*24*time.Hour {
		t.Errorf("the entry added from the page: %s, want present, reason \"pediu por e-mail\", expiring in 30 days", body)
	}
	if res := ui.s.call(t, "promo", addedNumber); res.Vars["BLACKLIST_STATUS"] != "BLOCKED" || res.Vars["BLACKLIST_LIST"] != "spam" {
		t.Fatalf("%s after the add: %v", addedNumber, res.Vars)
	}

	// Remove it from the page: the row goes, the next call is allowed.
	row := dtWith("entry-row", "data-entry", addedNumber)
	tb.waitVisible(row)
	tb.click(row + " " + dt("remove-entry"))
	tb.click(dt("confirm-remove"))
	tb.waitJS("the removed row gone", "!"+jsQuery(row))
	if got := ui.s.call(t, "promo", addedNumber).Vars["BLACKLIST_STATUS"]; got != "ALLOWED" {
		t.Fatalf("%s after the removal: %s", addedNumber, got)
	}
	if got := ui.s.call(t, "promo", "5511955550002").Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
		t.Errorf("5511955550002, added with it and not removed: %s", got)
	}

	// The audit log on the page shows the add and the removal, newest
	// first, the add with its reason.
	auditJS := fmt.Sprintf(`[...document.querySelectorAll(%s)].filter(el => el.dataset.entry === %s).map(el => el.dataset.action + " " + el.innerText)`,
		jsString(dt("audit-row")), jsString(addedNumber))
	tb.waitJS("the audit rows of "+addedNumber, fmt.Sprintf(`((rows) => rows.length >= 2 && rows[0].startsWith("remove "))(%s)`, auditJS))
	audit := evalJS[[]string](tb, "read the audit rows", auditJS)
	if len(audit) != 2 || !strings.HasPrefix(audit[1], "add ") || !strings.Contains(audit[1], "pediu por e-mail") {
		t.Errorf("audit rows of %s: %q, want the removal then the add with its reason", addedNumber, audit)
	}
	if n := tb.count(dtWith("audit-row", "data-entry", "5511955550002")); n != 1 {
		t.Errorf("%d audit rows of 5511955550002, want its add", n)
	}

	// Search within the list.
	tb.fill(dt("search-input"), "5511955553333")
	tb.click(dt("search-button"))
	tb.waitJS("only the searched entry", fmt.Sprintf(`((rows) => rows.length === 1 && rows[0].dataset.entry === "5511955553333")(document.querySelectorAll(%s))`,
		jsString(dt("entry-row"))))
}

// testPagingExport: the list page shows a list page by page (never the
// whole list at once), every entry once, and exports the whole list with
// the token.
func (ui *webUI) testPagingExport(t *testing.T) {
	want := pagedEntries()
	tb := ui.newTab(t, tabOptions{token: webUIReadToken, lang: "en"})
	downloads := tb.allowDownloads()
	tb.open("/lists/campaign/cobranca")
	rowsJS := fmt.Sprintf(`[...document.querySelectorAll(%s)].map(el => el.dataset.entry)`, jsString(dt("entry-row")))
	nextJS := fmt.Sprintf(`((b) => !!b && !b.disabled && b.getClientRects().length > 0)(%s)`, jsQuery(dt("next-page")))
	seen := map[string]int{}
	pages := 0
	last := []string{}
	for {
		// A new page: rows, none of which the last page had; or, at the end
		// of a scan whose last cursor held nothing, no rows and no next page.
		tb.waitJS(fmt.Sprintf("page %d", pages+1), fmt.Sprintf(`((rows, last, next) => rows.length > 0 ? !rows.some(r => last.includes(r)) : last.length > 0 && !next)(%s, %s, %s)`,
			rowsJS, mustJSON(last), nextJS))
		last = evalJS[[]string](tb, "read the page", rowsJS)
		if len(last) == 0 {
			break
		}
		pages++
		for _, e := range last {
			seen[e]++
		}
		if len(last) >= len(want) {
			t.Fatalf("page %d shows %d entries: the whole list at once", pages, len(last))
		}
		if !evalJS[bool](tb, "next-page", nextJS) {
			break
		}
		if pages > len(want) {
			t.Fatalf("more than %d pages", len(want))
		}
		tb.click(dt("next-page"))
	}
	for _, e := range want {
		if seen[e] != 1 {
			t.Errorf("entry %s shown on %d pages, want 1", e, seen[e])
		}
	}
	t.Logf("%d entries on %d pages", len(seen), pages)
	if len(seen) != len(want) || pages < 2 {
		t.Errorf("%d entries on %d pages, want the %d entries on 2 or more pages", len(seen), pages, len(want))
	}

	tb.click(dt("export-button"))
	got := tb.waitDownload(downloads, "campaign-cobranca.csv")
	for _, e := range want {
		if !strings.Contains(got, e) {
			t.Fatalf("the export has no %s:\n%.500s", e, got)
		}
	}
}

// testImport: a CSV file uploaded on the list page is imported, with its
// progress and summary, and its refused row downloadable.
func (ui *webUI) testImport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "optout.csv")
	writeFile(t, file, "numero;nome\n(11) 94444-0001;Ana\n11944440002;Bia\nnao-e-numero;Carlos\n")

	tb := ui.newTab(t, tabOptions{token: webUIWriteToken, lang: "pt-BR"})
	downloads := tb.allowDownloads()
	tb.open("/lists/shared/opt-out")
	tb.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS(dt("import-file")), []string{file}))
	tb.fill(dt("import-mode"), "merge")
	tb.click(dt("import-button"))
	summary := dt("import-summary")
	tb.waitJS("the import's end", fmt.Sprintf(`["done", "failed"].includes((%s || {dataset: {}}).dataset.state)`, jsQuery(summary)))
	if state := evalJS[string](tb, "the import's state", jsQuery(summary)+".dataset.state"); state != "done" {
		t.Fatalf("import-summary data-state %q: %s", state, tb.text(summary))
	}
	// import-added and import-refused are the page's own, beyond the contract.
	if added, refused := digits(tb.text(summary+" "+dt("import-added"))), digits(tb.text(summary+" "+dt("import-refused"))); added != "2" || refused != "1" {
		t.Errorf("import-summary: %s added, %s refused; want 2 and 1", added, refused)
	}
	if evalJS[bool](tb, "import-rejects", hidden(dt("import-rejects"))) {
		t.Fatalf("no import-rejects shown for the refused row")
	}
	tb.click(dt("import-rejects"))
	if got := tb.waitDownload(downloads, "shared-opt-out-rejects.csv"); !strings.Contains(got, "nao-e-numero") || strings.Contains(got, "94444") {
		t.Errorf("the rejects file:\n%s\nwant the refused row alone", got)
	}
	for _, n := range []string{"11944440001", "5511944440002"} {
		if res := ui.s.call(t, "cobranca", n); res.Vars["BLACKLIST_STATUS"] != "BLOCKED" || res.Vars["BLACKLIST_LIST"] != "opt-out" {
			t.Errorf("%s after the import: %v", n, res.Vars)
		}
	}
}

// monitorView is what the monitoring page shows.
type monitorView struct {
	Rows    []string `json:"rows"`    // the numbers of the blocked-row elements, in order
	Chart   int      `json:"chart"`   // the sum of the chart-bar counts
	Bars    int      `json:"bars"`    // the number of chart-bar elements
	Refresh bool     `json:"refresh"` // whether monitor-refresh is there
}

// monitorJS reads a monitorView.
var monitorJS = fmt.Sprintf(`({
	rows: [...document.querySelectorAll(%s)].map(el => el.dataset.number),
	chart: [...document.querySelectorAll(%s)].reduce((n, el) => n + (Number(el.dataset.count) || 0), 0),
	bars: document.querySelectorAll(%[2]s).length,
	refresh: !!document.querySelector(%s),
})`, jsString(dt("blocked-row")), jsString(dt("chart-bar")), jsString(dt("monitor-refresh")))

// testMonitor: blocked calls appear in the log and the chart after a
// refresh; the health shows Redis ready.
func (ui *webUI) testMonitor(t *testing.T) {
	call := func(n string) {
		t.Helper()
		campaign := "promo"
		if n == monitorNumbers[2] {
			campaign = "cobranca" // for the chart of one campaign
		}
		if got := ui.s.call(t, campaign, n).Vars["BLACKLIST_STATUS"]; got != "BLOCKED" {
			t.Fatalf("%s %s: %s, want BLOCKED", campaign, n, got)
		}
	}
	call(monitorNumbers[0])
	call(monitorNumbers[1])
	ui.waitBlockedLogged(t, monitorNumbers[1])

	tb := ui.newTab(t, tabOptions{token: webUIReadToken, lang: "pt-BR"})
	tb.open("/monitor")
	tb.waitJS("health ready", jsQuery(dtWith("health", "data-ready", "true")))
	tb.waitJS("the newest blocked call first", fmt.Sprintf(`(%s || {dataset: {}}).dataset.number === %s`, jsQuery(dt("blocked-row")), jsString(monitorNumbers[1])))
	tb.waitVisible(dt("blocked-chart"))
	before := evalJS[monitorView](tb, "read the monitoring", monitorJS)
	if before.Chart < 2 || before.Bars == 0 {
		t.Errorf("before: chart counts %d in %d bars, want at least the 2 blocked calls", before.Chart, before.Bars)
	}

	for _, n := range monitorNumbers[2:] {
		call(n)
	}
	ui.waitBlockedLogged(t, monitorNumbers[4])
	tb.click(dt("monitor-refresh"))
	newest := []string{monitorNumbers[4], monitorNumbers[3], monitorNumbers[2], monitorNumbers[1], monitorNumbers[0]}
	tb.waitJS("the 3 new blocked calls, newest first, and counted in the chart", fmt.Sprintf(`((v) =>
		%s.every((n, i) => v.rows[i] === n) && v.chart === %d)(%s)`, mustJSON(newest), before.Chart+3, monitorJS))
	after := evalJS[monitorView](tb, "read the monitoring", monitorJS)
	if len(after.Rows) < len(before.Rows) {
		t.Errorf("blocked rows %d after the calls, %d before", len(after.Rows), len(before.Rows))
	}

	// One campaign: the chart counts its blocked calls alone, as the API does.
	_, body := ui.api(t, "GET", "/api/v1/stats?since=24h&campaign=cobranca", nil)
	var stats struct {
		Campaigns []struct {
			Blocked int `json:"blocked"`
		} `json:"campaigns"`
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		t.Fatalf("stats: %v: %s", err, body)
	}
	cobranca := 0
	for _, c := range stats.Campaigns {
		cobranca += c.Blocked
	}
	if cobranca == 0 || cobranca >= after.Chart {
		t.Fatalf("cobranca blocked %d of %d: the fixture should make it some of them", cobranca, after.Chart)
	}
	tb.fill(dt("monitor-campaign"), "cobranca")
	tb.waitJS(fmt.Sprintf("the chart of cobranca alone (%d)", cobranca), fmt.Sprintf(`(%s).chart === %d`, monitorJS, cobranca))
}

// mustJSON is v as JSON (a JavaScript literal).
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// testLanguage: the page takes the browser's language, switches between
// pt-BR and en, and keeps the choice.
func (ui *webUI) testLanguage(t *testing.T) {
	pt, en := ui.dictionary(t, "pt-BR"), ui.dictionary(t, "en")
	for k := range pt {
		if _, ok := en[k]; !ok {
			t.Errorf("i18n key %q in pt-BR.json, not in en.json", k)
		}
	}
	for k := range en {
		if _, ok := pt[k]; !ok {
			t.Errorf("i18n key %q in en.json, not in pt-BR.json", k)
		}
	}
	values := func(d map[string]string) []string {
		var v []string
		for _, s := range d {
			v = append(v, strings.TrimSpace(s))
		}
		return v
	}
	ptValues, enValues := values(pt), values(en)

	htmlLang := func(tb *tab, want string) {
		t.Helper()
		tb.waitJS("<html lang="+want+">", "document.documentElement.lang === "+jsString(want))
	}
	label := dt("nav-lists")

	// A Portuguese browser gets pt-BR.
	tb := ui.newTab(t, tabOptions{token: webUIReadToken, acceptLanguage: "pt-BR,pt;q=0.9"})
	tb.open("/lists")
	htmlLang(tb, "pt-BR")
	tb.waitVisible(label)
	ptLabel := strings.TrimSpace(tb.text(label))
	if !slices.Contains(ptValues, ptLabel) {
		t.Errorf("nav-lists %q in pt-BR: not a text of pt-BR.json", ptLabel)
	}

	// Switched to English, and kept across a reload.
	tb.fill(dt("lang-select"), "en")
	htmlLang(tb, "en")
	tb.waitJS("nav-lists in English", fmt.Sprintf(`%s.innerText.trim() !== %s`, jsQuery(label), jsString(ptLabel)))
	enLabel := strings.TrimSpace(tb.text(label))
	if !slices.Contains(enValues, enLabel) {
		t.Errorf("nav-lists %q in en: not a text of en.json", enLabel)
	}
	tb.do("reload", chromedp.Reload())
	htmlLang(tb, "en")
	tb.waitVisible(label)
	if got := strings.TrimSpace(tb.text(label)); got != enLabel {
		t.Errorf("after a reload: nav-lists %q, want %q", got, enLabel)
	}

	// And back.
	tb.fill(dt("lang-select"), "pt-BR")
	htmlLang(tb, "pt-BR")
	tb.waitJS("nav-lists in Portuguese again", fmt.Sprintf(`%s.innerText.trim() === %s`, jsQuery(label), jsString(ptLabel)))

	// An English browser gets en.
	tb = ui.newTab(t, tabOptions{token: webUIReadToken, acceptLanguage: "en-US,en;q=0.9"})
	tb.open("/lists")
	htmlLang(tb, "en")
	tb.waitJS("nav-lists in English", fmt.Sprintf(`%s?.innerText.trim() === %s`, jsQuery(label), jsString(enLabel)))
}

// TestWebUIScreenshots saves a screenshot of each screen, in pt-BR and en,
// into BLACKLIST_SCREENSHOTS_DIR (scripts/screenshots.sh sets it to
// docs/screenshots); it is skipped when the variable is not set.
func TestWebUIScreenshots(t *testing.T) {
	dir := os.Getenv("BLACKLIST_SCREENSHOTS_DIR")
	if dir == "" {
		t.Skip("BLACKLIST_SCREENSHOTS_DIR not set (scripts/screenshots.sh sets it)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ui := startWebUI(t)
	// Some blocked calls for the chart and the log.
	for i, n := range append([]string{dncNumber, "2001", "5511955554444"}, monitorNumbers...) {
		campaign := []string{"promo", "cobranca"}[i%2]
		if n == "2001" || n == "5511955554444" {
			campaign = "promo"
		}
		ui.s.call(t, campaign, n)
	}
	ui.waitBlockedLogged(t, monitorNumbers[len(monitorNumbers)-1])
	shoot := func(tb *tab, name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tb.ctx, webUIStep)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s.png: %d kB", name, len(png)/1024)
	}
	for i, lang := range []string{"pt-BR", "en"} {
		tb := ui.newTab(t, tabOptions{token: webUIWriteToken, lang: lang})
		tb.open("/lists")
		tb.waitVisible(dtWith("list-row", "data-list", "shared/spam"))
		tb.fill(dt("campaign-select"), "promo")
		tb.waitVisible(dt("campaign-list"))
		shoot(tb, "lists."+lang)

		tb.open("/lists/shared/nao-me-perturbe")
		tb.waitVisible(dtWith("entry-row", "data-entry", dncNumber))
		shoot(tb, "list."+lang)

		tb.open("/check")
		tb.fill(dt("check-campaign"), "promo")
		tb.typeIn(dt("check-number"), "(11) 98765-4321")
		tb.click(dt("check-button"))
		tb.waitVisible(dtWith("check-result", "data-status", "BLOCKED"))
		shoot(tb, "check."+lang)

		// Numbers new to the list in each language: the summary shows them added.
		file := filepath.Join(t.TempDir(), "optout.csv")
		writeFile(t, file, fmt.Sprintf("numero;nome\n(11) 94444-%[1]d001;Ana\n1194444%[1]d002;Bia\nnao-e-numero;Carlos\n", i))
		tb.open("/lists/shared/opt-out")
		tb.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS(dt("import-file")), []string{file}))
		tb.click(dt("import-button"))
		tb.waitJS("the import's end", jsQuery(dtWith("import-summary", "data-state", "done")))
		tb.do("scroll to the summary", chromedp.ScrollIntoView(chromedp.CSS(dt("import-summary"))))
		shoot(tb, "import."+lang)

		tb.open("/monitor")
		tb.waitJS("health ready", jsQuery(dtWith("health", "data-ready", "true")))
		tb.waitVisible(dt("blocked-row"))
		tb.waitVisible(dt("blocked-chart"))
		shoot(tb, "monitor."+lang)
	}
}
