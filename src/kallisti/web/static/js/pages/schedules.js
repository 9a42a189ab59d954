// Schedules: every live schedule with its plain reading and next run, and the
// editor that reads a cron pattern out loud and lists its next five runs.

import { del, experimentIndex, get, post, put } from "../api.js";
import { announce, confirmDialog, errorMessage, fill, h, message, timeElement } from "../dom.js";
import { navigate } from "../nav.js";
import { can } from "../session.js";

/** Every live schedule of every live experiment (GET /schedule: one request), soonest first. */
export async function allSchedules() {
  const [experiments, schedules] = await Promise.all([experimentIndex(true), get("/schedule")]);
  return schedules
    .map((schedule) => ({
      schedule,
      experiment: experiments.get(schedule.experiment_id) || { id: schedule.experiment_id, name: schedule.experiment_id },
    }))
    .sort((a, b) =>
      (a.schedule.next_fire_at ? Date.parse(a.schedule.next_fire_at) : Infinity)
      - (b.schedule.next_fire_at ? Date.parse(b.schedule.next_fire_at) : Infinity));
}

const cronReadings = new Map();

/** The plain reading of a schedule's cron (asked once per pattern and zone). */
export function readingOf(schedule) {
  const key = `${schedule.recurrence_pattern}\n${schedule.timezone}`;
  if (!cronReadings.has(key)) {
    cronReadings.set(key, get("/schedule-preview", { recurrence_pattern: schedule.recurrence_pattern, timezone: schedule.timezone, count: 1 })
      .then((preview) => preview.description, () => {
        cronReadings.delete(key);
        return schedule.recurrence_pattern;
      }));
  }
  return cronReadings.get(key);
}

