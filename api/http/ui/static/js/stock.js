// Stock: current stock by warehouse and part, with names and the minimum recommendation beside it.

import { all, get, isAdmin } from "./api.js";
import { compareDecimal, fields, h, options, Pager, rows, say } from "./dom.js";

const form = () => document.getElementById("stock-filters");
let pager = null;
let loaded = false;
let painted = false;

export function setup(guarded) {
  pager = new Pager(
    document.getElementById("stock-prev"),
    document.getElementById("stock-next"),
    document.getElementById("stock-page"),
    () => guarded(load),
  );
  form().addEventListener("submit", (event) => {
    event.preventDefault();
    pager.reset();
    guarded(load);
  });
}

export async function open() {
  if (!loaded) {
    loaded = true;
    // The table first: the choices of the filters may follow.
    const choices = choose();
    await load();
    await choices;
  } else {
    await load();
  }
}

async function choose() {
  const [organizations, warehouses] = await Promise.all([all("/organizations"), all("/warehouses")]);
  options(document.getElementById("stock-organization"), organizations, (o) => o.id, (o) => o.name, "All");
  options(document.getElementById("stock-warehouse"), warehouses, (w) => w.id, (w) => w.name, "All");
}

async function load() {
  const filters = fields(form());
  const page = await get("/inventory", { ...filters, limit: 50, cursor: pager.cursor });
  rows(document.querySelector("#stock-table tbody"), page.items, row, "No stock matches these filters.");
  pager.shown(page.next_cursor);
  say(`${page.items.length} rows${page.next_cursor ? ", more on the next page" : ""}.`);
  if (!painted) {
    painted = true;
    performance.mark("abparts:stock-painted");
    document.body.dataset.stockPainted = "true";
  }
}

function row(item) {
  const low = compareDecimal(item.current_stock, item.minimum_stock_recommendation) <= 0;
  const link = `#history?warehouse_id=${item.warehouse_id}&part_id=${item.part_id}`;
  return h(
    "tr",
    { class: low ? "low" : null, "data-part-id": item.part_id, "data-warehouse-id": item.warehouse_id },
    h("td", {}, item.organization_name),
    h("td", {}, item.warehouse_name),
    h("td", {}, item.part_number),
    h("td", {}, item.part_name),
    h("td", { class: "num stock" }, item.current_stock, low ? h("span", { class: "badge" }, " below minimum") : null),
    h("td", { class: "num" }, item.minimum_stock_recommendation),
    h("td", {}, item.unit_of_measure),
    // The history reads the log: offered to those who may read it.
    h("td", {}, isAdmin() ? h("a", { href: link, "aria-label": `History of ${item.part_number} in ${item.warehouse_name}` }, "Chart") : "–"),
  );
}
