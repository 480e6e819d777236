// The supervisors' page of blacklist-agi: plain JavaScript, no framework,
// no build step. Every figure comes from the admin JSON API (/api/v1/...,
// /readyz), called with the token kept in sessionStorage. Every visible
// text comes from the dictionaries in assets/i18n/, through t(<key>);
// K(<key>) marks a key used indirectly.
"use strict";

const TOKEN_KEY = "blacklist-agi-token";
const LANG_KEY = "blacklist-agi-lang";
const BY_KEY = "blacklist-agi-by"; // the supervisor's name for the audit log
const LANGS = ["pt-BR", "en"];
const PAGE_SIZE = 100;
const AUDIT_PAGE = 50;      // audit records shown at first, and added by "more"
const AUDIT_MAX = 10000;    // the API's largest limit
const REFRESH_MS = 10000;
const HOUR = 3600 * 1000;

let lang = "en";
let dict = {};
const state = {
  lists: null,          // the answer of GET /api/v1/lists
  config: null,         // the answer of GET /api/v1/config (or null)
  list: null,           // {kind, name} of the list page
  cursors: [],          // the cursor of each page shown, for "first page"
  next: "",             // the next page's cursor
  searching: false,
  job: null,            // the last import job seen
  timer: 0,             // the monitor's refresh timer
  hourCache: new Map(), // "campaigns|hour" -> stats of a finished hour
  blockedNext: "",
  monitorSeq: 0,
  auditLimit: 0,        // how many audit records the list page shows
  scrub: null,          // the last scrub: its answer and the file's base name
};

// ---------- text ----------

function K(key) { return key; }

function t(key, vars) {
  let s = Object.prototype.hasOwnProperty.call(dict, key) ? dict[key] : key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }
  return s;
}

function fmtInt(n) {
  return new Intl.NumberFormat(lang).format(Number(n) || 0);
}

function fmtTime(s) {
  if (!s) return "";
  const d = new Date(s);
  if (isNaN(d)) return String(s);
  return d.toLocaleString(lang, { dateStyle: "short", timeStyle: "medium" });
}

function chooseLang() {
  const kept = localStorage.getItem(LANG_KEY);
  if (LANGS.includes(kept)) return kept;
  for (const l of navigator.languages || [navigator.language || ""]) {
    if (/^pt/i.test(l)) return "pt-BR";
    if (/^en/i.test(l)) return "en";
  }
  return "en";
}

async function setLang(l, keep) {
  const res = await fetch("assets/i18n/" + l + ".json", { cache: "no-cache" });
  if (!res.ok) throw new Error("dictionary " + l + ": HTTP " + res.status);
  dict = await res.json();
  lang = l;
  if (keep) localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l;
  $("#lang-select").value = l;
  translateStatic();
}

function translateStatic() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria-label]")) el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  document.title = t("app.title");
}

// ---------- DOM ----------

function $(sel) { return document.querySelector(sel); }

// h builds an element: h("td", {class: "num", dataset: {test: "x"}}, child...).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function announce(msg) {
  const st = $("#status");
  st.textContent = "";
  // A new text node each time, so that screen readers read a repeat too.
  requestAnimationFrame(() => { st.textContent = msg; });
}

function showError(msg) {
  const el = $("#error");
  el.textContent = msg;
  el.hidden = !msg;
}

function facts(dl, pairs) {
  dl.replaceChildren(...pairs.map(([k, v, test]) =>
    h("div", {}, h("dt", { text: k }), h("dd", { dataset: test ? { test } : undefined, text: v }))));
}

// download saves blob (or the answer of href) as the file name.
function download(name, blob, href) {
  const url = blob ? URL.createObjectURL(blob) : href;
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  if (blob) setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// ---------- API ----------

class APIError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

class Unauthorized extends APIError {}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

// author returns who the audit log records for a change: the name typed
// on the list page (kept for next time), or "web".
function author() {
  const by = $("#add-by").value.trim();
  if (by) localStorage.setItem(BY_KEY, by);
  else localStorage.removeItem(BY_KEY);
  return by || "web";
}

// api calls the JSON API and returns its decoded answer. A 401 sends the
// page to the login form; other failures throw an APIError with the
// server's message. ok lists the statuses besides 2xx whose body is an
// answer (a 422 with per-entry results, an ERROR verdict).
async function api(method, path, opts = {}) {
  const headers = { Accept: "application/json" };
  const tk = token();
  if (tk) headers.Authorization = "Bearer " + tk;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.contentType) {
    headers["Content-Type"] = opts.contentType;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit", signal: opts.signal });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new APIError(0, t("error.network"));
  }
  if (opts.raw && res.ok) return res;
  let data = null;
  const ct = res.headers.get("Content-Type") || "";
  if (ct.startsWith("application/json")) {
    try { data = await res.json(); } catch (e) { data = null; }
  }
  if (res.status === 401 && !opts.login) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.afterLogin = location.hash && location.hash !== "#/login" ? location.hash : "#/lists";
    location.hash = "#/login";
    throw new Unauthorized(401, t("login.needed"));
  }
  if (res.ok || (opts.ok || []).includes(res.status)) return data;
  let msg = (data && data.error) || res.statusText || ("HTTP " + res.status);
  if (res.status === 403 && method !== "GET") msg = t("error.forbidden") + " " + msg;
  throw new APIError(res.status, msg, data);
}

