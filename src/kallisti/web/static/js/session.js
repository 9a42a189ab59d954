// Who is signed in and what their roles allow (GET /session), and signing in:
// a pasted token, or the configured OAuth2 provider. With the authorization-
// code flow (PKCE), the provider sends a code back in the query and the
// service trades it for a token (POST /session/token), so the page talks to
// no one but its own service; with the implicit flow, the provider sends the
// token back in the URL fragment.

import { get, post, setToken, token } from "./api.js";
import { fill, h } from "./dom.js";

const STATE_KEY = "kallisti.oauth-state";
const VERIFIER_KEY = "kallisti.oauth-verifier";
const NEXT_KEY = "kallisti.oauth-next";
const CODE_FLOWS = ["authorizationCode", "accessCode"];
let signInProblem = null;
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

/** Why the last sign-in through the provider failed (shown on the sign-in page). */
export function providerProblem() {
  return signInProblem;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const redirectUri = () => `${window.location.origin}/ui`;

/**
 * Back from the provider with `?code=…&state=…` (or `?error=…`): trade the
 * code for a token, then clean the address. Resolves true when it was such a
 * return.
 */
export async function takeCodeFromQuery() {
  const answer = new URLSearchParams(window.location.search);
  if (!answer.has("code") && !answer.has("error")) return false;
  const expected = sessionStorage.getItem(STATE_KEY);
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  const next = sessionStorage.getItem(NEXT_KEY) || "#/";
  sessionStorage.removeItem(STATE_KEY);
  sessionStorage.removeItem(VERIFIER_KEY);
  sessionStorage.removeItem(NEXT_KEY);
  history.replaceState(null, "", `${window.location.pathname}${next.startsWith("#/") ? next : "#/"}`);
  if (answer.has("error")) {
    signInProblem = `the identity provider said ${answer.get("error")}`;
  } else if (!expected || answer.get("state") !== expected || !verifier) {
    signInProblem = "the answer did not match the sign-in this tab started; try again";
  } else {
    try {
      const traded = await post("/session/token", { code: answer.get("code"), code_verifier: verifier, redirect_uri: redirectUri() });
      setToken(traded.access_token);
      signInProblem = null;
    } catch (error) {
      signInProblem = error.message;
    }
  }
  return true;
}

/** Send the browser to the configured provider's sign-in page; `next` is
 * the console page to come back to. */
export async function signInWithProvider(next = "#/") {
  sessionStorage.setItem(NEXT_KEY, next);
  const { oauth2 } = current;
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(STATE_KEY, state);
  const url = new URL(oauth2.authorization_url);
  url.searchParams.set("client_id", oauth2.client_id);
  url.searchParams.set("redirect_uri", redirectUri());
  url.searchParams.set("state", state);
  if (CODE_FLOWS.includes(oauth2.flow)) {
    // PKCE (RFC 7636): only this tab knows the verifier the code is bound to.
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    sessionStorage.setItem(VERIFIER_KEY, verifier);
    url.searchParams.set("response_type", "code");
    if (crypto.subtle) {
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
      url.searchParams.set("code_challenge", base64url(new Uint8Array(digest)));
      url.searchParams.set("code_challenge_method", "S256");
    } else {
      // No WebCrypto outside a secure context (plain http, not loopback): the
      // RFC's fallback; such a page can be read on the way anyway.
      url.searchParams.set("code_challenge", verifier);
      url.searchParams.set("code_challenge_method", "plain");
    }
  } else {
    url.searchParams.set("response_type", "token");
  }
  window.location.assign(url.toString());
}

export function providerSignInAvailable() {
  const { oauth2 } = current;
  if (!oauth2 || !oauth2.authorization_url) return false;
  // The code is traded by the service, at its configured token endpoint.
  if (CODE_FLOWS.includes(oauth2.flow)) return Boolean(oauth2.token_url);
  return ["implicit", "token"].includes(oauth2.flow);
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
