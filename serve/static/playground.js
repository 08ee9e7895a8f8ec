// The playground: chat with a workflow over the LangGraph server API.
//   send      POST /threads (first message), then POST /threads/{id}/runs/stream
//             stream_mode messages-tuple (tokens), custom (engine events), values (plan, tasks, usage), updates (interrupts)
//   review    the stream ends in an interrupt: a card decides it; the answer resumes the run with
//             {"command": {"resume": {<interrupt id>: {"decisions": [...]}}}} and streaming goes on
//   threads   POST /threads/search (sidebar), GET /threads/{id}/state (transcript), POST /threads/{id}/history
//             (checkpoints); a busy thread is joined (GET /threads/{id}/runs/{run}/stream)

import {
  Api, ApiError, ago, argChips, brief, clear, clock, duration, emptyState, h, money, num, observationOf, pill, prettyResult,
  requestOf, shortId, showBanner, showError, startTopbar, storage, store, textOf,
} from "./common.js";
import { reviewCard } from "./review-card.js";

const api = new Api();
const STREAM_MODES = ["messages-tuple", "custom", "values", "updates"];
const $ = (selector) => document.querySelector(selector);
const ui = {
  transcript: $("#transcript"), banners: $("#banners"), prompt: $("#prompt"), send: $("#send"), stop: $("#stop"),
  composer: $("#composer"), workflow: $("#workflow"), workflowDesc: $("#workflow-desc"), threads: $("#threads"),
  filter: $("#thread-filter"), title: $("#thread-title"), status: $("#thread-status"), copy: $("#copy-thread"),
  usage: $("#usage"), board: $("#board"), history: $("#history"), historyBox: $("#history-box"),
  settings: $("#settings"), settingsPanel: $("#settings-panel"), dialog: $("#dialog"),
};

const S = {
  assistants: [],
  workflows: {},           // shipped workflow metadata by name (budgets, sample requests), from /api/workflows
  threadId: null,
  thread: null,
  values: null,            // the thread's latest root `values`
  streaming: null,         // {controller, runId, threadId} while a run streams
  run: null,               // the RunView receiving events
  working: new Set(),      // task ids a worker is on right now
  waitingTasks: new Set(), // task ids waiting for a human
  threadList: [],
};

/** Headline of an `intervention` event by mechanism (taskwarden.graph.reliability.MECHANISMS). */
const INTERVENTIONS = {
  grounding: "Grounding check",
  look_before_act: "Look before acting",
  loop_recovery: "Loop recovery",
  verify_after_write: "Checked after the write",
  confirm_before_write: "Confirmation with the requester",
  nothing_asked: "Not asked for",
};

const SETTINGS = [
  ["orchestrator_model", "Planner model", "text", "default"],
  ["worker_model", "Worker model", "text", "default"],
  ["evaluator_model", "Evaluator model", "text", "default"],
  ["max_steps", "Max model calls", "number", "workflow default"],
  ["max_cost_usd", "Max cost (USD)", "number", "workflow default"],
];

// ------------------------------------------------------------------ run view: one run's live card

class RunView {
  constructor(title) {
    this.timeline = h("ol.timeline.hide-minor");
    this.statusEl = h("span", pill("running", "running"));
    this.detailsToggle = h("button.btn-ghost.btn-sm", { type: "button", title: "Show model calls and allowed policy checks" }, "Show details");
    this.detailsToggle.addEventListener("click", () => {
      const hidden = this.timeline.classList.toggle("hide-minor");
      this.detailsToggle.textContent = hidden ? "Show details" : "Hide details";
    });
    this.foot = h("div.run-foot.hidden");
    this.el = h("section.run", { "aria-label": "Run activity" },
      h("div.run-head", h("strong", "⚙"), h("span.grow", title), this.statusEl, this.detailsToggle),
      this.timeline, this.foot);
    this.reviews = h("div.reviews", { style: "display:grid; gap:12px" });
    this.answerRow = null;
    this.live = new Map();      // message id -> {li, text}
    this.nsTask = new Map();    // subgraph namespace -> task id
    this.interrupts = new Map();
  }

  mount(parent) { parent.append(this.el, this.reviews); return this; }

  setStatus(status, label) { clear(this.statusEl, pill(status, label ?? status)); }

