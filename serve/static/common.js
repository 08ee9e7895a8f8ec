// Shared by the three pages: the LangGraph server API client (JSON and SSE over fetch), DOM and
// formatting helpers, error banners and the top bar (server status, review-queue badge).

/** Where the LangGraph server's API is: the directory the page is served from (so a server mounted
 *  under a prefix works), or `?api=<url>` to point the page at another server (CORS permitting). */
export function apiBase() {
  const override = new URLSearchParams(location.search).get("api");
  const base = override || new URL(".", location.href).href;
  return base.endsWith("/") ? base : base + "/";
}

export class ApiError extends Error {
  constructor(status, statusText, body, url) {
    super(ApiError.describe(status, statusText, body));
    this.status = status;
    this.body = body;
    this.url = url;
  }

  static describe(status, statusText, body) {
    if (status === 0) return "the server could not be reached";
    let detail = body;
    if (body && typeof body === "object") detail = body.detail ?? body.message ?? body.error ?? JSON.stringify(body);
    if (detail && typeof detail === "object") detail = JSON.stringify(detail);
    return `${status} ${statusText || ""}`.trim() + (detail ? `: ${detail}` : "");
  }

  static async from(response) {
    const text = await response.text().catch(() => "");
    let body = text;
    try { body = text ? JSON.parse(text) : ""; } catch { /* keep the text */ }
    return new ApiError(response.status, response.statusText, body, response.url);
  }
}

/** A small client for the LangGraph server API (threads, runs, streams) and our /api routes. */
export class Api {
  constructor(base = apiBase()) { this.base = base; }

