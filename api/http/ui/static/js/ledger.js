// The ledger: the log as a filtered, paged list (GET /ledger/search), each event with its payload,
// hash and position; a movement's stream (recorded, approved, rejected, reversed) on one view.

import { all, get } from "./api.js";
import { fields, h, options, Pager, rows, say, when } from "./dom.js";

const TYPES = [
  "StockCreated", "StockTransferred", "StockConsumed", "StockAdjusted", "MovementApproved",
  "MovementRejected", "MovementReversed", "MovementDateCorrected", "CustomerOrderRequested",
  "CustomerOrderConfirmed", "CustomerOrderShipped", "CustomerOrderReceived", "CustomerOrderCancelled",
  "SupplierOrderRequested", "SupplierOrderPlaced", "SupplierOrderReceived", "SupplierOrderCancelled",
];
const form = () => document.getElementById("ledger-filters");
let pager = null;
let users = new Map();
let chosen = false;

export function setup(guarded) {
  pager = new Pager(
    document.getElementById("ledger-prev"),
    document.getElementById("ledger-next"),
    document.getElementById("ledger-page"),
    () => guarded(load),
  );
  options(document.getElementById("ledger-type"), TYPES, (t) => t, (t) => t, "All");
  form().addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = new URLSearchParams(Object.entries(fields(form())).filter(([, v]) => v));
    const target = `#ledger${wanted.toString() ? `?${wanted}` : ""}`;
    if (location.hash === target) {
      pager.reset();
      guarded(load);
    } else {
      location.hash = target;
    }
  });
  // After the fields are cleared (the reset event comes first): the whole log again.
  form().addEventListener("reset", () => setTimeout(() => {
    if (location.hash === "#ledger") {
      pager.reset();
      guarded(load);
    } else {
      location.hash = "#ledger";
    }
  }, 0));
}

export async function open(params) {
  if (!chosen) {
    chosen = true;
    await choose();
  }
  for (const element of form().elements) {
    if (!element.name) continue;
    const value = params[element.name] || "";
    element.value = element.type === "datetime-local" && value ? local(value) : value;
  }
  pager.reset();
  await load();
}

async function choose() {
  const [parts, warehouses, people] = await Promise.all([all("/parts"), all("/warehouses"), all("/users")]);
  options(document.getElementById("ledger-part"), parts, (p) => p.id, (p) => `${p.part_number} ${p.name}`, "All");
  options(document.getElementById("ledger-warehouse"), warehouses, (w) => w.id, (w) => w.name, "All");
  options(document.getElementById("ledger-by"), people, (u) => u.id, (u) => u.name || u.username, "Anyone");
  users = new Map(people.map((u) => [u.id, u.name || u.username]));
}

async function load() {
  const filters = fields(form());
  const page = await get("/ledger/search", { ...filters, limit: 50, cursor: pager.cursor });
  rows(document.querySelector("#ledger-table tbody"), page.items, (e) => row(e, page.names), "No event matches these filters.");
  pager.shown(page.next_cursor);
  const note = document.getElementById("ledger-stream-note");
  note.hidden = !filters.stream_id;
  note.textContent = filters.stream_id
    ? `The whole stream ${filters.stream_id}: ${page.items.map((e) => e.event_type).join(" → ") || "no events"}.`
    : "";
  say(`${page.items.length} events${page.next_cursor ? ", more on the next page" : ""}.`);
}

// Two rows an event: what a person reads, and (behind the hash's button) everything it is.
function row(event, names) {
  const id = `event-${event.position}`;
  const more = h("tr", { id, class: "more", hidden: true }, h("td", { colspan: 7 }, details(event)));
  const toggle = h("button", {
    type: "button", class: "hash-toggle", "aria-expanded": "false", "aria-controls": id,
    "aria-label": `Hash and payload of position ${event.position}`,
    onclick: () => {
      more.hidden = !more.hidden;
      toggle.setAttribute("aria-expanded", String(!more.hidden));
    },
  }, h("code", {}, `${event.hash.slice(0, 12)}…`));
  const main = h(
    "tr",
    { "data-position": event.position, "data-hash": event.hash },
    h("td", { class: "num" }, event.position),
    h("td", {}, h("time", { datetime: event.recorded_at }, when(event.recorded_at))),
    h("td", {}, event.event_type),
    h("td", {}, what(event.payload, names)),
    h("td", {}, h("a", { href: `#ledger?stream_id=${encodeURIComponent(event.stream_id)}`, title: event.stream_id },
      `${short(event.stream_id)} v${event.stream_version}`)),
    h("td", {}, users.get(event.performed_by_user_id) || short(event.performed_by_user_id || "–")),
    h("td", {}, toggle),
  );
  return [main, more];
}

// A line a person reads: the quantity, the part and the warehouses, by name.
function what(payload, names) {
  const part = names.parts[payload.part_id];
  const place = (id) => (names.warehouses[id] ? names.warehouses[id].warehouse_name : id && short(id));
  const parts = [];
  if (payload.quantity) parts.push(`${payload.quantity} ${part ? part.unit_of_measure : ""}`.trim());
  if (part) parts.push(`${part.part_number} ${part.part_name}`);
  if (payload.from_warehouse_id) parts.push(`from ${place(payload.from_warehouse_id)}`);
  if (payload.to_warehouse_id) parts.push(`to ${place(payload.to_warehouse_id)}`);
  if (payload.warehouse_id) parts.push(`at ${place(payload.warehouse_id)}`);
  const line = [parts.join(" ") || "–"];
  if (payload.reversal_transaction_id) {
    line.push(" ", h("a", { href: `#ledger?stream_id=movement-${payload.reversal_transaction_id}` }, "the compensating movement"));
  }
  return line;
}

function details(event) {
  return h("dl", { class: "event" },
    h("dt", {}, "Hash"), h("dd", {}, h("code", { class: "hash" }, event.hash)),
    h("dt", {}, "Previous hash"), h("dd", {}, h("code", { class: "hash" }, event.previous_hash)),
    h("dt", {}, "Stream"), h("dd", {}, `${event.stream_id}, version ${event.stream_version}`),
    h("dt", {}, "Log transaction"), h("dd", {}, event.transaction_id),
    h("dt", {}, "Schema version"), h("dd", {}, event.schema_version),
    h("dt", {}, "Request"), h("dd", {}, event.request_id || "–"),
    h("dt", {}, "Idempotency key"), h("dd", {}, event.idempotency_key || "–"),
    h("dt", {}, "Payload"), h("dd", {}, h("pre", {}, JSON.stringify(event.payload, null, 2))));
}

function short(text) {
  return text.length > 20 ? `${text.slice(0, 17)}…` : text;
}

function local(iso) {
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "";
  const shifted = new Date(moment.getTime() - moment.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}