function listPath(kind, name) {
  return "/api/v1/lists/" + encodeURIComponent(kind) + "/" + encodeURIComponent(name);
}

// report shows a failure of an action, unless it was the 401 that opened
// the login form.
function report(e) {
  if (e instanceof Unauthorized || (e && e.name === "AbortError")) return;
  showError(t("error.prefix") + " " + (e && e.message ? e.message : String(e)));
}

async function loadLists(force) {
  if (!state.lists || force) {
    const [lists, config] = await Promise.all([
      api("GET", "/api/v1/lists"),
      api("GET", "/api/v1/config").catch((e) => { if (e instanceof Unauthorized) throw e; return null; }),
    ]);
    state.lists = lists.lists || [];
    state.config = config;
  }
  return state.lists;
}

// campaigns returns the campaign ids known to the page: those loaded by
// the server and those using a list.
function campaigns() {
  const set = new Set();
  for (const c of (state.config && state.config.campaigns) || []) set.add(c);
  for (const l of state.lists || []) {
    for (const c of l.used_by || []) set.add(c);
    if (l.kind === "campaign") set.add(l.name);
  }
  return [...set].sort();
}

// ---------- routing ----------

const views = ["login", "lists", "list", "check", "scrub", "monitor"];

function route() {
  const hash = location.hash || "#/lists";
  const parts = hash.replace(/^#\/?/, "").split("/").map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } });
  clearInterval(state.timer);
  state.timer = 0;
  showError("");
  $("#status").textContent = "";
  let view = parts[0] || "lists";
  if (view === "import") view = "lists";
  if (view === "lists" && parts.length >= 3) view = "list";
  if (!views.includes(view)) view = "lists";
  for (const v of views) $("#view-" + v).hidden = v !== view;
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.getAttribute("href").slice(2);
    if (target === view || (target === "lists" && view === "list")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  $("#logout").hidden = !token();
  const title = $("#view-" + view + " h1");
  if (title && document.activeElement && document.activeElement !== document.body && !$("#view-" + view).contains(document.activeElement)) {
    title.focus();
  }
  const show = { login: showLogin, lists: showLists, list: () => showList(parts[1], parts[2]), check: showCheck, scrub: showScrub, monitor: showMonitor }[view];
  loading(show());
}

async function loading(p) {
  const el = $("#loading");
  const timer = setTimeout(() => { el.hidden = false; }, 300);
  try {
    await p;
  } catch (e) {
    report(e);
  } finally {
    clearTimeout(timer);
    el.hidden = true;
  }
}

// ---------- login ----------

async function showLogin() {
  $("#login-error").hidden = true;
  $("#token-input").value = "";
  $("#token-input").focus();
}

async function login(ev) {
  ev.preventDefault();
  const tk = $("#token-input").value.trim();
  if (!tk) return;
  sessionStorage.setItem(TOKEN_KEY, tk);
  try {
    await api("GET", "/api/v1/lists", { login: true });
  } catch (e) {
    if (e.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      $("#login-error").hidden = false;
      $("#token-input").focus();
      return;
    }
    report(e);
    return;
  }
  state.lists = null;
  announce(t("login.ok"));
  location.hash = state.afterLogin || "#/lists";
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.lists = null;
  location.hash = "#/login";
}

// ---------- lists ----------

function listLink(kind, name, test) {
  return h("a", { href: "#/lists/" + encodeURIComponent(kind) + "/" + encodeURIComponent(name), dataset: test ? { test } : undefined }, kind + "/" + name);
}

async function showLists() {
  const lists = await loadLists(true);
  const body = $("#lists-body");
  if (!lists.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 5, text: t("lists.none") })));
  } else {
    body.replaceChildren(...lists.map((l) => h("tr", { dataset: { test: "list-row", list: l.kind + "/" + l.name } },
      h("td", {}, listLink(l.kind, l.name, "list-link"), l.declared ? "" : h("span", { class: "hint", text: " " + t("lists.undeclared") })),
      h("td", { text: t(l.kind === "shared" ? K("kind.shared") : K("kind.campaign")) + (l.layout === "compact" ? " · " + t("layout.compact") : "") }),
      h("td", { class: "num", dataset: { test: "list-size" }, text: fmtInt(l.size) }),
      h("td", { dataset: { test: "list-campaigns" }, text: (l.used_by || []).join(", ") || "—" }),
      h("td", { text: l.last_change ? fmtTime(l.last_change) + (l.last_change_by ? " · " + l.last_change_by : "") : "—" }),
    )));
  }
  const sel = $("#campaign-select");
  const current = sel.value;
  sel.replaceChildren(h("option", { value: "", text: t("lists.campaign.choose") }),
    ...campaigns().map((c) => h("option", { value: c, text: c })));
  sel.value = campaigns().includes(current) ? current : "";
  showCampaignLists();
}

function showCampaignLists() {
  const c = $("#campaign-select").value;
  const ul = $("#campaign-lists");
  if (!c) { ul.replaceChildren(); return; }
  const own = (state.lists || []).find((l) => l.kind === "campaign" && l.name === c) || { kind: "campaign", name: c, size: 0 };
  const used = [own, ...(state.lists || []).filter((l) => l.kind === "shared" && (l.used_by || []).includes(c))];
  ul.replaceChildren(...used.map((l) => h("li", { dataset: { test: "campaign-list", list: l.kind + "/" + l.name } },
    listLink(l.kind, l.name), " — ", t("lists.entries", { n: fmtInt(l.size) }))));
}

