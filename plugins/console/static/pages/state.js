// State: scopes, the values of a scope, and get / edit / delete by key.
import { h, fill, pretty, compact, errorBox, notEnabled, isMissing } from "../dom.js";

export async function render(root, api, selected) {
  const groups = await api.call("state::list_groups", {});
  if (isMissing(groups)) return fill(root, h("h1", {}, "State"), notEnabled("iii-state"));
  if (!groups.ok) return fill(root, h("h1", {}, "State"), errorBox(groups.error));
  const scopes = groups.result.groups ?? groups.result;
  let scope = selected || scopes[0] || "";

  const values = h("div", { id: "state-values" });
  const scopeInput = h("input", { id: "state-scope", placeholder: "scope", value: scope });
  const keyInput = h("input", { id: "state-key", placeholder: "key" });
  const valueInput = h("textarea", { id: "state-value", spellcheck: false });
  const result = h("pre", { id: "state-result" });

  async function showScope() {
    const reply = await api.call("state::list", { scope });
    if (!reply.ok) return fill(values, errorBox(reply.error));
    fill(
      values,
      h("h2", {}, `Values in `, h("code", {}, scope), ` (${reply.result.length})`),
      reply.result.length
        ? h("ul", { class: "list" }, reply.result.map((v) => h("li", {}, h("code", {}, compact(v, 200)))))
        : h("p", { class: "muted" }, "empty"),
    );
  }

  async function act(functionId, extra = {}) {
    const payload = { scope: scopeInput.value, key: keyInput.value, ...extra };
    const reply = await api.call(functionId, payload);
    result.dataset.outcome = reply.ok ? "ok" : "error";
    result.textContent = reply.ok ? pretty(reply.result) : `${reply.error.code}: ${reply.error.message}`;
    if (reply.ok && functionId === "state::get") valueInput.value = pretty(reply.result);
    scope = scopeInput.value;
    await showScope();
  }

  const save = () => {
    let value;
    try {
      value = JSON.parse(valueInput.value);
    } catch (error) {
      result.textContent = `Invalid JSON: ${error.message}`;
      return;
    }
    return act("state::set", { value });
  };

  if (scope) await showScope();
  fill(
    root,
    h("h1", {}, "State"),
    h(
      "div",
      { class: "split" },
      h(
        "div",
        {},
        h("h2", {}, "Scopes"),
        h(
          "ul",
          { class: "list", id: "state-scopes" },
          scopes.map((s) =>
            h("li", { dataset: { scope: s }, class: s === scope ? "selected" : "", onclick: () => (location.hash = `#/state/${encodeURIComponent(s)}`) }, s),
          ),
        ),
      ),
      h(
        "div",
        {},
        h("h2", {}, "Key"),
        h(
          "div",
          { class: "row" },
          scopeInput,
          keyInput,
          h("button", { id: "state-get", class: "secondary", onclick: () => act("state::get") }, "Get"),
          h("button", { id: "state-save", onclick: save }, "Save"),
          h("button", { id: "state-delete", class: "danger", onclick: () => act("state::delete") }, "Delete"),
        ),
        valueInput,
        result,
        values,
      ),
    ),
  );
}
