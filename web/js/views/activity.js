// An activity's own page (#/activities/<id>, shareable): what, when (Beijing time), where, who
// organises it, its requirements and whether I meet them, live slots, my sign-up state with the
// actions it allows (sign up, cancel, take or give up a held place, check in), experience posts,
// and the care panels of care.js (hand-over, change log, organiser messages, lapsing qualifications).
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, fmtRange, t } from "../i18n.js";
import { subscribe } from "../ws.js";
import { html, page, useEffect, useState } from "../ui.js";
import { signUpMessage } from "./activities.js";
import { ActivityCare } from "./care.js";

const DETAIL = `query ActivityPage($id: ID!, $signedIn: Boolean!) {
  node(id: $id) { ... on Activity { id title description category district address startsAt endsAt signUpDeadline
    capacity confirmedCount offeredCount waitlistCount waitlistLimit remaining hoursCredit skills status cancelReason
    viewerCanManage team { id name } requirements { qualifications minimumAge } position { id name }
    mySignUp @include(if: $signedIn) { status waitlistPosition offerExpiresAt checkedInAt }
    experiencePosts(first: 10) { edges { node { id title body createdAt author { displayName } } } } } }
  me @include(if: $signedIn) { id birthYear qualifications { name valid expiresAt } } }`;
const SLOTS = `subscription ActivitySlots($id: ID!) { slotCount(activityId: $id) { capacity confirmed offered waitlisted remaining status version } }`;
const SIGN_UP = `mutation PageSignUp($id: ID!) { signUp(activityId: $id) { status waitlistPosition } }`;
const CANCEL = `mutation PageCancel($id: ID!) { cancelSignUp(activityId: $id) { status } }`;
const ACCEPT = `mutation PageAccept($id: ID!) { acceptOffer(activityId: $id) { status } }`;
const DECLINE = `mutation PageDecline($id: ID!) { declineOffer(activityId: $id) { status } }`;
const WRITE_POST = `mutation WriteExperience($input: ExperiencePostInput!) { createExperiencePost(input: $input) { id } }`;
const CHECK_IN = `mutation PageCheckIn($id: ID!, $code: String) { checkIn(activityId: $id, code: $code) { status checkedInAt } }`;

// What the signed-in volunteer lacks, from their own qualifications and birth year (the server
// decides at sign-up; this only says so beforehand).
function unmet(activity, me) {
  if (!me) return null;
  const valid = new Set((me.qualifications || []).filter((q) => q.valid).map((q) => q.name));
  const missing = activity.requirements.qualifications.filter((q) => !valid.has(q)).map((q) => t("qualification", { q }));
  const age = activity.requirements.minimumAge;
  if (age && me.birthYear && new Date(activity.startsAt).getFullYear() - me.birthYear < age) {
    missing.push(t("minimumAge", { n: age }));
  }
  return missing;
}

function Slots({ counts }) {
  const full = counts.remaining <= 0;
  return html`<p class="slots">
    <strong class="remaining" data-remaining=${counts.remaining}>${full ? t("full") : t("remaining", { n: counts.remaining, cap: counts.capacity })}</strong>
    ${" "}<span class="waitlist">${counts.waitlistLimit ? t("waitlist", { n: counts.waitlisted, limit: counts.waitlistLimit }) : ""}</span></p>`;
}

