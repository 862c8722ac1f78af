// Drives dashboard.js's 办理 actions on a minimal fake DOM (node has none): which buttons each role
// sees in each state, what each form sends, that API errors show in the panel, and that the minute
// refresh does not wipe a form being filled in. Run by test_dashboard_ticket_actions.py.
"use strict";
const fs = require("fs");
const [jsPath, htmlPath] = process.argv.slice(2);
const html = fs.readFileSync(htmlPath, "utf8");

class El {
  constructor(tag) { this.tagName = tag.toUpperCase(); this.children = []; this.parentNode = null;
    this._text = ""; this.className = ""; this.hidden = false; this.listeners = {}; this.style = {};
    this.disabled = false; this._value = undefined; this.selected = false; this.checked = false; this.required = false; this.name = "";
    const self = this;
    this.classList = { toggle(c, on) { const s = new Set(self.className.split(" ").filter(Boolean));
      if (on === undefined ? !s.has(c) : on) s.add(c); else s.delete(c); self.className = [...s].join(" "); },
      remove(c) { this.toggle(c, false); }, add(c) { this.toggle(c, true); } };
    if (this.tagName === "TABLE") { const tb = new El("tbody"); this.appendChild(tb); this.tBodies = [tb]; }
  }
  get value() {
    if (this.tagName === "SELECT" && this._value === undefined) {
      const o = this.children.find(c => c.selected) || this.children[0];
      return o ? o.value : "";
    }
    return this._value === undefined ? "" : this._value;
  }
  set value(v) { this._value = String(v); }
  get firstChild() { return this.children[0] || null; }
  appendChild(c) { c.parentNode = this; this.children.push(c); return c; }
  removeChild(c) { this.children.splice(this.children.indexOf(c), 1); c.parentNode = null; return c; }
  set textContent(v) { this.children = []; this._text = String(v); }
  get textContent() { return this._text + this.children.map(c => c.textContent).join(""); }
  set innerHTML(v) { throw new Error("innerHTML used"); }
  addEventListener(t, f) { (this.listeners[t] = this.listeners[t] || []).push(f); }
  fire(t, ev) { ev = ev || {}; ev.target = this; ev.preventDefault = () => {}; (this.listeners[t] || []).forEach(f => f(ev)); }
  click() { this.fire("click"); }
  all() { return this.children.flatMap(c => [c, ...c.all()]); }
  querySelectorAll(sel) { const tags = sel.split(",").map(s => s.trim().toUpperCase());
    return this.all().filter(e => tags.includes(e.tagName) || (sel === "tbody tr" && e.tagName === "TR")); }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
  get elements() { const out = {}; this.all().filter(e => e.name).forEach(e => { out[e.name] = e; }); return out; }
  focus() {} scrollIntoView() {}
}
const byId = {};
const tagOf = {};
for (const m of html.matchAll(/<(\w+)[^>]*\sid="([^"]+)"([^>]*)>/g)) {
  const e = new El(m[1]); e.id = m[2]; e.hidden = /\bhidden\b/.test(m[0]); byId[m[2]] = e; }
byId["days"].value = "30";

const ticket = { id: 5, title: "<b>积水</b>", grade: "II", state: "handling", unit_id: 1, assisting_unit_ids: [],
  created_at: "2026-11-26T00:00:00Z", deadlines: [], timeline: [], responses: [], online_note: "", offline_note: "",
  signed_off_by_id: null, reviewed_by_id: null, confidentiality_checked: false };
const sent = [];
let nextError = null;
global.window = {
  sessionStorage: { getItem: () => "tok", setItem() {}, removeItem() {} },
  location: { search: "?ticket=5", href: "http://x/?ticket=5" },
  history: { replaceState() {} }, setInterval: () => 1, clearInterval() {}, addEventListener() {},
  fetch(path, opts) {
    opts = opts || {};
    if (opts.method) sent.push({ path, method: opts.method, body: JSON.parse(opts.body || "null") });
    let status = 200, body = {};
    if (opts.method && nextError) { [status, body] = nextError; nextError = null; }
    else if (path === "/api/users/me") body = global.me;
    else if (path === "/api/units") body = [{ id: 1, name: "城管局" }, { id: 2, name: "住建局" }];
    else if (path === "/api/tickets/5") body = ticket;
    else if (path.startsWith("/api/tickets")) body = [];
    else if (path.startsWith("/api/dashboard")) body = { counts: {}, tickets_by_state: [], events_by_grade: [],
      topics: [], trend: [], open_alerts: [], sources: [] };
    return Promise.resolve({ status, ok: status < 300, json: () => Promise.resolve(body) });
  },
};
global.document = { getElementById: id => byId[id] || null, createElement: t => new El(t),
  addEventListener(t, f) { global.ready = f; } };
