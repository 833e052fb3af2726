// Logs: newest first, filtered by level and trace.
import { h, fill, table, compact, errorBox, notEnabled, isMissing } from "../dom.js";

const LEVELS = [["trace", 1], ["debug", 5], ["info", 9], ["warn", 13], ["error", 17]];

export async function render(root, api, traceFilter) {
  const level = h("select", { id: "log-level" }, LEVELS.map(([name, n]) => h("option", { value: n }, name)));
  level.value = "1";
  const trace = h("input", { id: "log-trace", placeholder: "trace id", value: traceFilter || "" });
  const body = h("div", { id: "log-rows" });

  async function load() {
    const query = { severity_min: Number(level.value), limit: 200 };
    if (trace.value.trim()) query.trace_id = trace.value.trim();
    const reply = await api.call("engine::logs::list", query);
    if (!reply.ok) return fill(body, errorBox(reply.error));
    const logs = [...reply.result.logs].sort((a, b) => b.timestamp_unix_nano - a.timestamp_unix_nano);
    fill(
      body,
      h("p", { class: "muted" }, `${reply.result.total} matching`),
      table(
        logs,
        [
          ["time", (l) => new Date(l.timestamp_unix_nano / 1e6).toLocaleTimeString()],
          ["level", (l) => h("span", { class: `lvl-${l.severity_text}` }, l.severity_text)],
          ["message", (l) => (typeof l.body === "string" ? l.body : compact(l.body, 300))],
          ["service", (l) => l.service_name ?? ""],
          ["trace", (l) => (l.trace_id ? h("a", { href: `#/traces/${l.trace_id}` }, l.trace_id.slice(0, 12)) : "")],
        ],
        (l) => ({ dataset: { level: l.severity_text } }),
      ),
    );
  }

  const probe = await api.call("engine::logs::list", { limit: 1 });
  if (isMissing(probe)) return fill(root, h("h1", {}, "Logs"), notEnabled("iii-observability"));
  level.addEventListener("change", load);
  trace.addEventListener("change", load);
  await load();
  const timer = setInterval(load, 2000);
  fill(root, h("h1", {}, "Logs"), h("div", { class: "row" }, "level ≥", level, trace, h("button", { class: "secondary", onclick: load }, "Refresh")), body);
  return () => clearInterval(timer);
}