  row(kind, icon, parts, { minor = false, detail = null, status = null } = {}) {
    const li = h("li", { class: minor ? "minor" : "", dataset: { event: kind } },
      h("span.ico", icon),
      h("div.ev-body", h("div.ev-line", parts, status ? pill(status) : null), detail ? h("div.ev-detail", detail) : null));
    this.timeline.append(li);
    scrollDown();
    return li;
  }

  handle({ event, data }) {
    const [mode, ns = ""] = event.split("|");
    if (mode === "metadata") {
      if (S.streaming) S.streaming.runId = data.run_id;
    } else if (mode === "custom") {
      if (data && data.task_id && ns) this.nsTask.set(ns, data.task_id);
      this.custom(data || {});
    } else if (mode === "messages") {
      this.message(Array.isArray(data) ? data : [data, {}], ns);
    } else if (mode === "values" && !ns) {
      S.values = data;
      renderSide();
    } else if (mode === "updates" && data && data.__interrupt__) {
      for (const item of data.__interrupt__) this.interrupts.set(item.id, item);
    } else if (mode === "error") {
      const message = typeof data === "object" ? `${data.error || "Error"}: ${data.message || ""}` : String(data);
      this.row("error", "✕", h("strong", "The run failed"), { detail: h("pre.result", message) });
      this.setStatus("error", "error");
      showBanner(ui.banners, message, { title: "The run failed on the server" });
    }
  }

  custom(e) {
    const task = e.task_id ? h("span.task-tag", e.task_id) : null;
    switch (e.event) {
      case "run_started":
        this.row("run_started", "▶", [h("span", "Run started"), h("span.muted.small", e.workflow || "")], { minor: true });
        break;
      case "invalid_request":
        this.row("invalid_request", "✕", h("strong", "Request refused"), { detail: h("div.small", e.error), status: "invalid" });
        break;
      case "memory_recalled":
        if (e.lessons?.length) {
          this.row("memory_recalled", "◆", `Recalled ${e.lessons.length} lesson(s) from earlier runs`,
            { detail: h("ul.bullets", e.lessons.map((l) => h("li", l))) });
        }
        break;
      case "plan":
        this.row("plan", "☰", h("strong", `Planned ${e.tasks.length} task${e.tasks.length === 1 ? "" : "s"}`), {
          detail: h("ul.bullets", e.tasks.map((t) => h("li", h("span.task-tag", t.id), ` ${t.role}: ${t.description}`,
            t.depends_on?.length ? h("span.muted", ` (after ${t.depends_on.join(", ")})`) : null))),
        });
        break;
      case "plan_failed":
        this.row("plan_failed", "✕", h("strong", "Planning failed"), { detail: h("div.small", e.error) });
        break;
      case "model_call":
        if (e.role === "worker" && e.task_id) S.working.add(e.task_id);
        this.row("model_call", "·", [task, h("span", `${e.role} · ${e.model || "model"}`),
          h("span.muted", `${num((e.input_tokens || 0) + (e.output_tokens || 0))} tokens · ${money(e.cost_usd)} · ${duration((e.latency_ms || 0) / 1000)}`)],
          { minor: true });
        renderBoard();
        break;
      case "tool_call":
        if (e.task_id) S.working.add(e.task_id);
        this.row("tool_call", "→", [task, h("code", e.tool), argChips(e.args)]);
        renderBoard();
        break;
      case "policy_decision":
        if (e.outcome === "allow") {
          this.row("policy_decision", "✓", [task, h("span", `policy allows ${e.tool}`)], { minor: true });
        } else {
          const label = e.outcome === "forbid" ? "Forbidden by policy" : "Needs a human's approval";
          this.row("policy_decision", e.outcome === "forbid" ? "⊘" : "!", [task, h("strong", label), h("code", e.tool)],
            { detail: e.reason ? h("div.small.muted", e.reason) : null });
        }
        break;
      case "intervention": {
        // A reliability check stepped in (graph/reliability.py): an ungrounded argument blocked, a loop broken,
        // a write verified... A routine `verified` is a detail; everything else is shown.
        const what = INTERVENTIONS[e.mechanism] || (e.mechanism || "reliability").replace(/_/g, " ");
        this.row("intervention", "⚑", [task, h("strong", what), e.tool ? h("code", e.tool) : null, pill(e.action, (e.action || "").replace(/_/g, " "))],
          { minor: e.action === "verified", detail: h("div.small", e.message || "", e.args ? [" ", argChips(e.args)] : null) });
        break;
      }
      case "tool_result":
        this.row("tool_result", "←", [task, h("code", e.tool)], {
          status: e.outcome, detail: e.result ? h("pre.result", prettyResult(e.result)) : null,
        });
        break;
      case "review_requested":
        if (e.task_id) S.waitingTasks.add(e.task_id);
        this.row("review_requested", "‖", [task, h("strong", e.kind === "escalation" ? "Escalated to a human"
          : e.kind === "confirmation" ? "Waiting for the requester to confirm" : "Waiting for approval"),
          e.reason ? h("span.muted.small", e.reason) : null]);
        renderBoard();
        break;
      case "review_decided": {
        if (e.task_id) S.waitingTasks.delete(e.task_id);
        const said = [e.message ? `“${e.message}”` : "", e.edited_args ? `new arguments ${JSON.stringify(e.edited_args)}` : ""].filter(Boolean).join(" · ");
        const verb = e.kind === "confirmation"
          ? { approve: "Confirmed by the requester", reject: "Declined by the requester", response: "Answered by the requester" }[e.decision]
          : `${{ approve: "Approved", reject: "Rejected", edit: "Edited", response: "Answered" }[e.decision] || e.decision} by a human`;
        this.row("review_decided", "☑", [task, h("strong", verb || e.decision), e.tool ? h("code", e.tool) : null, pill(e.decision)],
          { detail: said ? h("div.small.muted", said) : null });
        renderBoard();
        break;
      }
      case "task_finished":
        S.working.delete(e.task_id);
        this.row("task_finished", "■", [task, h("span", "finished")], {
          status: e.status, detail: e.result ? h("div.small", brief(e.result, 400)) : null,
        });
        renderBoard();
        break;
      case "evaluation":
        this.row("evaluation", "⚖", [task, h("span", "evaluated"), pill(e.verdict), h("span.muted", "→"), pill(e.status)],
          { detail: e.feedback ? h("div.small.muted", e.feedback) : null });
        break;
      case "run_finished":
        this.finish(e);
        break;
      case "memory_recorded":
        this.row("memory_recorded", "◆", "Remembered this run for later ones", { minor: true });
        break;
      case "memory_error":
        this.row("memory_error", "!", [h("span", `Long-term memory unavailable (${e.stage})`)], { detail: h("div.small.muted", e.error) });
        break;
      default:
        this.row(e.event || "event", "•", h("span", e.event || "event"), { minor: true, detail: h("pre.result", JSON.stringify(e, null, 2)) });
    }
  }

