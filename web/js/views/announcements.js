// Announcements (#/announcements, 公告): everyone reads the published ones, pinned first, then
// newest, each marked with where it is from (the platform or a team). Platform admins and team
// admins also get a form to write one (to the platform, or a team they administer), save it as a
// draft or publish it, and see the drafts they may publish (every draft for a platform admin, their
// teams' for a team admin); on what they may change they publish a draft and pin or unpin.
// The title and body keep a server draft while typed (drafts.js), as forum posts do.
import { gql, nodes, session } from "../api.js";
import { useDraft } from "../drafts.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { Field, html, page, useEffect, useForm, useOnce, useRef, useState } from "../ui.js";
import "../strings/announcements.js";

const FIELDS = `id title body attachments pinned status publishedAt team { id name viewerIsAdmin } author { displayName }`;
const PUBLISHED = `query Announcements($after: String) { announcements(first: 20, after: $after, status: PUBLISHED) {
  pageInfo { hasNextPage endCursor } edges { node { ${FIELDS} } } } }`;
const DRAFTS = `query AnnouncementDrafts { announcements(first: 50, status: DRAFT) { edges { node { ${FIELDS} } } } }`;
// Where I may announce: the platform (platform admins) and the teams I administer.
const SCOPES = `query AnnouncementScopes { me { id isPlatformAdmin teams(first: 50, role: ADMIN) { edges { node { id name viewerIsAdmin } } } } }`;
const CREATE = `mutation CreateAnnouncement($input: AnnouncementInput!) { createAnnouncement(input: $input) { id title status } }`;
const PUBLISH = `mutation PublishAnnouncement($id: ID!) { publishAnnouncement(id: $id) { id title status } }`;
const PIN = `mutation PinAnnouncement($id: ID!, $pinned: Boolean!) { pinAnnouncement(id: $id, pinned: $pinned) { id title pinned } }`;
const BODY_KEY = "announcement:new";
const TITLE_KEY = "announcement-title:new";
const NO_SCOPES = { platform: false, teams: [] };

function Actions({ item, reload, say }) {
  const [busy, once] = useOnce();
  const act = (write, done) => once(async () => {
    try {
      const { title } = await write();
      await reload();
      say({ ok: t(done, { title }) });
    } catch (e) { say({ error: errorText(e) }); }
  });
  const publish = act(async () => (await gql(PUBLISH, { id: item.id })).publishAnnouncement, "annPublished");
  const pin = act(async () => (await gql(PIN, { id: item.id, pinned: !item.pinned })).pinAnnouncement,
    item.pinned ? "annUnpinnedDone" : "annPinnedDone");
  return html`<div class="actions">
    ${item.status === "DRAFT" ? html`<button class="primary" type="button" data-action="publish" disabled=${busy}
      onClick=${publish}>${t("annPublish")}</button>` : null}
    <button type="button" data-action=${item.pinned ? "unpin" : "pin"} disabled=${busy} onClick=${pin}>${t(item.pinned ? "unpin" : "pin")}</button></div>`;
}

function Card({ item, heading, manage, reload, say }) {
  const Heading = heading;
  const draft = item.status === "DRAFT";
  return html`<li class=${`card${item.pinned ? " pinned" : ""}`} data-announcement=${item.id} data-status=${item.status}>
    <p class="meta"><span class="badge" data-scope>${item.team ? item.team.name : t("annPlatformBadge")}</span>
      ${item.pinned ? html` <span class="badge">${t("pinned")}</span>` : null}${draft ? html` <span class="badge">${t("annDraftBadge")}</span>` : null}</p>
    <${Heading}>${item.title}<//>
    <p class="meta">${draft ? t("annWrittenAt", { date: fmtDate(item.publishedAt) }) : fmtDate(item.publishedAt)} · ${item.author.displayName}</p>
    <p class="prose">${item.body}</p>
    ${item.attachments.length ? html`<ul class="plain attachments">${item.attachments.map((url, i) => html`<li>
      <a href=${url} rel="noopener noreferrer" target="_blank">${t("annAttachment", { n: i + 1 })}</a></li>`)}</ul>` : null}
    ${manage ? html`<${Actions} item=${item} reload=${reload} say=${say} />` : null}</li>`;
}

