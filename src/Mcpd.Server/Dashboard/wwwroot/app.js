// mcpd's dashboard (docs/dashboard.md): plain JavaScript over the admin API (docs/api.md) and its live stream.
// Views are hash routes: #/ (overview), #/device/UNIT?table=T&from=N&count=N, #/traffic, #/connections,
// #/upstreams, #/config. Every text from the server goes in with textContent, never as HTML.
import { getJson, openLive, writeRegister, NeedsToken, setToken, token } from "./api.js";
import { lineChart, sparkline } from "./charts.js";

const main = document.getElementById("main");
const liveBadge = document.getElementById("live");
const callerBadge = document.getElementById("caller");
const TRAFFIC_POINTS = 120;
const LOG_ROWS = 200;
const PAGE = 125;

/** What the stream told us last; views draw from it. */
const state = { hello: null, devices: [], upstreams: {}, traffic: [], requests: [] };
let closeLive = null;
let leaveView = null;

// ---------------------------------------------------------------------------------------------------- helpers

/** h("td", { class: "x" }, "text", child): an element with attributes (on* as listeners) and children. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value == null || value === false) {
      continue;
    }
    if (key.startsWith("on")) {
      element.addEventListener(key.slice(2), value);
    } else {
      element.setAttribute(key, value === true ? "" : value);
    }
  }
  element.append(...children.flat().filter((c) => c != null).map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return element;
}

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

function formatValue(reading) {
  if (reading.value === undefined || reading.value === null) {
    return String(reading.raw);
  }
  const value = typeof reading.value === "number" ? number.format(reading.value) : String(reading.value);
  return reading.unit ? `${value} ${reading.unit}` : value;
}

function hex(raw, table) {
  return table === "coils" || table === "discrete" ? (raw ? "1" : "0") : `0x${raw.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The Modbus reference of a zero-based address: 0xxxx coils, 1xxxx discrete, 3xxxx input, 4xxxx holding (6 digits past 9999). */
function reference(table, address) {
  const prefix = { coils: 0, discrete: 1, input: 3, holding: 4 }[table];
  const oneBased = address + 1;
  return oneBased > 9999 ? `${prefix}${String(oneBased).padStart(5, "0")}` : `${prefix}${String(oneBased).padStart(4, "0")}`;
}

function micros(us) {
  if (us == null) {
    return "–";
  }
  return us >= 1000 ? `${number.format(us / 1000)} ms` : `${number.format(us)} µs`;
}

