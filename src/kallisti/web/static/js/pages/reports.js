// Reports: download the XML, JUnit or HTML report for any filter.

import { download, experimentIndex } from "../api.js";
import { STATUSES, errorMessage, fill, h, message } from "../dom.js";

const FORMATS = [
  ["xml", "XML (Kallisti's, readable in a browser)", "xml"],
  ["junit", "JUnit XML (for CI systems)", "xml"],
  ["html", "HTML page with timelines", "html"],
];

function isoOrEmpty(localValue) {
  return localValue ? new Date(localValue).toISOString() : "";
}

export async function reportsPage(main) {
  const experiments = await experimentIndex(true);
  const experiment = h("select", { id: "report-experiment" },
    h("option", { value: "", text: "Every experiment" }),
    [...experiments.values()].map((e) => h("option", { value: e.id, text: e.name })));
  const status = h("select", { id: "report-status" },
    h("option", { value: "", text: "Any status" }), STATUSES.map((s) => h("option", { value: s, text: s })));
  const after = h("input", { id: "report-after", type: "datetime-local" });
  const before = h("input", { id: "report-before", type: "datetime-local" });
  const formats = FORMATS.map(([value, label], index) => h("div", { class: "choice" },
    h("input", { type: "radio", name: "format", id: `format-${value}`, value, checked: index === 0 }),
    h("label", { for: `format-${value}`, text: label })));
  const outcome = h("div");

  async function submit(event) {
    event.preventDefault();
    const format = main.querySelector("input[name=format]:checked").value;
    const extension = FORMATS.find(([value]) => value === format)[2];
    const query = {
      format,
      experiment: experiment.value,
      status: status.value,
      created_after: isoOrEmpty(after.value),
      created_before: isoOrEmpty(before.value),
    };
    try {
      await download("/report", query, `kallisti-report-${format}.${extension}`);
      fill(outcome, message("ok", "Report downloaded."));
    } catch (error) {
      fill(outcome, errorMessage(error, "The report could not be made"));
    }
  }

  fill(main,
    h("h1", { text: "Reports" }),
    h("form", { class: "report-form", onsubmit: submit, "aria-label": "Report" },
      h("div", { class: "field" }, h("label", { for: "report-experiment", text: "Experiment" }), experiment),
      h("div", { class: "field" }, h("label", { for: "report-status", text: "Trial status" }), status),
      h("div", { class: "field" }, h("label", { for: "report-after", text: "Trials created from" }), after),
      h("div", { class: "field" }, h("label", { for: "report-before", text: "Trials created before" }), before),
      h("fieldset", {}, h("legend", { text: "Format" }), formats),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button primary", text: "Download report" })),
      outcome));
}
