// The activity page's care panels (docs/care.md): hand-over of my place, the change log, and
// for admins messages to participants (with replies) and who lapses before the shift. Each
// panel asks for its own data; one the server refuses is left out.
import { gql, nodes } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import "../strings/care.js";
import { html, sendTitled, useEffect, useState } from "../ui.js";

const CHANGES = `query ActivityChanges($id: ID!) { activityChanges(activityId: $id, first: 100) {
  edges { node { field before after createdAt actor { displayName } } } } }`;
const SWAPS = `query ActivitySwaps($id: ID!) { shiftSwaps(activityId: $id, first: 20) { edges { node {
  id status toWaitlist createdAt decisionReason giver { id displayName } receiver { id displayName } taker { id displayName } } } } }`;
const AWAITING = `query SwapsAwaiting { shiftSwapsAwaitingApproval(first: 50) { edges { node {
  id activity { id title startsAt } giver { displayName } taker { displayName } } } } }`;
const DECIDE_SWAP = `mutation DecideSwap($id: ID!, $approve: Boolean!, $reason: String) {
  decideShiftSwap(id: $id, approve: $approve, reason: $reason) { id status } }`;
const APPROVAL = `query SwapApproval($id: ID!) { shiftSwapApprovalRequired(activityId: $id) }`;
const SET_APPROVAL = `mutation SetSwapApproval($id: ID!, $required: Boolean!) { setShiftSwapApproval(activityId: $id, required: $required) { id } }`;
const RECEIVERS = `query SwapReceivers($id: ID!) { node(id: $id) { ... on Team { members(first: 100) { edges { node { id displayName } } } } } }`;
const OFFER_SWAP = `mutation OfferSwap($id: ID!, $to: ID) { offerShiftSwap(activityId: $id, toVolunteerId: $to) { id status } }`;
const ACCEPT_SWAP = `mutation AcceptSwap($id: ID!) { acceptShiftSwap(id: $id) { id status } }`;
const DECLINE_SWAP = `mutation DeclineSwap($id: ID!) { declineShiftSwap(id: $id) { id status } }`;
const WITHDRAW_SWAP = `mutation WithdrawSwap($id: ID!) { withdrawShiftSwap(id: $id) { id status } }`;
const MESSAGES = `query ActivityMessages($id: ID!) { organiserMessages(activityId: $id, first: 20) { edges { node {
  id audience title body recipientCount createdAt sender { displayName }
  replies(first: 50) { edges { node { body createdAt author { displayName } } } } } } } }`;
const SEND_MESSAGE = `mutation SendMessage($id: ID!, $audience: MessageAudience!, $title: String!, $body: String!) {
  sendOrganiserMessage(activityId: $id, audience: $audience, title: $title, body: $body) { id recipientCount } }`;
const LAPSING = `query Lapsing($id: ID!) { lapsingQualifications(activityId: $id) {
  qualification expiresAt volunteer { displayName } renewingCourse { title } } }`;

const ISO = /^\d{4}-\d\d-\d\dT/;
// A status is shown by its localised name (ACT_DRAFT ...), not the enum value.
const value = (v, f) => (v == null || v === "" ? "—" : f === "status" ? t(`ACT_${v}`) : ISO.test(v) ? fmtDate(v) : v);

// Runs a query; null while loading, false when refused (the panel is then left out).
function useAsk(ask, deps) {
  const [data, setData] = useState(null);
  const load = () => ask().then(setData, () => setData(false));
  useEffect(() => { load(); }, deps);
  return [data, load];
}

function ChangeLog({ id }) {
  const [data] = useAsk(() => gql(CHANGES, { id }), [id]);
  const changes = data ? nodes(data.activityChanges) : [];
  if (!changes.length) return null;
  return html`<section class="panel" aria-labelledby="log-h"><h2 id="log-h">${t("changeLog")}</h2>
    <ul class="plain change-log">${changes.map((c) => html`<li data-change=${c.field}>
      <span class="meta">${fmtDate(c.createdAt)} · ${c.actor?.displayName || t("system")}</span>
      ${" "}<strong>${t(`chg_${c.field}`)}</strong>：<span>${value(c.before, c.field)}</span> → <span data-after>${value(c.after, c.field)}</span></li>`)}</ul></section>`;
}

const swapText = (s) => t("swapPending", { to: s.toWaitlist ? t("theWaitlist") : s.receiver?.displayName || "" });