function openCampaign(ev) {
  ev.preventDefault();
  const c = $("#open-campaign").value.trim();
  if (c) location.hash = "#/lists/campaign/" + encodeURIComponent(c);
}

// ---------- one list ----------

async function showList(kind, name) {
  if (!kind || !name) { location.hash = "#/lists"; return; }
  const same = state.list && state.list.kind === kind && state.list.name === name;
  state.list = { kind, name };
  $("#list-title").textContent = kind + "/" + name;
  if (!same) {
    $("#add-results").hidden = true;
    $("#import-status").hidden = true;
    $("#search-input").value = "";
  }
  if (!same) state.auditLimit = AUDIT_PAGE;
  await Promise.all([loadListFacts(), firstPage(), loadAudit()]);
}

async function loadListFacts() {
  const { kind, name } = state.list;
  const l = await api("GET", listPath(kind, name));
  facts($("#list-facts"), [
    [t("list.fact.size"), fmtInt(l.size), "list-size"],
    [t("list.fact.kind"), t(l.kind === "shared" ? K("kind.shared") : K("kind.campaign"))],
    [t("list.fact.layout"), t(l.layout === "compact" ? K("layout.compact") : K("layout.plain"))],
    [t("list.fact.campaigns"), (l.used_by || []).join(", ") || "—"],
    [t("list.fact.reason"), l.reason || "—"],
    [t("list.fact.change"), l.last_change ? fmtTime(l.last_change) + (l.last_change_by ? " · " + l.last_change_by : "") : "—"],
  ]);
}

function entryRow(e) {
  const entry = typeof e === "string" ? e : e.entry;
  const meta = (typeof e === "object" && e.meta) || {};
  const actions = h("td", { class: "actions" });
  const row = h("tr", { dataset: { test: "entry-row", entry } },
    h("td", { class: "mono", text: entry }),
    h("td", { text: meta.reason || "" }),
    h("td", { text: meta.added_at ? fmtTime(meta.added_at) + (meta.added_by ? " · " + meta.added_by : "") : "" }),
    h("td", { text: typeof e === "object" && e.expired ? t("list.expired") : (meta.expires_at ? fmtTime(meta.expires_at) : "") }),
    actions);
  const remove = h("button", { type: "button", class: "secondary small", dataset: { test: "remove-entry" }, "aria-label": t("list.remove.label", { entry }), text: t("list.remove") });
  remove.addEventListener("click", () => {
    const confirm = h("button", { type: "button", class: "danger small", dataset: { test: "confirm-remove" }, "aria-label": t("list.remove.confirm.label", { entry }), text: t("list.remove.confirm") });
    const cancel = h("button", { type: "button", class: "secondary small", dataset: { test: "cancel-remove" }, text: t("list.remove.cancel") });
    confirm.addEventListener("click", () => removeEntry(entry, row, confirm));
    cancel.addEventListener("click", () => { actions.replaceChildren(remove); remove.focus(); });
    actions.replaceChildren(confirm, cancel);
    confirm.focus();
  });
  actions.append(remove);
  return row;
}

function showEntries(entries, mode) {
  const body = $("#entries-body");
  if (!entries.length) body.replaceChildren(h("tr", {}, h("td", { colspan: 5, text: t("list.entries.none") })));
  else body.replaceChildren(...entries.map(entryRow));
  $("#entries-mode").textContent = mode;
}

async function firstPage() {
  state.searching = false;
  $("#search-clear").hidden = true;
  state.cursors = [];
  await loadPage("");
}

// loadPage shows the page at cursor: SSCAN pages can be empty before the
// end, so it reads on (a few times) until it has entries or the end.
async function loadPage(cursor) {
  const { kind, name } = state.list;
  let entries = [];
  let next = cursor;
  for (let i = 0; i < 20; i++) {
    const p = await api("GET", listPath(kind, name) + "/entries?count=" + PAGE_SIZE + (next ? "&cursor=" + encodeURIComponent(next) : ""));
    entries = entries.concat(p.entries || []);
    next = p.next || "";
    if (entries.length || !next) break;
  }
  state.cursors.push(cursor);
  state.next = next;
  showEntries(entries, t("list.entries.page", { n: state.cursors.length }));
  $("#next-page").disabled = !next;
  $("#first-page").disabled = state.cursors.length <= 1;
}

async function nextPage() {
  if (!state.next || state.searching) return;
  await loading(loadPage(state.next));
  announce(t("list.entries.page", { n: state.cursors.length }));
}

async function search(ev) {
  ev.preventDefault();
  const q = $("#search-input").value.trim();
  if (!q) return;
  showError("");
  const { kind, name } = state.list;
  try {
    const r = await api("GET", listPath(kind, name) + "/entries/search?limit=" + PAGE_SIZE + "&q=" + encodeURIComponent(q));
    state.searching = true;
    $("#search-clear").hidden = false;
    $("#next-page").disabled = true;
    $("#first-page").disabled = true;
    const found = (r.entries || []).filter((e) => e.present);
    showEntries(found, t("list.search.result", { q: r.query, n: fmtInt(found.length) }));
    announce(t("list.search.result", { q: r.query, n: fmtInt(found.length) }));
  } catch (e) {
    report(e);
  }
}

