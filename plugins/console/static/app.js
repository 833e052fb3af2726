// The console's shell: navigation, the connection, and the page router (#/page/arg).
import { Console } from "./rpc.js";
import { h, fill } from "./dom.js";

const PAGES = [
  ["overview", "Overview"],
  ["functions", "Functions"],
  ["triggers", "Triggers"],
  ["state", "State"],
  ["streams", "Streams"],
  ["queues", "Queues"],
  ["cron", "Cron"],
  ["traces", "Traces"],
  ["logs", "Logs"],
];

const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const api = new Console(wsUrl);
window.iiiConsole = api;

const main = document.getElementById("page");
const conn = document.getElementById("conn");
let cleanup = null;
let generation = 0;

fill(
  document.getElementById("nav"),
  PAGES.map(([name, title]) => h("a", { href: `#/${name}`, id: `nav-${name}` }, title)),
);

api.on("open", (hello) => {
  document.body.dataset.connected = "yes";
  conn.textContent = hello.mode === "worker" ? `connected as ${hello.worker_name}` : "connected";
});
api.on("close", () => {
  document.body.dataset.connected = "no";
  conn.textContent = "disconnected, retrying…";
});

async function route() {
  const [name = "overview", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = PAGES.some(([n]) => n === name) ? name : "overview";
  const mine = ++generation;
  if (cleanup) cleanup();
  cleanup = null;
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.id === `nav-${page}`);
  }
  main.dataset.page = page;
  delete main.dataset.ready;
  fill(main, h("p", { class: "muted" }, "Loading…"));
  const module = await import(`./pages/${page}.js`);
  if (mine !== generation) return;
  const root = h("div", {});
  const arg = rest.map(decodeURIComponent).join("/");
  const done = await module.render(root, api, arg);
  if (mine !== generation) {
    if (typeof done === "function") done();
    return;
  }
  cleanup = typeof done === "function" ? done : null;
  fill(main, root);
  main.dataset.ready = page;
}

window.addEventListener("hashchange", route);
route();
