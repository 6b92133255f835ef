// My feed (#/feed): new activities of my teams, their experience posts, open help requests in
// my district, replies to my threads, and announcements (pinned ones first), newest first.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { html, page, useEffect, useState } from "../ui.js";

const FEED = `query Feed { feed(first: 40) { edges { node { __typename
  ... on Activity { id title startsAt district team { name } }
  ... on Announcement { id title body pinned publishedAt announcingTeam: team { name } }
  ... on ExperiencePost { id title body createdAt author { displayName } activity { id title } }
  ... on HelpRequest { id title district createdAt urgency }
  ... on Post { id body createdAt author { displayName } thread { id title } } } } } }`;

const link = (href, text) => html`<a href=${href}>${text}</a>`;

function Item({ item }) {
  const kind = item.__typename;
  let title = null;
  let meta = "";
  let body = "";
  if (kind === "Activity") {
    title = link(`#/activities/${encodeURIComponent(item.id)}`, item.title);
    meta = `${fmtDate(item.startsAt)} · ${item.district} · ${item.team.name}`;
  } else if (kind === "Announcement") {
    title = link("#/announcements", item.title);
    meta = `${fmtDate(item.publishedAt)}${item.announcingTeam ? ` · ${item.announcingTeam.name}` : ""}`;
    body = item.body;
  } else if (kind === "ExperiencePost") {
    title = link(`#/activities/${encodeURIComponent(item.activity.id)}`, item.title);
    meta = `${fmtDate(item.createdAt)} · ${item.author.displayName} · ${item.activity.title}`;
    body = item.body;
  } else if (kind === "HelpRequest") {
    title = link("#/help", item.title);
    meta = `${fmtDate(item.createdAt)} · ${item.district}`;
  } else if (kind === "Post") {
    title = link(`#/forum/t/${encodeURIComponent(item.thread.id)}`, item.thread.title);
    meta = `${fmtDate(item.createdAt)} · ${item.author.displayName}`;
    body = item.body;
  }
  return html`<li class=${`card${item.pinned ? " pinned" : ""}`} data-kind=${kind}>
    <p class="meta"><span class="badge">${t(`feed${kind}`)}</span>${item.pinned ? html` <span class="badge">${t("pinned")}</span>` : null}</p>
    <h2>${title}</h2><p class="meta">${meta}</p>${body ? html`<p class="prose">${body}</p>` : null}</li>`;
}

function FeedPage() {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { gql(FEED).then((d) => setItems(nodes(d.feed)), setError); }, []);
  if (error) return html`<h1>${t("navFeed")}</h1><p class="error">${errorText(error)}</p>`;
  if (!items) return html`<h1>${t("navFeed")}</h1><p>${t("loading")}</p>`;
  return html`<h1>${t("navFeed")}</h1>${items.length ? html`<ul class="plain feed">${items.map((item) => html`<${Item} item=${item} />`)}</ul>`
    : html`<p>${t("empty")} <a href="#/activities">${t("goActivities")}</a></p>`}`;
}

export function render(main) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, html`<${FeedPage} />`);
}
