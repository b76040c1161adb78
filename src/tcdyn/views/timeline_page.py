"""A task group's timeline as one self-contained HTML page: a Gantt chart of every task's
runs (a light bar while pending, a bar coloured by outcome while running, reruns numbered on
their row), the critical path outlined, dependencies drawn on hover or click (all of them
with "show all dependencies"), and the totals.

Nothing is fetched to view it: the CSS and the script are inline, and the page's
Content-Security-Policy allows only those two (by hash) and nothing from the network. What the
server said (names, ids, states) is data: JSON in a ``<script type="application/json">``
with ``<``, ``>`` and ``&`` escaped, put on the page by the script only as text
(``textContent``, attributes), never as markup; the static part (the title) is
HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .timeline import Timeline

STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 18px; margin: 0 0 8px; }
#totals { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 8px 0 12px; }
#totals div { white-space: nowrap; }
#totals b { font-weight: 600; }
#controls { margin: 4px 0 8px; }
#controls label { margin-right: 16px; }
#chart { overflow-x: auto; border: 1px solid #ddd; }
svg text { font-size: 12px; fill: #222; }
.row-bg { fill: transparent; }
.row:nth-child(even) .row-bg { fill: #f6f7f9; }
.row.critical .row-bg { fill: #fff4d6; }
.row.focus .row-bg { fill: #dbeafe; }
.row.related .row-bg { fill: #eef4ff; }
.wait { fill: #d4d8de; }
.bar { stroke: #0003; stroke-width: 1; }
.state-completed { fill: #2e9e57; }
.state-failed { fill: #d64545; }
.state-exception { fill: #9b59b6; }
.state-running { fill: #3b82f6; }
.state-pending { fill: #b0b7c3; }
.state-unknown { fill: #888; }
.critical .bar { stroke: #e0a100; stroke-width: 2.5; }
.rerun { font-size: 10px; fill: #fff; pointer-events: none; }
.dep { stroke: #555; stroke-width: 1.3; fill: none; marker-end: url(#arrow); display: none; }
.dep.shown, .show-deps .dep { display: inline; }
.crit-link { stroke: #e0a100; stroke-width: 2; fill: none; stroke-dasharray: 4 3; }
.hide-critical .crit-link { display: none; }
.hide-critical .critical .bar { stroke: #0003; stroke-width: 1; }
.hide-critical .row.critical .row-bg { fill: transparent; }
.tick { stroke: #e3e6ea; }
#axis-line { fill: #c9ced6; }
#tip { position: fixed; display: none; background: #111d; color: #fff; padding: 6px 8px;
       border-radius: 4px; font-size: 12px; white-space: pre; pointer-events: none; }
#tip.shown { display: block; }
.legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px;
               vertical-align: -2px; }
.legend .completed { background: #2e9e57; } .legend .failed { background: #d64545; }
.legend .exception { background: #9b59b6; } .legend .running { background: #3b82f6; }
.legend .pending { background: #d4d8de; } .legend .crit { border: 2px solid #e0a100; }
"""

