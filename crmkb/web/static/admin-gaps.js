/* The admin console's Gaps page: groups of refused and 👎 questions from /api/admin/gaps, most asked first,
 * each with a sample and a link that opens the FAQ builder (/faq) with the group's questions filled in.
 * While questions are still being embedded on the server, the page asks again every few seconds.
 */
(() => {
  "use strict";
  const { call, el, say } = window.crmkbAdmin;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 3000;
  let timer = null;

  const day = (epoch) => new Date(epoch * 1000).toISOString().slice(0, 10);

  function card(gap, rank) {
    const why = [gap.refused ? `${gap.refused} refused` : "", gap.disliked ? `${gap.disliked} 👎` : ""].filter(Boolean).join(", ");
    const more = gap.distinct - gap.sample.length;
    const faq = `/faq#questions=${encodeURIComponent(gap.questions.join("\n"))}`;
    return el("section", { class: "card gap", testid: "gap" },
      el("div", { class: "row spread" },
        el("h2", { text: `#${rank} · asked ${gap.asks} ${gap.asks === 1 ? "time" : "times"}`, testid: "gap-asks" }),
        el("a", { class: "button primary", href: faq, target: "_blank", rel: "noopener", testid: "gap-to-faq",
          text: `Send ${gap.questions.length} ${gap.questions.length === 1 ? "question" : "questions"} to the FAQ builder` })),
      el("p", { class: "small", text: `${why}; last asked ${day(gap.last)}; ${gap.distinct} distinct ${gap.distinct === 1 ? "question" : "questions"}` }),
      el("ul", {}, ...gap.sample.map((q) => el("li", { testid: "gap-question" },
        q.text, el("span", { class: "small", text: q.asks > 1 ? `  × ${q.asks}` : "" })))),
      more > 0 ? el("p", { class: "small", text: `and ${more} more` }) : "");
  }

  async function load() {
    clearTimeout(timer);
    try {
      const page = await call("GET", "/api/admin/gaps");
      $("gaps-list").replaceChildren(...page.gaps.map((g, i) => card(g, i + 1)));
      const parts = [`${page.gaps.length} groups of ${page.considered} distinct questions.`];
      if (page.pending) parts.push(`Reading ${page.pending} more in the background; this page updates itself.`);
      if (page.beyond_limit) parts.push(`${page.beyond_limit} older questions left out (CRMKB_FEEDBACK_GAP_QUESTIONS).`);
      if (page.failure) parts.push(`Embedding failed: ${page.failure}`);
      if (!page.considered && !page.pending) parts.splice(0, 1, "No refused or 👎 questions yet.");
      $("gaps-state").textContent = parts.join(" ");
      $("gaps-state").classList.toggle("error", Boolean(page.failure));
      if (page.pending && !page.failure) timer = setTimeout(load, POLL_MS);
      say("");
    } catch (failure) {
      say(failure.message, true);
    }
  }

  $("gaps-refresh").addEventListener("click", load);
  load();
})();
