// The dashboard: GET /api/metrics (computed from the audit log, see taskwarden.serve.metrics) drawn as
// inline SVG charts, and GET /api/alerts (threshold alerts, taskwarden.serve.alerts).

import { Api, clear, duration, emptyState, h, money, num, pct, pill, shortId, showError, stamp, startTopbar } from "./common.js";
import { barChart, legend, lineChart } from "./charts.js";

const api = new Api();
const $ = (selector) => document.querySelector(selector);
const ui = {
  kpis: $("#kpis"), charts: $("#charts"), workflows: $("#workflows"), alerts: $("#alerts"), rules: $("#rules"),
  recent: $("#recent"), banners: $("#banners"), days: $("#days"), workflow: $("#workflow"), subtitle: $("#subtitle"),
};
const OUTCOME_LABELS = {
  completed: "Completed", rejected: "Rejected by a human", incomplete: "Incomplete", invalid: "Invalid request",
  failed: "Failed (stalled)", waiting: "Waiting for a human", running: "Running",
};
let alertRules = null;

const dayLabel = (iso) => new Date(`${iso}T00:00:00`).toLocaleDateString(undefined, { month: "short", day: "numeric" });

function chartCard(title, subtitle, svg, series) {
  return h("article.card.chart-card", { dataset: { chart: title } },
    h("header", h("h2.grow", title), subtitle ? h("span.small.muted", subtitle) : null),
    svg, series ? legend(series) : null);
}

function kpi(label, value, sub, alerting = false) {
  return h("div.card.kpi", { class: alerting ? "alerting" : "", dataset: { kpi: label } },
    h("span.label", label), h("span.value", value), sub ? h("span.sub", sub) : null);
}

function over(rate, threshold) { return threshold !== null && threshold !== undefined && rate !== null && rate > threshold; }

function renderKpis(t) {
  const r = alertRules || {};
  clear(ui.kpis,
    kpi("Runs", num(t.runs), `${num(t.finished)} finished · ${num(t.outcomes.waiting)} waiting`),
    kpi("Success rate", pct(t.success_rate), `${num(t.outcomes.completed)} completed`),
    kpi("Error rate", pct(t.error_rate), `${num(t.outcomes.incomplete + t.outcomes.failed)} incomplete or failed`, over(t.error_rate, r.error_rate)),
    kpi("Escalation rate", pct(t.escalation_rate), `${num(t.escalations)} escalated · ${pct(t.approval_rate)} asked approval`, over(t.escalation_rate, r.escalation_rate)),
    kpi("Execution time", `${duration(t.active_seconds_p50)}`, `p50 · p95 ${duration(t.active_seconds_p95)} (active)`),
    kpi("Tokens per run", num(t.tokens_per_run), `${num(t.tokens)} in total`),
    kpi("Cost per run", money(t.cost_per_run_usd), `${money(t.cost_usd)} in total`, over(t.cost_per_run_usd, r.cost_per_run)));
}

