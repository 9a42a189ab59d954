// Small DOM helpers: elements are built with h(), never from HTML strings, so
// text from the API (names, logs) is always shown as text.

/**
 * Build an element. `attrs` keys: `class`, `text`, `on<event>` (a function),
 * `dataset` (an object), boolean attributes as true/false, others as strings.
 */
export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "rect", "circle", "line", "text", "title", "path", "polyline"].includes(tag);
  const element = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") element.textContent = String(value);
    else if (key === "class") element.setAttribute("class", value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Say something to screen-reader users (the page's polite live region). */
export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => { region.textContent = message; }, 50);
}

export const STATUSES = [
  "Scheduled", "In Progress", "Stop Initiated", "Succeeded", "Failed",
  "Aborted", "Invalid", "Stopped",
];
export const TERMINAL = new Set(["Succeeded", "Failed", "Aborted", "Invalid", "Stopped"]);
export const ACTIVE = ["Scheduled", "In Progress", "Stop Initiated"];

export function statusBadge(status) {
  const slug = status.toLowerCase().replace(/\s+/g, "-");
  return h("span", { class: `status status-${slug}`, text: status });
}

const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** A <time> element for an ISO timestamp (or a dash when there is none). */
export function timeElement(iso) {
  if (!iso) return h("span", { text: "—" });
  const date = new Date(iso);
  return h("time", { datetime: date.toISOString(), title: date.toISOString(), text: dateFormat.format(date) });
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Seconds a trial ran (so far, when it is still running). */
export function trialDuration(trial, now = Date.now()) {
  if (!trial.executed_at) return null;
  const end = trial.completed_at ? Date.parse(trial.completed_at) : now;
  return Math.max(0, (end - Date.parse(trial.executed_at)) / 1000);
}

export function shortId(id) {
  return id.slice(0, 8);
}

/** A section with a heading, for pages built of several parts. */
export function section(title, ...children) {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "panel", "aria-labelledby": id },
    h("h2", { id, text: title }), ...children);
}

/** A message block: kind is "error", "info" or "ok". */
export function message(kind, text, ...extra) {
  return h("div", { class: `message message-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("p", { text }), ...extra);
}

/** Show an API error (with its field list when the API named fields). */
export function errorMessage(error, prefix = "The request failed") {
  const fields = error.errors && error.errors.length
    ? h("ul", {}, error.errors.map((e) => h("li", {}, h("code", { text: e.field }), ": ", e.message)))
    : null;
  return message("error", `${prefix}: ${error.message}`, fields);
}

/**
 * Ask for confirmation in a modal dialog; resolves true when confirmed.
 * `danger` styles the confirming button red.
 */
export function confirmDialog({ title, text, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    const titleId = `dialog-${Math.random().toString(36).slice(2)}`;
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": titleId });
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const cancel = h("button", { type: "button", class: "button", text: "Cancel", onclick: () => done(false) });
    dialog.append(
      h("h2", { id: titleId, text: title }),
      h("p", { text }),
      h("div", { class: "actions" },
        cancel,
        h("button", { type: "button", class: danger ? "button danger" : "button primary", text: confirmLabel, onclick: () => done(true) })),
    );
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
