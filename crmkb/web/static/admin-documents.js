/* The admin console's Documents page: the documents in kb/ and in the index being served, upload, delete,
 * catalog edits and re-ingest with its progress (polled once a second while it runs). Uses admin.js's
 * window.crmkbAdmin; every string from the server is inserted as text.
 */
(() => {
  "use strict";
  const { call, el, say } = window.crmkbAdmin;
  const $ = (id) => document.getElementById(id);
  const API = "/api/admin/documents";
  const STATUS = {
    indexed: "indexed", changed: "changed: re-ingest", new: "new: re-ingest",
    deleted: "deleted: re-ingest", skipped: "skipped",
  };
  const KINDS = { "best-practice": "Best practice", "failure-case": "Failure case" };
  let polling = null;

  const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "");
  const size = (n) => (n === null || n === undefined ? "" : n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KB`);
  const failed = (failure) => say(failure.message, true);

  function catalogEditor(doc, row) {
    const entry = doc.catalog || { title: doc.title, kind: doc.kind || "best-practice" };
    const title = el("input", { value: entry.title || "", testid: "catalog-title", "aria-label": "Title" });
    const titleEn = el("input", { value: entry.title_en || "", testid: "catalog-title-en", "aria-label": "English title" });
    const kind = el("select", { testid: "catalog-kind", "aria-label": "Kind" },
      ...Object.entries(KINDS).map(([value, label]) => el("option", { value, text: label, selected: value === entry.kind })));
    const save = el("button", { type: "button", class: "primary", text: "Save", testid: "catalog-save" });
    const editor = el("tr", { class: "editor", testid: "catalog-editor" },
      el("td", { colspan: "7" }, el("div", { class: "row" },
        el("span", { class: "small", text: "Catalog entry:" }), title, titleEn, kind, save,
        el("button", { type: "button", text: "Cancel", onclick: () => editor.remove() }))));
    save.addEventListener("click", async () => {
      try {
        const saved = await call("PUT", `${API}/catalog/${encodeURIComponent(doc.source)}`,
          { title: title.value, kind: kind.value, title_en: titleEn.value, subject: entry.subject || "" });
        say(saved.detail);
        await refresh();
      } catch (failure) { failed(failure); }
    });
    row.after(editor);
    title.focus();
  }

  function docRow(doc) {
    const row = el("tr", { testid: "doc-row", "data-path": doc.path });
    const del = el("button", { type: "button", class: "danger", text: "Delete", testid: "doc-delete" });
    // Deleting asks by a second click on the same button (no dialog boxes).
    del.addEventListener("click", async () => {
      if (del.dataset.armed !== "yes") {
        del.dataset.armed = "yes";
        del.textContent = "Click again to delete";
        return;
      }
      try {
        say((await call("DELETE", `${API}/files/${doc.path.split("/").map(encodeURIComponent).join("/")}`)).detail);
        await refresh();
      } catch (failure) { failed(failure); }
    });
    const edit = el("button", { type: "button", text: "Catalog", testid: "doc-catalog",
      onclick: () => { if (!row.nextSibling || row.nextSibling.dataset.testid !== "catalog-editor") catalogEditor(doc, row); } });
    const status = el("td", { testid: "doc-status", class: `status-${doc.status}`, text: STATUS[doc.status] || doc.status });
    if (doc.reason) status.append(el("div", { class: "small error", text: doc.reason }));
    row.append(
      el("td", { text: doc.path }),
      el("td", { testid: "doc-title", text: doc.title }),
      el("td", { text: KINDS[doc.kind] || doc.kind }),
      el("td", { class: "num", testid: "doc-chunks", text: String(doc.chunks) }),
      el("td", { class: "small" }, el("div", { text: when(doc.modified_at) }), el("div", { text: size(doc.bytes) })),
      status,
      // a deleted file has no catalog entry to edit nor file to delete: a re-ingest takes it out
      el("td", {}, doc.status === "deleted" ? "" : el("div", { class: "row" }, edit, del)),
    );
    return row;
  }

  async function refresh() {
    const listing = await call("GET", API);
    $("docs-serving").textContent = listing.serving
      ? `Serving ${listing.serving}, published ${when(listing.published_at)}` : "No index is served yet";
    $("docs-rows").replaceChildren(...listing.documents.map(docRow));
    $("upload-file").accept = listing.upload_types.join(",");
    $("upload-hint").textContent = `${listing.upload_types.join(", ")}; at most ${Math.round(listing.upload_limit_bytes / 1048576)} MB.`;
    $("skipped-card").hidden = listing.skipped.length === 0;
    $("skipped-list").replaceChildren(...listing.skipped.map((s) =>
      el("li", { testid: "skipped-file" }, el("code", { text: s.file }), ` ${s.reason}`)));
  }

  function showJob(job) {
    const bar = $("ingest-progress");
    const running = job && job.state === "running";
    $("ingest-start").disabled = running;
    bar.hidden = !running;
    if (!job) { $("ingest-state").textContent = ""; return; }
    if (running) {
      bar.max = Math.max(job.total, 1);
      bar.value = job.done;
      // counts only where they say something ("waiting for another ingest" is reported as 0 of 1)
      $("ingest-state").textContent = job.total > 1 ? `${job.phase}: ${job.done} / ${job.total}` : job.phase;
    } else if (job.state === "done") {
      const r = job.report;
      $("ingest-state").textContent = `Done in ${job.seconds} s: ${r.documents} documents, ${r.chunks} chunks `
        + `(${r.embedded} embedded, ${r.removed} removed, ${r.skipped.length} skipped); serving ${job.serving}`;
    } else {
      $("ingest-state").textContent = `Re-ingest failed: ${job.error}`;
    }
    $("ingest-state").classList.toggle("error", job.state === "failed");
  }

  async function poll() {
    try {
      const { job } = await call("GET", `${API}/ingest`);
      showJob(job);
      if (job && job.state === "running") { polling = setTimeout(poll, 1000); return; }
      polling = null;
      if (job) await refresh();
    } catch (failure) {
      failed(failure);
      // a refused or lost poll (429, a server restarting) is tried again; only an ended session stops it
      polling = failure.status === 401 ? null : setTimeout(poll, 3000);
    }
  }

  $("ingest-start").addEventListener("click", async () => {
    try {
      showJob(await call("POST", `${API}/ingest`));
      say("");
    } catch (failure) { failed(failure); }
    if (polling === null) poll();
  });

  $("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $("upload-file").files[0];
    if (!file) return;
    const query = $("upload-replace").checked ? "?replace=true" : "";
    say(`Uploading ${file.name}…`);
    try {
      say((await call("PUT", `/admin/documents/upload/${encodeURIComponent(file.name)}${query}`, file)).detail);
      $("upload-form").reset();
      await refresh();
    } catch (failure) { failed(failure); }
  });

  refresh().catch(failed);
  poll();
})();