function renderCharts(m) {
  const labels = m.days.map((d) => dayLabel(d.date));
  const outcomeSeries = m.outcomes.filter((o) => o !== "running" || m.days.some((d) => d.outcomes.running))
    .map((o) => ({ key: o, label: OUTCOME_LABELS[o] || o, values: m.days.map((d) => d.outcomes[o]) }));
  const rates = [
    { key: "success", label: "Success", values: m.days.map((d) => d.success_rate) },
    { key: "error", label: "Error", values: m.days.map((d) => d.error_rate) },
    { key: "escalation", label: "Escalation", values: m.days.map((d) => d.escalation_rate) },
    { key: "approval", label: "Approval asked", values: m.days.map((d) => d.approval_rate) },
  ];
  const times = [
    { key: "p50", label: "p50", values: m.days.map((d) => d.active_seconds_p50) },
    { key: "p95", label: "p95", values: m.days.map((d) => d.active_seconds_p95) },
  ];
  const tokens = [{ key: "tokens", label: "Tokens per run", values: m.days.map((d) => d.tokens_per_run) }];
  const cost = [{ key: "cost", label: "Cost per run", values: m.days.map((d) => d.cost_per_run_usd) }];
  const names = Object.keys(m.workflows);
  const byWorkflow = outcomeSeries.map(({ key, label }) => ({ key, label, values: names.map((n) => m.workflows[n].outcomes[key]) }));
  clear(ui.charts,
    chartCard("Run volume", "runs started per day, by outcome",
      barChart({ labels, series: outcomeSeries, format: (v) => num(v), title: "Run volume per day", integer: true }), outcomeSeries),
    chartCard("Outcome rates", "per day",
      lineChart({ labels, series: rates, max: 1, format: pct, title: "Success, error and escalation rates per day" }), rates),
    chartCard("Execution time", "active seconds per run, per day",
      lineChart({ labels, series: times, format: duration, title: "p50 and p95 execution time per day" }), times),
    chartCard("Tokens per run", "mean of finished runs, per day",
      barChart({ labels, series: tokens, format: (v) => num(v), title: "Tokens per run per day" }), null),
    chartCard("Cost per run", "mean of finished runs, per day",
      lineChart({ labels, series: cost, format: (v) => money(v), title: "Cost per run per day" }), null),
    chartCard("Runs per workflow", "in the window, by outcome",
      barChart({ labels: names.length ? names : ["–"], series: byWorkflow, format: (v) => num(v), title: "Runs per workflow", integer: true }), byWorkflow));
}

function renderWorkflows(m) {
  const names = Object.keys(m.workflows);
  if (!names.length) {
    clear(ui.workflows, emptyState("∅", "No runs in this window",
      "Runs started from the playground, the CLI, webhooks or schedules are counted here.",
      h("a", { href: "playground" }, "Start one in the playground →")));
    return;
  }
  const head = ["Workflow", "Runs", "Success", "Error", "Escalation", "p50", "p95", "Tokens / run", "Cost / run"];
  clear(ui.workflows, h("table.data", h("thead", h("tr", head.map((c, i) => h("th", { class: i ? "num" : "" }, c)))),
    h("tbody", names.map((n) => {
      const w = m.workflows[n];
      return h("tr", { dataset: { workflow: n } }, h("td", h("strong", n)), h("td.num", num(w.runs)), h("td.num", pct(w.success_rate)),
        h("td.num", pct(w.error_rate)), h("td.num", pct(w.escalation_rate)), h("td.num", duration(w.active_seconds_p50)),
        h("td.num", duration(w.active_seconds_p95)), h("td.num", num(w.tokens_per_run)), h("td.num", money(w.cost_per_run_usd)));
    }))));
}

function renderRecent(m) {
  if (!m.recent.length) { clear(ui.recent, h("p.muted.small", "No runs yet.")); return; }
  const head = ["Started", "Workflow", "Thread", "Outcome", "Active", "Wall", "Tokens", "Cost"];
  clear(ui.recent, h("table.data", h("thead", h("tr", head.map((c, i) => h("th", { class: i > 3 ? "num" : "" }, c)))),
    h("tbody", m.recent.map((r) => h("tr",
      h("td", stamp(r.started_at)), h("td", r.workflow),
      h("td", h("a", { href: `playground?thread=${r.thread_id}`, title: r.thread_id }, shortId(r.thread_id)), r.run > 1 ? h("span.muted", ` #${r.run}`) : null),
      h("td", pill(r.outcome), r.escalated ? h("span", " ", pill("escalated")) : null, r.approvals ? h("span", " ", pill("approval", "approval")) : null),
      h("td.num", duration(r.active_seconds)), h("td.num", duration(r.wall_seconds)), h("td.num", num(r.tokens)), h("td.num", money(r.cost_usd)))))));
}

