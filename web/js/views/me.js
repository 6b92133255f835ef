// "Me": hours, star level, points, sign-ups, teams, and issuing a certificate; reminders before a
// shift (which offsets, SMS or not), my secret calendar feed URL, qualifications about to expire.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import "../strings/care.js";
import { html, page, useEffect, useRef, useState } from "../ui.js";
import { go } from "../app.js";

const ME = `{ me { id displayName volunteerNumber district approvedHours starLevel points phoneMasked
  teams(first: 20) { edges { node { id name viewerIsAdmin } } }
  signUps(first: 50) { edges { node { status waitlistPosition offerExpiresAt checkedInAt activity { id title startsAt endsAt } } } }
  serviceRecords(first: 20) { edges { node { id hours hoursClaimed status createdAt activity { id title startsAt } } } }
  qualifications { id name expiresAt valid course { id title } } }
  reminderSettings { offsetsHours mutedHours sms } calendarFeed { createdAt } }`;
const SAVE_REMINDERS = `mutation SaveReminders($muted: [Float!], $sms: Boolean) { updateReminderSettings(mutedHours: $muted, sms: $sms) { mutedHours sms } }`;
const NEW_FEED = `mutation NewCalendarFeed { createCalendarFeed { path createdAt } }`;
const REVOKE_FEED = `mutation RevokeCalendarFeed { revokeCalendarFeed }`;
const ALERT_DAYS = 30;

const status = (text) => html`<p class="result" role="status" aria-live="polite">${text}</p>`;

// Which reminders I get: each of the deployment's offsets (checked: reminded), and SMS. The boxes
// are controlled: preact would otherwise put back the loaded state on the next render.
function Reminders({ settings }) {
  const [muted, setMuted] = useState(settings.mutedHours);
  const [sms, setSms] = useState(settings.sms);
  const [result, setResult] = useState("");
  const toggle = (hours) => setMuted((old) => (old.includes(hours) ? old.filter((x) => x !== hours) : [...old, hours]));
  const save = async (event) => {
    event.preventDefault();
    try {
      await gql(SAVE_REMINDERS, { muted: settings.offsetsHours.filter((hours) => muted.includes(hours)), sms });
      setResult(t("saved"));
    } catch (error) { setResult(errorText(error)); }
  };
  return html`<section class="panel reminders" aria-labelledby="rem-h"><h2 id="rem-h">${t("reminders")}</h2>
    <form onSubmit=${save}>
      ${settings.offsetsHours.length ? settings.offsetsHours.map((hours) => html`<label class="check" key=${hours}>
        <input type="checkbox" name="offset" value=${String(hours)} checked=${!muted.includes(hours)}
          onChange=${() => toggle(hours)} /> ${t("remindBefore", { n: hours })}</label>`) : html`<p>${t("noReminders")}</p>`}
      <label class="check"><input type="checkbox" name="sms" checked=${sms} onChange=${(e) => setSms(e.target.checked)} /> ${t("remindSms")}</label>
      <p><button type="submit" data-action="save-reminders">${t("save")}</button></p></form>
    ${status(result)}</section>`;
}

// The secret feed's URL is shown once, when made; after that only when it was made.
function Calendar({ feed }) {
  const [since, setSince] = useState(feed?.createdAt || null);
  const [url, setUrl] = useState(null);
  const [result, setResult] = useState("");
  const box = useRef(null);
  const make = async () => {
    try {
      const { createCalendarFeed: link } = await gql(NEW_FEED);
      setSince(link.createdAt);
      setUrl(`${location.origin}${link.path}`);
      setResult("");
    } catch (error) { setResult(errorText(error)); }
  };
  const revoke = async () => {
    try {
      await gql(REVOKE_FEED);
      setSince(null);
      setUrl(null);
      setResult(t("feedRevoked"));
    } catch (error) { setResult(errorText(error)); }
  };
  const copy = async () => {
    box.current.select();
    try { await navigator.clipboard.writeText(url); setResult(t("copied")); } catch { setResult(t("copyByHand")); }
  };
  return html`<section class="panel calendar" aria-labelledby="cal-h"><h2 id="cal-h">${t("myCalendar")}</h2>
    <p>${t("feedLead")}</p>
    <p data-feed=${since ? "on" : "off"}>${since ? t("feedSince", { time: fmtDate(since) }) : t("feedNone")}</p>
    ${url ? html`<div><label for="feed-url">${t("feedUrl")}</label>
      <div class="actions"><input id="feed-url" readonly value=${url} data-calendar-url="" ref=${box} />
        <button type="button" onClick=${copy}>${t("copy")}</button></div>
      <p class="hint">${t("feedKeep")}</p></div>` : null}
    <div class="actions"><button type="button" data-action="new-feed" onClick=${make}>${t(since ? "feedRenew" : "feedMake")}</button>
      <button type="button" data-action="revoke-feed" onClick=${revoke}>${t("feedRevoke")}</button></div>
    ${status(result)}</section>`;
}

