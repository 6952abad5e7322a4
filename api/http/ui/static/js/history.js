// History: a part's stock over time in a warehouse, one point per event of it in the log, each the
// answer of GET /inventory/as-of at that position; consumptions marked. And machine usage as bars.

import { all, get, isAdmin } from "./api.js";
import { h, options, rows, say } from "./dom.js";

const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8];
const MAX_POINTS = 200; // the latest events of the part; each is one as-of read
const form = () => document.getElementById("history-filters");
let chosen = false;
let drawn = [];

export function setup(guarded) {
  form().addEventListener("submit", (event) => {
    event.preventDefault();
    const { warehouse_id, part_id } = Object.fromEntries(new FormData(form()));
    const target = `#history?warehouse_id=${warehouse_id}&part_id=${part_id}`;
    if (location.hash === target) guarded(() => chart(warehouse_id, part_id));
    else location.hash = target;
  });
  let waiting = null;
  window.addEventListener("resize", () => {
    clearTimeout(waiting);
    waiting = setTimeout(() => drawn.forEach((plot) => fit(plot)), 150);
  });
}

// uPlot is fetched when a chart is first drawn, not with the page: the stock view needs none of it.
let charting = null;
function uPlotLoaded() {
  charting ??= new Promise((resolve, reject) => {
    const script = h("script", { src: "/ui/static/vendor/uplot/uPlot.iife.min.js" });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error("the charting library did not load")));
    document.head.append(script);
  });
  return charting;
}

export async function open(params) {
  await uPlotLoaded();
  if (!chosen) {
    chosen = true;
    const [warehouses, parts] = await Promise.all([all("/warehouses"), all("/parts")]);
    options(document.getElementById("history-warehouse"), warehouses, (w) => w.id, (w) => w.name);
    options(document.getElementById("history-part"), parts, (p) => p.id, (p) => `${p.part_number} ${p.name}`);
  }
  if (params.warehouse_id) document.getElementById("history-warehouse").value = params.warehouse_id;
  if (params.part_id) document.getElementById("history-part").value = params.part_id;
  const usage = machineUsage();
  if (params.warehouse_id && params.part_id) await chart(params.warehouse_id, params.part_id);
  else if (!isAdmin()) say("The stock history reads the log: admins and super_admins only.");
  await usage;
}

async function chart(warehouseId, partId) {
  if (!isAdmin()) {
    say("The stock history reads the log: admins and super_admins only.", true);
    return;
  }
  const events = [];
  let cursor = null;
  do {
    const page = await get("/ledger/search", { warehouse_id: warehouseId, part_id: partId, limit: 500, cursor });
    events.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  const latest = events.slice(-MAX_POINTS);
  const points = await inBatches(latest, 6, async (event) => {
    const found = await get("/inventory/as-of", { position: event.position, warehouse_id: warehouseId, part_id: partId });
    const level = found.items.find((i) => i.warehouse_id === warehouseId && i.part_id === partId);
    return { position: event.position, type: event.event_type, stock: level ? level.current_stock : "0.000" };
  });
  rows(document.querySelector("#history-table tbody"), points, (p) => h("tr", { "data-position": p.position },
    h("td", { class: "num" }, p.position), h("td", {}, p.type), h("td", { class: "num" }, p.stock)),
  "No event of this part in this warehouse.");
  const x = points.map((p) => p.position);
  const y = points.map((p) => Number(p.stock)); // drawn only: the table keeps the exact decimals
  const used = points.map((p) => (p.type === "StockConsumed" ? Number(p.stock) : null));
  draw("history-chart", {
    series: [{ label: "Position" },
      { label: "Stock", stroke: "#1f5fa8", width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: true, size: 5 } },
      { label: "Consumption", stroke: "#c0392b", fill: "#c0392b", width: 0, points: { show: true, size: 9, fill: "#c0392b" }, paths: () => null }],
    // Positions are whole numbers: ticks only on them.
    axes: [{ label: "Log position", incrs: WHOLE, values: (_, ticks) => ticks.map(String) }, { label: "Stock" }],
    scales: { x: { time: false } },
  }, [x, y, used]);
  document.getElementById("history-chart").dataset.points = JSON.stringify(points);
  const more = events.length > latest.length ? ` (the latest ${latest.length} of ${events.length})` : "";
  say(`${points.length} points${more}.`);
}

async function machineUsage() {
  const usage = await get("/reports/machine-usage");
  rows(document.querySelector("#usage-table tbody"), usage, (m) => h("tr", {},
    h("td", {}, m.machine_name), h("td", {}, m.serial_number), h("td", {}, m.customer_name),
    h("td", { class: "num" }, m.total_usage_records), h("td", { class: "num" }, m.total_parts_consumed ?? "0"),
    h("td", {}, m.last_usage_date ? new Date(m.last_usage_date).toLocaleString() : "–")),
  "No machine usage recorded.");
  const names = usage.map((m) => m.machine_name);
  draw("usage-chart", {
    series: [{ label: "Machine" }, { label: "Parts consumed", stroke: "#2e7d32", fill: "rgba(46,125,50,0.5)",
      paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }],
    axes: [{ incrs: [1], values: (_, ticks) => ticks.map((t) => names[t] ?? ""), space: 60 }, { label: "Parts consumed" }],
    scales: { x: { time: false, range: [-0.5, Math.max(names.length - 0.5, 0.5)] } },
  }, [usage.map((_, i) => i), usage.map((m) => Number(m.total_parts_consumed ?? 0))]);
}

function draw(id, options, data) {
  const target = document.getElementById(id);
  const old = drawn.find((plot) => plot.root.parentNode === target);
  if (old) {
    old.destroy();
    drawn = drawn.filter((plot) => plot !== old);
  }
  target.replaceChildren();
  const plot = new uPlot({ width: width(target), height: 280, ...options }, data, target);
  drawn.push(plot);
}

function width(target) {
  return Math.max(target.clientWidth || target.parentNode.clientWidth, 280);
}

function fit(plot) {
  plot.setSize({ width: width(plot.root.parentNode), height: 280 });
}

async function inBatches(items, size, work) {
  const results = [];
  for (let i = 0; i < items.length; i += size) {
    results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  }
  return results;
}
