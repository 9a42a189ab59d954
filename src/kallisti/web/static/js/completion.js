// What the module catalogue (GET /modules) adds to the experiment editor:
// completion of `do` and of the `where` argument names as you type, and
// warnings for steps the worker could not run as written.

import { h } from "./dom.js";

const SECTIONS = ["pre_steps", "steps", "post_steps", "guards"];

/** `do` name → {doc, probe, arguments} for every installed action. */
export function actionIndex(catalogue) {
  const actions = new Map();
  for (const namespace of catalogue) {
    for (const action of namespace.actions) {
      actions.set(`${namespace.name}.${action.name}`, action);
    }
  }
  return actions;
}

/**
 * Warnings for steps that pass the schema but name no installed action, lack a
 * required argument, or pass one the action does not take: [{field, message}].
 */
export function catalogueWarnings(experiment, catalogue, actions) {
  const namespaces = new Set(catalogue.map((n) => n.name));
  const warnings = [];
  for (const section of SECTIONS) {
    const steps = Array.isArray(experiment[section]) ? experiment[section] : [];
    steps.forEach((step, index) => {
      if (!step || typeof step.do !== "string") return;
      const at = `${section}.${index}`;
      const namespace = step.do.split(".")[0];
      const action = actions.get(step.do);
      if (!namespaces.has(namespace)) {
        warnings.push({ field: `${at}.do`, message: `no installed module serves the namespace "${namespace}"` });
        return;
      }
      if (!action) {
        warnings.push({ field: `${at}.do`, message: `the ${namespace} module has no action "${step.do.slice(namespace.length + 1)}"` });
        return;
      }
      const where = step.where && typeof step.where === "object" ? step.where : {};
      const names = new Set(action.arguments.map((a) => a.name));
      for (const argument of action.arguments) {
        if (argument.required && !(argument.name in where)) {
          warnings.push({ field: `${at}.where`, message: `${step.do} needs "${argument.name}" (${argument.type})` });
        }
      }
      for (const key of Object.keys(where)) {
        if (key !== "credentials" && !names.has(key)) {
          warnings.push({ field: `${at}.where.${key}`, message: `${step.do} takes no argument "${key}"` });
        }
      }
    });
  }
  return warnings;
}

/** Index of the innermost `{` still open at `end` in `text` (strings skipped), or -1. */
function openBrace(text, end) {
  let inString = false;
  const opens = [];
  for (let i = 0; i < end; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") opens.push(i);
    else if (c === "}") opens.pop();
  }
  return opens.length ? opens[opens.length - 1] : -1;
}

/** What could complete the text at the caret: {kind, prefix, options} or null. */
export function completionAt(text, caret, actions) {
  const before = text.slice(0, caret);
  const doMatch = /"do"\s*:\s*"([\w.]*)$/.exec(before);
  if (doMatch) {
    const prefix = doMatch[1];
    const options = [...actions.keys()].filter((name) => name.startsWith(prefix)).sort().slice(0, 50)
      .map((name) => ({ value: name, label: name, detail: actions.get(name).doc }));
    return { kind: "do", prefix, options };
  }
  const keyMatch = /[{,]\s*"(\w*)$/.exec(before);
  if (!keyMatch) return null;
  const whereOpen = openBrace(text, caret);
  if (whereOpen < 0 || !/"where"\s*:\s*$/.test(text.slice(0, whereOpen))) return null;
  const stepOpen = openBrace(text, whereOpen);
  if (stepOpen < 0) return null;
  const nextStep = text.indexOf('"step"', whereOpen);
  const stepText = text.slice(stepOpen, nextStep < 0 ? text.length : nextStep);
  const doName = /"do"\s*:\s*"([\w.]+)"/.exec(stepText);
  const action = doName && actions.get(doName[1]);
  if (!action) return null;
  const prefix = keyMatch[1];
  const options = action.arguments.filter((a) => a.name.startsWith(prefix)).map((a) => ({
    value: a.name,
    label: a.name,
    detail: `${a.type}${a.required ? ", required" : a.default !== null ? `, default ${JSON.stringify(a.default)}` : ""}`,
  }));
  return { kind: "argument", prefix, options };
}

/**
 * Attach completion to a textarea: a listbox under it, driven by the keyboard
 * (ArrowDown/ArrowUp choose, Enter or Tab accept, Escape closes).
 */
export function attachCompletion(textarea, actions, onAccept) {
  const list = h("ul", { id: "completion-list", role: "listbox", class: "completion", "aria-label": "Suggestions", hidden: true });
  const hint = h("p", { id: "completion-hint", class: "help", text: "Suggestions appear as you type do and where names: arrow keys choose, Enter accepts, Escape closes." });
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", "completion-list");
  textarea.setAttribute("aria-describedby", `${textarea.getAttribute("aria-describedby") || ""} completion-hint`.trim());
  let state = null;
  let active = 0;

  function close() {
    state = null;
    list.hidden = true;
    list.replaceChildren();
    textarea.removeAttribute("aria-activedescendant");
  }

  function show() {
    list.replaceChildren(...state.options.map((option, index) => {
      const item = h("li", {
        id: `completion-${index}`, role: "option", "aria-selected": index === active ? "true" : "false",
        class: index === active ? "active" : "",
        onmousedown: (event) => { event.preventDefault(); active = index; accept(); },
      }, h("code", { text: option.label }), " ", h("span", { class: "detail", text: option.detail || "" }));
      return item;
    }));
    list.hidden = false;
    textarea.setAttribute("aria-activedescendant", `completion-${active}`);
  }

  function accept() {
    const option = state.options[active];
    const start = textarea.selectionStart - state.prefix.length;
    textarea.setRangeText(option.value, start, textarea.selectionStart, "end");
    close();
    onAccept();
  }

  textarea.addEventListener("input", () => {
    const found = completionAt(textarea.value, textarea.selectionStart, actions);
    if (!found || !found.options.length || (found.options.length === 1 && found.options[0].value === found.prefix)) {
      close();
      return;
    }
    state = found;
    active = 0;
    show();
  });
  textarea.addEventListener("keydown", (event) => {
    if (!state) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      active = (active + step + state.options.length) % state.options.length;
      show();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      event.stopImmediatePropagation();
      accept();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopImmediatePropagation();
      close();
    }
  });
  textarea.addEventListener("blur", close);
  return [list, hint];
}