// The form: scope, title, body, attachments, pinned; two submit buttons (a draft, or now).
function Write({ scopes, reload }) {
  const form = useForm();
  const status = useRef(null);
  const title = useDraft(TITLE_KEY, status);
  const body = useDraft(BODY_KEY, status);
  const [, once] = useOnce();
  const send = form.submit(async (f) => {
    const publish = f.dataset.intent === "publish";
    const v = (name) => f.elements[name].value;
    const attachments = v("attachments").split("\n").map((s) => s.trim()).filter(Boolean);
    const { createAnnouncement } = await gql(CREATE, { input: { teamId: v("teamId") || null, title: v("title"),
      body: v("body"), attachments, pinned: f.elements.pinned.checked, publish, draftKey: publish ? BODY_KEY : null } });
    // Published, the server dropped the body's draft with it; a saved draft is now the announcement's.
    if (publish) body.draft.current?.clear(); else body.draft.current?.discard();
    title.draft.current?.discard();
    f.reset();
    await reload();
    return t(publish ? "annPublished" : "annDrafted", { title: createAnnouncement.title });
  });
  const submit = once((event) => {
    event.target.dataset.intent = event.submitter?.value === "publish" ? "publish" : "draft";
    return send(event);
  });
  const control = (name, label, input) => html`<div class="field"><label for=${`an-${name}`}>${label}</label>${input}
    <p class="error" id=${`an-${name}-error`} data-error-for=${name} aria-live="polite">${form.errors[name] || ""}</p></div>`;
  const invalid = (name) => (form.errors[name] ? "true" : null);
  return html`<details class="panel new-announcement"><summary>${t("annWrite")}</summary>
    <form novalidate onSubmit=${submit}>
      ${control("teamId", t("annScope"), html`<select id="an-teamId" name="teamId" aria-describedby="an-teamId-error">
        ${scopes.platform ? html`<option value="">${t("annPlatform")}</option>` : null}
        ${scopes.teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select>`)}
      ${control("title", t("annTitle"), html`<input id="an-title" name="title" maxlength="200" aria-describedby="an-title-error"
        aria-invalid=${invalid("title")} ref=${title.input} />`)}
      ${control("body", t("annBody"), html`<textarea id="an-body" name="body" rows="6" maxlength="20000" aria-describedby="an-body-error"
        aria-invalid=${invalid("body")} ref=${body.input}></textarea>`)}
      <p class="draft-status" role="status" aria-live="polite" ref=${status}></p>
      <${Field} id="an" name="attachments" type="textarea" label=${t("annAttachments")} error=${form.errors.attachments} />
      <p class="check"><input type="checkbox" id="an-pinned" name="pinned" /><label for="an-pinned">${t("annPinNew")}</label></p>
      ${form.outcome}
      <div class="actions"><button type="submit" value="draft" disabled=${form.busy}>${t("annSaveDraft")}</button>
        <button class="primary" type="submit" value="publish" disabled=${form.busy}>${t("annPublishNow")}</button></div>
    </form></details>`;
}

function Announcements() {
  const [items, setItems] = useState(null);
  const [next, setNext] = useState(null);
  const [drafts, setDrafts] = useState([]);
  // null until known (then the h1 says whether this reader writes: data-scopes)
  const [scopes, setScopes] = useState(session.token ? null : NO_SCOPES);
  const [error, setError] = useState(null);
  const [said, say] = useState({});
  const [loadingMore, more] = useOnce();
  const reload = async () => {
    const [list, mine] = await Promise.all([gql(PUBLISHED), session.token ? gql(DRAFTS) : null]);
    setItems(nodes(list.announcements));
    setNext(list.announcements.pageInfo.hasNextPage ? list.announcements.pageInfo.endCursor : null);
    setDrafts(mine ? nodes(mine.announcements) : []);
  };
  useEffect(() => {
    reload().catch(setError);
    if (session.token) {
      gql(SCOPES).then(({ me }) => setScopes({ platform: !!me?.isPlatformAdmin,
        teams: nodes(me?.teams).filter((team) => team.viewerIsAdmin) })).catch(() => setScopes(NO_SCOPES));
    }
  }, []);
  const loadMore = more(async () => {
    try {
      const { announcements } = await gql(PUBLISHED, { after: next });
      setItems((shown) => [...shown, ...nodes(announcements)]);
      setNext(announcements.pageInfo.hasNextPage ? announcements.pageInfo.endCursor : null);
    } catch (e) { say({ error: errorText(e) }); }
  });
  const writer = !!scopes && (scopes.platform || scopes.teams.length > 0);
  const heading = html`<h1 data-scopes=${scopes ? (writer ? "writer" : "reader") : null}>${t("navAnnouncements")}</h1>`;
  if (error) return html`${heading}<p class="error">${errorText(error)}</p>`;
  if (!items) return html`${heading}<p>${t("loading")}</p>`;
  const manages = (item) => !!scopes?.platform || !!item.team?.viewerIsAdmin;
  return html`${heading}
    ${writer ? html`<${Write} scopes=${scopes} reload=${reload} />` : null}
    <p class="error" role="alert">${said.error || ""}</p><p class="ok" role="status" data-said>${said.ok || ""}</p>
    ${drafts.length ? html`<section class="panel drafts" aria-labelledby="an-drafts-h"><h2 id="an-drafts-h">${t("annDrafts")}</h2>
      <p class="meta">${t("annDraftsNote")}</p>
      <ul class="plain">${drafts.map((item) => html`<${Card} key=${item.id} item=${item} heading="h3" manage=${manages(item)} reload=${reload} say=${say} />`)}</ul></section>` : null}
    ${items.length ? html`<ul class="plain announcements">${items.map((item) => html`<${Card} key=${item.id} item=${item} heading="h2"
      manage=${manages(item)} reload=${reload} say=${say} />`)}</ul>` : html`<p class="empty">${t("empty")}</p>`}
    ${next ? html`<button type="button" data-action="more" disabled=${loadingMore} onClick=${loadMore}>${t("more")}</button>` : null}`;
}

export function render(main) {
  return page(main, html`<${Announcements} />`);
}
