// Functions: search, describe, invoke with a JSON payload (result or error, with timing).
import { h, fill, pretty, compact, table, errorBox, debounce } from "../dom.js";

function exampleFor(schema) {
  if (!schema || typeof schema !== "object") return {};
  if (schema.type === "object" || schema.properties) {
    const out = {};
    for (const [key, sub] of Object.entries(schema.properties || {})) out[key] = exampleFor(sub);
    return out;
  }
  return { string: "", integer: 0, number: 0, boolean: false, array: [], null: null }[schema.type] ?? null;
}

export async function render(root, api, selected) {
  const search = h("input", { id: "fn-search", type: "search", placeholder: "search functions" });
  const list = h("ul", { class: "list", id: "fn-list" });
  const detail = h("div", { id: "fn-detail" }, h("p", { class: "muted" }, "Pick a function."));
  let current = selected || null;

  async function load() {
    const query = search.value.trim();
    const reply = await api.call("engine::functions::list", query ? { search: query } : {});
    if (!reply.ok) return fill(list, h("li", {}, errorBox(reply.error)));
    fill(
      list,
      reply.result.functions.map((fn) =>
        h(
          "li",
          {
            dataset: { fn: fn.function_id },
            class: fn.function_id === current ? "selected" : "",
            onclick: () => (location.hash = `#/functions/${encodeURIComponent(fn.function_id)}`),
          },
          h("code", {}, fn.function_id),
          " ",
          h("span", { class: "muted small" }, fn.worker_name),
        ),
      ),
    );
  }

  async function describe(functionId) {
    const info = await api.call("engine::functions::info", { function_id: functionId });
    if (!info.ok) return fill(detail, errorBox(info.error));
    const fn = info.result;
    const payload = h("textarea", { id: "fn-payload", spellcheck: false });
    payload.value = pretty(exampleFor(fn.request_schema));
    const jsonError = h("div", { id: "fn-json-error", class: "bad" });
    const invoke = h("button", { id: "fn-invoke" }, "Invoke");
    const status = h("div", { id: "fn-status" });
    const result = h("pre", { id: "fn-result" });
    payload.addEventListener("input", () => {
      try {
        JSON.parse(payload.value || "null");
        payload.classList.remove("invalid");
        jsonError.textContent = "";
        invoke.disabled = false;
      } catch (error) {
        payload.classList.add("invalid");
        jsonError.textContent = `Invalid JSON: ${error.message}`;
        invoke.disabled = true;
      }
    });
    invoke.addEventListener("click", async () => {
      invoke.disabled = true;
      status.textContent = "running…";
      delete status.dataset.outcome;
      const reply = await api.call(functionId, JSON.parse(payload.value || "null"));
      invoke.disabled = false;
      status.dataset.outcome = reply.ok ? "ok" : "error";
      if (reply.ok) {
        fill(status, h("span", { class: "ok" }, "ok"), ` in ${reply.ms.toFixed(1)} ms`);
        result.textContent = pretty(reply.result);
      } else {
        fill(status, h("span", { class: "bad" }, reply.error.code), ` after ${reply.ms.toFixed(1)} ms`);
        result.textContent = reply.error.message;
      }
    });
    fill(
      detail,
      h("h2", { id: "fn-title" }, h("code", {}, fn.function_id)),
      h("p", {}, fn.description ?? h("span", { class: "muted" }, "no description")),
      h("p", { class: "muted" }, `worker ${fn.worker_name}, namespace ${fn.namespace}`),
      fn.request_schema ? [h("h2", {}, "Request schema"), h("pre", {}, pretty(fn.request_schema))] : null,
      fn.registered_triggers?.length
        ? [
            h("h2", {}, "Triggers"),
            table(fn.registered_triggers, [
              ["type", (t) => h("code", {}, t.trigger_type)],
              ["config", (t) => h("code", {}, compact(t.config))],
              ["id", (t) => h("code", { class: "muted" }, t.id)],
            ]),
          ]
        : null,
      h("h2", {}, "Invoke"),
      payload,
      jsonError,
      h("div", { class: "row" }, invoke, status),
      result,
    );
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  });
  await load();
  if (current) await describe(current);
  const later = debounce(load);
  const off = api.on("functions", later);
  fill(
    root,
    h("h1", {}, "Functions"),
    h("div", { class: "split" }, h("div", {}, h("div", { class: "row" }, search), list), detail),
  );
  requestAnimationFrame(() => list.querySelector(".selected")?.scrollIntoView({ block: "nearest" }));
  return () => {
    off();
    later.cancel();
    clearTimeout(timer);
  };
}