global.window.echarts = { init: () => ({ setOption() {}, resize() {} }) };
global.URL = class extends URL {};
require(jsPath);
const tick = () => new Promise(r => setTimeout(r, 5));
const buttons = () => byId["ticket-action-buttons"].children.map(b => b.textContent);
function press(label) { byId["ticket-action-buttons"].children.find(b => b.textContent === label).click(); }
function submit() { byId["ticket-action-form"].children[0].fire("submit"); }
const f = () => byId["ticket-action-form"].children[0].elements;
function check(cond, what) { if (!cond) { console.error("FAIL", what); process.exitCode = 1; } else console.log("ok", what); }

(async () => {
  global.me = { role: "handler", unit_id: 1, username: "h" };
  global.ready(); await tick(); await tick();
  check(byId["ticket-title"].textContent === "<b>积水</b>", "title as text");
  check(JSON.stringify(buttons()) === JSON.stringify(["提交审核", "线上/线下情况"]), "handler/handling: " + buttons());
  check(!byId["ticket-action-hint"].hidden, "grade II hint: " + byId["ticket-action-hint"].textContent);
  press("提交审核"); f().note.value = "稿";
  nextError = [409, { detail: "不能从“处置中”转为“待审核”" }];
  submit(); await tick(); await tick();
  check(sent[0].path === "/api/tickets/5/transition" && sent[0].body.to_state === "review", "transition sent");
  check(byId["ticket-action-message"].className === "error" && byId["ticket-action-message"].textContent.includes("409"),
    "error shown: " + byId["ticket-action-message"].textContent);
  // The refresh keeps an open form.
  global.ready && byId["refresh"].click(); await tick(); await tick();
  check(byId["ticket-action-form"].children.length === 1, "form kept on refresh");
  submit(); await tick(); await tick();
  check(byId["ticket-action-message"].textContent === "提交审核：已转为待审核。", "ok msg: " + byId["ticket-action-message"].textContent);
  check(byId["ticket-action-form"].children.length === 0, "form closed after success");

  ticket.state = "review";
  global.me = { role: "leader", unit_id: null, username: "l" };
  byId["logout"].click(); global.ready(); await tick(); await tick(); await tick();
  check(JSON.stringify(buttons()) === JSON.stringify(["改派", "退回修改", "审核签发", "线上/线下情况"]), "leader/review: " + buttons());
  press("审核签发"); f().confidentiality_checked.checked = true; submit(); await tick();
  check(JSON.stringify(sent.at(-1).body) === JSON.stringify({ note: "", confidentiality_checked: true }), "sign-off body");
  ticket.signed_off_by_id = 9; ticket.confidentiality_checked = true; ticket.reviewed_by_id = 9;
  byId["refresh"].click(); await tick(); await tick();
  check(JSON.stringify(buttons()) === JSON.stringify(["改派", "退回修改", "记录回应", "线上/线下情况"]), "signed: " + buttons());
  press("记录回应");
  check(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/.test(f().published_at.value), "default now " + f().published_at.value);
  f().title.value = "通报"; f().channel.value = "weibo"; submit(); await tick();
  const r = sent.at(-1);
  check(r.path === "/api/tickets/5/responses" && r.body.kind === "response" && r.body.channel === "weibo" &&
    r.body.title === "通报" && /Z$/.test(r.body.published_at), "response body " + JSON.stringify(r.body));
  ticket.state = "triage"; ticket.unit_id = null;
  global.me = { role: "duty", unit_id: null, username: "d" };
  byId["logout"].click(); global.ready(); await tick(); await tick(); await tick();
  check(JSON.stringify(buttons()) === JSON.stringify(["交办", "标记误报", "线上/线下情况"]), "duty/triage: " + buttons());
  press("交办"); f().unit_id.value = "2"; submit(); await tick();
  check(JSON.stringify(sent.at(-1).body) === JSON.stringify({ unit_id: 2, note: "" }), "assign body");
  ticket.state = "closed";
  byId["refresh"].click(); await tick(); await tick();
  check(JSON.stringify(buttons()) === JSON.stringify(["重新打开"]), "closed: " + buttons());
  global.me = { role: "handler", unit_id: 2, username: "x" };
  ticket.state = "handling"; ticket.unit_id = 1;
  byId["logout"].click(); global.ready(); await tick(); await tick(); await tick();
  check(byId["ticket-actions"].hidden, "other unit's handler: nothing offered");
})();