function HandOver({ activity, me, reload }) {
  const [data, load] = useAsk(() => gql(SWAPS, { id: activity.id }), [activity.id]);
  const [receivers, setReceivers] = useState(null);
  const [result, setResult] = useState("");
  const mine = activity.mySignUp;
  const run = async (ask, done) => {
    try { await ask(); setResult(done); await load(); await reload(); } catch (e) { setResult(errorText(e)); }
  };
  const swaps = data ? nodes(data.shiftSwaps) : [];
  const open = swaps.filter((s) => s.status === "OPEN");
  const given = open.find((s) => s.giver?.id === me.id);
  const forMe = open.filter((s) => s.giver?.id !== me.id && (s.receiver?.id === me.id || (s.toWaitlist && mine?.status === "WAITLISTED")));
  // Mine (given or taken) waiting for the organiser, or, if my latest one was refused, why.
  const involved = (s) => s.giver?.id === me.id || s.taker?.id === me.id;
  const waiting = swaps.find((s) => s.status === "AWAITING_APPROVAL" && involved(s));
  const latest = swaps.find(involved);
  const refused = latest?.status === "REJECTED" ? latest : null;
  const canGive = mine?.status === "CONFIRMED" && !mine.checkedInAt && activity.status === "PUBLISHED" && !given && !waiting;
  if (!data || (!forMe.length && !given && !canGive && !waiting && !refused && !result)) return null;
  const offer = (event) => {
    event.preventDefault();
    const to = event.target.elements.to.value || null;
    run(() => gql(OFFER_SWAP, { id: activity.id, to }), t("swapOffered"));
  };
  const pick = async (event) => {
    if (!event.target.open || receivers) return;
    try {
      const answer = await gql(RECEIVERS, { id: activity.team.id });
      setReceivers(nodes(answer.node?.members).filter((v) => v.id !== me.id));
    } catch { setReceivers([]); }
  };
  return html`<section class="panel" aria-labelledby="swap-h"><h2 id="swap-h">${t("handOver")}</h2>
    ${forMe.map((s) => html`<div class="swap" data-swap=${s.id}><p>${t("swapForMe", { giver: s.giver?.displayName || "" })}</p>
      <div class="actions"><button class="primary" type="button" data-action="accept-swap" onClick=${() => run(() => gql(ACCEPT_SWAP, { id: s.id }), t("swapTaken"))}>${t("swapAccept")}</button>
      ${s.toWaitlist ? null : html`<button type="button" data-action="decline-swap" onClick=${() => run(() => gql(DECLINE_SWAP, { id: s.id }), t("swapDeclined"))}>${t("swapDecline")}</button>`}</div></div>`)}
    ${given ? html`<p data-swap=${given.id} data-status=${given.status}>${swapText(given)}</p>
      <button type="button" data-action="withdraw-swap" onClick=${() => run(() => gql(WITHDRAW_SWAP, { id: given.id }), t("swapWithdrawn"))}>${t("swapWithdraw")}</button>` : null}
    ${waiting ? html`<p data-swap=${waiting.id} data-status=${waiting.status}>${t("swapAwaiting")}</p>` : null}
    ${refused && !waiting ? html`<p data-swap=${refused.id} data-status=${refused.status}>${t("swapRejected", { reason: refused.decisionReason || "" })}</p>` : null}
    ${canGive ? html`<details onToggle=${pick}><summary>${t("handOverMine")}</summary>
      <form class="inline" onSubmit=${offer}><label for="swap-to">${t("swapTo")}</label>
        <select id="swap-to" name="to"><option value="">${t("theWaitlist")}</option>
          ${(receivers || []).map((v) => html`<option value=${v.id}>${v.displayName}</option>`)}</select>
        <button type="submit" data-action="offer-swap">${t("swapOffer")}</button></form></details>` : null}
    <p class="result" role="status" aria-live="polite">${result}</p></section>`;
}

// #/manage: accepted hand-overs on my teams' activities waiting for my decision; refusing needs a reason.
export function SwapApprovals() {
  const [data, load] = useAsk(() => gql(AWAITING), []);
  const [result, setResult] = useState("");
  if (data === false) return null;
  const decide = (s, approve) => async (event) => {
    event.preventDefault();
    const reason = approve ? null : event.target.elements.reason.value.trim();
    if (!approve && !reason) { setResult(t("reasonNeeded")); return; }
    try {
      await gql(DECIDE_SWAP, { id: s.id, approve, reason });
      setResult(t(approve ? "swapApproved" : "swapRefused", { taker: s.taker?.displayName || "", giver: s.giver?.displayName || "" }));
    } catch (e) { setResult(errorText(e)); }
    await load();
  };
  const swaps = data ? nodes(data.shiftSwapsAwaitingApproval) : [];
  return html`<section class="panel approvals" aria-labelledby="appr-h"><h2 id="appr-h">${t("approvals")}</h2>
    ${data && !swaps.length ? html`<p>${t("noApprovals")}</p>` : null}
    <ul class="plain">${swaps.map((s) => html`<li class="card" key=${s.id} data-swap=${s.id}>
      <p><a href=${`#/manage/${encodeURIComponent(s.activity.id)}`}>${s.activity.title}</a> · ${fmtDate(s.activity.startsAt)}</p>
      <p>${s.giver?.displayName || ""} → <strong>${s.taker?.displayName || ""}</strong></p>
      <form class="inline" novalidate onSubmit=${decide(s, false)}>
        <button class="primary" type="button" data-action="approve-swap" onClick=${decide(s, true)}>${t("approve")}</button>
        <label for=${`why-${s.id}`}>${t("refuseReason")}</label><input id=${`why-${s.id}`} name="reason" maxlength="500" />
        <button type="submit" data-action="refuse-swap">${t("refuse")}</button></form></li>`)}</ul>
    <p class="result" role="status" aria-live="polite">${result}</p></section>`;
}