  message([chunk, meta], ns) {
    if (!chunk || !chunk.type) return;
    const node = meta?.langgraph_node;
    if (!ns && node === "finalize" && chunk.type === "ai") {
      this.answer(textOf(chunk.content), true);
      return;
    }
    if (!(chunk.type === "AIMessageChunk" || chunk.type === "ai")) return;
    const text = textOf(chunk.content);
    const id = chunk.id || `${ns}:${node}`;
    let live = this.live.get(id);
    if (text) {
      if (!live) {
        const who = node === "orchestrate" ? "planner" : node === "evaluate" ? "evaluator" : "worker";
        const label = h("span.muted.small", who);
        const body = h("span.live.caret");
        live = { li: this.row("tokens", "✎", [label, body], {}), body, label, ns, text: "" };
        live.li.classList.add("streaming");
        this.live.set(id, live);
      }
      const task = this.nsTask.get(live.ns);
      if (task && !live.tagged) { live.label.before(h("span.task-tag", task)); live.tagged = true; }
      live.text += text;
      live.body.textContent = live.text;
      scrollDown();
    }
    if (live && (chunk.type === "ai" || chunk.chunk_position === "last")) {
      live.body.classList.remove("caret");
      live.li.classList.remove("streaming");
      live.li.classList.add("minor");
      this.live.delete(id);
    }
  }

