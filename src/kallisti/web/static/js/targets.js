// What a trial touches, per step, as the API names it (POST
// /experiment/targets before a trial, GET /trial/{id}/targets for one): the
// resolved action, its arguments (secrets masked) and its target paths.

import { h } from "./dom.js";

const STEP_SECTIONS = { pre_steps: "Pre step", steps: "Step", post_steps: "Post step" };

/** Per step, what the trial touches (GET /trial/{id}/targets): named as target
 * leases name it, from the experiment the trial ran, secrets masked. */
export function targetsTable(answer) {
  if (!answer.steps.length) return h("p", { text: "This experiment has no steps." });
  return h("div", {},
    h("table", { class: "list targets" },
      h("caption", { text: answer.targets.length
        ? `${answer.targets.length === 1 ? "1 target" : `${answer.targets.length} targets`} in all`
        : "No step names a target" }),
      h("thead", {}, h("tr", {}, ["Step", "Action", "Arguments", "Targets"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, answer.steps.map((step) => h("tr", {},
        h("th", { scope: "row", text: `${STEP_SECTIONS[step.section]} ${step.index + 1}${step.step ? `: ${step.step}` : ""}` }),
        h("td", {}, h("code", { text: step.do })),
        h("td", {}, h("code", { class: "arguments", text: JSON.stringify(step.where) })),
        h("td", {},
          step.problem ? h("p", { class: "field-error", text: `Cannot tell: ${step.problem}` })
            : step.changes === false ? "None (a probe: it changes nothing)"
              : step.targets.length ? h("ul", { class: "target-list" }, step.targets.map((t) => h("li", {}, h("code", { text: t }))))
                : "None declared by its module"))))));
}
