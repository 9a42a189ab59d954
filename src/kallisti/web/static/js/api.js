// The one place the console talks to the API: /api/v1 of the service that
// served the page, with the signed-in user's token when there is one.

const TOKEN_KEY = "kallisti.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders() {
  const value = token();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

/** An answer other than 2xx; `errors` holds the API's named fields. */
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body === "object"
      ? body.message || body.detail || JSON.stringify(body)
      : String(body || "no answer");
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.body = body;
    this.errors = (body && Array.isArray(body.errors)) ? body.errors : [];
  }
}

export function apiUrl(path, query = {}) {
  const url = new URL(`/api/v1${path}`, window.location.origin);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url;
}

/** Call the API; resolves to {data, total, response}, rejects with ApiError. */
export async function request(method, path, { query, body } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, { detail: `The service cannot be reached (${error.message}).` });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  const total = response.headers.get("X-Total-Count");
  return { data, total: total === null ? null : Number(total), response };
}

export const get = async (path, query) => (await request("GET", path, { query })).data;
export const post = async (path, body) => (await request("POST", path, { body })).data;
export const put = async (path, body) => (await request("PUT", path, { body })).data;
export const del = async (path) => (await request("DELETE", path)).data;

/** Download an API document (a report) as a file, with the user's token. */
export async function download(path, query, filename) {
  const response = await fetch(apiUrl(path, query), { headers: authHeaders() });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    throw new ApiError(response.status, body);
  }
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

let openapi = null;

/** The API's own OpenAPI document (fetched once). */
export async function openApiDocument() {
  if (!openapi) openapi = get("/openapi.json");
  return openapi;
}

let experimentNames = null;

/** id → name of live experiments (for lists of trials); refreshed on demand. */
export async function experimentIndex(refresh = false) {
  if (!experimentNames || refresh) {
    experimentNames = get("/experiment").then(
      (items) => new Map(items.map((e) => [e.id, e])),
      (error) => { experimentNames = null; throw error; },
    );
  }
  return experimentNames;
}

/**
 * The newest `count` trials matching `query`, newest first, and how many match
 * in all. The API lists oldest first, so this reads the total, then the tail.
 */
export async function newestTrials(query, count, skip = 0) {
  const head = await request("GET", "/trial", { query: { ...query, limit: 1 } });
  const total = head.total ?? 0;
  const end = Math.max(total - skip, 0);
  const offset = Math.max(end - count, 0);
  if (end === 0) return { trials: [], total };
  const page = await request("GET", "/trial", { query: { ...query, limit: end - offset, offset } });
  return { trials: page.data.reverse(), total };
}
