/* The admin console's Hit testing page: one question, the answer the bot serves, and the extractive
 * answerer's evidence for it (retrieved chunks with their scores, scored sentences with the parts of each
 * score, the refusal reason). Uses admin.js's window.crmkbAdmin; every string is inserted as text.
 */
(() => {
  "use strict";
  const { call, el, say } = window.crmkbAdmin;
  const $ = (id) => document.getElementById(id);
  const num = (x, digits = 3) => (typeof x === "number" ? x.toFixed(digits) : "");
  const place = (title, section) => (section ? `${title} › ${section}` : title);

  function showAnswer(result) {
    const served = result.served;
    const reason = result.refusal_reason;
    let verdict;
    if (result.curated) verdict = "Answered with a published curated answer (retrieval below is what the bot would use without it).";
    else if (served.answerable) verdict = `Answered (${served.mode}, ${served.language}).`;
    else verdict = `Refused: ${reason || (served.refusal && served.refusal.message) || "no answer"}.`;
    $("hit-verdict").textContent = verdict;
    $("hit-verdict").className = served.answerable ? "ok" : "error";
    $("hit-answer").textContent = served.answer;
    $("hit-citations").replaceChildren(...served.citations.map((c) =>
      el("li", { testid: "hit-citation", value: String(c.n) }, `${place(c.title, c.section)} — “${c.quote}”`)));
  }

  function showReading(result) {
    const terms = Object.entries(result.terms).map(([t, w]) => `${t} (${num(w, 2)})`).join(", ") || "none";
    const known = result.known.join(", ") || "none (only the meaning can match)";
    const parts = [`Language: ${result.language}.`, `Terms: ${terms}.`, `Used by the knowledge base: ${known}.`];
    if (result.unknown.length) parts.push(`Never mentioned in the knowledge base: ${result.unknown.join(", ")}.`);
    parts.push(`BM25 was asked: “${result.keywords}”.`);
    const t = result.thresholds;
    parts.push(`Refusal thresholds: best sentence dense ≥ ${t.min_dense}; coverage ≥ ${t.min_coverage} unless dense ≥ ${t.strong_dense}; `
      + `dense ≥ ${t.meaning_only_dense} when no term is known.`);
    parts.push(result.refusal_reason ? `Extractive verdict: refuse (${result.refusal_reason}).` : "Extractive verdict: answer.");
    $("hit-reading").textContent = parts.join(" ");
  }

  function showChunks(result) {
    $("hit-fusion").textContent = `Fused by ${result.fusion === "rrf" ? "reciprocal rank" : "weighted sum"}; `
      + "dense 0 means found by BM25 only, BM25 0 by the dense search only.";
    $("hit-chunk-rows").replaceChildren(...result.hits.map((h) => el("tr", { testid: "hit-chunk" },
      el("td", { class: "num", text: String(h.rank) }),
      el("td", {}, el("div", { class: "small", text: `${h.source} · ${place(h.title, h.section)}` }),
        el("div", { class: "clip", text: h.text })),
      el("td", { class: "num", testid: "hit-dense", text: num(h.dense) }),
      el("td", { class: "num", testid: "hit-bm25", text: num(h.bm25, 2) }),
      el("td", { class: "num", testid: "hit-fused", text: num(h.fused, 4) }))));
  }

  function showSentences(result) {
    $("hit-sentence-hint").textContent = `The ${result.sentences.length} best of ${result.sentences_scored} sentences scored. `
      + `${result.formula}. Highlighted: `
      + (result.refusal_reason ? "what the answer would have quoted, judged not to answer (see the reason above)."
        : "quoted in the extractive answer.");
    $("hit-sentence-rows").replaceChildren(...result.sentences.map((s) => el("tr",
      { testid: s.chosen ? "hit-sentence-chosen" : "hit-sentence", class: s.chosen ? "chosen" : "" },
      el("td", {}, el("div", { text: s.text }), el("div", { class: "small", text: s.section ? `${s.source} · ${s.section}` : s.source })),
      el("td", { class: "num", text: num(s.score) }),
      el("td", { class: "num", text: num(s.dense) }),
      el("td", { class: "num", text: num(s.terms, 2) }),
      el("td", { class: "num", text: num(s.heading_terms, 2) }),
      el("td", { class: "num", text: num(s.context, 2) }),
      // rank == the number of hits: no retrieved chunk holds it, its own similarity found it
      el("td", { class: "num", text: s.rank >= result.hits.length ? `${s.rank + 1} (own)` : String(s.rank + 1) }))));
  }

  $("hit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = $("hit-question").value;
    say("Testing…");
    try {
      const history = $("hit-history").value.split("\n").filter((line) => line.trim());
      const result = await call("POST", "/api/admin/hit-testing", { question, history });
      showAnswer(result);
      showReading(result);
      showChunks(result);
      showSentences(result);
      $("hit-result").hidden = false;
      say("");
    } catch (failure) {
      say(failure.message, true);
    }
  });
})();