function ago(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function clock(iso) {
  const d = new Date(iso);
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

function stateClass(stateName) {
  return { Up: "ok", Degraded: "warn", CircuitOpen: "bad", Down: "bad" }[stateName] ?? "muted";
}

function badge(text, kind) {
  return h("span", { class: `badge ${kind}` }, text);
}

function panel(title, ...content) {
  return h("section", { class: "panel" }, h("h2", {}, title), ...content);
}

function problem(text) {
  return h("p", { class: "error", role: "alert" }, text);
}

// ---------------------------------------------------------------------------------------------------- live stream

function setLive(status, detail) {
  liveBadge.className = `live ${status}`;
  liveBadge.textContent = { live: "live", reconnecting: "reconnecting", token: "signed out", refused: "refused" }[status] ?? status;
  liveBadge.title = detail ?? "";
  if (status === "token") {
    askToken(detail);
  } else if (status === "refused") {
    main.replaceChildren(problem(detail));
  }
}

/** Opens the stream for the current view; `extra` handlers see events after the shared state is updated. */
function stream(query, extra = {}) {
  closeLive?.();
  closeLive = openLive(query, {
    hello(data) {
      state.hello = data;
      callerBadge.textContent = data.caller;
      callerBadge.title = data.write ? "may write registers" : "read only";
      extra.hello?.(data);
    },
    devices(data) { state.devices = data; extra.devices?.(data); },
    upstreams(data) { state.upstreams = data; extra.upstreams?.(data); },
    traffic(data) {
      state.traffic = [...state.traffic, ...data].slice(-TRAFFIC_POINTS);
      extra.traffic?.(data);
    },
    requests(data) { extra.requests?.(data); },
    history(data) { extra.history?.(data); },
    registers(data) { extra.registers?.(data); },
    problem(data) { extra.problem?.(data); },
  }, setLive);
}

function askToken(reason) {
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-reason").textContent = `${reason} Enter a bearer token of admin.tokens; it is kept in this tab only.`;
  document.getElementById("signin").hidden = false;
  if (!dialog.open) {
    dialog.showModal();
  }
}

document.getElementById("token-form").addEventListener("submit", () => {
  setToken(document.getElementById("token-input").value.trim());
  document.getElementById("token-input").value = "";
  route();
});
document.getElementById("signin").addEventListener("click", () => askToken("Sign in again, or with another token."));

// ---------------------------------------------------------------------------------------------------- theme

const THEME_KEY = "mcpd.theme";
function applyTheme(theme) {
  if (theme) {
    document.documentElement.dataset.theme = theme;
  } else {
    delete document.documentElement.dataset.theme;
  }
}
applyTheme(localStorage.getItem(THEME_KEY));
document.getElementById("theme").addEventListener("click", () => {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === "dark"
    : matchMedia("(prefers-color-scheme: dark)").matches;
  const next = dark ? "light" : "dark";
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
});

// ---------------------------------------------------------------------------------------------------- shared pieces

function devicesTable() {
  const body = h("tbody");
  function fill() {
    body.replaceChildren(...state.devices.map((d) => {
      const upstream = d.kind === "gateway"
        ? h("span", { class: `dot ${stateClass(d.state)}`, title: d.state }, `${d.upstream} · ${d.state}`)
        : "";
      const href = `#/device/${d.unit}`;
      return h("tr", { class: "link", "data-unit": d.unit, onclick: () => { location.hash = href; } },
        h("td", { class: "num" }, h("a", { href }, String(d.unit))),
        h("td", {}, d.name ?? ""),
        h("td", {}, badge(d.kind, d.kind)),
        h("td", { class: "state" }, upstream),
        h("td", { class: "num" }, d.kind === "simulated" ? String(d.registers) : ""));
    }));
  }
  fill();
  const table = h("table", { class: "grid devices" },
    h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Unit"), h("th", {}, "Name"), h("th", {}, "Kind"), h("th", {}, "Upstream"), h("th", { class: "num" }, "Map entries"))),
    body);
  return { element: h("div", { class: "scroll" }, table), fill };
}

function trafficCharts(compact) {
  const rate = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  const latency = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  rate.classList.add("chart");
  latency.classList.add("chart");
  const figures = h("div", { class: "figures" });
  function draw() {
    const t = state.traffic;
    lineChart(rate, [
      { name: "Modbus", values: t.map((s) => s.modbus.rps), className: "s1" },
      { name: "MCP", values: t.map((s) => s.mcp.rps), className: "s2" },
    ], { points: TRAFFIC_POINTS, format: (v) => number.format(v) });
    lineChart(latency, [
      { name: "Modbus p50", values: t.map((s) => s.modbus.p50Us), className: "s1" },
      { name: "Modbus p99", values: t.map((s) => s.modbus.p99Us), className: "s1 dashed" },
      { name: "MCP p50", values: t.map((s) => s.mcp.p50Us), className: "s2" },
      { name: "MCP p99", values: t.map((s) => s.mcp.p99Us), className: "s2 dashed" },
    ], { points: TRAFFIC_POINTS, format: micros });
    const last = t.at(-1);
    figures.replaceChildren(...["modbus", "mcp"].map((p) => h("div", { class: `figure ${p === "modbus" ? "s1" : "s2"}` },
      h("span", { class: "label" }, p === "modbus" ? "Modbus" : "MCP"),
      h("span", { class: "big", "data-figure": `${p}-rps` }, last ? `${number.format(last[p].rps)}/s` : "–"),
      h("span", { class: "small" }, last ? `p50 ${micros(last[p].p50Us)} · p99 ${micros(last[p].p99Us)} · max ${micros(last[p].maxUs)}` : ""))));
  }
  draw();
  const legend = h("p", { class: "legend" },
    h("span", { class: "key s1" }, "Modbus"), h("span", { class: "key s2" }, "MCP"), compact ? "" : h("span", { class: "key dashed" }, "p99 (dashed), p50 (solid)"));
  const element = h("div", { class: "charts" },
    figures,
    h("div", { class: "plots" },
      h("figure", {}, h("figcaption", {}, "Requests per second"), rate),
      h("figure", {}, h("figcaption", {}, "Latency, p50 and p99"), latency)),
    legend);
  return { element, draw };
}

/** The pausable request log: newest first, at most LOG_ROWS rows; while paused new rows wait. */
function requestLog(showUnit) {
  const body = h("tbody");
  const waiting = [];
  let paused = false;
  const count = h("span", { class: "muted" });
  const pause = h("button", { type: "button", class: "ghost", "data-action": "pause" }, "Pause");
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      add(waiting.splice(0));
    }
    count.textContent = "";
  });
  function row(r) {
    return h("tr", { class: r.ok ? "" : "failed", title: `request ${r.requestHex}\nresponse ${r.responseHex || "(none)"}` },
      h("td", { class: "mono" }, clock(r.at)),
      h("td", { class: "mono" }, r.client ?? r.connection ?? ""),
      showUnit ? h("td", { class: "num" }, String(r.unit)) : null,
      h("td", { class: "mono" }, r.function),
      h("td", {}, r.summary),
      h("td", { class: r.ok ? "ok-text" : "bad-text" }, r.result),
      h("td", { class: "num mono" }, micros(r.durationUs)));
  }
  function add(requests) {
    if (paused) {
      waiting.push(...requests);
      count.textContent = `${waiting.length} new`;
      return;
    }
    body.prepend(...requests.slice().reverse().map(row));
    while (body.rows.length > LOG_ROWS) {
      body.lastElementChild.remove();
    }
  }
  const element = h("div", { class: "log" },
    h("div", { class: "toolbar" }, pause, count, h("span", { class: "muted hint" }, "Modbus TCP requests as answered; sampled under load (docs/dashboard.md).")),
    h("div", { class: "scroll" }, h("table", { class: "grid requests" },
      h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Client"), showUnit ? h("th", { class: "num" }, "Unit") : null, h("th", {}, "Function"), h("th", {}, "Request"), h("th", {}, "Result"), h("th", { class: "num" }, "Duration"))),
      body)));
  return { element, add };
}

