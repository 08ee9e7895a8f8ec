// Small inline-SVG charts (no library): stacked bars and lines over labelled bands, with gridlines,
// thinned x labels, <title> tooltips, and colours from CSS classes (`c-<key>`), so dark mode just works.

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const M = { top: 12, right: 14, bottom: 26, left: 52 };

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Round axis ticks from 0 to at least `max`. */
export function niceTicks(max, count = 4, integer = false) {
  if (!(max > 0)) return integer ? { top: 4, ticks: [0, 1, 2, 3, 4] } : { top: 1, ticks: [0, 0.25, 0.5, 0.75, 1] };
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((x) => x >= raw);
  if (integer) step = Math.max(1, Math.ceil(step));
  const top = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { top, ticks };
}

function frame({ labels, height, top, ticks, format, empty }) {
  const plotW = W - M.left - M.right;
  const plotH = height - M.top - M.bottom;
  const band = plotW / Math.max(1, labels.length);
  const y = (v) => M.top + plotH - (v / top) * plotH;
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img", preserveAspectRatio: "xMidYMid meet" });
  const grid = s("g", { class: "grid" });
  for (const t of ticks) {
    grid.append(s("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t) }),
      s("text", { x: M.left - 8, y: y(t) + 4, "text-anchor": "end" }, format(t)));
  }
  const every = Math.ceil(labels.length / 8);
  const xs = s("g", { class: "x-labels" });
  labels.forEach((label, i) => {
    // thin the labels from the right, so the latest band is always labelled
    if ((labels.length - 1 - i) % every === 0) {
      xs.append(s("text", { x: M.left + band * (i + 0.5), y: height - 8, "text-anchor": "middle" }, label));
    }
  });
  svg.append(grid, xs, s("line", { class: "axis", x1: M.left, x2: W - M.right, y1: y(0), y2: y(0) }));
  if (empty) svg.append(s("text", { x: M.left + plotW / 2, y: M.top + plotH / 2, "text-anchor": "middle", class: "no-data" }, "No runs in this window"));
  return { svg, band, y, plotH };
}

/**
 * Bars per label, stacked (default) or side by side.
 * @param {{labels: string[], series: {key: string, label: string, values: (number|null)[]}[], stacked?: boolean,
 *          height?: number, format?: (v: number) => string, title?: string, integer?: boolean}} spec
 *   `integer`: counts, so the axis ticks are whole numbers.
 */
export function barChart({ labels, series, stacked = true, height = 220, format = String, title = "", integer = false }) {
  const totals = labels.map((_, i) => (stacked
    ? series.reduce((sum, se) => sum + (se.values[i] || 0), 0)
    : Math.max(0, ...series.map((se) => se.values[i] || 0))));
  const max = Math.max(0, ...totals);
  const { top, ticks } = niceTicks(max, 4, integer);
  const { svg, band, y } = frame({ labels, height, top, ticks, format, empty: max === 0 });
  svg.setAttribute("aria-label", title);
  const gap = Math.min(8, band * 0.25);
  const full = Math.min(band - gap, 56);  // a lone band does not become one wall of colour
  const width = stacked ? full : full / series.length;
  labels.forEach((label, i) => {
    let base = 0;
    series.forEach((se, j) => {
      const v = se.values[i] || 0;
      if (!v) return;
      const x = M.left + band * i + (band - full) / 2 + (stacked ? 0 : j * width);
      const y0 = stacked ? base : 0;
      const rect = s("rect", {
        class: `bar c-${se.key}`, x: x.toFixed(1), y: y(y0 + v).toFixed(1), width: Math.max(1, width).toFixed(1),
        height: Math.max(0.5, y(y0) - y(y0 + v)).toFixed(1), rx: 2,
      }, s("title", `${label} · ${se.label}: ${format(v)}`));
      svg.append(rect);
      if (stacked) base += v;
    });
  });
  return svg;
}

/** Lines per series over the labels; null values leave gaps. */
export function lineChart({ labels, series, height = 220, format = String, max: fixedMax, title = "" }) {
  const values = series.flatMap((se) => se.values.filter((v) => v !== null && v !== undefined));
  const max = fixedMax ?? Math.max(0, ...values);
  const { top, ticks } = niceTicks(max);
  const { svg, band, y } = frame({ labels, height, top, ticks, format, empty: values.length === 0 });
  svg.setAttribute("aria-label", title);
  const x = (i) => M.left + band * (i + 0.5);
  for (const se of series) {
    let d = "";
    let pen = false;
    se.values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) svg.append(s("path", { class: `line c-${se.key}`, d }));
    se.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      svg.append(s("circle", { class: `pt c-${se.key}`, cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 3.2 },
        s("title", `${labels[i]} · ${se.label}: ${format(v)}`)));
    });
  }
  return svg;
}

/** An HTML legend for `series` ({key, label}). */
export function legend(series) {
  const box = document.createElement("div");
  box.className = "legend";
  for (const se of series) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.className = `c-${se.key}`;
    item.append(swatch, se.label);
    box.append(item);
  }
  return box;
}
