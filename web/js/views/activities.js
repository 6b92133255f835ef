// Activity list with filters and the live slot board: one slotCount subscription per card.
// Repeating shifts (a position's series, or the same team's same title at the same place) are
// grouped: one card shows the next shift, with the other dates a tap away.
import { gql, nodes, session } from "../api.js";
import { h, mount } from "../dom.js";
import { beijingDayStart, errorText, fmtDate, t } from "../i18n.js";
import { subscribe } from "../ws.js";

const FIELDS = `id title category district address startsAt endsAt capacity confirmedCount
  waitlistCount waitlistLimit remaining hoursCredit status team { id } position { id } mySignUp { status waitlistPosition }`;
const LIST = `query Activities($first: Int, $status: ActivityStatus, $district: String, $category: String, $hasOpenSlots: Boolean,
  $startsAfter: DateTime, $near: GeoInput, $signedIn: Boolean!) {
  activities(first: $first, status: $status, district: $district, category: $category, hasOpenSlots: $hasOpenSlots,
             startsAfter: $startsAfter, near: $near) {
    totalCount edges { node { ${FIELDS.replace("mySignUp", "mySignUp @include(if: $signedIn)")} } } } }`;
const SLOTS = `subscription Slots($id: ID!) { slotCount(activityId: $id) { capacity confirmed waitlisted remaining status version } }`;
const SIGN_UP = `mutation SignUp($id: ID!) { signUp(activityId: $id) { status waitlistPosition } }`;
const CANCEL = `mutation Cancel($id: ID!) { cancelSignUp(activityId: $id) { status } }`;

const DISTRICTS = ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "通州区", "昌平区", "大兴区"];
const CATEGORIES = ["助老", "环保", "扶幼", "助残", "社区服务", "应急", "文化", "医疗"];
const filters = { district: "", category: "", date: "", open: false, near: false };

function reasonOf(error) {
  if (error.reason) return error.reason;
  const m = error.message;
  if (/full/i.test(m)) return "FULL";
  if (/overlap/i.test(m)) return "OVERLAP";
  if (/deadline/i.test(m)) return "DEADLINE_PASSED";
  if (/no sign-ups|no longer takes/i.test(m)) return "NOT_OPEN";
  if (/qualif|requires|skill/i.test(m)) return "NOT_QUALIFIED";
  return null;
}

// extensions.requirement of a NOT_QUALIFIED refusal: {kind: QUALIFICATION, qualification} or
// {kind: MINIMUM_AGE, minimumAge}.
function requirementText(requirement) {
  if (requirement?.kind === "MINIMUM_AGE") return t("minimumAge", { n: requirement.minimumAge });
  if (requirement?.qualification) return t("qualification", { q: requirement.qualification });
  return "";
}

export function signUpMessage(error) {
  if (error.code === "UNAUTHENTICATED") return t("needLogin");
  const reason = reasonOf(error);
  if (reason) return t(`reason${reason}`, { requirement: requirementText(error.extensions?.requirement) });
  return errorText(error);
}

function slotText(card, counts) {
  const full = counts.remaining <= 0;
  card.classList.toggle("is-full", full);
  const slot = card.querySelector(".remaining");
  slot.dataset.remaining = String(counts.remaining);
  slot.textContent = full ? t("full") : t("remaining", { n: counts.remaining, cap: counts.capacity });
  card.querySelector(".waitlist").textContent = counts.waitlistLimit
    ? t("waitlist", { n: counts.waitlisted, limit: counts.waitlistLimit }) : "";
}

const link = (id) => `#/activities/${encodeURIComponent(id)}`;

// Shifts of one series: a position's, else the same team's same title at the same place.
function groups(activities) {
  const byKey = new Map();
  for (const a of activities) {
    const key = a.position ? `p:${a.position.id}` : `t:${a.team?.id}|${a.title}|${a.district}|${a.address || ""}`;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(a);
  }
  return [...byKey.values()].map((shifts) => shifts.sort((x, y) => x.startsAt.localeCompare(y.startsAt)));
}

function stateBadge(signUp) {
  if (!signUp || signUp.status === "CANCELLED") return null;
  return h("span.badge.state", { dataset: { state: signUp.status } }, t(`status${signUp.status}`));
}

