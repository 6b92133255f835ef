// Organisers (team admins): #/manage lists the teams one administers with their activities and
// creates a new one (a draft); #/manage/<activityId> edits, publishes or cancels it, sets its
// requirements, shows the roster with the waitlist and held offers (CSV/XLSX from the server), the check-in
// code, marks attendance, and sends a call-out whose answers arrive live; hand-overs waiting for
// approval are decided on #/manage (docs/care.md).
import { gql, nodes, session } from "../api.js";
import { download } from "../download.js";
import { ZONE, errorText, fmtDate, t } from "../i18n.js";
import { subscribe } from "../ws.js";
import { Field, html, page, useEffect, useForm, useState } from "../ui.js";
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

// The fields of a new or edited activity (ids `${id}-<name>`), uncontrolled (ui.js, Field):
// `read(form)` gives the API's input; `errors` are the form's, by field.
function ActivityFields({ id, activity = {}, errors }) {
  const field = (name, label, props) => html`<${Field} id=${id} name=${name} label=${label} error=${errors[name]} ...${props} />`;
  return html`${field("title", t("title"), { defaultValue: activity.title || "", maxlength: "200", required: true })}
    ${field("category", t("category"), { defaultValue: activity.category || CATEGORIES[0], options: CATEGORIES })}
    ${field("district", t("district"), { defaultValue: activity.district || DISTRICTS[2], options: DISTRICTS })}
    ${field("address", t("address"), { defaultValue: activity.address || "", maxlength: "200" })}
    ${field("startsAt", t("startsAtBj"), { type: "datetime-local", defaultValue: toLocal(activity.startsAt), required: true })}
    ${field("endsAt", t("endsAtBj"), { type: "datetime-local", defaultValue: toLocal(activity.endsAt), required: true })}
    ${field("capacity", t("capacity"), { type: "number", min: "1", max: "10000", defaultValue: activity.capacity ?? 10, required: true })}
    ${field("hoursCredit", t("hoursCredit"), { type: "number", min: "0.5", step: "0.5", defaultValue: activity.hoursCredit ?? 2, required: true })}
    ${field("description", t("description"), { type: "textarea", rows: "4", defaultValue: activity.description || "" })}`;
}

function read(form) {
  const v = (name) => form.elements[name].value.trim();
  return { title: v("title"), category: v("category"), district: v("district"), address: v("address") || null,
    startsAt: fromLocal(v("startsAt")), endsAt: fromLocal(v("endsAt")), capacity: Number(v("capacity")),
    hoursCredit: Number(v("hoursCredit")), description: v("description") };
}

const slug = (id) => id.replace(/\W/g, "");

// A team's new activity (a draft): a refusal is shown at the field it names, the rest kept.
function NewActivity({ team }) {
  const form = useForm();
  const id = `na${slug(team.id)}`;
  const send = form.submit(async (f) => {
    const { createActivity } = await gql(CREATE_ACTIVITY, { input: { teamId: team.id, ...read(f) } });
    location.hash = `#/manage/${encodeURIComponent(createActivity.id)}`;
    return "";
  });
  return html`<details class="new-activity"><summary>${t("newActivity")}</summary>
    <form novalidate onSubmit=${send}><${ActivityFields} id=${id} errors=${form.errors} />
      ${form.outcome}
      <button class="primary" type="submit" disabled=${form.busy}>${t("createDraft")}</button></form></details>`;
}

// An activity's edit form, beside the page's other panels.
function EditActivity({ a, reload }) {
  const form = useForm();
  const send = form.submit(async (f) => {
    await gql(UPDATE, { id: a.id, input: read(f) });
    await reload();
    return t("saved");
  });
  return html`<details class="panel edit-activity"><summary>${t("editActivity")}</summary>
    <form novalidate onSubmit=${send}><${ActivityFields} id="ea" activity=${a} errors=${form.errors} />
      ${form.outcome}
      <button class="primary" type="submit" disabled=${form.busy}>${t("save")}</button></form></details>`;
}

