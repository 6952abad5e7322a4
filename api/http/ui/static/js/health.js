// Health of the ledger: each projection's position and lag, the latest seal, the last verify and audit.

import { get } from "./api.js";
import { h, rows, say, when } from "./dom.js";

export function setup() {}

export async function open() {
  const [projections, checks] = await Promise.all([get("/projections/status"), get("/ledger/checks")]);
  rows(document.querySelector("#health-table tbody"), projections, (p) => h("tr", { class: p.lag_events > 0 ? "lagging" : null },
    h("th", { scope: "row" }, p.name), h("td", { class: "num" }, p.position), h("td", { class: "num" }, p.events_applied),
    h("td", { class: "num" }, p.lag_events), h("td", { class: "num" }, p.lag_seconds.toFixed(1)),
    h("td", {}, when(p.updated_at)), h("td", {}, p.worker_active ? "running" : "–")),
  "No projections.");
  const seal = checks.latest_seal;
  document.getElementById("health-cards").replaceChildren(
    card("Log head", checks.head_position === null ? "empty" : `position ${checks.head_position}`, null),
    card("Latest seal", seal ? `seal ${seal.seal_number} through position ${seal.through_position}` : "never sealed",
      seal ? h("p", {}, `${seal.event_count} events; digest `, h("code", { class: "hash" }, seal.digest)) : h("p", {}, "Run `abparts seal`.")),
    check("Last verify", checks.verify),
    check("Last audit", checks.audit),
  );
  say("");
}

function card(title, value, body, state) {
  return h("article", { class: `card ${state || ""}`, "aria-label": title }, h("h3", {}, title), h("p", { class: "value" }, value), body);
}

function check(title, run) {
  if (!run) return card(title, "never run", h("p", {}, `Run \`abparts ${title.split(" ")[1]}\`.`), "unknown");
  const details = run.details
    ? h("details", {}, h("summary", {}, "The full result"), h("pre", {}, JSON.stringify(run.details, null, 2)))
    : null;
  return card(title, run.ok ? "passed" : "FAILED",
    [h("p", {}, h("time", { datetime: run.finished_at }, when(run.finished_at))), h("p", {}, run.summary), details],
    run.ok ? "ok" : "failed");
}
