/* The admin console's Conversations page: every recorded answer, filtered and paged by
 * /api/admin/conversations; the filter exported as CSV, deleted (after a confirmation naming the count), and
 * the retention setting applied on demand. Every string is set as text.
 */
(() => {
  "use strict";
  const { call, el, say } = window.crmkbAdmin;
  const $ = (id) => document.getElementById(id);
  const API = "/api/admin/conversations";
  const LIMIT = 50;
  const form = $("conv-filters");
  let offset = 0;
  let shown = { total: 0, retention_days: 0 };

  // The form's non-empty fields, as the API's query string.
  function filters() {
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) params.set(k, String(v).trim());
    return params;
  }

  function options(select, values) {
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "", text: "any" }), ...values.map((v) => el("option", { value: v, text: v })));
    select.value = values.includes(chosen) ? chosen : "";
  }

  function when(epoch) {
    return new Date(epoch * 1000).toISOString().slice(0, 16).replace("T", " ");
  }

  function rating(row) {
    const marks = [row.up ? `👍 ${row.up}` : "", row.down ? `👎 ${row.down}` : ""].filter(Boolean).join(" ");
    return el("td", {}, el("div", { text: marks || "–" }), row.comment ? el("div", { class: "small", text: `“${row.comment}”` }) : "");
  }

  function rowOf(row) {
    const answer = el("details", {}, el("summary", { text: row.question, testid: "conv-question" }),
      el("div", { class: "answer small", text: row.answer }),
      row.sources.length ? el("div", { class: "small", text: `Sources: ${row.sources.join(", ")}` }) : "");
    const outcome = `${row.outcome}${row.curated ? " · curated" : ""}`;
    return el("tr", { testid: "conv-row" },
      el("td", { class: "small", text: when(row.asked) }),
      el("td", { text: `${row.channel} · ${row.language}` }),
      el("td", {}, answer),
      el("td", { class: { answered: "ok", refused: "error" }[row.outcome] || "", text: outcome }),
      rating(row),
      el("td", { class: "small", text: row.user_id || "" }),
      el("td", { class: "num", text: row.latency_ms === null ? "" : String(Math.round(row.latency_ms)) }),
      el("td", {}, el("button", { type: "button", class: "danger", testid: "conv-delete", text: "Delete",
        onclick: () => removeOne(row) })));
  }

  async function load() {
    const params = filters();
    params.set("offset", String(offset));
    params.set("limit", String(LIMIT));
    say("Loading…");
    try {
      shown = await call("GET", `${API}?${params}`);
      options(form.elements.channel, shown.channels);
      options(form.elements.language, shown.languages);
      $("conv-rows").replaceChildren(...shown.rows.map(rowOf));
      const last = Math.min(offset + LIMIT, shown.total);
      $("conv-count").textContent = shown.total ? `${offset + 1}–${last} of ${shown.total} answers` : "No answers match";
      $("conv-prev").disabled = offset === 0;
      $("conv-next").disabled = last >= shown.total;
      $("conv-delete-all").disabled = shown.total === 0;
      $("conv-export").href = `${API}/export.csv?${filters()}`;
      const days = shown.retention_days;
      $("conv-retention").textContent = days
        ? `Answers older than ${days} days are deleted daily (CRMKB_FEEDBACK_RETENTION_DAYS).`
        : "Answers are kept forever: set CRMKB_FEEDBACK_RETENTION_DAYS to delete old ones.";
      $("conv-purge").disabled = !days;
      say("");
    } catch (failure) {
      say(failure.message, true);
    }
  }

  async function removeOne(row) {
    if (!confirm(`Delete this answer and its ratings?\n\n${row.question}`)) return;
    try {
      await call("POST", `${API}/delete`, { ids: [row.id] });
      await load();
      say("Deleted 1 answer.");
    } catch (failure) {
      say(failure.message, true);
    }
  }

  $("conv-delete-all").addEventListener("click", async () => {
    const total = shown.total;
    if (!confirm(`Delete all ${total} answers this filter shows, with their ratings? This cannot be undone.`)) return;
    try {
      const done = await call("POST", `${API}/delete`, { filters: Object.fromEntries(filters()), expected: total });
      offset = 0;
      await load();
      say(`Deleted ${done.deleted} answers.`);
    } catch (failure) {
      say(failure.message, true);
    }
  });

  $("conv-purge").addEventListener("click", async () => {
    try {
      const done = await call("POST", `${API}/retention`);
      await load();
      say(`Retention applied: ${done.deleted} answers deleted.`);
    } catch (failure) {
      say(failure.message, true);
    }
  });

  form.addEventListener("submit", (event) => { event.preventDefault(); offset = 0; load(); });
  $("conv-prev").addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); load(); });
  $("conv-next").addEventListener("click", () => { offset += LIMIT; load(); });
  load();
})();
