// Forum: boards, threads, posts with reactions and reports, replies with drafts, moderation
// (report queue, pin/lock/hide) for the board's moderators, and Chinese search.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { useDraft } from "../drafts.js";
import { go, toast } from "../app.js";
import { subscribe } from "../ws.js";
import { html, page, shown, useEffect, useRef, useState } from "../ui.js";

const THREAD_FIELDS = "id title pinned locked hidden replyCount lastPostAt author { displayName }";
const BOARDS = `{ boards { id slug name description threadCount viewerIsModerator } }`;
const BOARD = `query Board($slug: String!) { board(slug: $slug) { id slug name description viewerIsModerator
  threads(first: 50) { edges { node { ${THREAD_FIELDS} } } } } }`;
const REPORTS = `query Reports($slug: String!) { board(slug: $slug) { reports(first: 50) { edges { node {
  id reason createdAt reporter { displayName } post { id body thread { id title } } } } }
  moderationLog(first: 30) { edges { node { id action reason createdAt actor { displayName } thread { id title }
    post { id } targetVolunteer { displayName } } } } } }`;
const POST_FIELDS = "id body hidden isOpening createdAt author { displayName } reactions { kind count } myReactions";
const THREAD = `query Thread($id: ID!) { node(id: $id) { ... on Thread { id title pinned locked hidden
  board { id slug name viewerIsModerator } posts(first: 100) { edges { node { ${POST_FIELDS} } } } } } }`;
const SEARCH = `query Search($q: String!) { searchForum(query: $q, first: 30) { edges { node { ${THREAD_FIELDS} board { slug name } } } } }`;
const CREATE = `mutation Create($board: ID!, $title: String!, $body: String!, $key: String) {
  createThread(boardId: $board, title: $title, body: $body, draftKey: $key) { id } }`;
const REPLY = `mutation Reply($thread: ID!, $body: String!, $key: String) { reply(threadId: $thread, body: $body, draftKey: $key) { ${POST_FIELDS} } }`;
const REACT = `mutation React($post: ID!, $kind: ReactionKind!) { react(postId: $post, kind: $kind) { ${POST_FIELDS} } }`;
const REPORT = `mutation Report($post: ID!, $reason: String!) { report(postId: $post, reason: $reason) { id } }`;
const MODERATE = `mutation Moderate($action: ModerationAction!, $target: ID!, $reason: String!) {
  moderate(action: $action, targetId: $target, reason: $reason) { id action } }`;
// New posts, and content a moderator hides or restores: a reader's open page withdraws it at
// once (the server tells readers only which post or thread; moderators get it marked hidden).
const LIVE = `subscription Live($board: ID!) { boardChanges(boardId: $board) { kind threadId postId
  post { ${POST_FIELDS} } } }`;

const safeKey = (s) => s.replace(/[^A-Za-z0-9_.:/-]/g, "_");
const threadHref = (id) => `#/forum/t/${encodeURIComponent(id)}`;

// A page's data (undefined while loading): `load()` runs again when `again()` is called (after a
// moderator's action).
function useLoad(load, deps) {
  const [data, setData] = useState(undefined);
  const [error, setError] = useState(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let gone = false;
    load().then((value) => !gone && (setData(value), setError(null)), (e) => !gone && setError(e));
    return () => { gone = true; };
  }, [...deps, round]);
  return { data, error, again: () => setRound((n) => n + 1) };
}

function SearchForm({ initial = "" }) {
  const submit = (event) => {
    event.preventDefault();
    go(`#/forum/s/${encodeURIComponent(event.target.elements.q.value.trim())}`);
  };
  return html`<form class="search" role="search" onSubmit=${submit}><label for="forum-q">${t("search")}</label>
    <input id="forum-q" type="search" name="q" defaultValue=${initial} required />
    <button type="submit">${t("searchBtn")}</button></form>`;
}

function ThreadItem({ thread }) {
  return html`<li class="card" data-thread=${thread.id}><h2><a href=${threadHref(thread.id)}>${thread.title}</a></h2>
    <p class="meta">${thread.pinned ? html`<span class="badge">${t("pinned")}</span>` : null}${thread.locked
      ? html`<span class="badge">${t("locked")}</span>` : null}${thread.author.displayName} · ${t("replies", { n: thread.replyCount })} · ${fmtDate(thread.lastPostAt)}${thread.board
      ? ` · ${thread.board.name}` : null}</p></li>`;
}

