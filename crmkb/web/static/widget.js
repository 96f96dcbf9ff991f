/* crmkb chat widget: one <script src=".../widget.js" data-api="..." defer></script> adds a launcher
 * button and a chat panel to any page. Everything lives in a Shadow DOM, so page styles and widget styles
 * never meet. Every string from the network or the user is inserted as text (textContent, text nodes),
 * never parsed as HTML. */
(() => {
  "use strict";

  const script = document.currentScript;
  const data = (script && script.dataset) || {};
  const API = (data.api || (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/$/, "");
  const API_KEY = data.apiKey || "";
  /* Who is asking: a short-lived JWT the host page signs for its signed-in user. data-token holds one
   * (a page rendered per visit); data-token-provider names a global function the widget calls for a fresh
   * one (returning the token, or a Promise of it), looked up when needed so the page may define it later. */
  const TOKEN = data.token || "";
  const TOKEN_PROVIDER = data.tokenProvider || "";
  const SIGNED = Boolean(TOKEN || TOKEN_PROVIDER);
  const HISTORY = 5;
  /* Who rates, so rating an answer again replaces the earlier rating instead of adding one: a random id
   * kept in this browser's localStorage (nothing personal); a fresh one per page where storage is refused. */
  const RATER = (() => {
    const fresh = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    try {
      let id = localStorage.getItem("crmkb-rater");
      if (!/^[0-9a-f]{32}$/.test(id || "")) {
        id = fresh();
        localStorage.setItem("crmkb-rater", id);
      }
      return id;
    } catch {
      return fresh();
    }
  })();

  const STRINGS = {
    "zh-Hans": {
      title: "CRM 实施助手", subtitle: "来自知识库的实施建议,每条都有出处", open: "打开 CRM 实施助手",
      close: "关闭", placeholder: "输入你的问题,Enter 发送", send: "发送", input: "你的问题",
      hint: "可以这样问:", examples: ["CRM项目失败后第一步应该做什么?", "项目收尾时要检查哪些事情?", "CRM项目团队应该由哪些人组成?"],
      thinking: "正在查找知识库…", copy: "复制", copied: "已复制", up: "有帮助", down: "没帮助",
      comment: "补充说明(可选)", commentSend: "提交", thanks: "谢谢你的反馈!", refusal: "知识库未涵盖",
      topics: "知识库涵盖的相关主题", covers: "知识库里的文章", lost: "连接中断,回答没有完成。", retry: "重试",
      failed: "出错了,请稍后再试。", e401: "API 密钥无效,请联系管理员。", e413: "问题太长了。",
      signedOut: "你的登录已过期或无法验证,请刷新页面重新登录后再试。", e403: "此页面未获准使用本助手,请联系管理员。",
      e429: "提问太频繁,请 {s} 秒后再试。", e503: "知识库暂时不可用,请稍后再试。",
      source: "来源 {n}", curated: "培训师审核过的答案",
    },
    "zh-Hant": {
      title: "CRM 實施助手", subtitle: "來自知識庫的實施建議,每條都有出處", open: "打開 CRM 實施助手",
      close: "關閉", placeholder: "輸入你的問題,Enter 送出", send: "送出", input: "你的問題",
      hint: "可以這樣問:", examples: ["CRM項目失敗後第一步應該做什麼?", "項目收尾時要檢查哪些事情?", "CRM項目團隊應該由哪些人組成?"],
      thinking: "正在查找知識庫…", copy: "複製", copied: "已複製", up: "有幫助", down: "沒幫助",
      comment: "補充說明(可選)", commentSend: "提交", thanks: "謝謝你的回饋!", refusal: "知識庫未涵蓋",
      topics: "知識庫涵蓋的相關主題", covers: "知識庫裡的文章", lost: "連線中斷,回答沒有完成。", retry: "重試",
      failed: "出錯了,請稍後再試。", e401: "API 金鑰無效,請聯絡管理員。", e413: "問題太長了。",
      signedOut: "你的登入已過期或無法驗證,請重新整理頁面登入後再試。", e403: "此頁面未獲准使用本助手,請聯絡管理員。",
      e429: "提問太頻繁,請 {s} 秒後再試。", e503: "知識庫暫時無法使用,請稍後再試。",
      source: "來源 {n}", curated: "培訓師審核過的答案",
    },
    en: {
      title: "CRM implementation assistant", subtitle: "Guidance from the knowledge base, every point cited",
      open: "Open the CRM implementation assistant", close: "Close", placeholder: "Ask a question — Enter to send",
      send: "Send", input: "Your question", hint: "Try asking:",
      examples: ["What should we do first after a CRM project fails?", "Who should be on a CRM project team?", "What are the management risks in a CRM rollout?"],
      thinking: "Searching the knowledge base…", copy: "Copy", copied: "Copied", up: "Helpful", down: "Not helpful",
      comment: "Tell us more (optional)", commentSend: "Send", thanks: "Thanks for the feedback!",
      refusal: "Not in the knowledge base", topics: "Related topics the knowledge base covers",
      covers: "Articles in the knowledge base",
      lost: "The connection was lost before the answer finished.", retry: "Retry",
      failed: "Something went wrong. Please try again.", e401: "The API key was refused; ask your administrator.",
      signedOut: "Your sign-in has expired or could not be verified. Reload the page to sign in again, then retry.",
      e403: "This page may not use the assistant; ask your administrator.",
      e413: "That question is too long.", e429: "Too many questions; try again in {s} s.",
      e503: "The knowledge base is unavailable right now; try again shortly.", source: "Source {n}",
      curated: "Curated answer, reviewed by a trainer",
    },
  };

  function pickLanguage(tag) {
    const t = String(tag || "").toLowerCase();
    if (!t) return "";
    if (t === "zh-hant" || /^zh-(tw|hk|mo)/.test(t) || t.startsWith("zh-hant")) return "zh-Hant";
    if (t.startsWith("zh")) return "zh-Hans";
    if (t.startsWith("en")) return "en";
    return "";
  }
  const LANG = pickLanguage(data.lang) || pickLanguage(document.documentElement.lang) || pickLanguage(navigator.language) || "zh-Hans";
  const T = STRINGS[LANG];
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));

  /* Small DOM helpers: el() never takes HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }
  function icon(paths, size = 20) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", size);
    svg.setAttribute("height", size);
    svg.setAttribute("aria-hidden", "true");
    for (const d of paths) {
      const p = document.createElementNS(ns, "path");
      p.setAttribute("d", d);
      svg.append(p);
    }
    return svg;
  }
  const ICON_CHAT = ["M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.2 3.6A.5.5 0 0 1 5 19.2V16h-.5A.5.5 0 0 1 4 15.5z"];
  const ICON_CLOSE = ["M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z"];
  const ICON_SEND = ["M3.4 20.4 21 12 3.4 3.6 3.4 10 16 12 3.4 14z"];

  const CSS = `
  :host { all: initial; }
  * { box-sizing: border-box; }
  .root { --accent: #2f5bd3; --accent-soft: #e8eefc; --ink: #1c2433; --muted: #5d6778; --line: #e3e7ee;
    --bg: #ffffff; --canvas: #f5f7fb; --amber: #8a5a00; --amber-soft: #fff6e0; --red: #b3261e; --red-soft: #fdecea;
    font-family: -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", Roboto, sans-serif;
    font-size: 14px; line-height: 1.6; color: var(--ink); }
  button { font: inherit; color: inherit; cursor: pointer; border: 0; background: none; }
  button:focus-visible, textarea:focus-visible, a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
  .launcher { position: fixed; right: 24px; bottom: 24px; width: 56px; height: 56px; border-radius: 50%;
    background: var(--accent); color: #fff; display: grid; place-items: center; z-index: 2147483646;
    box-shadow: 0 8px 24px rgba(31, 58, 140, .35); transition: transform .15s ease; }
  .launcher:hover { transform: translateY(-2px); }
  .launcher svg { fill: currentColor; }
  .panel { position: fixed; right: 24px; bottom: 92px; width: 400px; height: min(640px, calc(100vh - 120px));
    background: var(--bg); border-radius: 16px; box-shadow: 0 18px 48px rgba(20, 30, 60, .22), 0 2px 6px rgba(20, 30, 60, .08);
    display: flex; flex-direction: column; overflow: hidden; z-index: 2147483647; border: 1px solid var(--line); }
  .panel[hidden] { display: none; }
  header { display: flex; align-items: flex-start; gap: 12px; padding: 16px 16px 14px; background: var(--accent); color: #fff; }
  header .mark { width: 34px; height: 34px; border-radius: 10px; background: rgba(255,255,255,.18); display: grid; place-items: center; flex: none; }
  header .mark svg { fill: #fff; }
  header h2 { margin: 0; font-size: 15px; font-weight: 600; line-height: 1.3; }
  header p { margin: 2px 0 0; font-size: 12px; opacity: .85; }
  header .close { margin-left: auto; width: 32px; height: 32px; border-radius: 8px; display: grid; place-items: center; color: #fff; }
  header .close:hover { background: rgba(255,255,255,.15); }
  header .close svg { fill: currentColor; }
  .messages { flex: 1; overflow-y: auto; padding: 16px; background: var(--canvas); display: flex; flex-direction: column; gap: 12px; }
  .empty { color: var(--muted); font-size: 13px; }
  .empty p { margin: 0 0 8px; }
  .example { display: block; width: 100%; text-align: left; padding: 9px 12px; margin-bottom: 8px; border-radius: 10px;
    background: var(--bg); border: 1px solid var(--line); color: var(--ink); }
  .example:hover { border-color: var(--accent); color: var(--accent); }
  .user { align-self: flex-end; max-width: 85%; background: var(--accent); color: #fff; padding: 9px 13px;
    border-radius: 14px 14px 4px 14px; white-space: pre-wrap; word-break: break-word; }
  .bot { align-self: stretch; }
  .card { background: var(--bg); border: 1px solid var(--line); border-radius: 4px 14px 14px 14px; padding: 12px 14px; }
  .refusal .card { background: var(--amber-soft); border-color: #f1d595; }
  .error .card { background: var(--red-soft); border-color: #f3c2bd; color: var(--red); }
  .badge { display: inline-block; font-size: 11px; font-weight: 600; letter-spacing: .02em; padding: 1px 8px;
    border-radius: 999px; margin-bottom: 6px; }
  .refusal .badge { background: #fbe3a6; color: var(--amber); }
  .curated .badge { background: #e3f4ea; color: #1e7a45; }
  .body { white-space: normal; word-break: break-word; }
  .body .line { margin: 0 0 6px; }
  .body .line:last-child { margin-bottom: 0; }
  .chip { display: inline-flex; align-items: center; justify-content: center; min-width: 20px; height: 18px; padding: 0 5px;
    margin: 0 2px; border-radius: 9px; background: var(--accent-soft); color: var(--accent); font-size: 11px; font-weight: 700;
    vertical-align: 2px; line-height: 1; }
  .chip:hover, .chip[aria-expanded="true"] { background: var(--accent); color: #fff; }
  .typing { display: inline-flex; gap: 4px; align-items: center; color: var(--muted); font-size: 13px; }
  .typing i { width: 6px; height: 6px; border-radius: 50%; background: #9aa5b8; animation: blink 1.2s infinite ease-in-out; }
  .typing i:nth-child(2) { animation-delay: .15s; } .typing i:nth-child(3) { animation-delay: .3s; }
  @keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
  .tools { display: flex; align-items: center; gap: 4px; margin-top: 8px; flex-wrap: wrap; }
  .tool { padding: 3px 9px; border-radius: 8px; font-size: 12px; color: var(--muted); border: 1px solid transparent; }
  .tool:hover { background: var(--bg); border-color: var(--line); color: var(--ink); }
  .tool[aria-pressed="true"] { background: var(--accent-soft); color: var(--accent); border-color: transparent; }
  .comment { display: flex; gap: 6px; margin-top: 8px; }
  .comment textarea { flex: 1; min-height: 36px; }
  .note { font-size: 12px; color: var(--muted); margin-top: 6px; }
  .retry { margin-top: 8px; padding: 5px 12px; border-radius: 8px; background: var(--red); color: #fff; font-size: 13px; }
  .topics { margin: 8px 0 0; padding-left: 18px; color: var(--amber); font-size: 13px; }
  form { display: flex; gap: 8px; padding: 12px; border-top: 1px solid var(--line); background: var(--bg); }
  textarea { font: inherit; color: var(--ink); resize: none; border: 1px solid var(--line); border-radius: 10px;
    padding: 8px 11px; background: #fff; }
  form textarea { flex: 1; height: 42px; max-height: 120px; }
  .send { width: 42px; height: 42px; border-radius: 10px; background: var(--accent); color: #fff; display: grid; place-items: center; flex: none; }
  .send:disabled { opacity: .45; cursor: default; }
  .send svg, .comment .send svg { fill: currentColor; }
  .small { width: auto; height: auto; padding: 0 12px; font-size: 13px; }
  .popover { position: absolute; left: 12px; right: 12px; bottom: 74px; max-height: 55%; overflow-y: auto; background: var(--bg);
    border: 1px solid var(--line); border-radius: 12px; box-shadow: 0 12px 32px rgba(20, 30, 60, .2); padding: 14px 16px; z-index: 2; }
  .popover[hidden] { display: none; }
  .popover h3 { margin: 0 28px 8px 0; font-size: 14px; }
  .popover .kind { font-size: 11px; font-weight: 600; padding: 1px 8px; border-radius: 999px; margin-left: 6px; }
  .kind.best-practice { background: #e3f4ea; color: #1e7a45; }
  .kind.failure-case { background: #fdecea; color: #a3261e; }
  .popover blockquote { margin: 0; padding: 8px 12px; border-left: 3px solid var(--accent); background: var(--canvas);
    border-radius: 0 8px 8px 0; font-size: 13px; }
  .popover mark { background: #ffe58a; color: inherit; padding: 0 1px; border-radius: 2px; }
  .popover .x { position: absolute; top: 8px; right: 8px; width: 28px; height: 28px; border-radius: 8px; display: grid; place-items: center; color: var(--muted); }
  .popover .x svg { fill: currentColor; }
  .panel-body { position: relative; flex: 1; display: flex; flex-direction: column; min-height: 0; }
  @media (max-width: 480px) {
    .panel { inset: 0; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; border: 0; }
    .launcher { right: 16px; bottom: 16px; }
  }`;

  /* ---- the shell ---- */
  const host = document.createElement("div");
  host.setAttribute("data-crmkb-widget", "");
  const shadow = host.attachShadow({ mode: "open" });
  const root = el("div", { class: "root" });
  const launcher = el("button", { class: "launcher", type: "button", "aria-label": T.open, "aria-expanded": "false",
    "aria-haspopup": "dialog", "data-testid": "crmkb-launcher" }, icon(ICON_CHAT, 26));
  const messages = el("div", { class: "messages", "aria-live": "polite", role: "log" });
  const input = el("textarea", { rows: 1, placeholder: T.placeholder, "aria-label": T.input, "data-testid": "crmkb-input", maxlength: 2000 });
  const send = el("button", { class: "send", type: "submit", "aria-label": T.send, "data-testid": "crmkb-send" }, icon(ICON_SEND));
  const form = el("form", {}, input, send);
  const popover = el("div", { class: "popover", role: "dialog", "aria-modal": "false", hidden: true, "data-testid": "crmkb-popover" });
  const closeButton = el("button", { class: "close", type: "button", "aria-label": T.close }, icon(ICON_CLOSE));
  const panel = el("div", { class: "panel", role: "dialog", "aria-label": T.title, hidden: true, "data-testid": "crmkb-panel", lang: LANG },
    el("header", {}, el("div", { class: "mark" }, icon(ICON_CHAT, 18)),
      el("div", {}, el("h2", { text: T.title }), el("p", { text: T.subtitle })), closeButton),
    el("div", { class: "panel-body" }, messages, popover, form));
  root.append(launcher, panel);
  shadow.append(el("style", { text: CSS }), root);

  const history = [];
  let busy = false;
  let openChip = null;

  function showEmptyState() {
    const empty = el("div", { class: "empty" }, el("p", { text: T.hint }));
    for (const q of T.examples) empty.append(el("button", { class: "example", type: "button", text: q, onclick: () => ask(q) }));
    messages.append(empty);
  }

  function openPanel() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    input.focus();
  }
  function closePanel() {
    closePopover(false);
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  /* ---- answers ---- */
  /* A citation's label ("title › section", in English titles for an English asker) and kind_label come
   * from the server, which words them for every channel; the widget only shows them. */
  function renderAnswer(container, text, citations) {
    container.replaceChildren();
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const p = el("p", { class: "line" });
      for (const part of line.split(/(\[\d+\])/)) {
        const m = /^\[(\d+)\]$/.exec(part);
        const citation = m && citations.get(Number(m[1]));
        if (citation) p.append(chip(citation));
        else if (part) p.append(document.createTextNode(part));
      }
      container.append(p);
    }
  }

  function chip(citation) {
    const button = el("button", { class: "chip", type: "button", text: String(citation.n), "aria-expanded": "false",
      "aria-label": fill(T.source, { n: citation.n }), title: citation.label, "data-testid": "crmkb-chip" });
    button.addEventListener("click", (event) => { event.stopPropagation(); showSource(button, citation); });
    return button;
  }

  let providedToken = "";
  function expiresAt(token) {
    try {
      const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return typeof claims.exp === "number" ? claims.exp * 1000 : Infinity;
    } catch { return 0; }
  }
  /* The token to send: the provider's is kept until half a minute before it expires, so a page's token
   * endpoint is asked once per token lifetime, not once per request; ``fresh`` asks it again (after a 401). */
  async function token(fresh) {
    if (!TOKEN_PROVIDER) return TOKEN;
    if (!fresh && providedToken && expiresAt(providedToken) - Date.now() > 30_000) return providedToken;
    const provide = window[TOKEN_PROVIDER];
    try { providedToken = typeof provide === "function" ? String((await provide()) || "") : ""; } catch { providedToken = ""; }
    return providedToken;
  }

  async function headers(fresh) {
    const h = { "Content-Type": "application/json" };
    if (API_KEY) h["X-API-Key"] = API_KEY;
    const jwt = await token(fresh);
    if (jwt) h.Authorization = "Bearer " + jwt;
    return h;
  }

  /* Every /api/* call: with the user's token, and once more with a fresh one when it was refused. */
  async function call(path, options) {
    const response = await fetch(API + path, { ...options, headers: await headers(false) });
    if (response.status !== 401 || !TOKEN_PROVIDER) return response;
    return fetch(API + path, { ...options, headers: await headers(true) });
  }

  function problem(status, response) {
    if (status === 401) return SIGNED ? T.signedOut : T.e401;
    if (status === 403) return T.e403;
    if (status === 413) return T.e413;
    if (status === 429) return fill(T.e429, { s: (response && response.headers.get("Retry-After")) || 60 });
    if (status === 503) return T.e503;
    return T.failed;
  }

  async function detailOf(response) {
    try { const body = await response.json(); return typeof body.detail === "string" ? body.detail : ""; } catch { return ""; }
  }

  function* sseEvents(buffer) {
    // Events end at a blank line; sse-starlette writes CRLF, others LF.
    const parts = buffer.split(/\r?\n\r?\n/);
    const rest = parts.pop();
    for (const raw of parts) {
      let name = "message";
      const lines = [];
      for (const line of raw.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) lines.push(line.slice(5).replace(/^ /, ""));
      }
      if (lines.length) yield { name, data: lines.join("\n") };
    }
    return rest;
  }

  async function ask(question) {
    question = question.trim();
    if (!question || busy) return;
    messages.querySelector(".empty")?.remove();
    messages.append(el("div", { class: "user", text: question }));
    const article = el("article", { class: "bot", "data-testid": "crmkb-answer", "data-state": "streaming", "aria-busy": "true" });
    messages.append(article);
    await stream(question, article);
  }

  async function stream(question, article) {
    busy = true;
    send.disabled = true;
    const body = el("div", { class: "body" }, el("span", { class: "typing" }, el("i"), el("i"), el("i"), document.createTextNode(" " + T.thinking)));
    const card = el("div", { class: "card" }, body);
    article.replaceChildren(card);
    article.className = "bot";
    article.removeAttribute("data-curated");
    article.setAttribute("data-state", "streaming");
    scroll();
    const citations = new Map();
    let text = "";
    let finished = null;
    try {
      const response = await call("/api/ask/stream", { method: "POST",
        body: JSON.stringify({ question, history: history.slice(-HISTORY) }) });
      if (!response.ok) {
        const detail = response.status === 422 ? await detailOf(response) : "";
        return fail(article, detail || problem(response.status, response), question, response.status !== 422);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const events = sseEvents(buffer);
        let step = events.next();
        while (!step.done) {
          const { name, data: payload } = step.value;
          const event = JSON.parse(payload);
          if (name === "meta") { article.setAttribute("data-answer-id", event.answer_id); }
          else if (name === "delta") { text += event.text; renderAnswer(body, text, citations); scroll(); }
          else if (name === "citation") { citations.set(event.n, event); renderAnswer(body, text, citations); }
          else if (name === "done") finished = event;
          else if (name === "error") return fail(article, event.detail || T.failed, question, true);
          step = events.next();
        }
        buffer = step.value;
      }
    } catch {
      if (!finished) return fail(article, T.lost, question, true);
    } finally {
      busy = false;
      send.disabled = false;
    }
    if (!finished) return fail(article, T.lost, question, true);
    complete(article, card, body, finished);
  }

  function complete(article, card, body, answer) {
    // each citation knows the asker's script: its source passage is fetched in it
    const citations = new Map(answer.citations.map((c) => [c.n, { ...c, language: answer.language }]));
    article.setAttribute("data-answer-id", answer.id);
    article.removeAttribute("aria-busy");
    history.push(answer.question);
    const refusal = answer.refusal;  // the message and the topics, as separate fields
    // A greeting or thanks is replied to, not refused: no badge, and nothing to rate.
    const replied = refusal && refusal.kind !== "not_covered";
    if (!answer.answerable) {
      if (!replied) {
        article.classList.add("refusal");
        card.prepend(el("span", { class: "badge", text: T.refusal }));
      }
      article.setAttribute("data-state", replied ? "reply" : "refusal");
      body.replaceChildren(el("p", { class: "line", text: refusal.message }));
      if (refusal.topics.length) {
        card.append(el("div", { class: "note", text: replied ? T.covers : T.topics }));
        const list = el("ul", { class: "topics" });
        for (const topic of refusal.topics) list.append(el("li", { text: topic }));
        card.append(list);
      }
      if (replied) return scroll();
    } else {
      article.setAttribute("data-state", "done");
      renderAnswer(body, answer.answer, citations);
      if (answer.curated) {
        // A trainer reviewed this answer: said in the asker's language, which may not be the page's.
        article.classList.add("curated");
        article.setAttribute("data-curated", "true");
        const words = STRINGS[answer.language] || T;
        card.prepend(el("span", { class: "badge", text: "✓ " + words.curated, "data-testid": "crmkb-curated" }));
      }
    }
    article.append(tools(answer));
    scroll();
  }

  function fail(article, message, question, retryable) {
    article.classList.add("error");
    article.setAttribute("data-state", "error");
    article.removeAttribute("aria-busy");
    const card = el("div", { class: "card", role: "alert" }, el("p", { class: "line", text: message }));
    if (retryable) {
      card.append(el("button", { class: "retry", type: "button", text: T.retry, "data-testid": "crmkb-retry",
        onclick: () => { article.classList.remove("error"); stream(question, article); } }));
    }
    article.replaceChildren(card);
    scroll();
  }

  function tools(answer) {
    const bar = el("div", { class: "tools" });
    const up = el("button", { class: "tool", type: "button", "aria-pressed": "false", "data-testid": "crmkb-up", text: "👍 " + T.up });
    const down = el("button", { class: "tool", type: "button", "aria-pressed": "false", "data-testid": "crmkb-down", text: "👎 " + T.down });
    const copy = el("button", { class: "tool", type: "button", "data-testid": "crmkb-copy", text: T.copy });
    const area = el("div");
    let rating = null;
    const rate = (value) => {
      rating = value;
      up.setAttribute("aria-pressed", String(value === "up"));
      down.setAttribute("aria-pressed", String(value === "down"));
      postFeedback(answer.id, value, "");
      const box = el("textarea", { rows: 1, placeholder: T.comment, "aria-label": T.comment, "data-testid": "crmkb-comment", maxlength: 2000 });
      const submit = el("button", { class: "send small", type: "button", text: T.commentSend, "data-testid": "crmkb-comment-send" });
      submit.addEventListener("click", async () => {
        if (box.value.trim()) await postFeedback(answer.id, rating, box.value.trim());
        area.replaceChildren(el("div", { class: "note", role: "status", text: T.thanks }));
      });
      area.replaceChildren(el("div", { class: "comment" }, box, submit));
    };
    up.addEventListener("click", () => rate("up"));
    down.addEventListener("click", () => rate("down"));
    copy.addEventListener("click", async () => {
      const lines = [answer.answer, ""].concat(answer.citations.map((c) => `[${c.n}] ${c.label}: ${c.quote_shown || c.quote}`));
      await copyText(lines.join("\n"));
      copy.textContent = T.copied;
      setTimeout(() => { copy.textContent = T.copy; }, 1500);
    });
    bar.append(up, down, copy);
    return el("div", {}, bar, area);
  }

  async function postFeedback(answerId, rating, comment) {
    try {
      await call("/api/feedback", { method: "POST",
        body: JSON.stringify({ answer_id: answerId, rating, comment, rater: RATER }) });
    } catch { /* a lost rating is not worth interrupting the reader */ }
  }

  async function copyText(text) {
    try { await navigator.clipboard.writeText(text); return; } catch { /* fall back below */ }
    const scratch = el("textarea", { style: "position:fixed;opacity:0" });
    scratch.value = text;
    shadow.append(scratch);
    scratch.select();
    try { document.execCommand("copy"); } catch { /* nothing more to try */ }
    scratch.remove();
  }

  /* ---- the source pop-over ---- */
  async function showSource(button, citation) {
    if (openChip === button) return closePopover(true);
    closePopover(false);
    openChip = button;
    button.setAttribute("aria-expanded", "true");
    const kind = el("span", { class: "kind " + citation.kind, text: citation.kind_label });
    const quote = el("blockquote", {}, el("mark", { text: citation.quote_shown || citation.quote }));
    const close = el("button", { class: "x", type: "button", "aria-label": T.close, onclick: () => closePopover(true) }, icon(ICON_CLOSE, 16));
    popover.replaceChildren(close, el("h3", { text: citation.label }, kind), quote);
    popover.setAttribute("aria-label", fill(T.source, { n: citation.n }));
    popover.hidden = false;
    close.focus();
    try {
      const script = citation.language === "zh-Hant" ? "&script=zh-Hant" : "";
      const query = `start=${encodeURIComponent(citation.start)}&end=${encodeURIComponent(citation.end)}${script}`;
      const response = await call(`/api/sources/${encodeURIComponent(citation.source)}?${query}`, {});
      if (!response.ok || openChip !== button) return;
      const passage = await response.json();
      const p = passage.paragraph;
      quote.replaceChildren(document.createTextNode(p.slice(0, passage.quote_start)),
        el("mark", { text: p.slice(passage.quote_start, passage.quote_end) }), document.createTextNode(p.slice(passage.quote_end)));
    } catch { /* the quote alone is still shown */ }
  }

  function closePopover(refocus) {
    if (popover.hidden) return;
    popover.hidden = true;
    const chipWas = openChip;
    openChip = null;
    if (chipWas) {
      chipWas.setAttribute("aria-expanded", "false");
      if (refocus) chipWas.focus();
    }
  }

  function scroll() { messages.scrollTop = messages.scrollHeight; }

  /* ---- events ---- */
  launcher.addEventListener("click", () => (panel.hidden ? openPanel() : closePanel()));
  closeButton.addEventListener("click", closePanel);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (event) => {
    // isComposing: Enter also confirms a Chinese IME candidate, which must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  root.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!popover.hidden) closePopover(true);
    else if (!panel.hidden) closePanel();
  });
  shadow.addEventListener("click", (event) => {
    if (!popover.hidden && !popover.contains(event.target) && !(event.target.classList && event.target.classList.contains("chip"))) closePopover(false);
  });

  showEmptyState();
  const mount = () => document.body.append(host);
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.crmkbWidget = { open: openPanel, close: closePanel };
})();
