// The dashboard: polls /api/status (the same document as `mdwctl status --json`) and renders it.
// Text goes in with textContent only; nothing is fetched off the origin (the CSP forbids it anyway).
"use strict";
(function () {
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => (n === null || n === undefined ? "?" : Number(n).toLocaleString("en-US"));
  let rowsPlot = null, rowsKey = "", embedPlot = null;
  const embedHist = { t: [], rps: [], quota: [], throttled: [] };
  let lastEmbed = null;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(tbody, cells, attrs) {
    const tr = document.createElement("tr");
    for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
    for (const c of cells) tr.appendChild(c instanceof Node ? c : el("td", c));
    tbody.appendChild(tr);
    return tr;
  }
  function cell(key, text, cls) {
    const td = el("td", text, cls);
    td.dataset.k = key;
    return td;
  }
  function eta(s) {
    if (s === null || s === undefined) return "-";
    return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m${String(s % 60).padStart(2, "0")}s`;
  }
  function clear(id) {
    const tb = $(id).querySelector("tbody");
    tb.replaceChildren();
    return tb;
  }

  function renderPhases(st) {
    const tb = clear("phases");
    for (const p of st.phases) {
      const bar = document.createElement("progress");
      bar.max = 1;
      bar.value = p.progress;
      const prog = cell("progress", null);
      prog.appendChild(bar);
      prog.appendChild(el("span", ` ${(p.progress * 100).toFixed(0)}%`));
      row(tb, [
        cell("phase", p.phase, "t"), cell("needs", p.needs.join(", "), "t"), cell("state", p.state, p.state),
        prog, cell("chunks", `${p.chunks_done}/${p.chunks}`), cell("read", fmt(p.read)),
        cell("inserted", fmt(p.inserted)), cell("existing", fmt(p.existing)),
        cell("updated", fmt(p.updated)), cell("merged", fmt(p.merged)),
        cell("rejected", fmt(p.rejected)), cell("flagged", p.flagged === null ? "n/a" : fmt(p.flagged)),
        cell("dead", fmt(p.chunks_dead)), cell("rows_per_second", p.rows_per_second.toFixed(0)),
        cell("eta", eta(p.eta_seconds)),
        cell("queue", p.queue_length === null ? "?" : `${fmt(p.queue_length - p.queue_pending)} / ${fmt(p.queue_pending)}`),
        cell("validation", p.validation || "", "t"),
      ], { "data-phase": p.phase });
    }
  }

  function renderRowsChart(st) {
    const s = st.series, names = st.phases.map((p) => p.phase).filter((k) => k in s.phases); // dependency order
    const n = names.length ? s.phases[names[0]].length : 0;
    const xs = Array.from({ length: n }, (_, k) => s.start + k * s.bucket_seconds);
    const data = [xs, ...names.map((k) => s.phases[k])];
    const key = names.join(",");
    if (typeof uPlot === "undefined") return;
    if (!rowsPlot || key !== rowsKey) {
      if (rowsPlot) rowsPlot.destroy();
      const hue = (i) => `hsl(${(i * 67) % 360} 60% 45%)`;
      rowsPlot = new uPlot({
        width: 560, height: 220,
        series: [{}, ...names.map((k, i) => ({ label: k, stroke: hue(i), width: 1.5 }))],
        axes: [{}, { label: "rows/s" }],
      }, data, $("chart-rows"));
      rowsKey = key;
    } else {
      rowsPlot.setData(data);
    }
  }

  // requests/s between two polls, from the provider's counters (mdw:{RUN}:embed), against the quota
  function renderEmbed(st) {
    const e = st.embed, now = Date.now() / 1000;
    const total = e.ok === null ? null : e.ok + e.throttled + e.failed;
    if (total !== null && lastEmbed && now > lastEmbed.t) {
      embedHist.t.push(now);
      embedHist.rps.push(Math.max(0, (total - lastEmbed.total) / (now - lastEmbed.t)));
      embedHist.throttled.push(Math.max(0, (e.throttled - lastEmbed.throttled) / (now - lastEmbed.t)));
      embedHist.quota.push(e.quota_rpm / 60);
      for (const k of Object.keys(embedHist)) if (embedHist[k].length > 600) embedHist[k].shift();
    }
    if (total !== null) lastEmbed = { t: now, total, throttled: e.throttled };
    $("embed-counts").textContent = `requests ok ${fmt(e.ok)}, throttled ${fmt(e.throttled)}, failed ${fmt(e.failed)}; ` +
      `rate-limiter waits ${fmt(e.limiter_waits)}; calls saved by deduplication ${fmt(e.saved_by_dedup)}; ` +
      `quota ${fmt(e.quota_rpm)} requests/min`;
    if (typeof uPlot === "undefined") return;
    const data = [embedHist.t, embedHist.rps, embedHist.throttled, embedHist.quota];
    if (!embedPlot) {
      embedPlot = new uPlot({
        width: 560, height: 220,
        // a rolling window of at least a minute (a single point still has an axis)
        scales: { x: { range: (u, min, max) => [Math.min(min, max - 60), max] } },
        series: [{}, { label: "requests/s", stroke: "#1f5fbf", width: 1.5 },
          { label: "throttled/s", stroke: "#b3261e", width: 1.5 },
          { label: "quota/s", stroke: "#56657a", dash: [6, 4], width: 1 }],
        axes: [{}, { label: "requests/s" }],
      }, data, $("chart-embed"));
    } else {
      embedPlot.setData(data);
    }
  }

  async function retry(phase) {
    const url = "/api/retry-dead" + (phase ? `?phase=${encodeURIComponent(phase)}` : "");
    const r = await fetch(url, { method: "POST", headers: { "X-MDW-CSRF": "1" }, credentials: "same-origin" });
    let msg = `HTTP ${r.status}`;
    try { msg = (await r.json()).message; } catch (_) { /* not JSON: the status says it */ }
    $("retry-msg").textContent = msg;
    poll();
  }

  function renderDead(st) {
    const tb = clear("dead");
    for (const d of st.dead_chunks) {
      const b = el("button", "retry");
      b.type = "button";
      b.className = "retry";
      b.dataset.phase = d.phase;
      b.addEventListener("click", () => retry(d.phase));
      const td = el("td");
      td.appendChild(b);
      row(tb, [el("td", d.phase), el("td", d.chunk, "t"), el("td", d.attempts), el("td", d.error, "err"), td],
        { "data-phase": d.phase, "data-chunk": d.chunk_no });
    }
    if (!st.dead_chunks.length) row(tb, [el("td", "none")]);
    const pb = clear("poison");
    if (st.poison_messages === null) row(pb, [el("td", "unknown (Redis unreachable)")]);
    else for (const p of st.poison_messages) row(pb, [el("td", p.id), el("td", p.phase), el("td", p.deliveries), el("td", p.error, "err")]);
  }

  function renderCounts(id, obj, none) {
    const tb = clear(id);
    if (obj === null) { row(tb, [el("td", none)]); return; }
    let any = false;
    for (const [ph, reasons] of Object.entries(obj))
      for (const [reason, n] of Object.entries(reasons)) { row(tb, [el("td", ph), el("td", reason, "t"), el("td", fmt(n))]); any = true; }
    if (!any) row(tb, [el("td", "none")]);
  }

  function renderWorkers(st) {
    const tb = clear("workers");
    for (const w of st.workers)
      row(tb, [el("td", w.id), el("td", w.seen_seconds_ago < 10 ? "alive" : "silent"),
        el("td", `${Math.max(0, w.seen_seconds_ago).toFixed(0)} s ago`), el("td", w.chunk || "-", "t")]);
    if (!st.workers.length) row(tb, [el("td", st.redis ? "none" : "unknown (Redis unreachable)")]);
  }

  function render(st) {
    $("run").textContent = `run ${st.run}`;
    const rs = $("run-status");
    rs.textContent = st.run_status;
    rs.className = `badge ${st.run_status}`;
    $("redis").textContent = st.redis ? "" : "(Redis unreachable: queues and workers unknown)";
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    renderPhases(st);
    renderDead(st);
    renderWorkers(st);
    renderCounts("rejects", st.rejects, "none");
    renderCounts("flags", st.flags, "not recorded (this schema has no mdw.flags)");
    renderRowsChart(st);
    renderEmbed(st);
    document.body.dataset.run = st.run;
    document.body.dataset.runStatus = st.run_status;
  }

  let timer = null;
  async function poll() {
    clearTimeout(timer);
    try {
      const r = await fetch("/api/status", { credentials: "same-origin", cache: "no-store" });
      if (r.ok) render(await r.json());
      else $("updated").textContent = `status: HTTP ${r.status}`;
    } catch (e) {
      $("updated").textContent = "server unreachable";
    }
    timer = setTimeout(poll, POLL_MS);
  }
  $("retry-all").addEventListener("click", () => retry(""));
  poll();
})();