const threadList = (threads) => html`<ul class="plain">${threads.map((th) => html`<${ThreadItem} key=${th.id} thread=${th} />`)}</ul>`;

function Boards() {
  const { data, error } = useLoad(() => gql(BOARDS), []);
  return html`<h1>${t("navForum")}</h1><${SearchForm} />
    ${shown(error, data?.boards, () => html`<ul class="plain">${data.boards.map((b) => html`<li class="card" key=${b.id}>
      <h2><a href=${`#/forum/b/${b.slug}`}>${b.name}</a></h2><p>${b.description}</p>
      <p class="meta">${t("threads")}: ${b.threadCount}</p></li>`)}</ul>`)}`;
}

// A moderator's action; the reason is the box's text (`reason`, a ref) or else the button's label.
function ModerateButton({ label, action, target, reason, after }) {
  const act = async () => {
    try {
      await gql(MODERATE, { action, target, reason: reason?.current?.value.trim() || label });
      toast(t("done"));
      after();
    } catch (error) { toast(errorText(error)); }
  };
  return html`<button type="button" data-moderate=${action} onClick=${act}>${label}</button>`;
}

function ModerationLog({ entries }) {
  return html`<section class="panel" aria-labelledby="log-h"><h2 id="log-h">${t("moderationLog")}</h2>
    ${entries.length ? html`<ul class="plain mod-log">${entries.map((e) => html`<li key=${e.id} data-action=${e.action}>
      ${fmtDate(e.createdAt)} · ${e.actor.displayName} · ${t(`mod${e.action}`)}${e.thread
        ? html` · <a href=${threadHref(e.thread.id)}>${e.thread.title}</a>` : null}${e.targetVolunteer
        ? ` · ${e.targetVolunteer.displayName}` : ""} · ${t("moderateReason")}：${e.reason}</li>`)}</ul>` : html`<p>${t("empty")}</p>`}</section>`;
}

function ReportQueue({ reports, after }) {
  return html`<section class="panel" aria-labelledby="rq-h"><h2 id="rq-h">${t("reportQueue")}</h2>
    ${reports.length ? html`<ul class="plain">${reports.map((r) => html`<li class="card" key=${r.id} data-report=${r.id}>
      <p><a href=${threadHref(r.post.thread.id)}>${r.post.thread.title}</a></p>
      <blockquote>${r.post.body}</blockquote><p class="meta">${t("reportReason")}：${r.reason} · ${r.reporter.displayName}</p>
      <div class="actions"><${ModerateButton} label=${t("hide")} action="HIDE" target=${r.post.id} after=${after} /></div>
      </li>`)}</ul>` : html`<p>${t("empty")}</p>`}</section>`;
}

// A new thread: the title is kept like the body (its own draft key), so a restored draft is
// whole. Both listen at once: the body typed while the title's copy is being fetched is kept too.
function NewThread({ board }) {
  const status = useRef(null);
  const title = useDraft(safeKey(`thread-title:${board.id}`), status);
  const body = useDraft(safeKey(`thread:${board.id}`), status);
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const { createThread } = await gql(CREATE, { board: board.id, title: form.elements.title.value,
        body: form.elements.body.value, key: safeKey(`thread:${board.id}`) });
      body.draft.current?.clear();
      title.draft.current?.discard();
      go(threadHref(createThread.id));
    } catch (error) { toast(errorText(error)); }
  };
  return html`<form class="panel" aria-labelledby="new-h" onSubmit=${submit}><h2 id="new-h">${t("newThread")}</h2>
    <div class="field"><label for="new-title">${t("title")}</label>
      <input id="new-title" name="title" required maxlength="200" ref=${title.input} /></div>
    <div class="field"><label for="new-body">${t("body")}</label>
      <textarea id="new-body" name="body" required rows="5" ref=${body.input}></textarea></div>
    <p class="draft-status" role="status" aria-live="polite" ref=${status}></p>
    <button class="primary" type="submit">${t("post")}</button></form>`;
}

function Board({ slug }) {
  const { data, error, again } = useLoad(async () => {
    const { board } = await gql(BOARD, { slug });
    const moderated = board?.viewerIsModerator ? (await gql(REPORTS, { slug })).board : null;
    return { board, moderated, threads: board ? nodes(board.threads) : [] };
  }, [slug]);
  const [gone, setGone] = useState([]); // threads a moderator hid while the page was open
  const b = data?.board;
  useEffect(() => {
    if (!b || b.viewerIsModerator) return undefined;
    return subscribe(LIVE, { board: b.id }, { next: ({ data: live }) => {
      const change = live?.boardChanges;
      if (change?.kind === "HIDDEN" && !change.postId) setGone((old) => [...old, change.threadId]);
    } });
  }, [b?.id]);
  if (error) return html`<p class="error">${errorText(error)}</p>`;
  if (data === undefined) return html`<p>${t("loading")}</p>`;
  if (!b) return html`<p>${t("empty")}</p>`;
  const { moderated } = data;
  return html`<p><a href="#/forum">← ${t("boards")}</a></p><h1>${b.name}</h1><p>${b.description}</p>
    ${moderated ? html`<${ReportQueue} reports=${nodes(moderated.reports)} after=${again} />` : null}
    ${threadList(data.threads.filter((th) => !gone.includes(th.id)))}
    ${session.token ? html`<${NewThread} key=${b.id} board=${b} />` : null}
    ${moderated ? html`<${ModerationLog} entries=${nodes(moderated.moderationLog)} />` : null}`;
}

// Report a post: a reason, then the form closes again.
function Report({ post }) {
  const [open, setOpen] = useState(false);
  const reason = useRef(null);
  useEffect(() => { if (open) reason.current.focus(); }, [open]);
  const submit = async (event) => {
    event.preventDefault();
    try {
      await gql(REPORT, { post: post.id, reason: reason.current.value });
      reason.current.value = "";
      setOpen(false);
      toast(t("reported"));
    } catch (error) { toast(errorText(error)); }
  };
  return html`<button class="link" type="button" data-action="report" aria-expanded=${String(open)}
      onClick=${() => setOpen(!open)}>${t("report")}</button>
    <form class="inline" hidden=${!open} onSubmit=${submit}>
      <input type="text" name="reason" required aria-label=${t("reportReason")} placeholder=${t("reportReason")} ref=${reason} />
      <button type="submit">${t("report")}</button></form>`;
}

// A post; reacting answers with the post as it now is (`changed`), a moderator's hide/restore
// reloads the thread (`after`). `reason` is the moderator's reason box (a ref), else null.
function Post({ post: p, reason, changed, after }) {
  const react = (kind) => async () => {
    try { changed((await gql(REACT, { post: p.id, kind })).react); } catch (error) { toast(errorText(error)); }
  };
  return html`<article class=${p.hidden ? "post hidden-post" : "post"} data-id=${p.id} data-created=${p.createdAt}
      aria-label=${p.author.displayName}>
    <p class="meta">${p.author.displayName} · ${fmtDate(p.createdAt)}</p><p class="body">${p.body}</p>
    ${session.token ? html`<div class="actions">
      ${["LIKE", "THANKS", "HUG"].map((kind) => html`<button class="chip" type="button" key=${kind} data-reaction=${kind}
        aria-pressed=${String(p.myReactions.includes(kind))} onClick=${react(kind)}>${t(kind)} ${p.reactions.find((r) => r.kind === kind)?.count || 0}</button>`)}
      <${Report} post=${p} />
      ${reason && !p.isOpening ? html`<${ModerateButton} label=${p.hidden ? t("restore") : t("hide")} action=${p.hidden ? "RESTORE" : "HIDE"}
        target=${p.id} reason=${reason} after=${after} />` : null}</div>` : null}</article>`;
}

// A reply: its draft lives as long as the form (a locked thread has none).
function ReplyForm({ thread, posted }) {
  const key = safeKey(`reply:${thread.id}`);
  const { input, status, draft } = useDraft(key);
  const submit = async (event) => {
    event.preventDefault();
    try {
      const { reply } = await gql(REPLY, { thread: thread.id, body: input.current.value, key });
      draft.current?.clear();
      input.current.value = "";
      posted(reply);
    } catch (error) { toast(errorText(error)); }
  };
  return html`<form class="panel" aria-labelledby="reply-h" onSubmit=${submit}><h2 id="reply-h">${t("reply")}</h2>
    <div class="field"><label for="reply-body">${t("replyBody")}</label>
      <textarea id="reply-body" name="body" required rows="4" ref=${input}></textarea></div>
    <p class="draft-status" role="status" aria-live="polite" ref=${status}></p>
    <button class="primary" type="submit">${t("reply")}</button></form>`;
}

// In time order, replacing the copy on the page if there is one.
function placed(posts, p) {
  if (posts.some((x) => x.id === p.id)) return posts.map((x) => (x.id === p.id ? p : x));
  const later = posts.findIndex((x) => Date.parse(x.createdAt) > Date.parse(p.createdAt));
  return later < 0 ? [...posts, p] : [...posts.slice(0, later), p, ...posts.slice(later)];
}

// A moderator's thread tools: [flag, action and label when it is set, action and label when not].
const THREAD_TOOLS = [["pinned", "UNPIN", "unpin", "PIN", "pin"], ["locked", "UNLOCK", "unlock", "LOCK", "lock"],
  ["hidden", "RESTORE", "restore", "HIDE", "hide"]];

function Thread({ id }) {
  const { data: th, error, again } = useLoad(async () => (await gql(THREAD, { id })).node, [id]);
  const [posts, setPosts] = useState([]);
  const [withdrawn, setWithdrawn] = useState(false);
  const reason = useRef(null);
  const shownPosts = useRef(posts);
  shownPosts.current = posts;
  const moderator = !!th?.board.viewerIsModerator;
  useEffect(() => {
    if (!th) return;
    setPosts(nodes(th.posts));
    setWithdrawn(false);
  }, [th]);
  const place = (p) => setPosts((old) => placed(old, p));
  useEffect(() => {
    if (!th) return undefined;
    return subscribe(LIVE, { board: th.board.id }, { next: ({ data: live }) => {
      const change = live?.boardChanges;
      if (!change || change.threadId !== id) return;
      if (!change.postId) {  // the whole thread hidden or restored
        if (moderator || change.kind === "RESTORED") again(); else setWithdrawn(true);
        return;
      }
      if (change.kind === "HIDDEN" && !change.post) {
        if (!shownPosts.current.some((x) => x.id === change.postId)) return;
        setPosts((old) => old.filter((x) => x.id !== change.postId));
        toast(t("postWithdrawn"));
        return;
      }
      if (change.post) place(change.post);
    } });
  }, [th?.board.id, id, moderator]);
  if (error) return html`<p class="error">${errorText(error)}</p>`;
  if (th === undefined) return html`<p>${t("loading")}</p>`;
  if (!th) return html`<p>${t("empty")}</p>`;
  const back = html`<p><a href=${`#/forum/b/${th.board.slug}`}>← ${th.board.name}</a></p>`;
  if (withdrawn) return html`${back}<p class="notice" role="status">${t("threadWithdrawn")}</p>`;
  return html`${back}
    <h1>${th.title}${th.pinned ? html` <span class="badge">${t("pinned")}</span>` : null}${th.locked ? html` <span class="badge">${t("locked")}</span>` : null}</h1>
    ${moderator ? html`<div class="actions mod">
      <input class="reason" type="text" aria-label=${t("moderateReason")} placeholder=${t("moderateReason")} maxlength="200" ref=${reason} />
      ${THREAD_TOOLS.map(([flag, ...choices]) => {
        const [action, label] = th[flag] ? choices : choices.slice(2);
        return html`<${ModerateButton} key=${flag} label=${t(label)} action=${action} target=${th.id} reason=${reason} after=${again} />`;
      })}</div>` : null}
    <div class="posts">${posts.map((p) => html`<${Post} key=${p.id} post=${p} reason=${moderator ? reason : null} changed=${place} after=${again} />`)}</div>
    ${session.token && !th.locked ? html`<${ReplyForm} key=${th.id} thread=${th} posted=${place} />` : null}`;
}

function Search({ query }) {
  const { data: results, error } = useLoad(async () => nodes((await gql(SEARCH, { q: query })).searchForum), [query]);
  return html`<h1>${t("search")}</h1><${SearchForm} initial=${query} />${shown(error, results, () => threadList(results))}`;
}

export function render(main, { params }) {
  const [kind, value] = params;
  const view = kind === "b" ? html`<${Board} slug=${value} />` : kind === "t" ? html`<${Thread} id=${value} />`
    : kind === "s" ? html`<${Search} query=${value} />` : html`<${Boards} />`;
  return page(main, view);
}
