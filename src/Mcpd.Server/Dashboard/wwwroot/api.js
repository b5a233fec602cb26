// The admin API as the page uses it (docs/api.md): JSON requests and the /api/live Server-Sent Events stream, both
// with the caller's bearer token when the server asks for one. EventSource cannot send an Authorization header, so
// the stream is read with fetch and parsed here (text/event-stream, WHATWG HTML 9.2.6).

const TOKEN_KEY = "mcpd.token";

/** Raised when the server wants a (valid) token: the page asks for one and retries. */
export class NeedsToken extends Error {}

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) { value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY); }

function headers(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

/** The JSON answer of a GET, or an Error carrying the server's {"error": ...} text. */
export async function getJson(path, signal) {
  const response = await fetch(path, { headers: headers({ Accept: "application/json" }), signal });
  return answer(response);
}

/** PUT /api/devices/{unit}/registers/{address}?table=T with {"value": V}: the page's only write. */
export async function writeRegister(unit, table, address, value) {
  const response = await fetch(`/api/devices/${unit}/registers/${address}?table=${encodeURIComponent(table)}`, {
    method: "PUT",
    headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
    body: JSON.stringify({ value }),
  });
  return answer(response);
}

async function answer(response) {
  if (response.status === 401) {
    throw new NeedsToken(await errorText(response));
  }
  if (!response.ok) {
    throw new Error(await errorText(response));
  }
  return response.json();
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error ?? `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/**
 * Opens /api/live with `query` and calls handlers[event](data) for each event; reconnects after a failure with a
 * growing pause (1 s to 10 s). onState("live" | "reconnecting" | "token" | "refused", detail) reports the connection.
 * Returns a function that closes the stream.
 */
export function openLive(query, handlers, onState) {
  let stopped = false;
  let controller = null;
  let pause = 1000;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const response = await fetch(`/api/live${query}`, { headers: headers({ Accept: "text/event-stream" }), signal: controller.signal });
        if (response.status === 401) {
          onState("token", await errorText(response));
          return;
        }
        if (!response.ok) {
          onState("refused", await errorText(response));
          return;
        }
        onState("live");
        pause = 1000;
        await readEvents(response.body, (event, data) => handlers[event]?.(JSON.parse(data)));
      } catch (error) {
        if (stopped) {
          return;
        }
      }
      if (!stopped) {
        onState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, 10000);
      }
    }
  }

  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

async function readEvents(body, dispatch) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "message";
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value;
    let newline;
    while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (data.length > 0) {
          dispatch(event, data.join("\n"));
        }
        event = "message";
        data = [];
      } else if (line.startsWith("event:")) {
        event = line.slice(6).trim();
      } else if (line.startsWith("data:")) {
        data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      }
    }
  }
}
