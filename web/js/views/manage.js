// Organisers (team admins): #/manage lists the teams one administers with their activities and
// creates a new one (a draft); #/manage/<activityId> edits, publishes or cancels it, sets its
// requirements, shows the roster with the waitlist and held offers (CSV/XLSX from the server), the check-in
// code, marks attendance, and sends a call-out whose answers arrive live; hand-overs waiting for
// approval are decided on #/manage (docs/care.md).
import { gql, nodes, session } from "../api.js";
import { download } from "../download.js";
import { ZONE, errorText, fmtDate, t } from "../i18n.js";
import { subscribe } from "../ws.js";
import { html, page, useEffect, useState } from "../ui.js";
import { Policies, UncoveredShifts } from "./stations.js";
import { SwapApprovalSetting, SwapApprovals } from "./care.js";
import { loadMe } from "../app.js";

const TEAMS = `query ManageTeams { me { id teams(first: 50, role: ADMIN) { edges { node { id name district viewerIsAdmin
  activities(first: 30) { edges { node { id title status startsAt capacity confirmedCount waitlistCount } } }
  applicants(first: 50) { edges { node { id displayName district } } }
  members(first: 100) { totalCount edges { node { id displayName } } } } } } } }`;
const DECIDE = `mutation DecideMembership($team: ID!, $volunteer: ID!, $approve: Boolean!) {
  decideMembership(teamId: $team, volunteerId: $volunteer, approve: $approve) { id } }`;
const CREATE_ACTIVITY = `mutation CreateActivity($input: ActivityInput!) { createActivity(input: $input) { id } }`;
const MANAGE = `query ManageActivity($id: ID!) { node(id: $id) { ... on Activity { id title description category district
  address startsAt endsAt capacity hoursCredit waitlistLimit status cancelReason checkInCode viewerCanManage
  confirmedCount waitlistCount offeredCount remaining team { id name } requirements { qualifications minimumAge }
  confirmed: signUps(first: 100, status: CONFIRMED) { totalCount edges { node { id checkedInAt checkedOutAt createdAt insured
    volunteer { id displayName phoneMasked } } } }
  waitlist: signUps(first: 100, status: WAITLISTED) { edges { node { id waitlistPosition createdAt volunteer { id displayName } } } }
  offered: signUps(first: 50, status: OFFERED) { edges { node { id offerExpiresAt volunteer { id displayName } } } } } } }`;
const PUBLISH = `mutation PublishActivity($id: ID!) { publishActivity(id: $id) { id status } }`;
const UPDATE = `mutation UpdateActivity($id: ID!, $input: ActivityUpdateInput!) { updateActivity(id: $id, input: $input) { id } }`;
const CANCEL_ACTIVITY = `mutation CancelActivity($id: ID!, $reason: String!) { cancelActivity(id: $id, reason: $reason) { id status } }`;
const REQUIRE = `mutation SetRequirements($id: ID!, $input: RequirementsInput!) { setActivityRequirements(activityId: $id, input: $input) { id } }`;
const MARK = `mutation MarkAttendance($device: String!, $entries: [AttendanceEntryInput!]!) {
  syncAttendance(deviceId: $device, entries: $entries) { applied results { clientId outcome } } }`;
const SEND_CALL = `mutation SendCallOut($input: CallOutInput!) { callOut(input: $input) { id message needed comingCount cannotCount filled } }`;
// With the id, the call-out's counts as they are now come first: an answer given before the
// subscription started is not missed.
const CALLS_WATCH = `subscription WatchCallOuts($id: ID) { callOuts(id: $id) { id comingCount cannotCount filled } }`;
const CATEGORIES = ["助老", "环保", "扶幼", "助残", "社区服务", "应急", "文化", "医疗"];
const DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区", "大兴区"];

// <input type=datetime-local> speaks Beijing wall-clock time, whatever the browser's zone.
const fromLocal = (value) => (value ? new Date(`${value}:00+08:00`).toISOString() : null);
const toLocal = (iso) => {
  if (!iso) return "";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
};

function Field({ name, label, type = "text", value = "", options, ...rest }) {
  const id = `m-${name}`;
  return html`<div class="field"><label for=${id}>${label}</label>
    ${options ? html`<select id=${id} name=${name}>${options.map((o) => html`<option value=${o} selected=${o === value}>${o}</option>`)}</select>`
      : type === "textarea" ? html`<textarea id=${id} name=${name} rows="4" value=${value} ...${rest}></textarea>`
        : html`<input id=${id} name=${name} type=${type} value=${value} ...${rest} />`}</div>`;
}

