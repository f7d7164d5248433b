// plait dashboard: embeds the page's Bokeh figures, then applies the updates the
// scheduler pushes over a websocket. Every string from the cluster is inserted as text
// (textContent), never as HTML, so task keys and log messages cannot inject markup.
"use strict";
(function () {
  const payload = JSON.parse(document.getElementById("plait-items").textContent);
  const page = payload.page;
  const sources = {};
  const ranges = {};
  const ready = [];

  payload.items.forEach(function (item, i) {
    ready.push(Bokeh.embed.embed_item(item, "fig-" + i));
  });

  function findModels() {
    Bokeh.documents.forEach(function (doc) {
      doc.all_models.forEach(function (m) {
        if (m.name && m.data !== undefined) sources[m.name] = m;
        if (m.name && m.name.endsWith("-yrange")) ranges[m.name.slice(0, -7)] = m;
      });
    });
  }

  function text(el, value) { el.textContent = value == null ? "" : String(value); return el; }
  function make(tag, value, cls) {
    const el = document.createElement(tag);
    if (value !== undefined) text(el, value);
    if (cls) el.className = cls;
    return el;
  }
  function bytes(n) {
    if (n == null) return "";
    const units = ["B", "kB", "MB", "GB", "TB"];
    let i = 0;
    while (Math.abs(n) >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : n.toFixed(0)) + " " + units[i];
  }

  function applyFigure(fig) {
    const src = sources[fig.name];
    const labels = sources[fig.name + "-labels"];
    if (!src) return;
    if (fig.stream) {
      if (fig.rects.left.length) src.stream(fig.rects, 10000);
    } else {
      src.data = fig.rects;
    }
    if (labels) labels.data = fig.labels;
    const range = ranges[fig.name];
    if (range && range.end !== fig.rows) range.end = fig.rows;
  }

  function applyAlerts(alerts) {
    const box = document.getElementById("alerts");
    box.replaceChildren();
    alerts.forEach(function (a) { box.appendChild(make("div", a.text, "alert " + a.level)); });
  }

  function applySummary(s) {
    text(document.getElementById("summary"),
      s.workers + " workers, " + s.threads + " threads, " + s.tasks + " tasks, memory " +
      bytes(s.memory) + (s.spilled ? ", spilled " + bytes(s.spilled) : ""));
  }

  const WORKER_COLUMNS = [
    ["address", "address"], ["name", "name"], ["status", "status"], ["nthreads", "threads"],
    ["memory", "memory", bytes], ["memory_limit", "limit", bytes],
    ["managed", "managed", bytes], ["unmanaged", "unmanaged", bytes],
    ["spilled", "spilled", bytes], ["cpu", "CPU %"], ["processing", "processing"],
    ["in_memory", "keys in memory"], ["read_bytes", "net read/s", bytes],
    ["write_bytes", "net write/s", bytes]];

  function applyWorkers(rows) {
    const table = document.getElementById("workers-table");
    const head = table.querySelector("thead tr");
    if (!head.children.length) WORKER_COLUMNS.forEach(function (c) { head.appendChild(make("th", c[1])); });
    const body = table.querySelector("tbody");
    body.replaceChildren();
    rows.forEach(function (r) {
      const tr = make("tr");
      WORKER_COLUMNS.forEach(function (c) {
        const v = r[c[0]];
        tr.appendChild(make("td", c[2] ? c[2](v) : (typeof v === "number" ? Math.round(v * 10) / 10 : v)));
      });
      body.appendChild(tr);
    });
  }

  function applyGraph(g) {
    const nodes = sources["graph-nodes"], edges = sources["graph-edges"];
    if (g.edges && edges) edges.data = g.edges;
    if (nodes) nodes.data = g.nodes;
    text(document.getElementById("graph-note"), g.total + " tasks" +
      (g.truncated ? " (showing the " + g.nodes.key.length + " most urgent)" : ""));
  }

  let socket = null;
  function applyProfile(p) {
    const select = document.getElementById("profile-prefix");
    const have = Array.from(select.options).map(function (o) { return o.value; });
    p.prefixes.forEach(function (name) {
      if (have.indexOf(name) < 0) { const o = make("option", name); o.value = name; select.appendChild(o); }
    });
    text(document.getElementById("profile-note"), p.samples + " samples");
  }

  function applyInfo(info) {
    const dl = document.getElementById("info-scheduler");
    dl.replaceChildren();
    Object.keys(info.scheduler).forEach(function (k) {
      dl.appendChild(make("dt", k)); dl.appendChild(make("dd", info.scheduler[k]));
    });
    const ev = document.querySelector("#info-events tbody");
    ev.replaceChildren();
    info.events.slice().reverse().forEach(function (e) {
      const tr = make("tr");
      tr.appendChild(make("td", new Date(e.time * 1000).toLocaleTimeString()));
      tr.appendChild(make("td", e.action)); tr.appendChild(make("td", e.worker));
      tr.appendChild(make("td", e.reason || ""));
      ev.appendChild(tr);
    });
    const logs = document.querySelector("#info-logs tbody");
    logs.replaceChildren();
    info.logs.slice().reverse().forEach(function (r) {
      const tr = make("tr", undefined, "log " + r.level);
      [new Date(r.time * 1000).toLocaleTimeString(), r.process, r.level, r.name, r.message]
        .forEach(function (v) { tr.appendChild(make("td", v)); });
      logs.appendChild(tr);
    });
  }

  function apply(msg) {
    applySummary(msg.summary);
    applyAlerts(msg.alerts);
    msg.figures.forEach(applyFigure);
    if (msg.workers) applyWorkers(msg.workers);
    if (msg.graph) applyGraph(msg.graph);
    if (msg.profile) applyProfile(msg.profile);
    if (msg.info) applyInfo(msg.info);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const base = location.pathname.replace(/[^/]*$/, "");
    socket = new WebSocket(scheme + location.host + base + "ws?page=" + encodeURIComponent(page));
    const status = document.getElementById("connection");
    socket.onopen = function () { text(status, "live"); status.className = "on"; };
    socket.onclose = function () {
      text(status, "disconnected: retrying"); status.className = "off";
      setTimeout(connect, 2000);
    };
    socket.onmessage = function (event) {
      try { apply(JSON.parse(event.data)); } catch (err) { console.error(err); }
    };
  }

  // For tests and the curious (browser console): the page's live data sources.
  window.plaitDashboard = {sources: sources, page: page};

  // First paint from the JSON API (the same data the websocket then keeps fresh).
  function firstPaint() {
    const get = function (path) {
      return fetch(path, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) throw new Error(path + ": " + r.status);
        return r.json();
      });
    };
    const jobs = [get("api/v1/summary").then(applySummary)];
    if (page === "workers") jobs.push(get("api/v1/workers").then(function (d) { applyWorkers(d.workers); }));
    if (page === "graph") jobs.push(get("api/v1/graph").then(function (g) {
      applyGraph({nodes: g.nodes, edges: g.edges, truncated: g.truncated, total: g.total});
    }));
    return Promise.all(jobs).catch(function (err) { console.warn(err); });
  }

  Promise.all(ready).then(function () {
    findModels();
    firstPaint();
    const select = document.getElementById("profile-prefix");
    if (select) select.addEventListener("change", function () {
      if (socket) socket.send(JSON.stringify({prefix: select.value}));
    });
    connect();
  });
})();
