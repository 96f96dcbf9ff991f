/* The admin console's Dashboard: the figures of /api/admin/dashboard as tiles, a chart of questions per
 * day (an SVG drawn here: no chart library, no CDN) and a table by channel. Every string is set as text.
 */
(() => {
  "use strict";
  const { call, el, say } = window.crmkbAdmin;
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const pct = (part, whole) => (whole ? `${Math.round((100 * part) / whole)}%` : "–");
  const ms = (x) => (x === null || x === undefined ? "–" : String(Math.round(x)));
  let page = null;

  const svg = (tag, attrs = {}, text = "") => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text) node.textContent = text;
    return node;
  };

  function tile(label, value, detail, testid) {
    return el("div", { class: "tile", testid },
      el("div", { class: "small", text: label }), el("div", { class: "figure", text: value }),
      el("div", { class: "small", text: detail }));
  }

  function showTiles(c) {
    const rated = c.up + c.down;
    $("dash-tiles").replaceChildren(
      tile("Questions", String(c.questions), `${page.days} days`, "tile-questions"),
      tile("Answered", pct(c.answered, c.questions), `${c.answered} answered, ${c.refused} refused`, "tile-answered"),
      tile("👍 rate", pct(c.up, rated), `${c.up} 👍, ${c.down} 👎`, "tile-rating"),
      tile("Curated hits", String(c.curated), `${pct(c.curated, c.answered)} of answers`, "tile-curated"),
      tile("Answer time", `${ms(c.p50_ms)} ms`, `p50; p95 ${ms(c.p95_ms)} ms`, "tile-latency"));
  }

  // Stacked bars, answered (with its curated part) below refused; one bar per UTC day.
  function showChart(days) {
    const width = 1000, height = 260, left = 40, bottom = 24, top = 10;
    const most = Math.max(1, ...days.map((d) => d.questions));
    const step = (width - left) / days.length;
    const bar = Math.max(1, step * 0.7);
    const y = (n) => ((height - bottom - top) * n) / most;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Questions per day",
      "data-testid": "dash-svg" });
    chart.append(svg("line", { x1: left, x2: width, y1: height - bottom, y2: height - bottom, class: "axis" }));
    chart.append(svg("text", { x: left - 6, y: top + 10, "text-anchor": "end", class: "tick" }, String(most)));
    chart.append(svg("text", { x: left - 6, y: height - bottom, "text-anchor": "end", class: "tick" }, "0"));
    days.forEach((d, i) => {
      const x = left + i * step + (step - bar) / 2;
      const base = height - bottom;
      const parts = [["answered", d.answered - d.curated], ["curated", d.curated], ["refused", d.refused]];
      let at = base;
      for (const [kind, n] of parts) {
        if (!n) continue;
        const h = y(n);
        at -= h;
        const rect = svg("rect", { x, y: at, width: bar, height: h, class: `bar ${kind}`, "data-testid": `bar-${kind}` });
        rect.append(svg("title", {}, `${d.day}: ${n} ${kind}`));
        chart.append(rect);
      }
      const every = Math.ceil(days.length / 10);
      if (i % every === 0 || i === days.length - 1) {
        chart.append(svg("text", { x: x + bar / 2, y: height - 6, "text-anchor": "middle", class: "tick" }, d.day.slice(5)));
      }
    });
    $("dash-chart").replaceChildren(chart);
  }

  function showTable(channels) {
    $("dash-rows").replaceChildren(...channels.map((c) => el("tr", { testid: `dash-row-${c.channel}`, class: c.channel === "all" ? "total" : "" },
      el("td", { text: c.channel }),
      ...[c.questions, c.answered, c.refused, c.curated, c.up, c.down].map((n) => el("td", { class: "num", text: String(n) })),
      el("td", { class: "num", text: ms(c.p50_ms) }), el("td", { class: "num", text: ms(c.p95_ms) }))));
  }

  function show() {
    const chosen = $("dash-channel").value;
    const c = page.channels.find((x) => x.channel === chosen) || page.channels[page.channels.length - 1];
    showTiles(c);
    showChart(c.days);
    showTable(page.channels);
  }

  async function load() {
    say("Loading…");
    try {
      page = await call("GET", `/api/admin/dashboard?days=${$("dash-days").value}`);
      const chosen = $("dash-channel").value;
      $("dash-channel").replaceChildren(...page.channels.map((c) => el("option", { value: c.channel, text: c.channel })).reverse());
      $("dash-channel").value = page.channels.some((c) => c.channel === chosen) ? chosen : "all";
      show();
      say("");
    } catch (failure) {
      say(failure.message, true);
    }
  }

  $("dash-days").addEventListener("change", load);
  $("dash-channel").addEventListener("change", show);
  load();
})();