// #/manage/<activity>: whether hand-overs on it wait for the organiser.
export function SwapApprovalSetting({ id }) {
  const [data, load] = useAsk(() => gql(APPROVAL, { id }), [id]);
  if (!data) return null;
  const change = async (event) => {
    try { await gql(SET_APPROVAL, { id, required: event.target.checked }); } catch { /* the box shows the server's value */ }
    await load();
  };
  return html`<p><label class="check"><input type="checkbox" data-action="swap-approval" checked=${data.shiftSwapApprovalRequired}
    onChange=${change} /> ${t("needApproval")}</label></p>`;
}

function Messages({ id }) {
  const [data, load] = useAsk(() => gql(MESSAGES, { id }), [id]);
  const [result, setResult] = useState("");
  if (data === false) return null;
  const send = sendTitled(async (title, body, form) => (await gql(SEND_MESSAGE, {
    id, audience: form.elements.audience.value, title, body })).sendOrganiserMessage, setResult, load);
  const messages = data ? nodes(data.organiserMessages) : [];
  return html`<section class="panel" aria-labelledby="msg-h"><h2 id="msg-h">${t("messageParticipants")}</h2>
    <form novalidate onSubmit=${send}>
      <div class="field"><label for="msg-audience">${t("audience")}</label><select id="msg-audience" name="audience">
        ${["CONFIRMED", "WAITLISTED", "CHECKED_IN", "SIGNED_UP"].map((a) => html`<option value=${a}>${t(`aud${a}`)}</option>`)}</select></div>
      <div class="field"><label for="msg-title">${t("title")}</label><input id="msg-title" name="title" maxlength="200" /></div>
      <div class="field"><label for="msg-body">${t("body")}</label><textarea id="msg-body" name="body" rows="3" maxlength="2000"></textarea></div>
      <button class="primary" type="submit" data-action="send-message">${t("send")}</button></form>
    <p class="result" role="status" aria-live="polite">${result}</p>
    ${messages.map((m) => html`<article class="card" data-message-id=${m.id}><h3>${m.title}</h3>
      <p class="meta">${fmtDate(m.createdAt)} · ${t(`aud${m.audience}`)} · ${t("recipients", { n: m.recipientCount })}</p>
      <p class="prose">${m.body}</p>
      <ul class="plain replies">${nodes(m.replies).map((r) => html`<li><strong>${r.author?.displayName || ""}</strong>
        <span class="meta"> ${fmtDate(r.createdAt)}</span><p class="prose">${r.body}</p></li>`)}</ul></article>`)}</section>`;
}

function Lapsing({ id }) {
  const [data] = useAsk(() => gql(LAPSING, { id }), [id]);
  if (!data) return null;
  const rows = data.lapsingQualifications;
  return html`<section class="panel" aria-labelledby="lapse-h"><h2 id="lapse-h">${t("lapsing")}</h2>
    ${rows.length ? html`<ul class="plain lapsing">${rows.map((r) => html`<li>${r.volunteer?.displayName || ""} · ${r.qualification}
      · ${t("expiresOn", { date: fmtDate(r.expiresAt) })}${r.renewingCourse ? ` · ${t("renewWith", { course: r.renewingCourse.title })}` : ""}</li>`)}</ul>`
      : html`<p>${t("noneLapsing")}</p>`}</section>`;
}

export function ActivityCare({ activity, me, reload }) {
  if (!me) return null;
  return html`${activity.viewerCanManage ? html`<${Lapsing} id=${activity.id} /><${Messages} id=${activity.id} />`
      : html`<${HandOver} activity=${activity} me=${me} reload=${reload} />`}
    ${activity.mySignUp || activity.viewerCanManage ? html`<${ChangeLog} id=${activity.id} />` : null}`;
}
