// Queues: depth, consumers and dead letters (with their error), redrive and discard.
import { h, fill, table, compact, errorBox, notEnabled, isMissing } from "../dom.js";

export async function render(root, api, selected) {
  const topics = await api.call("engine::queue::list_topics", {});
  if (isMissing(topics)) return fill(root, h("h1", {}, "Queues"), notEnabled("iii-queue"));
  if (!topics.ok) return fill(root, h("h1", {}, "Queues"), errorBox(topics.error));
  const overview = h("div", { id: "queue-list" });
  const dead = h("div", { id: "dlq" });
  const status = h("div", { id: "queue-status" });

  async function loadQueues() {
    const list = await api.call("engine::queue::list_topics", {});
    if (!list.ok) return fill(overview, errorBox(list.error));
    const [stats, counts] = await Promise.all([
      Promise.all(list.result.map((q) => api.call("engine::queue::topic_stats", { topic: q.name }))),
      api.call("engine::queue::list_queues", {}), // waiting / in_flight / dead_lettered, if offered
    ]);
    const byName = new Map((counts.ok ? counts.result : []).map((c) => [c.name, c]));
    const rows = list.result.map((q, i) => ({
      ...q,
      ...(stats[i].ok ? stats[i].result : {}),
      ...(byName.get(q.name) ?? {}),
    }));
    fill(
      overview,
      table(
        rows,
        [
          ["queue", (q) => h("a", { href: `#/queues/${encodeURIComponent(q.name)}` }, q.name)],
          ["kind", (q) => q.broker_type],
          ["depth", (q) => q.depth ?? ""],
          ["waiting", (q) => q.waiting ?? ""],
          ["in flight", (q) => q.in_flight ?? ""],
          ["consumers", (q) => q.consumer_count ?? q.subscriber_count ?? ""],
          ["dead letters", (q) => q.dlq_depth ?? ""],
        ],
        (q) => ({ dataset: { queue: q.name } }),
      ),
    );
  }

  async function loadDead() {
    if (!selected) return fill(dead, h("p", { class: "muted" }, "Pick a queue to see its dead letters."));
    const reply = await api.call("engine::queue::dlq_messages", { topic: selected, limit: 100 });
    if (!reply.ok) return fill(dead, errorBox(reply.error));
    const act = async (functionId, message) => {
      const r = await api.call(functionId, { queue: selected, message_id: message.id });
      status.dataset.outcome = r.ok ? "ok" : "error";
      status.textContent = r.ok ? `${functionId}: ${compact(r.result)}` : `${r.error.code}: ${r.error.message}`;
      await Promise.all([loadQueues(), loadDead()]);
    };
    const redriveAll = async () => {
      const r = await api.call("iii::queue::redrive", { queue: selected });
      status.dataset.outcome = r.ok ? "ok" : "error";
      status.textContent = r.ok ? `redriven: ${r.result.redriven}` : `${r.error.code}: ${r.error.message}`;
      await Promise.all([loadQueues(), loadDead()]);
    };
    fill(
      dead,
      h(
        "h2",
        {},
        "Dead letters of ",
        h("code", {}, selected),
        ` (${reply.result.length}) `,
        reply.result.length ? h("button", { id: "redrive-all", class: "secondary", onclick: redriveAll }, "Redrive all") : null,
      ),
      reply.result.length
        ? table(
            reply.result,
            [
              ["id", (m) => h("code", {}, m.id)],
              ["error", (m) => h("span", { class: "bad" }, typeof m.error === "string" ? m.error : compact(m.error))],
              ["failed", (m) => (m.failed_at ? new Date(m.failed_at * 1000).toLocaleString() : "")],
              ["retries", (m) => m.retries ?? ""],
              ["payload", (m) => h("code", {}, compact(m.payload, 200))],
              [
                "",
                (m) => [
                  h("button", { class: "secondary", dataset: { redrive: m.id }, onclick: () => act("iii::queue::redrive_message", m) }, "Redrive"),
                  " ",
                  h("button", { class: "danger", dataset: { discard: m.id }, onclick: () => act("iii::queue::discard_message", m) }, "Discard"),
                ],
              ],
            ],
            (m) => ({ dataset: { message: m.id } }),
          )
        : h("p", { class: "muted", id: "dlq-empty" }, "No dead letters."),
    );
  }

  await Promise.all([loadQueues(), loadDead()]);
  const timer = setInterval(loadQueues, 2000);
  fill(root, h("h1", {}, "Queues"), overview, status, dead);
  return () => clearInterval(timer);
}
