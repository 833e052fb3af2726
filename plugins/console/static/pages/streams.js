// Streams: every stream and group; a live view of one group (items and recent events).
import { h, fill, compact, errorBox, notEnabled, isMissing } from "../dom.js";

export async function render(root, api, selected) {
  const all = await api.call("stream::list_all", {});
  if (isMissing(all)) return fill(root, h("h1", {}, "Streams"), notEnabled("iii-stream"));
  if (!all.ok) return fill(root, h("h1", {}, "Streams"), errorBox(all.error));
  const [streamName, groupId] = (selected || "").split("/");
  const picker = h(
    "ul",
    { class: "list", id: "stream-groups" },
    all.result.stream.flatMap((s) =>
      s.groups.map((g) =>
        h(
          "li",
          {
            dataset: { group: `${s.id}/${g}` },
            class: s.id === streamName && g === groupId ? "selected" : "",
            onclick: () => (location.hash = `#/streams/${encodeURIComponent(s.id)}/${encodeURIComponent(g)}`),
          },
          h("code", {}, s.id), " / ", g,
        ),
      ),
    ),
  );
  const view = h("div", { id: "stream-view" });
  let cleanup = null;

  if (streamName && groupId) {
    const group = { stream_name: streamName, group_id: groupId };
    const items = new Map();
    const itemsEl = h("tbody", { id: "stream-items" });
    const events = h("ul", { class: "list", id: "stream-events" });
    const draw = () =>
      fill(
        itemsEl,
        [...items].map(([id, value]) =>
          h("tr", { dataset: { item: id } }, h("td", {}, h("code", {}, id)), h("td", {}, h("code", {}, compact(value, 300)))),
        ),
      );
    const off = api.on("stream", (wrapper) => {
      if (wrapper.streamName !== streamName || wrapper.groupId !== groupId) return;
      const event = wrapper.event || {};
      if (event.type === "delete") items.delete(wrapper.id);
      else if (event.type === "create" || event.type === "update") items.set(wrapper.id, event.data);
      events.prepend(h("li", {}, `${new Date(wrapper.timestamp).toLocaleTimeString()} ${event.type} `, h("code", {}, wrapper.id ?? compact(event.event))));
      while (events.children.length > 50) events.lastChild.remove();
      draw();
    });
    const rewatch = api.on("open", () => api.watch(group)); // a new connection watches afresh
    const watched = await api.watch(group);
    const listed = await api.call("stream::list", group);
    if (listed.ok) {
      listed.result.forEach((value, i) => {
        const id = value && typeof value === "object" && value.id !== undefined ? String(value.id) : `#${i}`;
        if (!items.has(id)) items.set(id, value);
      });
    }
    draw();
    fill(
      view,
      h("h2", {}, h("code", {}, streamName), " / ", groupId, " ", h("span", { class: "muted", id: "stream-live", dataset: { live: watched.ok ? "yes" : "no" } }, watched.ok ? "live" : "not live")),
      watched.ok ? null : errorBox(watched.error),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "item"), h("th", {}, "value"))), itemsEl),
      h("h2", {}, "Events"),
      events,
    );
    cleanup = () => {
      off();
      rewatch();
      api.unwatch(group);
    };
  } else {
    fill(view, h("p", { class: "muted" }, "Pick a group to follow it live."));
  }
  // A group with no items yet is not listed: follow any group by name.
  const streamInput = h("input", { id: "stream-name", placeholder: "stream", value: streamName ?? "" });
  const groupInput = h("input", { id: "stream-group", placeholder: "group", value: groupId ?? "" });
  const follow = h(
    "form",
    {
      class: "row",
      onsubmit: (event) => {
        event.preventDefault();
        location.hash = `#/streams/${encodeURIComponent(streamInput.value)}/${encodeURIComponent(groupInput.value)}`;
      },
    },
    streamInput,
    groupInput,
    h("button", { id: "stream-follow" }, "Follow"),
  );
  fill(root, h("h1", {}, "Streams"), h("div", { class: "split" }, h("div", {}, h("h2", {}, "Groups"), picker, follow), view));
  return cleanup;
}
