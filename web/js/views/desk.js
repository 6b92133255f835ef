// Online service desk (#/desk, #/desk/<ticket id>): a volunteer asks the platform staff or a
// team's admins and sees the answers arrive live; staff see their queue. What is typed is kept
// as a server draft (drafts.js) until it is sent.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import "../strings/desk.js";
import { useDraft } from "../drafts.js";
import { subscribe } from "../ws.js";
import { html, page, useEffect, useState } from "../ui.js";

const TICKET_FIELDS = "id subject status createdAt lastMessageAt firstReplyDueAt slaBreached opener { displayName } team { name }";
const MESSAGE_FIELDS = "id body attachmentUrls fromStaff authorName createdAt";
const DESK = `query Desk { myServiceTickets(first: 30) { edges { node { ${TICKET_FIELDS} } } }
  me { isPlatformAdmin teams(first: 50) { edges { node { id name viewerIsAdmin } } } } }`;
const QUEUE = `query Queue($team: ID) { serviceDeskQueue(teamId: $team, first: 50) { edges { node { ${TICKET_FIELDS} } } } }`;
const OPEN = `mutation OpenTicket($subject: String!, $body: String!, $client: String!, $team: ID, $urls: [String!], $draft: String) {
  openServiceTicket(subject: $subject, body: $body, clientId: $client, teamId: $team, attachmentUrls: $urls, draftKey: $draft) { id } }`;
const TICKET = `query Ticket($id: ID!) { serviceTicket(id: $id) { ${TICKET_FIELDS} firstReplyAt
  messages(first: 100) { edges { node { ${MESSAGE_FIELDS} } } } } }`;
const UPDATES = `subscription TicketUpdates($id: ID!) { serviceTicketUpdates(ticketId: $id) { status message { ${MESSAGE_FIELDS} } } }`;
const POST = `mutation PostTicketMessage($id: ID!, $body: String!, $client: String!, $urls: [String!], $draft: String) {
  postServiceTicketMessage(ticketId: $id, body: $body, clientId: $client, attachmentUrls: $urls, draftKey: $draft) { ${MESSAGE_FIELDS} } }`;
const RESOLVE = `mutation ResolveTicket($id: ID!) { resolveServiceTicket(ticketId: $id) { status } }`;

const NEW_KEY = "ticket:new";
const draftKey = (id) => `ticket:${id}`.replace(/[^A-Za-z0-9_.:/-]/g, "_");
const clientId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);
const urls = (text) => text.split(/\s+/).filter(Boolean);

function TicketRow({ ticket, staff }) {
  return html`<li class="card" data-id=${ticket.id} data-status=${ticket.status}>
    <h3><a href=${`#/desk/${encodeURIComponent(ticket.id)}`}>${ticket.subject}</a>
      ${" "}<span class="badge">${t(`ticket${ticket.status}`)}</span>
      ${ticket.slaBreached && ticket.status === "OPEN" ? html` <span class="badge urgent">${t("slaBreached")}</span>` : null}</h3>
    <p class="meta">${fmtDate(ticket.lastMessageAt)} · ${ticket.team ? ticket.team.name : t("deskPlatform")}
      ${staff ? ` · ${ticket.opener?.displayName || ""}` : ""}</p></li>`;
}

function OpenForm({ teams }) {
  const { input, status, draft } = useDraft(NEW_KEY);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const subject = form.elements.subject.value.trim();
    const body = form.elements.body.value.trim();
    if (!subject || !body) { setError(t("errRequired")); return; }
    setBusy(true);
    try {
      const { openServiceTicket } = await gql(OPEN, { subject, body, client: clientId(),
        team: form.elements.team.value || null, urls: urls(form.elements.urls.value), draft: NEW_KEY });
      draft.current?.clear();
      location.hash = `#/desk/${encodeURIComponent(openServiceTicket.id)}`;
    } catch (e) { setError(errorText(e)); setBusy(false); }
  };
  return html`<form class="panel desk-open" novalidate onSubmit=${submit}>
    <h2>${t("deskAsk")}</h2>
    <div class="field"><label for="desk-team">${t("deskTo")}</label>
      <select id="desk-team" name="team"><option value="">${t("deskPlatform")}</option>
        ${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select></div>
    <div class="field"><label for="desk-subject">${t("deskSubject")}</label><input id="desk-subject" name="subject" maxlength="200" required /></div>
    <div class="field"><label for="desk-body">${t("deskMessage")}</label>
      <textarea id="desk-body" name="body" rows="4" maxlength="4000" required ref=${input}></textarea>
      <p class="hint" role="status" ref=${status}></p></div>
    <div class="field"><label for="desk-urls">${t("deskAttachments")}</label>
      <input id="desk-urls" name="urls" placeholder="https://…" aria-describedby="desk-urls-hint" />
      <p class="hint" id="desk-urls-hint">${t("deskAttachmentsHint")}</p></div>
    <p class="error" role="alert">${error}</p>
    <button class="primary" type="submit" disabled=${busy}>${t("deskSend")}</button></form>`;
}

function Queue({ title, team }) {
  const [tickets, setTickets] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    gql(QUEUE, { team }).then((data) => setTickets(nodes(data.serviceDeskQueue)), setError);
  }, [team]);
  return html`<section class="desk-queue" data-team=${team || "platform"}><h2>${title}</h2>
    ${error ? html`<p class="error">${errorText(error)}</p>` : !tickets ? html`<p>${t("loading")}</p>`
      : tickets.length ? html`<ul class="plain">${tickets.map((ticket) => html`<${TicketRow} key=${ticket.id} ticket=${ticket} staff=${true} />`)}</ul>`
        : html`<p class="empty">${t("empty")}</p>`}</section>`;
}

