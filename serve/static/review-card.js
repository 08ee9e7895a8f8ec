// A human-review interrupt (Agent-Chat-UI `HITLRequest`: action_requests + review_configs, plus our
// kind / task_id) as a card with one-click decisions. Used inline by the playground and by the queue.
//
// A confirmation (`kind: "confirmation"`, the workflow's `confirm` tools) is a statement to put to the
// requester; the reviewer relays the answer: approve = the requester said yes, reject = no, respond = their words
// (an explicit yes counts as approve).
//
// The card answers with `{"decisions": [...]}`, one decision per action request, in order:
//   {"type": "approve"} | {"type": "edit", "edited_action": {"name", "args"}}
//   {"type": "reject", "message"} | {"type": "response", "message"}

import { argsTable, h, clear, pill } from "./common.js";

const LABELS = { approve: "Approve", edit: "Edit", reject: "Reject", response: "Respond" };
const CONFIRM_LABELS = { approve: "Approve (they said yes)", reject: "Reject (they said no)", response: "Their reply" };

export function reviewKind(value) {
  if (value?.kind === "escalation") return { key: "escalated", label: `Escalation${value.escalation_kind ? `: ${value.escalation_kind}` : ""}` };
  if (value?.kind === "confirmation") return { key: "confirmation", label: "Confirm with the requester" };
  return { key: "approval", label: "Approval needed" };
}

/** The policy's reason from an approval's description ("<reason>. Task t2: <task>"). */
export function splitDescription(description = "") {
  const match = description.match(/^(.*?)\.\s+Task (\S+): (.*)$/s);
  return match ? { reason: match[1], taskId: match[2], task: match[3] } : { reason: description, taskId: null, task: null };
}

/**
 * @param {{id: string, value: object}} interrupt
 * @param {{onDecide: (payload: object, summary: string) => Promise<void>, header?: Node[], context?: Node}} options
 *   `onDecide` resumes the run; while it runs the card is busy; a rejection shows its error in the card.
 */
export function reviewCard(interrupt, { onDecide, header = [], context = null, headline } = {}) {
  const value = interrupt.value || {};
  const actions = value.action_requests || [];
  const configs = value.review_configs || [];
  const kind = reviewKind(value);
  const decisions = new Array(actions.length).fill(null);
  const errorBox = h("div.field-error", { role: "alert" });
  const outcome = h("div.review-outcome.hidden", { "aria-live": "polite" });
  const card = h("article.review", { dataset: { interrupt: interrupt.id }, "aria-label": `Review ${actions.map((a) => a.name).join(", ")}` });

  async function submit() {
    const payload = { decisions: decisions.map((d) => d.decision) };
    const summary = decisions.map((d) => d.summary).join("; ");
    card.querySelectorAll("button, input, textarea").forEach((el) => { el.disabled = true; });
    errorBox.textContent = "";
    setOutcome(h("span", h("span.spinner"), ` ${summary}: resuming the run…`));
    try {
      await onDecide(payload, summary);
    } catch (error) {
      card.querySelectorAll("button, input, textarea").forEach((el) => { el.disabled = false; });
      decisions.fill(null);
      outcome.classList.add("hidden");
      errorBox.textContent = `Could not send the decision: ${error.message || error}`;
    }
  }

  function setOutcome(...nodes) {
    outcome.classList.remove("hidden");
    clear(outcome, ...nodes);
  }

  function decide(index, decision, summary) {
    decisions[index] = { decision, summary };
    const row = card.querySelectorAll(".action")[index];
    row?.querySelector(".decided-note")?.remove();
    if (decisions.some((d) => d === null)) {
      row?.append(h("div.decided-note.small.muted", `Decided: ${summary}. ${decisions.filter((d) => !d).length} left.`));
      return;
    }
    submit();
  }

  const body = h("div.review-body");
  if (value.error) body.append(h("div.banner.warn", h("div.banner-body", h("strong", "The last answer was refused"), value.error)));
  if (context) body.append(context);
  const actionsBox = h("div.actions-box", { style: "display:grid; gap:12px" });
  actions.forEach((action, index) => {
    const allowed = configs[index]?.allowed_decisions || ["approve", "reject"];
    actionsBox.append(actionBlock(action, allowed, value, (decision, summary) => decide(index, decision, summary)));
  });
  body.append(actionsBox, errorBox);

  card.append(
    h("header.review-head", pill(kind.key, kind.label), value.task_id ? h("span.task-tag", value.task_id) : null,
      h("span.grow", headline ?? ""), ...header),
    body, outcome);
  card.setOutcome = setOutcome;
  card.markDecided = () => card.classList.add("decided");
  return card;
}

