// Sluice dashboard: polls the admin JSON API once a second and draws what it reads. Plain JS, no dependencies.
"use strict";

const POLL_MS = 1000;
const HISTORY = 120; // samples kept per chart (two minutes)

const state = {
  selected: null,
  samples: new Map(), // pipeline id -> [{t, in, out, lag}]
  last: new Map(),    // pipeline id -> previous view, for rates
  graphs: new Map(),  // pipeline id -> stage graph
  checkpointsAt: 0,
};

const $ = (id) => document.getElementById(id);

function apiKey() { return localStorage.getItem("sluice.apiKey") || ""; }

async function api(path) {
  const headers = { Accept: "application/json" };
  if (apiKey()) headers["X-Api-Key"] = apiKey();
  const response = await fetch(path, { headers });
  let body = null;
  const text = await response.text();
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  return { ok: response.ok, status: response.status, body };
}

function fmt(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  const abs = Math.abs(n);
  if (abs >= 1e9) return (n / 1e9).toFixed(2) + "G";
  if (abs >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (abs >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return Math.round(n).toLocaleString("en-US");
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 120000) return (ms / 1000).toFixed(1) + " s";
  if (ms < 7200000) return (ms / 60000).toFixed(1) + " min";
  return (ms / 3600000).toFixed(1) + " h";
}

function fmtBytes(b) {
  if (b < 1024) return b + " B";
  if (b < 1048576) return (b / 1024).toFixed(1) + " KiB";
  return (b / 1048576).toFixed(1) + " MiB";
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- polling ---------------------------------------------------------------------------------------------------

let polling = false;

async function poll() {
  if (polling) return; // a slow answer: skip this tick rather than pile requests up
  polling = true;
  try {
    const result = await api("/api/pipelines");
    if (!result.ok) {
      setConnection(result.status === 401 ? (apiKey() ? "wrong API key (401)" : "API key required (401)") : "API error " + result.status, false);
      askForKey(result.status === 401);
      return;
    }
    askForKey(false);
    await openOrleansSession();
    setConnection("live", true);
    const now = Date.now();
    for (const view of result.body) record(view, now);
    renderList(result.body);
    const selected = result.body.find((p) => p.id === state.selected) || result.body[0];
    if (selected) {
      if (state.selected !== selected.id) { state.selected = selected.id; state.checkpointsAt = 0; }
      await renderDetail(selected, now);
    }
    $("detail").hidden = !selected;
    $("empty").hidden = !!selected;
  } catch (e) {
    setConnection("silo unreachable", false);
  } finally {
    polling = false;
  }
}

// The silo wants Sluice:ApiKey in X-Api-Key: the page holds no key, the user types it once and this browser keeps
// it (localStorage), sending it only to this silo's API.
function askForKey(needed) {
  const input = $("api-key");
  input.classList.toggle("needed", needed);
  $("key-prompt").hidden = !needed;
  if (needed && document.activeElement !== input) input.focus();
}

// Orleans' dashboard (linked above) cannot send the header: once a key works, the silo trades it for a cookie that
// only that dashboard's path accepts (HttpOnly: this page never sees it). Once per key typed.
let sessionFor = null;
async function openOrleansSession() {
  const key = apiKey();
  if (!key || sessionFor === key) return;
  const response = await fetch("/dashboard/session", { method: "POST", headers: { "X-Api-Key": key } });
  if (response.ok || response.status === 404) sessionFor = key; // 404: this silo serves no Orleans dashboard
}

function setConnection(text, ok) {
  const pill = $("connection");
  pill.textContent = text;
  pill.className = "pill " + (ok ? "Running" : "Failed");
}

function record(view, now) {
  const previous = state.last.get(view.id);
  state.last.set(view.id, { view, t: now });
  const samples = state.samples.get(view.id) || [];
  const lag = view.eventTimeWatermark !== null && view.eventTimeWatermark !== undefined ? Math.max(0, now - view.eventTimeWatermark) : null;
  let rateIn = null, rateOut = null;
  if (previous && now > previous.t) {
    const dt = (now - previous.t) / 1000;
    rateIn = Math.max(0, (view.recordsIn - previous.view.recordsIn) / dt);
    rateOut = Math.max(0, (view.recordsOut - previous.view.recordsOut) / dt);
  }
  samples.push({ t: now, in: rateIn, out: rateOut, lag });
  while (samples.length > HISTORY) samples.shift();
  state.samples.set(view.id, samples);
}

// ---- rendering -------------------------------------------------------------------------------------------------

function renderList(views) {
  const list = $("pipelines");
  list.replaceChildren(...views.map((v) => {
    const item = el("li", { "data-pipeline": v.id, class: v.id === state.selected ? "selected" : "" }, el("span", {}, v.id), el("span", { class: "pill " + v.status }, v.status));
    item.addEventListener("click", () => { state.selected = v.id; state.checkpointsAt = 0; poll(); });
    return item;
  }));
}

async function renderDetail(view, now) {
  $("pipeline-id").textContent = view.id;
  const status = $("pipeline-status");
  status.textContent = view.recovery && view.recovery.restarting ? "Restarting" : view.status;
  status.className = "pill " + status.textContent;
  const banner = $("error-banner");
  banner.hidden = !view.lastError;
  banner.textContent = view.lastError ? "Last error: " + view.lastError : "";

  const samples = state.samples.get(view.id) || [];
  const latest = samples[samples.length - 1] || {};
  const stats = [
    ["recordsIn", "Records in", fmt(view.recordsIn)],
    ["recordsOut", "Records out", fmt(view.recordsOut)],
    ["rateIn", "In / s", fmt(latest.in)],
    ["rateOut", "Out / s", fmt(latest.out)],
    ["watermark", "Watermark", view.eventTimeWatermarkUtc ? new Date(view.eventTimeWatermark).toISOString().replace("T", " ").slice(0, 23) : "–"],
    ["lag", "Watermark lag", fmtMs(latest.lag)],
    ["late", "Late records", fmt(view.lateRecordsDropped)],
    ["invalid", "Invalid records", fmt(view.invalidRecords)],
    ["deadLetters", "Dead letters", fmt(view.deadLetters)],
    ["keyGroups", "Key groups", `${view.activeKeyGroups}/${view.keyGroups}`],
    ["restarts", "Restarts", view.recovery ? fmt(view.recovery.restarts) : "–"],
    ["backlog", "Consumer lag", fmt(view.sources.reduce((s, p) => s + Math.max(0, p.backlog), 0))],
  ];
  $("stats").replaceChildren(...stats.map(([id, label, value]) =>
    el("div", { class: "stat", id: "stat-" + id }, el("div", { class: "label" }, label), el("div", { class: "value" }, value))));

  drawLines($("throughput-chart"), samples, [["in", "#2f6fdf"], ["out", "#14a37f"]], fmt);
  drawLines($("lag-chart"), samples, [["lag", "#c98a0b"]], fmtMs);
  await renderGraph(view);
  renderRecovery(view);
  if (now - state.checkpointsAt >= 2000) {
    state.checkpointsAt = now;
    await renderCheckpoints(view.id);
  }
}

// The top of a 4-tick axis above max: 4 × a step of 1, 2, 2.5 or 5 × 10^k, so the tick labels differ (1, 2, 3, 4 rather than 1, 1, 0).
function niceTop(max) {
  if (!(max > 0)) return 4;
  const rough = max / 4, power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= rough);
  return 4 * Math.max(1, step);
}

function drawLines(canvas, samples, series, format) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width, height = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(width * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const left = 56, right = 8, top = 10, bottom = 20;
  let max = 0;
  for (const s of samples) for (const [key] of series) if (s[key] !== null && s[key] > max) max = s[key];
  max = niceTop(max);
  ctx.strokeStyle = "#e3e6ec"; ctx.fillStyle = "#6b7385"; ctx.font = "11px system-ui, sans-serif"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + (height - top - bottom) * i / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(width - right, y); ctx.stroke();
    ctx.fillText(format(max * (4 - i) / 4), 4, y + 4);
  }
  ctx.fillText(`last ${Math.round(HISTORY * POLL_MS / 1000)} s`, left, height - 5);
  const x = (i) => left + (width - left - right) * i / (HISTORY - 1);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const offset = HISTORY - samples.length;
  for (const [key, color] of series) {
    ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.beginPath();
    let started = false;
    samples.forEach((s, i) => {
      if (s[key] === null || s[key] === undefined) { started = false; return; }
      if (!started) { ctx.moveTo(x(offset + i), y(s[key])); started = true; } else ctx.lineTo(x(offset + i), y(s[key]));
    });
    ctx.stroke();
  }
}