function MySignUp({ activity, reload }) {
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  const mine = activity.mySignUp && activity.mySignUp.status !== "CANCELLED" ? activity.mySignUp : null;
  const id = activity.id;
  const act = (run, done, explain = errorText) => async (event) => {
    event?.preventDefault?.();
    if (!session.token) { setResult({ text: t("needLogin") }); return; }
    setBusy(true);
    try {
      const answer = Object.values(await run(event))[0];
      setResult({ text: typeof done === "function" ? done(answer) : done });
      await reload();
    } catch (error) {
      setResult({ text: explain(error), reason: error.reason || error.code });
    } finally { setBusy(false); }
  };
  const state = mine ? html`<p class="state" data-state=${mine.status}><span class="badge">${t(`status${mine.status}`)}</span>
    ${mine.status === "WAITLISTED" ? ` ${t("waitPos", { n: mine.waitlistPosition })}` : ""}
    ${mine.status === "OFFERED" ? ` ${t("offerUntil", { time: fmtDate(mine.offerExpiresAt) })}` : ""}
    ${mine.checkedInAt ? ` · ${t("checkedIn", { time: fmtDate(mine.checkedInAt) })}` : ""}</p>` : null;
  let actions = null;
  if (mine?.status === "OFFERED") {
    actions = html`<button class="primary" type="button" disabled=${busy} onClick=${act(() => gql(ACCEPT, { id }), t("offerAccepted"))}>${t("acceptOffer")}</button>
      <button type="button" disabled=${busy} onClick=${act(() => gql(DECLINE, { id }), t("offerDeclined"))}>${t("declineOffer")}</button>`;
  } else if (mine) {
    actions = html`<button type="button" data-action="cancel" disabled=${busy} onClick=${act(() => gql(CANCEL, { id }), t("cancelled"))}>${t("cancelSignUp")}</button>`;
  } else if (activity.status === "PUBLISHED") {
    actions = html`<button class="primary" type="button" data-action="signup" disabled=${busy}
      onClick=${act(() => gql(SIGN_UP, { id }), (s) => (s.status === "WAITLISTED" ? t("waitlisted", { n: s.waitlistPosition }) : t("signedUp")), signUpMessage)}>${t("signUp")}</button>`;
  }
  const checkIn = mine?.status === "CONFIRMED" && !mine.checkedInAt && activity.status === "PUBLISHED"
    ? html`<form class="inline" onSubmit=${act((event) => gql(CHECK_IN, { id, code: event.target.elements.code.value.trim() || null }),
          (s) => t("checkedIn", { time: fmtDate(s.checkedInAt) }))}>
        <label for="checkin-code">${t("checkInCode")}</label>
        <input id="checkin-code" name="code" autocomplete="off" maxlength="20" />
        <button type="submit" disabled=${busy}>${t("checkIn")}</button></form>` : null;
  return html`<section class="panel" aria-labelledby="mine-h">
    <h2 id="mine-h">${t("mySignUpState")}</h2>
    ${state}<div class="actions">${actions}</div>${checkIn}
    <p class="result" role="status" aria-live="polite" data-reason=${result?.reason}>${result?.text || ""}</p></section>`;
}

// Volunteers who served (checked in, or a confirmed place in a finished activity) write 心得;
// the server decides (FORBIDDEN otherwise), the form is offered only when it is likely to pass.
function WritePost({ activity, reload }) {
  const [message, setMessage] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const title = form.elements.title.value.trim();
    const body = form.elements.body.value.trim();
    if (!title || !body) { setMessage(t("errRequired")); return; }
    try {
      await gql(WRITE_POST, { input: { activityId: activity.id, title, body } });
      form.reset();
      setMessage(t("postPublished"));
      await reload();
    } catch (e) { setMessage(errorText(e)); }
  };
  return html`<details class="panel write-post"><summary>${t("writeExperience")}</summary>
    <form novalidate onSubmit=${submit}>
      <div class="field"><label for="exp-title">${t("title")}</label><input id="exp-title" name="title" maxlength="200" /></div>
      <div class="field"><label for="exp-body">${t("body")}</label><textarea id="exp-body" name="body" rows="5"></textarea></div>
      <button class="primary" type="submit">${t("post")}</button></form>
    <p class="ok" role="status">${message}</p></details>`;
}