function card(activity, others = []) {
  const id = activity.id;
  const result = h("p.result", { role: "status", "aria-live": "polite" });
  const mine = activity.mySignUp && activity.mySignUp.status !== "CANCELLED";
  const badge = h("span.state-slot", stateBadge(activity.mySignUp));
  const action = h("button.primary", { type: "button", "data-action": mine ? "cancel" : "signup" },
    mine ? t("cancelSignUp") : t("signUp"));
  const el = h("article.card", { dataset: { id }, "aria-labelledby": `t-${id}` },
    h("h2", { id: `t-${id}` }, h("a", { href: link(id) }, activity.title), " ", badge),
    h("p.meta", `${fmtDate(activity.startsAt)} · ${activity.district} · ${activity.category} · `
      + t("hours", { n: activity.hoursCredit })),
    activity.address ? h("p.meta", activity.address) : null,
    h("p.slots", h("strong.remaining", { "aria-live": "polite" }), " ", h("span.waitlist")),
    h("div.actions", action), result,
    others.length ? h("details.shifts", h("summary", t("moreShifts", { n: others.length })),
      h("ul.plain", others.map((o) => h("li", h("a", { href: link(o.id) }, fmtDate(o.startsAt)), " ",
        stateBadge(o.mySignUp))))) : null);
  const counts = { capacity: activity.capacity, remaining: activity.remaining,
    waitlisted: activity.waitlistCount, waitlistLimit: activity.waitlistLimit };
  slotText(el, counts);
  if (mine && activity.mySignUp.status === "WAITLISTED") {
    result.textContent = t("waitlisted", { n: activity.mySignUp.waitlistPosition });
  }
  action.addEventListener("click", async () => {
    if (!session.token) { result.textContent = t("needLogin"); return; }
    action.disabled = true;
    try {
      if (action.dataset.action === "signup") {
        const { signUp } = await gql(SIGN_UP, { id });
        result.textContent = signUp.status === "WAITLISTED"
          ? t("waitlisted", { n: signUp.waitlistPosition }) : t("signedUp");
        badge.replaceChildren(stateBadge(signUp));
        action.dataset.action = "cancel";
        action.textContent = t("cancelSignUp");
      } else {
        await gql(CANCEL, { id });
        result.textContent = t("cancelled");
        badge.replaceChildren();
        action.dataset.action = "signup";
        action.textContent = t("signUp");
      }
    } catch (error) {
      result.textContent = signUpMessage(error);
      result.dataset.reason = reasonOf(error) || error.code;
    } finally {
      action.disabled = false;
    }
  });
  el.update = (payload) => {
    counts.capacity = payload.capacity;
    counts.remaining = payload.remaining;
    counts.waitlisted = payload.waitlisted;
    slotText(el, counts);
  };
  return el;
}

function locate() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, radiusKm: 5 }),
      () => resolve(null), { timeout: 8000, maximumAge: 600000 });
  });
}

function filterForm(onApply) {
  const select = (name, label, options) => {
    const id = `flt-${name}`;
    return h("div.field", h("label", { for: id }, label),
      h("select", { id, name }, h("option", { value: "" }, t("anyDistrict")),
        options.map((o) => h("option", { value: o, selected: filters[name] === o }, o))));
  };
  const check = (name, label) => h("div.check", h("input", { type: "checkbox", id: `flt-${name}`, name,
    checked: filters[name] }), h("label", { for: `flt-${name}` }, label));
  const form = h("form.filters", { "aria-label": t("filters") },
    select("district", t("district"), DISTRICTS), select("category", t("category"), CATEGORIES),
    h("div.field", h("label", { for: "flt-date" }, t("date")),
      h("input", { type: "date", id: "flt-date", name: "date", value: filters.date })),
    check("open", t("openOnly")), check("near", t("nearMe")),
    h("button", { type: "submit" }, t("apply")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    Object.assign(filters, { district: data.get("district"), category: data.get("category"),
      date: data.get("date"), open: data.has("open"), near: data.has("near") });
    onApply();
  });
  return form;
}

function variablesNow() {
  return { first: 50, district: filters.district || null, category: filters.category || null,
    hasOpenSlots: filters.open || null, signedIn: !!session.token,
    // Without a date: what a volunteer can still join, i.e. published and not yet started.
    status: "PUBLISHED",
    startsAfter: (filters.date ? beijingDayStart(filters.date) : new Date()).toISOString(), near: null };
}

// The home page's request leaves from index.html's inline script while the modules load, not
// after they are evaluated: first paint waits on it. Only the first render of the list with the
// default filters adopts it, only while it is fresh, and only if it sent this very document
// (otherwise the list asks again: a stale copy in index.html costs time, never correctness).
function adoptEarly() {
  const taken = window.txEarly;
  window.txEarly = null;
  const defaults = !filters.district && !filters.category && !filters.date && !filters.open && !filters.near;
  return taken && defaults && taken.query === LIST && taken.token === session.token && Date.now() - taken.at < 5000
    ? gql(LIST, null, taken.sent) : null;
}

export async function render(main) {
  let stops = [];
  const stopAll = () => { stops.forEach((stop) => stop()); stops = []; };
  const list = h("section.list", { "aria-live": "off", "aria-busy": "true" }, h("p", t("loading")));
  const count = h("p.count", { role: "status" });
  const note = h("p.note", { role: "status" });
  const load = async () => {
    stopAll();
    list.setAttribute("aria-busy", "true");
    const variables = variablesNow();
    const prefetched = adoptEarly();
    note.textContent = "";
    if (filters.near) {
      note.textContent = t("locating");
      variables.near = await locate();
      note.textContent = variables.near ? "" : t("noLocation");
    }
    let data;
    try {
      data = await (prefetched || gql(LIST, variables));
      performance.mark("tx:list-answered");
    } catch (error) {
      mount(list, h("p.error", errorText(error)),
        h("button", { type: "button", onclick: load }, t("retry")));
      return;
    }
    const activities = nodes(data.activities);
    count.textContent = t("activityCount", { n: data.activities.totalCount });
    const cards = groups(activities).map(([first, ...others]) => card(first, others));
    mount(list, cards.length ? cards : h("p", t("empty")));
    list.setAttribute("aria-busy", "false");
    requestAnimationFrame(() => performance.mark("tx:list-painted"));
    for (const el of cards) {
      stops.push(subscribe(SLOTS, { id: el.dataset.id }, { next: ({ data: d }) => d && el.update(d.slotCount) }));
    }
  };
  mount(main, h("h1", t("navActivities")), filterForm(load), note, count, list);
  await load();
  return stopAll;
}