// The fields of a new or edited activity; `read(form)` gives the API's input.
function ActivityFields({ activity = {} }) {
  return html`<${Field} name="title" label=${t("title")} value=${activity.title || ""} maxlength="200" required />
    <${Field} name="category" label=${t("category")} value=${activity.category || CATEGORIES[0]} options=${CATEGORIES} />
    <${Field} name="district" label=${t("district")} value=${activity.district || DISTRICTS[2]} options=${DISTRICTS} />
    <${Field} name="address" label=${t("address")} value=${activity.address || ""} maxlength="200" />
    <${Field} name="startsAt" label=${t("startsAtBj")} type="datetime-local" value=${toLocal(activity.startsAt)} required />
    <${Field} name="endsAt" label=${t("endsAtBj")} type="datetime-local" value=${toLocal(activity.endsAt)} required />
    <${Field} name="capacity" label=${t("capacity")} type="number" min="1" max="10000" value=${activity.capacity ?? 10} required />
    <${Field} name="hoursCredit" label=${t("hoursCredit")} type="number" min="0.5" step="0.5" value=${activity.hoursCredit ?? 2} required />
    <${Field} name="description" label=${t("description")} type="textarea" value=${activity.description || ""} />`;
}

function read(form) {
  const v = (name) => form.elements[name].value.trim();
  return { title: v("title"), category: v("category"), district: v("district"), address: v("address") || null,
    startsAt: fromLocal(v("startsAt")), endsAt: fromLocal(v("endsAt")), capacity: Number(v("capacity")),
    hoursCredit: Number(v("hoursCredit")), description: v("description") };
}

function missing(input) {
  return !input.title || !input.startsAt || !input.endsAt ? t("errRequired") : "";
}

// Members and applications: an admin approves or turns down each applicant.
function People({ team, reload }) {
  const [message, setMessage] = useState("");
  const applicants = nodes(team.applicants);
  const decide = (person, approve) => async () => {
    try {
      await gql(DECIDE, { team: team.id, volunteer: person.id, approve });
      await reload(); // first: a later reload would reset a form being filled
      setMessage(t(approve ? "applicantApproved" : "applicantDeclined", { name: person.displayName }));
    } catch (e) { setMessage(errorText(e)); }
  };
  return html`<p class="ok" role="status">${message}</p><details class="people" open=${applicants.length > 0}>
    <summary>${t("membersAndApplications", { m: team.members.totalCount, a: applicants.length })}</summary>
    ${applicants.length ? html`<h3>${t("applications")}</h3><ul class="plain applicants">${applicants.map((p) => html`<li data-applicant=${p.id}>
      ${p.displayName} · ${p.district}
      <button type="button" data-action="approve-member" onClick=${decide(p, true)}>${t("approve")}</button>
      <button type="button" data-action="decline-member" onClick=${decide(p, false)}>${t("decline")}</button></li>`)}</ul>` : null}
    <h3>${t("members")}</h3><p>${nodes(team.members).map((p) => p.displayName).join("、") || t("empty")}</p></details>`;
}

