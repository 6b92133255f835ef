// Forum: boards, threads, posts with reactions and reports, replies with drafts, moderation
// (report queue, pin/lock/hide) for the board's moderators, and Chinese search.
import { gql, nodes, session } from "../api.js";
import { field, h, mount } from "../dom.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { attachDraft } from "../drafts.js";
import { go, toast } from "../app.js";
import { subscribe } from "../ws.js";

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

function searchForm(initial = "") {
  const form = h("form.search", { role: "search" },
    h("label", { for: "forum-q" }, t("search")),
    h("input", { id: "forum-q", type: "search", name: "q", value: initial, required: true }),
    h("button", { type: "submit" }, t("searchBtn")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(`#/forum/s/${encodeURIComponent(form.elements.q.value.trim())}`);
  });
  return form;
}

function threadItem(thread) {
  return h("li.card", { dataset: { thread: thread.id } }, h("h2", h("a", { href: `#/forum/t/${encodeURIComponent(thread.id)}` }, thread.title)),
    h("p.meta", [thread.pinned ? h("span.badge", t("pinned")) : null, thread.locked ? h("span.badge", t("locked")) : null,
      `${thread.author.displayName} · ${t("replies", { n: thread.replyCount })} · ${fmtDate(thread.lastPostAt)}`,
      thread.board ? ` · ${thread.board.name}` : null]));
}

async function boards(main) {
  const { boards: list } = await gql(BOARDS);
  mount(main, h("h1", t("navForum")), searchForm(),
    h("ul.plain", list.map((b) => h("li.card", h("h2", h("a", { href: `#/forum/b/${b.slug}` }, b.name)),
      h("p", b.description), h("p.meta", `${t("threads")}: ${b.threadCount}`)))));
}

const reroute = () => window.dispatchEvent(new HashChangeEvent("hashchange"));

function reasonInput() {
  return h("input.reason", { type: "text", "aria-label": t("moderateReason"), placeholder: t("moderateReason"), maxlength: 200 });
}

function moderateButton(label, action, target, after, reasonBox) {
  return h("button", { type: "button", "data-moderate": action, onclick: async () => {
    const reason = reasonBox?.value.trim() || label;
    try { await gql(MODERATE, { action, target, reason }); toast(t("done")); after(); }
    catch (error) { toast(errorText(error)); }
  } }, label);
}