async function removeEntry(entry, row, button) {
  const { kind, name } = state.list;
  button.disabled = true;
  try {
    const r = await api("DELETE", listPath(kind, name) + "/entries/" + encodeURIComponent(entry) + "?by=" + encodeURIComponent(author()), { ok: [422] });
    const res = (r.results || [])[0] || {};
    if (res.result === "refused") throw new APIError(422, res.reason || r.error);
    row.remove();
    announce(t(res.result === "absent" ? K("list.remove.absent") : K("list.remove.done"), { entry }));
    loadListFacts().catch(report);
    loadAudit().catch(report);
  } catch (e) {
    button.disabled = false;
    report(e);
  }
}

const OUTCOMES = { added: K("outcome.added"), present: K("outcome.present"), duplicate: K("outcome.duplicate"), refused: K("outcome.refused") };

async function addEntries(ev) {
  ev.preventDefault();
  showError("");
  const entries = $("#add-entries").value.split(/\r?\n/).map((x) => x.trim()).filter(Boolean);
  if (!entries.length) return;
  if (entries.length > 10000) { showError(t("list.add.toomany")); return; }
  const req = { entries, by: author() };
  const reason = $("#add-reason").value.trim();
  const ttl = $("#add-ttl").value.trim();
  const note = $("#add-note").value.trim();
  if (reason) req.reason = reason;
  if (ttl) req.ttl = ttl;
  if (note) req.note = note;
  const { kind, name } = state.list;
  const button = $("#add-form button[type=submit]");
  button.disabled = true;
  try {
    const r = await api("POST", listPath(kind, name) + "/entries", { json: req, ok: [422, 500] });
    if (!r || !r.results) throw new APIError(500, (r && r.error) || "no results");
    $("#add-results-body").replaceChildren(...r.results.map((x) => {
      const outcome = x.result === "duplicate" ? "present" : x.result;
      return h("tr", { dataset: { test: "add-result", entry: x.entry || x.input, outcome } },
        h("td", { class: "mono", text: x.input }),
        h("td", { class: "mono", text: x.entry || "" }),
        h("td", { class: "outcome-" + outcome }, t(OUTCOMES[x.result] || K("outcome.refused")), x.reason ? ": " + x.reason : ""));
    }));
    $("#add-results").hidden = false;
    announce(t("list.add.summary", { added: fmtInt(r.added), present: fmtInt(r.present), refused: fmtInt(r.refused) }));
    if (r.error && r.refused === 0) showError(t("error.prefix") + " " + r.error);
    if (!r.refused) $("#add-entries").value = "";
    await Promise.all([loadListFacts(), state.searching ? Promise.resolve() : firstPage(), loadAudit()]);
  } catch (e) {
    report(e);
  } finally {
    button.disabled = false;
  }
}

// ---------- audit log ----------

const AUDIT_OPS = {
  add: K("audit.op.add"), remove: K("audit.op.remove"), "import-merge": K("audit.op.import-merge"),
  "import-replace": K("audit.op.import-replace"), expire: K("audit.op.expire"), clear: K("audit.op.clear"),
};

// loadAudit shows the newest state.auditLimit records of the list's audit
// log. The API answers the newest records first, up to a limit: "more"
// asks again with a larger one.
async function loadAudit() {
  const { kind, name } = state.list;
  const limit = state.auditLimit || AUDIT_PAGE;
  const r = await api("GET", listPath(kind, name) + "/audit?limit=" + limit);
  if (!state.list || state.list.kind !== kind || state.list.name !== name) return;
  const recs = r.records || [];
  const rows = recs.map((x) => {
    const what = x.entry || (x.count ? t("list.audit.count", { n: fmtInt(x.count) }) : "");
    const why = [x.reason, x.note, x.expires_at ? t("list.audit.expires", { at: fmtTime(x.expires_at) }) : ""].filter(Boolean).join(" · ");
    return h("tr", { dataset: { test: "audit-row", entry: x.entry || "", action: x.op } },
      h("td", { text: fmtTime(x.at) }),
      h("td", { text: AUDIT_OPS[x.op] ? t(AUDIT_OPS[x.op]) : x.op }),
      h("td", { class: "mono", text: what }),
      h("td", { text: [x.by, x.source].filter(Boolean).join(" · ") }),
      h("td", { text: why }));
  });
  const body = $("#audit-body");
  if (rows.length) body.replaceChildren(...rows);
  else body.replaceChildren(h("tr", {}, h("td", { colspan: 5, text: t("list.audit.none") })));
  $("#audit-more").hidden = recs.length < limit || limit >= AUDIT_MAX;
}

async function moreAudit() {
  state.auditLimit = Math.min(AUDIT_MAX, (state.auditLimit || AUDIT_PAGE) + AUDIT_PAGE * 4);
  await loadAudit();
}

// ---------- import and export ----------