  answer(text, final = false) {
    if (!text) return;
    if (!this.answerRow) {
      this.answerRow = h("div.msg.ai", h("div.avatar", "T"), h("div.bubble", h("div.who", "Taskwarden"), h("div.text.answer")));
      this.reviews.after(this.answerRow);
    }
    this.answerRow.querySelector(".text").textContent = text;
    if (final) this.answerRow.dataset.final = "true";
    scrollDown();
  }

  finish(e) {
    S.working.clear();
    S.waitingTasks.clear();
    this.row("run_finished", "●", [h("strong", "Run finished")], { status: e.status });
    this.setStatus(e.status);
    const u = e.usage || {};
    this.showUsage(u);
    if (e.answer) this.answer(e.answer, true);
    renderBoard();
  }

  showUsage(u) {
    this.foot.classList.remove("hidden");
    clear(this.foot,
      h("span", `${num(u.steps)} model calls`),
      h("span", `${num((u.input_tokens || 0) + (u.output_tokens || 0))} tokens`),
      h("span", money(u.cost_usd)),
      h("span", `${duration(u.seconds)} active`));
  }
}

function scrollDown() {
  const t = ui.transcript;
  if (t.scrollHeight - t.scrollTop - t.clientHeight < 240) t.scrollTop = t.scrollHeight;
}

// ------------------------------------------------------------------ transcript

function humanBubble(text) {
  return h("div.msg.human", h("div.avatar", "You"), h("div.bubble", h("div.text", text)));
}

function aiBubble(text) {
  return h("div.msg.ai", h("div.avatar", "T"), h("div.bubble", h("div.who", "Taskwarden"), h("div.text.answer", text)));
}

function showEmpty() {
  const wf = currentWorkflow();
  const samples = wf?.sample_requests || [];
  clear(ui.transcript, emptyState("✦", "What should the workflow do?",
    wf ? wf.description : "Pick a workflow and describe the job. Its plan, tool calls and reviews appear here as it runs.",
    samples.length ? h("div.samples", samples.map((s) => h("button", {
      type: "button", onclick: () => { ui.prompt.value = s; ui.prompt.focus(); },
    }, s))) : null));
}

/** A finished or paused run, rebuilt from the thread's state (its tasks and their actions). */
function runFromState(values) {
  const tasks = Object.values(values.tasks || {});
  const view = new RunView("Run (from the thread's saved state)");
  if (tasks.length) {
    view.custom({ event: "plan", tasks });
    for (const t of tasks) {
      for (const a of t.actions || []) {
        view.row("tool_call", "→", [h("span.task-tag", t.id), h("code", a.tool), argChips(a.args)],
          { status: a.outcome, detail: a.summary ? h("pre.result", prettyResult(observationOf(a.summary))) : null });
      }
      view.row("task_finished", "■", [h("span.task-tag", t.id), h("span", t.description)], { status: t.status });
    }
  }
  const status = values.status || "running";
  view.setStatus(status);
  if (values.usage) view.showUsage(values.usage);
  return view;
}

async function renderThread(state, thread) {
  const values = state.values || {};
  S.values = values;
  clear(ui.transcript);
  const messages = (values.messages || []).filter((m) => m.type === "human" || (m.type === "ai" && textOf(m.content)));
  const lastHuman = messages.map((m) => m.type).lastIndexOf("human");
  let run = null;
  messages.forEach((m, i) => {
    if (m.type === "human") {
      ui.transcript.append(humanBubble(textOf(m.content)));
      if (i === lastHuman) run = runFromState(values).mount(ui.transcript);
    } else if (i > lastHuman && run) {
      run.answer(textOf(m.content), true);
    } else {
      ui.transcript.append(aiBubble(textOf(m.content)));
    }
  });
  if (!messages.length) showEmpty();
  S.run = run;
  const pending = state.interrupts || [];
  if (run && pending.length) {
    run.setStatus("interrupted", "waiting for you");
    for (const item of pending) run.reviews.append(reviewFor(item));
  }
  setHeader(thread, values);
  renderSide();
  if (thread?.status === "busy" && !S.streaming) await joinBusy(thread.thread_id);
}

function setHeader(thread, values) {
  ui.title.textContent = thread ? (requestOf(values) || "Untitled thread") : "New conversation";
  clear(ui.status, thread ? threadPill(thread) : "");
  ui.copy.classList.toggle("hidden", !thread);
}

