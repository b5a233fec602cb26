// The few charts of the dashboard, drawn by hand in SVG: a line chart with a time axis and a sparkline. Colours come
// from CSS custom properties (--series-1...), so the light and dark themes apply to them too.

const SVG = "http://www.w3.org/2000/svg";

function node(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) {
    element.setAttribute(key, value);
  }
  return element;
}

/** A step up from `value` on a 1-2-5 scale, so axes read as round numbers. */
function niceCeiling(value) {
  if (!(value > 0)) {
    return 1;
  }
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * power) {
      return step * power;
    }
  }
  return 10 * power;
}

/**
 * Draws `series` ([{ name, values: [number|null], className }]) in `svg`, newest value at the right, the y axis from
 * 0 to a round maximum labelled with `format`. `points` is how many samples the x axis holds.
 */
export function lineChart(svg, series, { points, format = (v) => `${v}` }) {
  const width = 600;
  const height = 180;
  const left = 56;
  const right = 8;
  const top = 10;
  const bottom = 20;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const all = series.flatMap((s) => s.values).filter((v) => v != null);
  const max = niceCeiling(Math.max(0, ...all));
  const x = (i) => left + ((width - left - right) * i) / Math.max(1, points - 1);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);

  for (const fraction of [0, 0.5, 1]) {
    const value = max * fraction;
    svg.append(node("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }));
    const label = node("text", { x: left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" });
    label.textContent = format(value);
    svg.append(label);
  }
  const now = node("text", { x: width - right, y: height - 4, class: "axis", "text-anchor": "end" });
  now.textContent = "now";
  const past = node("text", { x: left, y: height - 4, class: "axis" });
  past.textContent = `−${points} s`;
  svg.append(now, past);

  for (const s of series) {
    const offset = points - s.values.length;
    let path = "";
    let pen = "M";
    s.values.forEach((value, i) => {
      if (value == null) {
        pen = "M";
        return;
      }
      path += `${pen}${x(offset + i).toFixed(1)},${y(value).toFixed(1)} `;
      pen = "L";
    });
    svg.append(node("path", { d: path, class: `line ${s.className}` }));
  }
}

/**
 * A small line of `values` (numbers or null), scaled to its own range, newest at the right. The x axis holds at least
 * 30 samples and at most `capacity`, so a short history is not squeezed into the right edge.
 */
export function sparkline(values, capacity) {
  capacity = Math.min(capacity, Math.max(30, values.length));
  const width = 96;
  const height = 22;
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, class: "spark", "aria-hidden": "true", preserveAspectRatio: "none" });
  const present = values.filter((v) => v != null);
  if (present.length < 2) {
    return svg;
  }
  const min = Math.min(...present);
  const max = Math.max(...present);
  const span = max - min || 1;
  const offset = capacity - values.length;
  let path = "";
  let pen = "M";
  values.forEach((value, i) => {
    if (value == null) {
      pen = "M";
      return;
    }
    const px = ((offset + i) * (width - 2)) / Math.max(1, capacity - 1) + 1;
    const py = max === min ? height / 2 : height - 2 - ((value - min) * (height - 4)) / span;
    path += `${pen}${px.toFixed(1)},${py.toFixed(1)} `;
    pen = "L";
  });
  svg.append(node("path", { d: path, "vector-effect": "non-scaling-stroke" }));
  return svg;
}
