// The page's shell: sign-in, the four views behind #stock, #ledger, #history and #health.
// A view's filters live in the address (#history?warehouse_id=…), so a view can be linked to.

import { ApiError, get, isAdmin, session, signIn, signOut } from "./api.js";
import { say } from "./dom.js";
import * as health from "./health.js";
import * as history from "./history.js";
import * as ledger from "./ledger.js";
import * as stock from "./stock.js";

const VIEWS = { stock, ledger, history, health };
const ADMIN_ONLY = new Set(["ledger", "health"]);

function route() {
  const [name, search] = (location.hash.slice(1) || "stock").split("?");
  return { name: name in VIEWS ? name : "stock", params: Object.fromEntries(new URLSearchParams(search || "")) };
}

function show(id) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== id;
  // One status line, under the shown view's heading (a live region: screen readers hear it).
  document.querySelector(`#${id} h2`).after(document.getElementById("status"));
}

// `focus`: move the keyboard to the content once it is shown, before its data arrives (later would
// take the focus from a control the user has reached meanwhile).
async function render({ focus = false } = {}) {
  if (!session.token) {
    document.getElementById("nav").hidden = true;
    document.getElementById("who").hidden = true;
    show("view-signin");
    document.getElementById("signin-username").focus();
    return;
  }
  if (!session.me) session.me = await get("/users/me");
  chrome();
  const { name, params } = route();
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  show(`view-${name}`);
  if (focus) document.getElementById("main").focus();
  if (ADMIN_ONLY.has(name) && !isAdmin()) {
    say("This view reads the log itself: admins and super_admins only.", true);
    return;
  }
  say("");
  await VIEWS[name].open(params);
}

function chrome() {
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  for (const link of document.querySelectorAll("#nav a[data-admin]")) link.hidden = !isAdmin();
  const me = session.me;
  document.getElementById("who-name").textContent = `${me.name || me.username} (${me.role})`;
}

async function guarded(work) {
  try {
    await work();
  } catch (error) {
    // A refused sign-in (or a token gone meanwhile): the form again, and why.
    if (error instanceof ApiError && error.status === 401) await render();
    say(error instanceof ApiError ? `${error.message} (${error.code || error.status})` : String(error), true);
  }
}

document.getElementById("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  guarded(async () => {
    await signIn(form.username.value, form.password.value);
    form.reset();
    if (!location.hash) location.hash = "#stock";
    await render({ focus: true });
  });
});

// Signed out, the page starts again from nothing: no choice or row of the last user stays in it.
document.getElementById("sign-out").addEventListener("click", () => guarded(async () => {
  await signOut();
  location.reload();
}));

window.addEventListener("hashchange", () => guarded(() => render()));
window.addEventListener("abparts:signed-out", () => location.reload());
for (const view of Object.values(VIEWS)) view.setup(guarded);
guarded(() => render());
