// Tiny DOM helpers: h() builds elements, no framework.

/** h("div", {class: "x", onclick: fn, dataset: {a: 1}}, child, "text", [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "class") {
      el.className = value;
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Pretty JSON for display. */
export function pretty(value) {
  return value === undefined ? "" : JSON.stringify(value, null, 2);
}

/** Compact JSON for table cells. */
export function compact(value, max = 120) {
  const text = JSON.stringify(value) ?? "null";
  return text.length > max ? text.slice(0, max) + "…" : text;
}

/** A table from rows: columns = [[header, row => cell], ...]; rowAttrs(row) for the <tr>. */
export function table(rows, columns, rowAttrs = () => ({})) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", rowAttrs(row), columns.map(([, cell]) => h("td", {}, cell(row))))),
    ),
  );
}

/** The notice a page shows when the built-in it needs is not running. */
export function notEnabled(builtin, detail = "") {
  return h(
    "div",
    { class: "notice", dataset: { missing: builtin } },
    h("strong", {}, `${builtin} is not enabled`),
    ` on this engine. Add it to the workers: list of config.yaml to use this page.`,
    detail ? h("div", { class: "muted" }, detail) : null,
  );
}

/** An error box. */
export function errorBox(error) {
  return h("div", { class: "error" }, h("code", {}, error.code), " ", error.message);
}

/** Milliseconds since epoch -> local time text. */
export function when(ms) {
  if (!ms) return "";
  return new Date(ms).toLocaleString();
}

/** True when a call failed because the function is not registered. */
export function isMissing(reply) {
  return !reply.ok && reply.error && reply.error.code === "function_not_found";
}

/** Call fn at most once per `ms` burst of calls (live events can come in floods). */
export function debounce(fn, ms = 100) {
  let timer = null;
  const wrapped = () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
