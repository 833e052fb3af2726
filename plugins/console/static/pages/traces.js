// Traces: recent traces, and one trace as a waterfall.
import { h, fill, table, errorBox, notEnabled, isMissing } from "../dom.js";

const ms = (span) => (span.end_time_unix_nano ? (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6 : 0);

function flatten(nodes, depth, out) {
  for (const node of nodes) {
    out.push([node, depth]);
    flatten(node.children || [], depth + 1, out);
  }
  return out;
}

// The reads the console makes to draw its pages: in process, so with no caller worker.
const READS = new Set(
  ["state::list", "state::list_groups", "stream::list", "stream::list_all", "cron::list", "console::info"].map(
    (id) => `call ${id}`,
  ),
);
const consoleRead = (span) =>
  READS.has(span.name) && !(span.attributes || []).some(([key]) => key === "iii.caller.worker_id");

export async function render(root, api, traceId) {
  const list = await api.call("engine::traces::list", { limit: 200 });
  if (isMissing(list)) return fill(root, h("h1", {}, "Traces"), notEnabled("iii-observability"));
  if (!list.ok) return fill(root, h("h1", {}, "Traces"), errorBox(list.error));
  const hide = h("input", { type: "checkbox", id: "hide-console", checked: localStorage.iiiShowConsole !== "yes" });
  hide.addEventListener("change", () => {
    localStorage.iiiShowConsole = hide.checked ? "no" : "yes";
    dispatchEvent(new HashChangeEvent("hashchange"));
  });
  const spans = list.result.spans.filter((s) => !(hide.checked && consoleRead(s)));
  const waterfall = h("div", { id: "waterfall" });
  if (traceId) {
    const tree = await api.call("engine::traces::tree", { trace_id: traceId });
    if (!tree.ok) fill(waterfall, errorBox(tree.error));
    else {
      const rows = flatten(tree.result.roots, 0, []);
      const start = Math.min(...rows.map(([s]) => s.start_time_unix_nano));
      const end = Math.max(...rows.map(([s]) => s.end_time_unix_nano || s.start_time_unix_nano));
      const total = Math.max(1, end - start);
      fill(
        waterfall,
        h("h2", {}, "Trace ", h("code", {}, traceId)),
        h(
          "div",
          { class: "waterfall" },
          rows.map(([span, depth]) =>
            h(
              "div",
              { class: "span-row", dataset: { span: span.span_id } },
              h("div", { class: "name", style: `padding-left:${0.4 + depth}rem`, title: span.name }, span.name),
              h(
                "div",
                { class: "track" },
                h("div", {
                  class: `bar ${span.status === "error" ? "error" : ""}`,
                  style: `left:${((span.start_time_unix_nano - start) / total) * 100}%;width:${(Math.max(0, (span.end_time_unix_nano || end) - span.start_time_unix_nano) / total) * 100}%`,
                }),
              ),
              h("div", { class: "dur" }, `${ms(span).toFixed(2)} ms`),
            ),
          ),
        ),
      );
    }
  }
  fill(
    root,
    h("h1", {}, "Traces"),
    waterfall,
    h("h2", {}, "Recent traces"),
    h("label", { class: "muted" }, hide, " hide the console's own reads"),
    spans.length
      ? table(
          spans,
          [
            ["name", (s) => h("a", { href: `#/traces/${s.trace_id}` }, s.name)],
            ["service", (s) => s.service_name ?? ""],
            ["status", (s) => h("span", { class: s.status === "error" ? "bad" : "" }, s.status)],
            ["duration", (s) => `${ms(s).toFixed(2)} ms`],
            ["started", (s) => new Date(s.start_time_unix_nano / 1e6).toLocaleTimeString()],
            ["trace", (s) => h("code", {}, s.trace_id.slice(0, 12))],
          ],
          (s) => ({ dataset: { trace: s.trace_id } }),
        )
      : h("p", { class: "muted" }, "No traces yet."),
  );
}
