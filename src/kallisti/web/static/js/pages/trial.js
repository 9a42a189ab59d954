// One trial, live: its status pushed by the API as it changes, a timeline of
// its steps with durations, their logs, and a Stop button that stays in view.

import { download, experimentIndex, get, post, put } from "../api.js";
import {
  TERMINAL, announce, errorMessage, fill, formatDuration, h, message, shortId,
  statusBadge, timeElement, trialDuration,
} from "../dom.js";
import { followTrial } from "../live.js";
import { targetsTable } from "../targets.js";
import { can } from "../session.js";

const SECTION_TITLES = { pre_steps: "Pre step", steps: "Step", post_steps: "Post step", guards: "Guard" };
const SECTION_ORDER = ["pre_steps", "steps", "post_steps"];
// Answers can cross (a stop's answer may arrive after the event saying the
// trial already ended): a trial never moves back along this order.
const PROGRESS = { Scheduled: 0, "In Progress": 1, "Stop Initiated": 2 };
const progress = (status) => PROGRESS[status] ?? 3;
const LINE = /^\[(\S+?) - (\w+)\] ([\s\S]*)$/;

function parseLine(line) {
  const match = LINE.exec(line);
  if (!match) return { time: null, level: "INFO", text: line };
  const time = Date.parse(match[1].endsWith("Z") ? match[1] : `${match[1]}Z`);
  return { time: Number.isNaN(time) ? null : time, level: match[2], text: match[3] };
}

/** Every step entry of the record, in the order they ran, with what they did. */
export function timelineEntries(trial) {
  const record = trial.trial_record || {};
  const sections = [...SECTION_ORDER, ...Object.keys(record).filter((k) => !SECTION_ORDER.includes(k) && k !== "result")];
  const entries = [];
  for (const sectionName of sections) {
    const items = record[sectionName];
    if (!Array.isArray(items)) continue;
    items.forEach((entry, index) => {
      if (!entry || typeof entry !== "object") return;
      const lines = (entry.logs || []).map(parseLine);
      const times = lines.map((l) => l.time).filter((t) => t !== null);
      const errors = lines.filter((l) => l.level === "ERROR");
      const failed = errors.length > 0 && !errors.every((l) => /Step interrupted/.test(l.text));
      const interrupted = errors.length > 0 && !failed;
      const completed = lines.length && /^Completed\.?$/.test(lines[lines.length - 1].text);
      let state = "running";
      if (failed) state = "failed";
      else if (interrupted) state = "interrupted";
      else if (completed) state = "passed";
      else if (TERMINAL.has(trial.status)) state = "interrupted";
      entries.push({
        key: `${sectionName}-${index}`,
        section: sectionName,
        title: SECTION_TITLES[sectionName] || sectionName.replace(/_/g, " "),
        name: entry.step_name || entry.name || `${sectionName} ${index + 1}`,
        parameters: entry.step_parameters,
        targets: Array.isArray(entry.targets) ? entry.targets : null,
        lines,
        start: times.length ? times[0] : null,
        end: times.length && state !== "running" ? times[times.length - 1] : null,
        state,
      });
    });
  }
  return entries;
}

function timelineView(trial, entries) {
  const now = Date.now();
  const trialStart = trial.executed_at ? Date.parse(trial.executed_at)
    : Math.min(...entries.map((e) => e.start ?? now), now);
  const trialEnd = trial.completed_at ? Date.parse(trial.completed_at) : now;
  const span = Math.max(trialEnd - trialStart, 1);
  if (!entries.length) return h("p", { text: TERMINAL.has(trial.status) ? "No step ran." : "Waiting for the first step…" });
  return h("ol", { class: "timeline" }, entries.map((entry) => {
    const start = entry.start ?? trialStart;
    const end = entry.end ?? (entry.state === "running" ? now : start);
    const seconds = (end - start) / 1000;
    const bar = h("span", { class: `timeline-bar bar-${entry.state}` });
    bar.style.left = `${Math.min(100, ((start - trialStart) / span) * 100)}%`;
    bar.style.width = `${Math.max(0.8, ((end - start) / span) * 100)}%`;
    return h("li", { class: `timeline-row state-${entry.state}`, dataset: { key: entry.key } },
      h("span", { class: "timeline-label" },
        h("span", { class: "timeline-section", text: entry.title }), " ",
        h("a", { href: `#log-${entry.key}`, text: entry.name, onclick: (e) => { e.preventDefault(); openLog(entry.key); } })),
      h("span", { class: `step-state step-${entry.state}`, text: entry.state }),
      h("span", { class: "timeline-duration", text: entry.state === "running" ? `${formatDuration(seconds)} so far` : formatDuration(seconds) }),
      h("span", { class: "timeline-track", "aria-hidden": "true" }, bar));
  }));
}

