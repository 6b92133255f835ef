// Notifications (#/notifications): newest first; opening the page marks them read, and the
// header's unread count follows.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { html, page, useEffect, useState } from "../ui.js";
import { refreshUnread } from "../app.js";

const LIST = `query Notifications { notifications(first: 50) { edges { node { id kind title body read createdAt } } } }`;
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
      <p class="meta">${fmtDate(n.createdAt)}</p><p class="prose">${n.body}</p></li>`)}</ul>` : html`<p>${t("empty")}</p>`}`;
}

export function render(main) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, html`<${NotificationsPage} />`);
}
