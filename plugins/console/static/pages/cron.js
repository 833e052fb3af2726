// Cron: every cron trigger with its expression and next run times (UTC).
import { h, fill, table, errorBox, notEnabled } from "../dom.js";
import { nextRuns } from "../cron.js";

export async function render(root, api) {
  const [types, bound] = await Promise.all([
    api.call("engine::triggers::list"),
    api.call("engine::registered-triggers::list", { trigger_type: "cron" }),
  ]);
  if (!types.ok) return fill(root, h("h1", {}, "Cron"), errorBox(types.error));
  if (!types.result.triggers.some((t) => t.id === "cron")) {
    return fill(root, h("h1", {}, "Cron"), notEnabled("iii-cron"));
  }
  const rows = bound.ok ? bound.result.registered_triggers.filter((r) => r.trigger_type === "cron") : [];
  const runs = (expression) => {
    try {
      return nextRuns(String(expression || ""), 3).map((d) => h("div", {}, d.toISOString().replace(".000Z", "Z")));
    } catch (error) {
      return h("span", { class: "bad" }, error.message);
    }
  };
  fill(
    root,
    h("h1", {}, "Cron"),
    h("p", { class: "muted" }, "Times are UTC, as iii-cron evaluates them."),
    rows.length
      ? table(
          rows,
          [
            ["trigger", (r) => h("code", {}, r.id)],
            ["expression", (r) => h("code", {}, r.config?.expression ?? "")],
            ["function", (r) => h("a", { href: `#/functions/${encodeURIComponent(r.function_id)}` }, r.function_id)],
            ["next runs", (r) => h("div", { class: "next-runs" }, runs(r.config?.expression))],
          ],
          (r) => ({ dataset: { cron: r.id } }),
        )
      : h("p", { class: "muted" }, "No cron triggers registered."),
  );
}
