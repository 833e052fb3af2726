// Cron: every cron job with its expression and next run times. iii-cron's `cron::list` gives
// them; for a cron provider without it, they are computed here (UTC) from the registered triggers.
import { h, fill, table, errorBox, notEnabled } from "../dom.js";
import { nextRuns } from "../cron.js";

const fnLink = (id) => h("a", { href: `#/functions/${encodeURIComponent(id)}` }, id);

async function jobs(api) {
  const listed = await api.call("cron::list", { count: 3 });
  if (listed.ok) return listed.result.jobs;
  const bound = await api.call("engine::registered-triggers::list", { trigger_type: "cron" });
  if (!bound.ok) throw bound.error;
  return bound.result.registered_triggers
    .filter((r) => r.trigger_type === "cron")
    .map((r) => {
      const expression = String(r.config?.expression ?? "");
      let next_runs;
      try {
        next_runs = nextRuns(expression, 3).map((d) => d.toISOString().replace(".000Z", "Z"));
      } catch (error) {
        next_runs = [`invalid: ${error.message}`];
      }
      return { id: r.id, function_id: r.function_id, expression, timezone: "UTC", next_runs };
    });
}

export async function render(root, api) {
  const types = await api.call("engine::triggers::list");
  if (!types.ok) return fill(root, h("h1", {}, "Cron"), errorBox(types.error));
  if (!types.result.triggers.some((t) => t.id === "cron")) {
    return fill(root, h("h1", {}, "Cron"), notEnabled("iii-cron"));
  }
  let rows;
  try {
    rows = await jobs(api);
  } catch (error) {
    return fill(root, h("h1", {}, "Cron"), errorBox(error));
  }
  fill(
    root,
    h("h1", {}, "Cron"),
    rows.length
      ? table(
          rows,
          [
            ["job", (r) => h("code", {}, r.id)],
            ["expression", (r) => h("code", {}, r.expression)],
            ["zone", (r) => r.timezone ?? "UTC"],
            ["function", (r) => fnLink(r.function_id)],
            ["runs", (r) => r.runs ?? ""],
            ["next runs", (r) => h("div", { class: "next-runs" }, r.next_runs.map((t) => h("div", {}, t)))],
          ],
          (r) => ({ dataset: { cron: r.id } }),
        )
      : h("p", { class: "muted" }, "No cron jobs registered."),
  );
}
