// Triggers: every trigger type with its registered triggers and their config.
import { h, fill, table, pretty, errorBox, debounce } from "../dom.js";

export async function render(root, api) {
  const body = h("div", {});
  async function load() {
    const [types, bound] = await Promise.all([
      api.call("engine::triggers::list"),
      api.call("engine::registered-triggers::list"),
    ]);
    if (!types.ok) return fill(body, errorBox(types.error));
    const rows = bound.ok ? bound.result.registered_triggers : [];
    fill(
      body,
      types.result.triggers.map((type) => {
        const mine = rows.filter((r) => r.trigger_type === type.id);
        return h(
          "section",
          { dataset: { type: type.id } },
          h("h2", {}, h("code", {}, type.id), " ", h("span", { class: "muted" }, `${type.worker_name} — ${type.description ?? ""}`)),
          mine.length
            ? table(
                mine,
                [
                  ["id", (r) => h("code", {}, r.id)],
                  ["function", (r) => h("a", { href: `#/functions/${encodeURIComponent(r.function_id)}` }, r.function_id)],
                  ["worker", (r) => r.worker_name],
                  ["config", (r) => h("pre", {}, pretty(r.config))],
                ],
                (r) => ({ dataset: { trigger: r.id } }),
              )
            : h("p", { class: "muted" }, "No registered triggers."),
        );
      }),
    );
  }
  await load();
  const later = debounce(load);
  const off = api.on("functions", later);
  fill(root, h("h1", {}, "Triggers"), body);
  return () => {
    off();
    later.cancel();
  };
}