function threadPill(thread) {
  const outcome = thread.values?.status;
  if (thread.status === "interrupted") return pill("waiting", "waiting for review");
  if (thread.status === "busy") return pill("running", "running");
  if (thread.status === "error") return pill("error", "error");
  if (outcome && outcome !== "running") return pill(outcome);
  return pill("idle", "idle");
}

// ------------------------------------------------------------------ side panels

function renderSide() { renderUsage(); renderBoard(); }

function budgetsFor() {
  const wf = currentWorkflow();
  const base = { ...(wf?.budgets || {}) };
  const ctx = contextSettings();
  if (ctx.max_steps) base.max_steps = ctx.max_steps;
  if (ctx.max_cost_usd) base.max_cost_usd = ctx.max_cost_usd;
  const factor = 1 + (S.values?.budget_grants || 0);
  for (const key of ["max_steps", "max_tokens", "max_cost_usd", "max_wall_seconds"]) if (base[key]) base[key] *= factor;
  return base;
}

function renderUsage() {
  const u = S.values?.usage || {};
  const b = budgetsFor();
  const tokens = (u.input_tokens || 0) + (u.output_tokens || 0);
  const meter = (label, value, limit, fmt) => {
    const share = limit ? Math.min(1, value / limit) : 0;
    return h("div.meter", { dataset: { meter: label } },
      h("div.meter-top", h("span", label), h("span", limit ? `${fmt(value)} / ${fmt(limit)}` : fmt(value))),
      h("div.meter-bar", h("div", { class: share >= 1 ? "full" : share >= 0.8 ? "high" : "", style: `width:${(share * 100).toFixed(1)}%` })));
  };
  clear(ui.usage,
    meter("Model calls", u.steps || 0, b.max_steps, (v) => num(v)),
    meter("Tokens", tokens, b.max_tokens, (v) => num(v)),
    meter("Cost", u.cost_usd || 0, b.max_cost_usd, (v) => money(v)),
    meter("Active time", u.seconds || 0, b.max_wall_seconds, (v) => duration(v)));
}

function renderBoard() {
  const tasks = Object.values(S.values?.tasks || {});
  if (!tasks.length) {
    clear(ui.board, h("p.muted.small", S.streaming ? "Waiting for the plan…" : "The plan's tasks appear here, with their status."));
    return;
  }
  clear(ui.board, tasks.map((t) => {
    let status = t.status;
    if (S.waitingTasks.has(t.id) || (t.status === "pending" && pendingTaskIds().has(t.id))) status = "waiting";
    else if (S.working.has(t.id) && (t.status === "pending" || t.status === "revise")) status = "working";
    const actions = t.actions || [];
    return h("div.task", { class: `s-${status}`, dataset: { task: t.id, status } },
      h("div.task-top", h("span.task-tag", t.id), h("span.role", t.role), pill(status)),
      h("div.task-desc", t.description),
      t.depends_on?.length ? h("div.task-deps", `after ${t.depends_on.join(", ")}`) : null,
      actions.length ? h("div.task-actions", actions.map((a) => `${a.tool} (${a.outcome})`).join(" · ")) : null,
      t.attempts > 1 ? h("div.task-deps", `${t.attempts} attempts`) : null);
  }));
}

function pendingTaskIds() {
  const ids = new Set();
  for (const item of S.run?.interrupts.values() || []) if (item.value?.task_id) ids.add(item.value.task_id);
  return ids;
}

async function loadHistory() {
  if (!S.threadId) { clear(ui.history, h("li.muted", "No thread yet.")); return; }
  try {
    const states = await api.history(S.threadId, 100);
    clear(ui.history, states.map((st) => {
      const meta = st.metadata || {};
      const next = (st.next || []).join(", ") || "end";
      return h("li", h("button", {
        type: "button", title: st.checkpoint?.checkpoint_id || "",
        onclick: () => openDialog(`Checkpoint at step ${meta.step ?? "?"}`, st.values),
      }, h("span.step", `#${meta.step ?? "?"}`), h("span", `${meta.source || ""} → ${next}`), h("span.muted", clock(st.created_at))));
    }));
    if (!states.length) clear(ui.history, h("li.muted", "No checkpoints."));
  } catch (error) {
    clear(ui.history, h("li.field-error", `Could not load the history: ${error.message}`));
  }
}

