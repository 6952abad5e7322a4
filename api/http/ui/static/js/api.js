// The JSON API, as the signed-in user: POST /token once, then every read with the bearer token.
// Scoping is the API's own: the page never sees more than the token may.

const KEY = "abparts-token";

export const session = { token: sessionStorage.getItem(KEY), me: null };

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

export async function signIn(username, password) {
  const response = await fetch("/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  session.token = body.access_token;
  sessionStorage.setItem(KEY, session.token);
  session.me = await get("/users/me");
  return session.me;
}

export async function signOut() {
  const token = session.token;
  session.token = null;
  session.me = null;
  sessionStorage.removeItem(KEY);
  if (token) {
    await fetch("/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
  }
}

export function isAdmin() {
  return session.me !== null && (session.me.role === "admin" || session.me.role === "super_admin");
}

// Empty values are left out, so a form's blank fields mean "no filter".
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function get(path, params) {
  const response = await fetch(path + query(params), {
    headers: { Authorization: `Bearer ${session.token}`, Accept: "application/json" },
  });
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    await signOut();
    window.dispatchEvent(new Event("abparts:signed-out"));
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// Every page of a list (at most `pages` of them): for the filters' choices.
export async function all(path, params, pages = 10) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < pages; i += 1) {
    const page = await get(path, { ...params, limit: 500, cursor });
    items.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}
