// Organiser view (#/hours, #/hours/APPROVED, #/hours/REJECTED): the service records of every team
// the viewer administers in one review state (pending by default; 50 at a time, 加载更多 for the
// next), each with its decision and audit trail, and each team's hours for a period as CSV/XLSX
// from the server (this month by default).
import { gql, nodes, session } from "../api.js";
import { download } from "../download.js";
import { errorText, fmtDate, t } from "../i18n.js";
import "../strings/hours.js";
import { Field, html, page, shown, useEffect, useOnce, useRef, useState } from "../ui.js";
import { go } from "../app.js";

const STATUSES = ["PENDING", "APPROVED", "REJECTED"];
const TEAMS = `{ me { teams(first: 50) { edges { node { id name viewerIsAdmin } } } } }`;
const RECORD = `id status hours hoursClaimed`;
const RECORDS = `query HoursRecords($team: ID!, $status: HoursStatus!, $after: String) {
  serviceRecords(teamId: $team, status: $status, first: 50, after: $after) { pageInfo { hasNextPage endCursor }
  edges { node { ${RECORD} createdAt volunteer { displayName } activity { title startsAt endsAt } } } } }`;
const APPROVE = `mutation Approve($id: ID!, $hours: Float, $reason: String) {
  approveHours(recordId: $id, hours: $hours, reason: $reason) { ${RECORD} } }`;
const REJECT = `mutation Reject($id: ID!, $reason: String!) { rejectHours(recordId: $id, reason: $reason) { ${RECORD} } }`;
const AUDIT = `query HoursAudit($id: ID!) { node(id: $id) { ... on ServiceRecord { id audit {
  action hoursBefore hoursAfter statusBefore statusAfter reason createdAt actor { displayName } } } } }`;
// The audit rows whose reason a person wrote; the others carry the server's own note, which the
// action's name already says.
const DECISIONS = ["APPROVE", "ADJUST", "REJECT"];

const round2 = (n) => Math.round(n * 100) / 100;
// The activity's length in hours: the most the server approves (resolvers/hours.py check_service_hours).
const lengthOf = (activity) => (new Date(activity.endsAt) - new Date(activity.startsAt)) / 3.6e6;

// One decision on a record: approve (at the hours in the field) and reject while it is pending;
// once decided, the other one (改判), and on an approved record other hours (调整时长: approveHours
// again, an ADJUST). Each click writes once: the buttons are disabled while it is sent. What the
// page can tell before sending (hours out of range or, to adjust, the same as approved; a reason
// missing: one is needed to reject, to change the hours, or to change a decision) is said at the
// field and nothing is sent; a refusal naming a field is shown there too; what was typed stays.
function Decide({ record, scope, onDone }) {
  const [errors, setErrors] = useState({});
  const [failure, setFailure] = useState("");
  const [busy, once] = useOnce();
  const pending = record.status === "PENDING";
  const approved = record.status === "APPROVED";
  const length = lengthOf(record.activity);
  const decide = (action) => once(async (event) => {
    const form = event.currentTarget.form;
    const reason = form.elements.reason.value.trim();
    const refused = {};
    let send;
    let said;
    if (action === "approve") {
      const typed = form.elements.hours.value.trim();
      const hours = typed === "" ? NaN : Number(typed);
      const changed = Math.abs(round2(hours) - record.hours) > 1e-9;
      if (!(round2(hours) > 0 && hours <= length + 1e-9)) refused.hours = t("hoursRange", { n: round2(length) });
      else if (approved && !changed) refused.hours = t("hoursUnchanged");
      else if (!reason && (changed || !pending)) refused.reason = t(pending || approved ? "reasonToAdjust" : "reasonToChange");
      send = () => gql(APPROVE, { id: record.id, hours: changed ? hours : null, reason: reason || null });
      said = (decided) => (pending && !changed ? t("approved")
        : t(pending ? "approvedAdjusted" : approved ? "nowAdjusted" : "nowApproved", { n: round2(decided.hours) }));
    } else {
      if (!reason) refused.reason = t(pending ? "reasonRequired" : "reasonToChange");
      send = () => gql(REJECT, { id: record.id, reason });
      said = () => t(pending ? "rejected" : "nowRejected");
    }
    setErrors(refused);
    setFailure("");
    const first = Object.keys(refused)[0];
    if (first) { form.elements[first].focus(); return; }
    try {
      const data = await send();
      const decided = data.approveHours || data.rejectHours;
      onDone(decided, said(decided));
    } catch (error) {
      const field = (error.field || "").split(".").pop();
      if ((field === "hours" || field === "reason") && form.elements[field]) {
        setErrors({ [field]: errorText(error) });
        form.elements[field].focus();
      } else setFailure(errorText(error));
    }
  });
  const id = `${scope}-${record.id}`;
  return html`<form class="decide" novalidate onSubmit=${(event) => event.preventDefault()}>
    <${Field} id=${id} name="hours" type="number" label=${t(approved ? "hoursToAdjust" : "hoursToApprove")}
      defaultValue=${String(round2(record.hours))} min="0.01" max=${String(round2(length))} step="0.01" inputmode="decimal"
      error=${errors.hours} />
    <${Field} id=${id} name="reason" label=${t(pending ? "decisionReason" : "changeReason")} maxlength="500"
      error=${errors.reason} />
    <div class="actions">
      <button class="primary" type="button" data-action=${approved ? "adjust" : "approve"} disabled=${busy}
        onClick=${decide("approve")}>${t(pending ? "approve" : approved ? "adjustHours" : "approveInstead")}</button>
      ${record.status !== "REJECTED" ? html`<button type="button" data-action="reject" disabled=${busy}
        onClick=${decide("reject")}>${t(pending ? "reject" : "rejectInstead")}</button>` : null}
    </div>
    <p class="error" role="alert">${failure}</p></form>`;
}

