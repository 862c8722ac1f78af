// 舆情看板. Every value from the server is untrusted (titles are scraped text): it is only
// ever written with textContent / createElement, never parsed as markup.
(function () {
  "use strict";

  var TOKEN_KEY = "yuqing.token";
  var REFRESH_MS = 60 * 1000;
  var chart = null;
  var timer = null;

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

  function showLogin(message) {
    window.sessionStorage.removeItem(TOKEN_KEY);
    if (timer) { window.clearInterval(timer); timer = null; }
    $("dashboard-view").hidden = true;
    $("session-bar").hidden = true;
    $("login-view").hidden = false;
    setText("login-error", message || "");
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
        if (!res.ok) { throw new Error(body.detail ? String(body.detail) : "请求失败 " + res.status); }
        return body;
      });
    });
  }

  function login(event) {
    event.preventDefault();
    var form = event.target;
    var body = new URLSearchParams();
    body.set("username", form.elements.username.value);
    body.set("password", form.elements.password.value);
    setText("login-error", "");
    window.fetch("/api/auth/token", { method: "POST", body: body }).then(function (res) {
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
    api("/api/users/me").then(function (me) {
      setText("user-name", me.full_name || me.username);
    }).catch(function () {});
    load();
    if (!timer) { timer = window.setInterval(load, REFRESH_MS); }
  }

  function load() {
    var days = $("days").value;
    setText("status", "加载中…");
    api("/api/dashboard/summary?days=" + encodeURIComponent(days)).then(function (data) {
      render(data);
      setText("status", "更新于 " + new Date().toLocaleTimeString("zh-CN"));
    }).catch(function (err) {
      if (err.message !== "unauthorized") { setText("status", "加载失败：" + err.message); }
    });
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
      var li = el("li");
      var isSource = a.kind === "source";
      li.appendChild(el("span", isSource ? "health health-" + a.level : "grade grade-" + a.level,
        isSource ? a.level_label : a.level + " " + a.level_label));
      var body = el("div");
      body.appendChild(el("div", "title", isSource ? "监测源：" + a.source_name : (a.event_title || "（无标题）")));
      var when = new Date(a.created_at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" });
      body.appendChild(el("div", "meta", (isSource ? "采集异常" : a.event_topic_label) + " · " + when +
        (a.reason ? " · " + a.reason : "")));
      li.appendChild(body);
      var button = el("button", "", "签收");
      button.type = "button";
      button.addEventListener("click", function () { acknowledge(a.id, button); });
      li.appendChild(button);
      list.appendChild(li);
    });
  }

  function acknowledge(alertId, button) {
    button.disabled = true;
    api("/api/alerts/" + encodeURIComponent(alertId) + "/acknowledge", { method: "POST" })
      .then(load)
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
    if (token()) { start(); } else { showLogin(""); }
  });
}());
