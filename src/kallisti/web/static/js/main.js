// The console's shell: routes the URL fragment (#/trials/<id>) to a page and
// keeps the header's controls current.

import { fill, h, message } from "./dom.js";
import { homePage } from "./pages/home.js";
import { experimentsPage } from "./pages/experiments.js";
import { experimentPage } from "./pages/experiment.js";
import { editorPage } from "./pages/editor.js";
import { trialsPage } from "./pages/trials.js";
import { trialPage } from "./pages/trial.js";
import { schedulesPage, scheduleEditorPage } from "./pages/schedules.js";
import { reportsPage } from "./pages/reports.js";
import { signInPage } from "./pages/signin.js";
import { refreshHalt, watchHalt } from "./halt.js";
import { loadSession, needsSignIn, takeCodeFromQuery, takeTokenFromFragment } from "./session.js";

const ID = "([0-9a-fA-F-]{36})";
const ROUTES = [
  [/^$/, homePage],
  [/^experiments$/, experimentsPage],
  [/^experiments\/new$/, editorPage],
  [new RegExp(`^experiments/${ID}$`), experimentPage],
  [new RegExp(`^experiments/${ID}/edit$`), editorPage],
  [new RegExp(`^experiments/${ID}/schedules/new$`), scheduleEditorPage],
  [new RegExp(`^experiments/${ID}/schedules/${ID}$`), scheduleEditorPage],
  [/^trials$/, trialsPage],
  [new RegExp(`^trials/${ID}$`), trialPage],
  [/^schedules$/, schedulesPage],
  [/^reports$/, reportsPage],
  [/^sign-in$/, signInPage],
];

let leave = null;

function currentRoute() {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [path, queryText = ""] = hash.split("?");
  return { path: path.replace(/\/$/, ""), query: new URLSearchParams(queryText) };
}

function markCurrentLink(path) {
  for (const link of document.querySelectorAll(".top-bar nav a")) {
    const target = link.getAttribute("href").replace(/^#\/?/, "");
    const current = target === "" ? path === "" : path === target || path.startsWith(`${target}/`);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (window.location.hash && !window.location.hash.startsWith("#/")) return;
  if (leave) {
    leave();
    leave = null;
  }
  const { path, query } = currentRoute();
  const main = document.getElementById("main");
  markCurrentLink(path);
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  if (!found) {
    document.title = "Not found · Kallisti";
    fill(main, h("h1", { text: "Page not found" }), h("p", {}, h("a", { href: "#/", text: "Go to the home page" })));
    return;
  }
  if (needsSignIn() && path !== "sign-in") {
    const next = encodeURIComponent(window.location.hash || "#/");
    window.location.replace(`#/sign-in?next=${next}`);
    return;
  }
  watchHalt();
  const [pattern, page] = found;
  const params = path.match(pattern).slice(1);
  fill(main, h("p", { class: "loading", text: "Loading…" }));
  try {
    const cleanup = await page(main, { params, query, path });
    if (typeof cleanup === "function") leave = cleanup;
  } catch (error) {
    if (error.status === 401) {
      await loadSession();
      const next = encodeURIComponent(window.location.hash || "#/");
      window.location.replace(`#/sign-in?next=${next}`);
      return;
    }
    const title = error.status === 403 ? "Not allowed" : error.status === 404 ? "Not found" : "Something went wrong";
    fill(main, h("h1", { text: title }), message("error", error.message));
  }
  const heading = main.querySelector("h1");
  if (heading) {
    document.title = `${heading.textContent} · Kallisti`;
    if (document.activeElement === document.body || document.activeElement === null || focusAfterRoute) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }
  focusAfterRoute = false;
}

let focusAfterRoute = false;

window.addEventListener("hashchange", () => {
  focusAfterRoute = true;
  route();
});
document.getElementById("skip-link").addEventListener("click", () => {
  const main = document.getElementById("main");
  (main.querySelector("h1") || main).focus();
});
async function start() {
  takeTokenFromFragment();
  try {
    await takeCodeFromQuery();
    await loadSession();
  } catch (error) {
    fill(document.getElementById("main"), h("h1", { text: "The service cannot be reached" }), message("error", error.message));
    return;
  }
  route();
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && !needsSignIn()) refreshHalt();
});
start();
