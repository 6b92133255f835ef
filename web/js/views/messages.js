// Team messages (#/messages): the organiser messages I received (new ones arrive live over
// notificationReceived), those unread counted and marked, then read, each with my replies and a reply box; for each team I administer, a form to write to its
// members (audience TEAM) and the messages sent to it with every reply (docs/care.md).
import { gql, nodes, session } from "../api.js";
import { fmtDate, t } from "../i18n.js";
import "../strings/care.js";
import { html, page, sendTitled, shown, useEffect, useState } from "../ui.js";
import { loadMe, refreshUnread } from "../app.js";
import { subscribe } from "../ws.js";
import { Reply } from "./notifications.js";

const RECEIVED = `query MyOrganiserMessages { notifications(first: 50) { edges { node { id kind title body read createdAt
  subject { ... on OrganiserMessage { id replies(first: 20) { edges { node { body createdAt } } } } } } } } }`;
const LIVE = `subscription NewOrganiserMessages { notificationReceived { id kind title body read createdAt
  subject { ... on OrganiserMessage { id replies(first: 20) { edges { node { body createdAt } } } } } } }`;
const MARK = `mutation MarkMessagesRead($ids: [ID!]) { markNotificationsRead(ids: $ids) }`;
const TEAMS = `query MessageTeams { me { id teams(first: 50) { edges { node { id name viewerIsAdmin } } } } }`;
const SENT = `query TeamMessages($team: ID!) { organiserMessages(teamId: $team, first: 20) { edges { node {
  id audience title body recipientCount createdAt sender { displayName }
  replies(first: 50) { edges { node { body createdAt author { displayName } } } } } } } }`;
const SEND = `mutation SendTeamMessage($team: ID!, $title: String!, $body: String!) {
  sendOrganiserMessage(teamId: $team, audience: TEAM, title: $title, body: $body) { id recipientCount } }`;

function Received() {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const [unread, setUnread] = useState(0);
  useEffect(() => {
    (async () => {
      try {
        const mine = nodes((await gql(RECEIVED)).notifications).filter((n) => n.kind === "ORGANISER_MESSAGE");
        const fresh = mine.filter((n) => !n.read).map((n) => n.id);
        setItems(mine);
        setUnread(fresh.length);
        if (fresh.length) { await gql(MARK, { ids: fresh }); refreshUnread(); }
      } catch (e) { setError(e); }
    })();
  }, []);
  // A message arriving while the page is open is shown unread at the top (read on the next visit).
  useEffect(() => subscribe(LIVE, {}, { next: ({ data }) => {
    const n = data?.notificationReceived;
    if (n?.kind !== "ORGANISER_MESSAGE") return;
    setItems((list) => (list && !list.some((x) => x.id === n.id) ? [n, ...list] : list));
    setUnread((count) => count + 1);
    refreshUnread();
  } }), []);
  return html`<section class="panel" aria-labelledby="got-h"><h2 id="got-h">${t("receivedMessages")}
      ${unread ? html` <span class="count" data-unread-messages=${unread}>${t("messagesUnread", { n: unread })}</span>` : null}</h2>
    ${shown(error, items, () => html`<ul class="plain">${items.map((n) => html`<li class=${`card${n.read ? "" : " unread"}`} key=${n.id} data-id=${n.id}>
      <h3>${n.read ? null : html`<span class="badge">${t("unread")}</span> `}${n.title}</h3>
      <p class="meta">${fmtDate(n.createdAt)}</p><p class="prose">${n.body}</p>
      ${n.subject?.id ? html`<${Reply} message=${n.subject} />` : null}</li>`)}</ul>`)}</section>`;
}

function TeamMessages({ team }) {
  const [data, setData] = useState(null);
  const [result, setResult] = useState("");
  const load = () => gql(SENT, { team: team.id }).then(setData, () => setData(false));
  useEffect(() => { load(); }, [team.id]);
  const send = sendTitled(async (title, body) => (await gql(SEND, { team: team.id, title, body })).sendOrganiserMessage,
    setResult, load);
  const id = `tm-${team.id}`;
  return html`<section class="panel" aria-labelledby=${id} data-team=${team.id}><h2 id=${id}>${t("messageTeam")} · ${team.name}</h2>
    <form novalidate onSubmit=${send}>
      <div class="field"><label for=${`${id}-title`}>${t("title")}</label><input id=${`${id}-title`} name="title" maxlength="200" /></div>
      <div class="field"><label for=${`${id}-body`}>${t("body")}</label><textarea id=${`${id}-body`} name="body" rows="3" maxlength="2000"></textarea></div>
      <button class="primary" type="submit" data-action="send-team-message">${t("send")}</button></form>
    <p class="result" role="status" aria-live="polite">${result}</p>
    ${(data ? nodes(data.organiserMessages) : []).map((m) => html`<article class="card" data-message-id=${m.id}><h3>${m.title}</h3>
      <p class="meta">${fmtDate(m.createdAt)} · ${t(`aud${m.audience}`)} · ${t("recipients", { n: m.recipientCount })}</p>
      <p class="prose">${m.body}</p>
      <ul class="plain replies">${nodes(m.replies).map((r) => html`<li><strong>${r.author?.displayName || ""}</strong>
        <span class="meta"> ${fmtDate(r.createdAt)}</span><p class="prose">${r.body}</p></li>`)}</ul></article>`)}</section>`;
}

function MessagesPage() {
  const [teams, setTeams] = useState([]);
  useEffect(() => {
    loadMe().then(() => gql(TEAMS)).then((d) => setTeams(nodes(d.me?.teams).filter((team) => team.viewerIsAdmin)), () => {});
  }, []);
  return html`<h1>${t("navMessages")}</h1><${Received} />${teams.map((team) => html`<${TeamMessages} key=${team.id} team=${team} />`)}`;
}

export function render(main) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, html`<${MessagesPage} />`);
}
