// #/chat[/<room>]. Live after the newest had (v: reused on reconnect); own = authorId is me.
// Moderators delete and mute; "@" offers the room's members; photo links. Text is escaped by preact.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { subscribe } from "../ws.js";
import { html, page, shown, useEffect, useRef, useState } from "../ui.js";
import { loadMe } from "../app.js";
import "../strings/chat.js";

const SHARED = "id body photoUrls deleted createdAt authorName authorId mentionIds roomId";
const ROOMS = `query ChatRooms { myChatRooms { id kind unreadCount team { name } activity { title startsAt } } }`;
const ROOM = `query ChatRoom($id: ID!, $after: String) { node(id: $id) { ... on ChatRoom { id viewerCanModerate myMutedUntil team { name } activity { title startsAt }
  messages(first: 30, after: $after) { pageInfo { hasNextPage endCursor } edges { node { ${SHARED} } } } } } }`;
const MUTED = `query ChatMuted($id: ID!) { node(id: $id) { ... on ChatRoom { myMutedUntil } } }`;
const NOTICES = `subscription ChatNotices { notificationReceived { kind } }`;
const MEMBERS = `query ChatMembers($id: ID!, $q: String) { node(id: $id) { ... on ChatRoom { members(search: $q, first: 8) { id displayName } } } }`;
const DELETE = `mutation DeleteChat($id: ID!, $reason: String!) { deleteChatMessage(messageId: $id, reason: $reason) { id } }`;
const MUTE = `mutation MuteChat($room: ID!, $who: ID!, $until: DateTime, $reason: String!) {
  muteChatMember(roomId: $room, volunteerId: $who, until: $until, reason: $reason) { until } }`;
const LIVE = `subscription ChatLive($room: ID!, $after: ID) { chatMessages(roomId: $room, after: $after) { ${SHARED} } }`;
const POST = `mutation PostChat($room: ID!, $body: String!, $client: String!, $photos: [String!], $mentions: [ID!]) {
  postChatMessage(roomId: $room, body: $body, clientId: $client, photoUrls: $photos, mentionIds: $mentions) { ${SHARED} } }`;
const READ = `mutation ReadChat($room: ID!, $upTo: ID) { markChatRead(roomId: $room, upToMessageId: $upTo) { id } }`;

