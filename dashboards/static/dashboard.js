// 舆情看板. Every value from the server is untrusted (titles are scraped text): it is only
// ever written with textContent / createElement, never parsed as markup.
(function () {
  "use strict";

  var TOKEN_KEY = "yuqing.token";
  var REFRESH_MS = 60 * 1000;
  var TICKET_LIMIT = 50;
  // Every API path this page calls, in one place (a test checks each against the app's routes).
  var PATHS = {
    token: "/api/auth/token",
    me: "/api/users/me",
    summary: "/api/dashboard/summary",
    units: "/api/units",
    tickets: "/api/tickets",
    ticket: "/api/tickets/{id}",
    assign: "/api/tickets/{id}/assign",
    transition: "/api/tickets/{id}/transition",
    dismiss: "/api/tickets/{id}/dismiss",
    reopen: "/api/tickets/{id}/reopen",
    signOff: "/api/tickets/{id}/sign-off",
    responses: "/api/tickets/{id}/responses",
    notes: "/api/tickets/{id}/notes",
    alert: "/api/alerts/{id}",
    acknowledge: "/api/alerts/{id}/acknowledge"
  };
  var OPEN_STATES = ["triage", "assigned", "handling", "review", "responded"];
  var STATE_LABELS = { triage: "待研判", assigned: "已交办", handling: "处置中", review: "待审核",
    responded: "已回应", closed: "已办结", dismissed: "误报" };
  var GRADE_LABELS = { I: "特别重大", II: "重大", III: "较大", IV: "一般" };
  var ACTION_LABELS = { open: "开单", assign: "交办", reassign: "改派", units: "调整协办单位",
    transition: "状态变更", reopen: "重新打开", pause: "暂停计时", resume: "恢复计时", extend: "延期",
    review: "审核", review_reject: "审核退回", sign_off: "领导签发", respond: "发布回应",
    note: "填写情况", remind: "到期提醒", escalate: "超期督办" };
  var CHANNEL_LABELS = { weibo: "微博", wechat: "微信", website: "网站", press_conference: "新闻发布会",
    briefing: "吹风会", interview: "媒体采访", policy_doc: "政策解读稿", phone_callback: "电话回访" };
  var KIND_LABELS = { response: "回应", interpretation: "政策解读" };
  // Who may do what (api/deps.py): the API still decides, this only hides what it would refuse.
  var DISPATCHERS = ["admin", "leader", "duty"];  // 交办, 标记误报, 重新打开
  var LEADERS = ["admin", "leader"];  // 审核签发
  // State changes offered as buttons: a subset of TRANSITIONS in core/tickets/service.py (a test checks).
  var MOVES = {"assigned": ["handling"], "handling": ["review"], "review": ["handling"],
    "responded": ["closed", "handling"]};
  var MOVE_LABELS = { "assigned>handling": "开始处置", "handling>review": "提交审核",
    "review>handling": "退回修改", "responded>closed": "办结", "responded>handling": "继续处置" };
  var RESPONDABLE = ["assigned", "handling", "review", "responded"];
  var SIGN_OFF_GRADES = ["I", "II"];  // their responses need a leader's 审核签发 first
  var DUE_CLASSES = { "已超期": "due-overdue", "超时完成": "due-late", "即将到期": "due-soon",
    "按时完成": "due-ok", "计时暂停": "due-paused" };

  var chart = null;
  var timer = null;
  var unitNames = {};  // unit id → name, from PATHS.units
  var unitList = [];  // the same units in the API's order, for the 交办 select
  var lastTickets = null;
  var currentTicket = null;  // id (string) shown in the detail panel
  var currentTicketData = null;  // that ticket as last loaded, for the action forms
  var pendingAlert = null;  // ?alert=ID still to be located after the next summary
  var highlightAlert = null;
  var userRole = null;  // handlers may not sign for alerts: the button is not offered to them
  var userUnitId = null;  // a handler acts on the tickets their unit leads
  var openAction = null;  // label of the action form open in the panel, if any
  var actionKey = null;  // what the offered actions were built from (see renderActions)

  function $(id) { return document.getElementById(id); }

  function token() { return window.sessionStorage.getItem(TOKEN_KEY); }

  function setText(id, value) { $(id).textContent = String(value); }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // PATHS[name] with its {id} filled in (encoded), plus an optional query string.
  function apiPath(name, id, query) {
    var path = PATHS[name].replace("{id}", encodeURIComponent(String(id)));
    var qs = query ? new URLSearchParams(query).toString() : "";
    return qs ? path + "?" + qs : path;
  }

  // The ?ticket= / ?alert= parameter of notification links, or null.
  function urlParam(name) {
    var value = (new URLSearchParams(window.location.search).get(name) || "").trim();
    return value === "" ? null : value;
  }

  function setUrlParam(name, value) {
    var url = new URL(window.location.href);
    if (value === null) { url.searchParams.delete(name); } else { url.searchParams.set(name, value); }
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  function isId(value) { return /^[1-9][0-9]{0,17}$/.test(value || ""); }

  function stateLabel(state) { return STATE_LABELS[state] || state || ""; }

  function unitLabel(unitId) {
    if (unitId === null || unitId === undefined) { return "未交办"; }
    return unitNames[unitId] || "单位 #" + unitId;
  }

  function gradeBadge(grade) {
    if (!grade) { return el("span", "muted", "未分级"); }
    return el("span", "grade grade-" + grade, grade + " " + (GRADE_LABELS[grade] || ""));
  }

  function dueBadge(status) { return el("span", "due " + (DUE_CLASSES[status] || ""), status); }

  function showLogin(message) {
    window.sessionStorage.removeItem(TOKEN_KEY);
    userRole = null;
    if (timer) { window.clearInterval(timer); timer = null; }
    $("dashboard-view").hidden = true;
    $("session-bar").hidden = true;
    $("login-view").hidden = false;
    setText("login-error", message || "");
    // Nothing of the last user stays on the page (the URL keeps ?ticket= for the next login).
    currentTicket = null;
    lastTickets = null;
    userRole = userUnitId = openAction = actionKey = null;
    $("ticket-panel").hidden = true;
    $("ticket-detail").hidden = true;
  }

  function api(path, options) {
    options = options || {};
    var headers = options.headers || {};
    headers["Authorization"] = "Bearer " + token();
    options.headers = headers;
    return window.fetch(path, options).then(function (res) {
      if (res.status === 401) {
        showLogin("登录已失效，请重新登录");
        throw new Error("unauthorized");
      }
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          var err = new Error(errorDetail(body.detail, res.status));
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  // FastAPI's `detail`: a message, or (request validation) a list of {msg} items.
  function errorDetail(detail, status) {
    if (typeof detail === "string") { return detail; }
    if (Array.isArray(detail) && detail.length) {
      return detail.map(function (d) { return d && d.msg ? String(d.msg) : ""; }).join("；");
    }
    return "请求失败 " + status;
  }

  function login(event) {
    event.preventDefault();
    var form = event.target;
    var body = new URLSearchParams();
    body.set("username", form.elements.username.value);
    body.set("password", form.elements.password.value);
    setText("login-error", "");
    window.fetch(PATHS.token, { method: "POST", body: body }).then(function (res) {
      return res.json().then(function (data) {
        if (!res.ok) { throw new Error(data.detail ? String(data.detail) : "登录失败"); }
        window.sessionStorage.setItem(TOKEN_KEY, data.access_token);
        form.reset();
        start();
      });
    }).catch(function (err) { setText("login-error", err.message); });
  }

  function start() {
    $("login-view").hidden = true;
    $("dashboard-view").hidden = false;
    $("session-bar").hidden = false;
    api(apiPath("me")).then(function (me) {
      setText("user-name", me.full_name || me.username);
      userUnitId = me.unit_id === undefined ? null : me.unit_id;
      if (me.role !== userRole) { userRole = me.role; load(); }
    }).catch(function () {});
    api(apiPath("units")).then(function (units) {
      unitNames = {};
      unitList = units;
      units.forEach(function (u) { unitNames[u.id] = u.name; });
      if (lastTickets) { renderTickets(lastTickets.rows, lastTickets.more); }
    }).catch(function () {});
    pendingAlert = highlightAlert = urlParam("alert");
    var ticketId = urlParam("ticket");
    if (ticketId !== null) { openTicket(ticketId, true); }
    load();
    if (!timer) { timer = window.setInterval(load, REFRESH_MS); }
  }

  function load() {
    var days = $("days").value;
    setText("status", "加载中…");
    api(apiPath("summary", null, { days: days })).then(function (data) {
      render(data);
      setText("status", "更新于 " + new Date().toLocaleTimeString("zh-CN"));
      if (pendingAlert !== null) {
        var wanted = pendingAlert;
        pendingAlert = null;
        locateAlert(wanted, data.open_alerts);
      }
    }).catch(function (err) {
      if (err.message !== "unauthorized") { setText("status", "加载失败：" + err.message); }
    });
    loadTickets();
    if (currentTicket !== null && !$("ticket-panel").hidden) { openTicket(currentTicket, false, true); }
  }

  // ---- 工单 list: the open tickets this user may see (handlers: their unit's), newest first.

  function loadTickets() {
    // One request per open state, so closed tickets never crowd open ones out of the limit.
    Promise.all(OPEN_STATES.map(function (state) {
      return api(apiPath("tickets", null, { state: state, limit: TICKET_LIMIT }));
    })).then(function (lists) {
      var all = [].concat.apply([], lists);
      all.sort(function (a, b) { return b.id - a.id; });
      lastTickets = { rows: all.slice(0, TICKET_LIMIT), more: all.length > TICKET_LIMIT };
      renderTickets(lastTickets.rows, lastTickets.more);
    }).catch(function (err) {
      if (err.message !== "unauthorized") { setText("tickets-summary", "加载失败：" + err.message); }
    });
  }

  function responseDeadline(t) {
    var found = (t.deadlines || []).filter(function (d) { return d.clock === "response"; })[0];
    if (found) { return found; }
    if (!t.response_due_at) { return null; }
    var overdue = !t.first_response_at && Date.parse(t.response_due_at) < Date.now();
    return { due_at: t.response_due_at, status: overdue ? "已超期" : "" };
  }

  function renderTickets(rows, more) {
    var tbody = $("tickets").tBodies[0];
    clear(tbody);
    $("tickets-empty").hidden = rows.length > 0;
    $("tickets").hidden = rows.length === 0;
    var overdue = rows.filter(function (t) {
      return (t.deadlines || []).some(function (d) { return d.status === "已超期"; });
    }).length;
    setText("tickets-summary", (more ? "显示最新 " + rows.length + " 张" : "共 " + rows.length + " 张") +
      (overdue ? "，其中 " + overdue + " 张有超期时限" : ""));
    rows.forEach(function (t) {
      var tr = el("tr", String(t.id) === currentTicket ? "selected" : "");
      tr.appendChild(el("td", "", "#" + t.id));
      var link = el("a", "", t.title || "（无标题）");
      link.href = "?ticket=" + encodeURIComponent(String(t.id));
      link.addEventListener("click", function (event) {
        event.preventDefault();
        openTicket(String(t.id), true);
      });
      tr.appendChild(el("td", "title")).appendChild(link);
      tr.appendChild(el("td")).appendChild(gradeBadge(t.grade));
      tr.appendChild(el("td", "", stateLabel(t.state) + (t.paused_at ? "（计时暂停）" : "")));
      tr.appendChild(el("td", "", unitLabel(t.unit_id)));
      var due = responseDeadline(t);
      var cell = el("td");
      if (due) {
        cell.appendChild(el("span", "", localTime(due.due_at) + " "));
        if (due.status) { cell.appendChild(dueBadge(due.status)); }
      } else {
        cell.textContent = "—";
      }
      tr.appendChild(cell);
      tbody.appendChild(tr);
    });
  }

  // ---- 工单详情 panel (?ticket=ID).

  function openTicket(id, scroll, quiet) {
    var panel = $("ticket-panel");
    currentTicket = id;
    panel.hidden = false;
    markSelected();
    if (!quiet) {
      setUrlParam("ticket", id);
      setText("ticket-id", isId(id) ? "#" + id : "");
      $("ticket-detail").hidden = true;
      openAction = actionKey = null;
      setActionMessage("", "status");
      setText("ticket-message", "加载中…");
      $("ticket-message").className = "status";
    }
    if (scroll) { panel.scrollIntoView({ behavior: "smooth", block: "start" }); }
    if (!isId(id)) { ticketError("链接中的工单编号无效：" + id); return; }
    api(apiPath("ticket", id)).then(function (t) {
      if (currentTicket !== id) { return; }  // another ticket was opened meanwhile
      renderTicket(t);
    }).catch(function (err) {
      if (currentTicket !== id || err.message === "unauthorized") { return; }
      if (err.status === 403) {
        ticketError("无权查看工单 #" + id + "：承办人只能查看本单位牵头或协办的工单。");
      } else if (err.status === 404) {
        ticketError("工单 #" + id + " 不存在，请核对通知中的链接。");
      } else {
        ticketError("工单 #" + id + " 加载失败：" + err.message);
      }
    });
  }

  function ticketError(message) {
    $("ticket-detail").hidden = true;
    setText("ticket-message", message);
    $("ticket-message").className = "error";
  }

  function closeTicket() {
    currentTicket = null;
    $("ticket-panel").hidden = true;
    setUrlParam("ticket", null);
    markSelected();
  }

  function markSelected() {
    var links = $("tickets").querySelectorAll("tbody tr");
    Array.prototype.forEach.call(links, function (tr) {
      tr.classList.toggle("selected", tr.firstChild.textContent === "#" + currentTicket);
    });
  }

  function renderTicket(t) {
    setText("ticket-message", "");
    $("ticket-message").className = "status";
    setText("ticket-id", "#" + t.id);
    setText("ticket-title", t.title || "（无标题）");
    var grade = $("ticket-grade");
    clear(grade);
    grade.appendChild(gradeBadge(t.grade));
    setText("ticket-state", stateLabel(t.state) +
      (t.paused_at ? "（计时暂停：" + (t.pause_reason || "") + "）" : ""));
    var units = unitLabel(t.unit_id);
    if (t.assisting_unit_ids && t.assisting_unit_ids.length) {
      units += "；协办：" + t.assisting_unit_ids.map(unitLabel).join("、");
    }
    setText("ticket-unit", units);
    setText("ticket-created", localTime(t.created_at));
    var notes = [];
    if (t.online_note) { notes.push("线上情况：" + t.online_note); }
    if (t.offline_note) { notes.push("线下情况：" + t.offline_note); }
    if (t.dismiss_reason) { notes.push("误报原因：" + t.dismiss_reason); }
    setText("ticket-notes", notes.join("\n"));
    $("ticket-notes").hidden = notes.length === 0;

    fillTable("ticket-deadlines", t.deadlines || [], function (d, tr) {
      tr.appendChild(el("td", "", d.label));
      tr.appendChild(el("td", "", localTime(d.due_at)));
      tr.appendChild(el("td")).appendChild(dueBadge(d.status));
      tr.appendChild(el("td", "", d.met_at ? localTime(d.met_at) : "—"));
      if (d.status === "已超期") { tr.className = "overdue"; }
    });
    fillTable("ticket-timeline", t.timeline || [], function (row, tr) {
      tr.appendChild(el("td", "nowrap", localTime(row.at)));
      tr.appendChild(el("td", "", ACTION_LABELS[row.action] || row.action));
      var move = "—";
      if (row.from_state && row.to_state && row.from_state !== row.to_state) {
        move = stateLabel(row.from_state) + " → " + stateLabel(row.to_state);
      } else if (row.to_state) {
        move = (row.from_state ? "" : "→ ") + stateLabel(row.to_state);
      }
      tr.appendChild(el("td", "nowrap", move));
      tr.appendChild(el("td", "note", row.note));
    });
    fillTable("ticket-responses", t.responses || [], function (r, tr) {
      tr.appendChild(el("td", "", CHANNEL_LABELS[r.channel] || r.channel));
      tr.appendChild(el("td", "", KIND_LABELS[r.kind] || r.kind));
      tr.appendChild(el("td", "wrap", r.title || r.summary || "（无标题）"));
      tr.appendChild(el("td", "wrap")).appendChild(responseLink(r.url));
      tr.appendChild(el("td", "nowrap", localTime(r.published_at)));
    });
    currentTicketData = t;
    renderActions(t);
    $("ticket-detail").hidden = false;
  }

  // Only web links become links; anything else (javascript:, data:, relative) stays text.
  function responseLink(url) {
    if (!url) { return el("span", "muted", "—"); }
    if (!/^https?:\/\//i.test(url)) { return el("span", "", url); }
    var a = el("a", "", url);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  function fillTable(id, rows, fillRow) {
    var table = $(id);
    var tbody = table.tBodies[0];
    clear(tbody);
    table.hidden = rows.length === 0;
    $(id + "-empty").hidden = rows.length > 0;
    rows.forEach(function (row) {
      var tr = el("tr");
      fillRow(row, tr);
      tbody.appendChild(tr);
    });
  }


  // ---- 办理: the actions on the ticket in the panel, offered by role and state.

  function roleIn(roles) { return roles.indexOf(userRole) >= 0; }

  // The lead unit's handler, or duty staff and leaders: state changes and responses.
  function leads(t) {
    return roleIn(DISPATCHERS) ||
      (userRole === "handler" && userUnitId !== null && t.unit_id === userUnitId);
  }

  // Assisting units' handlers may add 线上/线下情况 too.
  function works(t) {
    return leads(t) || (userRole === "handler" && userUnitId !== null &&
      (t.assisting_unit_ids || []).indexOf(userUnitId) >= 0);
  }

  function needsSignOff(t) { return SIGN_OFF_GRADES.indexOf(t.grade) >= 0; }

  function signedOff(t) { return Boolean(t.signed_off_by_id) && Boolean(t.confidentiality_checked); }

  function ticketActions(t) {
    var actions = [];
    var open = OPEN_STATES.indexOf(t.state) >= 0;
    if (roleIn(DISPATCHERS) && open) {
      actions.push({ label: t.state === "triage" ? "交办" : "改派", build: assignForm });
    }
    if (roleIn(DISPATCHERS) && t.state === "triage") {
      actions.push({ label: "标记误报", build: dismissForm });
    }
    if (leads(t)) {
      (MOVES[t.state] || []).forEach(function (to) {
        var label = MOVE_LABELS[t.state + ">" + to];
        actions.push({ label: label, build: function (form) { return moveForm(form, to, label); } });
      });
    }
    if (roleIn(LEADERS) && t.state === "review" && !signedOff(t)) {
      actions.push({ label: "审核签发", build: signOffForm });
    }
    if (leads(t) && RESPONDABLE.indexOf(t.state) >= 0 && (!needsSignOff(t) || signedOff(t))) {
      actions.push({ label: "记录回应", build: responseForm });
    }
    if (works(t) && open) {
      actions.push({ label: "线上/线下情况", build: notesForm });
    }
    if (roleIn(DISPATCHERS) && (t.state === "closed" || t.state === "dismissed")) {
      actions.push({ label: "重新打开", build: reopenForm });
    }
    return actions;
  }

  function renderActions(t) {
    var key = [t.id, t.state, t.grade, t.unit_id, (t.assisting_unit_ids || []).join(","),
      t.signed_off_by_id, t.reviewed_by_id, t.confidentiality_checked, userRole, userUnitId].join("|");
    // The minute refresh must not wipe a form being filled in, unless the ticket moved on.
    if (openAction !== null && key === actionKey) { return; }
    if (openAction !== null) { setActionMessage("工单已有变化，请重新选择操作。", "status"); }
    actionKey = key;
    openAction = null;
    var bar = $("ticket-action-buttons");
    var holder = $("ticket-action-form");
    clear(bar);
    clear(holder);
    var actions = ticketActions(t);
    var hint = "";
    if (needsSignOff(t) && leads(t) && RESPONDABLE.indexOf(t.state) >= 0 && !signedOff(t)) {
      hint = t.grade + "级舆情的回应须提交审核、经领导审核签发后方可记录。";
    }
    setText("ticket-action-hint", hint);
    $("ticket-action-hint").hidden = hint === "";
    $("ticket-actions").hidden = actions.length === 0 && hint === "";
    actions.forEach(function (action) {
      var button = el("button", "", action.label);
      button.type = "button";
      button.addEventListener("click", function () { showActionForm(action, button); });
      bar.appendChild(button);
    });
  }

  function showActionForm(action, button) {
    var holder = $("ticket-action-form");
    clear(holder);
    Array.prototype.forEach.call($("ticket-action-buttons").children, function (b) {
      b.classList.toggle("active", b === button);
    });
    setActionMessage("", "status");
    openAction = action.label;
    var form = el("form", "action-form");
    form.appendChild(el("h4", "", action.label));
    var submit = action.build(form);
    var row = el("div", "form-buttons");
    var ok = el("button", "", "提交");
    ok.type = "submit";
    var cancel = el("button", "secondary", "取消");
    cancel.type = "button";
    cancel.addEventListener("click", hideActionForm);
    row.appendChild(ok);
    row.appendChild(cancel);
    form.appendChild(row);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(form.elements);
    });
    holder.appendChild(form);
    var first = form.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  function hideActionForm() {
    openAction = null;
    clear($("ticket-action-form"));
    Array.prototype.forEach.call($("ticket-action-buttons").children, function (b) {
      b.classList.remove("active");
    });
  }

  function setActionMessage(text, className) {
    var node = $("ticket-action-message");
    node.textContent = text;
    node.className = className;
  }

  // Send one action; on success reload the ticket (and the list), else show the API's reason.
  function act(name, method, body, done) {
    var id = currentTicket;
    var buttons = $("ticket-action-form").querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    setActionMessage("提交中…", "status");
    return api(apiPath(name, id), { method: method, headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) }).then(function () {
      if (currentTicket !== id) { return; }
      hideActionForm();
      setActionMessage(done, "status ok");
      openTicket(id, false, true);
      loadTickets();
    }).catch(function (err) {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      if (currentTicket !== id || err.message === "unauthorized") { return; }
      setActionMessage("操作失败" + (err.status ? "（" + err.status + "）" : "") + "：" + err.message, "error");
    });
  }

  // ---- form fields (labels and options are our own text; values come back as typed).

  function field(form, label, control, wide) {
    var wrap = el("label", wide ? "field wide" : "field");
    wrap.appendChild(el("span", "", label));
    wrap.appendChild(control);
    form.appendChild(wrap);
    return control;
  }

  function input(name, type, value, maxLength, required) {
    var node = el("input");
    node.name = name;
    node.type = type || "text";
    if (value !== undefined && value !== null) { node.value = String(value); }
    if (maxLength) { node.maxLength = maxLength; }
    node.required = Boolean(required);
    return node;
  }

  function textarea(name, value, maxLength, required) {
    var node = el("textarea");
    node.name = name;
    node.rows = 3;
    node.value = value || "";
    node.maxLength = maxLength;
    node.required = Boolean(required);
    return node;
  }

  function choice(name, options, selected) {
    var node = el("select");
    node.name = name;
    node.required = true;
    options.forEach(function (o) {
      var option = el("option", "", o[1]);
      option.value = String(o[0]);
      option.selected = String(o[0]) === String(selected);
      node.appendChild(option);
    });
    return node;
  }

  function pairs(labels) { return Object.keys(labels).map(function (k) { return [k, labels[k]]; }); }

  // "YYYY-MM-DDTHH:MM" in this computer's time, what a datetime-local input holds.
  function localInputValue(date) {
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return date.getFullYear() + "-" + two(date.getMonth() + 1) + "-" + two(date.getDate()) + "T" +
      two(date.getHours()) + ":" + two(date.getMinutes());
  }

  function shown() { return currentTicketData || {}; }

  // ---- the forms; each returns what its submit does with the form's elements.

  function assignForm(form) {
    var t = shown();
    if (!unitList.length) {
      form.appendChild(el("p", "error", "责任单位列表未加载，请刷新后重试。"));
      return function () {};
    }
    var options = [["", "请选择责任单位"]].concat(unitList.map(function (u) { return [u.id, u.name]; }));
    field(form, "牵头单位", choice("unit_id", options, t.unit_id === null ? "" : t.unit_id));
    field(form, "交办说明", textarea("note", "", 2000), true);
    return function (f) {
      act("assign", "POST", { unit_id: Number(f.unit_id.value), note: f.note.value }, "已交办。");
    };
  }

  function dismissForm(form) {
    field(form, "误报原因（必填）", textarea("reason", "", 500, true), true);
    return function (f) {
      act("dismiss", "POST", { reason: f.reason.value.trim() }, "已标记为误报。");
    };
  }

  function moveForm(form, to, label) {
    field(form, "说明（选填）", textarea("note", "", 2000), true);
    return function (f) {
      act("transition", "POST", { to_state: to, note: f.note.value },
        label + "：已转为" + stateLabel(to) + "。");
    };
  }

  function signOffForm(form) {
    var t = shown();
    var reviewed = Boolean(t.reviewed_by_id) && Boolean(t.confidentiality_checked);
    var check = input("confidentiality_checked", "checkbox", null, 0, !reviewed);
    check.checked = reviewed;
    check.disabled = reviewed;
    var wrap = el("label", "field wide check");
    wrap.appendChild(check);
    wrap.appendChild(el("span", "", reviewed ? "回应稿已通过审核（已做保密审查）" : "本人已对回应稿做保密审查"));
    form.appendChild(wrap);
    field(form, "签发意见（选填）", textarea("note", "", 2000), true);
    return function (f) {
      act("signOff", "POST", { note: f.note.value,
        confidentiality_checked: reviewed || f.confidentiality_checked.checked }, "已审核签发，可以记录回应。");
    };
  }

  function responseForm(form) {
    field(form, "渠道", choice("channel", pairs(CHANNEL_LABELS), "website"));
    field(form, "类型", choice("kind", pairs(KIND_LABELS), "response"));
    field(form, "发布时间（本机时间）",
      input("published_at", "datetime-local", localInputValue(new Date()), 0, true));
    field(form, "标题", input("title", "text", "", 500), true);
    field(form, "链接", input("url", "url", "", 2000), true);
    field(form, "内容摘要", textarea("summary", "", 4000), true);
    return function (f) {
      act("responses", "POST", { channel: f.channel.value, kind: f.kind.value, title: f.title.value,
        url: f.url.value.trim(), summary: f.summary.value,
        published_at: new Date(f.published_at.value).toISOString() }, "回应已记录。");
    };
  }

  function notesForm(form) {
    var t = shown();
    field(form, "线上情况", textarea("online_note", t.online_note, 20000), true);
    field(form, "线下情况", textarea("offline_note", t.offline_note, 20000), true);
    return function (f) {
      act("notes", "PATCH", { online_note: f.online_note.value, offline_note: f.offline_note.value },
        "情况已保存。");
    };
  }

  function reopenForm(form) {
    field(form, "重新打开原因（必填）", textarea("reason", "", 500, true), true);
    return function (f) {
      act("reopen", "POST", { reason: f.reason.value.trim() }, "工单已重新打开。");
    };
  }

  // ---- ?alert=ID: highlight it among the open alerts, or say it is handled.

  function locateAlert(id, alerts) {
    var notice = $("alert-notice");
    notice.hidden = false;
    if (!isId(id)) {
      notice.textContent = "链接中的预警编号无效：" + id;
      $("alerts-section").scrollIntoView({ behavior: "smooth", block: "start" });
      return;
    }
    var item = $("alert-" + id);
    if (item) {
      notice.textContent = "已定位到预警 #" + id + "（高亮显示）。";
      item.scrollIntoView({ behavior: "smooth", block: "center" });
      return;
    }
    notice.textContent = "预警 #" + id + " 不在待处理列表中：该预警已签收或已处理。";
    $("alerts-section").scrollIntoView({ behavior: "smooth", block: "start" });
    if (alerts.length < 50) { return; }
    // The list shows the newest 50 only: ask about this one (duty staff and leaders may).
    api(apiPath("alert", id)).then(function (a) {
      var said = { open: "预警 #" + id + " 仍待处理，但不在最新 50 条之内。",
        acknowledged: "预警 #" + id + " 已签收。", dismissed: "预警 #" + id + " 已驳回（误报）。" };
      if (said[a.status]) { notice.textContent = said[a.status]; }
    }).catch(function () {});
  }

  function render(data) {
    var c = data.counts;
    setText("c-mentions-today", c.mentions_today);
    setText("c-mentions-total", c.mentions_total);
    setText("c-open-alerts", c.open_alerts);
    setText("c-open-tickets", c.open_tickets);
    setText("c-overdue-tickets", c.overdue_tickets);
    fillList("tickets-by-state", data.tickets_by_state);
    fillList("events-by-grade", data.events_by_grade);
    fillList("topics", data.topics);
    renderTrend(data.trend);
    renderAlerts(data.open_alerts);
    renderSources(data.sources || []);
  }

  function localTime(value) {
    return value ? new Date(value).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }) : "—";
  }

  // Source names and errors come from admins and sites: text only, like every other value.
  function renderSources(sources) {
    var tbody = $("sources").tBodies[0];
    clear(tbody);
    var troubled = sources.filter(function (s) { return s.enabled && s.health !== "ok" && s.health !== "unknown"; });
    setText("sources-summary", "共 " + sources.length + " 个，异常 " + troubled.length + " 个");
    sources.forEach(function (s) {
      var tr = el("tr", s.enabled ? "" : "muted");
      tr.appendChild(el("td", "", s.name));
      tr.appendChild(el("td", "", s.kind));
      tr.appendChild(el("td")).appendChild(el("span", "health health-" + s.health, s.health_label));
      tr.appendChild(el("td", "", localTime(s.last_success_at)));
      tr.appendChild(el("td", "", localTime(s.last_item_at)));
      var note = s.last_error || "";
      if (s.circuit_open_until) { note += (note ? "；" : "") + "暂停至 " + localTime(s.circuit_open_until); }
      tr.appendChild(el("td", "note", note));
      tbody.appendChild(tr);
    });
  }

  function fillList(id, rows) {
    var list = $(id);
    clear(list);
    if (!rows.length) { list.appendChild(el("li", "muted", "暂无")); return; }
    rows.forEach(function (row) {
      var li = el("li");
      li.appendChild(el("span", "", row.label));
      li.appendChild(el("strong", "", row.count));
      list.appendChild(li);
    });
  }

  function renderTrend(points) {
    if (points.length) {
      setText("trend-range", points[0].date + " 至 " + points[points.length - 1].date + "（北京时间）");
    }
    if (typeof window.echarts === "undefined") {
      // ECharts is not installed: show the numbers as a table instead of the chart.
      $("trend-chart").hidden = true;
      $("chart-missing").hidden = false;
      var table = $("trend-table");
      table.hidden = false;
      var tbody = table.tBodies[0];
      clear(tbody);
      points.forEach(function (p) {
        var tr = el("tr");
        tr.appendChild(el("td", "", p.date));
        tr.appendChild(el("td", "", p.mentions));
        tr.appendChild(el("td", "", p.negative));
        tbody.appendChild(tr);
      });
      return;
    }
    if (!chart) {
      chart = window.echarts.init($("trend-chart"));
      window.addEventListener("resize", function () { chart.resize(); });
    }
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: ["信息量", "负面信息"] },
      grid: { left: 40, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: points.map(function (p) { return p.date.slice(5); }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "信息量", type: "line", smooth: true, areaStyle: { opacity: 0.15 },
          data: points.map(function (p) { return p.mentions; }) },
        { name: "负面信息", type: "line", smooth: true, itemStyle: { color: "#c0392b" },
          data: points.map(function (p) { return p.negative; }) }
      ]
    });
  }

  function renderAlerts(alerts) {
    var list = $("alerts");
    clear(list);
    $("alerts-empty").hidden = alerts.length > 0;
    alerts.forEach(function (a) {
      var li = el("li", String(a.id) === highlightAlert ? "highlight" : "");
      li.id = "alert-" + a.id;
      var isSource = a.kind === "source";
      li.appendChild(el("span", isSource ? "health health-" + a.level : "grade grade-" + a.level,
        isSource ? a.level_label : a.level + " " + a.level_label));
      var body = el("div");
      body.appendChild(el("div", "title", isSource ? "监测源：" + a.source_name : (a.event_title || "（无标题）")));
      var when = new Date(a.created_at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" });
      body.appendChild(el("div", "meta", (isSource ? "采集异常" : a.event_topic_label) + " · " + when +
        (a.reason ? " · " + a.reason : "")));
      li.appendChild(body);
      if (userRole !== "handler") {
        var button = el("button", "", "签收");
        button.type = "button";
        button.addEventListener("click", function () { acknowledge(a.id, button); });
        li.appendChild(button);
      }
      list.appendChild(li);
    });
  }

  function acknowledge(alertId, button) {
    button.disabled = true;
    api(apiPath("acknowledge", alertId), { method: "POST" })
      .then(function () {
        if (String(alertId) === highlightAlert) { setText("alert-notice", "预警 #" + alertId + " 已签收。"); }
        load();
      })
      .catch(function (err) {
        button.disabled = false;
        if (err.message !== "unauthorized") { setText("status", "签收失败：" + err.message); }
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", function () { showLogin(""); });
    $("refresh").addEventListener("click", load);
    $("days").addEventListener("change", load);
    $("ticket-close").addEventListener("click", closeTicket);
    if (token()) { start(); } else { showLogin(""); }
  });
}());
