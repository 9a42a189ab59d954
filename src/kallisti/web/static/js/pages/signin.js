// Signing in: paste a token (a JWT from the identity provider, or a machine
// token), or go through the configured OAuth2 provider.

import { setToken } from "../api.js";
import { announce, fill, h, message } from "../dom.js";
import { navigate } from "../nav.js";
import { loadSession, providerProblem, providerSignInAvailable, session, signInWithProvider } from "../session.js";

export async function signInPage(main, { query }) {
  const next = query.get("next") || "#/";
  const input = h("input", { id: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true, "aria-describedby": "token-help" });
  const outcome = h("div");
  const current = session();

  async function submit(event) {
    event.preventDefault();
    setToken(input.value.trim());
    const answer = await loadSession();
    if (answer.signed_in || !answer.access_control) {
      announce(`Signed in as ${answer.user_id}`);
      navigate(next.startsWith("#/") && !next.startsWith("#/sign-in") ? next : "#/");
      return;
    }
    setToken(null);
    await loadSession();
    fill(outcome, message("error", `The token was not accepted: ${answer.problem || "no reason given"}`));
    input.focus();
  }

  fill(main,
    h("h1", { text: "Sign in" }),
    !current.access_control ? message("info", "Access control is off on this service: no sign-in is needed.") : null,
    current.signed_in ? message("ok", `Signed in as ${current.user_id}.`) : null,
    providerProblem() && !current.signed_in ? message("error", `The sign-in through your identity provider failed: ${providerProblem()}`) : null,
    providerSignInAvailable() ? h("p", {}, h("button", {
      type: "button", class: "button primary", text: "Sign in with your identity provider",
      onclick: () => signInWithProvider(next),
    })) : null,
    h("form", { class: "sign-in", onsubmit: submit, "aria-label": "Sign in with a token" },
      h("div", { class: "field" },
        h("label", { for: "token", text: "Access token" }), input,
        h("small", { id: "token-help", text: "A token from your identity provider, or a machine token (kallisti token create). It is kept in this browser tab only." })),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "button primary", text: "Sign in" })),
      outcome));
}