const name = (r) => (r.team ? r.team.name : `${r.activity.title} · ${fmtDate(r.activity.startsAt)}`);
const gone = () => Object.assign(new Error(""), { code: "NOT_FOUND" });
const URL_RE = /^https?:\/\/[^\s<>"]+$/i;
const host = (u) => { try { return new URL(u).host; } catch { return ""; } };
const HOURS = { chatH1: 1, chatD1: 24, chatD7: 168, chatD30: 720, chatUnmute: 0 };

function Rooms() {
  const [rooms, setRooms] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { gql(ROOMS).then((d) => setRooms(d.myChatRooms), setError); }, []);
  return html`<h1>${t("navChat")}</h1>${shown(error, rooms, () => html`<ul class="plain">${rooms.map((r) => html`<li class="card" key=${r.id} data-room=${r.id}>
      <a href=${`#/chat/${encodeURIComponent(r.id)}`}>${name(r)}</a> <span class="badge">${t(`chat${r.kind}`)}</span>
      ${r.unreadCount ? html` <span class="count" data-unread=${r.unreadCount}>${r.unreadCount}<span class="visually-hidden">${t("unreadSuffix")}</span></span>` : null}</li>`)}</ul>`)}`;
}

function Room({ id }) {
  const [room, setRoom] = useState(null);
  const [list, setList] = useState([]); // oldest first
  const [more, setMore] = useState(null);
  const [error, setError] = useState(null);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [muted, setMuted] = useState(null); // until when I may not post (ISO), or null
  const [acting, setActing] = useState(null); // { kind: "delete" | "mute", m } a moderator's open form
  const [people, setPeople] = useState([]); // the mention picker's offers
  const picks = useRef([]); // mentions picked: { id, displayName }
  const box = useRef(null);
  const pending = useRef(null); // { key, clientId } of a send not yet answered
  const timer = useRef(null);
  const lookup = useRef(null);
  const me = () => session.me?.id;
  const merge = (add) => setList((old) => {
    const byId = new Map(old.map((m) => [m.id, m]));
    add.forEach((m) => byId.set(m.id, m));
    return [...byId.values()].filter((m) => !m.deleted).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  });
  const drop = (gid) => setList((old) => old.filter((x) => x.id !== gid));
  const read = (upTo) => { clearTimeout(timer.current); timer.current = setTimeout(() => gql(READ, { room: id, upTo }).catch(() => {}), 300); };
  const mute = (until) => setMuted(until && new Date(until) > new Date() ? until : null);
  const reMute = () => gql(MUTED, { id }).then((d) => mute(d.node?.myMutedUntil), () => {});
  const load = async (after) => {
    const node = (await gql(ROOM, { id, after })).node;
    if (!node) throw gone();
    const page = nodes(node.messages);
    setRoom(node);
    if (!after) mute(node.myMutedUntil);
    setMore(node.messages.pageInfo.hasNextPage ? node.messages.pageInfo.endCursor : null);
    return merge(page), page;
  };
  useEffect(() => {
    let stop = null;
    let left = false;
    // A moderator muting or unmuting me notifies me: the composer follows at once.
    const notices = subscribe(NOTICES, {}, { next: ({ data }) => /^CHAT_(UN)?MUTED$/.test(data?.notificationReceived?.kind) && reMute() });
    loadMe().then(() => load(null)).then(([m]) => {
      if (left) return;
      read(null);
      const v = { room: id, after: m?.id || id };
      stop = subscribe(LIVE, v, {
        next: ({ data }) => {
          m = data?.chatMessages;
          if (m?.deleted) drop(m.id);
          else if (m) { merge([m]); read(v.after = m.id); }
        },
        complete: () => !left && setError(gone()), // left the team or activity
      });
    }).catch((e) => !left && setError(e));
    return () => { left = true; stop?.(); notices(); clearTimeout(timer.current); clearTimeout(lookup.current); };
  }, [id]);
  useEffect(() => { // a mute ends by itself
    if (!muted) return undefined;
    const wait = setTimeout(() => setMuted(null), Math.min(new Date(muted) - new Date(), 2 ** 31 - 1));
    return () => clearTimeout(wait);
  }, [muted]);
  const typed = () => { // "@" then a name under way before the caret: offer the room's members
    const el = box.current;
    const at = /@([^\s@]{0,20})$/.exec(el.value.slice(0, el.selectionStart));
    clearTimeout(lookup.current);
    if (!at) { setPeople([]); return; }
    lookup.current = setTimeout(() => gql(MEMBERS, { id, q: at[1] || null }).then((d) => setPeople(d.node?.members || []), () => setPeople([])), 200);
  };
  const pick = (p) => {
    const el = box.current;
    const before = el.value.slice(0, el.selectionStart).replace(/@[^\s@]*$/, `@${p.displayName} `);
    el.value = before + el.value.slice(el.selectionStart);
    el.focus();
    el.setSelectionRange(before.length, before.length);
    picks.current = [...picks.current.filter((x) => x.id !== p.id), p];
    setPeople([]);
  };
  const send = async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = form.elements.body.value.trim();
    const photos = form.elements.photos.value.split(/\s+/).filter(Boolean);
    if (!body) { setNote(t("errRequired")); return; }
    if (photos.length > 9 || !photos.every((u) => URL_RE.test(u))) { setNote(t("chatPhotosBad")); return; }
    // a mention counts while its "@name" is still in the text
    const mentions = picks.current.filter((p) => body.includes(`@${p.displayName}`)).map((p) => p.id);
    const key = JSON.stringify([body, photos, mentions]);
    if (pending.current?.key !== key) pending.current = { key, clientId: crypto.randomUUID?.() || `${Date.now()}-${Math.random()}` };
    setBusy(true);
    setNote("");
    for (let attempt = 0; ; attempt += 1) {
      try {
        merge([(await gql(POST, { room: id, body, photos, mentions, client: pending.current.clientId })).postChatMessage]);
        pending.current = null;
        picks.current = [];
        form.reset();
        break;
      } catch (e) {
        if (e.code === "NETWORK" && attempt < 3) { await new Promise((r) => { setTimeout(r, 500 << attempt); }); continue; }
        if (e.code === "FORBIDDEN") reMute();
        setNote(errorText(e));
        break;
      }
    }
    setBusy(false);
  };
  const moderate = async (event) => { // delete a message, or mute (unmute) its author
    event.preventDefault();
    const { kind, m } = acting;
    const form = event.target;
    const reason = form.elements.reason.value.trim();
    if (!reason) { setNote(t("errRequired")); return; }
    const hours = HOURS[form.elements.duration?.value];
    const until = hours ? new Date(Date.now() + hours * 3600e3).toISOString() : null;
    try {
      if (kind === "delete") {
        await gql(DELETE, { id: m.id, reason });
        drop(m.id);
        setNote(t("chatDeleted"));
      } else {
        const done = (await gql(MUTE, { room: id, who: m.authorId, until, reason })).muteChatMember;
        setNote(done.until ? t("chatMutedDone", { name: m.authorName, at: fmtDate(done.until) }) : t("chatUnmutedDone", { name: m.authorName }));
      }
      setActing(null);
    } catch (e) { setNote(errorText(e)); }
  };
  const back = html`<p><a href="#/chat">← ${t("navChat")}</a></p>`;
  if (error) return html`${back}<h1>${t("navChat")}</h1><p class="error">${errorText(error)}</p>`;
  const boss = room?.viewerCanModerate;
  const tool = (kind, m) => html`<button type="button" class="link" data-action=${kind}
    aria-expanded=${String(acting?.m.id === m.id && acting.kind === kind)} onClick=${() => setActing({ kind, m })}>${t(kind === "delete" ? "chatDelete" : "chatMute")}</button>`;
  const act = (m) => acting?.m.id === m.id && html`<form class="panel chat-moderate" novalidate onSubmit=${moderate}>
    <h2>${t(acting.kind === "delete" ? "chatDeleteOf" : "chatMuteOf", { name: m.authorName })}</h2>
    ${acting.kind === "mute" ? html`<div class="field"><label for="chat-dur">${t("chatDuration")}</label><select id="chat-dur" name="duration">
      ${Object.keys(HOURS).map((k) => html`<option value=${k}>${t(k)}</option>`)}</select></div>` : null}
    <div class="field"><label for="chat-reason">${t("chatReason")}</label><input id="chat-reason" name="reason" maxlength="500" required /></div>
    <button class="primary" type="submit" data-action=${`confirm-${acting.kind}`}>${t(acting.kind === "delete" ? "chatDelete" : "chatMute")}</button>
    <button type="button" onClick=${() => setActing(null)}>${t("chatCancel")}</button></form>`;
  return html`${back}<h1>${room ? name(room) : t("loading")}</h1>
    ${more ? html`<p><button type="button" data-action="older" onClick=${() => load(more).catch((e) => setNote(errorText(e)))}>${t("more")}</button></p>` : null}
    <ul class="plain chat-messages" aria-live="polite">${list.map((m) => html`<li class=${`card${m.authorId === me() ? " mine" : ""}${m.mentionIds.includes(me()) ? " urgent" : ""}`}
      key=${m.id} data-id=${m.id}>
      <p class="meta">${m.authorName} · ${fmtDate(m.createdAt)}</p><p class="prose">${m.body}</p>
      ${m.photoUrls.filter((u) => URL_RE.test(u)).map((u, i) => html`<a class="photo" href=${u} rel="noopener noreferrer nofollow" target="_blank">${t("chatPhoto", { n: i + 1 })} · ${host(u)}</a> `)}
      ${boss || m.authorId === me() ? tool("delete", m) : null} ${boss && m.authorId !== me() ? tool("mute", m) : null}${act(m)}</li>`)}</ul>
    <form class="panel chat-send" novalidate onSubmit=${send}>
      ${muted ? html`<p class="error" data-muted=${muted}>${t("chatMutedMe", { at: fmtDate(muted) })}</p>` : null}
      <div class="field"><label for="chat-body">${t("chatMessage")}</label><textarea id="chat-body" name="body" rows="2" maxlength="2000"
        ref=${box} onInput=${typed} disabled=${!!muted} aria-describedby="chat-at"></textarea><p class="hint" id="chat-at">${t("chatMentionHint")}</p></div>
      ${people.length ? html`<ul class="plain chat-mentions" aria-label=${t("chatMentions")}>${people.map((p) => html`<li key=${p.id}>
        <button type="button" data-mention=${p.id} onClick=${() => pick(p)}>@${p.displayName}</button></li>`)}</ul>` : null}
      <div class="field"><label for="chat-photos">${t("chatPhotos")}</label><input id="chat-photos" name="photos" inputmode="url" disabled=${!!muted}
        aria-describedby="chat-photos-hint" /><p class="hint" id="chat-photos-hint">${t("chatPhotosHint")}</p></div>
      <p class="error" role="alert">${note}</p><button class="primary" type="submit" disabled=${busy || !room || !!muted}>${t("chatSend")}</button></form>`;
}

export function render(main, { params }) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, params[0] ? html`<${Room} id=${params[0]} />` : html`<${Rooms} />`);
}