// One audit row as a person reads it: status and hours, before → after where they changed.
function change(entry) {
  const status = entry.statusBefore && entry.statusBefore !== entry.statusAfter
    ? `${t(`review${entry.statusBefore}`)} → ${t(`review${entry.statusAfter}`)}` : t(`review${entry.statusAfter}`);
  if (entry.hoursAfter == null) return status;
  const hours = t("hours", { n: round2(entry.hoursAfter) });
  return entry.hoursBefore != null && Math.abs(entry.hoursBefore - entry.hoursAfter) > 1e-9
    ? `${status} · ${round2(entry.hoursBefore)} → ${hours}` : `${status} · ${hours}`;
}

// The record's append-only audit trail, read when opened and again after each decision made here.
function Audit({ id, version }) {
  const [open, setOpen] = useState(false);
  const [entries, setEntries] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!open) return;
    gql(AUDIT, { id }).then((data) => { setEntries(data.node?.audit || []); setError(null); }, setError);
  }, [open, version]);
  return html`<details class="history audit" onToggle=${(event) => setOpen(event.currentTarget.open)}>
    <summary>${t("auditTrail")}</summary>
    ${shown(error, open ? entries : null, () => html`<ol class="plain item-history">${entries.map((entry) => html`<li data-action=${entry.action}>
      <span class="meta">${fmtDate(entry.createdAt)} · ${entry.actor?.displayName || t("auditSystem")} · ${t(`audit${entry.action}`)}</span>
      <p>${change(entry)}</p>
      ${entry.reason && DECISIONS.includes(entry.action) ? html`<p class="meta">${t("auditReason", { reason: entry.reason })}</p>` : null}
    </li>`)}</ol>`)}</details>`;
}

