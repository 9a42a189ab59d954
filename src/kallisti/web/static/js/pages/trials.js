// The trials list: newest first, filtered by status and experiment, in pages.

import { experimentIndex, newestTrials, put } from "../api.js";
import {
  ACTIVE, STATUSES, announce, fill, formatDuration, h, shortId,
  statusBadge, timeElement, trialDuration,
} from "../dom.js";
import { fragmentWith, navigate } from "../nav.js";
import { can } from "../session.js";

const PAGE_SIZE = 20;

export function stopButton(trial, after) {
  if (!can("operate") || !ACTIVE.includes(trial.status) || trial.status === "Stop Initiated") return null;
  return h("button", {
    type: "button", class: "button danger small", text: "Stop",
    "aria-label": `Stop trial ${shortId(trial.id)}`,
    onclick: async (event) => {
      event.currentTarget.disabled = true;
      try {
        await put(`/trial/${trial.id}/stop`);
        announce("Stop requested");
      } catch (error) {
        announce(`Stop refused: ${error.message}`);
      }
      after();
    },
  });
}

export function trialRows(trials, experiments, after) {
  return trials.map((trial) => {
    const experiment = experiments.get(trial.experiment);
    return h("tr", {},
      h("td", {}, h("a", { href: `#/trials/${trial.id}`, text: shortId(trial.id) }), trial.dry_run ? " (dry run)" : ""),
      h("td", {}, experiment
        ? h("a", { href: `#/experiments/${trial.experiment}`, text: experiment.name })
        : h("span", { text: `${shortId(trial.experiment)} (deleted)` })),
      h("td", {}, statusBadge(trial.status)),
      h("td", {}, timeElement(trial.executed_at || trial.created_at)),
      h("td", { text: formatDuration(trialDuration(trial)) }),
      h("td", { text: `${trial.initiated_by} (${trial.initiated_from})` }),
      h("td", {}, stopButton(trial, after)));
  });
}

export function trialTable(caption, rows) {
  return h("table", { class: "list" },
    h("caption", { class: caption.hidden ? "visually-hidden" : "", text: caption.text }),
    h("thead", {}, h("tr", {}, ["Trial", "Experiment", "Status", "Started", "Duration", "Initiated by", "Actions"]
      .map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows));
}

export async function trialsPage(main, { query }) {
  const status = query.get("status") || "";
  const experimentId = query.get("experiment") || "";
  const page = Math.max(1, Number(query.get("page")) || 1);
  const experiments = await experimentIndex(true);
  const filter = { status, experiment: experimentId };
  const { trials, total } = await newestTrials(filter, PAGE_SIZE, (page - 1) * PAGE_SIZE);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const go = (changes) => navigate(fragmentWith("#/trials", { status, experiment: experimentId, page, ...changes }));

  const statusSelect = h("select", { id: "trial-status", onchange: (e) => go({ status: e.target.value, page: 1 }) },
    h("option", { value: "", text: "Any status" }),
    STATUSES.map((s) => h("option", { value: s, text: s, selected: s === status })));
  const experimentSelect = h("select", { id: "trial-experiment", onchange: (e) => go({ experiment: e.target.value, page: 1 }) },
    h("option", { value: "", text: "Any experiment" }),
    [...experiments.values()].map((e) => h("option", { value: e.id, text: e.name, selected: e.id === experimentId })));

  fill(main,
    h("h1", { text: "Trials" }),
    h("form", { class: "filters", "aria-label": "Filter trials", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field" }, h("label", { for: "trial-status", text: "Status" }), statusSelect),
      h("div", { class: "field" }, h("label", { for: "trial-experiment", text: "Experiment" }), experimentSelect)),
    h("p", { class: "count", role: "status", text: `${total} trial${total === 1 ? "" : "s"}` }),
    trialTable({ text: "Trials, newest first", hidden: true }, trialRows(trials, experiments, () => go({}))),
    h("nav", { class: "pager", "aria-label": "Pages of trials" },
      h("button", { type: "button", class: "button", text: "Newer", disabled: page <= 1, onclick: () => go({ page: page - 1 }) }),
      h("span", { text: `Page ${page} of ${pages}` }),
      h("button", { type: "button", class: "button", text: "Older", disabled: page >= pages, onclick: () => go({ page: page + 1 }) })));
}