async function board(main, slug) {
  const { board: b } = await gql(BOARD, { slug });
  if (!b) { mount(main, h("p", t("empty"))); return; }
  const status = h("p.draft-status", { role: "status", "aria-live": "polite" });
  const form = h("form.panel", { "aria-labelledby": "new-h" }, h("h2", { id: "new-h" }, t("newThread")),
    field("title", t("title"), { required: true, maxlength: 200 }),
    field("body", t("body"), { type: "textarea", required: true, rows: 5 }), status,
    h("button.primary", { type: "submit" }, t("post")));
  let queue = null;
  let log = null;
  if (b.viewerIsModerator) {
    const moderated = (await gql(REPORTS, { slug })).board;
    const reports = nodes(moderated.reports);
    const entries = nodes(moderated.moderationLog);
    log = h("section.panel", { "aria-labelledby": "log-h" }, h("h2", { id: "log-h" }, t("moderationLog")),
      entries.length ? h("ul.plain.mod-log", entries.map((e) => h("li", { dataset: { action: e.action } },
        `${fmtDate(e.createdAt)} · ${e.actor.displayName} · ${t(`mod${e.action}`)}`,
        e.thread ? [" · ", h("a", { href: `#/forum/t/${encodeURIComponent(e.thread.id)}` }, e.thread.title)] : null,
        e.targetVolunteer ? ` · ${e.targetVolunteer.displayName}` : "", ` · ${t("moderateReason")}：${e.reason}`)))
        : h("p", t("empty")));
    queue = h("section.panel", { "aria-labelledby": "rq-h" }, h("h2", { id: "rq-h" }, t("reportQueue")),
      reports.length ? h("ul.plain", reports.map((r) => h("li.card", { dataset: { report: r.id } },
        h("p", h("a", { href: `#/forum/t/${encodeURIComponent(r.post.thread.id)}` }, r.post.thread.title)),
        h("blockquote", r.post.body), h("p.meta", `${t("reportReason")}：${r.reason} · ${r.reporter.displayName}`),
        h("div.actions", moderateButton(t("hide"), "HIDE", r.post.id, reroute)))))
        : h("p", t("empty")));
  }
  mount(main, h("p", h("a", { href: "#/forum" }, `← ${t("boards")}`)), h("h1", b.name), h("p", b.description),
    queue, h("ul.plain", nodes(b.threads).map(threadItem)), session.token ? form : null, log);
  const live = subscribe(LIVE, { board: b.id }, { next: ({ data }) => {
    const change = data?.boardChanges;
    if (change?.kind === "HIDDEN" && !change.postId && !b.viewerIsModerator) {
      main.querySelector(`[data-thread="${CSS.escape(change.threadId)}"]`)?.remove();
    }
  } });
  if (!session.token) return live;
  // The title is kept like the body (its own draft key), so a restored draft is whole. Both
  // listen at once: the body typed while the title's copy is being fetched is kept too.
  const [titleDraft, draft] = await Promise.all([
    attachDraft(form.elements.title, safeKey(`thread-title:${b.id}`), status),
    attachDraft(form.elements.body, safeKey(`thread:${b.id}`), status)]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { createThread } = await gql(CREATE, { board: b.id, title: form.elements.title.value,
        body: form.elements.body.value, key: safeKey(`thread:${b.id}`) });
      draft.clear();
      titleDraft.discard();
      go(`#/forum/t/${encodeURIComponent(createThread.id)}`);
    } catch (error) { toast(errorText(error)); }
  });
  return () => { live(); draft.stop(); titleDraft.stop(); };
}

function postItem(post, moderator, refresh) {
  const el = h("article.post", { dataset: { id: post.id, created: post.createdAt }, "aria-label": post.author.displayName });
  const draw = (p) => {
    const reactions = ["LIKE", "THANKS", "HUG"].map((kind) => {
      const count = p.reactions.find((r) => r.kind === kind)?.count || 0;
      return h("button.chip", { type: "button", "aria-pressed": String(p.myReactions.includes(kind)), onclick: async () => {
        try { draw((await gql(REACT, { post: p.id, kind })).react); } catch (error) { toast(errorText(error)); }
      } }, `${t(kind)} ${count}`);
    });
    const reportForm = h("form.inline", { hidden: true },
      h("input", { type: "text", name: "reason", required: true, "aria-label": t("reportReason"), placeholder: t("reportReason") }),
      h("button", { type: "submit" }, t("report")));
    reportForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await gql(REPORT, { post: p.id, reason: reportForm.elements.reason.value });
        reportForm.hidden = true;
        toast(t("reported"));
      } catch (error) { toast(errorText(error)); }
    });
    const report = h("button.link", { type: "button", "aria-expanded": "false", onclick: (event) => {
      reportForm.hidden = !reportForm.hidden;
      event.target.setAttribute("aria-expanded", String(!reportForm.hidden));
      if (!reportForm.hidden) reportForm.elements.reason.focus();
    } }, t("report"));
    mount(el, h("p.meta", `${p.author.displayName} · ${fmtDate(p.createdAt)}`), h("p.body", p.body),
      session.token ? h("div.actions", reactions, report, reportForm, moderator && !p.isOpening ? h("button", { type: "button",
        "data-moderate": p.hidden ? "RESTORE" : "HIDE", onclick: async () => {
          try {
            await gql(MODERATE, { action: p.hidden ? "RESTORE" : "HIDE", target: p.id,
              reason: moderator.reason?.value.trim() || t("hide") });
            toast(t("done")); refresh();
          } catch (error) { toast(errorText(error)); }
        } }, p.hidden ? t("restore") : t("hide")) : null) : null);
    el.classList.toggle("hidden-post", p.hidden);
  };
  draw(post);
  return el;
}