function openDialog(title, value) {
  $("#dialog-title").textContent = title;
  $("#dialog-body").textContent = JSON.stringify(value, null, 2);
  ui.dialog.showModal();
}

// ------------------------------------------------------------------ threads sidebar

async function loadThreads() {
  try {
    S.threadList = await api.threads({ limit: 50 });
    renderThreads();
  } catch (error) {
    clear(ui.threads, h("li.muted.small", "Threads could not be loaded."));
  }
}

function renderThreads() {
  const filter = ui.filter.value.trim().toLowerCase();
  const shown = S.threadList.filter((t) => !filter || requestOf(t.values).toLowerCase().includes(filter) || t.thread_id.includes(filter));
  if (!shown.length) {
    clear(ui.threads, h("li.muted.small", { style: "padding:8px" }, filter ? "No thread matches." : "No threads yet: send a request to start one."));
    return;
  }
  clear(ui.threads, shown.map((t) => h("li", h("button", {
    type: "button", "aria-current": t.thread_id === S.threadId ? "true" : "false", dataset: { thread: t.thread_id },
    onclick: () => openThread(t.thread_id),
  }, h("span.thread-title", requestOf(t.values) || "Untitled thread"),
  h("span.thread-meta", threadPill(t), h("span", t.metadata?.graph_id || ""), h("span", ago(t.updated_at)))))));
}

async function openThread(threadId) {
  if (S.streaming) { showBanner(ui.banners, "Wait for the run to finish (or stop it) before switching threads.", { kind: "warn", key: "busy" }); return; }
  S.threadId = threadId;
  S.working.clear();
  S.waitingTasks.clear();
  setUrl();
  renderThreads();
  try {
    const [thread, state] = await Promise.all([api.thread(threadId), api.state(threadId)]);
    S.thread = thread;
    const graph = thread.metadata?.assistant_id || thread.metadata?.graph_id;
    const match = S.assistants.find((a) => a.assistant_id === graph) || S.assistants.find((a) => a.graph_id === thread.metadata?.graph_id);
    if (match) ui.workflow.value = match.assistant_id;
    ui.workflow.disabled = true;
    describeWorkflow();
    await renderThread(state, thread);
    if (ui.historyBox.open) loadHistory();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      showBanner(ui.banners, `Thread ${threadId} does not exist on this server.`, { title: "Thread not found", key: "nf" });
      newConversation();
    } else {
      showError(ui.banners, error, "Could not open the thread");
    }
  }
}

function newConversation() {
  if (S.streaming) return;
  S.threadId = null;
  S.thread = null;
  S.values = null;
  S.run = null;
  S.working.clear();
  S.waitingTasks.clear();
  ui.workflow.disabled = false;
  setUrl();
  setHeader(null, null);
  showEmpty();
  renderSide();
  renderThreads();
  clear(ui.history);
  ui.prompt.focus();
}

function setUrl() {
  const url = new URL(location.href);
  if (S.threadId) url.searchParams.set("thread", S.threadId); else url.searchParams.delete("thread");
  history.replaceState(null, "", url);
}

// ------------------------------------------------------------------ workflows and settings

function currentAssistant() { return S.assistants.find((a) => a.assistant_id === ui.workflow.value); }
function currentWorkflow() { const a = currentAssistant(); return a ? S.workflows[a.graph_id] : null; }

function describeWorkflow() {
  const a = currentAssistant();
  const wf = currentWorkflow();
  ui.workflowDesc.textContent = wf?.description || a?.description || (a ? `Graph ${a.graph_id}` : "");
}

async function loadAssistants() {
  try {
    S.assistants = await api.assistants();
  } catch (error) {
    showError(ui.banners, error, "Could not list the workflows");
    S.assistants = [];
  }
  clear(ui.workflow, S.assistants.map((a) => h("option", { value: a.assistant_id },
    a.name && a.name !== a.graph_id ? `${a.name} (${a.graph_id})` : a.graph_id)));
  if (!S.assistants.length) clear(ui.workflow, h("option", { value: "" }, "No workflows on this server"));
  const remembered = storage("assistant", null);
  if (S.assistants.some((a) => a.assistant_id === remembered)) ui.workflow.value = remembered;
  describeWorkflow();
}

