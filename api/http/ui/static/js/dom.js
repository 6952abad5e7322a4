// Small DOM helpers: elements from data (text only, never HTML), select options, the status line.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function rows(tbody, items, render, empty) {
  tbody.replaceChildren(...items.flatMap(render));
  const headings = [...tbody.closest("table").querySelectorAll("thead th")].map((th) => th.textContent.trim());
  if (items.length === 0) {
    tbody.append(h("tr", { class: "empty" }, h("td", { colspan: headings.length }, empty)));
  }
  // On a phone a table is a list of cards (style.css): each cell says which column it is.
  for (const row of tbody.rows) {
    [...row.cells].forEach((cell, i) => {
      if (cell.colSpan === 1 && headings[i]) cell.dataset.label = headings[i];
    });
  }
}

export function options(select, items, value, label, first) {
  const chosen = select.value;
  const choices = items.map((item) => h("option", { value: value(item) }, label(item)));
  select.replaceChildren(...(first === undefined ? [] : [h("option", { value: "" }, first)]), ...choices);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

export function say(text, isError = false) {
  const line = document.getElementById("status");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

export function when(iso) {
  if (!iso) return "–";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString();
}

// Form fields as an object; datetime-local values are the browser's local time, sent as ISO (UTC).
export function fields(form) {
  const found = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    if (element.type === "checkbox") found[element.name] = element.checked ? "true" : "";
    else if (element.type === "datetime-local") found[element.name] = element.value ? new Date(element.value).toISOString() : "";
    else found[element.name] = element.value.trim();
  }
  return found;
}

// Keyset pages, with a way back: the cursors of the pages seen so far.
export class Pager {
  constructor(prev, next, label, load) {
    this.cursors = [null];
    this.prev = prev;
    this.next = next;
    this.label = label;
    this.load = load;
    this.following = null;
    prev.addEventListener("click", () => this.go(-1));
    next.addEventListener("click", () => this.go(1));
  }

  reset() {
    this.cursors = [null];
  }

  get cursor() {
    return this.cursors[this.cursors.length - 1];
  }

  shown(nextCursor) {
    this.following = nextCursor;
    this.prev.disabled = this.cursors.length <= 1;
    this.next.disabled = !nextCursor;
    this.label.textContent = `Page ${this.cursors.length}`;
  }

  go(step) {
    if (step > 0 && this.following) this.cursors.push(this.following);
    if (step < 0 && this.cursors.length > 1) this.cursors.pop();
    this.load();
  }
}

// Exact comparison of two decimal strings ("12.500", "-3"): -1, 0 or 1. No floating point.
export function compareDecimal(a, b) {
  const scale = Math.max(fraction(a).length, fraction(b).length);
  const x = scaled(a, scale);
  const y = scaled(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

function fraction(text) {
  const dot = String(text).indexOf(".");
  return dot < 0 ? "" : String(text).slice(dot + 1);
}

function scaled(text, scale) {
  const value = String(text).trim();
  const negative = value.startsWith("-");
  const [whole, part = ""] = value.replace(/^[-+]/, "").split(".");
  const digits = BigInt((whole || "0") + part.padEnd(scale, "0"));
  return negative ? -digits : digits;
}
