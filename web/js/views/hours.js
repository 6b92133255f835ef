// Organiser view: the hours approval queue of every team the viewer administers, and each
// team's hours for a period as CSV/XLSX from the server (this month by default).
import { gql, nodes, session } from "../api.js";
import { download } from "../download.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { html, page, useEffect, useRef, useState } from "../ui.js";
import { go } from "../app.js";

const TEAMS = `{ me { teams(first: 50) { edges { node { id name viewerIsAdmin } } } } }`;
const QUEUE = `query Queue($team: ID!) { serviceRecords(teamId: $team, status: PENDING, first: 50) { edges { node {
  id hours hoursClaimed createdAt volunteer { displayName } activity { title startsAt } } } } }`;
const APPROVE = `mutation Approve($id: ID!) { approveHours(recordId: $id) { id status } }`;
const REJECT = `mutation Reject($id: ID!, $reason: String!) { rejectHours(recordId: $id, reason: $reason) { id status } }`;

// A decision is made once: both buttons (and the reason) are disabled while it is sent and
// stay disabled after it succeeds; a rejection needs a reason (said inline, nothing is sent).
function Row({ record }) {
  const reason = useRef(null);
  const [busy, setBusy] = useState(false);
  const [decided, setDecided] = useState(false);
  const [result, setResult] = useState("");
  const [missing, setMissing] = useState(false);
  const act = async (send, done) => {
    setBusy(true);
    try {
      await send();
      setResult(done);
      setDecided(true);
    } catch (error) {
      setResult(errorText(error));
      setBusy(false);
    }
  };
  const reject = () => {
    const text = reason.current.value.trim();
    setMissing(!text);
    if (!text) { reason.current.focus(); return; }
    act(() => gql(REJECT, { id: record.id, reason: text }), t("rejected"));
  };
  const id = `reason-${record.id}`;
  return html`<li class=${decided ? "card done" : "card"} data-decided=${decided ? "true" : null}>
    <h3>${record.volunteer.displayName} · ${record.activity.title}</h3>
    <p class="meta">${fmtDate(record.activity.startsAt)} · ${t("hours", { n: record.hoursClaimed || record.hours })}</p>
    <div class="actions">
      <button class="primary" type="button" data-action="approve" disabled=${busy}
        onClick=${() => act(() => gql(APPROVE, { id: record.id }), t("approved"))}>${t("approve")}</button>
      <label for=${id}>${t("rejectReason")}</label>
      <input type="text" id=${id} name="reason" maxlength="500" ref=${reason} disabled=${busy}
        aria-describedby=${`${id}-error`} aria-invalid=${missing ? "true" : null} />
      <button type="button" data-action="reject" disabled=${busy} onClick=${reject}>${t("reject")}</button>
      <span class="error" id=${`${id}-error`}>${missing ? t("reasonRequired") : ""}</span>
      <span class="result" role="status">${result}</span>
    </div></li>`;
}

// Beijing calendar days: the first of this month and today.
function thisMonth() {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  return [`${today.slice(0, 8)}01`, today];
}

// The dates are read from the inputs when a button is pressed (uncontrolled inputs: this month is
// their defaultValue, never a `value` that a re-render, such as a refused download's, would put back).
function HoursExport({ team }) {
  const [[first, last]] = useState(thisMonth);
  const from = useRef(null);
  const to = useRef(null);
  const [result, setResult] = useState("");
  const save = (format) => () => download(`/teams/${encodeURIComponent(team.id)}/hours.${format}`,
    { from: from.current.value, to: to.current.value })
    .then(() => setResult(""), (error) => setResult(errorText(error)));
  return html`<div class="actions hours-export">
    <label for=${`from-${team.id}`}>${t("periodFrom")}</label><input type="date" id=${`from-${team.id}`} defaultValue=${first} ref=${from} />
    <label for=${`to-${team.id}`}>${t("periodTo")}</label><input type="date" id=${`to-${team.id}`} defaultValue=${last} ref=${to} />
    <button type="button" data-export="csv" onClick=${save("csv")}>${t("exportHoursCsv")}</button>
    <button type="button" data-export="xlsx" onClick=${save("xlsx")}>${t("exportHoursXlsx")}</button>
    <span class="result" role="status">${result}</span></div>`;
}

function HoursPage() {
  const [teams, setTeams] = useState(null); // [{team, records}]
  const [error, setError] = useState(null);
  useEffect(() => {
    (async () => {
      const admin = nodes((await gql(TEAMS)).me.teams).filter((team) => team.viewerIsAdmin);
      const queues = [];
      for (const team of admin) queues.push({ team, records: nodes((await gql(QUEUE, { team: team.id })).serviceRecords) });
      setTeams(queues);
    })().catch(setError);
  }, []);
  if (error) return html`<p class="error">${errorText(error)}</p>`;
  if (!teams) return html`<p>${t("loading")}</p>`;
  return html`<h1>${t("hoursQueue")}</h1>
    ${teams.length ? teams.map(({ team, records }) => html`<section class="panel" key=${team.id}><h2>${team.name}</h2>
      <${HoursExport} team=${team} />
      ${records.length ? html`<ul class="plain">${records.map((r) => html`<${Row} key=${r.id} record=${r} />`)}</ul>`
        : html`<p>${t("empty")}</p>`}</section>`) : html`<p>${t("noAdminTeams")}</p>`}`;
}

export function render(main) {
  if (!session.token) { go("#/login"); return null; }
  return page(main, html`<${HoursPage} />`);
}
