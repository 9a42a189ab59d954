// Moving between console pages from code (after a save, a run, a delete).

/** Go to a console page, e.g. navigate("#/trials/<id>"); reloads it when already there. */
export function navigate(fragment) {
  if (window.location.hash === fragment) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else window.location.hash = fragment;
}

/** A fragment with a query, e.g. fragmentWith("#/trials", {status: "Failed"}). */
export function fragmentWith(base, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return text ? `${base}?${text}` : base;
}
