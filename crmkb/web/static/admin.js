/* The /admin console's shared script (no build step, no dependencies), loaded before each page's own.
 *
 * It signs in (the form on a page shown to a visitor without a session) and out, and gives the page
 * scripts `window.crmkbAdmin`: `call` (one request to the admin API with the session's CSRF token, which
 * the server wrote into the page; a refusal throws an `AdminFailure` carrying the server's one-line
 * reason), `el` (build an element; strings are always inserted as text, never as HTML) and `say` (the
 * status line). The session cookie itself is HttpOnly: no script here ever sees it.
 */
(() => {
  "use strict";
  const meta = document.querySelector('meta[name="crmkb-csrf"]');
  const csrf = meta ? meta.content : "";
  const csrfHeader = meta ? meta.dataset.header : "X-CSRF-Token";
  const $ = (id) => document.getElementById(id);

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k === "testid") node.dataset.testid = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    node.append(...children);
    return node;
  };

  const say = (text, isError = false) => {
    const status = $("admin-status");
    status.textContent = text;
    status.classList.toggle("error", isError);
  };

  class AdminFailure extends Error {
    constructor(status, detail, body) { super(detail); this.status = status; this.body = body; }
  }

  // `body`: an object (sent as JSON), or a Blob/File (sent as it is, e.g. an upload), or undefined.
  async function call(method, path, body) {
    const headers = {};
    const raw = body instanceof Blob;
    if (body !== undefined && !raw) headers["Content-Type"] = "application/json";
    if (raw) headers["Content-Type"] = "application/octet-stream";
    if (method !== "GET") headers[csrfHeader] = csrf;
    let response;
    try {
      response = await fetch(path, { method, headers, credentials: "same-origin",
        body: body === undefined || raw ? body : JSON.stringify(body) });
    } catch {
      throw new AdminFailure(0, "The server cannot be reached");
    }
    let data = null;
    try { data = await response.json(); } catch { /* not JSON: a proxy's error page */ }
    if (!response.ok) {
      // FastAPI's validation errors are a list, each with its message.
      const listed = data && Array.isArray(data.detail) ? data.detail.map((d) => d.msg).join("; ") : "";
      const detail = data && typeof data.detail === "string" ? data.detail : listed || `HTTP ${response.status}`;
      if (response.status === 401) say("Your session has ended: reload the page and sign in again", true);
      throw new AdminFailure(response.status, detail, data);
    }
    return data;
  }

  const form = $("admin-signin");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await call("POST", "/api/admin/session", { token: $("admin-token").value });
        location.reload();
      } catch (failure) {
        say(failure.status === 401 ? "Wrong admin token" : failure.message, true);
      }
    });
  }
  const signout = $("admin-signout");
  if (signout) {
    signout.addEventListener("click", async () => {
      try { await call("DELETE", "/api/admin/session"); } catch { /* signed out or not, show the form */ }
      location.reload();
    });
  }

  window.crmkbAdmin = { call, el, say, AdminFailure };
})();