function DeskPage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { gql(DESK).then(setData, setError); }, []);
  if (error) return html`<h1>${t("navDesk")}</h1><p class="error">${errorText(error)}</p>`;
  if (!data) return html`<h1>${t("navDesk")}</h1><p>${t("loading")}</p>`;
  const teams = nodes(data.me?.teams);
  const mine = nodes(data.myServiceTickets);
  return html`<h1>${t("navDesk")}</h1><p>${t("deskIntro")}</p>
    <${OpenForm} teams=${teams} />
    <section class="desk-mine"><h2>${t("deskMine")}</h2>
      ${mine.length ? html`<ul class="plain">${mine.map((ticket) => html`<${TicketRow} key=${ticket.id} ticket=${ticket} />`)}</ul>`
        : html`<p class="empty">${t("empty")}</p>`}</section>
    ${data.me?.isPlatformAdmin ? html`<${Queue} title=${t("deskQueuePlatform")} team=${null} />` : null}
    ${teams.filter((team) => team.viewerIsAdmin).map((team) => html`<${Queue} key=${team.id}
      title=${t("deskQueueTeam", { name: team.name })} team=${team.id} />`)}`;
}

function Message({ message }) {
  return html`<li class=${`card${message.fromStaff ? " staff" : ""}`} data-id=${message.id} data-staff=${String(message.fromStaff)}>
    <p class="meta">${message.authorName}${message.fromStaff ? ` · ${t("deskStaff")}` : ""} · ${fmtDate(message.createdAt)}</p>
    <p class="prose">${message.body}</p>
    ${message.attachmentUrls.length ? html`<ul class="attachments">${message.attachmentUrls.map((url) => html`<li>
      <a href=${url} rel="noopener noreferrer nofollow" target="_blank">${url}</a></li>`)}</ul>` : null}</li>`;
}

function TicketPage({ id }) {
  const [ticket, setTicket] = useState(null);
  const [messages, setMessages] = useState([]);
  const [error, setError] = useState(null);
  const [sendError, setSendError] = useState("");
  const [busy, setBusy] = useState(false);
  const { input, status, draft } = useDraft(draftKey(id));
  const add = (message) => setMessages((list) => (list.some((m) => m.id === message.id) ? list : [...list, message]));
  useEffect(() => {
    let gone = false;
    // Subscribe before reading: a reply written while the page loads arrives one way or the
    // other (both, at worst: `add` keeps one per id), instead of falling between the two.
    const stop = subscribe(UPDATES, { id }, { next: ({ data: live }) => {
      const update = live?.serviceTicketUpdates;
      if (!update) return;
      setTicket((current) => current && { ...current, status: update.status });
      if (update.message) add(update.message);
    } });
    gql(TICKET, { id }).then((data) => {
      if (gone) return;
      setTicket(data.serviceTicket);
      nodes(data.serviceTicket.messages).forEach(add);
    }, setError);
    return () => { gone = true; stop(); };
  }, [id]);
  const send = async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = form.elements.body.value.trim();
    if (!body) { setSendError(t("errRequired")); return; }
    setBusy(true);
    try {
      const { postServiceTicketMessage } = await gql(POST, { id, body, client: clientId(),
        urls: urls(form.elements.urls.value), draft: draftKey(id) });
      draft.current?.clear();
      form.reset();
      setSendError("");
      add(postServiceTicketMessage);
    } catch (e) { setSendError(errorText(e)); }
    setBusy(false);
  };
  const resolve = async () => {
    try { setTicket({ ...ticket, status: (await gql(RESOLVE, { id })).resolveServiceTicket.status }); }
    catch (e) { setSendError(errorText(e)); }
  };
  if (error) return html`<h1>${t("navDesk")}</h1><p class="error">${errorText(error)}</p>`;
  return html`<p><a href="#/desk">${t("deskBack")}</a></p>
    ${ticket ? html`<h1>${ticket.subject}</h1>
      <p class="meta"><span class="badge" data-ticket-status=${ticket.status}>${t(`ticket${ticket.status}`)}</span>
        ${" "}· ${ticket.team ? ticket.team.name : t("deskPlatform")} · ${t("deskDue", { at: fmtDate(ticket.firstReplyDueAt) })}</p>`
      : html`<p>${t("loading")}</p>`}
    <ul class="plain desk-messages" aria-live="polite">${messages.map((message) => html`<${Message} key=${message.id} message=${message} />`)}</ul>
    <form class="panel desk-reply" novalidate onSubmit=${send}>
      <div class="field"><label for="desk-reply">${t("deskReply")}</label>
        <textarea id="desk-reply" name="body" rows="3" maxlength="4000" ref=${input}></textarea>
        <p class="hint" role="status" ref=${status}></p></div>
      <div class="field"><label for="desk-reply-urls">${t("deskAttachments")}</label>
        <input id="desk-reply-urls" name="urls" placeholder="https://…" /></div>
      <p class="error" role="alert">${sendError}</p>
      <div class="actions"><button class="primary" type="submit" disabled=${busy}>${t("deskSend")}</button>
        ${ticket && ticket.status !== "RESOLVED" ? html`<button type="button" data-action="resolve" onClick=${resolve}>${t("deskResolve")}</button>` : null}</div>
    </form>`;
}

export function render(main, { params }) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, params[0] ? html`<${TicketPage} id=${params[0]} />` : html`<${DeskPage} />`);
}