async function renderGraph(view) {
  let graph = state.graphs.get(view.id);
  if (!graph) {
    const result = await api(`/dashboard/api/pipelines/${encodeURIComponent(view.id)}/graph`);
    if (!result.ok) { $("graph").textContent = "Stage graph unavailable (HTTP " + result.status + ")"; return; }
    graph = result.body;
    state.graphs.set(view.id, graph);
  }

  // Columns by depth: sources first, then each stage one column after its deepest input.
  const depth = new Map();
  const stages = new Map(graph.stages.map((s) => [s.index, s]));
  const visit = (index, d) => {
    if ((depth.get(index) ?? -1) >= d) return;
    depth.set(index, d);
    for (const t of stages.get(index)?.targets || []) visit(t, d + 1);
  };
  for (const s of graph.sources) for (const t of s.targets) visit(t, 1);
  for (const s of graph.stages) if (!depth.has(s.index)) depth.set(s.index, 1);

  const boxW = 170, boxH = 52, gapX = 60, gapY = 18;
  const columns = [];
  const place = new Map();
  graph.sources.forEach((s) => { (columns[0] ||= []).push({ key: "src" + s.index, node: s, source: true }); });
  graph.stages.forEach((s) => { const d = depth.get(s.index); (columns[d] ||= []).push({ key: "stage" + s.index, node: s, source: false }); });
  columns.forEach((column, c) => (column || []).forEach((item, r) => place.set(item.key, { x: 10 + c * (boxW + gapX), y: 10 + r * (boxH + gapY), item })));
  const width = 20 + columns.length * (boxW + gapX), height = 20 + Math.max(...columns.map((c) => (c || []).length)) * (boxH + gapY);

  const stageStatus = new Map(view.stages.map((s) => [s.index, s]));
  const sourceRead = new Map();
  for (const p of view.sources) sourceRead.set(p.source, (sourceRead.get(p.source) || 0) + p.recordsRead);

  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, id: "stage-graph" });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8a93a6", style: "stroke:none" }));
  defs.append(marker); root.append(defs);
  for (const { x, y, item } of place.values()) {
    for (const t of item.node.targets) {
      const target = place.get("stage" + t);
      if (!target) continue;
      root.append(svg("path", { d: `M ${x + boxW} ${y + boxH / 2} C ${x + boxW + gapX / 2} ${y + boxH / 2}, ${target.x - gapX / 2} ${target.y + boxH / 2}, ${target.x} ${target.y + boxH / 2}` }));
    }
  }
  for (const { x, y, item } of place.values()) {
    const n = item.node;
    const kind = item.source ? "source" : n.kind.toLowerCase();
    const group = svg("g", { "data-node": item.key });
    group.append(svg("rect", { x, y, width: boxW, height: boxH, class: kind }));
    group.append(svg("text", { x: x + 8, y: y + 18 }, n.name));
    let sub;
    if (item.source) sub = `${n.parallelism} partitions · read ${fmt(sourceRead.get(n.name) || 0)}`;
    else {
      const s = stageStatus.get(n.index);
      sub = s ? `×${s.activeTasks}/${n.parallelism} · in ${fmt(s.recordsIn)} · out ${fmt(s.recordsOut)}` : `×${n.parallelism}`;
    }
    group.append(svg("text", { x: x + 8, y: y + 36, class: "sub" }, sub));
    root.append(group);
  }
  $("graph").replaceChildren(root);
}