// ---------------------------------------------------------------------------------------------------- views

function overview() {
  const devices = devicesTable();
  const charts = trafficCharts(true);
  const upstreams = h("ul", { class: "upstreams" });
  function fillUpstreams() {
    const entries = Object.entries(state.upstreams);
    upstreams.replaceChildren(...(entries.length === 0
      ? [h("li", { class: "muted" }, "No upstreams configured: every device is simulated.")]
      : entries.map(([name, u]) => h("li", { "data-upstream": name }, h("span", { class: `dot ${stateClass(u.state)}` }, name), " ", h("span", { class: "muted" }, `${u.kind} ${u.address ?? ""} · ${u.state}`)))));
  }
  fillUpstreams();
  main.replaceChildren(
    h("div", { class: "columns" },
      panel("Devices", devices.element),
      panel("Traffic", charts.element),
      panel("Upstreams", upstreams)));
  stream("", { devices: devices.fill, traffic: charts.draw, upstreams: fillUpstreams });
}

function traffic() {
  const charts = trafficCharts(false);
  const log = requestLog(true);
  main.replaceChildren(panel("Traffic", charts.element), panel("Last requests, every unit", log.element));
  stream("", { traffic: charts.draw, requests: log.add });
}

function device(unit, params) {
  const info = h("p", { class: "muted" });
  const tableSwitch = h("div", { class: "tabs", role: "tablist" });
  const filter = h("input", { type: "search", placeholder: "Filter by name", "aria-label": "filter by name" });
  const fromInput = h("input", { type: "number", min: 0, max: 65535, "aria-label": "first address", class: "short" });
  const countInput = h("input", { type: "number", min: 1, max: PAGE, "aria-label": "how many", class: "short" });
  const body = h("tbody");
  const message = h("div", { class: "message", "aria-live": "polite" });
  const log = requestLog(false);
  const history = new Map(); // address -> values, one a second
  const rows = new Map(); // address -> { row, value cell, raw cell, spark cell, last raw }
  let current = null; // the last registers event
  let table = params.get("table");
  let from = params.has("from") ? Number(params.get("from")) : null;
  let count = params.has("count") ? Number(params.get("count")) : null;
  let historyCapacity = 120;

  function choose() {
    const d = state.devices.find((x) => x.unit === unit);
    if (!d) {
      return false;
    }
    const mapped = d.mapped ?? {};
    if (!table) {
      table = Object.keys(mapped)[0] ?? "holding";
    }
    if (from == null) {
      from = mapped[table]?.[0] ?? 0;
    }
    if (count == null) {
      count = mapped[table] ? Math.min(PAGE, mapped[table][1] - mapped[table][0] + 1) : 20;
    }
    info.replaceChildren(badge(d.kind, d.kind), " ", d.name ?? "",
      d.kind === "gateway" ? h("span", { class: `dot ${stateClass(d.state)}` }, ` ${d.upstream} · ${d.state}`) : "",
      d.kind === "simulated" ? ` · ${d.registers} map entries, ${d.generated} generated` : "");
    tableSwitch.replaceChildren(...["holding", "input", "coils", "discrete"].map((t) =>
      h("a", { role: "tab", href: `#/device/${unit}?table=${t}`, "aria-selected": String(t === table), class: mapped[t] ? "mapped" : "" }, t)));
    fromInput.value = from;
    countInput.value = count;
    return true;
  }

  function go(nextFrom, nextCount) {
    location.hash = `#/device/${unit}?table=${table}&from=${Math.max(0, nextFrom)}&count=${Math.min(PAGE, Math.max(1, nextCount))}`;
  }
  fromInput.addEventListener("change", () => go(Number(fromInput.value), count));
  countInput.addEventListener("change", () => go(from, Number(countInput.value)));
  filter.addEventListener("input", applyFilter);

  function applyFilter() {
    const text = filter.value.trim().toLowerCase();
    for (const { row, search } of rows.values()) {
      row.hidden = text !== "" && !search.includes(text);
    }
  }

  function build(data) {
    rows.clear();
    body.replaceChildren();
    // A simulated device is written in its tables directly, any table; a real one over Modbus, coils and holding only.
    const kind = state.devices.find((x) => x.unit === unit)?.kind;
    const canWrite = state.hello?.write === true && (kind === "simulated" || data.table === "coils" || data.table === "holding");
    let entryName = null;
    let entryLeft = 0;
    for (const reading of data.registers) {
      // The second register of a 32-bit entry belongs to the entry above it.
      const continued = reading.name == null && entryLeft > 0;
      entryLeft = reading.name != null ? { uint32: 1, int32: 1, float32: 1 }[reading.type] ?? 0 : entryLeft - 1;
      entryName = reading.name ?? entryName;
      const valueCell = h("td", { class: "value" });
      const rawCell = h("td", { class: "mono raw" });
      const sparkCell = h("td", { class: "sparkcell" });
      const row = h("tr", { "data-address": reading.address, class: continued ? "continued" : null },
        h("td", { class: "num mono" }, String(reading.address), h("span", { class: "ref" }, reference(data.table, reading.address))),
        h("td", { class: "name" }, continued ? `↳ ${entryName}` : reading.name ?? "", reading.readOnly ? h("span", { class: "badge ro", title: "clients may not write it" }, "read-only") : ""),
        valueCell,
        rawCell,
        sparkCell,
        h("td", { class: "description" }, reading.description ?? ""));
      const entry = { row, valueCell, rawCell, sparkCell, raw: null, search: `${continued ? entryName : reading.name ?? ""} ${reading.description ?? ""} ${reading.address}`.toLowerCase() };
      rows.set(reading.address, entry);
      body.append(row);
      if (canWrite && !continued) {
        valueCell.classList.add("writable");
        valueCell.title = "click to write a new value";
        valueCell.addEventListener("click", () => edit(entry, reading.address));
      }
    }
    applyFilter();
  }

  function update(data) {
    const same = current && current.table === data.table && current.from === data.from && current.count === data.count;
    current = data;
    if (!same) {
      build(data);
    }
    for (const reading of data.registers) {
      const entry = rows.get(reading.address);
      if (!entry || entry.editing) {
        continue;
      }
      entry.reading = reading;
      const text = formatValue(reading);
      if (entry.raw !== null && entry.raw !== reading.raw) {
        entry.row.classList.remove("changed");
        void entry.row.offsetWidth; // restarts the highlight
        entry.row.classList.add("changed");
      }
      entry.raw = reading.raw;
      entry.valueCell.textContent = entry.row.classList.contains("continued") ? "" : text;
      entry.valueCell.dataset.value = text;
      entry.rawCell.textContent = hex(reading.raw, data.table);
    }
  }

  function edit(entry, address) {
    if (entry.editing) {
      return;
    }
    entry.editing = true;
    entry.valueCell.classList.add("editing");
    const reading = entry.reading;
    const input = h("input", { type: "text", value: reading.value ?? reading.raw, "aria-label": `new value of ${reading.name ?? address}`, class: "edit" });
    const error = h("span", { class: "error-text", role: "alert" });
    const confirm = h("button", { type: "submit", "data-action": "write" }, "Write");
    const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
    const form = h("form", { class: "editor" }, input, reading.unit ? h("span", { class: "unit" }, reading.unit) : "", confirm, cancel, error);
    let armed = false;
    function close() {
      entry.editing = false;
      entry.valueCell.classList.remove("editing");
      entry.valueCell.replaceChildren(formatValue(entry.reading));
    }
    cancel.addEventListener("click", (e) => { e.stopPropagation(); close(); });
    form.addEventListener("click", (e) => e.stopPropagation());
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!armed) {
        // Two steps: the first press says what will be written, the second writes it.
        armed = true;
        confirm.textContent = "Confirm";
        confirm.dataset.action = "confirm";
        error.className = "hint-text";
        error.textContent = `Write ${text}${reading.unit ? ` ${reading.unit}` : ""} to ${reading.name ?? `${data().table} ${address}`}?`;
        return;
      }
      confirm.disabled = true;
      try {
        await writeRegister(unit, current.table, address, parse(text, reading));
        close();
        message.replaceChildren(h("p", { class: "ok-text" }, `Wrote ${text} to ${reading.name ?? address}.`));
      } catch (failure) {
        if (failure instanceof NeedsToken) {
          askToken(failure.message);
        }
        armed = false;
        confirm.disabled = false;
        confirm.textContent = "Write";
        confirm.dataset.action = "write";
        error.className = "error-text";
        error.textContent = failure.message;
      }
    });
    entry.valueCell.replaceChildren(form);
    input.focus();
    input.select();
  }

  function data() { return current ?? { table }; }

  /** The JSON value of what was typed: a number for a numeric entry, true/false for a bit, else the text (the server checks it). */
  function parse(text, reading) {
    if (reading.type === "string") {
      return text;
    }
    if (current.table === "coils" || current.table === "discrete") {
      const bit = { true: true, on: true, 1: true, false: false, off: false, 0: false }[text.toLowerCase()];
      return bit ?? text;
    }
    return text !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
  }

  function seed(data) {
    historyCapacity = state.hello?.historySeconds ?? 120;
    history.clear();
    for (const [address, values] of Object.entries(data.registers)) {
      history.set(Number(address), values);
    }
    drawSparks();
  }

  function drawSparks() {
    for (const [address, entry] of rows) {
      const values = history.get(address);
      entry.sparkCell.replaceChildren(values ? sparkline(values, historyCapacity) : "");
    }
  }

  // Sparklines move once a second with the latest value, as the server's history does.
  const sampler = setInterval(() => {
    if (!current) {
      return;
    }
    for (const reading of current.registers) {
      if (history.has(reading.address) && typeof reading.value !== "string") {
        const values = history.get(reading.address);
        values.push(typeof reading.value === "boolean" ? Number(reading.value) : reading.value ?? null);
        if (values.length > historyCapacity) {
          values.shift();
        }
      }
    }
    drawSparks();
  }, 1000);

  main.replaceChildren(
    h("nav", { class: "crumbs" }, h("a", { href: "#/" }, "Devices"), " / ", `unit ${unit}`),
    h("h1", {}, `Unit ${unit}`),
    info,
    panel("Registers",
      h("div", { class: "toolbar" }, tableSwitch,
        h("label", {}, "from ", fromInput), h("label", {}, "count ", countInput),
        h("button", { type: "button", class: "ghost", onclick: () => go(from - count, count) }, "◀"),
        h("button", { type: "button", class: "ghost", onclick: () => go(from + count, count) }, "▶"),
        filter),
      message,
      h("div", { class: "scroll" }, h("table", { class: "grid registers" },
        h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Address"), h("th", {}, "Name"), h("th", {}, "Value"), h("th", { class: "raw" }, "Raw"), h("th", {}, "Last 2 min"), h("th", { class: "description" }, "Description"))),
        body))),
    panel("Last requests to this unit", log.element));

  function start() {
    if (!choose()) {
      // Not known yet (the first devices event opens the stream for the range) or no such unit.
      return false;
    }
    stream(`?unit=${unit}&table=${table}&from=${from}&count=${count}`, {
      devices: choose,
      registers: (d) => { message.replaceChildren(); update(d); },
      problem: (p) => message.replaceChildren(problem(p.error)),
      history: seed,
      requests: log.add,
    });
    return true;
  }

  if (!start()) {
    // The device list comes first, from a short request (no range yet to stream).
    getJson("/api/devices").then((devices) => {
      state.devices = devices;
      if (!devices.some((d) => d.unit === unit)) {
        main.replaceChildren(problem(`no device with unit ${unit}`));
        return;
      }
      start();
    }).catch((failure) => failure instanceof NeedsToken ? askToken(failure.message) : main.replaceChildren(problem(failure.message)));
  }
  return () => clearInterval(sampler);
}

