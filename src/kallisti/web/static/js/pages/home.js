// The home page: what is running now, what failed in the last 24 hours, and
// the next scheduled trials, with a strip of the day's trials by hour.

import { experimentIndex, get, newestTrials } from "../api.js";
import { STATUS_STYLE } from "../chart.js";
import { ACTIVE, fill, h, section, timeElement } from "../dom.js";
import { navigate } from "../nav.js";
import { allSchedules, readingOf } from "./schedules.js";
import { trialRows, trialTable } from "./trials.js";

const DAY_MS = 24 * 3600 * 1000;

function dayStrip(trials, now) {
  const hours = Array.from({ length: 24 }, () => ({}));
  for (const trial of trials) {
    const age = now - Date.parse(trial.created_at);
    const slot = 23 - Math.min(23, Math.floor(age / 3600_000));
    hours[slot][trial.status] = (hours[slot][trial.status] || 0) + 1;
  }
  const most = Math.max(1, ...hours.map((h_) => Object.values(h_).reduce((a, b) => a + b, 0)));
  const width = 720;
  const height = 120;
  const column = width / 24;
  const captionId = "day-strip-caption";
  const svg = h("svg", { viewBox: `0 0 ${width} ${height + 20}`, role: "img", "aria-labelledby": captionId, class: "chart-svg" });
  hours.forEach((counts, index) => {
    let y = height;
    for (const [status, count] of Object.entries(counts)) {
      const barHeight = (count / most) * (height - 10);
      y -= barHeight;
      const style = STATUS_STYLE[status] || STATUS_STYLE.Stopped;
      svg.append(h("rect", { x: index * column + 2, y, width: column - 4, height: barHeight, fill: style.colour },
        h("title", { text: `${count} ${status}, ${24 - index} h ago` })));
    }
  });
  svg.append(
    h("line", { x1: 0, y1: height, x2: width, y2: height, stroke: "#6b7280" }),
    h("text", { x: 0, y: height + 16, class: "axis", text: "24 h ago" }),
    h("text", { x: width, y: height + 16, "text-anchor": "end", class: "axis", text: "now" }));
  const totals = {};
  for (const trial of trials) totals[trial.status] = (totals[trial.status] || 0) + 1;
  const summary = Object.entries(totals).map(([s, n]) => `${n} ${s}`).join(", ") || "no trials";
  return h("figure", { class: "chart" }, svg, h("figcaption", { id: captionId, text: `Trials of the last 24 hours by hour: ${summary}.` }));
}

export async function homePage(main) {
  const now = Date.now();
  const since = new Date(now - DAY_MS).toISOString();
  const experiments = await experimentIndex(true);
  const [running, day, schedules] = await Promise.all([
    Promise.all(ACTIVE.map((status) => get("/trial", { status }))).then((lists) => lists.flat()),
    newestTrials({ created_after: since }, 1000),
    allSchedules(),
  ]);
  const failed = day.trials.filter((t) => t.status === "Failed" || t.status === "Aborted");
  const next = schedules.filter(({ schedule }) => schedule.next_fire_at).slice(0, 5);
  const readings = await Promise.all(next.map(({ schedule }) => readingOf(schedule)));
  const reload = () => navigate("#/");

  fill(main,
    h("h1", { text: "Kallisti" }),
    h("div", { class: "dashboard" },
      section(`Running now (${running.length})`,
        running.length ? trialTable({ text: "Trials running now", hidden: true }, trialRows(running, experiments, reload))
          : h("p", { text: "Nothing is running." })),
      section(`Failed in the last 24 hours (${failed.length})`,
        failed.length ? trialTable({ text: "Trials that failed in the last 24 hours", hidden: true }, trialRows(failed, experiments, reload))
          : h("p", { text: "No failures in the last 24 hours." }),
        h("p", {}, h("a", { href: "#/trials?status=Failed", text: "All failed trials" }))),
      section("Next scheduled trials",
        next.length ? h("ol", { class: "next-scheduled" }, next.map(({ schedule, experiment }, index) => h("li", {},
          timeElement(schedule.next_fire_at), " — ",
          h("a", { href: `#/experiments/${experiment.id}`, text: experiment.name }),
          ` (${readings[index]})`)))
          : h("p", {}, "No schedules. ", h("a", { href: "#/experiments", text: "Pick an experiment to schedule" }))),
      section("The last 24 hours", dayStrip(day.trials, now))),
    experiments.size === 0 ? h("p", { class: "lead" }, "New here? ",
      h("a", { href: "#/experiments/new", text: "Create your first experiment" }),
      ", run it, and watch its trial live.") : null);
}