function actionBlock(action, allowed, value, decide) {
  const isEscalation = value.kind === "escalation";
  const isConfirmation = value.kind === "confirmation";
  const args = action.args || {};
  const block = h("section.action");
  const described = splitDescription(action.description || "");
  if (isEscalation) {
    block.append(
      h("div.why", h("strong", "Why: "), args.reason || action.description || "escalated"),
      args.task ? h("div.small", h("span.muted", "Task: "), args.task_id ? h("span.task-tag", args.task_id + " ") : null, args.task) : null,
      listSection("What was done", args.what_was_done),
      listSection("What was seen", args.what_was_seen),
      args.errors?.length ? listSection("Errors", args.errors.map((e) => `${e.tool}: ${(e.errors || []).join("; ")}`)) : null,
      args.result ? h("div", h("h3", "Result so far"), h("pre.small", args.result))
        : !allowed.includes("approve") ? h("div.small.muted", "The task has no result to approve: edit it to give "
          + "the result, respond to send it back to its worker with guidance, or reject.") : null,
    );
  } else if (isConfirmation) {
    block.append(
      h("div", h("span.muted.small", "Confirm with the requester  "), h("span.action-name", action.name)),
      h("blockquote.request-quote.statement", action.description || `Run ${action.name} with these arguments?`),
      argsTable(args),
      h("div.small.muted", "Put this to the requester. Approve if they said yes, reject if they said no, or give their reply."),
    );
  } else {
    block.append(
      h("div", h("span.muted.small", "Proposed action  "), h("span.action-name", action.name)),
      argsTable(args),
      h("div.why", h("strong", "Policy: "), described.reason || "needs a human's approval"),
      described.task ? h("div.small.muted", `Task ${described.taskId}: ${described.task}`) : null,
    );
  }
  const buttons = h("div.decide");
  const form = h("div.decide-form.hidden");
  const show = (nodes) => { clear(form, ...nodes); form.classList.remove("hidden"); form.querySelector("textarea, input")?.focus(); };

  for (const type of ["approve", "edit", "reject", "response"].filter((t) => allowed.includes(t))) {
    const button = h("button", { type: "button", class: buttonClass(type), dataset: { decision: type } },
      (isConfirmation ? CONFIRM_LABELS : LABELS)[type]);
    button.addEventListener("click", () => {
      if (type === "approve") return decide({ type: "approve" }, isConfirmation ? `the requester confirmed ${action.name}` : `approved ${action.name}`);
      if (type === "edit") return show(editForm(action, isEscalation, decide, () => form.classList.add("hidden")));
      return show(messageForm(type, action, decide, () => form.classList.add("hidden"), isConfirmation));
    });
    buttons.append(button);
  }
  block.append(buttons, form);
  return block;
}

function buttonClass(type) {
  return { approve: "btn-approve", reject: "btn-danger", edit: "", response: "" }[type];
}

function listSection(title, items) {
  if (!items || !items.length) return null;
  return h("div", h("h3", title), h("ul.bullets", items.map((item) => h("li", typeof item === "string" ? item : JSON.stringify(item)))));
}

function editForm(action, isEscalation, decide, cancel) {
  const initial = isEscalation ? { result: action.args?.result ?? "" } : action.args || {};
  const editor = h("textarea.json", { spellcheck: false, "aria-label": "Edited arguments (JSON)", rows: 8 });
  editor.value = JSON.stringify(initial, null, 2);
  const problem = h("div.field-error");
  const save = h("button.btn-primary", { type: "button" }, isEscalation ? "Save result" : "Approve with these arguments");
  const parse = () => {
    try {
      const parsed = JSON.parse(editor.value);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("the arguments must be a JSON object");
      problem.textContent = "";
      save.disabled = false;
      return parsed;
    } catch (error) {
      problem.textContent = `Invalid JSON: ${error.message}`;
      save.disabled = true;
      return null;
    }
  };
  editor.addEventListener("input", parse);
  const send = () => {
    const args = parse();
    if (args) decide({ type: "edit", edited_action: { name: action.name, args } }, `edited ${action.name}`);
  };
  editor.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); send(); } });
  save.addEventListener("click", send);
  return [
    h("label.field", isEscalation ? "The task's result (JSON)" : `Arguments for ${action.name} (JSON)`, editor),
    problem,
    h("div.row", save, h("button.btn-ghost", { type: "button", onclick: cancel }, "Cancel"), h("span.tiny.muted", "Ctrl+Enter saves")),
  ];
}

function messageForm(type, action, decide, cancel, isConfirmation = false) {
  const reject = type === "reject";
  const placeholder = isConfirmation
    ? (reject ? "What the requester said (optional)" : "The requester's reply, in their words (an explicit yes confirms)")
    : (reject ? "Why not? (optional, the run and its memory keep it)" : "Your guidance for the worker");
  const input = h("input", {
    type: "text",
    placeholder,
    "aria-label": reject ? "Reason for rejecting" : isConfirmation ? "The requester's reply" : "Response",
  });
  const problem = h("div.field-error");
  const confirm = h("button", { type: "button", class: reject ? "btn-danger" : "btn-primary" },
    reject ? "Reject" : isConfirmation ? "Send their reply" : "Send response");
  const send = () => {
    const message = input.value.trim();
    if (!reject && !message) { problem.textContent = "A response needs a message."; return; }
    decide({ type, message }, reject ? `rejected ${action.name}${message ? ` (${message})` : ""}`
      : isConfirmation ? `the requester replied: ${message}` : `responded: ${message}`);
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); send(); }
    if (e.key === "Escape") cancel();
  });
  confirm.addEventListener("click", send);
  return [h("div.row", input, confirm, h("button.btn-ghost", { type: "button", onclick: cancel }, "Cancel")), problem];
}