async function importFile(ev) {
  ev.preventDefault();
  showError("");
  const file = $("#import-file").files[0];
  if (!file) return;
  const { kind, name } = state.list;
  const mode = $("#import-mode").value;
  const gz = /\.gz$/i.test(file.name) || file.type === "application/gzip";
  let q = "?mode=" + encodeURIComponent(mode) + "&by=" + encodeURIComponent(author()) + "&name=" + encodeURIComponent(file.name);
  const reason = $("#import-reason").value.trim();
  if (reason) q += "&reason=" + encodeURIComponent(reason);
  const button = $("#import-form button[type=submit]");
  button.disabled = true;
  $("#import-status").hidden = false;
  $("#import-summary").hidden = true;
  $("#import-rejects").hidden = true;
  const bar = $("#import-progress");
  bar.removeAttribute("value");
  $("#import-progress-text").textContent = t("list.import.uploading", { size: fmtInt(file.size) });
  try {
    let job = await api("POST", listPath(kind, name) + "/import" + q,
      { body: file, contentType: gz ? "application/gzip" : "text/csv" });
    // Follow the job: each request waits up to a second for the end, so
    // the progress moves about once a second without polling faster.
    while (!job.done) {
      showProgress(job);
      job = await api("GET", "/api/v1/jobs/" + encodeURIComponent(job.id) + "?wait=1s");
    }
    showProgress(job);
    showSummary(job);
    await Promise.all([loadListFacts(), firstPage(), loadAudit()]);
  } catch (e) {
    $("#import-progress-text").textContent = "";
    report(e);
  } finally {
    button.disabled = false;
  }
}

function showProgress(job) {
  const p = job.progress || {};
  const bar = $("#import-progress");
  if (p.total > 0) {
    bar.max = p.total;
    bar.value = job.done ? p.total : p.bytes;
  }
  bar.dataset.rows = p.rows || 0;
  $("#import-progress-text").textContent = t(job.state === "uploading" ? K("list.import.uploading") : K("list.import.reading"),
    { rows: fmtInt(p.rows), size: fmtInt(job.uploaded_bytes), pct: p.total ? Math.floor((100 * p.bytes) / p.total) : 0 });
}

function showSummary(job) {
  state.job = job;
  const sum = job.summary || {};
  const el = $("#import-summary");
  const ok = job.state === "succeeded";
  el.dataset.state = ok ? "done" : "failed";
  el.className = ok ? "summary-done" : "summary-failed";
  const rows = [
    [t("list.import.read"), fmtInt(sum.read), "import-read"],
    [t("list.import.added"), fmtInt(sum.added), "import-added"],
    [t("list.import.present"), fmtInt(sum.present), "import-present"],
    [t("list.import.refused"), fmtInt(sum.refused), "import-refused"],
    [t("list.import.duplicates"), fmtInt(sum.duplicates), "import-duplicates"],
  ];
  el.replaceChildren(
    h("p", { text: ok ? t("list.import.done", { ms: fmtInt(sum.duration_ms) }) : t("list.import.failed", { error: job.error || "" }) }),
    h("dl", { class: "facts" }, ...rows.map(([k, v, test]) => h("div", {}, h("dt", { text: k }), h("dd", { dataset: { test }, text: v })))));
  el.hidden = false;
  $("#import-rejects").hidden = !(job.rejects && job.rejects.length);
  announce(ok ? t("list.import.done", { ms: fmtInt(sum.duration_ms) }) : t("list.import.failed", { error: job.error || "" }));
}