// Members and applications: an admin approves or turns down each applicant.
function People({ team, reload }) {
  const [message, setMessage] = useState("");
  const applicants = nodes(team.applicants);
  const decide = (person, approve) => async () => {
    try {
      await gql(DECIDE, { team: team.id, volunteer: person.id, approve });
      await reload();
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
  const load = async () => {
    try { await loadMe(); setTeams(nodes((await gql(TEAMS)).me.teams).filter((team) => team.viewerIsAdmin)); setError(""); }
    catch (e) { setError(errorText(e)); }
  };
  useEffect(() => { load(); }, []);
  if (!teams) return html`<h1>${t("navManage")}</h1><p class=${error ? "error" : ""}>${error || t("loading")}</p>`;
  // A reload that fails leaves the page (and what is being typed) as it was, and says so.
  return html`<h1>${t("navManage")}</h1><p class="error" role="alert">${error}</p>
    ${session.me?.isPlatformAdmin ? html`<${Policies} />` : null}
    ${teams.length ? html`<${UncoveredShifts} /><${SwapApprovals} />` : html`<p>${t("noAdminTeams")}</p>`}
    ${teams.map((team) => html`<section class="panel" key=${team.id} aria-labelledby=${`team-${team.id}`} data-team=${team.id}>
      <h2 id=${`team-${team.id}`}>${team.name}</h2>
      <ul class="plain">${nodes(team.activities).map((a) => html`<li class="row" key=${a.id} data-id=${a.id}>
        <a href=${`#/manage/${encodeURIComponent(a.id)}`}>${a.title}</a> · ${fmtDate(a.startsAt)}
        <span class="badge" data-status=${a.status}>${t(`ACT_${a.status}`)}</span> ${a.confirmedCount}/${a.capacity}</li>`)}</ul>
      <${People} team=${team} reload=${load} />
      <${NewActivity} team=${team} />
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

function CallOut({ a }) {
  const form = useForm();
  const [sent, setSent] = useState(null);
  useEffect(() => sent ? subscribe(CALLS_WATCH, { id: sent.id }, { next: ({ data }) => {
    if (data?.callOuts?.id === sent.id) setSent((s) => ({ ...s, ...data.callOuts }));
  } }) : undefined, [sent?.id]);
  const send = form.submit(async (f) => {
    const { callOut } = await gql(SEND_CALL, { input: { message: f.elements.message.value.trim(), districts: [a.district],
      needed: Number(f.elements.needed.value) || 1, teamId: a.team.id } });
    setSent(callOut);
    f.reset();
    return "";
  });
  return html`<section class="panel" aria-labelledby="call-h"><h2 id="call-h">${t("sendCallOut")}</h2>
    <form novalidate onSubmit=${send}>
      <${Field} id="co" name="message" label=${t("callMessage")} maxlength="500" required error=${form.errors.message} />
      <${Field} id="co" name="needed" label=${t("callNeeded")} type="number" min="1" defaultValue="5" error=${form.errors.needed} />
      ${form.outcome}
      <button class="primary" type="submit" disabled=${form.busy}>${t("sendCallOut")}</button></form>
    ${sent ? html`<p class="ok" role="status" data-callout=${sent.id}>${t("callAnswers", { n: sent.needed, c: sent.comingCount, x: sent.cannotCount })}</p>` : null}
  </section>`;
}

function ManageActivity({ id }) {
  const [a, setA] = useState(null);
  const [error, setError] = useState(null);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  // Once the page is shown, a failed reload is said in the message line: the page, and what is
  // being typed in its forms, stays.
  const reload = async () => {
    try { setA((await gql(MANAGE, { id })).node); } catch (e) { if (a) setMessage(errorText(e)); else setError(e); }
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
    ${a.status === "PUBLISHED" ? html`<${CallOut} a=${a} /><${SwapApprovalSetting} id=${a.id} />` : null}
    ${a.status === "DRAFT" || a.status === "PUBLISHED" ? html`
      <${EditActivity} a=${a} reload=${reload} />
      <details class="panel"><summary>${t("requirements")}</summary>
        <form novalidate onSubmit=${requirements}>
          <${Field} id="rq" name="qualifications" label=${t("qualificationsList")} defaultValue=${a.requirements.qualifications.join("、")} />
          <${Field} id="rq" name="minimumAge" label=${t("minimumAgeLabel")} type="number" min="1" max="100" defaultValue=${a.requirements.minimumAge ?? ""} />
          <button type="submit" disabled=${busy}>${t("save")}</button></form></details>
      <details class="panel"><summary>${t("cancelActivity")}</summary>
        <form novalidate onSubmit=${cancel}><${Field} id="ca" name="reason" label=${t("cancelReason")} maxlength="500" />
          <button type="submit" data-action="cancel-activity" disabled=${busy}>${t("cancelActivity")}</button></form></details>` : null}`;
}

export function render(main, { params }) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, params[0] ? html`<${ManageActivity} id=${params[0]} />` : html`<${Teams} />`);
}
