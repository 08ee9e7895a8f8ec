// The review queue: every thread the server reports as `interrupted` (POST /threads/search), one card
// per pending interrupt with the context a reviewer needs; a decision resumes the run with
// {"command": {"resume": {<interrupt id>: {"decisions": [...]}}}} (POST /threads/{id}/runs/stream) and
// the card follows the run to its outcome.

import {
  Api, ago, brief, clear, emptyState, h, observationOf, pill, prettyResult, requestOf, shortId, showError, startTopbar,
  textOf,
} from "./common.js";
import { reviewCard, reviewKind } from "./review-card.js";

const api = new Api();
const $ = (selector) => document.querySelector(selector);
const ui = { queue: $("#queue"), banners: $("#banners"), summary: $("#summary"), filter: $("#workflow-filter"), auto: $("#auto") };
const cards = new Map();   // `${thread}:${interrupt}` -> {card, thread, decided}
let loading = false;

function workflowOf(thread) { return thread.metadata?.graph_id || "workflow"; }

/** What the reviewer needs besides the proposed action: the request, what was done and what was seen. */
function context(thread, interrupt) {
  const values = thread.values || {};
  const tasks = Object.values(values.tasks || {});
  const done = [];
  const seen = [];
  for (const task of tasks) {
    for (const action of task.actions || []) {
      const call = action.summary.split(" -> ")[0];
      const observation = observationOf(action.summary);
      done.push(h("li", h("span.task-tag", task.id), " ", h("code", call || action.tool), " ", pill(action.outcome)));
      if (observation) seen.push(h("li", h("span.task-tag", task.id), " ", h("span.mono.tiny", brief(prettyResult(observation, true), 220))));
    }
    if (task.result && ["passed", "done", "escalated"].includes(task.status)) {
      seen.push(h("li", h("span.task-tag", task.id), " result: ", brief(task.result, 300)));
    }
  }
  const plan = tasks.map((t) => h("li", h("span.task-tag", t.id), ` ${t.description} `, pill(t.id === interrupt.value?.task_id ? "waiting" : t.status)));
  return h("div.ctx",
    h("section", h("h3", "Request"), h("blockquote.request-quote", requestOf(values) || textOf(values.messages?.[0]?.content) || "(no request text)")),
    plan.length ? h("section", h("h3", "Plan"), h("ul.bullets", plan)) : null,
    h("section", h("h3", "What was done"), done.length ? h("ul.bullets", done) : h("p.muted.small", "No tool calls yet.")),
    seen.length ? h("section", h("h3", "What was seen"), h("ul.bullets", seen)) : null);
}

function makeCard(thread, interrupt) {
  const key = `${thread.thread_id}:${interrupt.id}`;
  const kind = reviewKind(interrupt.value);
  const entry = { thread, decided: false };
  const card = reviewCard(interrupt, {
    headline: "",
    header: [
      h("span.pill.plain", workflowOf(thread)),
      h("a.small", { href: `playground?thread=${thread.thread_id}`, title: `Open thread ${thread.thread_id} in the playground` }, `thread ${shortId(thread.thread_id)}`),
      h("span.small.muted", { title: thread.updated_at }, `waiting since ${ago(thread.updated_at)}`),
    ],
    context: context(thread, interrupt),
    onDecide: (payload, summary) => decide(entry, interrupt, payload, summary),
  });
  card.classList.add("queue-item");
  card.dataset.thread = thread.thread_id;
  card.dataset.kind = kind.key;
  entry.card = card;
  cards.set(key, entry);
  return card;
}

async function decide(entry, interrupt, payload, summary) {
  const { thread, card } = entry;
  entry.decided = true;
  const progress = h("span.small.muted", "");
  const interventions = h("ul.bullets.small.interventions");  // reliability checks that stepped in, kept after the run
  card.setOutcome(h("span", h("span.spinner"), ` ${summary}. Resuming the run… `), progress, interventions);
  const body = {
    assistant_id: thread.metadata?.assistant_id || workflowOf(thread),
    command: { resume: { [interrupt.id]: payload } },
    stream_mode: ["custom"],
    stream_subgraphs: true,
    multitask_strategy: "reject",
  };
  let failure = null;
  try {
    for await (const { event, data } of api.streamRun(thread.thread_id, body)) {
      if (event.startsWith("custom") && data?.event) progress.textContent = describe(data);
      if (event.startsWith("custom") && data?.event === "intervention") interventions.append(h("li", describe(data)));
      if (event === "error") failure = data?.message || data?.error || "the run failed";
    }
  } catch (error) {
    entry.decided = false;
    throw error;  // the card shows it and offers the decision again
  }
  card.markDecided();
  await showOutcome(entry, summary, failure);
  if (interventions.childElementCount) card.querySelector(".review-outcome")?.append(interventions);
  refreshCount();
}