async function thread(main, id) {
  const { node: th } = await gql(THREAD, { id });
  if (!th) { mount(main, h("p", t("empty"))); return; }
  const reasonBox = th.board.viewerIsModerator ? reasonInput() : null;
  const mod = reasonBox ? { reason: reasonBox } : null;
  const refresh = reroute;
  const posts = h("div.posts", nodes(th.posts).map((p) => postItem(p, mod, refresh)));
  const status = h("p.draft-status", { role: "status", "aria-live": "polite" });
  const key = safeKey(`reply:${th.id}`);
  const form = h("form.panel", { "aria-labelledby": "reply-h" }, h("h2", { id: "reply-h" }, t("reply")),
    field("body", t("replyBody"), { type: "textarea", required: true, rows: 4 }), status,
    h("button.primary", { type: "submit" }, t("reply")));
  const tools = mod ? h("div.actions.mod", reasonBox,
    moderateButton(th.pinned ? t("unpin") : t("pin"), th.pinned ? "UNPIN" : "PIN", th.id, refresh, reasonBox),
    moderateButton(th.locked ? t("unlock") : t("lock"), th.locked ? "UNLOCK" : "LOCK", th.id, refresh, reasonBox),
    moderateButton(th.hidden ? t("restore") : t("hide"), th.hidden ? "RESTORE" : "HIDE", th.id, refresh, reasonBox)) : null;
  mount(main, h("p", h("a", { href: `#/forum/b/${th.board.slug}` }, `← ${th.board.name}`)),
    h("h1", th.title, th.pinned ? h("span.badge", t("pinned")) : null, th.locked ? h("span.badge", t("locked")) : null),
    tools, posts, session.token && !th.locked ? form : null);
  const shown = (postId) => posts.querySelector(`[data-id="${CSS.escape(postId)}"]`);
  const place = (p) => {  // in time order, replacing the copy on the page if there is one
    const item = postItem(p, mod, refresh);
    const old = shown(p.id);
    if (old) { old.replaceWith(item); return; }
    const later = [...posts.children].find((el) => Date.parse(el.dataset.created) > Date.parse(p.createdAt));
    if (later) later.before(item); else posts.append(item);
  };
  const stops = [subscribe(LIVE, { board: th.board.id }, { next: ({ data }) => {
    const change = data?.boardChanges;
    if (!change || change.threadId !== th.id) return;
    if (!change.postId) {  // the whole thread hidden or restored
      if (mod || change.kind === "RESTORED") { refresh(); return; }
      mount(main, h("p", h("a", { href: `#/forum/b/${th.board.slug}` }, `← ${th.board.name}`)),
        h("p.notice", { role: "status" }, t("threadWithdrawn")));
      return;
    }
    if (change.kind === "HIDDEN" && !change.post) {
      if (shown(change.postId)) { shown(change.postId).remove(); toast(t("postWithdrawn")); }
      return;
    }
    if (change.post) place(change.post);
  } })];
  if (session.token && !th.locked) {
    const draft = await attachDraft(form.elements.body, key, status);
    stops.push(() => draft.stop());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const { reply } = await gql(REPLY, { thread: th.id, body: form.elements.body.value, key });
        draft.clear();
        form.elements.body.value = "";
        if (!shown(reply.id)) place(reply);
      } catch (error) { toast(errorText(error)); }
    });
  }
  return () => stops.forEach((stop) => stop());
}

async function search(main, query) {
  mount(main, h("h1", t("search")), searchForm(query), h("p", t("loading")));
  const results = nodes((await gql(SEARCH, { q: query })).searchForum);
  main.lastChild.replaceWith(results.length ? h("ul.plain", results.map(threadItem)) : h("p", t("empty")));
}

export async function render(main, { params }) {
  const [kind, value] = params;
  try {
    if (kind === "b") return await board(main, value);
    if (kind === "t") return await thread(main, value);
    if (kind === "s") return await search(main, value);
    return await boards(main);
  } catch (error) {
    mount(main, h("p.error", errorText(error)));
  }
}
