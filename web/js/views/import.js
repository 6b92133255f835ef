// #/import, #/import/<id> (platform admins): upload a volunteer roster, watch the import's
// progress (polled every second while it runs: the job's state is in the database, so a reload
// or another worker answers the same), cancel it while it is queued or running, its counts and
// the rows not imported, as a table and as CSV.
import { GqlError, gql, nodes, session } from "../api.js";
import { errorText, fmtDate, lang, t } from "../i18n.js";
import { html, page, shown, useEffect, useOnce, useRef, useState } from "../ui.js";
import { go, loadMe } from "../app.js";
import "../strings/import.js";

const FIELDS = "id fileName status rowsTotal rowsRead imported rejected failureCode failureMessage createdAt startedBy { displayName } cancelledBy { displayName }";
const IMPORT = `query VolunteerImport($id: ID!) { volunteerImport(id: $id) { ${FIELDS} } }`;
const CANCEL = `mutation CancelVolunteerImport($id: ID!) { cancelVolunteerImport(id: $id) { ${FIELDS} } }`;
const ROWS = `query VolunteerImportRows($id: ID!, $after: String) { volunteerImport(id: $id) {
  id rowErrors(first: 100, after: $after) { edges { node { row column code message } } pageInfo { hasNextPage endCursor } } } }`;
const IMPORTS = `query VolunteerImports { volunteerImports(first: 10) { edges { node { ${FIELDS} } } } }`;
const LIVE = new Set(["QUEUED", "RUNNING"]);

// POST /imports/volunteers (schema/importer_http.py): the file itself is the body.
async function upload(file) {
  const headers = { "Accept-Language": lang === "en" ? "en" : "zh-CN", Authorization: `Bearer ${session.token}` };
  let response;
  try {
    response = await fetch(`/imports/volunteers?name=${encodeURIComponent(file.name)}`, { method: "POST", headers, body: file });
  } catch {
    throw new GqlError([{ message: "network", extensions: { code: "NETWORK" } }]);
  }
  const body = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
  if (!response.ok) throw new GqlError(body.errors || []);
  return body.id;
}

async function rowPage(id, after) {
  const { rowErrors } = (await gql(ROWS, { id, after })).volunteerImport;
  return [nodes(rowErrors), rowErrors.pageInfo];
}

const column = (name) => (name ? t(`col_${name}`) : "—");
const cell = (value) => `"${String(value).replaceAll('"', '""')}"`;

async function saveRows(job) {
  const rows = [];
  let after = null;
  for (;;) {
    const [more, info] = await rowPage(job.id, after);
    rows.push(...more);
    if (!info.hasNextPage) break;
    after = info.endCursor;
  }
  const lines = [[t("impRow"), t("impColumn"), t("impCode"), t("impMessage")],
    ...rows.map((r) => [r.row, column(r.column), r.code, r.message])].map((r) => r.map(cell).join(","));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([`\ufeff${lines.join("\r\n")}\r\n`], { type: "text/csv" }));
  link.download = `${job.fileName.replace(/\.[^.]*$/, "")}-errors.csv`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function Progress({ job }) {
  const total = job.status === "DONE" ? job.rowsRead : job.rowsTotal;
  const known = total != null && total > 0;
  const now = known ? Math.min(job.rowsRead, total) : null;
  const text = known ? t("impRows", { read: job.rowsRead, total }) : t("impRowsOpen", { read: job.rowsRead });
  return html`<div class="progress" role="progressbar" aria-label=${t("impProgress")} aria-valuemin="0"
      aria-valuemax=${known ? total : null} aria-valuenow=${now} aria-valuetext=${text} data-status=${job.status}>
      <span style=${`width: ${known ? Math.round((now / total) * 100) : job.status === "DONE" ? 100 : 0}%`}></span></div>
    <p class="meta">${text}</p>`;
}

