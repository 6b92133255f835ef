// #/chat[/<room>]. Live after the newest had (v: reused on reconnect); own = sent ids.
import { gql, nodes, session } from "../api.js";
import { errorText, fmtDate, t } from "../i18n.js";
import { subscribe } from "../ws.js";
import { html, page, shown, useEffect, useRef, useState } from "../ui.js";
import { loadMe } from "../app.js";

const SHARED = "id body photoUrls deleted createdAt authorName mentionIds roomId";
const ROOMS = `query ChatRooms { myChatRooms { id kind unreadCount team { name } activity { title startsAt } } }`;
const ROOM = `query ChatRoom($id: ID!, $after: String) { node(id: $id) { ... on ChatRoom { id team { name } activity { title startsAt }
  messages(first: 30, after: $after) { pageInfo { hasNextPage endCursor } edges { node { ${SHARED} author { id } } } } } } }`;
const LIVE = `subscription ChatLive($room: ID!, $after: ID) { chatMessages(roomId: $room, after: $after) { ${SHARED} } }`;
const POST = `mutation PostChat($room: ID!, $body: String!, $client: String!) {
  postChatMessage(roomId: $room, body: $body, clientId: $client) { ${SHARED} } }`;
const READ = `mutation ReadChat($room: ID!, $upTo: ID) { markChatRead(roomId: $room, upToMessageId: $upTo) { id } }`;

const name = (r) => (r.team ? r.team.name : `${r.activity.title} · ${fmtDate(r.activity.startsAt)}`);
const gone = () => Object.assign(new Error(""), { code: "NOT_FOUND" });

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
  const mine = useRef(new Set());
  const pending = useRef(null); // { body, clientId } of a send not yet answered
  const timer = useRef(null);
  const merge = (add) => setList((old) => {
    const byId = new Map(old.map((m) => [m.id, m]));
    add.forEach((m) => byId.set(m.id, m));
    return [...byId.values()].filter((m) => !m.deleted).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  });
  const read = (upTo) => { clearTimeout(timer.current); timer.current = setTimeout(() => gql(READ, { room: id, upTo }).catch(() => {}), 300); };
  const load = async (after) => {
    const node = (await gql(ROOM, { id, after })).node;
    if (!node) throw gone();
    const page = nodes(node.messages);
    page.forEach((m) => m.author?.id === session.me?.id && mine.current.add(m.id));
    setRoom(node);
    setMore(node.messages.pageInfo.hasNextPage ? node.messages.pageInfo.endCursor : null);
    return merge(page), page;
  };
  useEffect(() => {
    let stop = null;
    let left = false;
    loadMe().then(() => load(null)).then(([m]) => {
      if (left) return;
      read(null);
      const v = { room: id, after: m?.id || id };
      stop = subscribe(LIVE, v, {
        next: ({ data }) => {
          m = data?.chatMessages;
          if (m?.deleted) setList((old) => old.filter((x) => x.id !== m.id));
          else if (m) { merge([m]); read(v.after = m.id); }
        },
        complete: () => !left && setError(gone()), // left the team or activity
      });
    }).catch((e) => !left && setError(e));
    return () => { left = true; stop?.(); clearTimeout(timer.current); };
  }, [id]);
  const send = async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = form.elements.body.value.trim();
    if (!body) { setNote(t("errRequired")); return; }
    if (pending.current?.body !== body) pending.current = { body, clientId: crypto.randomUUID?.() || `${Date.now()}-${Math.random()}` };
    setBusy(true);
    setNote("");
    for (let attempt = 0; ; attempt += 1) {
      try {
        const sent = (await gql(POST, { room: id, body, client: pending.current.clientId })).postChatMessage;
        mine.current.add(sent.id);
        merge([sent]);
        pending.current = null;
        form.reset();
        break;
      } catch (e) {
        if (e.code === "NETWORK" && attempt < 3) { await new Promise((r) => { setTimeout(r, 500 << attempt); }); continue; }
        setNote(errorText(e));
        break;
      }
    }
    setBusy(false);
  };
  const back = html`<p><a href="#/chat">← ${t("navChat")}</a></p>`;
  if (error) return html`${back}<h1>${t("navChat")}</h1><p class="error">${errorText(error)}</p>`;
  return html`${back}<h1>${room ? name(room) : t("loading")}</h1>
    ${more ? html`<p><button type="button" data-action="older" onClick=${() => load(more).catch((e) => setNote(errorText(e)))}>${t("more")}</button></p>` : null}
    <ul class="plain chat-messages" aria-live="polite">${list.map((m) => html`<li class=${`card${mine.current.has(m.id) ? " mine" : ""}${m.mentionIds.includes(session.me?.id) ? " urgent" : ""}`}
      key=${m.id} data-id=${m.id}>
      <p class="meta">${m.authorName} · ${fmtDate(m.createdAt)}</p><p class="prose">${m.body}</p>
      ${m.photoUrls.map((u) => html`<a href=${u} rel="noopener noreferrer nofollow" target="_blank">${u}</a> `)}</li>`)}</ul>
    <form class="panel chat-send" novalidate onSubmit=${send}>
      <div class="field"><label for="chat-body">${t("chatMessage")}</label><textarea id="chat-body" name="body" rows="2" maxlength="2000"></textarea></div>
      <p class="error" role="alert">${note}</p><button class="primary" type="submit" disabled=${busy || !room}>${t("deskSend")}</button></form>`;
}

export function render(main, { params }) {
  if (!session.token) { location.hash = "#/login"; return null; }
  return page(main, params[0] ? html`<${Room} id=${params[0]} />` : html`<${Rooms} />`);
}
