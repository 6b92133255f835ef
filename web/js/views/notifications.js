// Notifications (#/notifications): newest first; opening the page marks them read, and the
// header's unread count follows. An organiser's message (ORGANISER_MESSAGE) shows the replies I
// wrote and a box to reply to the organiser.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import "../strings/care.js";
import { html, page, useEffect, useState } from "../ui.js";
import { refreshUnread } from "../app.js";

const LIST = `query Notifications { notifications(first: 50) { edges { node { id kind title body read createdAt
  subject { ... on OrganiserMessage { id replies(first: 20) { edges { node { body createdAt } } } } } } } } }`;
const REPLY = `mutation ReplyToOrganiser($id: ID!, $body: String!) { replyToOrganiserMessage(messageId: $id, body: $body) { body createdAt } }`;

export function Reply({ message }) {
  const [replies, setReplies] = useState(nodes(message.replies));
  const [result, setResult] = useState("");
  const send = async (event) => {
    event.preventDefault();
    const box = event.target.elements.body;
    if (!box.value.trim()) { setResult(t("errRequired")); return; }
    try {
      const { replyToOrganiserMessage: r } = await gql(REPLY, { id: message.id, body: box.value.trim() });
      setReplies([...replies, r]);
      box.value = "";
      setResult(t("replySent"));
    } catch (e) { setResult(errorText(e)); }
  };
  const boxId = `reply-${message.id}`;
  return html`${replies.length ? html`<ul class="plain replies">${replies.map((r) => html`<li><span class="meta">${t("myReply")} · ${fmtDate(r.createdAt)}</span>
      <p class="prose">${r.body}</p></li>`)}</ul>` : null}
    <form class="reply-organiser" novalidate onSubmit=${send}><div class="field"><label for=${boxId}>${t("replyOrganiser")}</label>
      <textarea id=${boxId} name="body" rows="2" maxlength="2000"></textarea></div>
      <button type="submit">${t("reply")}</button></form><p class="result" role="status" aria-live="polite">${result}</p>`;
}
const MARK_READ = `mutation MarkRead { markNotificationsRead }`;

function NotificationsPage() {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    (async () => {
      try {
        setItems(nodes((await gql(LIST)).notifications));
        await gql(MARK_READ);
        refreshUnread();
      } catch (e) { setError(e); }
    })();
  }, []);
  if (error) return html`<h1>${t("navNotifications")}</h1><p class="error">${errorText(error)}</p>`;
  if (!items) return html`<h1>${t("navNotifications")}</h1><p>${t("loading")}</p>`;
  return html`<h1>${t("navNotifications")}</h1>
    ${items.length ? html`<ul class="plain">${items.map((n) => html`<li class=${`card${n.read ? "" : " unread"}`} data-id=${n.id}>
      <h2>${n.read ? null : html`<span class="badge">${t("unread")}</span> `}${n.title}</h2>
      <p class="meta">${fmtDate(n.createdAt)}</p><p class="prose">${n.body}</p>
      ${n.kind === "ORGANISER_MESSAGE" && n.subject?.id ? html`<${Reply} message=${n.subject} />` : null}</li>`)}</ul>` : html`<p>${t("empty")}</p>`}`;
}

export function render(main) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, html`<${NotificationsPage} />`);
}