function Rows({ job }) {
  const [rows, setRows] = useState(null);
  const [info, setInfo] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { rowPage(job.id, null).then(([r, i]) => { setRows(r); setInfo(i); }, setError); }, [job.id, job.rejected]);
  const more = () => rowPage(job.id, info.endCursor).then(([r, i]) => { setRows([...rows, ...r]); setInfo(i); }, setError);
  if (!job.rejected && !error) return job.status === "FAILED" || job.status === "CANCELLED" ? null : html`<p class="empty">${t("impNone")}</p>`;
  return html`<p class="actions"><button type="button" data-action="download-errors" onClick=${() => saveRows(job).catch(setError)}>${t("impDownload")}</button></p>
    ${shown(error, rows, () => html`<table class="import-errors"><thead><tr><th scope="col">${t("impRow")}</th>
      <th scope="col">${t("impColumn")}</th><th scope="col">${t("impMessage")}</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${`${r.row}-${r.column}`} data-row=${r.row} data-code=${r.code}>
        <th scope="row">${r.row}</th><td>${column(r.column)}</td><td>${r.message}</td></tr>`)}</tbody></table>
      ${info?.hasNextPage ? html`<p class="actions"><button type="button" onClick=${more}>${t("impMore")}</button></p>` : null}`)}`;
}

// Cancelling asks first, in the page: a cancel cannot be undone (the uploaded file is deleted at
// once, as when an import ends; the people already imported stay). The safe choice has the focus;
// one request at a time (a ref, as a second click can come before the button re-renders disabled).
function CancelImport({ job, done, refresh }) {
  const [asking, setAsking] = useState(false);
  const [busy, once] = useOnce();
  const [message, setMessage] = useState("");
  const keep = useRef(null);
  const ask = useRef(null);
  useEffect(() => { if (asking) keep.current?.focus(); }, [asking]);
  const back = () => { setAsking(false); setMessage(""); setTimeout(() => ask.current?.focus()); };
  const confirm = once(async () => {
    setMessage("");
    try {
      done((await gql(CANCEL, { id: job.id })).cancelVolunteerImport);
    } catch (e) {
      setMessage(errorText(e));
      if (e.code === "CONFLICT") refresh(); // it ended meanwhile: show how
    }
  });
  if (!asking) {
    return html`<p class="actions"><button type="button" ref=${ask} data-action="cancel-import" onClick=${() => setAsking(true)}>${t("impCancel")}</button></p>`;
  }
  return html`<div role="group" aria-labelledby="cancel-q" class="panel" data-confirm="cancel-import">
    <p id="cancel-q">${t("impCancelAsk", { n: job.imported })}</p>
    <p class="actions"><button type="button" class="primary" data-action="confirm-cancel" disabled=${busy} onClick=${confirm}>${t("impCancelYes")}</button>
      <button type="button" ref=${keep} data-action="keep-importing" disabled=${busy} onClick=${back}>${t("impCancelNo")}</button></p>
    <p class="error" role="alert">${message}</p></div>`;
}

function Job({ id }) {
  const [job, setJob] = useState(null);
  const [error, setError] = useState(null);
  // A new round restarts the polling, dropping any answer of the previous one still on its way
  // (after a cancel, a poll sent before it would show the import running again).
  const [round, setRound] = useState(0);
  const refresh = () => setRound((r) => r + 1);
  useEffect(() => {
    let timer = null;
    let gone = false;
    const poll = () => gql(IMPORT, { id }).then((d) => {
      if (gone) return;
      setJob(d.volunteerImport);
      setError(null);
      if (LIVE.has(d.volunteerImport.status)) timer = setTimeout(poll, 1000);
    }, (e) => { if (!gone) { setError(e); timer = setTimeout(poll, 3000); } });
    poll();
    return () => { gone = true; clearTimeout(timer); };
  }, [id, round]);
  if (!job) return error ? html`<p class="error">${errorText(error)}</p>` : html`<p>${t("loading")}</p>`;
  return html`<section class="panel" aria-labelledby="job-h" data-import=${job.id}>
    <h2 id="job-h">${job.fileName} <span class="badge" data-status=${job.status}>${t(`imp${job.status}`)}</span></h2>
    <p class="meta">${fmtDate(job.createdAt)} · ${t("impBy", { name: job.startedBy.displayName })}${job.cancelledBy
      ? html` · <span data-cancelled-by>${t("impCancelledBy", { name: job.cancelledBy.displayName })}</span>` : null}</p>
    <${Progress} job=${job} />
    ${LIVE.has(job.status) ? html`<${CancelImport} job=${job} done=${(j) => { setJob(j); refresh(); }} refresh=${refresh} />` : null}
    <dl class="stats">
      <div class="stat"><dt>${t("impRead")}</dt><dd data-count="read">${job.rowsRead}</dd></div>
      <div class="stat"><dt>${t("impImported")}</dt><dd data-count="imported">${job.imported}</dd></div>
      <div class="stat"><dt>${t("impRejected")}</dt><dd data-count="rejected">${job.rejected}</dd></div>
    </dl>
    ${job.failureMessage ? html`<p class="error" data-failure=${job.failureCode}>${job.failureMessage}</p>` : null}
    ${job.status === "CANCELLED" ? html`<p data-cancelled>${t("impCancelledNote", { read: job.rowsRead })}</p>` : null}
    ${error ? html`<p class="error">${errorText(error)}</p>` : null}
    <h3>${t("impErrors")}</h3><${Rows} job=${job} /></section>`;
}

function UploadForm() {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    const file = event.target.elements.roster.files[0];
    if (!file) { setMessage(t("impChoose")); return; }
    setBusy(true);
    setMessage(t("impUploading"));
    try {
      const id = await upload(file);
      setMessage("");
      go(`#/import/${encodeURIComponent(id)}`);
    } catch (e) { setMessage(errorText(e)); } finally { setBusy(false); }
  };
  return html`<form class="panel" onSubmit=${submit}>
    <div class="field"><label for="roster">${t("impFile")}</label>
      <input id="roster" name="roster" type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" /></div>
    <button type="submit" disabled=${busy}>${t("impUpload")}</button>
    <p role="status" class="meta">${message}</p></form>`;
}

function Recent() {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { gql(IMPORTS).then((d) => setList(nodes(d.volunteerImports)), setError); }, []);
  return html`<section class="panel" aria-labelledby="recent-h"><h2 id="recent-h">${t("impRecent")}</h2>
    ${shown(error, list, () => html`<ul class="plain">${list.map((j) => html`<li key=${j.id}>
      <a href=${`#/import/${encodeURIComponent(j.id)}`}>${j.fileName}</a> · ${t(`imp${j.status}`)} ·${" "}
      ${t("impImported")} ${j.imported} · ${t("impRejected")} ${j.rejected} · ${fmtDate(j.createdAt)}</li>`)}</ul>`)}</section>`;
}

function ImportPage({ id }) {
  const [admin, setAdmin] = useState(null);
  useEffect(() => { loadMe().then((me) => setAdmin(!!me?.isPlatformAdmin)); }, []);
  if (admin === null) return html`<h1>${t("navImport")}</h1><p>${t("loading")}</p>`;
  if (!admin) return html`<h1>${t("navImport")}</h1><p class="error">${t("impAdminsOnly")}</p>`;
  return html`<h1>${t("navImport")}</h1><p>${t("impIntro")}</p><${UploadForm} />
    ${id ? html`<${Job} key=${id} id=${id} />` : null}<${Recent} key=${id || "none"} />`;
}

export function render(main, { params }) {
  return page(main, html`<${ImportPage} id=${params[0] || null} />`);
}
