// Following a trial live: the API pushes server-sent events
// (GET /trial/{id}/events) and this reads them with fetch, so the user's
// token goes along. When the stream breaks, the REST record fills in once and
// the stream is opened again after the delay the server asked for.

import { authHeaders, apiUrl, get } from "./api.js";
import { TERMINAL } from "./dom.js";

function parseEvent(block) {
  const event = { event: "message", data: "" };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") event.data += (event.data ? "\n" : "") + value;
    else event[field] = value;
  }
  return event;
}

/** An answer other than 200 from an event stream. */
export class StreamRefused extends Error {
  constructor(status) {
    super(`the event stream answered ${status}`);
    this.status = status;
  }
}

/**
 * Read the server-sent events of `path` (with the user's token) until the
 * stream ends, `signal` aborts, or `onEvent` returns false.
 */
export async function readEvents(path, signal, { onOpen, onRetry, onEvent }) {
  const response = await fetch(apiUrl(path), {
    headers: { Accept: "text/event-stream", ...authHeaders() },
    signal,
    cache: "no-store",
  });
  if (!response.ok || !response.body) throw new StreamRefused(response.status);
  if (onOpen) onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event.retry && /^\d+$/.test(event.retry) && onRetry) onRetry(Number(event.retry));
      if (onEvent(event) === false) {
        reader.cancel().catch(() => {});
        return;
      }
    }
  }
}

export const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); });
});

/**
 * Follow a trial. `onTrial(trial)` gets every version of it; `onState(state)`
 * gets "live", "reconnecting" or "ended". Returns a function that stops.
 */
export function followTrial(trialId, { onTrial, onState }) {
  const controller = new AbortController();
  const { signal } = controller;
  let retryMs = 3000;
  let ended = false;

  const finish = () => {
    ended = true;
    onState("ended");
  };

  async function readStream() {
    await readEvents(`/trial/${trialId}/events`, signal, {
      onOpen: () => onState("live"),
      onRetry: (ms) => { retryMs = ms; },
      onEvent: (event) => {
        if (event.event === "trial") onTrial(JSON.parse(event.data));
        if (event.event === "end") {
          finish();
          return false;
        }
        return true;
      },
    });
  }

  (async () => {
    while (!ended && !signal.aborted) {
      try {
        await readStream();
      } catch {
        if (signal.aborted) return;
      }
      if (ended || signal.aborted) return;
      onState("reconnecting");
      try {
        const trial = await get(`/trial/${trialId}`);
        onTrial(trial);
        if (TERMINAL.has(trial.status)) {
          finish();
          return;
        }
      } catch {
        // The service is unreachable: keep the page as it is and try again.
      }
      await sleep(retryMs, signal);
    }
  })();

  return () => controller.abort();
}
