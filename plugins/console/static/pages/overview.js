// Overview: live counts, connected workers, trigger types and a throughput sparkline.
import { h, fill, table, when, errorBox, debounce } from "../dom.js";

const POINTS = 60;

export async function render(root, api) {
  const counts = h("div", { class: "cards" });
  const spark = h("div", {});
  const workers = h("div", { id: "workers" });
  const types = h("div", { id: "trigger-types" });
  const samples = [];
  let lastTotal = null;
  let source = null;

  async function refresh() {
    const [w, f, t, r] = await Promise.all([
      api.call("engine::workers::list"),
      api.call("engine::functions::list"),
      api.call("engine::triggers::list"),
      api.call("engine::registered-triggers::list"),
    ]);
    // Under access control some of these may be refused: show what the session may see.
    const rows = w.ok ? w.result.workers : [];
    const card = (id, n, label) =>
      h("div", { class: "card" }, h("div", { class: "n", id }, n), h("div", { class: "l" }, label));
    fill(
      counts,
      card("count-workers", w.ok ? rows.length : "?", "workers"),
      card("count-functions", f.ok ? f.result.functions.length : "?", "functions"),
      card("count-trigger-types", t.ok ? t.result.triggers.length : "?", "trigger types"),
      card("count-registered", r.ok ? r.result.registered_triggers.length : "?", "registered triggers"),
    );
    if (!w.ok) fill(workers, errorBox(w.error));
    else fill(
      workers,
      table(
        rows,
        [
          ["name", (x) => h("strong", {}, x.name ?? x.id)],
          ["runtime", (x) => x.runtime ?? ""],
          ["status", (x) => x.status],
          ["functions", (x) => x.function_count],
          ["in flight", (x) => x.active_invocations],
          ["connected", (x) => when(x.connected_at_ms)],
          ["address", (x) => x.ip_address ?? x.isolation ?? ""],
        ],
        (x) => ({ dataset: { worker: x.name ?? x.id } }),
      ),
    );
    if (!t.ok) fill(types, errorBox(t.error));
    else {
      fill(
        types,
        table(t.result.triggers, [
          ["trigger type", (x) => h("code", {}, x.id)],
          ["provided by", (x) => x.worker_name],
          ["description", (x) => x.description ?? ""],
        ]),
      );
    }
    return rows;
  }

  async function sample() {
    // Invocations per second from iii-observability's metrics when it runs; otherwise the
    // number of invocations in flight across workers.
    const m = await api.call("engine::metrics::list", {});
    let value;
    if (m.ok && m.result.engine_metrics) {
      // This page's own calls are left out: the console should not draw itself.
      const total = m.result.engine_metrics.invocations.total - api.calls;
      value = lastTotal === null ? 0 : Math.max(0, total - lastTotal);
      lastTotal = total;
      source = "invocations per second";
    } else {
      const w = await api.call("engine::workers::list");
      value = w.ok ? w.result.workers.reduce((n, x) => n + (x.active_invocations || 0), 0) : 0;
      source = "invocations in flight (enable iii-observability for throughput)";
    }
    samples.push(value);
    if (samples.length > POINTS) samples.shift();
    drawSpark();
  }

  function drawSpark() {
    const max = Math.max(1, ...samples);
    const points = samples
      .map((v, i) => `${(i * 300) / (POINTS - 1)},${38 - (v / max) * 34}`)
      .join(" ");
    const svg = `<svg class="spark" id="sparkline" width="300" height="40" viewBox="0 0 300 40"><polyline points="${points}"/></svg>`;
    spark.innerHTML = svg;
    spark.append(h("div", { class: "muted" }, `${source ?? ""}: now ${samples.at(-1) ?? 0}, max ${max}`));
  }

  await refresh();
  await sample();
  const timer = setInterval(sample, 1000);
  const later = debounce(refresh);
  const offs = [api.on("workers", later), api.on("functions", later), api.on("open", later)];

  fill(
    root,
    h("h1", {}, "Overview"),
    counts,
    h("h2", {}, "Throughput"),
    spark,
    h("h2", {}, "Workers"),
    workers,
    h("h2", {}, "Trigger types"),
    types,
  );
  return () => {
    clearInterval(timer);
    later.cancel();
    offs.forEach((off) => off());
  };
}
