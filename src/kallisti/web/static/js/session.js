// Who is signed in and what their roles allow (GET /session), and signing in:
// a pasted token, or the configured OAuth2 provider (implicit flow: the
// provider sends the token back in the URL fragment).

import { get, setToken, token } from "./api.js";
import { fill, h } from "./dom.js";

const STATE_KEY = "kallisti.oauth-state";
let current = { access_control: false, signed_in: false, permissions: ["public", "read", "operate", "edit", "admin"], oauth2: null };

export function session() {
  return current;
}

/** Whether the signed-in caller may do this: "read", "operate", "edit" or "admin". */
export function can(permission) {
  return current.permissions.includes(permission);
}

/** Whether the console must ask for a sign-in before showing anything. */
export function needsSignIn() {
  return current.access_control && !current.signed_in;
}

export async function loadSession() {
  current = await get("/session");
  renderSessionControl();
  return current;
}

export function signOut() {
  setToken(null);
  return loadSession();
}

/** Take a token handed back by the OAuth2 provider in the URL fragment. */
export function takeTokenFromFragment() {
  const fragment = window.location.hash.replace(/^#/, "");
  if (!fragment.includes("access_token=")) return false;
  const answer = new URLSearchParams(fragment);
  const expected = sessionStorage.getItem(STATE_KEY);
  sessionStorage.removeItem(STATE_KEY);
  if (expected && answer.get("state") === expected) setToken(answer.get("access_token"));
  history.replaceState(null, "", `${window.location.pathname}#/`);
  return true;
}

/** Send the browser to the configured provider's sign-in page. */
export function signInWithProvider() {
  const { oauth2 } = current;
  const state = crypto.getRandomValues(new Uint32Array(4)).join("-");
  sessionStorage.setItem(STATE_KEY, state);
  const url = new URL(oauth2.authorization_url);
  url.searchParams.set("response_type", "token");
  url.searchParams.set("client_id", oauth2.client_id);
  url.searchParams.set("redirect_uri", `${window.location.origin}/ui`);
  url.searchParams.set("state", state);
  window.location.assign(url.toString());
}

export function providerSignInAvailable() {
  return Boolean(current.oauth2 && current.oauth2.authorization_url
    && ["implicit", "token"].includes(current.oauth2.flow));
}

function renderSessionControl() {
  const place = document.getElementById("session");
  if (!place) return;
  if (!current.access_control) {
    fill(place);
    return;
  }
  if (!current.signed_in) {
    fill(place, h("a", { href: "#/sign-in", text: "Sign in" }));
    return;
  }
  const roles = current.roles === null ? "all rights" : current.roles.join(", ") || "no role";
  fill(place,
    h("span", { class: "session-user", text: `${current.user_id} (${roles})` }), " ",
    h("button", {
      type: "button", class: "button small", text: "Sign out",
      onclick: async () => {
        await signOut();
        window.location.hash = "#/sign-in";
      },
    }));
}

export function hasToken() {
  return Boolean(token());
}
