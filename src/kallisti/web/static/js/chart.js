// Pictures: the history of an experiment's trials (when, how long, how it
// ended) as an SVG chart, with the same facts in a table for screen readers.

import { formatDuration, h, trialDuration } from "./dom.js";

const WIDTH = 720;
const HEIGHT = 220;
const MARGIN = { top: 16, right: 16, bottom: 36, left: 64 };

// Each status has a colour and a shape, so colour is never the only clue.
export const STATUS_STYLE = {
  Succeeded: { colour: "#15803d", shape: "circle" },
  Failed: { colour: "#b91c1c", shape: "cross" },
  Aborted: { colour: "#9a3412", shape: "cross" },
  Invalid: { colour: "#6b21a8", shape: "square" },
  Stopped: { colour: "#4b5563", shape: "square" },
  "In Progress": { colour: "#1d4ed8", shape: "diamond" },
  "Stop Initiated": { colour: "#1d4ed8", shape: "diamond" },
  Scheduled: { colour: "#1d4ed8", shape: "diamond" },
};

function mark(shape, x, y, colour) {
  const size = 6;
  if (shape === "circle") return h("circle", { cx: x, cy: y, r: size, fill: colour });
  if (shape === "square") return h("rect", { x: x - size, y: y - size, width: size * 2, height: size * 2, fill: colour });
  if (shape === "diamond") {
    return h("path", { d: `M${x} ${y - size - 1}L${x + size + 1} ${y}L${x} ${y + size + 1}L${x - size - 1} ${y}Z`, fill: colour });
  }
  return h("path", {
    d: `M${x - size} ${y - size}L${x + size} ${y + size}M${x + size} ${y - size}L${x - size} ${y + size}`,
    stroke: colour, "stroke-width": 3,
  });
}

/** A <figure> charting `trials` (status and duration over time). */
export function trialHistoryChart(trials, captionText) {
  const captionId = `chart-${Math.random().toString(36).slice(2)}`;
  const figure = h("figure", { class: "chart" });
  const points = trials
    .map((trial) => ({ trial, when: Date.parse(trial.executed_at || trial.created_at), seconds: trialDuration(trial) ?? 0 }))
    .sort((a, b) => a.when - b.when);
  const counts = {};
  for (const { trial } of points) counts[trial.status] = (counts[trial.status] || 0) + 1;
  const summary = Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(", ");
  const caption = h("figcaption", { id: captionId, text: `${captionText}: ${points.length ? summary : "no trials yet"}.` });
  if (!points.length) {
    figure.append(caption);
    return figure;
  }
  const first = points[0].when;
  const last = points[points.length - 1].when;
  const span = Math.max(last - first, 1);
  const maxSeconds = Math.max(...points.map((p) => p.seconds), 1);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (when) => MARGIN.left + (points.length === 1 ? plotWidth / 2 : ((when - first) / span) * plotWidth);
  const y = (seconds) => MARGIN.top + plotHeight - (seconds / maxSeconds) * plotHeight;

  const svg = h("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": captionId, class: "chart-svg",
  });
  svg.append(
    h("line", { x1: MARGIN.left, y1: MARGIN.top + plotHeight, x2: WIDTH - MARGIN.right, y2: MARGIN.top + plotHeight, stroke: "#6b7280" }),
    h("line", { x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: MARGIN.top + plotHeight, stroke: "#6b7280" }),
    h("text", { x: MARGIN.left - 8, y: MARGIN.top + 4, "text-anchor": "end", class: "axis", text: formatDuration(maxSeconds) }),
    h("text", { x: MARGIN.left - 8, y: MARGIN.top + plotHeight, "text-anchor": "end", class: "axis", text: "0 s" }),
    h("text", { x: MARGIN.left, y: HEIGHT - 8, class: "axis", text: new Date(first).toLocaleString() }),
    h("text", { x: WIDTH - MARGIN.right, y: HEIGHT - 8, "text-anchor": "end", class: "axis", text: new Date(last).toLocaleString() }),
  );
  for (const point of points) {
    const style = STATUS_STYLE[point.trial.status] || STATUS_STYLE.Stopped;
    const group = h("g", { class: "chart-point" },
      h("title", { text: `${point.trial.status}, ${formatDuration(point.seconds)}, ${new Date(point.when).toLocaleString()}` }),
      mark(style.shape, x(point.when), y(point.seconds), style.colour));
    svg.append(group);
  }
  const legend = h("ul", { class: "legend" },
    Object.keys(counts).map((status) => {
      const style = STATUS_STYLE[status] || STATUS_STYLE.Stopped;
      return h("li", {},
        h("svg", { viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true" }, mark(style.shape, 8, 8, style.colour)),
        ` ${status} (${counts[status]})`);
    }));
  figure.append(svg, legend, caption);
  return figure;
}