function Teams() {
  const [teams, setTeams] = useState(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const load = async () => {
    try { await loadMe(); setTeams(nodes((await gql(TEAMS)).me.teams).filter((team) => team.viewerIsAdmin)); }
    catch (e) { setError(errorText(e)); }
  };
  useEffect(() => { load(); }, []);
  const create = (team) => async (event) => {
    event.preventDefault();
    const input = { teamId: team.id, ...read(event.target) };
    const problem = missing(input);
    if (problem) { setError(problem); return; }
    setBusy(true);
    try {
      const { createActivity } = await gql(CREATE_ACTIVITY, { input });
      location.hash = `#/manage/${encodeURIComponent(createActivity.id)}`;
    } catch (e) { setError(errorText(e)); setBusy(false); }
  };
  if (!teams) return html`<h1>${t("navManage")}</h1><p class=${error ? "error" : ""}>${error || t("loading")}</p>`;
  return html`<h1>${t("navManage")}</h1>
    ${session.me?.isPlatformAdmin ? html`<${Policies} />` : null}
    ${teams.length ? html`<${UncoveredShifts} /><${SwapApprovals} />` : html`<p>${t("noAdminTeams")}</p>`}
    ${teams.map((team) => html`<section class="panel" aria-labelledby=${`team-${team.id}`} data-team=${team.id}>
      <h2 id=${`team-${team.id}`}>${team.name}</h2>
      <ul class="plain">${nodes(team.activities).map((a) => html`<li class="row" data-id=${a.id}>
        <a href=${`#/manage/${encodeURIComponent(a.id)}`}>${a.title}</a> · ${fmtDate(a.startsAt)}
        <span class="badge" data-status=${a.status}>${t(`ACT_${a.status}`)}</span> ${a.confirmedCount}/${a.capacity}</li>`)}</ul>
      <${People} team=${team} reload=${load} />
      <details class="new-activity"><summary>${t("newActivity")}</summary>
        <form novalidate onSubmit=${create(team)}><${ActivityFields} />
          <p class="error" role="alert">${error}</p>
          <button class="primary" type="submit" disabled=${busy}>${t("createDraft")}</button></form></details>
    </section>`)}`;
}

function Roster({ a, reload, say }) {
  const confirmed = nodes(a.confirmed);
  const waitlist = nodes(a.waitlist);
  const offered = nodes(a.offered);
  const mark = (signUp) => async () => {
    try {
      const { syncAttendance } = await gql(MARK, { device: `web-${session.me?.id || "organiser"}`, entries: [{
        clientId: `web-${signUp.id}-${Date.now()}`, activityId: a.id, volunteerId: signUp.volunteer.id,
        kind: "CHECK_IN", at: new Date().toISOString() }] });
      const outcome = syncAttendance.results[0]?.outcome;
      say(outcome === "APPLIED" || outcome === "DUPLICATE" ? t("marked", { name: signUp.volunteer.displayName })
        : t("markFailed", { outcome }));
      await reload();
    } catch (e) { say(errorText(e)); }
  };
  const save = (format) => () => download(`/activities/${encodeURIComponent(a.id)}/roster.${format}`).catch((e) => say(errorText(e)));
  return html`<section class="panel" aria-labelledby="roster-h"><h2 id="roster-h">${t("roster")}</h2>
    <p>${t("rosterCounts", { c: a.confirmedCount, cap: a.capacity, w: a.waitlistCount, o: a.offeredCount })}</p>
    <p class="actions"><button type="button" data-export="csv" onClick=${save("csv")}>${t("exportCsv")}</button>
      <button type="button" data-export="xlsx" onClick=${save("xlsx")}>${t("exportXlsx")}</button></p>
    <h3>${t("statusCONFIRMED")}</h3>
    ${confirmed.length ? html`<ul class="plain roster">${confirmed.map((s) => html`<li data-signup=${s.id}>
      ${s.volunteer.displayName} ${s.volunteer.phoneMasked ? `· ${s.volunteer.phoneMasked}` : ""}
      <span class=${`badge${s.insured ? "" : " urgent"}`} data-insured=${String(s.insured)}>${t(s.insured ? "insYes" : "insNo")}</span>
      ${s.checkedInAt ? html` <span class="badge state">${t("checkedIn", { time: fmtDate(s.checkedInAt) })}</span>`
        : html` <button type="button" data-action="mark" onClick=${mark(s)}>${t("markPresent")}</button>`}</li>`)}</ul>`
      : html`<p>${t("empty")}</p>`}
    ${offered.length ? html`<h3>${t("statusOFFERED")}</h3><ul class="plain">${offered.map((s) => html`<li>${s.volunteer.displayName} · ${t("offerHeldUntil", { time: fmtDate(s.offerExpiresAt) })}</li>`)}</ul>` : null}
    <h3>${t("statusWAITLISTED")}</h3>
    ${waitlist.length ? html`<ol class="waitlist-roster">${waitlist.map((s) => html`<li>${s.volunteer.displayName}</li>`)}</ol>` : html`<p>${t("empty")}</p>`}
  </section>`;
}

function CallOut({ a, say }) {
  const [sent, setSent] = useState(null);
  useEffect(() => sent ? subscribe(CALLS_WATCH, { id: sent.id }, { next: ({ data }) => {
    if (data?.callOuts?.id === sent.id) setSent((s) => ({ ...s, ...data.callOuts }));
  } }) : undefined, [sent?.id]);
  const send = async (event) => {
    event.preventDefault();
    const form = event.target;
    const message = form.elements.message.value.trim();
    if (!message) { say(t("errRequired")); return; }
    try {
      const { callOut } = await gql(SEND_CALL, { input: { message, districts: [a.district], needed: Number(form.elements.needed.value) || 1,
        teamId: a.team.id } });
      setSent(callOut);
      form.reset();
    } catch (e) { say(errorText(e)); }
  };
  return html`<section class="panel" aria-labelledby="call-h"><h2 id="call-h">${t("sendCallOut")}</h2>
    <form novalidate onSubmit=${send}>
      <${Field} name="message" label=${t("callMessage")} maxlength="500" />
      <${Field} name="needed" label=${t("callNeeded")} type="number" min="1" value="5" />
      <button class="primary" type="submit">${t("sendCallOut")}</button></form>
    ${sent ? html`<p class="ok" role="status" data-callout=${sent.id}>${t("callAnswers", { n: sent.needed, c: sent.comingCount, x: sent.cannotCount })}</p>` : null}
  </section>`;
}

function ManageActivity({ id }) {
  const [a, setA] = useState(null);
  const [error, setError] = useState(null);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const reload = async () => {
    try { setA((await gql(MANAGE, { id })).node); } catch (e) { setError(e); }
  };
  useEffect(() => { reload(); }, [id]);
  if (error) return html`<p class="error">${errorText(error)}</p>`;
  if (!a) return html`<p>${t("loading")}</p>`;
  if (!a.viewerCanManage) return html`<h1>${a.title || t("notFound")}</h1><p>${t("codeFORBIDDEN")}</p>`;
  const run = (fn, done) => async (event) => {
    event?.preventDefault?.();
    setBusy(true);
    try { await fn(event); setMessage(done); await reload(); } catch (e) { setMessage(errorText(e)); }
    setBusy(false);
  };
  const save = run(async (event) => {
    const input = read(event.target);
    const problem = missing(input);
    if (problem) throw Object.assign(new Error(problem), { message: problem, code: "BAD_USER_INPUT" });
    await gql(UPDATE, { id, input });
  }, t("saved"));
  const cancel = run(async (event) => {
    const reason = event.target.elements.reason.value.trim();
    if (!reason) throw Object.assign(new Error(t("cancelReasonRequired")), { code: "BAD_USER_INPUT" });
    await gql(CANCEL_ACTIVITY, { id, reason });
  }, t("activityCancelled"));
  const requirements = run(async (event) => {
    const f = event.target.elements;
    await gql(REQUIRE, { id, input: { qualifications: f.qualifications.value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean),
      minimumAge: f.minimumAge.value ? Number(f.minimumAge.value) : null } });
  }, t("saved"));
  return html`<p><a href="#/manage">← ${t("navManage")}</a> · <a href=${`#/activities/${encodeURIComponent(a.id)}`}>${t("publicPage")}</a></p>
    <h1>${a.title} <span class="badge" data-status=${a.status}>${t(`ACT_${a.status}`)}</span></h1>
    <p class="meta">${a.team.name} · ${fmtDate(a.startsAt)}</p>
    <p class="ok" role="status" aria-live="polite" data-message>${message}</p>
    ${a.status === "DRAFT" ? html`<p><button class="primary" type="button" data-action="publish" disabled=${busy}
      onClick=${run(() => gql(PUBLISH, { id }), t("published"))}>${t("publish")}</button></p>` : null}
    ${a.checkInCode ? html`<section class="panel" aria-labelledby="code-h"><h2 id="code-h">${t("checkInCode")}</h2>
      <p class="code" data-code>${a.checkInCode}</p><p class="hint">${t("codeHint")}</p></section>` : null}
    ${a.status !== "DRAFT" ? html`<${Roster} a=${a} reload=${reload} say=${setMessage} />` : null}
    ${a.status === "PUBLISHED" ? html`<${CallOut} a=${a} say=${setMessage} /><${SwapApprovalSetting} id=${a.id} />` : null}
    ${a.status === "DRAFT" || a.status === "PUBLISHED" ? html`
      <details class="panel"><summary>${t("editActivity")}</summary>
        <form novalidate onSubmit=${save}><${ActivityFields} activity=${a} />
          <button class="primary" type="submit" disabled=${busy}>${t("save")}</button></form></details>
      <details class="panel"><summary>${t("requirements")}</summary>
        <form novalidate onSubmit=${requirements}>
          <${Field} name="qualifications" label=${t("qualificationsList")} value=${a.requirements.qualifications.join("、")} />
          <${Field} name="minimumAge" label=${t("minimumAgeLabel")} type="number" min="1" max="100" value=${a.requirements.minimumAge ?? ""} />
          <button type="submit" disabled=${busy}>${t("save")}</button></form></details>
      <details class="panel"><summary>${t("cancelActivity")}</summary>
        <form novalidate onSubmit=${cancel}><${Field} name="reason" label=${t("cancelReason")} maxlength="500" />
          <button type="submit" data-action="cancel-activity" disabled=${busy}>${t("cancelActivity")}</button></form></details>` : null}`;
}

export function render(main, { params }) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, params[0] ? html`<${ManageActivity} id=${params[0]} />` : html`<${Teams} />`);
}
