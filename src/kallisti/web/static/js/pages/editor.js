// The experiment editor: JSON checked as you type against the API's own
// schema (its OpenAPI document), then saved; the API's answer is shown
// beside the text, naming each field it refused.

import { get, openApiDocument, post, put } from "../api.js";
import { actionIndex, attachCompletion, catalogueWarnings } from "../completion.js";
import { announce, errorMessage, fill, h, message } from "../dom.js";
import { navigate } from "../nav.js";
import { can } from "../session.js";
import { SchemaChecker, parseErrorPlace } from "../schema.js";

const READ_ONLY = ["id", "created_by", "created_at", "updated_at", "deleted_at"];

const TEMPLATE = {
  name: "Probe the service",
  description: "Check that the service answers while something goes wrong.",
  metadata: { team: "" },
  parameters: { base_url: "http://127.0.0.1:8080" },
  steps: [
    {
      step: "HTTP health check",
      do: "cm.http_probe",
      where: { url: "{{ base_url }}/api/v1/health" },
      expect: [{ operator: "eq", status_code: 200 }],
    },
  ],
};

const TRAILING_COMMA = /,(\s*[}\]])/g;

export async function editorPage(main, { params: [id] }) {
  const editing = Boolean(id);
  if (!can("edit")) {
    fill(main, h("h1", { text: "Not allowed" }), message("error", "Your roles do not allow changing experiments."));
    return;
  }
  const [openapi, existing, catalogue] = await Promise.all([
    openApiDocument(),
    editing ? get(`/experiment/${id}`) : Promise.resolve(null),
    // Without the catalogue the editor still checks the schema; it only
    // loses completion and the warnings.
    get("/modules").catch(() => null),
  ]);
  const actions = catalogue ? actionIndex(catalogue) : new Map();
  const checker = new SchemaChecker(openapi);
  let document = TEMPLATE;
  if (existing) {
    document = { ...existing };
    for (const field of READ_ONLY) delete document[field];
  }

  const textarea = h("textarea", {
    id: "experiment-json", class: "code", rows: 24, spellcheck: "false",
    autocomplete: "off", "aria-describedby": "editor-help experiment-problems",
  });
  textarea.value = JSON.stringify(document, null, 2);
  const problems = h("div", { id: "experiment-problems", class: "problems", "aria-live": "polite" });
  const outcome = h("div", { class: "outcome" });
  let timer = null;

  /** The document when it parses and passes the schema, else null (problems shown). */
  function check() {
    const text = textarea.value;
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const place = parseErrorPlace(text, error);
      const where = place ? ` at line ${place.line}, column ${place.column}` : "";
      const fixes = /,\s*[}\]]/.test(text)
        ? h("button", {
          type: "button", class: "button small", text: "Remove trailing commas",
          onclick: () => { textarea.value = text.replace(TRAILING_COMMA, "$1"); check(); textarea.focus(); },
        })
        : null;
      fill(problems, message("error", `Not valid JSON${where}: ${error.message}`, fixes));
      return null;
    }
    const errors = typeof value === "object" && value !== null && !Array.isArray(value)
      ? checker.check("ExperimentCreate", value)
      : [{ field: "body", message: "must be a JSON object" }];
    if (errors.length) {
      fill(problems, h("div", { class: "message message-error" },
        h("p", { text: `${errors.length} problem${errors.length === 1 ? "" : "s"} to fix before saving:` }),
        h("ul", {}, errors.map((e) => h("li", {}, h("code", { text: e.field }), `: ${e.message}`)))));
      return null;
    }
    const warnings = catalogue ? catalogueWarnings(value, catalogue, actions) : [];
    fill(problems,
      h("p", { class: "message message-ok", text: "Valid experiment." }),
      warnings.length ? h("div", { class: "message message-warning" },
        h("p", { text: `${warnings.length} warning${warnings.length === 1 ? "" : "s"} (it can still be saved):` }),
        h("ul", {}, warnings.map((w) => h("li", {}, h("code", { text: w.field }), `: ${w.message}`)))) : null);
    return value;
  }

  const completion = catalogue ? attachCompletion(textarea, actions, () => check()) : [];
  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
  textarea.addEventListener("keydown", (event) => {
    // Tab indents inside the editor; Escape then Tab leaves it (keyboard users).
    if (event.key === "Tab" && !event.shiftKey && !textarea.dataset.escaped) {
      event.preventDefault();
      textarea.setRangeText("  ", textarea.selectionStart, textarea.selectionEnd, "end");
    }
    if (event.key === "Escape") textarea.dataset.escaped = "yes";
  });
  textarea.addEventListener("blur", () => { delete textarea.dataset.escaped; });

  async function save(event) {
    event.preventDefault();
    const value = check();
    if (value === null) {
      fill(outcome, message("error", "Fix the problems listed under the editor first."));
      textarea.focus();
      return;
    }
    try {
      const saved = editing ? await put(`/experiment/${id}`, value) : await post("/experiment", value);
      announce("Experiment saved");
      navigate(`#/experiments/${saved.id}`);
    } catch (error) {
      fill(outcome, errorMessage(error, "The API refused the experiment"));
    }
  }

  function format() {
    const value = (() => { try { return JSON.parse(textarea.value); } catch { return null; } })();
    if (value !== null) textarea.value = JSON.stringify(value, null, 2);
    check();
  }

  fill(main,
    h("h1", { text: editing ? `Edit ${existing.name}` : "New experiment" }),
    h("form", { class: "editor", onsubmit: save, "aria-label": "Experiment" },
      h("label", { for: "experiment-json", text: "Experiment (JSON)" }),
      h("p", { id: "editor-help", class: "help", text: "name and steps are required; each step has do (<namespace>.<action>) and where (its arguments). Tab indents; press Escape, then Tab, to leave the editor." }),
      textarea,
      completion,
      problems,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "button primary", text: editing ? "Save changes" : "Create experiment" }),
        h("button", { type: "button", class: "button", text: "Format JSON", onclick: format }),
        h("a", { class: "button", href: editing ? `#/experiments/${id}` : "#/experiments", text: "Cancel" })),
      outcome));
  check();
}