/** For a dry run: each step with the arguments it resolved and what it says it would do. */
function dryRunView(entries) {
  if (!entries.length) return h("p", { text: "Waiting for the first step…" });
  return h("ul", { class: "dry-run" }, entries.map((entry) => h("li", {},
    h("strong", { text: `${entry.title}: ${entry.name}` }),
    entry.parameters ? h("p", {}, "Resolved arguments: ", h("code", { text: JSON.stringify(entry.parameters) })) : null,
    entry.targets ? h("p", {}, "Targets: ", entry.targets.map((t) => h("code", { text: typeof t === "string" ? t : JSON.stringify(t) })).flatMap((c, i) => (i ? [", ", c] : [c]))) : null,
    h("ul", {}, entry.lines.filter((l) => l.level === "ERROR" || /^(Dry run|Would|Result|Target)/.test(l.text)).map((l) => h("li", { text: l.text }))))));
}

function openLog(key) {
  const details = document.getElementById(`log-${key}`);
  if (!details) return;
  details.open = true;
  details.querySelector("summary").focus();
}

function logLines(lines) {
  return h("pre", { class: "log", tabindex: "0" }, lines.map((line) =>
    h("span", { class: line.level === "ERROR" ? "log-line log-error" : "log-line" },
      line.time ? `${new Date(line.time).toISOString().slice(11, 23)} ` : "",
      line.level === "ERROR" ? "ERROR " : "",
      line.text, "\n")));
}

function logsView(trial, entries, open) {
  const result = (trial.trial_record && trial.trial_record.result) || [];
  const resultLines = result.flatMap((item) => (typeof item === "string" ? [item] : (item.logs || []))).map(parseLine);
  return [
    entries.map((entry) => h("details", { id: `log-${entry.key}`, class: "step-log", open: open.has(entry.key) || entry.state === "failed" || entry.state === "running" },
      h("summary", {}, `${entry.title}: ${entry.name} — ${entry.state}`),
      entry.parameters ? h("p", {}, "Arguments: ", h("code", { text: JSON.stringify(entry.parameters) })) : null,
      logLines(entry.lines))),
    resultLines.length ? h("div", { class: "result-log" }, h("h3", { text: "Result" }), logLines(resultLines)) : null,
  ];
}