export async function schedulesPage(main) {
  const rows = await allSchedules();
  const readings = await Promise.all(rows.map(({ schedule }) => readingOf(schedule)));
  fill(main,
    h("h1", { text: "Schedules" }),
    h("p", { class: "help", text: "To add a schedule, open an experiment and choose New schedule." }),
    rows.length ? h("table", { class: "list" },
      h("caption", { class: "visually-hidden", text: "Schedules, soonest first" }),
      h("thead", {}, h("tr", {}, ["Experiment", "When", "Pattern", "Next run", "Runs left"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows.map(({ schedule, experiment }, index) => h("tr", {},
        h("td", {}, h("a", { href: `#/experiments/${experiment.id}`, text: experiment.name })),
        h("td", {}, h("a", { href: `#/experiments/${experiment.id}/schedules/${schedule.id}`, text: readings[index] })),
        h("td", {}, h("code", { text: schedule.recurrence_pattern })),
        h("td", {}, timeElement(schedule.next_fire_at)),
        h("td", { text: schedule.recurrence_left === null ? "forever" : String(schedule.recurrence_left) })))))
      : h("p", { text: "No schedules yet." }));
}

function zoneOptions(selected) {
  let zones = ["UTC"];
  try {
    zones = ["UTC", ...Intl.supportedValuesOf("timeZone").filter((z) => z !== "UTC")];
  } catch {
    // Older browsers: the field still takes any IANA name typed in.
  }
  return h("datalist", { id: "zones" }, zones.map((z) => h("option", { value: z, selected: z === selected })));
}

export async function scheduleEditorPage(main, { params: [experimentId, scheduleId] }) {
  const experiment = await get(`/experiment/${experimentId}`);
  const existing = scheduleId ? await get(`/experiment/${experimentId}/schedule/${scheduleId}`) : null;
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const pattern = h("input", { id: "schedule-pattern", type: "text", required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "pattern-help schedule-reading", value: existing ? existing.recurrence_pattern : "30 9 * * 1-5" });
  const zone = h("input", { id: "schedule-zone", type: "text", list: "zones", autocomplete: "off", value: existing ? existing.timezone : browserZone });
  const count = h("input", { id: "schedule-count", type: "number", min: "0", inputmode: "numeric", "aria-describedby": "count-help", value: existing && existing.recurrence_count !== null ? existing.recurrence_count : "" });
  const parameters = h("textarea", { id: "schedule-parameters", class: "code", rows: 3, spellcheck: "false" });
  parameters.value = JSON.stringify(existing ? existing.parameters : {}, null, 2);
  const reading = h("div", { id: "schedule-reading", class: "reading", "aria-live": "polite" });
  const outcome = h("div");
  let timer = null;

  async function preview() {
    try {
      const answer = await get("/schedule-preview", { recurrence_pattern: pattern.value, timezone: zone.value, count: 5 });
      fill(reading,
        h("p", { class: "cron-reading" }, h("strong", { text: answer.description })),
        h("p", { text: "Next five runs (your local time):" }),
        h("ol", { class: "next-runs" }, answer.next_fire_times.map((time) => h("li", {}, timeElement(time)))));
    } catch (error) {
      fill(reading, h("div", { class: "message message-error" },
        h("p", { text: error.errors.length ? "" : error.message }),
        error.errors.length ? h("ul", {}, error.errors.map((e) => h("li", {}, h("code", { text: e.field === "recurrence_pattern" ? "pattern" : e.field }), `: ${e.message}`))) : null));
    }
  }
  const later = () => { clearTimeout(timer); timer = setTimeout(preview, 250); };
  pattern.addEventListener("input", later);
  zone.addEventListener("input", later);

  async function save(event) {
    event.preventDefault();
    let parsed;
    try {
      parsed = JSON.parse(parameters.value || "{}");
    } catch (error) {
      fill(outcome, message("error", `Parameters are not JSON: ${error.message}`));
      parameters.focus();
      return;
    }
    const body = {
      recurrence_pattern: pattern.value,
      timezone: zone.value,
      recurrence_count: count.value === "" ? null : Number(count.value),
      parameters: parsed,
    };
    if (existing) {
      body.metadata = existing.metadata;
      body.ticket = existing.ticket;
    }
    try {
      if (existing) await put(`/experiment/${experimentId}/schedule/${scheduleId}`, body);
      else await post(`/experiment/${experimentId}/schedule`, body);
      announce("Schedule saved");
      navigate(`#/experiments/${experimentId}`);
    } catch (error) {
      fill(outcome, errorMessage(error, "The API refused the schedule"));
    }
  }

  async function remove() {
    const confirmed = await confirmDialog({ title: "Delete this schedule?", text: "It never fires again; the trials it started stay.", confirmLabel: "Delete schedule", danger: true });
    if (!confirmed) return;
    try {
      await del(`/experiment/${experimentId}/schedule/${scheduleId}`);
      announce("Schedule deleted");
      navigate(`#/experiments/${experimentId}`);
    } catch (error) {
      fill(outcome, errorMessage(error, "The schedule was not deleted"));
    }
  }

  fill(main,
    h("h1", { text: existing ? `Schedule of ${experiment.name}` : `New schedule for ${experiment.name}` }),
    h("form", { class: "schedule-form", onsubmit: save, "aria-label": "Schedule" },
      h("div", { class: "field" }, h("label", { for: "schedule-pattern", text: "Cron pattern" }), pattern,
        h("small", { id: "pattern-help", text: "Five fields: minute hour day-of-month month day-of-week, e.g. 30 9 * * 1-5 or @daily." })),
      reading,
      h("div", { class: "field" }, h("label", { for: "schedule-zone", text: "Time zone" }), zone, zoneOptions(zone.value)),
      h("div", { class: "field" }, h("label", { for: "schedule-count", text: "Number of trials" }), count,
        h("small", { id: "count-help", text: "Leave empty to run forever." })),
      h("div", { class: "field" }, h("label", { for: "schedule-parameters", text: "Parameters (JSON object)" }), parameters),
      h("div", { class: "actions" },
        can("edit") ? h("button", { type: "submit", class: "button primary", text: existing ? "Save schedule" : "Create schedule" }) : null,
        existing && can("edit") ? h("button", { type: "button", class: "button danger-outline", text: "Delete schedule", onclick: remove }) : null,
        h("a", { class: "button", href: `#/experiments/${experimentId}`, text: "Cancel" })),
      outcome),
    existing && existing.trials.length ? h("section", { class: "panel", "aria-labelledby": "schedule-trials" },
      h("h2", { id: "schedule-trials", text: "Trials it started" }),
      h("ul", {}, existing.trials.slice(-20).reverse().map((t) => h("li", {},
        h("a", { href: `#/trials/${t.id}`, text: t.id.slice(0, 8) }), ` ${t.status} `, timeElement(t.executed_at))))) : null);
  preview();
}