function ActivityPage({ id }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [counts, setCounts] = useState(null);
  const [stale, setStale] = useState("");
  // Once shown, a failed reload (after an action) keeps the page, and what is typed in its
  // forms, and says so: replacing it with the error would lose both.
  const load = async () => {
    try {
      const answer = await gql(DETAIL, { id, signedIn: !!session.token });
      setData(answer);
      setStale("");
      const a = answer.node;
      if (a) {
        setCounts({ capacity: a.capacity, remaining: a.remaining, waitlisted: a.waitlistCount, waitlistLimit: a.waitlistLimit });
        document.title = `${a.title} · ${t("brand")}`;
      }
    } catch (e) { if (data) setStale(errorText(e)); else setError(e); }
  };
  useEffect(() => { load(); }, [id]);
  useEffect(() => subscribe(SLOTS, { id }, { next: ({ data: d }) => d && setCounts((c) => c && ({
    ...c, capacity: d.slotCount.capacity, remaining: d.slotCount.remaining, waitlisted: d.slotCount.waitlisted })) }), [id]);
  if (error) return html`<p class="error">${errorText(error)}</p><button type="button" onClick=${load}>${t("retry")}</button>`;
  if (!data) return html`<p>${t("loading")}</p>`;
  const a = data.node;
  if (!a || !a.title) return html`<h1>${t("notFound")}</h1><p><a href="#/activities">${t("backToList")}</a></p>`;
  const missing = unmet(a, data.me);
  const req = a.requirements;
  const reqItems = [...req.qualifications.map((q) => t("qualification", { q })), ...(req.minimumAge ? [t("minimumAge", { n: req.minimumAge })] : [])];
  const posts = nodes(a.experiencePosts);
  return html`<article class="detail" data-id=${a.id}>
    <p><a href="#/activities">← ${t("backToList")}</a></p>
    <h1>${a.title}</h1><p class="error" role="alert">${stale}</p>
    <p class="meta"><span class="badge" data-status=${a.status}>${t(`ACT_${a.status}`)}</span> ${a.category} · ${t("hours", { n: a.hoursCredit })}</p>
    ${a.status === "CANCELLED" && a.cancelReason ? html`<p class="notice">${a.cancelReason}</p>` : null}
    <dl class="facts">
      <div><dt>${t("time")}</dt><dd data-field="time">${fmtRange(a.startsAt, a.endsAt)}</dd></div>
      <div><dt>${t("place")}</dt><dd>${a.district}${a.address ? ` · ${a.address}` : ""}</dd></div>
      <div><dt>${t("organiser")}</dt><dd data-field="team">${a.team.name}</dd></div>
      <div><dt>${t("deadline", { time: "" }).trim()}</dt><dd>${fmtDate(a.signUpDeadline)}</dd></div>
    </dl>
    ${counts ? html`<${Slots} counts=${counts} />` : null}
    <section class="panel" aria-labelledby="req-h"><h2 id="req-h">${t("requirements")}</h2>
      ${reqItems.length ? html`<ul class="plain">${reqItems.map((r) => html`<li>${r}</li>`)}</ul>` : html`<p>${t("noRequirements")}</p>`}
      ${missing && reqItems.length ? html`<p class=${missing.length ? "error" : "ok"} data-meets=${missing.length ? "no" : "yes"}>
        ${missing.length ? t("youLack", { what: missing.join("、") }) : t("youMeet")}</p>` : null}
      ${a.skills.length ? html`<p>${t("skillsWanted")}：${a.skills.join("、")}</p>` : null}</section>
    <${MySignUp} activity=${a} reload=${load} />
    ${a.viewerCanManage ? html`<p><a class="button" href=${`#/manage/${encodeURIComponent(a.id)}`}>${t("manageThis")}</a></p>` : null}
    <${ActivityCare} activity=${a} me=${data.me} reload=${load} />
    <section aria-labelledby="desc-h"><h2 id="desc-h">${t("description")}</h2><p class="prose">${a.description}</p></section>
    <section aria-labelledby="exp-h"><h2 id="exp-h">${t("experiences")}</h2>
      ${a.mySignUp?.status === "CONFIRMED" && (a.mySignUp.checkedInAt || Date.parse(a.endsAt) <= Date.now())
        ? html`<${WritePost} activity=${a} reload=${load} />` : null}
      ${posts.length ? posts.map((p) => html`<article class="card"><h3>${p.title}</h3>
        <p class="meta">${p.author.displayName} · ${fmtDate(p.createdAt)}</p><p class="prose">${p.body}</p></article>`)
        : html`<p>${t("empty")}</p>`}</section>
  </article>`;
}

export function render(main, { params }) {
  return page(main, html`<${ActivityPage} id=${params[0]} />`);
}
