// One experiment: what it does, run it (or dry-run it) with parameter
// overrides, the history of its trials, its schedules; edit or delete it.

import { del, get, newestTrials, post } from "../api.js";
import { trialHistoryChart } from "../chart.js";
import {
  announce, confirmDialog, errorMessage, fill, formatDuration, h, section,
  shortId, statusBadge, timeElement, trialDuration,
} from "../dom.js";
import { navigate } from "../nav.js";
import { can } from "../session.js";
import { readingOf } from "./schedules.js";
import { targetsTable } from "../targets.js";

const HISTORY_SIZE = 200;

function stepList(title, steps) {
  if (!steps.length) return null;
  return h("div", { class: "steps" },
    h("h3", { text: title }),
    h("ol", {}, steps.map((step) => h("li", {},
      h("strong", { text: step.step || step.do }), " ", h("code", { text: step.do })))));
}

/** The value typed for a parameter, as the type the experiment gave it. */
function parameterValue(original, text) {
  if (typeof original === "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function runForm(experiment) {
  const names = Object.keys(experiment.parameters);
  const inputs = new Map();
  const rows = names.map((name, index) => {
    const original = experiment.parameters[name];
    const id = `parameter-${index}`;
    const input = h("input", {
      id, type: "text", autocomplete: "off",
      value: typeof original === "string" ? original : JSON.stringify(original),
    });
    inputs.set(name, input);
    return h("div", { class: "field" }, h("label", { for: id, text: name }), input);
  });
  const extra = h("textarea", { id: "extra-parameters", rows: 2, spellcheck: "false", "aria-describedby": "extra-help" }, "{}");
  const outcome = h("div", { class: "outcome" });

  const touched = h("div", { class: "touched" });

  function typedParameters() {
    const parameters = {};
    for (const [name, input] of inputs) parameters[name] = parameterValue(experiment.parameters[name], input.value);
    try {
      Object.assign(parameters, JSON.parse(extra.value || "{}"));
    } catch (error) {
      fill(outcome, errorMessage({ message: `more parameters are not JSON: ${error.message}`, errors: [] }, "Cannot start"));
      extra.focus();
      return null;
    }
    return parameters;
  }

  async function showTargets() {
    const parameters = typedParameters();
    if (parameters === null) return;
    try {
      const answer = await post("/experiment/targets", { experiment: experiment.id, parameters });
      fill(touched, h("h3", { id: "touched-title", text: "What a trial with these parameters would touch" }), targetsTable(answer));
      fill(outcome);
    } catch (error) {
      fill(outcome, errorMessage(error, "The targets could not be named"));
    }
  }

  async function start(dryRun) {
    const parameters = typedParameters();
    if (parameters === null) return;
    try {
      const trial = await post("/trial", { experiment: experiment.id, parameters, dry_run: dryRun });
      announce(dryRun ? "Dry run started" : "Trial started");
      navigate(`#/trials/${trial.id}`);
    } catch (error) {
      fill(outcome, errorMessage(error, "The trial was not started"));
    }
  }

  return h("form", { class: "run-form", "aria-label": "Run this experiment", onsubmit: (e) => { e.preventDefault(); start(false); } },
    rows.length ? h("fieldset", {}, h("legend", { text: "Parameters (this trial only)" }), rows)
      : h("p", { text: "This experiment has no parameters." }),
    h("div", { class: "field" },
      h("label", { for: "extra-parameters", text: "More parameters (JSON object)" }), extra,
      h("small", { id: "extra-help", text: "Override or add parameters, e.g. {\"qty\": 2}." })),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "button primary", text: "Run" }),
      h("button", { type: "button", class: "button", text: "Dry run", onclick: () => start(true) }),
      h("button", { type: "button", class: "button", text: "Show targets", onclick: showTargets }),
      h("small", { text: "A dry run resolves targets and logs what each step would do; it changes nothing." })),
    outcome, touched);
}

function historyTable(trials) {
  return h("table", { class: "list" },
    h("caption", { text: "Latest trials" }),
    h("thead", {}, h("tr", {}, ["Trial", "Status", "Started", "Duration"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, trials.slice(0, 10).map((trial) => h("tr", {},
      h("td", {}, h("a", { href: `#/trials/${trial.id}`, text: shortId(trial.id) }), trial.dry_run ? " (dry run)" : ""),
      h("td", {}, statusBadge(trial.status)),
      h("td", {}, timeElement(trial.executed_at || trial.created_at)),
      h("td", { text: formatDuration(trialDuration(trial)) })))));
}

async function scheduleList(experiment) {
  const schedules = await get(`/experiment/${experiment.id}/schedule`);
  const items = await Promise.all(schedules.map(async (schedule) => {
    const reading = await readingOf(schedule);
    return h("li", {},
      h("a", { href: `#/experiments/${experiment.id}/schedules/${schedule.id}`, text: reading }),
      " ", h("code", { text: schedule.recurrence_pattern }),
      " · next: ", timeElement(schedule.next_fire_at),
      schedule.recurrence_left !== null ? ` · ${schedule.recurrence_left} left` : "");
  }));
  return h("div", {},
    items.length ? h("ul", { class: "schedules" }, items) : h("p", { text: "No schedules." }),
    can("edit") ? h("a", { class: "button", href: `#/experiments/${experiment.id}/schedules/new`, text: "New schedule" }) : null);
}

export async function experimentPage(main, { params: [id] }) {
  const experiment = await get(`/experiment/${id}`);
  const { trials, total } = await newestTrials({ experiment: id }, HISTORY_SIZE);
  const outcome = h("div");

  async function remove() {
    const confirmed = await confirmDialog({
      title: "Delete this experiment?",
      text: `"${experiment.name}" leaves the lists and its schedules stop; its trials stay readable.`,
      confirmLabel: "Delete experiment",
      danger: true,
    });
    if (!confirmed) return;
    try {
      await del(`/experiment/${id}`);
      announce("Experiment deleted");
      navigate("#/experiments");
    } catch (error) {
      fill(outcome, errorMessage(error, "The experiment was not deleted"));
    }
  }

  fill(main,
    h("div", { class: "page-head" },
      h("h1", { text: experiment.name }),
      can("edit") ? h("div", { class: "actions" },
        h("a", { class: "button", href: `#/experiments/${id}/edit`, text: "Edit" }),
        h("button", { type: "button", class: "button danger-outline", text: "Delete", onclick: remove })) : null),
    outcome,
    experiment.description ? h("p", { class: "lead", text: experiment.description }) : null,
    h("dl", { class: "facts" },
      h("dt", { text: "Id" }), h("dd", {}, h("code", { text: experiment.id })),
      h("dt", { text: "Metadata" }), h("dd", { text: JSON.stringify(experiment.metadata) }),
      h("dt", { text: "Created" }), h("dd", {}, timeElement(experiment.created_at), ` by ${experiment.created_by}`)),
    can("operate") ? section("Run", runForm(experiment)) : null,
    section("Trial history",
      trialHistoryChart(trials, `Status and duration of the last ${trials.length} of ${total} trials`),
      trials.length ? historyTable(trials) : null,
      h("p", {}, h("a", { href: `#/trials?experiment=${id}`, text: "All trials of this experiment" }))),
    section("Schedules", await scheduleList(experiment)),
    section("Steps",
      stepList("Pre steps", experiment.pre_steps),
      stepList("Steps", experiment.steps),
      stepList("Post steps", experiment.post_steps),
      stepList("Guards (run beside the steps; a failing guard stops the trial)", experiment.guards || [])));
}