async function loadAlerts() {
  try {
    const data = await api.get("api/alerts?limit=50");
    alertRules = data.rules;
    const r = data.rules;
    const thresholds = [
      r.error_rate !== null ? `error rate > ${pct(r.error_rate)}` : null,
      r.escalation_rate !== null ? `escalation rate > ${pct(r.escalation_rate)}` : null,
      r.cost_per_run !== null ? `cost per run > ${money(r.cost_per_run)}` : null,
    ].filter(Boolean);
    clear(ui.rules, data.config_error ? h("div.banner.error", h("div.banner-body", h("strong", "Alert settings are invalid"), data.config_error)) : null,
      thresholds.length
        ? `Alerting when ${thresholds.join(", ")} over the last ${r.window_hours} h (at least ${r.min_runs} runs for rates), via ${r.delivery}; the same alert waits ${r.cooldown_hours} h before firing again.`
        : "No thresholds configured: set TASKWARDEN_ALERT_ERROR_RATE, TASKWARDEN_ALERT_ESCALATION_RATE or TASKWARDEN_ALERT_COST_PER_RUN on the server.");
    if (!data.alerts.length) { clear(ui.alerts, h("p.muted.small", "No alerts have fired.")); return; }
    clear(ui.alerts, h("table.data", h("thead", h("tr", ["When", "Workflow", "Rule", "Value", "Threshold", "Runs", "Delivery"].map((c) => h("th", c)))),
      h("tbody", data.alerts.map((a) => {
        const fmt = a.rule === "cost_per_run" ? (v) => money(v, 4) : pct;
        return h("tr", { dataset: { alert: a.rule } }, h("td", stamp(a.ts)), h("td", a.workflow), h("td", pill("error", a.rule.replace(/_/g, " "))),
          h("td.num", fmt(a.value)), h("td.num", fmt(a.threshold)), h("td.num", num(a.runs)),
          h("td", a.delivered ? `sent (${a.channel})` : h("span", { title: a.error || "" }, pill("error", "failed"), ` ${a.error || ""}`)));
      }))));
  } catch (error) {
    clear(ui.alerts, h("p.field-error", `Could not load the alerts: ${error.message}`));
  }
}

async function load() {
  const params = new URLSearchParams({ days: ui.days.value, utc_offset_minutes: String(-new Date().getTimezoneOffset()) });
  if (ui.workflow.value) params.set("workflow", ui.workflow.value);
  try {
    await loadAlerts();
    const m = await api.get(`api/metrics?${params}`);
    ui.banners.querySelector('[data-key="load"]')?.remove();
    const chosen = ui.workflow.value;
    clear(ui.workflow, h("option", { value: "" }, "All workflows"), Object.keys(m.workflows).map((n) => h("option", { value: n }, n)));
    if (chosen && !m.workflows[chosen]) ui.workflow.append(h("option", { value: chosen }, chosen));
    ui.workflow.value = chosen;
    ui.subtitle.textContent = `${m.totals.runs} run${m.totals.runs === 1 ? "" : "s"} started in the last ${m.window.days} days${chosen ? ` (${chosen})` : ""}, from the audit log. Updated ${new Date(m.generated_at * 1000).toLocaleTimeString()}.`;
    renderKpis(m.totals);
    renderCharts(m);
    renderWorkflows(m);
    renderRecent(m);
  } catch (error) {
    showError(ui.banners, error, "Could not load the metrics", "load");
  }
}

$("#refresh").addEventListener("click", load);
ui.days.addEventListener("change", load);
ui.workflow.addEventListener("change", load);
$("#check-alerts").addEventListener("click", async (e) => {
  e.target.disabled = true;
  try {
    const result = await api.post("api/alerts/check", {});
    if (!result.active) showError(ui.banners, new Error("No thresholds are configured on the server."), "Nothing to check", "check");
    await loadAlerts();
  } catch (error) {
    showError(ui.banners, error, "Could not check the thresholds", "check");
  } finally {
    e.target.disabled = false;
  }
});
startTopbar(api);
load();
setInterval(() => { if (!document.hidden) load(); }, 30000);