function describe(e) {
  const task = e.task_id ? `${e.task_id} ` : "";
  switch (e.event) {
    case "tool_call": return `${task}→ ${e.tool}`;
    case "tool_result": return `${task}← ${e.tool}: ${e.outcome}`;
    case "intervention":
      return `${task}⚑ ${String(e.mechanism || "reliability").replace(/_/g, " ")} ${String(e.action || "").replace(/_/g, " ")}`
        + `${e.tool ? ` ${e.tool}` : ""}: ${e.message || ""}`;
    case "review_decided": return `${task}${e.decision} recorded`;
    case "task_finished": return `${task}finished (${e.status})`;
    case "evaluation": return `${task}evaluated: ${e.verdict}`;
    case "run_finished": return `run finished: ${e.status}`;
    default: return `${task}${e.event.replace(/_/g, " ")}`;
  }
}

async function showOutcome(entry, summary, failure) {
  const { card, thread } = entry;
  try {
    const [fresh, state] = await Promise.all([api.thread(thread.thread_id), api.state(thread.thread_id)]);
    const values = state.values || {};
    if (failure || fresh.status === "error") {
      card.setOutcome(h("div", pill("error"), ` ${summary}; the run failed: ${failure || "see the server log"}`));
    } else if ((state.interrupts || []).length) {
      card.setOutcome(h("div", pill("waiting", "waiting again"), ` ${summary}. The run continued and now waits for another decision (below).`));
      await load();
    } else {
      card.setOutcome(
        h("div", pill(values.status || "idle"), ` ${summary}. The run ${values.status === "completed" ? "completed" : `ended: ${values.status || fresh.status}`}.`),
        values.final_answer ? h("blockquote.request-quote.small", values.final_answer) : null,
        h("a.small", { href: `playground?thread=${thread.thread_id}` }, "Open in the playground →"));
    }
    card.dataset.outcome = values.status || fresh.status;
  } catch (error) {
    card.setOutcome(h("div", `${summary}. Could not read the outcome: ${error.message}`));
  }
}

async function load() {
  if (loading) return;
  loading = true;
  try {
    const threads = await api.threads({ status: "interrupted", limit: 100, sort_by: "updated_at", sort_order: "asc" });
    ui.banners.querySelector('[data-key="load"]')?.remove();
    render(threads);
  } catch (error) {
    showError(ui.banners, error, "Could not load the queue", "load");
  } finally {
    loading = false;
  }
}

function render(threads) {
  const live = new Set();
  const workflows = new Set(threads.map(workflowOf));
  const chosen = ui.filter.value;
  clear(ui.filter, h("option", { value: "" }, "All workflows"), [...workflows].sort().map((w) => h("option", { value: w }, w)));
  ui.filter.value = workflows.has(chosen) ? chosen : "";
  for (const thread of threads) {
    const seen = new Set();
    for (const interrupt of Object.values(thread.interrupts || {}).flat()) {
      if (seen.has(interrupt.id)) continue;
      seen.add(interrupt.id);
      const key = `${thread.thread_id}:${interrupt.id}`;
      live.add(key);
      if (!cards.has(key)) ui.queue.append(makeCard(thread, interrupt));
    }
  }
  for (const [key, entry] of cards) {
    if (!live.has(key) && !entry.decided) {
      entry.decided = true;
      entry.card.markDecided();
      entry.card.setOutcome(h("div.muted", "No longer waiting: decided elsewhere (CLI, API or another reviewer)."));
    }
  }
  applyFilter();
}

function applyFilter() {
  const chosen = ui.filter.value;
  let waiting = 0;
  for (const entry of cards.values()) {
    const visible = !chosen || workflowOf(entry.thread) === chosen;
    entry.card.classList.toggle("hidden", !visible);
    if (visible && !entry.decided) waiting += 1;
  }
  ui.summary.textContent = waiting
    ? `${waiting} decision${waiting === 1 ? "" : "s"} waiting, oldest first. Each one resumes its run.`
    : "Nothing is waiting for you.";
  ui.queue.querySelector(".empty")?.remove();
  if (!waiting && ![...cards.values()].some((e) => !e.card.classList.contains("hidden"))) {
    ui.queue.append(emptyState("✓", "Nobody is waiting for you",
      "When a run needs an approval or escalates a problem it pauses and shows up here, with what it did and why it stopped.",
      h("a", { href: "playground" }, "Start a run in the playground →")));
  }
}

function refreshCount() { topbar.refresh(); applyFilter(); }

ui.filter.addEventListener("change", applyFilter);
$("#refresh").addEventListener("click", load);
const topbar = startTopbar(api);
load();
setInterval(() => { if (ui.auto.checked && !document.hidden) load(); }, 10000);