function csvField(v) {
  const s = String(v == null ? "" : v);
  // A leading = + - @ would be a formula in a spreadsheet: quote it away.
  const safe = /^[=+\-@\t\r]/.test(s) ? "'" + s : s;
  return /[",\r\n]/.test(safe) ? '"' + safe.replace(/"/g, '""') + '"' : safe;
}

function downloadRejects() {
  const job = state.job;
  if (!job || !job.rejects) return;
  const lines = ["line,input,reason", ...job.rejects.map((r) => [r.line, r.input, r.reason].map(csvField).join(","))];
  download(job.list.kind + "-" + job.list.name + "-rejects.csv", new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
}

async function exportList() {
  const { kind, name } = state.list;
  const button = $("#export-button");
  button.disabled = true;
  announce(t("list.export.running"));
  if (!token()) {
    // No token to send: the browser downloads the stream itself, without
    // holding the whole list in memory.
    download(kind + "-" + name + ".csv", null, listPath(kind, name) + "/export");
    button.disabled = false;
    return;
  }
  try {
    const res = await api("GET", listPath(kind, name) + "/export", { raw: true });
    const blob = await res.blob();
    download(kind + "-" + name + ".csv", blob);
    announce(t("list.export.done", { size: fmtInt(blob.size) }));
  } catch (e) {
    report(e);
  } finally {
    button.disabled = false;
  }
}

// ---------- check ----------

async function showCheck() {
  try { await loadLists(false); } catch (e) { if (e instanceof Unauthorized) throw e; }
  $("#campaign-options").replaceChildren(...campaigns().map((c) => h("option", { value: c })));
}

async function check(ev) {
  ev.preventDefault();
  showError("");
  const campaign = $("#check-campaign").value.trim();
  const number = $("#check-number").value.trim();
  if (!number) return;
  const out = $("#check-result");
  try {
    const v = await api("GET", "/api/v1/check?campaign=" + encodeURIComponent(campaign) + "&number=" + encodeURIComponent(number), { ok: [400, 503] });
    const status = v.status || "ERROR";
    out.dataset.status = status;
    const meta = v.meta || {};
    const rows = [
      [t("check.dialed"), v.dialed],
      [t("check.normalized"), v.number || "—", "check-normalized"],
      [t("check.campaignUsed"), (v.campaign || "—") + (v.known_campaign ? "" : " (" + t("check.unknownCampaign") + ")")],
    ];
    if (status === "BLOCKED") {
      rows.push([t("check.list"), v.list, "check-list"], [t("check.entry"), v.entry, "check-entry"], [t("check.reason"), v.reason || "—", "check-reason"]);
      if (meta.added_at) rows.push([t("check.added"), fmtTime(meta.added_at) + (meta.added_by ? " · " + meta.added_by : "")]);
      if (meta.expires_at) rows.push([t("check.expires"), fmtTime(meta.expires_at)]);
      if (meta.note) rows.push([t("check.note"), meta.note]);
    }
    if (status === "ERROR") rows.push([t("check.error"), v.error || v.reason || "", "check-reason"]);
    const heading = { ALLOWED: K("check.allowed"), BLOCKED: K("check.blocked"), ERROR: K("check.failed") }[status] || K("check.failed");
    out.replaceChildren(h("h2", { text: t(heading) }),
      status === "ERROR" && v.block ? h("p", { text: t("check.errorBlocks") }) : "",
      h("dl", {}, ...rows.flatMap(([k, val, test]) => [h("dt", { text: k }), h("dd", { class: "mono", dataset: test ? { test } : undefined, text: val == null ? "" : val })])));
    if (status === "BLOCKED" && v.list) {
      // The verdict names a shared list by its name, a campaign's own list
      // by the campaign id.
      const shared = (state.lists || []).some((l) => l.kind === "shared" && l.name === v.list);
      out.append(h("p", {}, t("check.open"), " ", listLink(shared || v.list !== v.campaign ? "shared" : "campaign", v.list)));
    }
    out.hidden = false; // its aria-live reads it out
  } catch (e) {
    out.hidden = true;
    report(e);
  }
}

// ---------- monitor ----------

async function showMonitor() {
  try { await loadLists(false); } catch (e) { if (e instanceof Unauthorized) throw e; }
  const cs = $("#monitor-campaign");
  const cur = cs.value;
  cs.replaceChildren(h("option", { value: "", text: t("monitor.all") }), h("option", { value: "-", text: t("monitor.noCampaign") }),
    ...campaigns().map((c) => h("option", { value: c, text: c })));
  cs.value = cur || "";
  const ls = $("#monitor-list");
  const curl = ls.value;
  const names = [...new Set((state.lists || []).map((l) => l.name))].sort();
  ls.replaceChildren(h("option", { value: "", text: t("monitor.allLists") }), ...names.map((n) => h("option", { value: n, text: n })));
  ls.value = names.includes(curl) ? curl : "";
  await refreshMonitor();
  state.timer = setInterval(() => { if (!document.hidden) refreshMonitor().catch(report); }, REFRESH_MS);
}

async function refreshMonitor() {
  const seq = ++state.monitorSeq;
  const campaign = $("#monitor-campaign").value;
  const list = $("#monitor-list").value;
  // Each part fails alone: a server that keeps no statistics (404) still
  // shows its health.
  const [, chart, blocked] = await Promise.allSettled([refreshHealth(), refreshChart(campaign, list, seq), loadBlocked(campaign, list, "")]);
  if (seq !== state.monitorSeq) return;
  for (const r of [chart, blocked]) {
    if (r.status === "rejected") {
      if (r.reason instanceof Unauthorized) return;
      report(r.reason);
    }
  }
  if (blocked.status === "fulfilled") showBlocked(blocked.value, false);
  $("#monitor-updated").textContent = t("monitor.updated", { at: new Date().toLocaleTimeString(lang) });
}

async function refreshHealth() {
  const el = $("#health");
  let ready = false;
  let msg = "";
  try {
    const res = await fetch("/readyz", { cache: "no-store" });
    ready = res.ok;
    if (!ready) msg = ((await res.json().catch(() => ({}))).error) || "HTTP " + res.status;
  } catch (e) {
    msg = t("error.network");
  }
  el.dataset.ready = String(ready);
  let text = ready ? t("monitor.ready") : t("monitor.notReady") + (msg ? ": " + msg : "");
  const cfg = state.config;
  if (cfg && cfg.ok === false) text += " · " + t("monitor.reloadFailed", { error: cfg.error || "" });
  el.textContent = text;
}

// hourStats returns the stats of the UTC hour starting at start (ms) for
// the campaigns; finished hours are cached, the current one is not.
async function hourStats(campaignsParam, start, now) {
  const key = campaignsParam + "|" + start;
  if (state.hourCache.has(key)) return state.hourCache.get(key);
  const since = new Date(start).toISOString();
  const until = new Date(start + HOUR - 1000).toISOString();
  const r = await api("GET", "/api/v1/stats?since=" + encodeURIComponent(since) + "&until=" + encodeURIComponent(until) +
    (campaignsParam ? "&campaign=" + encodeURIComponent(campaignsParam) : ""));
  const stats = r.campaigns || [];
  if (start + HOUR < now - 60000) {
    if (state.hourCache.size > 2000) state.hourCache.clear();
    state.hourCache.set(key, stats);
  }
  return stats;
}

function blockedOf(stats, list) {
  let n = 0;
  for (const c of stats) n += list ? Number((c.lists || {})[list] || 0) : Number(c.blocked || 0);
  return n;
}

async function refreshChart(campaign, list, seq) {
  const now = Date.now();
  // The day's figures name the campaigns; each hour is then read for them
  // alone (a request without campaigns would scan Redis's keys each time).
  const day = await api("GET", "/api/v1/stats?since=24h" + (campaign ? "&campaign=" + encodeURIComponent(campaign) : ""));
  const dayStats = day.campaigns || [];
  const ids = campaign ? [campaign] : dayStats.map((c) => c.campaign).sort();
  const groups = [];
  for (let i = 0; i < ids.length; i += 100) groups.push(ids.slice(i, i + 100).join(","));
  const current = Math.floor(now / HOUR) * HOUR;
  const starts = [];
  for (let i = 23; i >= 0; i--) starts.push(current - i * HOUR);
  const counts = await Promise.all(starts.map(async (start) => {
    let n = 0;
    for (const g of groups) n += blockedOf(await hourStats(g, start, now), list);
    return n;
  }));
  if (seq !== state.monitorSeq) return;
  const sum = (f) => dayStats.reduce((a, c) => a + Number(c[f] || 0), 0);
  facts($("#monitor-totals"), [
    [t("monitor.checked"), fmtInt(sum("checked")), "total-checked"],
    [t("monitor.allowed"), fmtInt(sum("allowed")), "total-allowed"],
    [t("monitor.blockedTotal"), fmtInt(list ? blockedOf(dayStats, list) : sum("blocked")), "total-blocked"],
    [t("monitor.errors"), fmtInt(sum("errors")), "total-errors"],
  ]);
  drawChart(starts, counts);
}

function drawChart(starts, counts) {
  // The drawing is as wide as its box, so that its text is not stretched.
  const W = Math.max(480, Math.round($("#chart-wrap").clientWidth || 960)), H = 220, top = 18, bottom = 26, right = 8;
  const max = Math.max(1, ...counts);
  const left = 14 + 7 * fmtInt(max).length;
  const bw = (W - left - right) / counts.length;
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  const svg = s("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "chart-title chart-desc", "data-test": "blocked-chart" });
  const total = counts.reduce((a, b) => a + b, 0);
  svg.append(s("desc", { id: "chart-desc" }, t("monitor.chart.desc", { n: fmtInt(total), max: fmtInt(Math.max(...counts)) })));
  svg.append(s("line", { class: "axis", x1: left, y1: H - bottom, x2: W - right, y2: H - bottom }));
  svg.append(s("text", { x: left - 6, y: top + 4, "text-anchor": "end" }, fmtInt(max)));
  svg.append(s("text", { x: left - 6, y: H - bottom, "text-anchor": "end" }, "0"));
  counts.forEach((n, i) => {
    const x = left + i * bw + 2;
    const hour = new Date(starts[i]);
    const label = hour.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    const bar = s("rect", { class: "bar", x: x.toFixed(1), y: y(n).toFixed(1), width: (bw - 4).toFixed(1), height: Math.max(0, H - bottom - y(n)).toFixed(1), "data-test": "chart-bar", "data-count": String(n), "data-hour": hour.toISOString() },
      s("title", {}, label + ": " + t("monitor.chart.bar", { n: fmtInt(n) })));
    svg.append(bar);
    if (n > 0) svg.append(s("text", { class: "value", x: (x + (bw - 4) / 2).toFixed(1), y: (y(n) - 4).toFixed(1), "text-anchor": "middle" }, fmtInt(n)));
    if (i % 3 === 0) svg.append(s("text", { x: (x + (bw - 4) / 2).toFixed(1), y: H - 8, "text-anchor": "middle" }, label));
  });
  $("#chart-wrap").replaceChildren(svg);
}

async function loadBlocked(campaign, list, before) {
  let q = "/api/v1/blocked?count=50";
  if (campaign) q += "&campaign=" + encodeURIComponent(campaign);
  if (list) q += "&list=" + encodeURIComponent(list);
  if (before) q += "&before=" + encodeURIComponent(before);
  return api("GET", q);
}

function showBlocked(r, append) {
  const rows = (r.calls || []).map((c) => h("tr", { dataset: { test: "blocked-row", number: c.number || c.dialed || "" } },
    h("td", { text: fmtTime(c.at) }),
    h("td", { text: c.campaign || "" }),
    h("td", { class: "mono", text: (c.number || "") + (c.dialed && c.dialed !== c.number ? " (" + c.dialed + ")" : "") }),
    h("td", { text: c.list || "" }),
    h("td", { class: "mono", text: c.entry || "" }),
    h("td", { text: c.status === "ERROR" ? t("monitor.errorCall", { error: c.reason || "" }) : (c.reason || "") })));
  const body = $("#blocked-body");
  if (append) body.append(...rows);
  else if (rows.length) body.replaceChildren(...rows);
  else body.replaceChildren(h("tr", {}, h("td", { colspan: 6, text: t("monitor.blocked.none") })));
  state.blockedNext = r.next || "";
  $("#blocked-more").hidden = !state.blockedNext;
}

async function moreBlocked() {
  try {
    const r = await loadBlocked($("#monitor-campaign").value, $("#monitor-list").value, state.blockedNext);
    showBlocked(r, true);
  } catch (e) {
    report(e);
  }
}

// ---------- scrub ----------

async function showScrub() {
  await showCheck(); // the same campaign suggestions
}

// scrubFile uploads the lead file to POST /api/v1/scrub, which answers the
// clean file and the removed rows; the page offers both as downloads.
async function scrubFile(ev) {
  ev.preventDefault();
  showError("");
  const file = $("#scrub-file").files[0];
  const campaign = $("#scrub-campaign").value.trim();
  if (!file || !campaign) return;
  const gz = /\.gz$/i.test(file.name) || file.type === "application/gzip";
  let q = "?campaign=" + encodeURIComponent(campaign) + "&name=" + encodeURIComponent(file.name);
  const column = $("#scrub-column").value.trim();
  if (column) q += "&column=" + encodeURIComponent(column);
  const button = $("#scrub-form button[type=submit]");
  button.disabled = true;
  state.scrub = null;
  const el = $("#scrub-summary");
  el.replaceChildren(h("p", { text: t("scrub.running", { size: fmtInt(file.size) }) }));
  delete el.dataset.state;
  el.className = "";
  $("#scrub-status").hidden = false;
  $("#scrub-clean").hidden = true;
  $("#scrub-report").hidden = true;
  try {
    const r = await api("POST", "/api/v1/scrub" + q, { body: file, contentType: gz ? "application/gzip" : "text/csv" });
    state.scrub = { answer: r, base: file.name.replace(/\.gz$/i, "").replace(/\.csv$/i, "") };
    const byList = Object.entries(r.by_list || {}).map(([l, n]) => l + ": " + fmtInt(n)).join(", ");
    const rows = [
      [t("scrub.read"), fmtInt(r.read), "scrub-read"],
      [t("scrub.kept"), fmtInt(r.kept), "scrub-kept"],
      [t("scrub.removed"), fmtInt(r.removed), "scrub-removed"],
      [t("scrub.invalid"), fmtInt(r.invalid), "scrub-invalid"],
      [t("scrub.byList"), byList || "—", "scrub-by-list"],
    ];
    el.dataset.state = "done";
    el.className = "summary-done";
    const done = t("scrub.done", { campaign: r.campaign, removed: fmtInt(r.removed), read: fmtInt(r.read) });
    el.replaceChildren(h("p", { text: done }),
      h("dl", { class: "facts" }, ...rows.map(([k, v, test]) => h("div", {}, h("dt", { text: k }), h("dd", { dataset: { test }, text: v })))));
    $("#scrub-clean").hidden = false;
    $("#scrub-report").hidden = !(r.removed_rows && r.removed_rows.length);
    announce(done);
  } catch (e) {
    el.dataset.state = "failed";
    el.className = "summary-failed";
    el.replaceChildren(h("p", { text: t("scrub.failed", { error: e && e.message ? e.message : String(e) }) }));
    report(e);
  } finally {
    button.disabled = false;
  }
}

function downloadScrubClean() {
  const sc = state.scrub;
  if (!sc) return;
  download(sc.base + ".clean.csv", new Blob([sc.answer.clean || ""], { type: "text/csv" }));
}

function downloadScrubReport() {
  const sc = state.scrub;
  if (!sc) return;
  const lines = ["line,number,normalized,list,entry,reason",
    ...(sc.answer.removed_rows || []).map((r) => [r.line, r.number, r.normalized, r.list, r.entry, r.reason].map(csvField).join(","))];
  download(sc.base + ".removed.csv", new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
}

// ---------- start ----------

async function start() {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#lang-select").addEventListener("change", async (ev) => {
    try {
      await setLang(ev.target.value, true);
      route();
    } catch (e) {
      report(e);
    }
  });
  $("#campaign-select").addEventListener("change", showCampaignLists);
  $("#open-campaign-form").addEventListener("submit", openCampaign);
  $("#search-form").addEventListener("submit", search);
  $("#search-clear").addEventListener("click", () => loading(firstPage()));
  $("#next-page").addEventListener("click", nextPage);
  $("#first-page").addEventListener("click", () => loading(firstPage()));
  $("#add-form").addEventListener("submit", addEntries);
  $("#import-form").addEventListener("submit", importFile);
  $("#import-rejects").addEventListener("click", downloadRejects);
  $("#export-button").addEventListener("click", exportList);
  $("#audit-refresh").addEventListener("click", () => loading(loadAudit()));
  $("#audit-more").addEventListener("click", () => loading(moreAudit()));
  $("#check-form").addEventListener("submit", check);
  $("#scrub-form").addEventListener("submit", scrubFile);
  $("#scrub-clean").addEventListener("click", downloadScrubClean);
  $("#scrub-report").addEventListener("click", downloadScrubReport);
  $("#monitor-refresh").addEventListener("click", () => loading(refreshMonitor()));
  $("#monitor-campaign").addEventListener("change", () => loading(refreshMonitor()));
  $("#monitor-list").addEventListener("change", () => loading(refreshMonitor()));
  $("#blocked-more").addEventListener("click", moreBlocked);
  $("#add-by").value = localStorage.getItem(BY_KEY) || "";
  window.addEventListener("hashchange", route);
  try {
    await setLang(chooseLang(), false);
  } catch (e) {
    showError(String(e.message || e));
  }
  if (!location.hash) history.replaceState(null, "", "#/lists");
  route();
}

start();