SCRIPT = r"""
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("timeline-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const LEFT = 280, ROW = 24, TOP = 28, BAR = 14;
  const ms = (s) => (s === null || s === undefined) ? null : Date.parse(s);
  const now = ms(data.now);
  const t0 = ms(data.start), t1 = ms(data.end);
  const span = (t0 !== null && t1 !== null && t1 > t0) ? t1 - t0 : 1;
  const chart = document.getElementById("chart");
  const width = Math.max(600, chart.clientWidth - LEFT - 64);
  const x = (t) => LEFT + (t - t0) / span * width;
  const el = (name, attrs, parent) => {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  };
  const text = (parent, value) => { parent.textContent = value; return parent; };
  const dur = (s) => {
    if (s === null || s === undefined || isNaN(s)) return "-";
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
    const m = Math.floor(s / 60), h = Math.floor(m / 60);
    return h ? h + " h " + (m % 60) + " min" : m + " min " + Math.round(s % 60) + " s";
  };
  const short = (s, n) => s.length > n ? s.slice(0, n - 1) + "\u2026" : s;

  document.getElementById("group").textContent = data.taskGroupId;
  const index = new Map(data.tasks.map((t, i) => [t.taskId, i]));
  const critical = new Set(data.criticalPath);
  const runEnd = (r) => r.resolved !== null ? ms(r.resolved)
    : (r.state === "pending" || r.state === "running") ? now : null;
  const taskStart = (t) => {
    const s = t.runs.map((r) => ms(r.scheduled)).filter((v) => v !== null);
    return s.length ? Math.min(...s) : null;
  };
  const taskEnd = (t) => {
    const e = t.runs.map(runEnd).filter((v) => v !== null);
    return e.length ? Math.max(...e) : null;
  };

  // totals
  const totals = document.getElementById("totals");
  const fact = (label, value) => {
    const div = document.createElement("div");
    text(div.appendChild(document.createElement("b")), label + ": ");
    div.appendChild(document.createTextNode(value));
    totals.appendChild(div);
  };
  const states = Object.entries(data.states).map(([k, v]) => v + " " + k).join(", ");
  fact("Tasks", data.tasks.length + (states ? " (" + states + ")" : "")
       + (data.truncated ? ", more not shown" : ""));
  fact("Wall time", dur(data.wallTime));
  fact("Summed run time", dur(data.runTime));
  const critTime = data.criticalPath.reduce((sum, id) => {
    const t = data.tasks[index.get(id)];
    return sum + t.runs.reduce((a, r) => a + (r.started !== null && runEnd(r) !== null
      ? (runEnd(r) - ms(r.started)) / 1000 : 0), 0);
  }, 0);
  fact("Critical path", data.criticalPath.length + " tasks, " + dur(critTime) + " of runs");
  fact("Longest waits", data.longestWaits.map((w) =>
    short(data.tasks[index.get(w.taskId)].name, 30) + " (run " + w.runId + ") "
    + dur(w.seconds)).join("; ") || "-");
  if (data.start) fact("From", data.start + " to " + data.end);

  // chart
  const height = TOP + data.tasks.length * ROW + 8;
  const svg = el("svg", {width: LEFT + width + 56, height: height, id: "gantt"}, chart);
  const defs = el("defs", {}, svg);
  const marker = el("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
                              markerWidth: 6, markerHeight: 6, orient: "auto"}, defs);
  el("path", {d: "M0,0 L10,5 L0,10 z", fill: "#555"}, marker);
  const axis = el("g", {id: "axis"}, svg);
  el("rect", {id: "axis-line", x: LEFT, y: TOP - 6, width: width, height: 2,
              "data-t0": data.start || "", "data-t1": data.end || ""}, axis);
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200,
                 86400];
  const step = (steps.find((s) => span / 1000 / s <= 10) || 86400) * 1000;
  for (let t = 0; t <= span; t += step) {
    el("line", {class: "tick", x1: x(t0 + t), x2: x(t0 + t), y1: TOP - 8, y2: height}, axis);
    text(el("text", {x: x(t0 + t) + 2, y: TOP - 10}, axis), "+" + dur(t / 1000));
  }
  const rows = el("g", {id: "rows"}, svg);
  const links = el("g", {id: "links"}, svg);
  const tip = document.getElementById("tip");
  const mid = (i) => TOP + i * ROW + ROW / 2;
  const depLines = [];

  data.tasks.forEach((task, i) => {
    const y = TOP + i * ROW;
    const row = el("g", {class: "row" + (critical.has(task.taskId) ? " critical" : ""),
                        "data-task": task.taskId}, rows);
    el("rect", {class: "row-bg", x: 0, y: y, width: LEFT + width + 56, height: ROW}, row);
    const label = text(el("text", {x: 6, y: y + ROW / 2 + 4}, row), short(task.name, 40));
    text(el("title", {}, label), task.name + " (" + task.taskId + ")");
    for (const run of task.runs) {
      const scheduled = ms(run.scheduled), started = ms(run.started), end = runEnd(run);
      const waited = started !== null ? started : end;
      const info = [task.name, task.taskId, "run " + run.runId + ": " + run.state
        + " (" + run.reasonCreated + (run.reasonResolved ? " -> " + run.reasonResolved : "")
        + ")", "scheduled " + run.scheduled, "started " + (run.started || "-"),
        "resolved " + (run.resolved || "-"),
        "waited " + dur(waited !== null && scheduled !== null ? (waited - scheduled) / 1000
                        : null),
        "ran " + dur(started !== null && end !== null ? (end - started) / 1000 : null),
        "worker " + (run.worker || "-")].join("\n");
      const hover = (node) => {
        node.addEventListener("mousemove", (ev) => {
          text(tip, info);
          tip.style.left = (ev.clientX + 12) + "px";
          tip.style.top = (ev.clientY + 12) + "px";
          tip.classList.add("shown");
        });
        node.addEventListener("mouseleave", () => tip.classList.remove("shown"));
      };
      if (scheduled !== null && waited !== null) {
        hover(el("rect", {class: "wait", x: x(scheduled), y: y + (ROW - BAR) / 2 + 3,
                          width: Math.max(1, x(waited) - x(scheduled)), height: BAR - 6,
                          "data-task": task.taskId, "data-run": run.runId}, row));
      }
      if (started !== null && end !== null) {
        const bar = el("rect", {class: "bar state-" + (["completed", "failed", "exception",
            "running", "pending"].includes(run.state) ? run.state : "unknown"),
          x: x(started), y: y + (ROW - BAR) / 2, width: Math.max(1, x(end) - x(started)),
          height: BAR, "data-task": task.taskId, "data-run": run.runId}, row);
        hover(bar);
        if (run.runId > 0) {
          text(el("text", {class: "rerun", x: x(started) + 2, y: y + ROW / 2 + 4}, row),
               "#" + run.runId);
        }
      }
    }
    const start = taskStart(task);
    for (const dep of task.dependencies) {
      if (!index.has(dep) || start === null) continue;
      const j = index.get(dep), end = taskEnd(data.tasks[j]);
      if (end === null) continue;
      const x1 = x(end), x2 = x(start);  // from the dependency's end to this task's start
      const line = el("path", {class: "dep", "data-from": dep, "data-to": task.taskId,
        d: "M" + x1 + "," + mid(j) + " H" + (x1 + 6) + " V" + mid(i) + " H" + x2}, links);
      depLines.push(line);
      if (critical.has(dep) && critical.has(task.taskId)) {
        el("path", {class: "crit-link", d: line.getAttribute("d")}, links);
      }
    }
    const focus = (on) => {
      row.classList.toggle("focus", on);
      for (const line of depLines) {
        const mine = line.dataset.to === task.taskId || line.dataset.from === task.taskId;
        if (!mine) continue;
        line.classList.toggle("shown", on);
        const other = line.dataset.to === task.taskId ? line.dataset.from : line.dataset.to;
        const otherRow = rows.children[index.get(other)];
        if (otherRow) otherRow.classList.toggle("related", on);
      }
    };
    row.addEventListener("mouseenter", () => { if (!row.dataset.pinned) focus(true); });
    row.addEventListener("mouseleave", () => { if (!row.dataset.pinned) focus(false); });
    row.addEventListener("click", () => {
      if (row.dataset.pinned) { delete row.dataset.pinned; focus(false); }
      else { row.dataset.pinned = "1"; focus(true); }
    });
  });

  document.getElementById("show-deps").addEventListener("change", (ev) => {
    svg.classList.toggle("show-deps", ev.target.checked);
  });
  document.getElementById("show-critical").addEventListener("change", (ev) => {
    svg.classList.toggle("hide-critical", !ev.target.checked);
  });
  document.body.dataset.rendered = "1";
})();
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tcdyn group timeline">
<title>Task group {group} - timeline</title>
<style>{style}</style>
</head>
<body>
<h1>Task group <span id="group">{group}</span></h1>
<div id="totals"></div>
<div id="controls">
<label><input type="checkbox" id="show-critical" checked> highlight the critical path</label>
<label><input type="checkbox" id="show-deps"> show all dependencies</label>
<span class="legend">
<span class="completed"></span>completed<span class="failed"></span>failed
<span class="exception"></span>exception<span class="running"></span>running
<span class="pending"></span>pending<span class="crit"></span>critical path</span>
<span> &middot; hover or click a task for its dependencies</span>
</div>
<div id="chart"></div>
<div id="tip"></div>
<script type="application/json" id="timeline-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


#: Only the page's own style and script, and nothing from anywhere (no network at all).
CSP = (f"default-src 'none'; style-src '{_hash(STYLE)}'; script-src '{_hash(SCRIPT)}'; "
       "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")


def data_json(value: object) -> str:
    """JSON safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` (so no
    ``</script>`` or ``<!--``), and no line separators, as ``\\u`` escapes."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def html_text(text: str) -> str:
    """``text`` as HTML text: markup characters and every unprintable character (controls,
    bidi overrides) as character references."""
    return "".join(c if c.isprintable() else f"&#x{ord(c):x};"
                   for c in html.escape(text, quote=True))


def page(timeline: Timeline) -> str:
    """The page's HTML."""
    return TEMPLATE.format(csp=CSP, group=html_text(timeline.task_group_id), style=STYLE,
                           script=SCRIPT, data=data_json(timeline.to_dict()))