function connections() {
  const connectionsBody = h("tbody");
  const sessionsBody = h("tbody");
  const sessionsNote = h("p", { class: "muted" });
  const message = h("div");
  async function refresh() {
    try {
      const [list, sessions] = await Promise.all([getJson("/api/connections"), getJson("/api/sessions?limit=200")]);
      message.replaceChildren();
      connectionsBody.replaceChildren(...(list.length === 0 ? [h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No Modbus or MCP connection."))] : list.map((c) =>
        h("tr", {},
          h("td", { class: "mono" }, c.remote ?? ""),
          h("td", {}, badge(c.listener, c.listener)),
          h("td", { class: "num" }, ago(c.connectedAt)),
          h("td", { class: "num" }, `${number.format(c.idleSeconds)} s`),
          h("td", { class: "num" }, number.format(c.requests)),
          h("td", { class: "mono" }, c.session ?? ""),
          h("td", { class: "mono muted" }, c.id)))));
      sessionsNote.textContent = `store: ${sessions.store}`;
      sessionsBody.replaceChildren(...(sessions.sessions.length === 0 ? [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No session."))] : sessions.sessions.map((s) =>
        h("tr", {},
          h("td", { class: "mono" }, s.id),
          h("td", {}, s.clientId ?? ""),
          h("td", { class: "num" }, `${Math.round(s.ttlSeconds)} s`),
          h("td", { class: "num" }, ago(s.createdAt)),
          h("td", { class: "mono muted" }, s.connection ? `${s.node ?? ""} ${s.connection}` : "not bound")))));
    } catch (failure) {
      if (failure instanceof NeedsToken) {
        askToken(failure.message);
      } else {
        message.replaceChildren(problem(failure.message));
      }
    }
  }
  main.replaceChildren(
    message,
    panel("Connections", h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, h("th", {}, "Remote"), h("th", {}, "Protocol"), h("th", { class: "num" }, "Age"), h("th", { class: "num" }, "Idle"), h("th", { class: "num" }, "Requests"), h("th", {}, "Session"), h("th", {}, "Id"))),
      connectionsBody))),
    panel("Sessions", sessionsNote, h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, h("th", {}, "Id (prefix)"), h("th", {}, "Client"), h("th", { class: "num" }, "TTL"), h("th", { class: "num" }, "Age"), h("th", {}, "Held by"))),
      sessionsBody))));
  refresh();
  const timer = setInterval(refresh, 2000);
  stream("");
  return () => clearInterval(timer);
}