// Qualifications expiring within 30 days (or expired), with the course that renews them.
function Expiring({ qualifications }) {
  const soon = Date.now() + ALERT_DAYS * 86400000;
  const list = (qualifications || []).filter((q) => q.expiresAt && Date.parse(q.expiresAt) <= soon);
  if (!list.length) return null;
  return html`<section class="panel expiring" aria-labelledby="exp-q-h"><h2 id="exp-q-h">${t("qualExpiring")}</h2>
    <ul class="plain">${list.map((q) => html`<li key=${q.id} data-qualification=${q.name}>
      ${q.name} · ${q.valid ? t("expiresOn", { date: fmtDate(q.expiresAt) }) : t("expired")} · ${q.course
        ? html`<a href="#/learn">${t("renewWith", { course: q.course.title })}</a>` : t("askTeam")}</li>`)}</ul></section>`;
}

// My schedule: held places first (they expire), then upcoming, waitlisted and past shifts.
function Schedule({ signUps }) {
  const now = Date.now();
  const live = signUps.filter((s) => s.status !== "CANCELLED");
  const groups = [
    ["OFFERED", t("scheduleOffered"), live.filter((s) => s.status === "OFFERED")],
    ["UPCOMING", t("scheduleUpcoming"), live.filter((s) => s.status === "CONFIRMED" && Date.parse(s.activity.endsAt) > now)],
    ["WAITLISTED", t("statusWAITLISTED"), live.filter((s) => s.status === "WAITLISTED")],
    ["PAST", t("schedulePast"), live.filter((s) => s.status === "CONFIRMED" && Date.parse(s.activity.endsAt) <= now)],
  ].filter(([, , list]) => list.length);
  const item = (s) => html`<li key=${s.activity.id} data-state=${s.status}>${fmtDate(s.activity.startsAt)}${" "}
    <a href=${`#/activities/${encodeURIComponent(s.activity.id)}`}>${s.activity.title}</a>
    ${s.status === "WAITLISTED" ? ` · ${t("waitPos", { n: s.waitlistPosition })}` : ""}
    ${s.status === "OFFERED" ? ` · ${t("offerHeldUntil", { time: fmtDate(s.offerExpiresAt) })}` : ""}
    ${s.checkedInAt ? ` · ${t("checkedIn", { time: fmtDate(s.checkedInAt) })}` : ""}</li>`;
  return groups.map(([key, title, list]) => html`<div class="schedule-group" key=${key} data-group=${key}>
    <h3>${title}</h3><ul class="plain">${list.map(item)}</ul></div>`);
}

function HoursList({ records }) {
  return records.length ? html`<ul class="plain">${records.map((r) => html`<li key=${r.id} data-record=${r.id} data-status=${r.status}>
    ${fmtDate(r.activity.startsAt)} ${r.activity.title} · ${t("hours", { n: r.status === "APPROVED" ? r.hours : r.hoursClaimed })}${" "}
    <span class="badge">${t(`hours${r.status}`)}</span></li>`)}</ul>` : html`<p>${t("empty")}</p>`;
}

const CERT_FIELDS = `code serialNumber volunteerName idType idNumberMasked volunteerNumber teams totalHours issuer issuedAt
  entries { activityTitle team date hours }`;
const ISSUE = `mutation IssueCertificate { issueCertificate { ${CERT_FIELDS} } }`;
const VERIFY = `query VerifyCertificate($code: String!) { verifyCertificate(code: $code) { ${CERT_FIELDS} } }`;

// The certificate as a page one can print (the header and buttons are left off paper), with
// the link anyone can open to check it.
function Certificate({ c }) {
  const link = `${location.origin}/#/verify/${encodeURIComponent(c.code)}`;
  const row = (label, value, key) => html`<div><dt>${label}</dt><dd data-cert=${key}>${value}</dd></div>`;
  return html`<section class="cert" aria-labelledby="cert-h"><h2 id="cert-h">${t("certificate")}</h2>
    <dl class="facts">
      ${row(t("serial"), c.serialNumber, "serial")}${row(t("realName"), c.volunteerName, "name")}
      ${row(t("idMasked"), `${c.idType} ${c.idNumberMasked}`, "id")}${row(t("volunteerNumber"), c.volunteerNumber, "number")}
      ${row(t("teams"), c.teams.join("、"), "teams")}${row(t("certHours"), t("hours", { n: c.totalHours }), "hours")}
      ${row(t("issuer"), c.issuer, "issuer")}${row(t("issuedAt"), fmtDate(c.issuedAt), "issued")}</dl>
    ${c.entries.length ? html`<div class="table-wrap"><table>
      <thead><tr>${[t("time"), t("navActivities"), t("teams"), t("certHours")].map((x) => html`<th scope="col">${x}</th>`)}</tr></thead>
      <tbody>${c.entries.map((e) => html`<tr><td>${e.date}</td><td>${e.activityTitle}</td><td>${e.team}</td>
        <td class="num">${e.hours}</td></tr>`)}</tbody></table></div>` : null}
    <p>${t("verifyAt")}：<a href=${link} data-cert="verify">${link}</a></p>
    <p class="actions no-print"><button type="button" onClick=${() => window.print()}>${t("printCert")}</button></p></section>`;
}