function renderRecovery(view) {
  const r = view.recovery;
  const rows = r ? [
    ["Attempt", r.attempt],
    ["Restored from", r.restoredFrom ? "checkpoint " + r.restoredFrom : "the sources' start"],
    ["Restarts", r.restarts],
    ["Restarting now", r.restarting ? "yes" : "no"],
    ["Last restart reason", r.lastRestartReason || "–"],
    ["Recovery times", r.recoveryMilliseconds && r.recoveryMilliseconds.length ? r.recoveryMilliseconds.map(fmtMs).join(", ") : "–"],
    ["Planned handovers", r.sourceHandovers ?? 0],
    ["Failure", r.failed ? r.failureReason : "–"],
  ] : [["Checkpoints", "off (no restarts: a failure stops the pipeline)"]];
  rows.push(["Last error", view.lastError || "–"]);
  $("recovery").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

async function renderCheckpoints(id) {
  const result = await api(`/api/pipelines/${encodeURIComponent(id)}/checkpoints`);
  const body = $("checkpoints").tBodies[0];
  if (!result.ok) { body.replaceChildren(el("tr", {}, el("td", { colspan: "6" }, "unavailable (HTTP " + result.status + ")"))); return; }
  const list = result.body.slice().sort((a, b) => b.id - a.id);
  body.replaceChildren(...list.slice(0, 12).map((c) => el("tr", {},
    el("td", {}, c.id), el("td", { class: c.state, title: c.failure || "" }, c.state + (c.failure ? " ⓘ" : "")),
    el("td", {}, new Date(c.startedAt).toLocaleTimeString()), el("td", {}, fmtMs(c.durationMilliseconds)),
    el("td", {}, fmtBytes(c.bytes)), el("td", {}, fmtMs(c.maxAlignmentMilliseconds)))));
  if (!list.length) body.replaceChildren(el("tr", {}, el("td", { colspan: "6" }, "none yet (or checkpoints are off)")));
  drawCheckpointBars($("checkpoint-chart"), list.slice(0, 40).reverse());
}

function drawCheckpointBars(canvas, list) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width, height = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(width * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const max = Math.max(1, ...list.map((c) => c.durationMilliseconds));
  const bar = (width - 60) / 40;
  ctx.fillStyle = "#6b7385"; ctx.font = "11px system-ui, sans-serif";
  ctx.fillText("duration", 4, 12); ctx.fillText(fmtMs(max), 4, 26);
  list.forEach((c, i) => {
    const h = (height - 10) * c.durationMilliseconds / max;
    ctx.fillStyle = c.state === "Failed" ? "#d0453a" : c.state === "InProgress" ? "#c98a0b" : "#14a37f";
    ctx.fillRect(56 + i * bar, height - h, Math.max(1, bar - 2), h);
  });
}

// ---- state query -----------------------------------------------------------------------------------------------

async function queryState(event) {
  event.preventDefault();
  const out = $("state-result");
  const name = $("state-name").value.trim(), key = $("state-key").value.trim();
  if (!state.selected || !name || !key) return;
  out.className = "result";
  out.textContent = "querying…";
  try {
    const result = await api(`/api/pipelines/${encodeURIComponent(state.selected)}/state/${encodeURIComponent(name)}/${encodeURIComponent(key)}`);
    if (result.ok) { out.textContent = describeAnswer(result.body); return; }
    out.className = "result error";
    out.textContent = describeFailure(result);
  } catch (e) {
    out.className = "result error";
    out.textContent = "The silo did not answer: " + e.message;
  }
}

// The answer of GET /api/pipelines/{id}/state/{name}/{key}: the value, the key group's watermark, the last checkpoint.
function describeAnswer(answer) {
  if (!answer || typeof answer !== "object" || !("found" in answer)) return JSON.stringify(answer, null, 2);
  const lines = [
    answer.found ? "value: " + JSON.stringify(answer.value, null, 2) : `no value for key '${answer.key}' in '${answer.state}'`,
    "key group " + answer.keyGroup + ", watermark " + (answer.eventTimeWatermarkUtc
      ? answer.eventTimeWatermarkUtc + " (" + fmtMs(Date.now() - answer.eventTimeWatermark) + " behind the wall clock)"
      : "none yet"),
    "last completed checkpoint: " + (answer.lastCompletedCheckpointId ?? "none"),
  ];
  return lines.join("\n");
}

// 404 (unknown pipeline or state, or no state endpoint on this silo), 400 (a key of the wrong type), 503 (restoring).
function describeFailure(result) {
  const body = result.body;
  const detail = body && typeof body === "object" ? (body.error || body.detail || body.title || JSON.stringify(body)) : body;
  if (result.status === 404 && !detail) {
    return "State queries are not available on this silo (HTTP 404): no endpoint answers /api/pipelines/{id}/state/{name}/{key}.";
  }
  if (result.status === 404) return "Not found (HTTP 404): " + detail;
  if (result.status === 503) return "Not available right now, retry shortly (HTTP 503): " + (detail || "the key group is restoring");
  if (result.status === 401) return "API key required (HTTP 401): type it in the API key box.";
  return `HTTP ${result.status}: ${detail || "no details"}`;
}

// ---- start -----------------------------------------------------------------------------------------------------

$("api-key").value = apiKey();
$("api-key").addEventListener("change", (e) => {
  const key = e.target.value.trim();
  if (key) localStorage.setItem("sluice.apiKey", key); else localStorage.removeItem("sluice.apiKey");
  poll();
});
$("state-query").addEventListener("submit", queryState);
poll();
setInterval(poll, POLL_MS);