  url(path) { return new URL(path.replace(/^\//, ""), this.base).href; }

  async request(method, path, body, { signal } = {}) {
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "", String(error.message || error), this.url(path));
    }
    if (!response.ok) throw await ApiError.from(response);
    if (response.status === 204) return null;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  get(path, opts) { return this.request("GET", path, undefined, opts); }
  post(path, body, opts) { return this.request("POST", path, body ?? {}, opts); }

  /** POST `body` to an SSE endpoint and yield `{event, data, id}` as events arrive. */
  async *stream(path, body, { signal, method = "POST" } = {}) {
    let response;
    try {
      response = await fetch(this.url(path), {
        method,
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: method === "GET" ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "", String(error.message || error), this.url(path));
    }
    if (!response.ok) throw await ApiError.from(response);
    yield* parseSse(response.body, signal);
  }

  // --- the LangGraph server API, as the pages use it ---
  assistants() { return this.post("assistants/search", { limit: 100, sort_by: "name", sort_order: "asc" }); }
  threads(query = {}) {
    return this.post("threads/search", { limit: 50, sort_by: "updated_at", sort_order: "desc", ...query });
  }
  thread(id) { return this.get(`threads/${id}`); }
  createThread(metadata = {}) { return this.post("threads", { metadata }); }
  state(id) { return this.get(`threads/${id}/state`); }
  history(id, limit = 50) { return this.post(`threads/${id}/history`, { limit }); }
  runs(id, status) { return this.get(`threads/${id}/runs?limit=5${status ? `&status=${status}` : ""}`); }
  cancel(threadId, runId) { return this.post(`threads/${threadId}/runs/${runId}/cancel`, {}); }
  streamRun(threadId, payload, opts) { return this.stream(`threads/${threadId}/runs/stream`, payload, opts); }
  joinRun(threadId, runId, opts) {
    return this.stream(`threads/${threadId}/runs/${runId}/stream`, undefined, { ...opts, method: "GET" });
  }
}

/** Parse a `text/event-stream` body (either line ending) into `{event, data, id}`; `data` is JSON when it parses. */
export async function* parseSse(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const onAbort = () => reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // a "\r" at the end may be the first half of "\r\n": keep it for the next chunk
      const keep = buffer.endsWith("\r") ? "\r" : "";
      let text = (keep ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = text.indexOf("\n\n")) >= 0) {
        const block = text.slice(0, cut);
        text = text.slice(cut + 2);
        const parsed = parseBlock(block);
        if (parsed) yield parsed;
      }
      buffer = text + keep;
    }
    const last = parseBlock(buffer.replace(/\r\n?/g, "\n").trim());
    if (last) yield last;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

function parseBlock(block) {
  if (!block) return null;
  let event = "message", id = null;
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  if (!data.length) return null;
  const raw = data.join("\n");
  let parsed = raw;
  try { parsed = JSON.parse(raw); } catch { /* not JSON */ }
  return { event, data: parsed, id };
}

// ---------------------------------------------------------------- DOM helpers

/** `h("div.card#main", {onclick, title}, child, "text", [more])`: an element. */
export function h(spec, props, ...children) {
  const [, tag = "div", id, classes] = spec.match(/^([a-z0-9-]+)?(?:#([\w-]+))?((?:\.[\w-]+)*)$/i) || [];
  const el = document.createElement(tag);
  if (id) el.id = id;
  if (classes) el.className = classes.split(".").filter(Boolean).join(" ");
  if (props && (typeof props !== "object" || props instanceof Node || Array.isArray(props))) {
    children.unshift(props);
    props = null;
  }
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = [el.className, value].filter(Boolean).join(" ");
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function pill(status, label) {
  const key = String(status || "unknown").toLowerCase().replace(/[^a-z_-]/g, "");
  return h("span.pill", { class: `st-${key}` }, label ?? status ?? "unknown");
}

export function emptyState(icon, title, text, ...extra) {
  return h("div.empty", h("div.empty-icon", icon), h("h2", title), text ? h("p.muted", { style: "margin:0" }, text) : null,
    ...extra);
}

// ---------------------------------------------------------------- formatting

/** A thread id for display: its last 8 characters (server ids are UUIDv7, whose first ones are a timestamp). */
export const shortId = (id) => (id ? String(id).slice(-8) : "");

export function money(usd, digits) {
  if (usd === null || usd === undefined || Number.isNaN(usd)) return "–";
  const d = digits ?? (usd !== 0 && Math.abs(usd) < 0.01 ? 4 : 2);
  return `$${Number(usd).toFixed(d)}`;
}

export function num(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function pct(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const p = value * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)}%`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  if (m < 60) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export function toDate(value) {
  if (value === null || value === undefined) return null;
  return typeof value === "number" ? new Date(value * 1000) : new Date(value);
}

export function ago(value) {
  const date = toDate(value);
  if (!date || Number.isNaN(date.getTime())) return "";
  const s = Math.max(0, (Date.now() - date.getTime()) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 7) return `${Math.round(s / 86400)} d ago`;
  return date.toLocaleDateString();
}

export function clock(value) {
  const date = toDate(value);
  return date ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

export function stamp(value) {
  const date = toDate(value);
  return date ? date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "";
}

export function brief(value, max = 80) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

/** Pretty JSON for a tool result that is a JSON string (one line with `compact`), else the text itself. */
export function prettyResult(text, compact = false) {
  if (typeof text !== "string") return JSON.stringify(text, null, compact ? 0 : 2);
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try { return JSON.stringify(JSON.parse(trimmed), null, compact ? 0 : 2); } catch { /* not JSON */ }
  }
  return text;
}

/** What a tool call returned, from an action record's summary ("tool(args) -> outcome: observation"). */
export function observationOf(summary = "") {
  const [, rest = summary] = summary.split(/ -> (.*)/s);
  return rest.replace(/^\w+: /, "");
}

/** Argument chips: `key=value` for each argument. */
export function argChips(args) {
  return h("span.args", Object.entries(args || {}).map(([k, v]) =>
    h("span.arg", { title: `${k} = ${typeof v === "string" ? v : JSON.stringify(v)}` }, h("b", k), "=",
      brief(typeof v === "string" ? v : JSON.stringify(v), 60))));
}

export function argsTable(args) {
  const entries = Object.entries(args || {});
  if (!entries.length) return h("p.muted.small", "(no arguments)");
  return h("table.args-table", h("tbody", entries.map(([k, v]) =>
    h("tr", h("th", k), h("td", typeof v === "string" ? v : JSON.stringify(v, null, 1))))));
}

/** The request a thread's state answers: `values.request`, else its latest human message. */
export function requestOf(values) {
  if (!values) return "";
  if (values.request) return values.request;
  const humans = (values.messages || []).filter((m) => m.type === "human");
  const last = humans[humans.length - 1];
  return last ? textOf(last.content) : "";
}

export function textOf(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === "string" ? p : p.text || "")).join("");
  return "";
}

// ---------------------------------------------------------------- banners and the top bar

/** Show an error (an `ApiError` shows its status and body) in `container`; returns a remover. */
export function showBanner(container, message, { kind = "error", detail, title, key } = {}) {
  if (key) container.querySelector(`[data-key="${key}"]`)?.remove();
  const el = h("div.banner", { class: kind, role: kind === "error" ? "alert" : "status", dataset: key ? { key } : undefined },
    h("div.banner-body", title ? h("strong", title) : null, h("span", message), detail ? h("pre", detail) : null),
    h("button", { title: "Dismiss", "aria-label": "Dismiss", onclick: () => el.remove() }, "×"));
  container.append(el);
  return () => el.remove();
}

export function showError(container, error, title, key) {
  if (error?.name === "AbortError") return () => {};
  if (error instanceof ApiError) {
    const detail = error.body && typeof error.body === "object" ? JSON.stringify(error.body, null, 2) : null;
    const what = error.status === 0 ? "Server unreachable" : `The server answered ${error.status}`;
    return showBanner(container, error.status === 0 ? `Could not reach ${error.url}. Is the server running?` : error.message,
      { title: title || what, detail, key });
  }
  console.error(error);
  return showBanner(container, String(error?.message || error), { title: title || "Something went wrong", key });
}

/** Keep the top bar's server indicator and review-queue badge current. */
export function startTopbar(api, { onStatus } = {}) {
  const dot = document.querySelector("#server-dot");
  const label = document.querySelector("#server-label");
  const badge = document.querySelector("#review-count");
  let up = null;
  async function tick() {
    try {
      await api.get("ok");
      const waiting = await api.threads({ status: "interrupted", limit: 100, select: ["thread_id"] });
      badge.textContent = String(waiting.length);
      badge.classList.toggle("hidden", waiting.length === 0);
      if (up !== true) { dot.className = "dot ok"; label.textContent = "Connected"; onStatus?.(true); }
      up = true;
    } catch (error) {
      if (up !== false) {
        dot.className = "dot err";
        label.textContent = "Server unreachable";
        onStatus?.(false, error);
      }
      up = false;
    }
  }
  tick();
  const timer = setInterval(tick, 10000);
  return { refresh: tick, stop: () => clearInterval(timer) };
}

export function storage(key, fallback) {
  try {
    const raw = localStorage.getItem(`taskwarden.${key}`);
    return raw === null ? fallback : JSON.parse(raw);
  } catch { return fallback; }
}

export function store(key, value) {
  try { localStorage.setItem(`taskwarden.${key}`, JSON.stringify(value)); } catch { /* private mode */ }
}
