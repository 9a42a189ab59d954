// The halt switch (GET/PUT/DELETE /halt): one red control in the header of
// every page for those allowed to use it, a confirmation naming how many
// trials it stops, and a banner on every page while chaos is halted. A halt
// or resume made elsewhere (another user, `kallisti halt`) is pushed by
// GET /halt/events while the console is open; GET /halt fills in when the
// stream breaks.

import { ApiError, del, get, put, request, token } from "./api.js";
import { ACTIVE, announce, fill, h, timeElement } from "./dom.js";
import { readEvents, sleep, StreamRefused } from "./live.js";
import { can } from "./session.js";

let available = true;

async function activeTrials() {
  const counts = await Promise.all(ACTIVE.map(async (status) =>
    (await request("GET", "/trial", { query: { status, limit: 1 } })).total ?? 0));
  return counts.reduce((a, b) => a + b, 0);
}

function askReason(count) {
  return new Promise((resolve) => {
    const reason = h("input", { id: "halt-reason", type: "text", "aria-required": "true", autocomplete: "off" });
    const problem = h("p", { class: "field-error", role: "alert" });
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "halt-title", "aria-describedby": "halt-what" });
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const trials = count === 1 ? "1 trial" : `${count} trials`;
    dialog.append(
      h("h2", { id: "halt-title", text: "Halt all chaos?" }),
      h("p", { id: "halt-what", text: `This stops ${trials} now (their post steps run to clean up) and refuses every new trial and schedule until chaos is resumed.` }),
      h("form", {
        method: "dialog",
        onsubmit: (event) => {
          event.preventDefault();
          if (!reason.value.trim()) {
            problem.textContent = "Say why: the reason is shown to everyone.";
            reason.focus();
            return;
          }
          done(reason.value.trim());
        },
      },
      h("div", { class: "field" }, h("label", { for: "halt-reason", text: "Reason" }), reason),
      problem,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "button", text: "Cancel", onclick: () => done(null) }),
        h("button", { type: "submit", class: "button danger", text: `Halt and stop ${trials}` }))),
    );
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    reason.focus();
  });
}

async function halt() {
  const count = await activeTrials();
  const reason = await askReason(count);
  if (reason === null) return;
  try {
    await put("/halt", { reason });
    announce("Chaos halted");
  } catch (error) {
    announce(`The halt was refused: ${error.message}`);
  }
  await refreshHalt();
}

async function resume() {
  try {
    await del("/halt");
    announce("Chaos resumed");
  } catch (error) {
    announce(`Resuming was refused: ${error.message}`);
  }
  await refreshHalt();
}

function render(state) {
  const control = document.getElementById("halt-control");
  const banner = document.getElementById("banner");
  if (state.halted) {
    fill(banner, h("div", { class: "halt-banner", role: "alert" },
      h("span", {}, "Chaos is halted: no trial starts until it is resumed. ",
        state.reason ? `Reason: ${state.reason}. ` : "",
        state.by ? `By ${state.by}, ` : "", state.at ? timeElement(state.at) : ""),
      can("admin") ? h("button", { type: "button", class: "button", text: "Resume chaos", onclick: resume }) : null));
    fill(control);
  } else {
    fill(banner);
    fill(control, can("admin")
      ? h("button", { type: "button", class: "button halt-button", text: "Halt all chaos", onclick: halt })
      : null);
  }
}

let shown = null;

function show(state) {
  // The same switch again (a reconnect, a page change) is not drawn again,
  // so focus stays where the user left it.
  const text = JSON.stringify([state, can("admin")]);
  if (text === shown) return;
  shown = text;
  render(state);
}

/** Redraw the halt control and banner from GET /halt (hidden when the API has none). */
export async function refreshHalt() {
  if (!available) return;
  let state;
  try {
    state = await get("/halt");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) available = false;
    shown = null;
    fill(document.getElementById("halt-control"));
    fill(document.getElementById("banner"));
    return;
  }
  show(state);
}

let watching = null;

/**
 * Keep the banner current while the console is open: one stream of `halt`
 * events per signed-in token (started again when the token changes).
 */
export function watchHalt() {
  const key = token() || "";
  if (watching && watching.key === key && !watching.controller.signal.aborted) return;
  if (watching) watching.controller.abort();
  const controller = new AbortController();
  const { signal } = controller;
  watching = { key, controller };
  let retryMs = 1000;
  (async () => {
    while (!signal.aborted) {
      try {
        await readEvents("/halt/events", signal, {
          onRetry: (ms) => { retryMs = ms; },
          onEvent: (event) => {
            if (event.event === "halt") show(JSON.parse(event.data));
            return true;
          },
        });
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof StreamRefused && error.status >= 400 && error.status < 500) {
          // Not signed in, not allowed, or no such route: the next page change tries again.
          controller.abort();
          return;
        }
      }
      if (signal.aborted) return;
      await refreshHalt();
      await sleep(retryMs, signal);
    }
  })();
}