// #/verify/<code>: anyone holding the link sees the certificate as issued (verifyCertificate).
function VerifyPage({ code }) {
  const [answer, setAnswer] = useState(null); // { c } once the server has answered
  const [error, setError] = useState(null);
  useEffect(() => { gql(VERIFY, { code }).then((data) => setAnswer({ c: data.verifyCertificate }), setError); }, [code]);
  if (error) return html`<p class="error">${errorText(error)}</p>`;
  if (!answer) return html`<p>${t("loading")}</p>`;
  return html`<h1>${t("verifyTitle")}</h1>${answer.c ? html`<${Certificate} c=${answer.c} />` : html`<p class="error">${t("certNotFound")}</p>`}`;
}

// Issue a certificate: the button waits for the answer, which is shown under it as a page.
function IssueCertificate() {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState("");
  const [cert, setCert] = useState(null);
  const issue = async () => {
    setBusy(true);
    try {
      const { issueCertificate: c } = await gql(ISSUE);
      setResult(t("certIssued", { serial: c.serialNumber, code: c.code }));
      setCert(c);
    } catch (error) { setResult(errorText(error)); }
    setBusy(false);
  };
  return html`<button type="button" disabled=${busy} onClick=${issue}>${t("issueCert")}</button>
    ${status(result)}${cert ? html`<${Certificate} key=${cert.code} c=${cert} />` : null}`;
}

// A new account (nothing signed up, no team, no hours) is told what to do next first.
const firstRun = () => html`<section class="panel first-run" aria-labelledby="first-h">
  <h2 id="first-h">${t("welcome")}</h2><p>${t("welcomeLead")}</p>
  <ol><li><a href="#/activities">${t("step1")}</a></li><li><a href="#/help">${t("step2")}</a></li>
    <li><a href="#/forum">${t("step3")}</a></li><li>${t("step4")}</li></ol>
  <p><a class="button primary" href="#/activities">${t("goActivities")}</a></p></section>`;

function MePage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { gql(ME).then(setData, setError); }, []);
  if (error) return html`<h1>${t("me")}</h1><p class="error">${errorText(error)}</p>`;
  if (!data) return html`<p>${t("loading")}</p>`;
  const { me, reminderSettings, calendarFeed } = data;
  const signUps = nodes(me.signUps);
  const teams = nodes(me.teams);
  const stat = (label, value, key) => html`<div class="stat"><dt>${label}</dt><dd data-stat=${key}>${value}</dd></div>`;
  return html`<h1>${t("me")}</h1>
    ${!signUps.length && !teams.length && !me.approvedHours ? firstRun() : null}
    <section class="panel" aria-labelledby="me-name"><h2 id="me-name">${me.displayName}</h2>
      <dl class="stats">
        ${stat(t("volunteerNumber"), me.volunteerNumber, "number")}
        ${stat(t("approvedHours"), t("hours", { n: me.approvedHours }), "hours")}
        ${stat(t("star"), `${"★".repeat(me.starLevel) || "☆"} ${me.starLevel}`, "star")}
        ${stat(t("points"), me.points, "points")}
        ${stat(t("district"), me.district, "district")}</dl>
      <${IssueCertificate} /></section>
    <section class="panel"><h2>${t("mySchedule")}</h2>
      ${signUps.some((s) => s.status !== "CANCELLED") ? html`<${Schedule} signUps=${signUps} />`
        : html`<p>${t("noSignUpsYet")} <a href="#/activities">${t("goActivities")}</a></p>`}</section>
    <${Expiring} qualifications=${me.qualifications} />
    <section class="panel"><h2>${t("myHours")}</h2><${HoursList} records=${nodes(me.serviceRecords)} /></section>
    <${Reminders} settings=${reminderSettings} /><${Calendar} feed=${calendarFeed} />
    <section class="panel"><h2>${t("teams")}</h2>
      ${teams.length ? html`<ul class="plain">${teams.map((team) => html`<li key=${team.id}>${team.name}</li>`)}</ul>`
        : html`<p>${t("empty")}</p>`}</section>`;
}

export function render(main, { name, params }) {
  if (name === "verify") return page(main, html`<${VerifyPage} code=${params[0] || ""} />`);
  if (!session.token) { go("#/login"); return null; }
  return page(main, html`<${MePage} />`);
}