export async function trialPage(main, { params: [id] }) {
  let trial = await get(`/trial/${id}`);
  const experiments = await experimentIndex().catch(() => new Map());
  const liveState = h("span", { class: "live-state", role: "status" });
  const badge = h("span");
  const outcome = h("div");
  const residualFaults = h("div");
  const facts = h("dl", { class: "facts" });
  const timeline = h("div");
  const logs = h("div");
  const dryRun = h("div");
  const targets = h("div", {}, h("p", { text: "Loading…" }));
  const revert = h("button", { type: "button", class: "button danger-outline", id: "revert-trial", text: "Revert faults left in place" });
  const stop = h("button", { type: "button", class: "button danger", id: "stop-trial", text: "Stop trial" });
  let lastStatus = trial.status;

  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try {
      accept(await put(`/trial/${id}/stop`));
      announce("Stop requested: post steps will run, then the trial ends Stopped.");
    } catch (error) {
      fill(outcome, errorMessage(error, "The stop was refused"));
      stop.disabled = false;
    }
  });

  revert.addEventListener("click", async () => {
    revert.disabled = true;
    try {
      const answer = await post(`/trial/${id}/revert`);
      const failed = answer.failed.length;
      const done = answer.reverted.length + answer.already_clear.length + failed === 0
        ? "Nothing is left to revert."
        : `Reverted ${answer.reverted.length} fault(s); ${answer.already_clear.length} already clear.`;
      announce(failed ? `${failed} fault(s) could not be reverted` : "Faults reverted");
      fill(outcome, failed
        ? message("error", `${done} ${failed} fault(s) are still in place: ${answer.failed.map((f) => f.error || f.what).join("; ")}`)
        : message("ok", done));
    } catch (error) {
      fill(outcome, errorMessage(error, "The revert was refused"));
    }
    revert.disabled = false;
  });

  function accept(next) {
    if (progress(next.status) < progress(trial.status)) return;
    trial = next;
    render();
  }

  function render() {
    const open = new Set([...logs.querySelectorAll("details[open]")].map((d) => d.id.replace(/^log-/, "")));
    const entries = timelineEntries(trial);
    fill(badge, statusBadge(trial.status));
    stop.disabled = TERMINAL.has(trial.status) || trial.status === "Stop Initiated";
    stop.textContent = trial.status === "Stop Initiated" ? "Stopping…" : "Stop trial";
    const experiment = experiments.get(trial.experiment);
    fill(facts,
      h("dt", { text: "Experiment" }),
      h("dd", {}, experiment ? h("a", { href: `#/experiments/${trial.experiment}`, text: experiment.name }) : h("code", { text: trial.experiment })),
      h("dt", { text: "Status" }), h("dd", { text: trial.status }),
      h("dt", { text: "Created" }), h("dd", {}, timeElement(trial.created_at)),
      h("dt", { text: "Started" }), h("dd", {}, timeElement(trial.executed_at)),
      h("dt", { text: "Completed" }), h("dd", {}, timeElement(trial.completed_at)),
      h("dt", { text: "Duration" }), h("dd", { text: formatDuration(trialDuration(trial)) }),
      trial.stop_reason ? [h("dt", { text: "Stop reason" }), h("dd", { text: trial.stop_reason })] : null,
      h("dt", { text: "Initiated by" }), h("dd", { text: `${trial.initiated_by} (${trial.initiated_from})` }),
      trial.dry_run ? [h("dt", { text: "Dry run" }), h("dd", { text: "yes: nothing was changed" })] : null,
      Object.keys(trial.parameters).length ? [h("dt", { text: "Parameters" }), h("dd", {}, h("code", { text: JSON.stringify(trial.parameters) }))] : null);
    const residual = trial.residual_faults || [];
    revert.hidden = !(residual.length && TERMINAL.has(trial.status));
    fill(residualFaults, residual.length ? h("section", { class: "panel residual", "aria-labelledby": "residual-title" },
      h("h2", { id: "residual-title", text: `Faults left in place when it ended (${residual.length})` }),
      h("p", { class: "help", text: "The trial's record keeps them as it ended. Revert undoes those still in place; one already undone is reported as already clear." }),
      h("ul", {}, residual.map((fault) => h("li", {},
        fault.what ? fault.what : h("code", { text: JSON.stringify(fault) }),
        fault.where ? [" on ", h("code", { text: fault.where })] : null,
        fault.undo ? ` (to undo: ${fault.undo})` : null)))) : null);
    fill(timeline, timelineView(trial, entries));
    if (trial.dry_run) fill(dryRun, dryRunView(entries));
    fill(logs, logsView(trial, entries, open));
    if (trial.status !== lastStatus) {
      announce(`Trial is now ${trial.status}`);
      lastStatus = trial.status;
    }
  }

  const reports = ["xml", "junit", "html"].map((format) => h("button", {
    type: "button", class: "button small",
    text: { xml: "XML", junit: "JUnit", html: "HTML" }[format],
    "aria-label": `Download the ${format.toUpperCase()} report of this trial`,
    onclick: async () => {
      try {
        await download("/report", { "trial-id": id, format }, `trial-${shortId(id)}.${format === "html" ? "html" : "xml"}`);
      } catch (error) {
        fill(outcome, errorMessage(error, "The report could not be made"));
      }
    },
  }));

  fill(main,
    h("div", { class: "trial-bar" },
      h("h1", { text: `Trial ${shortId(id)}${trial.dry_run ? " (dry run)" : ""}` }),
      badge, liveState,
      h("div", { class: "actions" }, can("operate") ? [stop, revert] : null, h("span", { class: "report-label", text: "Report:" }), reports)),
    outcome,
    facts,
    residualFaults,
    trial.dry_run ? h("section", { class: "panel", "aria-labelledby": "dry-run-title" },
      h("h2", { id: "dry-run-title", text: "What this dry run would touch" }), targets,
      h("h3", { text: "What each step said" }), dryRun) : null,
    h("section", { class: "panel", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title", text: "Timeline" }), timeline),
    h("section", { class: "panel", "aria-labelledby": "logs-title" }, h("h2", { id: "logs-title", text: "Logs" }), logs));
  render();
  if (trial.dry_run) {
    get(`/trial/${id}/targets`).then(
      (answer) => fill(targets, targetsTable(answer)),
      (error) => fill(targets, errorMessage(error, "The targets could not be named")));
  }

  if (TERMINAL.has(trial.status)) {
    liveState.textContent = "Finished";
    return undefined;
  }
  const states = { live: "Live", reconnecting: "Reconnecting…", ended: "Finished" };
  const stopFollowing = followTrial(id, {
    onTrial: accept,
    onState: (state) => { liveState.textContent = states[state]; },
  });
  // A running step's bar grows between events; redraw it each few seconds.
  const ticker = setInterval(() => { if (!TERMINAL.has(trial.status)) fill(timeline, timelineView(trial, timelineEntries(trial))); }, 5000);
  return () => { stopFollowing(); clearInterval(ticker); };
}