// A record in the list: what was decided (once decided) with the form to change it behind 改判,
// the outcome of a decision made here (role=status), and the audit trail. `scope` (the team whose
// list it is in) keeps the fields' ids unique: a sub-team's record is also in its parent's list.
function Row({ record: listed, scope }) {
  const [record, setRecord] = useState(listed);
  const [said, setSaid] = useState("");
  const [version, setVersion] = useState(0);
  const done = (decided, text) => {
    setRecord((before) => ({ ...before, ...decided }));
    setSaid(text);
    setVersion((n) => n + 1);
  };
  // keyed by the status and hours: after a decision the form is a new one (an empty reason, the
  // new choice, the hours as now decided)
  const decision = html`<${Decide} key=${`${record.status} ${record.hours}`} record=${record} scope=${scope} onDone=${done} />`;
  return html`<li class="card" data-record=${record.id} data-status=${record.status}>
    <h3>${record.volunteer.displayName} · ${record.activity.title}</h3>
    <p class="meta">${fmtDate(record.activity.startsAt)} · ${t("claimedHours", { n: round2(record.hoursClaimed) })}</p>
    ${record.status === "PENDING" ? null : html`<p class="decided">${t(`decided${record.status}`, { n: round2(record.hours) })}</p>`}
    <p class="result" role="status">${said}</p>
    ${record.status === "PENDING" ? decision
      : html`<details class="history change" key=${record.status}><summary>${t("changeDecision")}</summary>${decision}</details>`}
    <${Audit} id=${record.id} version=${version} /></li>`;
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

// One page of a team's records in a state, newest first, and the cursor of the next (null: no more).
async function recordsPage(team, status, after = null) {
  const list = (await gql(RECORDS, { team, status, after })).serviceRecords;
  return { records: nodes(list), next: list.pageInfo.hasNextPage ? list.pageInfo.endCursor : null };
}

// A team's records in one state: the first page as loaded, then each next one appended under it
// (加载更多: one request per click, the button gone once there are no more).
function Records({ team, status, first }) {
  const [shown, setShown] = useState(first);
  const [busy, once] = useOnce();
  const [failure, setFailure] = useState("");
  const more = once(async () => {
    try {
      const page = await recordsPage(team.id, status, shown.next);
      setShown((before) => ({ records: [...before.records, ...page.records], next: page.next }));
      setFailure("");
    } catch (error) {
      setFailure(errorText(error));
    }
  });
  return html`${shown.records.length ? html`<ul class="plain" data-list=${status}>${shown.records.map((r) => html`<${Row} key=${r.id} record=${r} scope=${team.id} />`)}</ul>`
      : html`<p class="empty">${t("empty")}</p>`}
    ${shown.next ? html`<p class="actions"><button type="button" data-action="more" disabled=${busy} onClick=${more}>${t("more")}</button></p>` : null}
    <p class="error" role="alert">${failure}</p>`;
}

function HoursPage({ status }) {
  const [loaded, setLoaded] = useState(null); // { status, teams: [{ team, first }] }
  const [error, setError] = useState(null);
  useEffect(() => {
    let current = true; // a later tab's answer is not overwritten by an earlier one's
    (async () => {
      const admin = nodes((await gql(TEAMS)).me.teams).filter((team) => team.viewerIsAdmin);
      const teams = await Promise.all(admin.map(async (team) => ({ team, first: await recordsPage(team.id, status) })));
      if (current) setLoaded({ status, teams });
    })().catch(setError);
    return () => { current = false; };
  }, [status]);
  const heading = html`<h1>${t("navHours")}</h1>
    <nav class="tabs" aria-label=${t("reviewStatus")}>${STATUSES.map((s) => html`<a href=${s === "PENDING" ? "#/hours" : `#/hours/${s}`}
      data-status=${s} aria-current=${s === status ? "page" : null}>${t(`review${s}`)}</a>`)}</nav>`;
  if (error) return html`${heading}<p class="error">${errorText(error)}</p>`;
  if (!loaded) return html`${heading}<p>${t("loading")}</p>`;
  // while another tab's lists load, the teams (and the periods typed) stay and their lists wait;
  // a list is keyed by its state, so another tab's starts again from its first page
  return html`${heading}
    ${loaded.teams.length ? loaded.teams.map(({ team, first }) => html`<section class="panel" key=${team.id} data-team=${team.id}>
      <h2>${team.name}</h2><${HoursExport} team=${team} />
      ${loaded.status === status ? html`<${Records} key=${status} team=${team} status=${status} first=${first} />`
        : html`<p>${t("loading")}</p>`}</section>`) : html`<p>${t("noAdminTeams")}</p>`}`;
}

// #/hours/<status>: the pending records unless APPROVED or REJECTED is asked for.
export function render(main, { params = [] } = {}) {
  if (!session.token) { go("#/login"); return null; }
  const status = STATUSES.includes(params[0]) ? params[0] : "PENDING";
  return page(main, html`<${HoursPage} status=${status} />`);
}
