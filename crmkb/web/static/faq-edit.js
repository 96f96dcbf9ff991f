/* Editing published curated answers on /faq (no build step, no dependencies).
 *
 * A trainer signs in with the admin token, which the server exchanges for an HttpOnly session cookie; this
 * script never sees the cookie, only the session's CSRF token, which it sends with every change. Each
 * published entry can be opened, its answer and quotes edited, checked (the check `crmkb faq publish`
 * runs, shown next to the sentence or quote it fails) and saved; Save stays off until the text as it
 * stands has passed the check, and the server refuses a flagged edit anyway. Every string from the network
 * is inserted as text, never as HTML.
 */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k === "testid") node.dataset.testid = v;
      else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  };
  const API = "/api/admin";
  let csrf = "";
  let entries = [];

  const say = (text, isError = false) => {
    const status = $("admin-status");
    status.textContent = text;
    status.classList.toggle("error", isError);
  };

  class Failure extends Error {
    constructor(status, detail, body) { super(detail); this.status = status; this.body = body; }
  }

  // One request to the admin API; a refusal becomes a Failure carrying the server's one-line reason.
  async function call(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    let response;
    try {
      response = await fetch(API + path, { method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new Failure(0, "连接不上服务器 · The server cannot be reached");
    }
    let data = null;
    try { data = await response.json(); } catch { /* not JSON: a proxy's error page */ }
    if (!response.ok) {
      const detail = data && typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`;
      if (response.status === 401 && path !== "/session") signedOut("登录已失效,请重新登录 · Your session has ended; sign in again");
      throw new Failure(response.status, detail, data);
    }
    return data;
  }

  function showSession(state) {
    $("admin-off").hidden = state.enabled;
    $("signin").hidden = !state.enabled || state.signed_in;
    const bar = $("admin-state");
    bar.replaceChildren();
    if (!state.signed_in) { csrf = ""; return; }
    csrf = state.csrf_token;
    const until = new Date(state.expires_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const out = el("button", { type: "button", testid: "admin-signout", text: "退出 · Sign out" });
    out.addEventListener("click", signOut);
    bar.append(`已登录,至 ${until} · Signed in until ${until} `, out);
  }

  function signedOut(message) {
    showSession({ enabled: true, signed_in: false });
    $("curated-list").replaceChildren();
    say(message, true);
    $("admintoken").focus();
  }

  async function start() {
    try {
      const state = await call("GET", "/session");
      showSession(state);
      if (state.signed_in) await load();
    } catch (error) {
      say("出错了 · Failed: " + error.message, true);
    }
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $("admintoken").value;
    if (!token) { $("admintoken").focus(); return; }
    try {
      const state = await call("POST", "/session", { token });
      $("admintoken").value = "";
      showSession(state);
      say("");
      await load();
    } catch (error) {
      const wrong = error.status === 401 ? "令牌不正确 · Wrong admin token" : "登录失败 · Sign-in failed: " + error.message;
      say(wrong, true);
    }
  }

  async function signOut() {
    try { await call("DELETE", "/session"); } catch { /* the cookie is cleared below either way */ }
    signedOut("已退出 · Signed out");
  }

  async function load() {
    entries = await call("GET", "/curated");
    const list = $("curated-list");
    list.replaceChildren(...entries.map(view));
    if (!entries.length) list.append(el("p", { class: "hint", text: "还没有已发布的答案(crmkb faq publish) · Nothing is published yet (crmkb faq publish)" }));
  }

  function view(entry) {
    const box = el("div", { class: "entry card", testid: "curated-entry" });
    box.dataset.id = entry.id;
    box.append(el("h3", { text: entry.question }));
    const answer = el("div", { class: "answer", testid: "curated-answer" });
    for (const line of entry.answer.split("\n")) if (line.trim()) answer.append(el("p", { text: line }));
    box.append(answer);
    for (const c of entry.citations) {
      // Askers see only the citations the answer cites (renumbered); the rest wait here for an edit to use them.
      const unused = entry.answer.includes(`[${c.n}]`) ? "" : "(未引用,提问者看不到 · not cited, askers do not see it)";
      box.append(el("div", { class: "cite", text: `[${c.n}] ${c.label} — “${c.quote}”${unused}` }));
    }
    const edit = el("button", { type: "button", testid: "curated-edit", text: "编辑 · Edit" });
    const drop = el("button", { type: "button", class: "danger", testid: "curated-unpublish", text: "撤下 · Unpublish" });
    edit.addEventListener("click", () => box.replaceWith(editor(entry)));
    drop.addEventListener("click", async () => {
      if (drop.dataset.confirm !== "yes") {  // a second click confirms: no dialog boxes
        drop.dataset.confirm = "yes";
        drop.textContent = "确认撤下? · Really unpublish?";
        return;
      }
      try {
        await call("DELETE", `/curated/${encodeURIComponent(entry.id)}`);
        say(`已撤下 · Unpublished: ${entry.question}`);
        await load();
      } catch (error) {
        say("撤下失败 · Not unpublished: " + error.message, true);
      }
    });
    box.append(el("div", { class: "tools" }, edit, drop));
    return box;
  }

  function editor(entry) {
    const box = el("div", { class: "entry card editor", testid: "curated-editor" });
    box.dataset.id = entry.id;
    box.append(el("h3", { text: entry.question }));
    const text = el("textarea", { "aria-label": "答案 · Answer", testid: "editor-answer" });
    text.value = entry.answer;
    const claims = el("ul", { class: "claims", testid: "editor-claims" });
    box.append(el("label", { text: "答案 · Answer(每句话以 [n] 标注所依据的引文 · mark each sentence with the [n] of its quote)" }), text, claims);
    const quotes = new Map();
    for (const c of entry.citations) {
      const field = el("textarea", { "aria-label": `引文 [${c.n}] · Quote [${c.n}]`, testid: `editor-quote-${c.n}` });
      field.value = c.quote;
      const verdict = el("p", { class: "why", testid: `editor-quote-${c.n}-check` });
      quotes.set(c.n, { field, verdict, original: c.quote });
      box.append(el("div", { class: "quote" }, el("label", { text: `[${c.n}] ${c.label}` }), field, verdict));
    }
    const status = el("p", { class: "small", role: "status", testid: "editor-status" });
    const check = el("button", { type: "button", testid: "editor-check", text: "检查 · Check" });
    const save = el("button", { type: "button", class: "primary", testid: "editor-save", text: "保存 · Save" });
    const cancel = el("button", { type: "button", testid: "editor-cancel", text: "取消 · Cancel" });
    save.disabled = true;
    box.append(el("div", { class: "tools" }, check, save, cancel), status);

    const edit = () => {
      const changed = {};
      for (const [n, q] of quotes) if (q.field.value !== q.original) changed[n] = q.field.value;
      return { answer: text.value, quotes: changed, revision: entry.revision };
    };
    let checkedAs = null;  // the edit, as JSON, that last passed the check: Save is for that text only
    const stale = () => { save.disabled = JSON.stringify(edit()) !== checkedAs; };
    box.addEventListener("input", stale);

    const tell = (message, isError) => { status.textContent = message; status.classList.toggle("error", isError); };

    function show(report) {
      claims.replaceChildren();
      for (const c of report.claims) {
        const row = el("li", { class: c.ok ? "" : "bad", testid: c.ok ? "claim-ok" : "claim-bad" });
        row.append(el("span", { text: (c.ok ? "✓ " : "✗ ") + c.text }));
        if (!c.ok) {
          const why = c.markers.length
            ? `引文 ${c.markers.map((n) => `[${n}]`).join("")} 不支持这句话 · Not supported by its quote ${c.markers.map((n) => `[${n}]`).join("")}`
            : "这句话没有标注引文 [n] · This sentence cites no quote [n]";
          row.append(el("p", { class: "why", text: why }));
        }
        claims.append(row);
      }
      for (const q of report.quotes) {
        const slot = quotes.get(q.n);
        if (!slot) continue;
        slot.verdict.className = q.ok ? "ok" : "why";
        slot.verdict.textContent = q.ok ? "✓ 原文中有这段话 · Found verbatim in the source" : "✗ " + q.problem;
      }
    }

    check.addEventListener("click", async () => {
      const sent = edit();
      check.disabled = true;
      tell("检查中… · Checking…", false);
      try {
        const report = await call("POST", `/curated/${encodeURIComponent(entry.id)}/check`, sent);
        show(report);
        checkedAs = report.ok ? JSON.stringify(sent) : null;
        stale();
        tell(report.ok ? "检查通过,可以保存 · The check passes; you can save" : "检查未通过,请修改标红的句子或引文 · The check fails: fix what is marked in red", !report.ok);
      } catch (error) {
        tell("检查失败 · Check failed: " + error.message, true);
      } finally {
        check.disabled = false;
      }
    });

    save.addEventListener("click", async () => {
      save.disabled = true;
      tell("保存中… · Saving…", false);
      try {
        const saved = await call("PUT", `/curated/${encodeURIComponent(entry.id)}`, edit());
        entries = entries.map((e) => (e.id === saved.entry.id ? saved.entry : e));
        box.replaceWith(view(saved.entry));
        say(`已保存,机器人现在就用新答案回答 · Saved; the bot answers with it now: ${saved.entry.question}`);
      } catch (error) {
        if (error.body && error.body.check) show(error.body.check);
        tell((error.status === 409 ? "未保存:别人刚改过这条 · Not saved: " : "未保存 · ") + error.message, true);
        checkedAs = null;
      }
    });

    cancel.addEventListener("click", () => box.replaceWith(view(entry)));
    setTimeout(() => text.focus(), 0);
    return box;
  }

  $("signin").addEventListener("submit", signIn);
  start();
})();
