// Shell: header, language toggle, hash router, toast, connection status.
import { gql, nodes, session, setToken, onSession } from "./api.js";
import { lang, setLang, t } from "./i18n.js";
import { render } from "preact";
import { html } from "./ui.js";
import { onConnection } from "./ws.js";
// The home page, imported up front: its module starts the list's request at once, and the
// router renders it without waiting for a dynamic import.
import * as activitiesView from "./views/activities.js";

performance.mark("tx:app-start");
const routes = {
  activities: () => activitiesView,
  activity: () => import("./views/activity.js"),
  login: () => import("./views/auth.js"),
  register: () => import("./views/auth.js"),
  me: () => import("./views/me.js"),
  help: () => import("./views/help.js"),
  forum: () => import("./views/forum.js"),
  hours: () => import("./views/hours.js"),
  manage: () => import("./views/manage.js"),
  learn: () => import("./views/learn.js"),
  bank: () => import("./views/bank.js"),
  notifications: () => import("./views/notifications.js"),
  verify: () => import("./views/me.js"),
  stats: () => import("./views/stats.js"),
  import: () => import("./views/import.js"),
  honours: () => import("./views/honours.js"),
  feed: () => import("./views/feed.js"),
  announcements: () => import("./views/announcements.js"),
  projects: () => import("./views/projects.js"),
  points: () => import("./views/projects.js"),
  desk: () => import("./views/desk.js"),
  chat: () => import("./views/chat.js"),
  stations: () => import("./views/stations.js"),
  messages: () => import("./views/messages.js"),
};

let cleanup = null;
const main = document.getElementById("main");
const header = document.getElementById("top");
const status = document.getElementById("conn");

export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

export function go(hash) { location.hash = hash; }

const ME_BRIEF = `query MeBrief { me { id displayName isPlatformAdmin teams(first: 50) { edges { node { id viewerIsAdmin } } } } }`;

export async function loadMe() {
  if (!session.token) return null;
  if (session.me) return session.me;
  try {
    const data = await gql(ME_BRIEF);
    const teams = data.me ? nodes(data.me.teams) : [];
    session.me = data.me && { ...data.me, isTeamAdmin: teams.some((team) => team.viewerIsAdmin) };
  } catch { session.me = null; }
  return session.me;
}

const UNREAD = `query Unread { unreadNotificationCount }`;
let unread = 0;

// The unread count beside 通知; asked again on each page change and after reading them.
export async function refreshUnread() {
  if (!session.token) { unread = 0; return; }
  try { unread = (await gql(UNREAD)).unreadNotificationCount; } catch { return; }
  renderHeader();
}

// The header as a visitor first sees it is also drawn by the server into the home page
// (schema/home_http.py; tests/web/test_home.py holds the two equal): keep them in step.
function Header({ current, signedIn, me }) {
  const link = (name, label) => html`<a href=${`#/${name}`} aria-current=${current === name ? "page" : null}>${label}</a>`;
  const flip = () => { setLang(lang === "zh" ? "en" : "zh"); route(); };
  const logout = () => { setToken(null); go("#/login"); };
  return html`<a class="brand" href="#/activities">${t("brand")}</a><nav aria-label=${t("mainNav")}>${[
    link("activities", t("navActivities")), link("help", t("navHelp")), link("forum", t("navForum")),
    link("announcements", t("navAnnouncements")),
    signedIn ? link("feed", t("navFeed")) : null, signedIn ? link("me", t("navMe")) : null,
    // Organisers' pages are offered to team admins only (the pages themselves say so to others).
    me?.isTeamAdmin || me?.isPlatformAdmin ? link("manage", t("navManage")) : null,
    me?.isTeamAdmin ? link("hours", t("navHours")) : null,
    link("projects", t("navProjects")), link("learn", t("navLearn")), link("honours", t("navHonours")),
    signedIn ? link("bank", t("navBank")) : null,
    signedIn ? html`<a href="#/notifications" aria-current=${current === "notifications" ? "page" : null}>${t("navNotifications")} <span
      class="count" data-unread=${String(unread)} hidden=${!unread}>${String(unread)}<span class="visually-hidden">${t("unreadSuffix")}</span></span></a>` : null,
    signedIn ? link("messages", t("navMessages")) : null, signedIn ? link("desk", t("navDesk")) : null,
    signedIn ? link("chat", t("navChat")) : null, link("stations", t("navStations")),
    me?.isPlatformAdmin ? link("stats", t("navStats")) : null, me?.isPlatformAdmin ? link("import", t("navImport")) : null,
    signedIn ? null : link("login", t("navLogin")), signedIn ? null : link("register", t("navRegister")),
    signedIn ? html`<button class="link" type="button" onClick=${logout}>${t("logout")}</button>` : null,
  ]}</nav><button class="lang" type="button" lang=${lang === "zh" ? "en" : "zh-CN"} data-testid="lang" onClick=${flip}>${t("lang")}</button>`;
}

function renderHeader() {
  const current = (location.hash.slice(2).split("/")[0]) || "activities";
  render(html`<${Header} current=${current} signedIn=${!!session.token} me=${session.me} />`, header);
  document.documentElement.classList.remove("tx-reader-head"); // the reader's own links are in (index.html)
  document.title = t("brand");
  document.querySelector(".skip").textContent = t("skip");
}

async function route() {
  renderHeader();
  refreshUnread();
  if (session.token && !session.me) loadMe().then((me) => (me?.isPlatformAdmin || me?.isTeamAdmin) && renderHeader());
  const [name, ...params] = (location.hash.slice(2) || "activities").split("/");
  // #/activities/<id> is an activity's own page (shareable); #/activities is the list.
  const loader = name === "activities" && params[0] ? routes.activity : routes[name] || routes.activities;
  cleanup?.();
  cleanup = null;
  performance.mark("tx:route");
  const view = await loader();
  performance.mark("tx:view-loaded");
  const token = (route.seq = (route.seq || 0) + 1);
  const result = await view.render(main, { name, params: params.map(decodeURIComponent) });
  if (token !== route.seq) { result?.(); return; }
  cleanup = typeof result === "function" ? result : null;
}

// The banner speaks only while a page that needs live updates has lost them; it clears on
// reconnect, and leaving such a page (which closes the socket on purpose) says nothing.
onConnection((state) => {
  status.textContent = state === "down" ? t("offline") : "";
  status.className = `conn ${state}`;
});
onSession(() => renderHeader());
window.addEventListener("hashchange", () => {
  if (location.hash && !location.hash.startsWith("#/")) return; // in-page anchors such as the skip link
  route(); main.focus({ preventScroll: true }); });
setLang(lang);
// index.html's inline script hid the server's drawing of the home page (html.tx-own) where it is
// not what this reader sees (signed in, English, another route): drop it before the first draw.
if (document.documentElement.classList.contains("tx-own")) {
  header.replaceChildren();
  main.replaceChildren();
  document.getElementById("tx-list")?.remove(); // the answer it was drawn from, with it
  document.documentElement.classList.remove("tx-own");
}
route();
