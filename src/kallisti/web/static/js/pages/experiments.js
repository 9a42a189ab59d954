// The experiments list: search by text, filter by metadata labels.

import { get } from "../api.js";
import { fill, h, timeElement } from "../dom.js";
import { fragmentWith } from "../nav.js";
import { can } from "../session.js";

/** "team=payments env=prod" → [["team","payments"],["env","prod"]]; a bare word matches a key. */
function parseLabels(text) {
  return text.split(/[\s,]+/).filter(Boolean).map((part) => {
    const at = part.indexOf("=");
    return at < 0 ? [part, null] : [part.slice(0, at), part.slice(at + 1)];
  });
}

function matches(experiment, words, labels) {
  const haystack = [experiment.name, experiment.description || "", experiment.id,
    ...experiment.steps.map((s) => `${s.step} ${s.do}`)].join(" ").toLowerCase();
  if (!words.every((word) => haystack.includes(word))) return false;
  return labels.every(([key, value]) => {
    if (!(key in experiment.metadata)) return false;
    return value === null || String(experiment.metadata[key]) === value;
  });
}

function metadataList(metadata) {
  const entries = Object.entries(metadata);
  if (!entries.length) return "—";
  return h("ul", { class: "labels" }, entries.map(([key, value]) =>
    h("li", { text: `${key}=${typeof value === "string" ? value : JSON.stringify(value)}` })));
}

export async function experimentsPage(main, { query }) {
  const experiments = await get("/experiment");
  const search = h("input", { id: "experiment-search", type: "search", value: query.get("q") || "", autocomplete: "off" });
  const labels = h("input", { id: "experiment-labels", type: "text", value: query.get("labels") || "", placeholder: "team=payments", autocomplete: "off", "aria-describedby": "labels-help" });
  const count = h("p", { class: "count", role: "status" });
  const body = h("tbody");

  function render() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const wanted = parseLabels(labels.value);
    const shown = experiments.filter((e) => matches(e, words, wanted)).reverse();
    count.textContent = `${shown.length} of ${experiments.length} experiments`;
    fill(body, shown.map((experiment) => h("tr", {},
      h("td", {}, h("a", { href: `#/experiments/${experiment.id}`, text: experiment.name })),
      h("td", { text: experiment.description || "" }),
      h("td", {}, metadataList(experiment.metadata)),
      h("td", { class: "number", text: experiment.pre_steps.length + experiment.steps.length + experiment.post_steps.length }),
      h("td", {}, timeElement(experiment.created_at)),
    )));
    const fragment = fragmentWith("#/experiments", { q: search.value, labels: labels.value });
    history.replaceState(null, "", fragment);
  }
  search.addEventListener("input", render);
  labels.addEventListener("input", render);

  fill(main,
    h("div", { class: "page-head" },
      h("h1", { text: "Experiments" }),
      can("edit") ? h("a", { class: "button primary", href: "#/experiments/new", text: "New experiment" }) : null),
    h("form", { class: "filters", role: "search", "aria-label": "Filter experiments", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "experiment-search", text: "Search" }), search),
      h("div", { class: "field" }, h("label", { for: "experiment-labels", text: "Metadata labels" }), labels,
        h("small", { id: "labels-help", text: "key=value pairs separated by spaces; a bare key matches any value." }))),
    count,
    h("table", { class: "list" },
      h("caption", { class: "visually-hidden", text: "Experiments, newest first" }),
      h("thead", {}, h("tr", {},
        ["Name", "Description", "Metadata", "Steps", "Created"].map((t) => h("th", { scope: "col", text: t })))),
      body));
  render();
}