async function loadWorkflows() {
  try {
    for (const wf of await api.get("api/workflows")) S.workflows[wf.name] = wf;
  } catch { /* optional: budgets and samples only */ }
}

function buildSettings() {
  const saved = storage("settings", {});
  clear(ui.settingsPanel, SETTINGS.map(([key, label, type, placeholder]) => {
    const input = h("input", { type, name: key, placeholder, step: type === "number" ? "any" : null, min: type === "number" ? "0" : null });
    if (saved[key] !== undefined) input.value = saved[key];
    input.addEventListener("change", () => { store("settings", contextSettings(true)); renderUsage(); });
    return h("label.field", label, input);
  }));
  ui.settings.addEventListener("toggle", () => ui.settingsPanel.classList.toggle("hidden", !ui.settings.open));
}

function contextSettings(raw = false) {
  const out = {};
  for (const [key, , type] of SETTINGS) {
    const value = ui.settingsPanel.querySelector(`[name="${key}"]`)?.value.trim();
    if (!value) continue;
    out[key] = type === "number" && !raw ? Number(value) : value;
  }
  return out;
}

// ------------------------------------------------------------------ running

function setStreaming(on) {
  ui.send.disabled = on;
  ui.stop.classList.toggle("hidden", !on);
  ui.send.innerHTML = "";
  ui.send.append(on ? h("span.spinner") : "", on ? " Running" : "Send ↵");
  $("#server-dot").classList.toggle("busy", on);
}

async function consume(threadId, events, view) {
  const controller = S.streaming.controller;
  try {
    for await (const evt of events) {
      if (controller.signal.aborted) break;
      view.handle(evt);
    }
  } catch (error) {
    if (error.name !== "AbortError") {
      showError(ui.banners, error, "The stream stopped");
      view.setStatus("error", "stream error");
    }
  }
}

/** Stream one run (new input, a resume, or joining a busy one) into `view`, then settle the thread. */
async function stream(threadId, view, start) {
  const controller = new AbortController();
  S.streaming = { controller, threadId, runId: null };
  setStreaming(true);
  try {
    await consume(threadId, start(controller.signal), view);
  } finally {
    S.streaming = null;
    setStreaming(false);
  }
  await settle(threadId, view);
}

async function settle(threadId, view) {
  try {
    const [thread, state] = await Promise.all([api.thread(threadId), api.state(threadId)]);
    S.thread = thread;
    S.values = state.values || S.values;
    const pending = state.interrupts || [];
    clear(view.reviews);
    if (pending.length) {
      view.setStatus("interrupted", "waiting for you");
      for (const item of pending) view.reviews.append(reviewFor(item));
      view.reviews.firstElementChild?.scrollIntoView({ block: "nearest", behavior: "smooth" });
      view.reviews.querySelector(".review button")?.focus({ preventScroll: true });
    } else if (S.values?.status && S.values.status !== "running") {
      view.setStatus(S.values.status);
      if (S.values.final_answer && !view.answerRow) view.answer(S.values.final_answer, true);
    } else if (thread.status === "error") {
      view.setStatus("error");
    }
    setHeader(thread, S.values);
    renderSide();
    scrollDown();
  } catch (error) {
    showError(ui.banners, error, "Could not read the thread's state");
  }
  loadThreads();
  if (ui.historyBox.open) loadHistory();
}

function runPayload(extra) {
  const context = contextSettings();
  return {
    assistant_id: currentAssistant()?.assistant_id || S.thread?.metadata?.graph_id,
    stream_mode: STREAM_MODES,
    stream_subgraphs: true,
    multitask_strategy: "reject",
    ...(Object.keys(context).length ? { context } : {}),
    ...extra,
  };
}