function upstreams() {
  const list = h("div", { class: "cards" });
  function fill() {
    const entries = Object.entries(state.upstreams);
    list.replaceChildren(...(entries.length === 0 ? [h("p", { class: "muted" }, "No upstreams configured: every device is simulated.")] : entries.map(([name, u]) =>
      h("article", { class: `card ${stateClass(u.state)}`, "data-upstream": name },
        h("h3", {}, h("span", { class: `dot ${stateClass(u.state)}` }, name)),
        h("p", {}, `${u.kind} · ${u.address ?? ""}`),
        h("p", { class: "state-name" }, u.state),
        h("ol", { class: "timeline" }, ...u.history.slice().reverse().map((c) =>
          h("li", {}, h("span", { class: `dot ${stateClass(c.state)}` }, c.state), " ", h("span", { class: "muted" }, `${clock(c.at)} (${ago(c.at)} ago)`))))))));
  }
  fill();
  main.replaceChildren(panel("Upstreams", h("p", { class: "muted" }, "State changes seen each second, the last 20 per upstream."), list));
  stream("", { upstreams: fill });
}

function config() {
  const body = h("tbody");
  const reload = h("div");
  const filter = h("input", { type: "search", placeholder: "Filter keys", "aria-label": "filter keys" });
  let settings = [];
  function fill() {
    const text = filter.value.trim().toLowerCase();
    body.replaceChildren(...settings.filter((s) => text === "" || s.key.toLowerCase().includes(text) || s.value.toLowerCase().includes(text))
      .map((s) => h("tr", {}, h("td", { class: "mono" }, s.key), h("td", { class: "mono" }, s.value))));
  }
  filter.addEventListener("input", fill);
  main.replaceChildren(panel("Last reload", reload), panel("Effective configuration", h("div", { class: "toolbar" }, filter), h("div", { class: "scroll" }, h("table", { class: "grid config" },
    h("thead", {}, h("tr", {}, h("th", {}, "Key"), h("th", {}, "Value"))), body))));
  getJson("/api/config").then((c) => {
    settings = c.settings;
    const r = c.lastReload;
    reload.replaceChildren(r == null
      ? h("p", { class: "muted" }, c.file ? `Watching ${c.file}: no change since the start.` : "No configuration file is watched (mcpd runs on its defaults and flags).")
      : h("div", {}, h("p", {}, badge(r.accepted ? "applied" : "rejected", r.accepted ? "ok" : "bad"), ` ${clock(r.at)} (${ago(r.at)} ago)`),
        r.problems.length ? h("ul", { class: "problems" }, ...r.problems.map((p) => h("li", {}, p))) : ""));
    fill();
  }).catch((failure) => failure instanceof NeedsToken ? askToken(failure.message) : main.replaceChildren(problem(failure.message)));
  stream("");
}

// ---------------------------------------------------------------------------------------------------- router

function route() {
  leaveView?.();
  leaveView = null;
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  const view = parts[0] ?? "overview";
  for (const link of document.querySelectorAll("#nav a")) {
    link.setAttribute("aria-current", link.dataset.view === view || (view === "device" && link.dataset.view === "overview") ? "page" : "false");
  }
  if (view === "device" && parts[1] != null) {
    leaveView = device(Number(parts[1]), new URLSearchParams(query));
  } else {
    leaveView = ({ traffic, connections, upstreams, config }[view] ?? overview)() ?? null;
  }
}

window.addEventListener("hashchange", route);
document.getElementById("signin").hidden = token() == null;
route();