async function send(text) {
  text = text.trim();
  if (!text || S.streaming) return;
  const assistant = currentAssistant();
  if (!assistant && !S.threadId) { showBanner(ui.banners, "Pick a workflow first.", { kind: "warn", key: "wf" }); return; }
  store("assistant", ui.workflow.value);
  try {
    if (!S.threadId) {
      const thread = await api.createThread({ source: "playground" });
      S.threadId = thread.thread_id;
      S.thread = thread;
      ui.workflow.disabled = true;
      setUrl();
      clear(ui.transcript);
    }
  } catch (error) {
    showError(ui.banners, error, "Could not create a thread");
    return;
  }
  ui.prompt.value = "";
  ui.transcript.querySelector(".empty")?.remove();
  ui.transcript.append(humanBubble(text));
  S.values = { ...(S.values || {}), tasks: {}, usage: {}, status: "running" };
  S.working.clear();
  S.waitingTasks.clear();
  ui.title.textContent = text;
  clear(ui.status, pill("running"));
  const view = new RunView(`Run · ${assistant?.graph_id || ""}`).mount(ui.transcript);
  S.run = view;
  renderSide();
  scrollDown();
  const threadId = S.threadId;
  await stream(threadId, view, (signal) =>
    api.streamRun(threadId, runPayload({ input: { messages: [{ type: "human", content: text }] } }), { signal }));
}

function reviewFor(item) {
  const card = reviewCard(item, {
    headline: item.value?.kind === "confirmation" ? "The run waits for the requester's answer" : "The run is paused until you decide",
    onDecide: async (payload, summary) => {
      if (S.streaming) throw new Error("a run is already streaming on this thread");
      const threadId = S.threadId;
      const view = S.run || new RunView("Run").mount(ui.transcript);
      card.remove();  // the engine's review_decided event shows the decision in the timeline
      view.interrupts.delete(item.id);
      view.setStatus("running", "resumed");
      await stream(threadId, view, (signal) =>
        api.streamRun(threadId, runPayload({ command: { resume: { [item.id]: payload } } }), { signal }));
    },
  });
  return card;
}

async function joinBusy(threadId) {
  try {
    const running = await api.runs(threadId, "running");
    const pending = running.length ? running : await api.runs(threadId, "pending");
    if (!pending.length) return;
    const view = S.run || new RunView("Run").mount(ui.transcript);
    view.setStatus("running", "running (joined)");
    S.run = view;
    await stream(threadId, view, (signal) => api.joinRun(threadId, pending[0].run_id, { signal }));
  } catch (error) {
    showError(ui.banners, error, "Could not join the running run");
  }
}

async function stop() {
  const current = S.streaming;
  if (!current) return;
  try {
    if (current.runId) await api.cancel(current.threadId, current.runId);
  } catch (error) {
    showError(ui.banners, error, "Could not cancel the run");
  }
  current.controller.abort();
}

// ------------------------------------------------------------------ wiring

ui.composer.addEventListener("submit", (e) => { e.preventDefault(); send(ui.prompt.value); });
ui.prompt.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(ui.prompt.value); }
});
ui.stop.addEventListener("click", stop);
$("#new-thread").addEventListener("click", newConversation);
$("#refresh-threads").addEventListener("click", loadThreads);
ui.filter.addEventListener("input", renderThreads);
ui.workflow.addEventListener("change", () => { store("assistant", ui.workflow.value); describeWorkflow(); if (!S.threadId) showEmpty(); renderUsage(); });
ui.copy.addEventListener("click", () => navigator.clipboard?.writeText(S.threadId || ""));
ui.historyBox.addEventListener("toggle", () => { if (ui.historyBox.open) loadHistory(); });
document.addEventListener("keydown", (e) => {
  if (e.altKey && e.key.toLowerCase() === "n") { e.preventDefault(); newConversation(); }
  if (e.key === "/" && document.activeElement === document.body) { e.preventDefault(); ui.prompt.focus(); }
});

startTopbar(api, {
  onStatus: (up, error) => {
    if (!up) showBanner(ui.banners, `Requests to ${api.base} fail (${error?.message || "no answer"}). Retrying every 10 s.`,
      { title: "Server unreachable", key: "down" });
    else ui.banners.querySelector('[data-key="down"]')?.remove();
  },
});

(async function init() {
  buildSettings();
  await Promise.all([loadAssistants(), loadWorkflows()]);
  describeWorkflow();
  const wanted = new URLSearchParams(location.search).get("thread");
  if (wanted) await openThread(wanted); else newConversation();
  loadThreads();
  setInterval(() => { if (!S.streaming) loadThreads(); }, 15000);
})();

export { send, openThread, shortId };
